//! One optimisation step of a sequence classifier (forward, loss, backward, clipping, AdamW),
//! shared by [`super::fit`] and the throughput benchmark so that both measure the same work.

use candle_core::Var;
use candle_nn::ParamsAdamW;
use rnnlab_vectorize::PaddedBatch;

use super::ce;
use super::classifier::SequenceClassifier;
use super::config::{OptimizerKind, RnnConfig};
use super::optim::{AdamWOptimizer, RowGrad};
use super::rng::Rng;
use super::train::loss;
use crate::Error;

/// A classifier with its optimiser state.
pub struct Trainer {
    pub net: SequenceClassifier,
    opt: AdamWOptimizer,
    clip: f64,
}

impl Trainer {
    /// Adam (`weight_decay` 0) or AdamW over every parameter, PyTorch's betas and epsilon.
    pub fn new(net: SequenceClassifier, config: &RnnConfig) -> Result<Self, Error> {
        let vars: Vec<Var> = net.named_vars().into_iter().map(|(_, v)| v).collect();
        let weight_decay = match config.optimizer {
            OptimizerKind::Adam => 0.0,
            OptimizerKind::Adamw => config.weight_decay,
        };
        let opt = AdamWOptimizer::new(
            vars,
            ParamsAdamW {
                lr: config.lr,
                weight_decay,
                ..ParamsAdamW::default()
            },
        )?;
        Ok(Trainer {
            net,
            opt,
            clip: config.clip,
        })
    }

    /// One step on a batch with labels `y` and per-row loss weights `w`, at learning rate `lr`;
    /// `train` brings dropout. Returns the loss before the update; a non-finite loss leaves the
    /// weights untouched.
    pub fn step(
        &mut self,
        batch: &PaddedBatch,
        y: &[usize],
        w: &[f32],
        lr: f64,
        train: Option<&mut Rng>,
    ) -> Result<f64, Error> {
        // With the fused optimiser the looked-up vectors are a leaf of the graph and the
        // embedding's gradient goes to the optimiser as rows: no dense table-sized gradient
        // (and its zeroing and accumulation) per step.
        let leaf = if self.opt.is_fused() {
            Some(Var::from_tensor(&self.net.embed(batch, false)?).map_err(ce)?)
        } else {
            None
        };
        let logits = match &leaf {
            Some(x) => self.net.forward_embedded(x.as_tensor(), batch, true, train)?,
            None => self.net.forward(batch, true, train)?,
        };
        let l = loss(&logits, y, w).map_err(ce)?;
        let lv = l.to_scalar::<f32>().map_err(ce)? as f64;
        if !lv.is_finite() {
            return Ok(lv);
        }
        let mut grads = l.backward().map_err(ce)?;
        match &leaf {
            Some(x) => {
                let dx = match grads.remove(x.as_tensor()) {
                    Some(g) => g.flatten_all().and_then(|g| g.to_vec1::<f32>()).map_err(ce)?,
                    None => vec![0.0; batch.ids.len() * self.net.config.emb],
                };
                let rows = RowGrad {
                    var: &self.net.embedding,
                    ids: &batch.ids,
                    rows: &dx,
                };
                self.opt.step_with_rows(&mut grads, Some(rows), lr, self.clip)?;
            }
            None => self.opt.step(&mut grads, lr, self.clip)?,
        }
        Ok(lv)
    }
}
