//! A recurrent network: the shared [`Encoder`] and a task's [`Head`]. The head decides what the
//! network outputs (classes for a text today; a tag per token or the next token are heads of the
//! same kind), the encoder and the trainer ([`crate::trainer::Trainer`]) stay the same.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{Tensor, Var};
use rnnlab_vectorize::PaddedBatch;

use super::ce;
use super::encoder::{Encoder, EncoderOutput, Lookups};
use super::input::DocFeatures;
use crate::Error;
use rnnlab_kernels::Rng;

/// The task-specific top of a network: reads the encoder's output, gives logits.
pub trait Head {
    /// Parameters with their `state_dict` names (after the encoder's), in a fixed order.
    fn named_vars(&self) -> Vec<(String, Var)>;

    /// Logits of a batch from the encoder's output; `train` brings the head's dropout.
    fn forward(
        &self,
        encoded: &EncoderOutput,
        batch: &PaddedBatch,
        grad: bool,
        train: Option<&mut Rng>,
    ) -> Result<Tensor, Error>;
}

/// An encoder with a head.
#[derive(Debug, Clone)]
pub struct Network<H> {
    pub encoder: Encoder,
    pub head: H,
}

impl<H: Head> Network<H> {
    /// Every parameter with its `state_dict` name: the encoder's, then the head's.
    pub fn named_vars(&self) -> Vec<(String, Var)> {
        let mut v = self.encoder.named_vars();
        v.extend(self.head.named_vars());
        v
    }

    /// Logits of a padded batch whose documents' n-gram bags and tokens' character n-grams are
    /// `docs` (indexed like the batch's `rows`; unused without those tables). `train` brings
    /// dropout (with its generator); `grad = false` keeps no graph.
    pub fn forward(
        &self,
        batch: &PaddedBatch,
        docs: DocFeatures<'_>,
        grad: bool,
        train: Option<&mut Rng>,
    ) -> Result<Tensor, Error> {
        let rows = self.encoder.lookups(batch, docs, grad)?;
        self.forward_from(&rows, batch, grad, train)
    }

    /// [`Self::forward`] from the looked-up rows on.
    pub fn forward_from(
        &self,
        rows: &Lookups,
        batch: &PaddedBatch,
        grad: bool,
        mut train: Option<&mut Rng>,
    ) -> Result<Tensor, Error> {
        let encoded = self.encoder.encode(rows, batch, grad, train.as_deref_mut())?;
        self.head.forward(&encoded, batch, grad, train)
    }

    /// The weights as `(name, shape, values)`, for safetensors (with the encoder's fixed tensors).
    pub fn state(&self) -> Result<Vec<rnnlab_baselines::tensors::NamedTensor>, Error> {
        let mut state = self
            .named_vars()
            .into_iter()
            .map(|(n, v)| {
                let shape = v.dims().to_vec();
                let data = v
                    .as_tensor()
                    .flatten_all()
                    .and_then(|t| t.to_vec1::<f32>())
                    .map_err(ce)?;
                Ok((n, shape, data))
            })
            .collect::<Result<Vec<_>, Error>>()?;
        state.extend(self.encoder.fixed_state());
        Ok(state)
    }

    /// Loads weights by name; every tensor must exist with the configured shape.
    pub fn load_state(
        &mut self,
        tensors: &HashMap<String, rnnlab_baselines::tensors::Tensor>,
        file: &Path,
    ) -> Result<(), Error> {
        for (name, var) in self.named_vars() {
            let (shape, data) = tensors.get(&name).ok_or_else(|| {
                Error::Format(format!(
                    "{}: no tensor {name:?}: the weights do not match this model's configuration",
                    file.display()
                ))
            })?;
            if shape.as_slice() != var.dims() {
                return Err(Error::Format(format!(
                    "{}: tensor {name:?} has shape {shape:?}, the configuration says {:?}",
                    file.display(),
                    var.dims()
                )));
            }
            let t = Tensor::from_vec(data.clone(), shape.as_slice(), &self.encoder.device).map_err(ce)?;
            var.set(&t).map_err(ce)?;
        }
        self.encoder.load_bag_scale(tensors, file)
    }

    /// Copies of every weight (a checkpoint in memory).
    pub fn snapshot(&self) -> Result<Vec<Tensor>, Error> {
        self.named_vars()
            .iter()
            .map(|(_, v)| v.as_tensor().copy().map_err(ce))
            .collect()
    }

    pub fn restore(&self, snapshot: &[Tensor]) -> Result<(), Error> {
        for ((_, v), t) in self.named_vars().iter().zip(snapshot) {
            v.set(t).map_err(ce)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Architecture, Optimisation, Regularisation};
    use crate::config::{CellKind, RnnConfig};
    use crate::trainer::Trainer;
    use candle_core::{Device, D};
    use rnnlab_vectorize::SequenceEncoder;

    /// A head the crate does not have: one output per step (a tagger's). It plugs into the same
    /// encoder and trainer with no change to either.
    struct StepHead {
        weight: Var,
        bias: Var,
    }

    impl Head for StepHead {
        fn named_vars(&self) -> Vec<(String, Var)> {
            vec![
                ("tag.weight".into(), self.weight.clone()),
                ("tag.bias".into(), self.bias.clone()),
            ]
        }

        fn forward(
            &self,
            encoded: &EncoderOutput,
            _batch: &PaddedBatch,
            grad: bool,
            _train: Option<&mut Rng>,
        ) -> Result<Tensor, Error> {
            let (b, t, w) = encoded.out.dims3().map_err(ce)?;
            let v = |v: &Var| rnnlab_kernels::tracked(v, grad);
            let r = (|| {
                encoded
                    .out
                    .reshape((b * t, w))?
                    .matmul(&v(&self.weight).t()?)?
                    .broadcast_add(&v(&self.bias))
            })();
            r.map_err(ce)
        }
    }

    /// Tags each token by its id's parity, which a bidirectional GRU learns in a few steps:
    /// the step loss falls and the step accuracy reaches 1.
    #[test]
    fn a_per_token_head_trains_on_the_shared_encoder_and_trainer() {
        let config = RnnConfig {
            architecture: Architecture {
                cell: CellKind::Gru,
                emb: 8,
                hidden: 8,
                bidirectional: true,
                ..Architecture::default()
            },
            regularisation: Regularisation {
                dropout: 0.0,
                ..Regularisation::default()
            },
            optimisation: Optimisation {
                lr: 0.05,
                ..Optimisation::default()
            },
            ..RnnConfig::default()
        };
        let dev = Device::Cpu;
        let mut rng = Rng::new(7);
        let encoder = Encoder::new(&config, 12, 0, &mut rng, &dev).unwrap();
        let var = |shape: &[usize], rng: &mut Rng| {
            let v: Vec<f32> = (0..shape.iter().product()).map(|_| rng.symmetric(0.3)).collect();
            Var::from_tensor(&Tensor::from_vec(v, shape, &dev).unwrap()).unwrap()
        };
        let head = StepHead {
            weight: var(&[2, 16], &mut rng),
            bias: var(&[2], &mut rng),
        };
        let mut trainer = Trainer::new(Network { encoder, head }, &config).unwrap();
        let seqs = vec![vec![2, 3, 4, 5, 6], vec![7, 9], vec![11, 10, 8, 3]];
        let batch = SequenceEncoder::new(6).unwrap().batch(&seqs, &[0, 1, 2]);
        let (b, t) = (batch.lengths.len(), batch.max_len);
        // Targets per step; padded steps weigh 0.
        let tags: Vec<u32> = batch.ids.iter().map(|&i| i % 2).collect();
        let mask: Vec<f32> = (0..b * t)
            .map(|p| if p % t < batch.lengths[p / t] { 1.0 } else { 0.0 })
            .collect();
        let step_loss = |logits: &Tensor| -> candle_core::Result<Tensor> {
            let idx = Tensor::from_slice(&tags, (b * t, 1), &dev)?;
            let nll = candle_nn::ops::log_softmax(logits, D::Minus1)?
                .gather(&idx, 1)?
                .flatten_all()?
                .neg()?;
            let m = Tensor::from_slice(&mask, b * t, &dev)?;
            (nll * m)?.sum_all()? / mask.iter().sum::<f32>() as f64
        };
        let first = trainer
            .step_with(&batch, DocFeatures::default(), 0.05, None, step_loss)
            .unwrap();
        let mut last = first;
        for _ in 0..60 {
            last = trainer
                .step_with(&batch, DocFeatures::default(), 0.05, None, step_loss)
                .unwrap();
        }
        assert!(last < first * 0.2, "loss {first} → {last}");
        let logits = trainer
            .net
            .forward(&batch, DocFeatures::default(), false, None)
            .unwrap();
        let pred = logits.argmax(D::Minus1).unwrap().to_vec1::<u32>().unwrap();
        let right = (0..b * t).filter(|&p| mask[p] > 0.0 && pred[p] == tags[p]).count();
        assert_eq!(right, mask.iter().filter(|&&m| m > 0.0).count());
        // The state names are the encoder's, then the head's.
        let names: Vec<String> = trainer.net.named_vars().into_iter().map(|(n, _)| n).collect();
        assert_eq!(names.first().map(String::as_str), Some("embedding.weight"));
        assert_eq!(&names[names.len() - 2..], ["tag.weight", "tag.bias"]);
    }
}
