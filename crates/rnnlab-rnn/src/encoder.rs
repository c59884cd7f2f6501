//! The encoder every recurrent network shares: the token embedding, the optional inputs beside
//! it (a document's bag of hashed id n-grams with its wide part, and each token's character
//! n-grams) and the [`RecurrentStack`]. Heads ([`crate::network::Head`]) read its output; it
//! knows nothing of tasks or losses.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{Device, Tensor, Var, D};
use rnnlab_vectorize::PaddedBatch;

use super::ce;
use super::config::{BagCombiner, RnnConfig};
use super::input::DocFeatures;
use crate::Error;
use rnnlab_kernels::Rng;
use rnnlab_kernels::{mask_tensor, Dropout, RecurrentStack};

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
pub(crate) const BAG_NB_RATIO: &str = "bag.nb_ratio";

/// Embedding, optional n-gram inputs and recurrent stack, with PyTorch's parameter names.
#[derive(Debug, Clone)]
pub struct Encoder {
    pub config: RnnConfig,
    pub embedding: Var,
    /// `[bag_buckets, bag_dim]`: vectors of hashed id uni- and bigrams (`bag_buckets > 0`).
    pub bag: Option<Var>,
    /// `[bag_buckets, n_out]`: the wide part's weights (`bag_wide`), zero at first: per bucket,
    /// one weight per output of the head, summed into its logits.
    pub wide: Option<Var>,
    /// `[char_buckets, char_dim]`: vectors of hashed character n-grams of the tokens
    /// (`char_buckets > 0`), whose per-token mean joins the word vector.
    pub chars: Option<Var>,
    /// `[bag_buckets]`: each bucket's fixed weight in the bag (`bag_nb`: NB-LR's log-count
    /// ratio on the training rows, see `rnnlab_baselines::linear::nb_ratios`); not trained, saved as `bag.nb_ratio`.
    pub bag_scale: Option<Vec<f32>>,
    pub rnn: RecurrentStack,
    pub device: Device,
}

/// What the encoder gives a head for a batch.
pub struct EncoderOutput {
    /// `[batch, time, hidden * directions]`: the top layer's output at every step (zero at
    /// padded steps).
    pub out: Tensor,
    /// `[batch, hidden * directions]`: the final state of each row (its last real step forward,
    /// its first step backward).
    pub last: Tensor,
    /// `[batch, bag_dim]`: the document's bag-of-n-gram vector.
    pub bag: Option<Tensor>,
    /// `[batch, n_out]`: the wide part's sum, added to a head's logits.
    pub wide: Option<Tensor>,
}

impl Encoder {
    /// Fresh weights with PyTorch's initialisation (embedding N(0, 1) with the `<pad>` row zero;
    /// recurrent weights uniform; n-gram tables fastText's uniform ±1/dim). `wide_width` is the
    /// head's output count (the wide part's width), drawn from `rng` in that order.
    pub fn new(
        config: &RnnConfig,
        vocab_size: usize,
        wide_width: usize,
        rng: &mut Rng,
        device: &Device,
    ) -> Result<Self, Error> {
        let mut emb: Vec<f32> = (0..vocab_size * config.architecture.emb)
            .map(|_| rng.normal())
            .collect();
        let pad_row = config.architecture.emb.min(emb.len());
        emb[..pad_row].fill(0.0);
        let embedding =
            Var::from_tensor(&Tensor::from_vec(emb, (vocab_size, config.architecture.emb), device).map_err(ce)?)
                .map_err(ce)?;
        let rnn = RecurrentStack::new(
            config.architecture.cell,
            config.input_width(),
            config.architecture.hidden,
            config.architecture.layers,
            config.architecture.bidirectional,
            rng,
            device,
        )?;
        let mut ngram_table = |rows: usize, dim: usize| -> Result<Option<Var>, Error> {
            if rows == 0 {
                return Ok(None);
            }
            let v: Vec<f32> = (0..rows * dim).map(|_| rng.symmetric(1.0 / dim as f32)).collect();
            let t = Tensor::from_vec(v, (rows, dim), device).map_err(ce)?;
            Ok(Some(Var::from_tensor(&t).map_err(ce)?))
        };
        let bag = ngram_table(config.inputs.bag_buckets, config.inputs.bag_dim)?;
        let chars = ngram_table(config.inputs.char_buckets, config.inputs.char_dim)?;
        let wide = if config.inputs.bag_buckets > 0 && config.inputs.bag_wide {
            let t =
                Tensor::zeros((config.inputs.bag_buckets, wide_width), candle_core::DType::F32, device).map_err(ce)?;
            Some(Var::from_tensor(&t).map_err(ce)?)
        } else {
            None
        };
        Ok(Encoder {
            config: config.clone(),
            embedding,
            bag,
            wide,
            chars,
            bag_scale: None,
            rnn,
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
        v
    }

    /// The fixed (untrained) tensors saved beside the weights: the bag's NB weights.
    pub fn fixed_state(&self) -> Vec<rnnlab_baselines::tensors::NamedTensor> {
        match &self.bag_scale {
            Some(s) => vec![(BAG_NB_RATIO.to_string(), vec![s.len()], s.clone())],
            None => Vec::new(),
        }
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
            .and_then(|e| e.reshape((b, t, self.config.architecture.emb)))
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
                            .map(|&i| i.min(self.config.inputs.char_buckets as u32 - 1)),
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
                let dim = self.config.inputs.char_dim;
                let r = (|| -> candle_core::Result<Tensor> {
                    let idx = Tensor::from_slice(&ids, n, &self.device)?;
                    let rows = table(chars).index_select(&idx, 0)?;
                    let rows = rows.broadcast_mul(&Tensor::from_vec(scale, (n, 1), &self.device)?)?;
                    let steps = Tensor::from_vec(steps, n, &self.device)?;
                    Tensor::zeros((b * t, dim), candle_core::DType::F32, &self.device)?.index_add(&steps, &rows, 0)
                })();
                r.map_err(ce)?
            };
            found.chars = Some(mean.reshape((b, t, self.config.inputs.char_dim)).map_err(ce)?);
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
            bag_ids.extend(ids.iter().map(|&i| i.min(self.config.inputs.bag_buckets as u32 - 1)));
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

    /// The recurrent stack over the looked-up rows (word vectors, with the tokens' character
    /// n-gram means beside them); `train` brings input and recurrent dropout.
    pub fn encode(
        &self,
        rows: &Lookups,
        batch: &PaddedBatch,
        grad: bool,
        mut train: Option<&mut Rng>,
    ) -> Result<EncoderOutput, Error> {
        let c = &self.config;
        let (b, t) = (batch.lengths.len(), batch.max_len);
        let mut x = match &rows.chars {
            Some(chars) => Tensor::cat(&[&rows.x, chars], D::Minus1).map_err(ce)?,
            None => rows.x.clone(),
        };
        if let Some(rng) = train.as_deref_mut() {
            if c.regularisation.dropout > 0.0 {
                x = (x * mask_tensor(rng, &[b, t, c.input_width()], c.regularisation.dropout, &self.device)?)
                    .map_err(ce)?;
            }
        }
        let dropout = train.map(|rng| Dropout {
            between_layers: c.regularisation.dropout,
            recurrent: c.regularisation.recurrent_dropout,
            rng,
        });
        let (out, last) = self.rnn.forward(&x, &batch.lengths, grad, dropout)?;
        Ok(EncoderOutput {
            out,
            last,
            bag: rows.bag.clone(),
            wide: rows.wide.clone(),
        })
    }

    /// With `bag_nb`, reads the bag's fixed weights (`bag.nb_ratio`, one finite value per bucket).
    pub fn load_bag_scale(
        &mut self,
        tensors: &HashMap<String, rnnlab_baselines::tensors::Tensor>,
        file: &Path,
    ) -> Result<(), Error> {
        if !self.config.inputs.bag_nb {
            return Ok(());
        }
        let (shape, data) = tensors.get(BAG_NB_RATIO).ok_or_else(|| {
            Error::Format(format!(
                "{}: no tensor {BAG_NB_RATIO:?} (the model uses --bag-nb)",
                file.display()
            ))
        })?;
        if shape.as_slice() != [self.config.inputs.bag_buckets] || data.iter().any(|v| !v.is_finite()) {
            return Err(Error::Format(format!(
                "{}: tensor {BAG_NB_RATIO:?} must hold {} finite values",
                file.display(),
                self.config.inputs.bag_buckets
            )));
        }
        self.bag_scale = Some(data.clone());
        Ok(())
    }
}
