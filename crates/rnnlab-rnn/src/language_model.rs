//! The recurrent language model, the network that predicts the next token at every step (and
//! generates text, one token at a time): the shared [`Encoder`] (embedding and one-direction
//! recurrent stack) with an [`LmHead`] whose output matrix is, by default, the embedding itself
//! (tied weights). Training is truncated backpropagation through time over parallel streams:
//! windows of `bptt` steps, the recurrent state carried from one window to the next
//! ([`CarriedState`]) with no gradient through it, as PyTorch's `word_language_model` does.
//!
//! This layer sees token ids only; vocabularies and model directories belong to the experiment
//! layer.

use std::time::Instant;

use candle_core::{DType, Device, Tensor, Var, D};
use serde::{Deserialize, Serialize};

use super::beam::{beam_search, BeamLimits};
use super::ce;
use super::config::{Architecture, CellKind, Optimisation, OptimizerKind, Regularisation, RnnConfig};
use super::encoder::{Encoder, EncoderOutput};
use super::network::{Head, Network};
use super::optim::AdamWOptimizer;
use super::train::{EpochStats, TrainObserver};
use crate::Error;
use candle_nn::ParamsAdamW;
use rnnlab_kernels::{mask_tensor, CarriedState, Dropout, Rng};
use rnnlab_vectorize::PaddedBatch;

/// Streams scored side by side in evaluation (the reference's `EVAL_BATCH`).
pub const EVAL_STREAMS: usize = 10;

/// A language model's recipe: the network and its training ([`RnnConfig`]: `batch_size` is the
/// number of parallel streams, `regularisation.dropout` falls on the embedding and between
/// layers, `head_dropout` on the output) and the two settings of its own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LmConfig {
    #[serde(flatten)]
    pub rnn: RnnConfig,
    /// Steps of truncated backpropagation through time.
    pub bptt: usize,
    /// The output layer's matrix is the embedding (`emb` must equal `hidden`).
    pub tie_weights: bool,
}

/// The reference recipe (`../shared/anchors/lm_anchor.py`): embedding 256, 2 layers of 256,
/// dropout 0.3 on the embedding, between layers and on the output, tied weights, windows of 35
/// steps over 20 streams, SGD at lr 20 with the gradient norm clipped at 0.25 and the rate
/// divided by 4 when validation perplexity does not improve, 10 epochs, the best kept.
pub fn lm_recipe(cell: CellKind) -> LmConfig {
    LmConfig {
        rnn: RnnConfig {
            architecture: Architecture {
                cell,
                emb: 256,
                hidden: 256,
                layers: 2,
                ..Architecture::default()
            },
            regularisation: Regularisation {
                dropout: 0.3,
                head_dropout: 0.3,
                ..Regularisation::default()
            },
            optimisation: Optimisation {
                epochs: 10,
                batch_size: 20,
                lr: 20.0,
                optimizer: OptimizerKind::Sgd,
                clip: 0.25,
                ..Optimisation::default()
            },
            ..RnnConfig::default()
        },
        bptt: 35,
        tie_weights: true,
    }
}

impl LmConfig {
    /// The settings a language model cannot take, named.
    pub fn validate(&self) -> Result<(), Error> {
        self.rnn.validate()?;
        let a = &self.rnn.architecture;
        let bad = |m: String| Err(Error::Param(m));
        if a.bidirectional {
            return bad("a language model reads left to right: --bidirectional does not apply".into());
        }
        if self.tie_weights && a.emb != a.hidden {
            return bad(format!(
                "tied weights need --emb equal to --hidden (got {} and {})",
                a.emb, a.hidden
            ));
        }
        if self.bptt == 0 || self.bptt > 100_000 {
            return bad(format!("--bptt must be in 1..=100000, got {}", self.bptt));
        }
        Ok(())
    }

    /// Weights of the network: embedding, recurrent stack, output bias and (untied) matrix.
    pub fn parameter_count(&self, vocab_size: usize) -> Option<usize> {
        let a = &self.rnn.architecture;
        let g = a.cell.gates().checked_mul(a.hidden)?;
        let mut n = vocab_size.checked_mul(a.emb)?;
        for l in 0..a.layers {
            let input = if l == 0 { a.emb } else { a.hidden };
            let layer = g.checked_mul(input.checked_add(a.hidden)?.checked_add(2)?)?;
            n = n.checked_add(layer)?;
        }
        n = n.checked_add(vocab_size)?;
        if !self.tie_weights {
            n = n.checked_add(vocab_size.checked_mul(a.hidden)?)?;
        }
        Some(n)
    }
}

/// The next-token layer: logits `h Wᵀ + b` over the vocabulary, with dropout on `h` before it.
#[derive(Debug, Clone)]
pub struct LmHead {
    /// `[vocab, hidden]`: the embedding itself when tied (listed once, by the encoder).
    pub weight: Var,
    pub tied: bool,
    pub bias: Var,
    pub dropout: f32,
}

impl LmHead {
    /// `[rows, vocab]` logits of `out` `[rows, hidden]`.
    pub fn logits(&self, out: &Tensor, grad: bool, train: Option<&mut Rng>) -> Result<Tensor, Error> {
        let out = self.dropped(out, train)?;
        let v = |v: &Var| rnnlab_kernels::tracked(v, grad);
        if !grad && out.dim(0).map_err(ce)? == 1 {
            // One row (generation): `W h` reads the matrix as it is stored, where `h Wᵀ` would
            // copy the transposed matrix first.
            let n = self.bias.elem_count();
            let r = || v(&self.weight).matmul(&out.t()?)?.reshape(n)? + v(&self.bias);
            return r().and_then(|l| l.reshape((1, n))).map_err(ce);
        }
        let r = (|| out.matmul(&v(&self.weight).t()?)?.broadcast_add(&v(&self.bias)))();
        r.map_err(ce)
    }
}

impl LmHead {
    /// `out` with the head's dropout when training.
    fn dropped(&self, out: &Tensor, train: Option<&mut Rng>) -> Result<Tensor, Error> {
        match train {
            Some(rng) if self.dropout > 0.0 => {
                let m = mask_tensor(rng, out.dims(), self.dropout, out.device())?;
                (out * m).map_err(ce)
            }
            _ => Ok(out.clone()),
        }
    }

    /// The mean cross-entropy of the next tokens `targets` after `out` `[rows, hidden]`, for
    /// training: the bias added inside the fused loss (no biased copy of the logits).
    pub fn loss(&self, out: &Tensor, targets: &Tensor, train: Option<&mut Rng>) -> Result<Tensor, Error> {
        let out = self.dropped(out, train)?;
        let v = |v: &Var| rnnlab_kernels::tracked(v, true);
        let pre = out.matmul(&v(&self.weight).t().map_err(ce)?).map_err(ce)?;
        rnnlab_kernels::cross_entropy::cross_entropy_with_bias(&pre, &v(&self.bias), targets).map_err(ce)
    }
}

impl Head for LmHead {
    fn named_vars(&self) -> Vec<(String, Var)> {
        let mut v = vec![("decoder.bias".to_string(), self.bias.clone())];
        if !self.tied {
            v.push(("decoder.weight".to_string(), self.weight.clone()));
        }
        v
    }

    fn forward(
        &self,
        encoded: &EncoderOutput,
        _batch: &PaddedBatch,
        grad: bool,
        train: Option<&mut Rng>,
    ) -> Result<Tensor, Error> {
        let (b, t, w) = encoded.out.dims3().map_err(ce)?;
        self.logits(&encoded.out.reshape((b * t, w)).map_err(ce)?, grad, train)
    }
}

/// Encoder and next-token head.
pub type RecurrentLm = Network<LmHead>;

impl Network<LmHead> {
    /// Fresh weights: the embedding (and an untied output matrix) uniform in ±0.1, the output
    /// bias zero, the recurrent stack PyTorch's default.
    pub fn new_lm(config: &LmConfig, vocab_size: usize, device: &Device) -> Result<Self, Error> {
        config.validate()?;
        let c = &config.rnn;
        let mut rng = Rng::new(c.optimisation.seed);
        let mut encoder = Encoder::new(c, vocab_size, 0, &mut rng, device)?;
        let uniform = |rows: usize, cols: usize, rng: &mut Rng| -> Result<Var, Error> {
            let v: Vec<f32> = (0..rows * cols).map(|_| rng.symmetric(0.1)).collect();
            Var::from_tensor(&Tensor::from_vec(v, (rows, cols), device).map_err(ce)?).map_err(ce)
        };
        encoder.embedding = uniform(vocab_size, c.architecture.emb, &mut rng)?;
        let weight = if config.tie_weights {
            encoder.embedding.clone()
        } else {
            uniform(vocab_size, c.architecture.hidden, &mut rng)?
        };
        let bias = Var::from_tensor(&Tensor::zeros(vocab_size, DType::F32, device).map_err(ce)?).map_err(ce)?;
        let head = LmHead {
            weight,
            tied: config.tie_weights,
            bias,
            dropout: c.regularisation.head_dropout,
        };
        Ok(Network { encoder, head })
    }

    pub fn vocab_size(&self) -> usize {
        self.head.bias.dims().first().copied().unwrap_or(0)
    }

    /// The top layer's outputs `[batch * steps, hidden]` (row `b * steps + t`) over a window
    /// of `batch` streams, `ids` row-major `[batch, steps]`, from `state` (zero when `None`);
    /// returns the state at the window's end. `train` brings dropout.
    pub fn window_states(
        &self,
        ids: &[u32],
        batch: usize,
        grad: bool,
        mut train: Option<&mut Rng>,
        state: Option<&CarriedState>,
    ) -> Result<(Tensor, CarriedState), Error> {
        let enc = &self.encoder;
        let c = &enc.config;
        let steps = ids.len() / batch.max(1);
        if batch == 0 || steps == 0 || ids.len() != batch * steps {
            return Err(Error::Data(format!(
                "a window of {} ids does not split into {batch} streams",
                ids.len()
            )));
        }
        let vocab = self.vocab_size() as u32;
        if let Some(&bad) = ids.iter().find(|&&i| i >= vocab) {
            return Err(Error::Data(format!(
                "token id {bad} is outside the vocabulary of {vocab}"
            )));
        }
        let idx = Tensor::from_slice(ids, ids.len(), &enc.device).map_err(ce)?;
        let mut x = rnnlab_kernels::tracked(&enc.embedding, grad)
            .index_select(&idx, 0)
            .and_then(|e| e.reshape((batch, steps, c.architecture.emb)))
            .map_err(ce)?;
        if let Some(rng) = train.as_deref_mut() {
            if c.regularisation.dropout > 0.0 {
                let m = mask_tensor(
                    rng,
                    &[batch, steps, c.architecture.emb],
                    c.regularisation.dropout,
                    &enc.device,
                )?;
                x = (x * m).map_err(ce)?;
            }
        }
        let dropout = train.map(|rng| Dropout {
            between_layers: c.regularisation.dropout,
            recurrent: c.regularisation.recurrent_dropout,
            rng,
        });
        let (out, end) = enc.rnn.forward_carried(&x, grad, dropout, state)?;
        let out = out.reshape((batch * steps, c.architecture.hidden)).map_err(ce)?;
        Ok((out, end))
    }

    /// [`RecurrentLm::window_states`], then `[batch · steps, vocab]` logits.
    pub fn window(
        &self,
        ids: &[u32],
        batch: usize,
        grad: bool,
        mut train: Option<&mut Rng>,
        state: Option<&CarriedState>,
    ) -> Result<(Tensor, CarriedState), Error> {
        let (out, end) = self.window_states(ids, batch, grad, train.as_deref_mut(), state)?;
        Ok((self.head.logits(&out, grad, train)?, end))
    }

    /// Summed cross-entropy (nats) and token count of a stream, read as [`EVAL_STREAMS`]
    /// parallel streams in windows of `bptt` (the reference's evaluation); a stream shorter
    /// than one window per parallel stream is read as one stream, every token after the first
    /// predicted.
    pub fn stream_cross_entropy(&self, ids: &[u32], bptt: usize) -> Result<(f64, usize), Error> {
        let scored = self.stream_log_probs(ids, bptt)?;
        Ok((-scored.iter().map(|&(_, lp)| lp as f64).sum::<f64>(), scored.len()))
    }

    /// The log-probability of every token [`RecurrentLm::stream_cross_entropy`] predicts, with
    /// its position in `ids`, in the order scored (so other models can score the same tokens).
    pub fn stream_log_probs(&self, ids: &[u32], bptt: usize) -> Result<Vec<(usize, f32)>, Error> {
        let streams = if ids.len() >= EVAL_STREAMS * bptt.max(1) {
            EVAL_STREAMS
        } else {
            1
        };
        let data = Streams::new(ids, streams);
        let mut out = Vec::with_capacity(data.streams * data.len);
        let mut state: Option<CarriedState> = None;
        let mut i = 0;
        while i + 1 < data.len {
            let steps = bptt.min(data.len - 1 - i);
            let (x, y) = data.window(i, steps);
            let (logits, end) = self.window(&x, data.streams, false, None, state.as_ref())?;
            let targets = Tensor::from_vec(y, (x.len(), 1), &self.encoder.device).map_err(ce)?;
            let picked: Vec<f32> = candle_nn::ops::log_softmax(&logits, 1)
                .and_then(|l| l.gather(&targets, 1))
                .and_then(|l| l.flatten_all())
                .and_then(|l| l.to_vec1())
                .map_err(ce)?;
            // Row b * steps + t of the window predicts position b * len + i + t + 1.
            for (r, lp) in picked.into_iter().enumerate() {
                let (b, t) = (r / steps, r % steps);
                out.push((b * data.len + i + t + 1, lp));
            }
            state = Some(end);
            i += steps;
        }
        Ok(out)
    }
}

/// A token stream cut into `streams` equal parallel streams (the remainder dropped, as the
/// reference's `batchify` does).
struct Streams<'a> {
    ids: &'a [u32],
    streams: usize,
    /// Tokens per stream.
    len: usize,
}

impl<'a> Streams<'a> {
    fn new(ids: &'a [u32], streams: usize) -> Self {
        let streams = streams.max(1);
        Streams {
            ids,
            streams,
            len: ids.len() / streams,
        }
    }

    /// Inputs and targets `[streams, steps]` row-major, from position `i` of every stream.
    fn window(&self, i: usize, steps: usize) -> (Vec<u32>, Vec<u32>) {
        let (mut x, mut y) = (
            Vec::with_capacity(self.streams * steps),
            Vec::with_capacity(self.streams * steps),
        );
        for b in 0..self.streams {
            let s = &self.ids[b * self.len..(b + 1) * self.len];
            x.extend_from_slice(&s[i..i + steps]);
            y.extend_from_slice(&s[i + 1..i + 1 + steps]);
        }
        (x, y)
    }
}

/// What [`fit_lm`] returns.
pub struct LmFit {
    pub model: RecurrentLm,
    /// Per epoch: `train_loss` the mean training cross-entropy, `val_loss` validation's,
    /// `val_metric` validation perplexity, `lr` the rate the epoch ran at.
    pub curve: Vec<EpochStats>,
    /// The epoch whose weights were kept (1-based; 0: none finished).
    pub best_epoch: usize,
    pub train_s: f64,
    /// Training tokens per second of the training steps.
    pub train_tokens_per_s: f64,
    pub stopped: Option<String>,
}

/// The optimiser of a language model: plain SGD (the reference's) or Adam/AdamW.
enum LmOptimizer {
    Sgd(Vec<Var>),
    Adam(Box<AdamWOptimizer>),
}

impl LmOptimizer {
    fn new(config: &RnnConfig, vars: Vec<Var>) -> Result<Self, Error> {
        let o = &config.optimisation;
        Ok(match o.optimizer {
            OptimizerKind::Sgd => LmOptimizer::Sgd(vars),
            kind => LmOptimizer::Adam(Box::new(AdamWOptimizer::new(
                vars,
                ParamsAdamW {
                    lr: o.lr,
                    weight_decay: if kind == OptimizerKind::Adamw {
                        o.weight_decay
                    } else {
                        0.0
                    },
                    ..ParamsAdamW::default()
                },
            )?)),
        })
    }

    fn step(&mut self, grads: &mut candle_core::backprop::GradStore, lr: f64, clip: f64) -> Result<(), Error> {
        match self {
            LmOptimizer::Sgd(vars) => crate::optim::sgd_step(vars, grads, lr, clip),
            LmOptimizer::Adam(opt) => opt.step(grads, lr, clip),
        }
    }
}

/// Trains a language model on the `train` ids, validating on `val` after each epoch: the rate
/// is divided by 4 when validation perplexity does not improve, and the best epoch's weights
/// are kept.
pub fn fit_lm(
    config: &LmConfig,
    vocab_size: usize,
    train: &[u32],
    val: &[u32],
    device: &Device,
    observer: &mut dyn TrainObserver,
) -> Result<LmFit, Error> {
    config.validate()?;
    let o = &config.rnn.optimisation;
    let streams = o.batch_size.max(1);
    if train.len() < 2 * streams || val.len() < 2 * EVAL_STREAMS {
        return Err(Error::Data(format!(
            "{} training and {} validation tokens: a language model needs at least {} and {}",
            train.len(),
            val.len(),
            2 * streams,
            2 * EVAL_STREAMS
        )));
    }
    let started = Instant::now();
    let model = RecurrentLm::new_lm(config, vocab_size, device)?;
    let vars: Vec<Var> = model.named_vars().into_iter().map(|(_, v)| v).collect();
    let mut opt = LmOptimizer::new(&config.rnn, vars)?;
    let mut rng = Rng::new(o.seed ^ 0x006c_6d00);
    let data = Streams::new(train, streams);
    let windows = (data.len - 1).div_ceil(config.bptt);
    let mut lr = o.lr;
    let mut best = (f64::INFINITY, 0usize, model.snapshot()?);
    let (mut curve, mut tokens, mut step_s, mut stopped) = (Vec::new(), 0usize, 0.0f64, None);
    'epochs: for epoch in 1..=o.epochs {
        let t0 = Instant::now();
        observer.epoch_start(epoch, windows);
        let (mut loss_sum, mut loss_n) = (0.0f64, 0usize);
        let mut state: Option<CarriedState> = None;
        let mut i = 0;
        while i + 1 < data.len {
            let steps = config.bptt.min(data.len - 1 - i);
            let (x, y) = data.window(i, steps);
            let ts = Instant::now();
            let (out, end) = model.window_states(&x, streams, true, Some(&mut rng), state.as_ref())?;
            let target = Tensor::from_vec(y, x.len(), device).map_err(ce)?;
            let loss = model.head.loss(&out, &target, Some(&mut rng))?;
            let lv = loss.to_scalar::<f32>().map_err(ce)? as f64;
            if !lv.is_finite() {
                stopped = Some(format!(
                    "training diverged: the loss became {lv} at epoch {epoch}; kept the weights of epoch {} \
                     (try a lower --lr than {:e})",
                    best.1, o.lr
                ));
                break 'epochs;
            }
            let mut grads = loss.backward().map_err(ce)?;
            opt.step(&mut grads, lr, o.clip)?;
            step_s += ts.elapsed().as_secs_f64();
            tokens += x.len();
            loss_sum += lv * x.len() as f64;
            loss_n += x.len();
            state = Some(end);
            i += steps;
            observer.batch_end(lv);
            if observer.interrupted() {
                stopped = Some(format!(
                    "interrupted in epoch {epoch}; kept the weights of epoch {}",
                    best.1
                ));
                break 'epochs;
            }
        }
        let (val_total, val_n) = model.stream_cross_entropy(val, config.bptt)?;
        let val_loss = val_total / val_n.max(1) as f64;
        let stats = EpochStats {
            epoch,
            train_loss: loss_sum / loss_n.max(1) as f64,
            val_loss,
            val_metric: val_loss.exp(),
            lr,
            seconds: t0.elapsed().as_secs_f64(),
        };
        observer.epoch_end(&stats);
        curve.push(stats);
        if val_loss < best.0 {
            best = (val_loss, epoch, model.snapshot()?);
        } else {
            lr /= 4.0;
        }
    }
    model.restore(&best.2)?;
    Ok(LmFit {
        model,
        curve,
        best_epoch: best.1,
        train_s: started.elapsed().as_secs_f64(),
        train_tokens_per_s: tokens as f64 / step_s.max(1e-9),
        stopped,
    })
}

/// How [`RecurrentLm::generate`] picks each next token.
#[derive(Debug, Clone, PartialEq)]
pub struct Sampling {
    /// Divides the logits (below 1 sharper, above 1 flatter).
    pub temperature: f32,
    /// Only the `k` most likely tokens (0: all).
    pub top_k: usize,
    /// Only the smallest set of most likely tokens whose probability reaches `p` (1: all).
    pub top_p: f32,
    /// The most likely token every time (no randomness).
    pub greedy: bool,
    /// Tokens drawn at most per sample.
    pub max_tokens: usize,
}

impl Default for Sampling {
    fn default() -> Self {
        Sampling {
            temperature: 1.0,
            top_k: 0,
            top_p: 1.0,
            greedy: false,
            max_tokens: 40,
        }
    }
}

impl Sampling {
    pub fn validate(&self) -> Result<(), Error> {
        if !(self.temperature.is_finite() && self.temperature > 0.0) {
            return Err(Error::Param(format!(
                "--temperature must be above 0, got {}",
                self.temperature
            )));
        }
        if !(self.top_p > 0.0 && self.top_p <= 1.0) {
            return Err(Error::Param(format!("--top-p must be in (0, 1], got {}", self.top_p)));
        }
        Ok(())
    }

    /// The next token from `logits` (one row over the vocabulary).
    pub fn pick(&self, logits: &[f32], rng: &mut Rng) -> u32 {
        let argmax = |v: &[f32]| {
            v.iter()
                .enumerate()
                .fold(
                    (0usize, f32::NEG_INFINITY),
                    |b, (i, &x)| if x > b.1 { (i, x) } else { b },
                )
                .0 as u32
        };
        if self.greedy || self.top_k == 1 {
            return argmax(logits);
        }
        let mut order: Vec<u32> = (0..logits.len() as u32).collect();
        let restricted = self.top_k > 0 || self.top_p < 1.0;
        if restricted {
            order.sort_unstable_by(|&a, &b| logits[b as usize].total_cmp(&logits[a as usize]).then(a.cmp(&b)));
            if self.top_k > 0 {
                order.truncate(self.top_k);
            }
        }
        let max = order
            .iter()
            .map(|&i| logits[i as usize])
            .fold(f32::NEG_INFINITY, f32::max);
        let mut p: Vec<f64> = order
            .iter()
            .map(|&i| (((logits[i as usize] - max) / self.temperature) as f64).exp())
            .collect();
        let sum: f64 = p.iter().sum();
        p.iter_mut().for_each(|x| *x /= sum);
        if self.top_p < 1.0 {
            let (mut acc, mut keep) = (0.0, p.len());
            for (j, &x) in p.iter().enumerate() {
                acc += x;
                if acc >= self.top_p as f64 {
                    keep = j + 1;
                    break;
                }
            }
            p.truncate(keep);
            order.truncate(keep);
        }
        let total: f64 = p.iter().sum();
        let mut u = rng.uniform() as f64 * total;
        for (j, &x) in p.iter().enumerate() {
            u -= x;
            if u < 0.0 {
                return order[j];
            }
        }
        order[p.len() - 1]
    }
}

impl Network<LmHead> {
    /// Continues `prompt` (token ids; at least one, e.g. `<eos>` for a new sentence) until
    /// `stop` is drawn or `max_tokens` are; `on_token` sees each token as it is drawn. The
    /// prompt is read once and the state carried, so each new token costs one step.
    pub fn generate(
        &self,
        prompt: &[u32],
        sampling: &Sampling,
        stop: Option<u32>,
        rng: &mut Rng,
        mut on_token: impl FnMut(u32),
    ) -> Result<Vec<u32>, Error> {
        sampling.validate()?;
        if prompt.is_empty() {
            return Err(Error::Data("generation needs a prompt of at least one token".into()));
        }
        let mut this = self.clone();
        this.encoder.rnn = self.encoder.rnn.for_inference()?;
        let (logits, mut state) = this.window(prompt, 1, false, None, None)?;
        let mut last = logits
            .get(prompt.len() - 1)
            .and_then(|r| r.to_vec1::<f32>())
            .map_err(ce)?;
        let mut out = Vec::new();
        while out.len() < sampling.max_tokens {
            let next = sampling.pick(&last, rng);
            if Some(next) == stop {
                break;
            }
            out.push(next);
            on_token(next);
            if out.len() == sampling.max_tokens {
                break;
            }
            let (logits, end) = this.window(&[next], 1, false, None, Some(&state))?;
            state = end;
            last = logits.squeeze(0).and_then(|r| r.to_vec1::<f32>()).map_err(ce)?;
        }
        Ok(out)
    }

    /// The most likely continuation of `prompt` (at least one token) by beam search with
    /// `beam` hypotheses (1: greedy; no length penalty), ended by `stop` (not included) or
    /// after `max_tokens`. The prompt is read once; each step runs the hypotheses as one batch.
    pub fn beam_generate(
        &self,
        prompt: &[u32],
        beam: usize,
        max_tokens: usize,
        stop: Option<u32>,
    ) -> Result<Vec<u32>, Error> {
        let Some((&last, before)) = prompt.split_last() else {
            return Err(Error::Data("generation needs a prompt of at least one token".into()));
        };
        let mut this = self.clone();
        this.encoder.rnn = self.encoder.rnn.for_inference()?;
        let state = match before.is_empty() {
            true => None,
            false => Some(this.window(before, 1, false, None, None)?.1),
        };
        let limits = BeamLimits {
            beam,
            limit: max_tokens,
            end: stop,
            hidden: self.encoder.config.architecture.hidden,
        };
        beam_search(last, state, &limits, &mut |inputs, state| {
            let (logits, end) = this.window(inputs, inputs.len(), false, None, state)?;
            let logp = candle_nn::ops::log_softmax(&logits, D::Minus1)
                .and_then(|l| l.flatten_all())
                .and_then(|l| l.to_vec1::<f32>())
                .map_err(ce)?;
            Ok((logp, end))
        })
    }

    /// Log-probabilities of the next token after `prompt` (tests, scoring).
    pub fn next_log_probs(&self, prompt: &[u32]) -> Result<Vec<f32>, Error> {
        let (logits, _) = self.window(prompt, 1, false, None, None)?;
        candle_nn::ops::log_softmax(&logits, D::Minus1)
            .and_then(|l| l.get(prompt.len() - 1))
            .and_then(|r| r.to_vec1::<f32>())
            .map_err(ce)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::Silent;

    fn tiny(cell: CellKind, tie: bool) -> LmConfig {
        let mut c = lm_recipe(cell);
        c.rnn.architecture.emb = 6;
        c.rnn.architecture.hidden = 6;
        c.rnn.optimisation.batch_size = 4;
        c.rnn.optimisation.lr = 1.0;
        c.rnn.optimisation.epochs = 30;
        c.bptt = 5;
        c.tie_weights = tie;
        c
    }

    /// A cyclic stream: each token decides the next.
    fn cycle(n: usize, period: u32) -> Vec<u32> {
        (0..n as u32).map(|i| i % period).collect()
    }

    #[test]
    fn a_uniform_model_has_the_vocabulary_size_as_perplexity() {
        let lm = RecurrentLm::new_lm(&tiny(CellKind::Lstm, false), 13, &Device::Cpu).unwrap();
        for v in [&lm.head.weight, &lm.head.bias] {
            v.set(&v.as_tensor().zeros_like().unwrap()).unwrap();
        }
        let (total, n) = lm.stream_cross_entropy(&cycle(200, 13), 7).unwrap();
        assert_eq!(n, 190, "10 streams of 20 tokens, 19 predictions each");
        assert!(((total / n as f64).exp() - 13.0).abs() < 1e-3);
    }

    /// The tied matrix gets its gradient from the lookup and from the output layer: autograd
    /// against central differences of the loss.
    #[test]
    fn the_tied_head_has_the_finite_difference_gradient() {
        let mut c = tiny(CellKind::Gru, true);
        c.rnn.regularisation.dropout = 0.0;
        c.rnn.regularisation.head_dropout = 0.0;
        let lm = RecurrentLm::new_lm(&c, 5, &Device::Cpu).unwrap();
        let ids = [1u32, 3, 2, 4, 0, 2];
        let targets = Tensor::new(&[3u32, 2, 4, 0, 2, 1], &Device::Cpu).unwrap();
        let loss = |lm: &RecurrentLm| {
            let (logits, _) = lm.window(&ids, 2, true, None, None).unwrap();
            candle_nn::loss::cross_entropy(&logits, &targets).unwrap()
        };
        let grads = loss(&lm).backward().unwrap();
        let emb = &lm.encoder.embedding;
        let g = grads
            .get(emb.as_tensor())
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        let w0 = emb.as_tensor().flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let eps = 1e-2f32;
        for k in [0usize, 7, 13, 20, 29] {
            let at = |d: f32| {
                let mut w = w0.clone();
                w[k] += d;
                emb.set(&Tensor::from_vec(w, (5, 6), &Device::Cpu).unwrap()).unwrap();
                loss(&lm).to_scalar::<f32>().unwrap()
            };
            let numeric = (at(eps) - at(-eps)) / (2.0 * eps);
            assert!(
                (numeric - g[k]).abs() < 2e-3 + 0.02 * g[k].abs(),
                "entry {k}: {numeric} vs {}",
                g[k]
            );
        }
        emb.set(&Tensor::from_vec(w0, (5, 6), &Device::Cpu).unwrap()).unwrap();
        assert!(g.iter().any(|&x| x != 0.0));
    }

    #[test]
    fn training_learns_a_cycle_and_generation_follows_it() {
        for cell in [CellKind::Lstm, CellKind::Gru, CellKind::Rnn] {
            let mut c = tiny(cell, true);
            c.rnn.optimisation.lr = 5.0;
            c.rnn.regularisation.dropout = 0.0;
            c.rnn.regularisation.head_dropout = 0.0;
            let fit = fit_lm(&c, 6, &cycle(400, 6), &cycle(120, 6), &Device::Cpu, &mut Silent).unwrap();
            let first = fit.curve[0].val_metric;
            let best = fit.curve[fit.best_epoch - 1].val_metric;
            assert!(best < 1.5 && best < first, "{cell:?}: perplexity {first} -> {best}");
            // Greedy continuation of 0 1 2 is 3 4 5 0 ...
            let greedy = Sampling {
                greedy: true,
                max_tokens: 6,
                ..Sampling::default()
            };
            let out = fit
                .model
                .generate(&[0, 1, 2], &greedy, None, &mut Rng::new(1), |_| {})
                .unwrap();
            assert_eq!(out, vec![3, 4, 5, 0, 1, 2], "{cell:?}");
            // Beam search follows it too, and stops at the stop token.
            assert_eq!(
                fit.model.beam_generate(&[0, 1, 2], 3, 6, None).unwrap(),
                out,
                "{cell:?}"
            );
            assert_eq!(
                fit.model.beam_generate(&[0, 1, 2], 3, 6, Some(5)).unwrap(),
                [3, 4],
                "{cell:?}"
            );
        }
    }

    /// A stream too short for ten parallel windows is one stream: every token after the first
    /// is scored, and the sum is the step-by-step log-probabilities'.
    #[test]
    fn a_short_stream_scores_every_token_after_the_first() {
        let lm = RecurrentLm::new_lm(&tiny(CellKind::Lstm, true), 9, &Device::Cpu).unwrap();
        let ids = [2u32, 5, 7, 1, 3];
        let (total, n) = lm.stream_cross_entropy(&ids, 35).unwrap();
        assert_eq!(n, 4);
        let stepwise: f64 = (1..ids.len())
            .map(|k| -lm.next_log_probs(&ids[..k]).unwrap()[ids[k] as usize] as f64)
            .sum();
        assert!((total - stepwise).abs() < 1e-4, "{total} vs {stepwise}");
        assert_eq!(lm.stream_cross_entropy(&ids[..1], 35).unwrap().1, 0);
    }

    /// The training loss (bias inside the fused op) is the cross-entropy of the logits, and
    /// the tied matrix gets the same gradient through either.
    #[test]
    fn the_training_loss_is_the_cross_entropy_of_the_logits() {
        let lm = RecurrentLm::new_lm(&tiny(CellKind::Lstm, true), 7, &Device::Cpu).unwrap();
        let ids = [1u32, 3, 2, 4, 0, 2];
        let targets = Tensor::new(&[3u32, 2, 4, 0, 2, 1], &Device::Cpu).unwrap();
        let (out, _) = lm.window_states(&ids, 2, true, None, None).unwrap();
        let fused = lm.head.loss(&out, &targets, None).unwrap();
        let logits = lm.head.logits(&out, true, None).unwrap();
        let composed = candle_nn::loss::cross_entropy(&logits, &targets).unwrap();
        let (a, b) = (fused.to_scalar::<f32>().unwrap(), composed.to_scalar::<f32>().unwrap());
        assert!((a - b).abs() < 1e-5, "{a} vs {b}");
        let (ga, gb) = (fused.backward().unwrap(), composed.backward().unwrap());
        for v in [&lm.head.weight, &lm.head.bias] {
            let d = (ga.get(v).unwrap() - gb.get(v).unwrap())
                .unwrap()
                .abs()
                .unwrap()
                .max_all()
                .unwrap();
            assert!(d.to_scalar::<f32>().unwrap() < 1e-5);
        }
    }

    /// Each scored token's position: ten parallel streams of 20 in windows of 7, each
    /// log-probability the one the model gives that token after its own stream's prefix.
    #[test]
    fn stream_log_probs_name_the_positions_they_score() {
        let lm = RecurrentLm::new_lm(&tiny(CellKind::Gru, true), 9, &Device::Cpu).unwrap();
        let ids: Vec<u32> = (0..200u32).map(|i| (i * 7 + i / 3) % 9).collect();
        let scored = lm.stream_log_probs(&ids, 7).unwrap();
        assert_eq!(scored.len(), 190);
        let mut positions: Vec<usize> = scored.iter().map(|&(p, _)| p).collect();
        positions.sort_unstable();
        positions.dedup();
        assert_eq!(positions.len(), 190, "no position twice");
        assert!(
            positions.iter().all(|p| p % 20 != 0),
            "a stream's first token is not scored"
        );
        for &(p, lp) in scored.iter().step_by(17) {
            let start = p / 20 * 20;
            let want = lm.next_log_probs(&ids[start..p]).unwrap()[ids[p] as usize];
            assert!((lp - want).abs() < 1e-4, "position {p}: {lp} vs {want}");
        }
    }

    /// Beam 1 is greedy sampling, token for token, on an untrained model.
    #[test]
    fn beam_one_is_greedy_generation() {
        let lm = RecurrentLm::new_lm(&tiny(CellKind::Gru, true), 9, &Device::Cpu).unwrap();
        let greedy = Sampling {
            greedy: true,
            max_tokens: 12,
            ..Sampling::default()
        };
        for prompt in [&[4u32][..], &[1, 2, 3]] {
            let sampled = lm.generate(prompt, &greedy, Some(1), &mut Rng::new(0), |_| {}).unwrap();
            assert_eq!(lm.beam_generate(prompt, 1, 12, Some(1)).unwrap(), sampled);
            assert!(lm.beam_generate(prompt, 4, 12, Some(1)).unwrap().len() <= 12);
        }
        assert!(lm.beam_generate(&[], 2, 5, None).is_err());
        assert!(lm.beam_generate(&[1], 0, 5, None).is_err());
    }

    #[test]
    fn sampling_repeats_with_its_seed_and_top_k_one_is_greedy() {
        let lm = RecurrentLm::new_lm(&tiny(CellKind::Lstm, true), 9, &Device::Cpu).unwrap();
        let warm = Sampling {
            temperature: 1.5,
            max_tokens: 30,
            ..Sampling::default()
        };
        let draw = |s: &Sampling, seed: u64| {
            let mut seen = Vec::new();
            let out = lm
                .generate(&[1], s, None, &mut Rng::new(seed), |t| seen.push(t))
                .unwrap();
            assert_eq!(seen, out, "tokens are handed out as drawn");
            out
        };
        assert_eq!(draw(&warm, 4), draw(&warm, 4));
        assert_ne!(draw(&warm, 4), draw(&warm, 5));
        assert!(draw(&warm, 4).iter().all(|&t| t < 9));
        let greedy = Sampling {
            greedy: true,
            ..warm.clone()
        };
        let top1 = Sampling {
            top_k: 1,
            ..warm.clone()
        };
        assert_eq!(draw(&greedy, 1), draw(&top1, 2));
        // top-p keeps the most likely token alone when it holds p.
        let logits = [0.0f32, 5.0, 1.0];
        let nucleus = Sampling {
            top_p: 0.5,
            ..Sampling::default()
        };
        assert!((0..50).all(|s| nucleus.pick(&logits, &mut Rng::new(s)) == 1));
        assert!(Sampling {
            temperature: 0.0,
            ..Sampling::default()
        }
        .validate()
        .is_err());
        // A stop token ends the sample and is not part of it.
        let stopped = lm
            .generate(&[1], &greedy, Some(draw(&greedy, 0)[0]), &mut Rng::new(0), |_| {})
            .unwrap();
        assert!(stopped.is_empty());
    }

    #[test]
    fn bad_settings_and_ids_are_refused() {
        let mut c = tiny(CellKind::Lstm, true);
        c.rnn.architecture.emb = 8;
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .contains("--emb equal to --hidden"));
        let lm = RecurrentLm::new_lm(&tiny(CellKind::Lstm, true), 4, &Device::Cpu).unwrap();
        assert!(lm.window(&[1, 9], 1, false, None, None).is_err());
        assert!(lm.window(&[1, 2, 3], 2, false, None, None).is_err());
        assert_eq!(
            tiny(CellKind::Lstm, true).parameter_count(4),
            Some(lm.named_vars().iter().map(|(_, v)| v.elem_count()).sum())
        );
    }
}
