//! One optimisation step of a network (forward, loss, backward, clipping, AdamW), generic over
//! its head and loss; shared by [`super::fit`] and the throughput benchmark so that both
//! measure the same work.

use std::time::Instant;

use candle_core::backprop::GradStore;
use candle_core::Var;
use candle_nn::ParamsAdamW;
use rnnlab_vectorize::PaddedBatch;

use super::ce;
use super::classifier::ClassHead;
use super::config::{BagCombiner, OptimizerKind, RnnConfig};
use super::encoder::{Encoder, Lookups};
use super::input::DocFeatures;
use super::loss::loss;
use super::network::{Head, Network};
use super::optim::{AdamWOptimizer, RowGrad};
use crate::Error;
use rnnlab_kernels::Rng;

/// A network with its optimiser state.
pub struct Trainer<H> {
    pub net: Network<H>,
    opt: AdamWOptimizer,
    clip: f64,
    /// PyTorch's `label_smoothing` of the training loss.
    label_smoothing: f64,
    /// When set, every step adds its phases' wall times here, the device synchronised
    /// between phases (benchmarks: where a step's time goes, on a GPU too).
    pub phase_times: Option<PhaseTimes>,
}

/// Seconds spent in each phase of the steps timed so far.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PhaseTimes {
    /// Embedding lookup, forward pass and loss (the loss read back to the host).
    pub forward: f64,
    /// Backpropagation.
    pub backward: f64,
    /// Clipping and the AdamW update.
    pub optimizer: f64,
}

impl<H: Head> Trainer<H> {
    /// Adam (`weight_decay` 0) or AdamW over every parameter, PyTorch's betas and epsilon.
    pub fn new(net: Network<H>, config: &RnnConfig) -> Result<Self, Error> {
        let vars: Vec<Var> = net.named_vars().into_iter().map(|(_, v)| v).collect();
        let weight_decay =
            match config.optimisation.optimizer {
                OptimizerKind::Adam => 0.0,
                OptimizerKind::Adamw => config.optimisation.weight_decay,
                OptimizerKind::Sgd => return Err(Error::Param(
                    "--optimizer sgd trains language models (--task lm); classifiers and taggers take adam or adamw"
                        .into(),
                )),
            };
        let opt = AdamWOptimizer::new(
            vars,
            ParamsAdamW {
                lr: config.optimisation.lr,
                weight_decay,
                ..ParamsAdamW::default()
            },
        )?;
        Ok(Trainer {
            net,
            opt,
            clip: config.optimisation.clip,
            label_smoothing: config.regularisation.label_smoothing,
            phase_times: None,
        })
    }

    /// The optimiser as one `optim.cu` kernel per parameter instead of candle-nn's ops (GPU
    /// parameters only; before the first step).
    #[cfg(feature = "cuda")]
    pub fn with_gpu_adamw(self) -> Self {
        Trainer {
            opt: self.opt.into_gpu(),
            ..self
        }
    }

    /// With [`Self::phase_times`] set: waits for the device and returns the seconds since
    /// `since`, restarting it.
    fn lap(&self, since: &mut Instant) -> Result<f64, Error> {
        if self.phase_times.is_none() {
            return Ok(0.0);
        }
        self.net.encoder.device.synchronize().map_err(ce)?;
        let now = Instant::now();
        let s = (now - *since).as_secs_f64();
        *since = now;
        Ok(s)
    }

    /// One step on a batch at learning rate `lr`, the loss computed from the logits by `loss`;
    /// `train` brings dropout. Returns the loss before the update; a non-finite loss leaves the
    /// weights untouched.
    pub fn step_with(
        &mut self,
        batch: &PaddedBatch,
        docs: DocFeatures<'_>,
        lr: f64,
        train: Option<&mut Rng>,
        loss: impl FnOnce(&candle_core::Tensor) -> candle_core::Result<candle_core::Tensor>,
    ) -> Result<f64, Error> {
        let mut t = Instant::now();
        // With the fused optimiser the looked-up rows are leaves of the graph and the tables'
        // gradients go to the optimiser as rows: no dense table-sized gradient (with its
        // zeroing and accumulation) per step.
        let leaves = if self.opt.is_fused() {
            Some(Leaves::look_up(&self.net.encoder, batch, docs)?)
        } else {
            None
        };
        let logits = match &leaves {
            Some(l) => self.net.forward_from(&l.graph, batch, true, train)?,
            None => self.net.forward(batch, docs, true, train)?,
        };
        let l = loss(&logits).map_err(ce)?;
        let lv = l.to_scalar::<f32>().map_err(ce)? as f64;
        if !lv.is_finite() {
            return Ok(lv);
        }
        let forward_s = self.lap(&mut t)?;
        let mut grads = l.backward().map_err(ce)?;
        let Some(leaves) = leaves else {
            let backward_s = self.lap(&mut t)?;
            self.opt.step(&mut grads, lr, self.clip)?;
            let optimizer_s = self.lap(&mut t)?;
            self.add_phases(forward_s, backward_s, optimizer_s);
            return Ok(lv);
        };
        let RowGradients {
            dx,
            dbag,
            dwide,
            dchars,
        } = leaves.row_gradients(
            &mut grads,
            &self.net.encoder.config,
            self.net.encoder.bag_scale.as_deref(),
        )?;
        let backward_s = self.lap(&mut t)?;
        let mut rows = vec![RowGrad {
            var: &self.net.encoder.embedding,
            ids: &batch.ids,
            rows: &dx,
        }];
        if let Some(table) = &self.net.encoder.bag {
            rows.push(RowGrad {
                var: table,
                ids: &leaves.bag_ids,
                rows: &dbag,
            });
        }
        if let Some(table) = &self.net.encoder.wide {
            rows.push(RowGrad {
                var: table,
                ids: &leaves.bag_ids,
                rows: &dwide,
            });
        }
        if let Some(table) = &self.net.encoder.chars {
            rows.push(RowGrad {
                var: table,
                ids: &leaves.char_ids,
                rows: &dchars,
            });
        }
        self.opt.step_with_rows(&mut grads, &rows, lr, self.clip)?;
        let optimizer_s = self.lap(&mut t)?;
        self.add_phases(forward_s, backward_s, optimizer_s);
        Ok(lv)
    }

    fn add_phases(&mut self, forward: f64, backward: f64, optimizer: f64) {
        if let Some(p) = &mut self.phase_times {
            p.forward += forward;
            p.backward += backward;
            p.optimizer += optimizer;
        }
    }
}

impl Trainer<ClassHead> {
    /// One classification step on a batch with labels `y` and per-row loss weights `w`
    /// ([`super::loss::loss`], with the trainer's label smoothing); see [`Self::step_with`].
    pub fn step(
        &mut self,
        batch: &PaddedBatch,
        docs: DocFeatures<'_>,
        y: &[usize],
        w: &[f32],
        lr: f64,
        train: Option<&mut Rng>,
    ) -> Result<f64, Error> {
        let smoothing = self.label_smoothing;
        self.step_with(batch, docs, lr, train, |logits| loss(logits, y, w, smoothing))
    }
}

/// A batch's looked-up rows as leaves of the graph: the word vectors, the bag means, the wide
/// sums and the tokens' character n-gram means.
struct Leaves {
    x: Var,
    bag: Option<Var>,
    wide: Option<Var>,
    chars: Option<Var>,
    bag_ids: Vec<u32>,
    bag_counts: Vec<usize>,
    char_ids: Vec<u32>,
    char_counts: Vec<usize>,
    /// The same tensors as [`Lookups`], for the forward pass.
    graph: Lookups,
}

impl Leaves {
    fn look_up(encoder: &Encoder, batch: &PaddedBatch, docs: DocFeatures<'_>) -> Result<Self, Error> {
        let found = encoder.lookups(batch, docs, false)?;
        let x = Var::from_tensor(&found.x).map_err(ce)?;
        let leaf = |t: &Option<candle_core::Tensor>| -> Result<Option<Var>, Error> {
            t.as_ref().map(|t| Var::from_tensor(t).map_err(ce)).transpose()
        };
        let (bag, wide, chars) = (leaf(&found.bag)?, leaf(&found.wide)?, leaf(&found.chars)?);
        let graph = Lookups {
            x: x.as_tensor().clone(),
            bag: bag.as_ref().map(|v| v.as_tensor().clone()),
            wide: wide.as_ref().map(|v| v.as_tensor().clone()),
            bag_ids: Vec::new(),
            bag_counts: found.bag_counts.clone(),
            chars: chars.as_ref().map(|v| v.as_tensor().clone()),
            char_ids: Vec::new(),
            char_counts: Vec::new(),
        };
        Ok(Leaves {
            x,
            bag,
            wide,
            chars,
            bag_ids: found.bag_ids,
            bag_counts: found.bag_counts,
            char_ids: found.char_ids,
            char_counts: found.char_counts,
            graph,
        })
    }

    /// The gradients of the looked-up word vectors (`[ids, emb]`), of the bag rows (each bag
    /// vector's gradient shared out over the rows it combined, `[bag_ids, bag_dim]`), of the
    /// wide rows (each row's sum gradient, `[bag_ids, n_out]`) and of the character n-gram
    /// rows (each step's mean gradient shared out, `[char_ids, char_dim]`).
    fn row_gradients(
        &self,
        grads: &mut GradStore,
        config: &RnnConfig,
        bag_scale: Option<&[f32]>,
    ) -> Result<RowGradients, Error> {
        let mut take = |leaf: &Var| -> Result<Vec<f32>, Error> {
            match grads.remove(leaf.as_tensor()) {
                Some(g) => g.flatten_all().and_then(|g| g.to_vec1::<f32>()).map_err(ce),
                None => Ok(vec![0.0; leaf.elem_count()]),
            }
        };
        let dx = take(&self.x)?;
        // Row r's gradient `g` (width `dim`), times `scale(k)` and the id's fixed weight (the
        // bag's `bag_scale`; 1 without), once per each of its `counts[r] = k` ids.
        let spread = |g: &[f32],
                      dim: usize,
                      (ids, counts): (&[u32], &[usize]),
                      scale: &dyn Fn(usize) -> f32,
                      fixed: Option<&[f32]>|
         -> Vec<f32> {
            let mut rows = Vec::with_capacity(ids.len() * dim);
            let mut ids = ids.iter();
            for (r, &k) in counts.iter().enumerate() {
                let s = scale(k);
                for id in ids.by_ref().take(k) {
                    let s = s * fixed.map_or(1.0, |w| w[*id as usize]);
                    rows.extend(g[r * dim..(r + 1) * dim].iter().map(|&v| v * s));
                }
            }
            rows
        };
        let bag_rows = (&self.bag_ids[..], &self.bag_counts[..]);
        let dbag = match &self.bag {
            Some(bag) => spread(
                &take(bag)?,
                config.inputs.bag_dim,
                bag_rows,
                &|k| BagCombiner::Mean.scale(k),
                bag_scale,
            ),
            None => Vec::new(),
        };
        let dwide = match &self.wide {
            Some(wide) => spread(&take(wide)?, wide.dims()[1], bag_rows, &|_| 1.0, bag_scale),
            None => Vec::new(),
        };
        let dchars = match &self.chars {
            Some(chars) => spread(
                &take(chars)?,
                config.inputs.char_dim,
                (&self.char_ids, &self.char_counts),
                &|k| BagCombiner::Mean.scale(k),
                None,
            ),
            None => Vec::new(),
        };
        Ok(RowGradients {
            dx,
            dbag,
            dwide,
            dchars,
        })
    }
}

/// The gradients [`Leaves::row_gradients`] hands the optimiser.
struct RowGradients {
    dx: Vec<f32>,
    dbag: Vec<f32>,
    dwide: Vec<f32>,
    dchars: Vec<f32>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classifier::SequenceClassifier;
    use crate::config::{Architecture, Inputs, Optimisation, Regularisation};
    use crate::config::{CellKind, Pooling};
    use candle_core::Device;
    use candle_nn::{AdamW, Optimizer};
    use rnnlab_vectorize::SequenceEncoder;

    /// The CPU step (looked-up rows as leaves, row gradients, in-place AdamW) gives the same
    /// weights as candle's plain graph and candle-nn's AdamW, with a bag of n-grams (its
    /// vectors fixed-scaled or not), the tokens' character n-grams, clipping and weight decay.
    #[test]
    fn row_gradient_step_matches_plain_graph() {
        for scaled in [false, true] {
            step_matches_plain_graph(scaled);
        }
    }

    fn step_matches_plain_graph(scaled: bool) {
        let config = RnnConfig {
            architecture: Architecture {
                cell: CellKind::Gru,
                emb: 5,
                hidden: 4,
                bidirectional: true,
                pooling: Pooling::MeanMax,
                ..Architecture::default()
            },
            inputs: Inputs {
                bag_wide: true,
                bag_buckets: 32,
                bag_dim: 3,
                char_buckets: 10,
                char_dim: 2,
                ..Inputs::default()
            },
            regularisation: Regularisation {
                dropout: 0.0,
                ..Regularisation::default()
            },
            optimisation: Optimisation {
                optimizer: OptimizerKind::Adamw,
                weight_decay: 0.05,
                clip: 0.5,
                lr: 0.01,
                ..Optimisation::default()
            },
        };
        let batch = SequenceEncoder::new(6)
            .unwrap()
            .batch(&[vec![2, 3, 4, 5], vec![6], vec![3, 2, 7, 7], vec![]], &[0, 1, 2, 3]);
        let (y, w) = ([1usize, 0, 1, 0], [1.0f32, 2.0, 0.5, 1.0]);
        let bags = vec![vec![1, 5, 9, 31], vec![2], vec![5, 5, 7], vec![]];
        let g = |ids: &[u32], counts: &[u32]| crate::bag::TokenGrams {
            ids: ids.to_vec(),
            counts: counts.to_vec(),
        };
        let chars = vec![
            g(&[1, 4, 2, 2, 5, 9], &[2, 0, 3, 1]),
            g(&[3], &[1]),
            g(&[0, 6, 4, 4], &[2, 1, 0, 1]),
            g(&[], &[]),
        ];
        let docs = DocFeatures {
            bags: &bags,
            chars: &chars,
        };
        let mut fused_net = SequenceClassifier::new(&config, 9, 1, &Device::Cpu).unwrap();
        let mut plain_net = SequenceClassifier::new(&config, 9, 1, &Device::Cpu).unwrap();
        if scaled {
            // Signed and uneven, as log-count ratios are.
            let scale: Vec<f32> = (0..32).map(|i| (i as f32 - 10.0) / 7.0).collect();
            fused_net.encoder.bag_scale = Some(scale.clone());
            plain_net.encoder.bag_scale = Some(scale);
        }
        let mut fused = Trainer::new(fused_net, &config).unwrap();
        assert!(fused.opt.is_fused());
        let vars: Vec<Var> = plain_net.named_vars().into_iter().map(|(_, v)| v).collect();
        let params = ParamsAdamW {
            lr: config.optimisation.lr,
            weight_decay: config.optimisation.weight_decay,
            ..ParamsAdamW::default()
        };
        let mut plain = Trainer {
            net: plain_net,
            opt: AdamWOptimizer::Candle {
                vars: vars.clone(),
                opt: AdamW::new(vars, params).unwrap(),
            },
            clip: config.optimisation.clip,
            label_smoothing: config.regularisation.label_smoothing,
            // Timing the plain path's phases must not change its steps.
            phase_times: Some(PhaseTimes::default()),
        };
        for step in 0..4 {
            let a = fused.step(&batch, docs, &y, &w, config.optimisation.lr, None).unwrap();
            let b = plain.step(&batch, docs, &y, &w, config.optimisation.lr, None).unwrap();
            assert!((a - b).abs() < 1e-5, "{scaled} step {step}: loss {a} vs {b}");
        }
        for ((name, a), (_, b)) in fused.net.named_vars().iter().zip(plain.net.named_vars().iter()) {
            let d = crate::max_diff(a.as_tensor(), b.as_tensor());
            assert!(d < 1e-5, "{scaled}: {name} differs by {d}");
        }
        let e = &fused.net.encoder;
        assert!(e.bag.is_some() && e.wide.is_some() && e.chars.is_some());
    }
}
