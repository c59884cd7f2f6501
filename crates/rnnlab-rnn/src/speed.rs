//! Throughput of one training step or one inference pass on a fixed synthetic shape: the
//! mirror of `../shared/anchors/rnn_speed.py` (embedding → recurrent layers → last hidden state
//! → linear → BCE with logits → AdamW), so the two can be compared side by side as docs/s.

use std::time::Instant;

use candle_core::Device;
use rnnlab_vectorize::PaddedBatch;
use serde::Serialize;

use super::classifier::{ClassHead, SequenceClassifier};
use super::config::{Architecture, CellKind, Optimisation, OptimizerKind, Pooling, Regularisation, RnnConfig};
use super::input::DocFeatures;
use super::trainer::{PhaseTimes, Trainer};
use crate::Error;
use rnnlab_kernels::Kernel;
use rnnlab_kernels::Rng;

/// The benchmark's shape (the flags of `rnn_speed.py`).
#[derive(Debug, Clone, Serialize)]
pub struct SpeedShape {
    pub cell: CellKind,
    pub batch: usize,
    pub len: usize,
    pub emb: usize,
    pub hidden: usize,
    pub vocab: usize,
    pub layers: usize,
    pub bidirectional: bool,
    pub steps: usize,
    /// The recurrent layers' implementation.
    pub kernel: Kernel,
    /// AdamW as one kernel per parameter on a GPU (`optim.cu`) rather than candle-nn's ops.
    pub gpu_adamw: bool,
}

impl Default for SpeedShape {
    fn default() -> Self {
        SpeedShape {
            cell: CellKind::Lstm,
            batch: 128,
            len: 15,
            emb: 64,
            hidden: 64,
            vocab: 11051,
            layers: 1,
            bidirectional: false,
            steps: 200,
            kernel: Kernel::Auto,
            gpu_adamw: false,
        }
    }
}

/// What one run measured.
#[derive(Debug, Clone, Serialize)]
pub struct SpeedResult {
    pub seconds: f64,
    pub docs_per_s: f64,
}

impl SpeedShape {
    fn config(&self) -> RnnConfig {
        RnnConfig {
            architecture: Architecture {
                cell: self.cell,
                emb: self.emb,
                hidden: self.hidden,
                layers: self.layers,
                bidirectional: self.bidirectional,
                pooling: Pooling::Last,
            },
            regularisation: Regularisation {
                dropout: 0.0,
                recurrent_dropout: 0.0,
                head_dropout: 0.0,
                ..Regularisation::default()
            },
            optimisation: Optimisation {
                optimizer: OptimizerKind::Adamw,
                weight_decay: 0.01,
                lr: 1e-3,
                clip: 0.0,
                ..Optimisation::default()
            },
            ..RnnConfig::default()
        }
    }

    /// Random ids (all rows `len` long) and random binary labels, like the script's.
    fn batch(&self) -> (PaddedBatch, Vec<usize>) {
        let mut rng = Rng::new(0);
        let ids = (0..self.batch * self.len)
            .map(|_| (rng.next_u64() % self.vocab as u64) as u32)
            .collect();
        let y = (0..self.batch).map(|_| (rng.next_u64() % 2) as usize).collect();
        let batch = PaddedBatch {
            ids,
            lengths: vec![self.len; self.batch],
            max_len: self.len,
            rows: (0..self.batch).collect(),
        };
        (batch, y)
    }

    fn check(&self) -> Result<(), Error> {
        if self.batch == 0 || self.len == 0 || self.vocab == 0 || self.steps == 0 {
            return Err(Error::Param(
                "--batch, --len, --vocab and --steps must be at least 1".into(),
            ));
        }
        Ok(())
    }

    /// The benchmark's model, its layers run by `self.kernel`.
    fn net(&self, config: &RnnConfig, device: &Device) -> Result<SequenceClassifier, Error> {
        let mut net = SequenceClassifier::new(config, self.vocab, 1, device)?;
        net.encoder.rnn.kernel = self.kernel;
        Ok(net)
    }

    /// A model, its optimiser and the fixed batch, ready to step (what `train_step` times).
    pub fn train_bench(&self, device: &Device) -> Result<TrainBench, Error> {
        self.check()?;
        let config = self.config();
        let net = self.net(&config, device)?;
        let (batch, y) = self.batch();
        Ok(TrainBench {
            trainer: self.with_optimizer(Trainer::new(net, &config)?, device)?,
            w: vec![1.0; y.len()],
            batch,
            y,
            lr: config.optimisation.lr,
        })
    }

    /// The trainer with the optimiser `gpu_adamw` asks for.
    fn with_optimizer(&self, trainer: Trainer<ClassHead>, device: &Device) -> Result<Trainer<ClassHead>, Error> {
        if !self.gpu_adamw {
            return Ok(trainer);
        }
        if !device.is_cuda() {
            return Err(Error::Param("the GPU AdamW kernel needs a CUDA device".into()));
        }
        #[cfg(feature = "cuda")]
        return Ok(trainer.with_gpu_adamw());
        #[cfg(not(feature = "cuda"))]
        Err(Error::Param(
            "the GPU AdamW kernel needs a build with the cuda feature".into(),
        ))
    }

    /// A model and the fixed batch for forward passes (what `infer` times).
    pub fn infer_bench(&self, device: &Device) -> Result<InferBench, Error> {
        self.check()?;
        Ok(InferBench {
            net: self.net(&self.config(), device)?,
            batch: self.batch().0,
        })
    }

    /// Forward, backward and AdamW on one batch, `steps` times after 10 warm-up steps.
    pub fn train_step(&self, device: &Device) -> Result<SpeedResult, Error> {
        let mut bench = self.train_bench(device)?;
        self.time(|| bench.step().map(drop))
    }

    /// Where a training step's time goes: seconds per step in each phase, over `steps`
    /// steps after 10 warm-up ones, the device synchronised between phases (a run of its
    /// own, so that the synchronisation does not slow [`Self::train_step`]).
    pub fn train_phases(&self, device: &Device) -> Result<PhaseTimes, Error> {
        let mut bench = self.train_bench(device)?;
        for _ in 0..10 {
            bench.step()?;
        }
        bench.trainer.phase_times = Some(PhaseTimes::default());
        for _ in 0..self.steps {
            bench.step()?;
        }
        let total = bench.trainer.phase_times.unwrap_or_default();
        let n = self.steps.max(1) as f64;
        Ok(PhaseTimes {
            forward: total.forward / n,
            backward: total.backward / n,
            optimizer: total.optimizer / n,
        })
    }

    /// The forward pass only, no graph kept, `steps` times after 10 warm-up passes.
    pub fn infer(&self, device: &Device) -> Result<SpeedResult, Error> {
        let bench = self.infer_bench(device)?;
        self.time(|| bench.run().map(drop))
    }

    /// `run` 10 times untimed, then `steps` times timed.
    fn time(&self, mut run: impl FnMut() -> Result<(), Error>) -> Result<SpeedResult, Error> {
        for _ in 0..10 {
            run()?;
        }
        let t0 = Instant::now();
        for _ in 0..self.steps {
            run()?;
        }
        let seconds = t0.elapsed().as_secs_f64();
        Ok(SpeedResult {
            seconds,
            docs_per_s: (self.steps * self.batch) as f64 / seconds,
        })
    }
}

/// One training step on a fixed batch, repeatable.
pub struct TrainBench {
    trainer: Trainer<ClassHead>,
    batch: PaddedBatch,
    y: Vec<usize>,
    w: Vec<f32>,
    lr: f64,
}

impl TrainBench {
    /// One step; returns the loss.
    pub fn step(&mut self) -> Result<f64, Error> {
        self.trainer
            .step(&self.batch, DocFeatures::default(), &self.y, &self.w, self.lr, None)
    }
}

/// One forward pass on a fixed batch.
pub struct InferBench {
    net: SequenceClassifier,
    batch: PaddedBatch,
}

impl InferBench {
    /// The batch's probabilities.
    pub fn run(&self) -> Result<Vec<f32>, Error> {
        let logits = self.net.forward(&self.batch, DocFeatures::default(), false, None)?;
        candle_nn::ops::sigmoid(&logits)
            .and_then(|p| p.flatten_all()?.to_vec1::<f32>())
            .map_err(super::ce)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The phase timing runs the same steps as training: the loss falls on the fixed batch,
    /// and every phase took some time.
    #[test]
    fn phases_cover_the_step() {
        let shape = SpeedShape {
            batch: 8,
            len: 5,
            emb: 8,
            hidden: 8,
            vocab: 50,
            steps: 5,
            ..SpeedShape::default()
        };
        let dev = Device::Cpu;
        let mut bench = shape.train_bench(&dev).unwrap();
        let first = bench.step().unwrap();
        bench.trainer.phase_times = Some(PhaseTimes::default());
        let mut last = first;
        for _ in 0..20 {
            last = bench.step().unwrap();
        }
        assert!(last < first, "loss {first} -> {last}");
        let p = bench.trainer.phase_times.unwrap();
        assert!(p.forward > 0.0 && p.backward > 0.0 && p.optimizer > 0.0, "{p:?}");
        let per_step = shape.train_phases(&dev).unwrap();
        assert!(per_step.forward > 0.0 && per_step.forward.is_finite(), "{per_step:?}");
    }
}
