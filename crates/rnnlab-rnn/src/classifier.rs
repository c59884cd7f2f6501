//! The sequence classifier (embedding → recurrent stack → pooling → dropout → linear head) and
//! its trained form, [`RnnModel`], saved as a model directory.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{Device, Tensor, Var, D};
use rnnlab_vectorize::{PaddedBatch, SequenceEncoder};
use serde::{Deserialize, Serialize};

use super::ce;
use super::config::{BagCombiner, Pooling, RnnConfig};
use super::input::{DocFeatures, Encoded, SequenceInput};
use crate::Error;
use rnnlab_baselines::labels::LabelSet;
use rnnlab_kernels::Rng;
use rnnlab_kernels::{mask_tensor, step_mask, Dropout, RecurrentStack};

/// The rows a batch looks up in the classifier's tables.
pub struct Lookups {
    /// `[batch, time, emb]`
    pub x: Tensor,
    /// `[batch, bag_dim]`: the mean of each row's bag-of-n-gram vectors.
    pub bag: Option<Tensor>,
    /// `[batch, n_out]`: the sum of each row's wide weights (`bag_wide`).
    pub wide: Option<Tensor>,
    /// The buckets those vectors are, and how many belong to each row.
    pub bag_ids: Vec<u32>,
    pub bag_counts: Vec<usize>,
    /// `[batch, time, char_dim]`: the mean of each token's character n-gram vectors
    /// (`char_buckets`; zero at padded steps and at tokens without n-grams).
    pub chars: Option<Tensor>,
    /// The buckets those vectors are, and how many belong to each step (`batch * time`).
    pub char_ids: Vec<u32>,
    pub char_counts: Vec<usize>,
}

/// The table's rows `ids`, `counts[r]` of them for row `r`, each times its `scale` (1 without),
/// combined per row (mean, ...), read in place (CPU): `[rows, dim]` with no graph.
fn bag_means(
    table: &Var,
    ids: &[u32],
    counts: &[usize],
    combiner: BagCombiner,
    scale: Option<&[f32]>,
) -> Result<Tensor, Error> {
    let dim = table.dims().last().copied().unwrap_or(1);
    let (storage, layout) = table.as_tensor().storage_and_layout();
    let data = match (&*storage, layout.contiguous_offsets()) {
        (candle_core::Storage::Cpu(candle_core::CpuStorage::F32(v)), Some((a, b))) => &v[a..b],
        _ => return Err(Error::Training("bag table: expected contiguous f32 on the CPU".into())),
    };
    let mut out = vec![0f32; counts.len() * dim];
    let mut at = 0;
    for (r, &k) in counts.iter().enumerate() {
        let dst = &mut out[r * dim..(r + 1) * dim];
        for &id in &ids[at..at + k] {
            let row = &data[id as usize * dim..(id as usize + 1) * dim];
            let w = scale.map_or(1.0, |s| s[id as usize]);
            dst.iter_mut().zip(row).for_each(|(a, &v)| *a += w * v);
        }
        let scale = combiner.scale(k);
        dst.iter_mut().for_each(|a| *a *= scale);
        at += k;
    }
    drop(storage);
    Tensor::from_vec(out, (counts.len(), dim), table.device()).map_err(ce)
}

/// The safetensors name of the bag's fixed NB weights.
const BAG_NB_RATIO: &str = "bag.nb_ratio";

/// Embedding, recurrent stack and head, with PyTorch's parameter names.
#[derive(Debug, Clone)]
pub struct SequenceClassifier {
    pub config: RnnConfig,
    /// Outputs of the head: 1 for a binary task (one logit), else the number of classes.
    pub n_out: usize,
    pub embedding: Var,
    /// `[bag_buckets, bag_dim]`: vectors of hashed id uni- and bigrams (`bag_buckets > 0`).
    pub bag: Option<Var>,
    /// `[bag_buckets, n_out]`: the wide part's weights (`bag_wide`), zero at first.
    pub wide: Option<Var>,
    /// `[char_buckets, char_dim]`: vectors of hashed character n-grams of the tokens
    /// (`char_buckets > 0`), whose per-token mean joins the word vector.
    pub chars: Option<Var>,
    /// `[bag_buckets]`: each bucket's fixed weight in the bag (`bag_nb`: NB-LR's log-count
    /// ratio on the training rows, see `rnnlab_baselines::linear::nb_ratios`); not trained, saved as `bag.nb_ratio`.
    pub bag_scale: Option<Vec<f32>>,
    pub rnn: RecurrentStack,
    /// `--pooling attention`: `(W [w, w], b [w], c [w])` over the stack's outputs of width `w`.
    pub attention: Option<(Var, Var, Var)>,
    pub fc_weight: Var,
    pub fc_bias: Var,
    pub device: Device,
}

impl SequenceClassifier {
    /// Fresh weights with PyTorch's initialisation (embedding N(0, 1) with the `<pad>` row zero;
    /// recurrent and linear weights uniform).
    pub fn new(config: &RnnConfig, vocab_size: usize, n_out: usize, device: &Device) -> Result<Self, Error> {
        config.validate()?;
        let mut rng = Rng::new(config.seed);
        let mut emb: Vec<f32> = (0..vocab_size * config.emb).map(|_| rng.normal()).collect();
        let pad_row = config.emb.min(emb.len());
        emb[..pad_row].fill(0.0);
        let embedding =
            Var::from_tensor(&Tensor::from_vec(emb, (vocab_size, config.emb), device).map_err(ce)?).map_err(ce)?;
        let rnn = RecurrentStack::new(
            config.cell,
            config.input_width(),
            config.hidden,
            config.layers,
            config.bidirectional,
            &mut rng,
            device,
        )?;
        // fastText's initialisation of input vectors: uniform in ±1/dim.
        let mut ngram_table = |rows: usize, dim: usize| -> Result<Option<Var>, Error> {
            if rows == 0 {
                return Ok(None);
            }
            let v: Vec<f32> = (0..rows * dim).map(|_| rng.symmetric(1.0 / dim as f32)).collect();
            let t = Tensor::from_vec(v, (rows, dim), device).map_err(ce)?;
            Ok(Some(Var::from_tensor(&t).map_err(ce)?))
        };
        let bag = ngram_table(config.bag_buckets, config.bag_dim)?;
        let chars = ngram_table(config.char_buckets, config.char_dim)?;
        let wide = if config.bag_buckets > 0 && config.bag_wide {
            let t = Tensor::zeros((config.bag_buckets, n_out), candle_core::DType::F32, device).map_err(ce)?;
            Some(Var::from_tensor(&t).map_err(ce)?)
        } else {
            None
        };
        let attention = if config.pooling == Pooling::Attention {
            // PyTorch's nn.Linear initialisation, uniform in ±1/√width, for all three.
            let w = config.hidden * config.directions();
            let k = 1.0 / (w as f32).sqrt();
            let mut var = |shape: &[usize]| -> Result<Var, Error> {
                let v: Vec<f32> = (0..shape.iter().product()).map(|_| rng.symmetric(k)).collect();
                Var::from_tensor(&Tensor::from_vec(v, shape, device).map_err(ce)?).map_err(ce)
            };
            Some((var(&[w, w])?, var(&[w])?, var(&[w])?))
        } else {
            None
        };
        let p = config.head_width();
        let k = 1.0 / (p as f32).sqrt();
        let w: Vec<f32> = (0..n_out * p).map(|_| rng.symmetric(k)).collect();
        let b: Vec<f32> = (0..n_out).map(|_| rng.symmetric(k)).collect();
        Ok(SequenceClassifier {
            config: config.clone(),
            n_out,
            embedding,
            bag,
            wide,
            chars,
            bag_scale: None,
            rnn,
            attention,
            fc_weight: Var::from_tensor(&Tensor::from_vec(w, (n_out, p), device).map_err(ce)?).map_err(ce)?,
            fc_bias: Var::from_tensor(&Tensor::from_vec(b, n_out, device).map_err(ce)?).map_err(ce)?,
            device: device.clone(),
        })
    }

    /// Every parameter with its `state_dict` name, in a fixed order.
    pub fn named_vars(&self) -> Vec<(String, Var)> {
        let mut v = vec![("embedding.weight".to_string(), self.embedding.clone())];
        if let Some(bag) = &self.bag {
            v.push(("bag.weight".to_string(), bag.clone()));
        }
        if let Some(wide) = &self.wide {
            v.push(("wide.weight".to_string(), wide.clone()));
        }
        if let Some(chars) = &self.chars {
            v.push(("char.weight".to_string(), chars.clone()));
        }
        v.extend(self.rnn.named_vars().into_iter().map(|(n, t)| (format!("rnn.{n}"), t)));
        if let Some((w, b, c)) = &self.attention {
            v.push(("attention.weight".into(), w.clone()));
            v.push(("attention.bias".into(), b.clone()));
            v.push(("attention.context".into(), c.clone()));
        }
        v.push(("fc.weight".into(), self.fc_weight.clone()));
        v.push(("fc.bias".into(), self.fc_bias.clone()));
        v
    }

    /// Logits `[batch, n_out]` of a padded batch whose documents' n-gram bags and tokens'
    /// character n-grams are `docs` (indexed like the batch's `rows`; unused without those
    /// tables). `train` brings dropout (with its generator); `grad = false` keeps no graph.
    pub fn forward(
        &self,
        batch: &PaddedBatch,
        docs: DocFeatures<'_>,
        grad: bool,
        train: Option<&mut Rng>,
    ) -> Result<Tensor, Error> {
        let rows = self.lookups(batch, docs, grad)?;
        self.forward_from(&rows, batch, grad, train)
    }

    /// The rows the batch looks up: word vectors `[batch, time, emb]`, bag-of-n-gram vectors
    /// `[batch, bag_dim]` and character n-gram vectors `[batch, time, char_dim]` (tracked for
    /// gradients when `grad`).
    pub fn lookups(&self, batch: &PaddedBatch, docs: DocFeatures<'_>, grad: bool) -> Result<Lookups, Error> {
        let (b, t) = (batch.lengths.len(), batch.max_len);
        let table = |v: &Var| rnnlab_kernels::tracked(v, grad);
        let ids = Tensor::from_slice(&batch.ids, b * t, &self.device).map_err(ce)?;
        let x = table(&self.embedding)
            .index_select(&ids, 0)
            .and_then(|e| e.reshape((b, t, self.config.emb)))
            .map_err(ce)?;
        let mut found = Lookups {
            x,
            bag: None,
            wide: None,
            bag_ids: Vec::new(),
            bag_counts: Vec::new(),
            chars: None,
            char_ids: Vec::new(),
            char_counts: Vec::new(),
        };
        if let Some(chars) = &self.chars {
            // Step j of row i is token j of its document (the batch keeps the first `t`).
            let (mut ids, mut counts) = (Vec::new(), Vec::with_capacity(b * t));
            for &row in &batch.rows {
                let grams = docs
                    .chars
                    .get(row)
                    .ok_or_else(|| Error::Training(format!("no character n-grams for document {row}")))?;
                let mut at = 0usize;
                for &k in grams.counts.iter().take(t) {
                    let k = k as usize;
                    let end = (at + k).min(grams.ids.len());
                    ids.extend(
                        grams.ids[at..end]
                            .iter()
                            .map(|&i| i.min(self.config.char_buckets as u32 - 1)),
                    );
                    counts.push(end - at);
                    at = end;
                }
                counts.resize(counts.len() + t - grams.counts.len().min(t), 0);
            }
            let mean = if !grad && self.device.is_cpu() {
                bag_means(chars, &ids, &counts, BagCombiner::Mean, None)?
            } else {
                // Each n-gram's row, times 1/count of its step, added into its step's row.
                let n = ids.len();
                let (mut steps, mut scale) = (Vec::with_capacity(n), Vec::with_capacity(n));
                for (p, &k) in counts.iter().enumerate() {
                    steps.extend(std::iter::repeat_n(p as u32, k));
                    scale.extend(std::iter::repeat_n(BagCombiner::Mean.scale(k), k));
                }
                let dim = self.config.char_dim;
                let r = (|| -> candle_core::Result<Tensor> {
                    let idx = Tensor::from_slice(&ids, n, &self.device)?;
                    let rows = table(chars).index_select(&idx, 0)?;
                    let rows = rows.broadcast_mul(&Tensor::from_vec(scale, (n, 1), &self.device)?)?;
                    let steps = Tensor::from_vec(steps, n, &self.device)?;
                    Tensor::zeros((b * t, dim), candle_core::DType::F32, &self.device)?.index_add(&steps, &rows, 0)
                })();
                r.map_err(ce)?
            };
            found.chars = Some(mean.reshape((b, t, self.config.char_dim)).map_err(ce)?);
            found.char_ids = ids;
            found.char_counts = counts;
        }
        let Some(bag) = &self.bag else {
            return Ok(found);
        };
        let (mut bag_ids, mut bag_counts) = (Vec::new(), Vec::with_capacity(b));
        for &row in &batch.rows {
            let ids = docs
                .bags
                .get(row)
                .ok_or_else(|| Error::Training(format!("no n-gram bag for document {row}")))?;
            bag_ids.extend(ids.iter().map(|&i| i.min(self.config.bag_buckets as u32 - 1)));
            bag_counts.push(ids.len());
        }
        // Each row's rows of a table, combined: in the graph, the looked-up rows and one
        // product with a combining matrix; without one on the CPU, summed in place.
        let scale = self.bag_scale.as_deref();
        let combine = |t: &Var, combiner: BagCombiner| -> Result<Tensor, Error> {
            if !grad && self.device.is_cpu() {
                return bag_means(t, &bag_ids, &bag_counts, combiner, scale);
            }
            let n = bag_ids.len();
            let idx = Tensor::from_slice(&bag_ids, n, &self.device).map_err(ce)?;
            let rows = table(t).index_select(&idx, 0).map_err(ce)?;
            let mut m = vec![0f32; b * n];
            let mut at = 0;
            for (r, &k) in bag_counts.iter().enumerate() {
                let s = combiner.scale(k);
                for j in at..at + k {
                    m[r * n + j] = s * scale.map_or(1.0, |w| w[bag_ids[j] as usize]);
                }
                at += k;
            }
            let m = Tensor::from_vec(m, (b, n), &self.device).map_err(ce)?;
            m.matmul(&rows).map_err(ce)
        };
        found.bag = Some(combine(bag, BagCombiner::Mean)?);
        found.wide = match &self.wide {
            Some(w) => Some(combine(w, BagCombiner::Sum)?),
            None => None,
        };
        found.bag_ids = bag_ids;
        found.bag_counts = bag_counts;
        Ok(found)
    }

    /// [`Self::forward`] from the looked-up rows on.
    pub fn forward_from(
        &self,
        rows: &Lookups,
        batch: &PaddedBatch,
        grad: bool,
        mut train: Option<&mut Rng>,
    ) -> Result<Tensor, Error> {
        let c = &self.config;
        let (b, t) = (batch.lengths.len(), batch.max_len);
        let w = |v: &Var| rnnlab_kernels::tracked(v, grad);
        let mut x = match &rows.chars {
            Some(chars) => Tensor::cat(&[&rows.x, chars], D::Minus1).map_err(ce)?,
            None => rows.x.clone(),
        };
        if let Some(rng) = train.as_deref_mut() {
            if c.dropout > 0.0 {
                x = (x * mask_tensor(rng, &[b, t, c.input_width()], c.dropout, &self.device)?).map_err(ce)?;
            }
        }
        let dropout = train.as_deref_mut().map(|rng| Dropout {
            between_layers: c.dropout,
            recurrent: c.recurrent_dropout,
            rng,
        });
        let (out, last) = self.rnn.forward(&x, &batch.lengths, grad, dropout)?;
        let mut pooled = self.pool(&out, &last, &batch.lengths, grad)?;
        if let Some(rng) = train {
            if c.head_dropout > 0.0 {
                pooled = (&pooled * mask_tensor(rng, pooled.dims(), c.head_dropout, &self.device)?).map_err(ce)?;
            }
        }
        if let Some(bag_vec) = &rows.bag {
            pooled = Tensor::cat(&[&pooled, bag_vec], D::Minus1).map_err(ce)?;
        }
        let logits = pooled
            .matmul(&w(&self.fc_weight).t().map_err(ce)?)
            .and_then(|z| z.broadcast_add(&w(&self.fc_bias)))
            .map_err(ce)?;
        match &rows.wide {
            Some(wide) if c.bag_wide_lr != 1.0 => (logits + (wide * c.bag_wide_lr as f64).map_err(ce)?).map_err(ce),
            Some(wide) => (logits + wide).map_err(ce),
            None => Ok(logits),
        }
    }

    fn pool(&self, out: &Tensor, last: &Tensor, lengths: &[usize], grad: bool) -> Result<Tensor, Error> {
        let (b, t, width) = out.dims3().map_err(ce)?;
        let mean = || -> candle_core::Result<Tensor> {
            let lens: Vec<f32> = lengths.iter().map(|&l| l.clamp(1, t) as f32).collect();
            let lens = Tensor::from_vec(lens, (b, 1), &self.device)?;
            out.sum(1)?.broadcast_div(&lens)
        };
        // Padded steps get a large negative offset so they never win a max or a softmax.
        let padding_offset = || -> candle_core::Result<Tensor> {
            let m = step_mask(lengths, t, &self.device).map_err(|e| candle_core::Error::Msg(e.to_string()))?;
            (m - 1.0)? * 1e4
        };
        let max = || -> candle_core::Result<Tensor> { out.broadcast_add(&padding_offset()?.unsqueeze(2)?)?.max(1) };
        let attention = || -> candle_core::Result<Tensor> {
            let (w, bias, context) = self
                .attention
                .as_ref()
                .ok_or_else(|| candle_core::Error::Msg("attention pooling without its weights".into()))?;
            let v = |v: &Var| rnnlab_kernels::tracked(v, grad);
            let u = out
                .reshape((b * t, width))?
                .matmul(&v(w).t()?)?
                .broadcast_add(&v(bias))?
                .tanh()?;
            let scores = u.matmul(&v(context).unsqueeze(1)?)?.reshape((b, t))?;
            let weights = candle_nn::ops::softmax(&(scores + padding_offset()?)?, D::Minus1)?;
            out.broadcast_mul(&weights.unsqueeze(2)?)?.sum(1)
        };
        let r = match self.config.pooling {
            Pooling::Last => Ok(last.clone()),
            Pooling::Mean => mean(),
            Pooling::Max => max(),
            Pooling::MeanMax => mean().and_then(|a| Tensor::cat(&[a, max()?], D::Minus1)),
            Pooling::Attention => attention(),
        };
        r.map_err(ce)
    }

    /// The weights as `(name, shape, values)`, for safetensors (with the bag's fixed weights).
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
        if let Some(s) = &self.bag_scale {
            state.push((BAG_NB_RATIO.to_string(), vec![s.len()], s.clone()));
        }
        Ok(state)
    }

    /// With `bag_nb`, reads the bag's fixed weights (`bag.nb_ratio`, one finite value per bucket).
    pub fn load_bag_scale(
        &mut self,
        tensors: &HashMap<String, rnnlab_baselines::tensors::Tensor>,
        file: &Path,
    ) -> Result<(), Error> {
        if !self.config.bag_nb {
            return Ok(());
        }
        let (shape, data) = tensors.get(BAG_NB_RATIO).ok_or_else(|| {
            Error::Format(format!(
                "{}: no tensor {BAG_NB_RATIO:?} (the model uses --bag-nb)",
                file.display()
            ))
        })?;
        if shape.as_slice() != [self.config.bag_buckets] || data.iter().any(|v| !v.is_finite()) {
            return Err(Error::Format(format!(
                "{}: tensor {BAG_NB_RATIO:?} must hold {} finite values",
                file.display(),
                self.config.bag_buckets
            )));
        }
        self.bag_scale = Some(data.clone());
        Ok(())
    }

    /// Loads weights by name; every tensor must exist with the configured shape.
    pub fn load_state(
        &self,
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
            let t = Tensor::from_vec(data.clone(), shape.as_slice(), &self.device).map_err(ce)?;
            var.set(&t).map_err(ce)?;
        }
        Ok(())
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

    /// Class probabilities `[n, n_classes]` of encoded documents, in length-sorted batches.
    pub fn predict_proba(&self, docs: &Encoded, encoder: &SequenceEncoder) -> Result<Vec<Vec<f32>>, Error> {
        let seqs = &docs.seqs;
        let rows: Vec<usize> = (0..seqs.len()).collect();
        let mut out = vec![Vec::new(); seqs.len()];
        for bucket in encoder.buckets(seqs, &rows, 512) {
            let batch = encoder.batch(seqs, &bucket);
            let logits = self.forward(&batch, docs.features(), false, None)?;
            let probs = if self.n_out == 1 {
                let p = candle_nn::ops::sigmoid(&logits).and_then(|p| p.flatten_all()?.to_vec1::<f32>());
                p.map_err(ce)?.into_iter().map(|p| vec![1.0 - p, p]).collect::<Vec<_>>()
            } else {
                candle_nn::ops::softmax_last_dim(&logits)
                    .and_then(|p| p.to_vec2::<f32>())
                    .map_err(ce)?
            };
            for (r, p) in bucket.into_iter().zip(probs) {
                out[r] = p;
            }
        }
        Ok(out)
    }
}

/// `model.json` of a recurrent model directory.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RnnCard {
    /// `rnnlab_baselines::FORMAT_VERSION` when written; 0 (absent) before versions were recorded.
    #[serde(default)]
    pub format_version: u32,
    /// `rnn`, `lstm`, `gru` or `best-rnn`.
    pub kind: String,
    pub params: RnnConfig,
    pub max_len: usize,
    pub vocab_size: usize,
    pub labels: Vec<String>,
    pub positive_label: Option<String>,
    pub threshold: Option<f64>,
    #[serde(default)]
    pub meta: serde_json::Value,
}

/// A trained recurrent classifier: input ids, network, labels and decision threshold.
pub struct RnnModel {
    pub kind: String,
    pub classifier: SequenceClassifier,
    pub input: SequenceInput,
    pub encoder: SequenceEncoder,
    pub labels: LabelSet,
    pub threshold: Option<f64>,
}

impl RnnModel {
    /// Class probabilities `[n, n_classes]` of token lists; an empty list is a one-step
    /// `<pad>` sequence and still gets a prediction.
    pub fn predict_proba(&self, docs: &[Vec<String>]) -> Result<Vec<Vec<f32>>, Error> {
        let encoded = self.input.encode_docs(docs, &self.classifier.config)?;
        self.classifier.predict_proba(&encoded, &self.encoder)
    }

    pub fn save(&self, dir: &Path, meta: serde_json::Value) -> Result<(), Error> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let card = RnnCard {
            format_version: rnnlab_baselines::FORMAT_VERSION,
            kind: self.kind.clone(),
            params: self.classifier.config.clone(),
            max_len: self.encoder.max_len,
            vocab_size: self.input.vocab_size(),
            labels: self.labels.labels.clone(),
            positive_label: self.labels.positive.map(|k| self.labels.labels[k].clone()),
            threshold: self.threshold,
            meta,
        };
        let path = dir.join("model.json");
        let s = serde_json::to_string_pretty(&card).map_err(|e| Error::Format(e.to_string()))?;
        std::fs::write(&path, s).map_err(|e| Error::io(&path, e))?;
        self.input.save(dir)?;
        rnnlab_baselines::tensors::save(&dir.join("model.safetensors"), &self.classifier.state()?)?;
        Ok(())
    }

    /// Loads a directory written by [`RnnModel::save`], onto `device`.
    pub fn load(dir: &Path, device: &Device) -> Result<(Self, RnnCard), Error> {
        let path = dir.join("model.json");
        let s = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let value: serde_json::Value = serde_json::from_str(&s)
            .map_err(|e| Error::Format(format!("{}: not a recurrent model card: {e}", path.display())))?;
        rnnlab_baselines::check_format_version(&path, &value)?;
        refuse_removed_settings(&path, &value)?;
        let card: RnnCard = serde_json::from_value(value)
            .map_err(|e| Error::Format(format!("{}: not a recurrent model card: {e}", path.display())))?;
        let input = SequenceInput::load(dir, card.params.tokens)?;
        if input.vocab_size() != card.vocab_size {
            return Err(Error::Format(format!(
                "{}: {} holds {} tokens but model.json says {}",
                dir.display(),
                input.file_name(),
                input.vocab_size(),
                card.vocab_size
            )));
        }
        let n_classes = card.labels.len();
        if n_classes < 2 {
            return Err(Error::Format(format!("{}: needs at least two labels", path.display())));
        }
        let n_out = if n_classes == 2 { 1 } else { n_classes };
        let mut classifier = SequenceClassifier::new(&card.params, card.vocab_size, n_out, device)?;
        let weights = dir.join("model.safetensors");
        let tensors = rnnlab_baselines::tensors::load(&weights)?;
        classifier.load_state(&tensors, &weights)?;
        classifier.load_bag_scale(&tensors, &weights)?;
        let positive = card
            .positive_label
            .as_ref()
            .and_then(|p| card.labels.iter().position(|l| l == p));
        let model = RnnModel {
            kind: card.kind.clone(),
            classifier,
            input,
            encoder: SequenceEncoder::new(card.max_len.max(1))?,
            labels: LabelSet {
                labels: card.labels.clone(),
                positive,
            },
            threshold: card.threshold,
        };
        Ok((model, card))
    }
}

/// Settings that changed what a network computes and were removed: a card that used one cannot
/// be loaded as it was trained, so it is refused by name rather than read with the default.
/// (Settings that acted on training only, such as `ema` or `bag_dropout`, are ignored.)
fn refuse_removed_settings(path: &Path, card: &serde_json::Value) -> Result<(), Error> {
    let combiner = card.get("params").and_then(|p| p.get("bag_combiner"));
    match combiner {
        None => Ok(()),
        Some(c) if c == "mean" => Ok(()),
        Some(c) => Err(Error::Format(format!(
            "{}: params.bag_combiner is {c}: this model was trained with a bag combiner that rnnlab no \
             longer has (only the mean, fastText's, remains; model format version 0); retrain it",
            path.display()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_card_with_a_removed_combiner_is_refused_by_name() {
        let p = Path::new("m/model.json");
        for ok in [
            serde_json::json!({"params": {}}),
            serde_json::json!({"params": {"bag_combiner": "mean"}}),
        ] {
            assert!(refuse_removed_settings(p, &ok).is_ok());
        }
        let e = refuse_removed_settings(p, &serde_json::json!({"params": {"bag_combiner": "sqrtn"}}))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("m/model.json") && e.contains("bag_combiner") && e.contains("sqrtn"),
            "{e}"
        );
    }
    use crate::bag::TokenGrams;
    use crate::config::CellKind;
    use crate::loss::loss;

    fn batch() -> PaddedBatch {
        SequenceEncoder::new(6)
            .unwrap()
            .batch(&[vec![2, 3, 4, 5], vec![6], vec![3, 2, 7]], &[0, 1, 2])
    }

    /// Character n-grams for [`batch`]'s documents: tokens with several, one, none, repeats.
    fn token_grams() -> Vec<TokenGrams> {
        let g = |ids: &[u32], counts: &[u32]| TokenGrams {
            ids: ids.to_vec(),
            counts: counts.to_vec(),
        };
        vec![
            g(&[1, 4, 2, 2, 5, 7], &[2, 0, 3, 1]),
            g(&[3], &[1]),
            g(&[0, 6, 4], &[2, 1, 0]),
        ]
    }

    /// Analytic gradients of every parameter tensor against central differences, for each cell,
    /// pooling, 2 layers, both directions and a ragged batch; with the bag, the wide part and
    /// the character n-grams.
    #[test]
    fn gradients_match_finite_differences() {
        for (cell, pooling, n_out, bag_buckets, char_buckets) in [
            (CellKind::Rnn, Pooling::Last, 1, 0, 0),
            (CellKind::Lstm, Pooling::Mean, 3, 0, 0),
            (CellKind::Gru, Pooling::MeanMax, 1, 0, 8),
            (CellKind::Lstm, Pooling::Max, 3, 0, 0),
            (CellKind::Gru, Pooling::MeanMax, 1, 16, 0),
            (CellKind::Lstm, Pooling::Last, 3, 16, 8),
            (CellKind::Gru, Pooling::Attention, 1, 0, 0),
            (CellKind::Lstm, Pooling::Attention, 3, 16, 0),
        ] {
            let config = RnnConfig {
                cell,
                emb: 4,
                hidden: 3,
                layers: 2,
                bidirectional: true,
                pooling,
                bag_buckets,
                bag_dim: 3,
                bag_wide: bag_buckets > 0,
                // The wide part's scaled path (`--bag-wide-lr`), whose gradient the scale enters.
                bag_wide_lr: 0.5,
                char_buckets,
                char_dim: 2,
                ..RnnConfig::default()
            };
            let net = SequenceClassifier::new(&config, 8, n_out, &Device::Cpu).unwrap();
            if let Some((_, _, context)) = &net.attention {
                // Sharper attention weights, so that its parameters move the loss measurably.
                context.set(&(context.as_tensor() * 8.0).unwrap()).unwrap();
            }
            let b = batch();
            let y = [1usize, 0, if n_out == 1 { 1 } else { 2 }];
            let w = [1.0f32, 2.0, 0.5];
            let bags = vec![vec![1, 5, 9, 15], vec![2], vec![5, 5, 7]];
            let chars = token_grams();
            let docs = DocFeatures {
                bags: &bags,
                chars: &chars,
            };
            let f = |net: &SequenceClassifier| -> f64 {
                let logits = net.forward(&b, docs, false, None).unwrap();
                loss(&logits, &y, &w, 0.0).unwrap().to_scalar::<f32>().unwrap() as f64
            };
            let logits = net.forward(&b, docs, true, None).unwrap();
            let grads = loss(&logits, &y, &w, 0.0).unwrap().backward().unwrap();
            for (name, var) in net.named_vars() {
                let g = grads
                    .get(var.as_tensor())
                    .map(|g| g.flatten_all().unwrap().to_vec1::<f32>().unwrap());
                assert!(g.is_some(), "{cell:?} {pooling:?}: {name} has no gradient");
                let base = var.as_tensor().flatten_all().unwrap().to_vec1::<f32>().unwrap();
                // A few entries of each tensor, spread over it.
                let step = (base.len() / 5).max(1);
                for i in (0..base.len()).step_by(step) {
                    let eps = 1e-2f32;
                    let mut plus = base.clone();
                    plus[i] += eps;
                    var.set(&Tensor::from_vec(plus, var.dims(), &Device::Cpu).unwrap())
                        .unwrap();
                    let lp = f(&net);
                    let mut minus = base.clone();
                    minus[i] -= eps;
                    var.set(&Tensor::from_vec(minus, var.dims(), &Device::Cpu).unwrap())
                        .unwrap();
                    let lm = f(&net);
                    var.set(&Tensor::from_vec(base.clone(), var.dims(), &Device::Cpu).unwrap())
                        .unwrap();
                    let numeric = (lp - lm) / (2.0 * eps as f64);
                    let analytic = g.as_ref().map_or(0.0, |g| g[i] as f64);
                    // Attention's gradients are around 1e-3 at these sizes: a tighter floor.
                    let floor = if name.starts_with("attention") { 1e-4 } else { 2e-3 };
                    assert!(
                        (numeric - analytic).abs() <= floor + 2e-2 * numeric.abs(),
                        "{cell:?} {pooling:?} {name}[{i}]: numeric {numeric}, analytic {analytic}"
                    );
                }
            }
        }
    }

    #[test]
    fn pooling_ignores_padding_and_shapes_hold() {
        for pooling in [
            Pooling::Last,
            Pooling::Mean,
            Pooling::Max,
            Pooling::MeanMax,
            Pooling::Attention,
        ] {
            let config = RnnConfig {
                cell: CellKind::Gru,
                emb: 4,
                hidden: 3,
                pooling,
                ..RnnConfig::default()
            };
            let net = SequenceClassifier::new(&config, 8, 3, &Device::Cpu).unwrap();
            let enc = SequenceEncoder::new(10).unwrap();
            // The same sequence alone and padded beside a longer one.
            let docs = |seqs: Vec<Vec<u32>>| Encoded {
                bags: vec![Vec::new(); seqs.len()],
                chars: Vec::new(),
                seqs,
            };
            let seqs = vec![vec![2, 3], vec![2, 3, 4, 5, 6, 7]];
            let alone = net.predict_proba(&docs(seqs[..1].to_vec()), &enc).unwrap();
            let both = net.predict_proba(&docs(seqs), &enc).unwrap();
            for (a, b) in alone[0].iter().zip(&both[0]) {
                assert!((a - b).abs() < 1e-5, "{pooling:?}: {a} vs {b}");
            }
            assert!((both[1].iter().sum::<f32>() - 1.0).abs() < 1e-5);
            // Empty and over-long sequences, a batch of one.
            let odd = net.predict_proba(&docs(vec![vec![], vec![1; 50]]), &enc).unwrap();
            assert_eq!(odd.len(), 2);
            assert!(odd.iter().flatten().all(|p| p.is_finite()));
        }
    }
}
