//! The encoder-decoder, the network that reads one sequence and writes another of a different
//! length: the shared [`Encoder`] (bidirectional by default) reads the source; a one-layer
//! decoder of the same cell writes the target one unit at a time, each step reading the
//! previous unit's embedding beside the encoder's final state, and Luong's global attention
//! ("general" score `h_t · A s_j`) over the encoder's states turns the decoder's state into the
//! output (`tanh(W_c [h_t; c_t])`, then a linear layer over the target units).
//!
//! The decoder is fed its inputs, not its attention output, so a teacher-forced target runs as
//! one call of the fused recurrent layer over all its steps, and decoding carries the state
//! from step to step ([`CarriedState`]), one step per unit. Greedy and beam decoding.
//!
//! Optionally (`shortcuts` > 0, Stanza's "edit classifier"), a linear layer on the encoder's
//! final state first chooses between decoding (class 0) and shortcuts the caller defines and
//! applies (for the lemmatiser: copy the form, lowercase it), so that a long word that is its
//! own lemma needs no character-by-character copying. Its cross-entropy joins the loss.
//!
//! Ids only: the unit vocabularies belong to the experiment layer, which reserves
//! [`PAD`], [`UNK`], [`BOS`], [`EOS`] in the target's (and `PAD` in the source's).

use std::time::Instant;

use candle_core::{Device, Tensor, Var, D};
use serde::{Deserialize, Serialize};

use super::beam::{beam_search, BeamLimits};
use super::ce;
use super::config::{Architecture, CellKind, Optimisation, OptimizerKind, Regularisation, RnnConfig};
use super::encoder::Encoder;
use super::input::DocFeatures;
use super::optim::AdamWOptimizer;
use super::train::{EpochStats, TrainObserver};
use crate::Error;
use candle_nn::ParamsAdamW;
use rnnlab_kernels::{mask_tensor, CarriedState, Dropout, RecurrentStack, Rng};
use rnnlab_vectorize::PaddedBatch;

/// Reserved ids: padding, an unknown unit, the start and the end of a target.
pub const PAD: u32 = 0;
pub const UNK: u32 = 1;
pub const BOS: u32 = 2;
pub const EOS: u32 = 3;

/// An encoder-decoder's recipe: the encoder and the training ([`RnnConfig`]; `dropout` falls on
/// both embeddings and between encoder layers, `head_dropout` before the output layer) and the
/// longest output decoding writes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Seq2SeqConfig {
    #[serde(flatten)]
    pub rnn: RnnConfig,
    /// Decoding stops after this many units (the end unit not counted), or sooner: after
    /// twice the source's length plus 20 (a network that never writes the end unit costs
    /// little).
    pub max_output: usize,
    /// Shortcut classes besides decoding (0: none); see the module's documentation.
    #[serde(default)]
    pub shortcuts: usize,
}

/// The character-level lemmatiser's recipe, chosen on the EWT dev file: embeddings of 64, a
/// bidirectional encoder of 2 × 128 and a decoder of 256, dropout 0.2, Adam at 2e-3 with the
/// gradient norm clipped at 5, batches of 64, 30 epochs with the best dev epoch kept.
pub fn seq2seq_recipe(cell: CellKind) -> Seq2SeqConfig {
    Seq2SeqConfig {
        rnn: RnnConfig {
            architecture: Architecture {
                cell,
                emb: 64,
                hidden: 128,
                layers: 1,
                bidirectional: true,
                ..Architecture::default()
            },
            regularisation: Regularisation {
                dropout: 0.2,
                head_dropout: 0.2,
                ..Regularisation::default()
            },
            optimisation: Optimisation {
                epochs: 30,
                batch_size: 64,
                lr: 2e-3,
                optimizer: OptimizerKind::Adam,
                clip: 5.0,
                patience: Some(6),
                ..Optimisation::default()
            },
            ..RnnConfig::default()
        },
        max_output: 160,
        shortcuts: 0,
    }
}

impl Seq2SeqConfig {
    pub fn validate(&self) -> Result<(), Error> {
        self.rnn.validate()?;
        if self.rnn.optimisation.optimizer == OptimizerKind::Sgd {
            return Err(Error::Param(
                "an encoder-decoder trains with --optimizer adam or adamw".into(),
            ));
        }
        if self.max_output == 0 || self.max_output > 10_000 {
            return Err(Error::Param(format!(
                "the output limit must be in 1..=10000, got {}",
                self.max_output
            )));
        }
        if self.shortcuts > 16 {
            return Err(Error::Param(format!(
                "at most 16 shortcut classes, got {}",
                self.shortcuts
            )));
        }
        Ok(())
    }

    /// Width of the encoder's states, which is also the decoder's.
    /// The most units written for a source of `source_len` units.
    pub fn output_limit(&self, source_len: usize) -> usize {
        self.max_output.min(2 * source_len + 20)
    }

    pub fn width(&self) -> usize {
        let a = &self.rnn.architecture;
        a.hidden * if a.bidirectional { 2 } else { 1 }
    }
}

/// The encoder's reading of a batch of sources, which every decoding step attends to.
#[derive(Clone)]
pub struct SourceMemory {
    /// `[batch, src, width]`: the encoder's states (zero at padded steps).
    pub states: Tensor,
    /// `[batch, width, src]`: the states through the attention matrix (`A s_j`), transposed
    /// once here rather than at every decoding step.
    keys: Tensor,
    /// `[batch, width]`: the encoder's final states, fed to every decoder step.
    summary: Tensor,
    /// `[batch, 1, src]`: 0 at real steps, a large negative number at padded ones.
    mask: Tensor,
}

impl SourceMemory {
    fn rows(&self, rows: &[u32]) -> Result<SourceMemory, Error> {
        let idx = Tensor::from_slice(rows, rows.len(), self.states.device()).map_err(ce)?;
        let pick = |t: &Tensor| t.index_select(&idx, 0).map_err(ce);
        Ok(SourceMemory {
            states: pick(&self.states)?,
            keys: pick(&self.keys)?,
            summary: pick(&self.summary)?,
            mask: pick(&self.mask)?,
        })
    }
}

/// What one call of the decoder gives.
pub struct Decoded {
    /// `[batch * steps, target vocab]` (row `b * steps + t`).
    pub logits: Tensor,
    /// `[batch, steps, src]`: attention weights, each row summing to 1 over the real steps.
    pub attention: Tensor,
    pub state: CarriedState,
}

/// Encoder, decoder and attention, with their `state_dict` names.
#[derive(Debug, Clone)]
pub struct Seq2Seq {
    pub config: Seq2SeqConfig,
    pub encoder: Encoder,
    /// `[target vocab, emb]`
    pub target_embedding: Var,
    pub decoder: RecurrentStack,
    /// `[width, width]`: Luong's "general" score matrix.
    pub attention: Var,
    /// `[width, 2 width]` and `[width]`: the attentional state from `[h_t; c_t]`.
    pub combine: (Var, Var),
    /// `[target vocab, width]` and `[target vocab]`.
    pub output: (Var, Var),
    /// `[shortcuts + 1, width]` and `[shortcuts + 1]`, when the recipe has shortcuts.
    pub shortcut: Option<(Var, Var)>,
    pub device: Device,
}

fn linear_var(shape: &[usize], fan_in: usize, rng: &mut Rng, dev: &Device) -> Result<Var, Error> {
    let k = 1.0 / (fan_in.max(1) as f32).sqrt();
    let v: Vec<f32> = (0..shape.iter().product()).map(|_| rng.symmetric(k)).collect();
    Var::from_tensor(&Tensor::from_vec(v, shape, dev).map_err(ce)?).map_err(ce)
}

impl Seq2Seq {
    /// Fresh weights (PyTorch's initialisation), drawn from the recipe's seed.
    pub fn new(
        config: &Seq2SeqConfig,
        source_vocab: usize,
        target_vocab: usize,
        device: &Device,
    ) -> Result<Self, Error> {
        config.validate()?;
        if source_vocab < 2 || target_vocab <= EOS as usize {
            return Err(Error::Param(format!(
                "vocabularies of {source_vocab} source and {target_vocab} target units are too small"
            )));
        }
        let mut rng = Rng::new(config.rnn.optimisation.seed ^ 0x5e02_5e00);
        let a = &config.rnn.architecture;
        let w = config.width();
        let encoder = Encoder::new(&config.rnn, source_vocab, 0, &mut rng, device)?;
        let mut emb: Vec<f32> = (0..target_vocab * a.emb).map(|_| rng.normal()).collect();
        emb[..a.emb].fill(0.0);
        let target_embedding =
            Var::from_tensor(&Tensor::from_vec(emb, (target_vocab, a.emb), device).map_err(ce)?).map_err(ce)?;
        let decoder = RecurrentStack::new(a.cell, a.emb + w, w, 1, false, &mut rng, device)?;
        let classes = config.shortcuts + 1;
        let shortcut = match config.shortcuts {
            0 => None,
            _ => Some((
                linear_var(&[classes, w], w, &mut rng, device)?,
                linear_var(&[classes], w, &mut rng, device)?,
            )),
        };
        Ok(Seq2Seq {
            config: config.clone(),
            encoder,
            target_embedding,
            decoder,
            attention: linear_var(&[w, w], w, &mut rng, device)?,
            combine: (
                linear_var(&[w, 2 * w], 2 * w, &mut rng, device)?,
                linear_var(&[w], 2 * w, &mut rng, device)?,
            ),
            output: (
                linear_var(&[target_vocab, w], w, &mut rng, device)?,
                linear_var(&[target_vocab], w, &mut rng, device)?,
            ),
            shortcut,
            device: device.clone(),
        })
    }

    pub fn target_vocab(&self) -> usize {
        self.output.1.dims()[0]
    }

    pub fn source_vocab(&self) -> usize {
        self.encoder.embedding.dims()[0]
    }

    /// Every parameter with its `state_dict` name, in a fixed order.
    pub fn named_vars(&self) -> Vec<(String, Var)> {
        let mut v: Vec<(String, Var)> = self
            .encoder
            .named_vars()
            .into_iter()
            .map(|(n, t)| (format!("encoder.{n}"), t))
            .collect();
        v.push(("decoder.embedding.weight".into(), self.target_embedding.clone()));
        v.extend(
            self.decoder
                .named_vars()
                .into_iter()
                .map(|(n, t)| (format!("decoder.rnn.{n}"), t)),
        );
        v.push(("attention.weight".into(), self.attention.clone()));
        v.push(("combine.weight".into(), self.combine.0.clone()));
        v.push(("combine.bias".into(), self.combine.1.clone()));
        v.push(("generator.weight".into(), self.output.0.clone()));
        v.push(("generator.bias".into(), self.output.1.clone()));
        if let Some((w, b)) = &self.shortcut {
            v.push(("shortcut.weight".into(), w.clone()));
            v.push(("shortcut.bias".into(), b.clone()));
        }
        v
    }

    /// Reads a batch of sources.
    pub fn encode(&self, src: &PaddedBatch, grad: bool, train: Option<&mut Rng>) -> Result<SourceMemory, Error> {
        let bad = src.ids.iter().any(|&i| i as usize >= self.source_vocab());
        if bad || src.ids.len() != src.lengths.len() * src.max_len {
            return Err(Error::Data("a source batch holds ids outside its vocabulary".into()));
        }
        let rows = self.encoder.lookups(src, DocFeatures::default(), grad)?;
        let enc = self.encoder.encode(&rows, src, grad, train)?;
        let (b, s) = (src.lengths.len(), src.max_len);
        let a = rnnlab_kernels::tracked(&self.attention, grad);
        let keys = enc
            .out
            .broadcast_matmul(&a.t().map_err(ce)?)
            .and_then(|k| k.transpose(1, 2))
            .and_then(|k| k.contiguous())
            .map_err(ce)?;
        let mut mask = vec![0f32; b * s];
        for (r, &len) in src.lengths.iter().enumerate() {
            mask[r * s + len.min(s)..(r + 1) * s].fill(-1e9);
        }
        Ok(SourceMemory {
            states: enc.out,
            keys,
            summary: enc.last,
            mask: Tensor::from_vec(mask, (b, 1, s), &self.device).map_err(ce)?,
        })
    }

    /// Runs the decoder over `inputs` (`[batch, steps]` row-major) from `state` (zero when
    /// `None`), attending to `memory`. `train` brings dropout.
    pub fn decode(
        &self,
        memory: &SourceMemory,
        inputs: &[u32],
        grad: bool,
        mut train: Option<&mut Rng>,
        state: Option<&CarriedState>,
    ) -> Result<Decoded, Error> {
        let (b, _, w) = memory.states.dims3().map_err(ce)?;
        let steps = inputs.len() / b.max(1);
        if b == 0 || steps == 0 || inputs.len() != b * steps {
            return Err(Error::Data(format!(
                "{} decoder inputs do not split into {b} rows",
                inputs.len()
            )));
        }
        if inputs.iter().any(|&i| i as usize >= self.target_vocab()) {
            return Err(Error::Data("a decoder input is outside the target vocabulary".into()));
        }
        let r = &self.config.rnn.regularisation;
        let emb = self.config.rnn.architecture.emb;
        let t = |v: &Var| rnnlab_kernels::tracked(v, grad);
        let idx = Tensor::from_slice(inputs, inputs.len(), &self.device).map_err(ce)?;
        let mut x = t(&self.target_embedding)
            .index_select(&idx, 0)
            .and_then(|e| e.reshape((b, steps, emb)))
            .map_err(ce)?;
        if let Some(rng) = train.as_deref_mut() {
            if r.dropout > 0.0 {
                x = (x * mask_tensor(rng, &[b, steps, emb], r.dropout, &self.device)?).map_err(ce)?;
            }
        }
        let summary = memory
            .summary
            .unsqueeze(1)
            .and_then(|s| s.broadcast_as((b, steps, w)))
            .map_err(ce)?;
        let x = Tensor::cat(&[&x, &summary], D::Minus1).map_err(ce)?;
        let dropout = train.as_deref_mut().map(|rng| Dropout {
            between_layers: 0.0,
            recurrent: r.recurrent_dropout,
            rng,
        });
        let (h, state) = self.decoder.forward_carried(&x, grad, dropout, state)?;
        let scores = h
            .matmul(&memory.keys)
            .and_then(|s| s.broadcast_add(&memory.mask))
            .map_err(ce)?;
        let attention = candle_nn::ops::softmax(&scores, D::Minus1).map_err(ce)?;
        let context = attention.matmul(&memory.states).map_err(ce)?;
        let mut hidden = Tensor::cat(&[&h, &context], D::Minus1)
            .and_then(|hc| hc.reshape((b * steps, 2 * w)))
            .and_then(|hc| hc.matmul(&t(&self.combine.0).t()?))
            .and_then(|z| z.broadcast_add(&t(&self.combine.1)))
            .and_then(|z| z.tanh())
            .map_err(ce)?;
        if let Some(rng) = train {
            if r.head_dropout > 0.0 {
                hidden = (hidden * mask_tensor(rng, &[b * steps, w], r.head_dropout, &self.device)?).map_err(ce)?;
            }
        }
        let logits = hidden
            .matmul(&t(&self.output.0).t().map_err(ce)?)
            .and_then(|l| l.broadcast_add(&t(&self.output.1)))
            .map_err(ce)?;
        Ok(Decoded {
            logits,
            attention,
            state,
        })
    }

    /// The mean cross-entropy (nats per target unit, the end unit included) of `targets`
    /// given `src`, with the gold previous unit fed at every step (teacher forcing); with
    /// shortcuts, plus the mean cross-entropy of the gold `shortcuts` (one per source; none
    /// for a model without them).
    pub fn loss(
        &self,
        src: &PaddedBatch,
        targets: &[&[u32]],
        shortcuts: &[u32],
        grad: bool,
        mut train: Option<&mut Rng>,
    ) -> Result<Tensor, Error> {
        if targets.len() != src.lengths.len() {
            return Err(Error::Data(format!(
                "{} targets for {} sources",
                targets.len(),
                src.lengths.len()
            )));
        }
        let classes = self.config.shortcuts + 1;
        let want = if self.shortcut.is_some() { targets.len() } else { 0 };
        if shortcuts.len() != want || shortcuts.iter().any(|&c| c as usize >= classes) {
            return Err(Error::Data(format!(
                "{} shortcut labels below {classes} expected, got {:?}",
                want,
                &shortcuts[..shortcuts.len().min(8)]
            )));
        }
        let memory = self.encode(src, grad, train.as_deref_mut())?;
        let shortcut_loss = match self.shortcut_logits(&memory, grad, train.as_deref_mut())? {
            Some(logits) => {
                let gold = Tensor::from_slice(shortcuts, (shortcuts.len(), 1), &self.device).map_err(ce)?;
                let nll = candle_nn::ops::log_softmax(&logits, D::Minus1)
                    .and_then(|l| l.gather(&gold, 1))
                    .and_then(|l| l.mean_all())
                    .and_then(|l| l.neg())
                    .map_err(ce)?;
                Some(nll)
            }
            None => None,
        };
        let steps = targets.iter().map(|t| t.len()).max().unwrap_or(0) + 1;
        let b = targets.len();
        let (mut inputs, mut gold, mut mask) = (vec![PAD; b * steps], vec![PAD; b * steps], vec![0f32; b * steps]);
        for (r, t) in targets.iter().enumerate() {
            inputs[r * steps] = BOS;
            inputs[r * steps + 1..r * steps + 1 + t.len()].copy_from_slice(t);
            gold[r * steps..r * steps + t.len()].copy_from_slice(t);
            gold[r * steps + t.len()] = EOS;
            mask[r * steps..r * steps + t.len() + 1].fill(1.0);
        }
        let decoded = self.decode(&memory, &inputs, grad, train, None)?;
        let n: f32 = mask.iter().sum();
        let gold = Tensor::from_vec(gold, (b * steps, 1), &self.device).map_err(ce)?;
        let mask = Tensor::from_vec(mask, b * steps, &self.device).map_err(ce)?;
        (|| {
            let nll = candle_nn::ops::log_softmax(&decoded.logits, D::Minus1)?
                .gather(&gold, 1)?
                .flatten_all()?
                .neg()?;
            let units = ((nll * mask)?.sum_all()? / n as f64)?;
            match shortcut_loss {
                Some(s) => units + s,
                None => Ok(units),
            }
        })()
        .map_err(ce)
    }

    /// `[batch, shortcuts + 1]` scores of decoding and each shortcut, from the encoder's final
    /// state; `None` without shortcuts.
    fn shortcut_logits(
        &self,
        memory: &SourceMemory,
        grad: bool,
        train: Option<&mut Rng>,
    ) -> Result<Option<Tensor>, Error> {
        let Some((w, b)) = &self.shortcut else {
            return Ok(None);
        };
        let mut x = memory.summary.clone();
        if let Some(rng) = train {
            let p = self.config.rnn.regularisation.head_dropout;
            if p > 0.0 {
                let mask = mask_tensor(rng, x.dims(), p, &self.device)?;
                x = (x * mask).map_err(ce)?;
            }
        }
        let t = |v: &Var| rnnlab_kernels::tracked(v, grad);
        x.matmul(&t(w).t().map_err(ce)?)
            .and_then(|l| l.broadcast_add(&t(b)))
            .map(Some)
            .map_err(ce)
    }

    /// The class each source takes: 0 to decode it, `k` for the caller's `k`-th shortcut
    /// (always 0 for a model without shortcuts).
    pub fn choose_shortcuts(&self, src: &PaddedBatch) -> Result<Vec<u32>, Error> {
        if self.shortcut.is_none() {
            return Ok(vec![0; src.lengths.len()]);
        }
        let memory = self.encode(src, false, None)?;
        match self.shortcut_logits(&memory, false, None)? {
            Some(l) => l.argmax(D::Minus1).and_then(|a| a.to_vec1::<u32>()).map_err(ce),
            None => Ok(vec![0; src.lengths.len()]),
        }
    }

    /// A copy whose recurrent layers join their weights once (decoding steps call them often).
    fn for_inference(&self) -> Result<Seq2Seq, Error> {
        let mut m = self.clone();
        m.encoder.rnn = self.encoder.rnn.for_inference()?;
        m.decoder = self.decoder.for_inference()?;
        Ok(m)
    }

    /// The most likely unit at each step, for every source of the batch (without the end unit).
    pub fn greedy(&self, src: &PaddedBatch) -> Result<Vec<Vec<u32>>, Error> {
        self.for_inference()?.greedy_steps(src)
    }

    fn greedy_steps(&self, src: &PaddedBatch) -> Result<Vec<Vec<u32>>, Error> {
        let memory = self.encode(src, false, None)?;
        let b = src.lengths.len();
        let mut out = vec![Vec::new(); b];
        let mut done = vec![false; b];
        let mut inputs = vec![BOS; b];
        let mut state: Option<CarriedState> = None;
        let limits: Vec<usize> = src.lengths.iter().map(|&l| self.config.output_limit(l)).collect();
        for _ in 0..=self.config.max_output {
            let d = self.decode(&memory, &inputs, false, None, state.as_ref())?;
            let next = d
                .logits
                .argmax(D::Minus1)
                .and_then(|a| a.to_vec1::<u32>())
                .map_err(ce)?;
            for r in 0..b {
                if done[r] {
                    continue;
                }
                if next[r] == EOS || out[r].len() == limits[r] {
                    done[r] = true;
                } else {
                    out[r].push(next[r]);
                }
            }
            if done.iter().all(|&d| d) {
                break;
            }
            inputs = next;
            state = Some(d.state);
        }
        Ok(out)
    }

    /// Beam search with `beam` hypotheses for each source of the batch: the output of highest
    /// total log-probability (no length penalty), ended by the end unit or by the length limit.
    /// `beam = 1` is [`Self::greedy`].
    pub fn beam_search(&self, src: &PaddedBatch, beam: usize) -> Result<Vec<Vec<u32>>, Error> {
        if beam == 0 {
            return Err(Error::Param("--beam must be 1 or more".into()));
        }
        let this = self.for_inference()?;
        let memory = this.encode(src, false, None)?;
        (0..src.lengths.len())
            .map(|r| {
                let one = memory.rows(&[r as u32])?;
                this.beam_one(&one, beam, self.config.output_limit(src.lengths[r]))
            })
            .collect()
    }

    fn beam_one(&self, memory: &SourceMemory, beam: usize, limit: usize) -> Result<Vec<u32>, Error> {
        let limits = BeamLimits {
            beam,
            limit,
            end: Some(EOS),
            hidden: self.decoder.hidden,
        };
        beam_search(BOS, None, &limits, &mut |inputs, state| {
            let rows = memory.rows(&vec![0; inputs.len()])?;
            let d = self.decode(&rows, inputs, false, None, state)?;
            let logp = candle_nn::ops::log_softmax(&d.logits, D::Minus1)
                .and_then(|l| l.flatten_all())
                .and_then(|l| l.to_vec1::<f32>())
                .map_err(ce)?;
            Ok((logp, d.state))
        })
    }

    /// The weights as `(name, shape, values)`, for safetensors.
    pub fn state(&self) -> Result<Vec<rnnlab_baselines::tensors::NamedTensor>, Error> {
        self.named_vars()
            .into_iter()
            .map(|(n, v)| {
                let data = v
                    .as_tensor()
                    .flatten_all()
                    .and_then(|t| t.to_vec1::<f32>())
                    .map_err(ce)?;
                Ok((n, v.dims().to_vec(), data))
            })
            .collect()
    }

    /// Loads weights by name; every tensor must exist with the configured shape.
    pub fn load_state(
        &self,
        tensors: &std::collections::HashMap<String, rnnlab_baselines::tensors::Tensor>,
        file: &std::path::Path,
    ) -> Result<(), Error> {
        for (name, var) in self.named_vars() {
            let (shape, data) = tensors.get(&name).ok_or_else(|| {
                Error::Format(format!(
                    "{}: no tensor {name:?} for this model's configuration",
                    file.display()
                ))
            })?;
            if shape.as_slice() != var.dims() || data.len() != var.elem_count() {
                return Err(Error::Format(format!(
                    "{}: tensor {name:?} has shape {shape:?}, the configuration says {:?}",
                    file.display(),
                    var.dims()
                )));
            }
            let t = Tensor::from_vec(data.clone(), shape.as_slice(), &self.device).map_err(ce)?;
            var.set(&t).map_err(ce)?;
        }
        Ok(())
    }

    fn snapshot(&self) -> Result<Vec<Tensor>, Error> {
        self.named_vars()
            .iter()
            .map(|(_, v)| v.as_tensor().copy().map_err(ce))
            .collect()
    }

    fn restore(&self, snapshot: &[Tensor]) -> Result<(), Error> {
        for ((_, v), t) in self.named_vars().iter().zip(snapshot) {
            v.set(t).map_err(ce)?;
        }
        Ok(())
    }
}

/// A padded batch of sources (ids; an empty source is one `<pad>` step).
pub fn source_batch(sources: &[&[u32]]) -> PaddedBatch {
    let max_len = sources.iter().map(|s| s.len()).max().unwrap_or(0).max(1);
    let mut ids = vec![PAD; sources.len() * max_len];
    for (r, s) in sources.iter().enumerate() {
        ids[r * max_len..r * max_len + s.len()].copy_from_slice(s);
    }
    PaddedBatch {
        ids,
        lengths: sources.iter().map(|s| s.len().max(1)).collect(),
        max_len,
        rows: (0..sources.len()).collect(),
    }
}

/// A source and its target, as ids, with the shortcut class that gives the target (0: none,
/// decode it; the first class that applies, for a model with shortcuts).
#[derive(Debug, Clone, PartialEq)]
pub struct Pair {
    pub source: Vec<u32>,
    pub target: Vec<u32>,
    pub shortcut: u32,
}

impl Pair {
    /// A pair without a shortcut.
    pub fn new(source: Vec<u32>, target: Vec<u32>) -> Self {
        Pair {
            source,
            target,
            shortcut: 0,
        }
    }
}

/// Sources, targets and shortcut labels (empty for a model without shortcuts) of `pairs`.
fn columns<'a>(model: &Seq2Seq, pairs: impl Iterator<Item = &'a Pair>) -> (PaddedBatch, Vec<&'a [u32]>, Vec<u32>) {
    let (mut srcs, mut tgts, mut labels) = (Vec::new(), Vec::new(), Vec::new());
    for p in pairs {
        srcs.push(p.source.as_slice());
        tgts.push(p.target.as_slice());
        labels.push(p.shortcut);
    }
    if model.shortcut.is_none() {
        labels.clear();
    }
    (source_batch(&srcs), tgts, labels)
}

/// What [`fit_seq2seq`] returns.
pub struct Seq2SeqFit {
    pub model: Seq2Seq,
    /// Per epoch: `val_metric` is validation's exact-match accuracy (greedy decoding).
    pub curve: Vec<EpochStats>,
    pub best_epoch: usize,
    pub train_s: f64,
    /// Training pairs per second of the training steps.
    pub train_pairs_per_s: f64,
    pub stopped: Option<String>,
}

/// Exact-match accuracy of greedy decoding and the mean teacher-forced loss over `pairs`. With
/// shortcuts, a pair is right when its class is chosen and, for class 0, decoded right.
pub fn evaluate(model: &Seq2Seq, pairs: &[Pair]) -> Result<(f64, f64), Error> {
    let (mut right, mut loss) = (0usize, 0.0f64);
    for chunk in pairs.chunks(256) {
        let (batch, tgts, labels) = columns(model, chunk.iter());
        let chosen = model.choose_shortcuts(&batch)?;
        right += chunk
            .iter()
            .zip(&chosen)
            .filter(|(p, &c)| c != 0 && c == p.shortcut)
            .count();
        // Only the pairs sent to decoding are decoded.
        let to_decode: Vec<&Pair> = chunk
            .iter()
            .zip(&chosen)
            .filter(|(_, &c)| c == 0)
            .map(|(p, _)| p)
            .collect();
        if !to_decode.is_empty() {
            let srcs: Vec<&[u32]> = to_decode.iter().map(|p| p.source.as_slice()).collect();
            let out = model.greedy(&source_batch(&srcs))?;
            right += to_decode
                .iter()
                .zip(&out)
                .filter(|(p, o)| p.shortcut == 0 && o.as_slice() == p.target)
                .count();
        }
        let l = model
            .loss(&batch, &tgts, &labels, false, None)?
            .to_scalar::<f32>()
            .map_err(ce)?;
        loss += l as f64 * chunk.len() as f64;
    }
    let n = pairs.len().max(1) as f64;
    Ok((right as f64 / n, loss / n))
}

/// Trains on `train`, choosing the epoch by exact match on `val` (greedy); stops after
/// `patience` epochs without a better one.
pub fn fit_seq2seq(
    config: &Seq2SeqConfig,
    source_vocab: usize,
    target_vocab: usize,
    train: &[Pair],
    val: &[Pair],
    device: &Device,
    observer: &mut dyn TrainObserver,
) -> Result<Seq2SeqFit, Error> {
    config.validate()?;
    if train.is_empty() || val.is_empty() {
        return Err(Error::Data(format!(
            "{} training and {} validation pairs: an encoder-decoder needs both",
            train.len(),
            val.len()
        )));
    }
    let started = Instant::now();
    let model = Seq2Seq::new(config, source_vocab, target_vocab, device)?;
    let o = &config.rnn.optimisation;
    let vars: Vec<Var> = model.named_vars().into_iter().map(|(_, v)| v).collect();
    let weight_decay = if o.optimizer == OptimizerKind::Adamw {
        o.weight_decay
    } else {
        0.0
    };
    let mut opt = AdamWOptimizer::new(
        vars,
        ParamsAdamW {
            lr: o.lr,
            weight_decay,
            ..ParamsAdamW::default()
        },
    )?;
    let mut rng = Rng::new(o.seed ^ 0x0053_3253);
    let bs = o.batch_size.max(1);
    let (mut best, mut curve, mut stopped) = ((-1.0f64, 0usize, model.snapshot()?), Vec::new(), None);
    let (mut pairs_done, mut step_s) = (0usize, 0.0f64);
    'epochs: for epoch in 1..=o.epochs {
        let t0 = Instant::now();
        // Shuffled, then sorted by source length within runs of 50 batches, so a batch pads little.
        let mut order: Vec<usize> = (0..train.len()).collect();
        rng.shuffle(&mut order);
        for run in order.chunks_mut(bs * 50) {
            run.sort_by_key(|&i| train[i].source.len());
        }
        let mut batches: Vec<&[usize]> = order.chunks(bs).collect();
        rng.shuffle(&mut batches);
        observer.epoch_start(epoch, batches.len());
        let (mut loss_sum, mut loss_n) = (0.0f64, 0usize);
        for rows in batches {
            let ts = Instant::now();
            let (batch, tgts, labels) = columns(&model, rows.iter().map(|&i| &train[i]));
            let loss = model.loss(&batch, &tgts, &labels, true, Some(&mut rng))?;
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
            opt.step(&mut grads, o.lr, o.clip)?;
            step_s += ts.elapsed().as_secs_f64();
            pairs_done += rows.len();
            loss_sum += lv * rows.len() as f64;
            loss_n += rows.len();
            observer.batch_end(lv);
            if observer.interrupted() {
                stopped = Some(format!(
                    "interrupted in epoch {epoch}; kept the weights of epoch {}",
                    best.1
                ));
                break 'epochs;
            }
        }
        let (accuracy, val_loss) = evaluate(&model, val)?;
        let stats = EpochStats {
            epoch,
            train_loss: loss_sum / loss_n.max(1) as f64,
            val_loss,
            val_metric: accuracy,
            lr: o.lr,
            seconds: t0.elapsed().as_secs_f64(),
        };
        observer.epoch_end(&stats);
        curve.push(stats);
        if accuracy > best.0 {
            best = (accuracy, epoch, model.snapshot()?);
        } else if o.patience.is_some_and(|p| epoch - best.1 >= p) {
            break;
        }
    }
    model.restore(&best.2)?;
    Ok(Seq2SeqFit {
        model,
        curve,
        best_epoch: best.1,
        train_s: started.elapsed().as_secs_f64(),
        train_pairs_per_s: pairs_done as f64 / step_s.max(1e-9),
        stopped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::Silent;

    fn tiny(cell: CellKind) -> Seq2SeqConfig {
        let mut c = seq2seq_recipe(cell);
        c.rnn.architecture.emb = 16;
        c.rnn.architecture.hidden = 24;
        c.rnn.optimisation.batch_size = 32;
        c.rnn.optimisation.lr = 1e-2;
        c.rnn.regularisation.dropout = 0.0;
        c.rnn.regularisation.head_dropout = 0.0;
        c.max_output = 12;
        c
    }

    /// Sequences over units 4..4+k, of lengths 1..=max, and their reversals.
    fn reversals(n: usize, k: u32, max: usize, rng: &mut Rng) -> Vec<Pair> {
        (0..n)
            .map(|_| {
                let len = 1 + rng.below(max);
                let s: Vec<u32> = (0..len).map(|_| 4 + rng.below(k as usize) as u32).collect();
                let mut t = s.clone();
                t.reverse();
                Pair::new(s, t)
            })
            .collect()
    }

    #[test]
    fn attention_sums_to_one_over_the_real_steps_of_each_source() {
        let m = Seq2Seq::new(&tiny(CellKind::Lstm), 9, 9, &Device::Cpu).unwrap();
        let batch = source_batch(&[&[4, 5, 6, 7], &[8], &[5, 5]]);
        let memory = m.encode(&batch, false, None).unwrap();
        let d = m.decode(&memory, &[BOS, 4, BOS, 6, BOS, 7], false, None, None).unwrap();
        let att = d.attention.to_vec3::<f32>().unwrap();
        for (r, &len) in batch.lengths.iter().enumerate() {
            for step in &att[r] {
                let real: f32 = step[..len].iter().sum();
                assert!((real - 1.0).abs() < 1e-5, "row {r}: {step:?}");
                assert!(step[len..].iter().all(|&p| p == 0.0), "padding attended: {step:?}");
            }
        }
        assert_eq!(d.logits.dims(), [6, 9]);
    }

    /// The loss with the whole target in one call equals the loss decoded a step at a time with
    /// the state carried (each cell).
    #[test]
    fn the_teacher_forced_loss_equals_the_step_by_step_loss() {
        for cell in [CellKind::Rnn, CellKind::Lstm, CellKind::Gru] {
            let m = Seq2Seq::new(&tiny(cell), 10, 10, &Device::Cpu).unwrap();
            let src: &[u32] = &[4, 9, 6];
            let tgt: &[u32] = &[7, 8, 5, 4];
            let batch = source_batch(&[src]);
            let whole = m
                .loss(&batch, &[tgt], &[], false, None)
                .unwrap()
                .to_scalar::<f32>()
                .unwrap();
            let memory = m.encode(&batch, false, None).unwrap();
            let (mut state, mut nll) = (None, 0.0f32);
            let inputs: Vec<u32> = std::iter::once(BOS).chain(tgt.iter().copied()).collect();
            let gold: Vec<u32> = tgt.iter().copied().chain(std::iter::once(EOS)).collect();
            for (&x, &y) in inputs.iter().zip(&gold) {
                let d = m.decode(&memory, &[x], false, None, state.as_ref()).unwrap();
                let lp = candle_nn::ops::log_softmax(&d.logits, D::Minus1)
                    .unwrap()
                    .flatten_all()
                    .unwrap()
                    .to_vec1::<f32>()
                    .unwrap();
                nll -= lp[y as usize];
                state = Some(d.state);
            }
            let stepwise = nll / gold.len() as f32;
            assert!((whole - stepwise).abs() < 1e-5, "{cell:?}: {whole} vs {stepwise}");
        }
    }

    /// A synthetic transduction with a known answer, learnt to at least 99 % exact match on
    /// held-out sequences; beam 1 is greedy and a wider beam is no worse.
    #[test]
    fn reversal_is_learnt_and_beam_one_is_greedy() {
        let mut rng = Rng::new(3);
        let train = reversals(3000, 6, 6, &mut rng);
        let held = reversals(300, 6, 6, &mut rng);
        let mut config = tiny(CellKind::Gru);
        config.rnn.optimisation.epochs = 15;
        config.rnn.optimisation.lr = 5e-3;
        config.rnn.optimisation.patience = None;
        let fit = fit_seq2seq(&config, 10, 10, &train, &held[..100], &Device::Cpu, &mut Silent).unwrap();
        let (accuracy, _) = evaluate(&fit.model, &held[100..]).unwrap();
        assert!(
            accuracy >= 0.99,
            "held-out exact match {accuracy}; curve {:?}",
            fit.curve.iter().map(|e| e.val_metric).collect::<Vec<_>>()
        );
        let srcs: Vec<&[u32]> = held[100..160].iter().map(|p| p.source.as_slice()).collect();
        let batch = source_batch(&srcs);
        assert_eq!(
            fit.model.beam_search(&batch, 1).unwrap(),
            fit.model.greedy(&batch).unwrap()
        );
        let tgts: Vec<&[u32]> = held[100..160].iter().map(|p| p.target.as_slice()).collect();
        let beam = fit.model.beam_search(&batch, 4).unwrap();
        let right = beam.iter().zip(&tgts).filter(|(o, t)| o.as_slice() == **t).count();
        assert!(right >= 59, "beam 4 got {right} of 60");
        assert!(fit.model.beam_search(&batch, 0).is_err());
    }

    /// Shortcuts: sources that start with unit 4 take class 1, the rest are reversed by the
    /// decoder; the classifier learns the rule, its weights round-trip, wrong labels are refused.
    #[test]
    fn shortcuts_are_learnt_and_round_trip() {
        let mut rng = Rng::new(5);
        let label = |mut p: Pair| {
            if p.source[0] == 4 {
                p.shortcut = 1;
                p.target = p.source.clone();
            }
            p
        };
        let train: Vec<Pair> = reversals(1500, 6, 5, &mut rng).into_iter().map(label).collect();
        let held: Vec<Pair> = reversals(200, 6, 5, &mut rng).into_iter().map(label).collect();
        let mut config = tiny(CellKind::Gru);
        config.shortcuts = 1;
        config.rnn.optimisation.epochs = 6;
        config.rnn.optimisation.lr = 5e-3;
        let fit = fit_seq2seq(&config, 10, 10, &train, &held[..50], &Device::Cpu, &mut Silent).unwrap();
        let srcs: Vec<&[u32]> = held[50..].iter().map(|p| p.source.as_slice()).collect();
        let batch = source_batch(&srcs);
        let chosen = fit.model.choose_shortcuts(&batch).unwrap();
        let right = chosen.iter().zip(&held[50..]).filter(|(&c, p)| c == p.shortcut).count();
        assert!(right >= 147, "{right} of 150 classes right");
        assert!(held[50..].iter().any(|p| p.shortcut == 1) && held[50..].iter().any(|p| p.shortcut == 0));
        // Round trip: another seed's model answers the same once loaded.
        let saved: std::collections::HashMap<_, _> = fit
            .model
            .state()
            .unwrap()
            .into_iter()
            .map(|(n, s, d)| (n, (s, d)))
            .collect();
        assert!(saved.contains_key("shortcut.weight"));
        config.rnn.optimisation.seed = 7;
        let other = Seq2Seq::new(&config, 10, 10, &Device::Cpu).unwrap();
        other.load_state(&saved, std::path::Path::new("m.safetensors")).unwrap();
        assert_eq!(other.choose_shortcuts(&batch).unwrap(), chosen);
        // Labels must come, one per source, below the class count.
        let one = source_batch(&[&[4, 5]]);
        let tgt: &[u32] = &[4, 5];
        assert!(other.loss(&one, &[tgt], &[], false, None).is_err());
        assert!(other.loss(&one, &[tgt], &[2], false, None).is_err());
        assert!(other.loss(&one, &[tgt], &[1], false, None).is_ok());
        // A model without shortcuts always decodes and takes no labels.
        let plain = Seq2Seq::new(&tiny(CellKind::Gru), 10, 10, &Device::Cpu).unwrap();
        assert_eq!(plain.choose_shortcuts(&batch).unwrap(), vec![0; 150]);
        assert!(plain.loss(&one, &[tgt], &[1], false, None).is_err());
    }

    #[test]
    fn weights_round_trip_by_name_and_bad_input_is_refused() {
        let m = Seq2Seq::new(&tiny(CellKind::Lstm), 9, 11, &Device::Cpu).unwrap();
        let saved: std::collections::HashMap<_, _> =
            m.state().unwrap().into_iter().map(|(n, s, d)| (n, (s, d))).collect();
        let mut other_config = tiny(CellKind::Lstm);
        other_config.rnn.optimisation.seed = 99;
        let other = Seq2Seq::new(&other_config, 9, 11, &Device::Cpu).unwrap();
        let batch = source_batch(&[&[4, 5, 6]]);
        let tgt: &[u32] = &[7, 8];
        let loss = |m: &Seq2Seq| {
            m.loss(&batch, &[tgt], &[], false, None)
                .unwrap()
                .to_scalar::<f32>()
                .unwrap()
        };
        assert_ne!(loss(&other), loss(&m));
        other.load_state(&saved, std::path::Path::new("m.safetensors")).unwrap();
        assert_eq!(loss(&other), loss(&m));
        assert_eq!(other.greedy(&batch).unwrap(), m.greedy(&batch).unwrap());
        let names: Vec<String> = m.named_vars().into_iter().map(|(n, _)| n).collect();
        assert!(names.contains(&"encoder.rnn.weight_ih_l0_reverse".to_string()));
        assert!(names.contains(&"attention.weight".to_string()));
        // A tensor of the wrong shape is named.
        let mut bad = saved.clone();
        bad.insert("attention.weight".into(), (vec![2, 2], vec![0.0; 4]));
        let e = other
            .load_state(&bad, std::path::Path::new("m.safetensors"))
            .unwrap_err();
        assert!(e.to_string().contains("attention.weight"), "{e}");
        assert!(m.greedy(&source_batch(&[&[40]])).is_err());
        assert!(m
            .decode(&m.encode(&batch, false, None).unwrap(), &[50], false, None, None)
            .is_err());
        assert!(Seq2Seq::new(&tiny(CellKind::Lstm), 9, 3, &Device::Cpu).is_err());
    }
}
