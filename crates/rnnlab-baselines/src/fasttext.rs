//! fastText's supervised classifier (Joulin et al., "Bag of Tricks for Efficient Text
//! Classification"): each text is the mean of the vectors of its words, their character
//! n-grams of `<word>` and its word n-grams (both hashed into buckets), and one linear layer
//! with a softmax on top; trained by SGD with a linearly decaying rate, lock-free across
//! threads (Hogwild), as the `fasttext` tool does.
//!
//! The arithmetic follows fastText 0.9.2 so that its figures can be reproduced: FNV-1a hashes
//! of the UTF-8 bytes (with fastText's sign-extended bytes), `</s>` closing every text, word
//! n-gram hashes combined as `h * 116049371 + h'`, character n-grams whole UTF-8 characters,
//! input vectors uniform in ±1/dim, output weights zero, the softmax gradient spread evenly
//! over the text's rows. The order of the training rows is the data's; with one thread a
//! seed gives the same model every time.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use crate::labels::LabelSet;
use crate::Error;

/// The token fastText appends to every line.
pub const EOS: &str = "</s>";

/// Hyper-parameters; the defaults are the anchor's (`fasttext_anchor.py`, word bigrams and
/// character 2-5-grams).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FastTextParams {
    /// Longest word n-gram (fastText's `wordNgrams`; `--ngram-range 1,N`).
    pub word_ngrams: usize,
    /// Character n-grams of `<word>` from `minn` to `maxn` characters; `maxn` 0: none.
    pub minn: usize,
    pub maxn: usize,
    /// Hash buckets shared by word and character n-grams.
    pub buckets: usize,
    /// Width of every vector (`--emb`).
    pub dim: usize,
    pub epochs: usize,
    /// Starting learning rate, decayed linearly to 0 over all epochs.
    pub lr: f64,
    pub seed: u64,
    /// After choosing the threshold on validation, train again on training and validation
    /// rows together (scikit-learn's `refit`).
    pub refit: bool,
    /// Training threads (Hogwild: unsynchronised updates, so more than one thread does not
    /// repeat exactly); 1 by default.
    pub threads: usize,
}

impl Default for FastTextParams {
    fn default() -> Self {
        FastTextParams {
            word_ngrams: 2,
            minn: 2,
            maxn: 5,
            buckets: 2_000_000,
            dim: 64,
            epochs: 25,
            lr: 0.5,
            seed: 0,
            refit: false,
            threads: 1,
        }
    }
}

/// Largest bucket count and width: 2^24 buckets of 1,024 floats would already be 64 GiB.
const MAX_BUCKETS: usize = 1 << 24;
const MAX_DIM: usize = 1024;

impl FastTextParams {
    /// Checks ranges; messages name the flag.
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |m: String| Err(Error::Param(m));
        if self.word_ngrams == 0 || self.word_ngrams > 10 {
            return bad(format!(
                "--ngram-range 1,{}: word n-grams of 1 to 10 words",
                self.word_ngrams
            ));
        }
        if self.maxn > 0 && (self.minn == 0 || self.minn > self.maxn || self.maxn > 12) {
            return bad(format!(
                "--minn {} --maxn {}: need 1 <= minn <= maxn <= 12 (or --maxn 0 for none)",
                self.minn, self.maxn
            ));
        }
        if (self.word_ngrams > 1 || self.maxn > 0) && !(1..=MAX_BUCKETS).contains(&self.buckets) {
            return bad(format!("--buckets {}: need 1 to 2^24", self.buckets));
        }
        if !(1..=MAX_DIM).contains(&self.dim) {
            return bad(format!("--emb {}: need 1 to {MAX_DIM}", self.dim));
        }
        if self.epochs == 0 || self.epochs > 10_000 {
            return bad(format!("--epochs {}: need 1 to 10000", self.epochs));
        }
        if !(self.lr.is_finite() && self.lr > 0.0 && self.lr <= 100.0) {
            return bad(format!("--lr {}: need a number in (0, 100]", self.lr));
        }
        if self.threads == 0 {
            return bad("--threads must be at least 1".into());
        }
        Ok(())
    }

    fn uses_buckets(&self) -> bool {
        self.word_ngrams > 1 || self.maxn > 0
    }
}

/// fastText's hash: 32-bit FNV-1a over the bytes, each byte sign-extended first (C++ `char`).
pub fn fnv1a(s: &str) -> u32 {
    let mut h: u32 = 2_166_136_261;
    for &b in s.as_bytes() {
        h ^= b as i8 as i32 as u32;
        h = h.wrapping_mul(16_777_619);
    }
    h
}

/// A fast hasher for the model's maps (word → row, bucket → stored row): rustc's FxHash.
/// Keys come from the model's own vocabulary and buckets, so no hash flooding to defend.
#[derive(Default, Clone, Copy)]
struct FxHasher(u64);

impl FxHasher {
    fn add(&mut self, x: u64) {
        self.0 = (self.0.rotate_left(5) ^ x).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl std::hash::Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]));
        }
        for &b in chunks.remainder() {
            self.add(b as u64);
        }
    }

    fn write_u32(&mut self, i: u32) {
        self.add(i as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type FastMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<FxHasher>>;

/// Working buffers for a text's rows.
#[derive(Default)]
struct RowScratch {
    /// Byte offsets of the characters of `<word>`.
    starts: Vec<usize>,
    word: String,
    hashes: Vec<i32>,
}

/// Bucket ids of the character n-grams of `<word>`, `minn` to `maxn` characters, skipping
/// the lone `<` and `>` (fastText's `computeSubwords`); each n-gram's FNV hash extends the
/// one a character shorter.
fn push_subwords(word: &str, p: &FastTextParams, s: &mut RowScratch, out: &mut Vec<u32>) {
    s.word.clear();
    s.word.push('<');
    s.word.push_str(word);
    s.word.push('>');
    let w = s.word.as_bytes();
    s.starts.clear();
    s.starts.extend(s.word.char_indices().map(|(i, _)| i));
    s.starts.push(w.len());
    let n_chars = s.starts.len() - 1;
    let buckets = p.buckets as u32;
    for i in 0..n_chars {
        let mut h: u32 = 2_166_136_261;
        for n in 1..=p.maxn.min(n_chars - i) {
            for &b in &w[s.starts[i + n - 1]..s.starts[i + n]] {
                h ^= b as i8 as i32 as u32;
                h = h.wrapping_mul(16_777_619);
            }
            if n >= p.minn && !(n == 1 && (i == 0 || i + n == n_chars)) {
                out.push(h % buckets);
            }
        }
    }
}

/// The words of the training texts and what a text's rows are.
#[derive(Debug, Clone)]
struct Dictionary {
    words: Vec<String>,
    index: FastMap<String, u32>,
}

impl Dictionary {
    fn fit(docs: &[Vec<String>]) -> Self {
        let mut words = Vec::new();
        let mut index = FastMap::default();
        for tok in docs.iter().flatten().map(String::as_str).chain(std::iter::once(EOS)) {
            if !index.contains_key(tok) {
                index.insert(tok.to_string(), words.len() as u32);
                words.push(tok.to_string());
            }
        }
        Dictionary { words, index }
    }

    fn from_words(words: Vec<String>) -> Result<Self, String> {
        let mut index = FastMap::with_capacity_and_hasher(words.len(), Default::default());
        for (i, w) in words.iter().enumerate() {
            if index.insert(w.clone(), i as u32).is_some() {
                return Err(format!("the word {w:?} is listed twice"));
            }
        }
        Ok(Dictionary { words, index })
    }

    /// The rows of the input matrix a text averages: its words (in the vocabulary), their
    /// character n-grams (of unseen words too) and its word n-grams; `</s>` ends every text.
    fn rows(&self, doc: &[String], p: &FastTextParams, s: &mut RowScratch, out: &mut Vec<u32>) {
        out.clear();
        let nwords = self.words.len() as u32;
        let mut hashes = std::mem::take(&mut s.hashes);
        hashes.clear();
        for tok in doc.iter().map(String::as_str).chain(std::iter::once(EOS)) {
            if let Some(&id) = self.index.get(tok) {
                out.push(id);
            }
            if p.maxn > 0 && tok != EOS {
                let at = out.len();
                push_subwords(tok, p, s, out);
                out[at..].iter_mut().for_each(|b| *b += nwords);
            }
            hashes.push(fnv1a(tok) as i32);
        }
        for i in 0..hashes.len() {
            let mut h = hashes[i] as i64 as u64;
            for &next in hashes.iter().skip(i + 1).take(p.word_ngrams - 1) {
                h = h.wrapping_mul(116_049_371).wrapping_add(next as i64 as u64);
                out.push(nwords + (h % p.buckets as u64) as u32);
            }
        }
        s.hashes = hashes;
    }
}

/// Row `row`'s starting vector: uniform in ±1/dim from a generator seeded by the row, so an
/// untrained bucket needs no storage (it is made again when a text at prediction hits it).
fn initial_row(seed: u64, row: u64, dim: usize, out: &mut [f32]) {
    let mut state = seed ^ row.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
    let bound = 1.0 / dim as f32;
    for v in out.iter_mut() {
        // splitmix64
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        let unit = (z >> 40) as f32 / (1u64 << 24) as f32;
        *v = (2.0 * unit - 1.0) * bound;
    }
}

/// A matrix's rows as training reads and moves them.
trait Rows {
    /// `dst += row`
    fn add_into(&self, row: usize, dst: &mut [f32]);
    /// `row · v`
    fn dot(&self, row: usize, v: &[f32]) -> f32;
    /// `row += scale * src`
    fn add_to(&mut self, row: usize, scale: f32, src: &[f32]);
    /// `dst += scale * row`
    fn add_into_scaled(&self, row: usize, scale: f32, dst: &mut [f32]);
}

/// One thread's matrix: plain floats, so the loops vectorise.
struct Plain<'a> {
    data: &'a mut [f32],
    dim: usize,
}

impl Rows for Plain<'_> {
    fn add_into(&self, row: usize, dst: &mut [f32]) {
        let r = &self.data[row * self.dim..(row + 1) * self.dim];
        dst.iter_mut().zip(r).for_each(|(d, x)| *d += x);
    }

    fn dot(&self, row: usize, v: &[f32]) -> f32 {
        let r = &self.data[row * self.dim..(row + 1) * self.dim];
        r.iter().zip(v).map(|(a, b)| a * b).sum()
    }

    fn add_to(&mut self, row: usize, scale: f32, src: &[f32]) {
        let r = &mut self.data[row * self.dim..(row + 1) * self.dim];
        r.iter_mut().zip(src).for_each(|(x, s)| *x += scale * s);
    }

    fn add_into_scaled(&self, row: usize, scale: f32, dst: &mut [f32]) {
        let r = &self.data[row * self.dim..(row + 1) * self.dim];
        dst.iter_mut().zip(r).for_each(|(d, x)| *d += scale * x);
    }
}

/// A matrix threads train together: relaxed atomics, which compile to plain loads and stores
/// (Hogwild's unsynchronised updates, without a data race).
struct Shared<'a> {
    data: &'a [AtomicU32],
    dim: usize,
}

impl Shared<'_> {
    fn row(&self, row: usize) -> impl Iterator<Item = &AtomicU32> {
        self.data[row * self.dim..(row + 1) * self.dim].iter()
    }
}

impl Rows for Shared<'_> {
    fn add_into(&self, row: usize, dst: &mut [f32]) {
        for (d, a) in dst.iter_mut().zip(self.row(row)) {
            *d += f32::from_bits(a.load(Ordering::Relaxed));
        }
    }

    fn dot(&self, row: usize, v: &[f32]) -> f32 {
        self.row(row)
            .zip(v)
            .map(|(a, b)| f32::from_bits(a.load(Ordering::Relaxed)) * b)
            .sum()
    }

    fn add_to(&mut self, row: usize, scale: f32, src: &[f32]) {
        for (a, s) in self.row(row).zip(src) {
            let v = f32::from_bits(a.load(Ordering::Relaxed)) + scale * s;
            a.store(v.to_bits(), Ordering::Relaxed);
        }
    }

    fn add_into_scaled(&self, row: usize, scale: f32, dst: &mut [f32]) {
        for (d, a) in dst.iter_mut().zip(self.row(row)) {
            *d += scale * f32::from_bits(a.load(Ordering::Relaxed));
        }
    }
}

/// A `&mut [f32]` seen as atomics, for threads to share.
fn as_atomics(data: &mut [f32]) -> &[AtomicU32] {
    // SAFETY: `AtomicU32` has the size and alignment of `f32` (and of `u32`); the exclusive
    // borrow of `data` lasts as long as the view, so nothing else reaches the floats meanwhile.
    unsafe { std::slice::from_raw_parts(data.as_mut_ptr() as *const AtomicU32, data.len()) }
}

/// One example's working vectors.
struct Scratch {
    hidden: Vec<f32>,
    grad: Vec<f32>,
    probs: Vec<f32>,
}

/// One example's update (fastText's `Model::update` with the softmax loss): the output rows
/// move, and every input row of the text gets the same share of the gradient. Returns the loss.
fn sgd_step(input: &mut impl Rows, output: &mut impl Rows, rows: &[u32], y: usize, lr: f32, s: &mut Scratch) -> f32 {
    let Scratch { hidden, grad, probs } = s;
    hidden.fill(0.0);
    for &r in rows {
        input.add_into(r as usize, hidden);
    }
    let inv = 1.0 / rows.len() as f32;
    hidden.iter_mut().for_each(|h| *h *= inv);
    let mut max = f32::NEG_INFINITY;
    for (k, p) in probs.iter_mut().enumerate() {
        *p = output.dot(k, hidden);
        max = max.max(*p);
    }
    let mut z = 0.0;
    probs.iter_mut().for_each(|p| {
        *p = (*p - max).exp();
        z += *p;
    });
    probs.iter_mut().for_each(|p| *p /= z);
    grad.fill(0.0);
    for (k, &p) in probs.iter().enumerate() {
        let alpha = lr * ((k == y) as u8 as f32 - p);
        output.add_into_scaled(k, alpha, grad);
        output.add_to(k, alpha, hidden);
    }
    for &r in rows {
        input.add_to(r as usize, inv, grad);
    }
    -(probs[y].max(1e-12)).ln()
}

/// What every training thread shares.
struct Schedule<'a> {
    row_lists: &'a [Vec<u32>],
    y: &'a [usize],
    /// Tokens as fastText counts them per text: the words, the label and `</s>`.
    tokens: Vec<u64>,
    total: u64,
    done: AtomicU64,
    lr0: f64,
    last_epoch_start: u64,
}

impl Schedule<'_> {
    /// Trains from text `start` on, in order and round again, until all threads together have
    /// seen every epoch's tokens; the rate falls linearly with them. Returns the last epoch's
    /// summed loss and count of texts.
    fn run(&self, input: &mut impl Rows, output: &mut impl Rows, mut s: Scratch, start: usize) -> (f64, u64) {
        let n = self.row_lists.len();
        let (mut loss, mut seen) = (0.0f64, 0u64);
        let mut i = start;
        loop {
            let before = self.done.fetch_add(self.tokens[i], Ordering::Relaxed);
            if before >= self.total {
                break;
            }
            let lr = (self.lr0 * (1.0 - before as f64 / self.total as f64)) as f32;
            let l = sgd_step(input, output, &self.row_lists[i], self.y[i], lr, &mut s);
            if before >= self.last_epoch_start {
                loss += l as f64;
                seen += 1;
            }
            i = (i + 1) % n;
        }
        (loss, seen)
    }
}

/// A trained fastText classifier.
#[derive(Debug, Clone)]
pub struct FastText {
    pub params: FastTextParams,
    pub labels: LabelSet,
    /// Decision threshold on the positive class's probability (binary tasks).
    pub threshold: Option<f64>,
    dict: Dictionary,
    /// `[words, dim]`
    word_vectors: Vec<f32>,
    /// The buckets training moved, and their vectors (`[buckets moved, dim]`); every other
    /// bucket is still [`initial_row`].
    bucket_rows: FastMap<u32, usize>,
    bucket_vectors: Vec<f32>,
    /// `[classes, dim]`
    output: Vec<f32>,
}

/// Timings of a fit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FastTextReport {
    pub train_s: f64,
    /// Mean training loss over the last epoch's worth of examples.
    pub loss: f64,
    pub n_words: usize,
}

impl FastText {
    /// Trains on token lists `docs` with classes `y` (indices into `labels`).
    pub fn fit(
        params: FastTextParams,
        labels: LabelSet,
        docs: &[Vec<String>],
        y: &[usize],
    ) -> Result<(Self, FastTextReport), Error> {
        params.validate()?;
        if docs.len() != y.len() || docs.is_empty() {
            return Err(Error::Data(format!(
                "fastText needs one label per text and at least one text ({} texts, {} labels)",
                docs.len(),
                y.len()
            )));
        }
        let k = labels.n_classes();
        if let Some(&bad) = y.iter().find(|&&c| c >= k) {
            return Err(Error::Data(format!("class {bad} outside the {k} labels")));
        }
        let t0 = std::time::Instant::now();
        let dict = Dictionary::fit(docs);
        let nwords = dict.words.len();
        let n_buckets = if params.uses_buckets() { params.buckets } else { 0 };
        let dim = params.dim;
        let total_rows = nwords + n_buckets;
        let elems = total_rows
            .checked_mul(dim)
            .filter(|&n| n <= (1usize << 34))
            .ok_or_else(|| Error::Param(format!("{total_rows} rows of {dim}: too large a model")))?;
        // Each text's rows, once (fastText hashes them again every epoch).
        let mut row_lists: Vec<Vec<u32>> = Vec::with_capacity(docs.len());
        let (mut buf, mut scratch) = (Vec::new(), RowScratch::default());
        for d in docs {
            dict.rows(d, &params, &mut scratch, &mut buf);
            row_lists.push(buf.clone());
        }
        let mut input = vec![0f32; elems];
        {
            use rayon::prelude::*;
            input
                .par_chunks_mut(dim)
                .enumerate()
                .for_each(|(r, row)| initial_row(params.seed, r as u64, dim, row));
        }
        let mut output = vec![0f32; k * dim];
        let tokens: Vec<u64> = docs.iter().map(|d| d.len() as u64 + 2).collect();
        let total: u64 = tokens.iter().sum::<u64>() * params.epochs as u64;
        let schedule = Schedule {
            row_lists: &row_lists,
            y,
            tokens,
            total,
            done: AtomicU64::new(0),
            lr0: params.lr,
            last_epoch_start: total - total / params.epochs as u64,
        };
        let n = docs.len();
        let threads = params.threads.min(n).max(1);
        let scratch = || Scratch {
            hidden: vec![0f32; dim],
            grad: vec![0f32; dim],
            probs: vec![0f32; k],
        };
        let (loss, seen) = if threads == 1 {
            let mut inp = Plain { data: &mut input, dim };
            let mut out = Plain { data: &mut output, dim };
            schedule.run(&mut inp, &mut out, scratch(), 0)
        } else {
            let (inp, out) = (as_atomics(&mut input), as_atomics(&mut output));
            std::thread::scope(|scope| {
                let handles: Vec<_> = (0..threads)
                    .map(|t| {
                        let (schedule, scratch) = (&schedule, scratch());
                        scope.spawn(move || {
                            let mut i = Shared { data: inp, dim };
                            let mut o = Shared { data: out, dim };
                            schedule.run(&mut i, &mut o, scratch, t * n / threads)
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or((f64::NAN, 1)))
                    .fold((0.0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
            })
        };
        let loss = loss / seen.max(1) as f64;
        if !loss.is_finite() {
            return Err(Error::Training(format!(
                "fastText's training loss became {loss}; try a smaller --lr"
            )));
        }
        // Keep the word vectors and the buckets training moved.
        let mut moved = vec![false; n_buckets];
        for rows in &row_lists {
            for &r in rows {
                if r as usize >= nwords {
                    moved[r as usize - nwords] = true;
                }
            }
        }
        let mut bucket_rows = FastMap::default();
        let mut bucket_vectors = Vec::new();
        for (b, _) in moved.iter().enumerate().filter(|(_, &m)| m) {
            bucket_rows.insert(b as u32, bucket_rows.len());
            let r = nwords + b;
            bucket_vectors.extend_from_slice(&input[r * dim..(r + 1) * dim]);
        }
        input.truncate(nwords * dim);
        input.shrink_to_fit();
        let report = FastTextReport {
            train_s: t0.elapsed().as_secs_f64(),
            loss,
            n_words: nwords,
        };
        Ok((
            FastText {
                params,
                labels,
                threshold: None,
                dict,
                word_vectors: input,
                bucket_rows,
                bucket_vectors,
                output,
            },
            report,
        ))
    }

    /// [`Self::fit`] on `train`, then the decision threshold chosen on `val` (binary tasks);
    /// with `refit`, fitted again on both and the threshold kept. Returns the model, the first
    /// fit's validation probabilities and the (last) fit's report.
    pub fn fit_validated(
        params: FastTextParams,
        labels: LabelSet,
        train: (&[Vec<String>], &[usize]),
        val: (&[Vec<String>], &[usize]),
    ) -> Result<(Self, Vec<Vec<f32>>, FastTextReport), Error> {
        let refit = params.refit;
        let (mut model, mut report) = Self::fit(params.clone(), labels.clone(), train.0, train.1)?;
        let val_proba = model.predict_proba(val.0)?;
        let threshold = labels
            .positive
            .map(|pos| crate::metrics::best_threshold(val.1, &val_proba, pos));
        if refit {
            let docs: Vec<Vec<String>> = train.0.iter().chain(val.0).cloned().collect();
            let y: Vec<usize> = train.1.iter().chain(val.1).copied().collect();
            let (second, again) = Self::fit(params, labels, &docs, &y)?;
            report = FastTextReport {
                train_s: report.train_s + again.train_s,
                ..again
            };
            model = second;
        }
        model.threshold = threshold;
        Ok((model, val_proba, report))
    }

    /// Class probabilities `[n, classes]` of token lists (every text has at least `</s>`).
    pub fn predict_proba(&self, docs: &[Vec<String>]) -> Result<Vec<Vec<f32>>, Error> {
        use rayon::prelude::*;
        let dim = self.params.dim;
        let k = self.labels.n_classes();
        let nwords = self.dict.words.len();
        Ok(docs
            .par_iter()
            .map_init(
                || (Vec::new(), vec![0f32; dim], vec![0f32; dim], RowScratch::default()),
                |(rows, hidden, init, scratch), doc| {
                    self.dict.rows(doc, &self.params, scratch, rows);
                    hidden.fill(0.0);
                    for &r in rows.iter() {
                        let r = r as usize;
                        let v: &[f32] = if r < nwords {
                            &self.word_vectors[r * dim..(r + 1) * dim]
                        } else {
                            match self.bucket_rows.get(&((r - nwords) as u32)) {
                                Some(&at) => &self.bucket_vectors[at * dim..(at + 1) * dim],
                                None => {
                                    initial_row(self.params.seed, r as u64, dim, init);
                                    init
                                }
                            }
                        };
                        hidden.iter_mut().zip(v).for_each(|(h, x)| *h += x);
                    }
                    let inv = 1.0 / rows.len().max(1) as f32;
                    let mut logits: Vec<f32> = (0..k)
                        .map(|c| {
                            self.output[c * dim..(c + 1) * dim]
                                .iter()
                                .zip(hidden.iter())
                                .map(|(w, h)| w * h * inv)
                                .sum()
                        })
                        .collect();
                    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                    let mut z = 0.0;
                    logits.iter_mut().for_each(|l| {
                        *l = (*l - max).exp();
                        z += *l;
                    });
                    logits.iter_mut().for_each(|l| *l /= z);
                    logits
                },
            )
            .collect())
    }

    /// The number of words in the vocabulary (`</s>` included).
    pub fn n_words(&self) -> usize {
        self.dict.words.len()
    }

    /// The tensors of `model.safetensors` (`input.words`, `input.buckets`, `output.weight`,
    /// and `input.bucket_ids`, the buckets the second one holds, as exact integers in f32:
    /// buckets are below 2^24) and the vocabulary.
    fn tensors(&self) -> Vec<crate::tensors::NamedTensor> {
        let dim = self.params.dim;
        let mut ids: Vec<(u32, usize)> = self.bucket_rows.iter().map(|(&b, &at)| (b, at)).collect();
        ids.sort_unstable();
        let mut vectors = Vec::with_capacity(ids.len() * dim);
        for &(_, at) in &ids {
            vectors.extend_from_slice(&self.bucket_vectors[at * dim..(at + 1) * dim]);
        }
        vec![
            (
                "input.words".into(),
                vec![self.dict.words.len(), dim],
                self.word_vectors.clone(),
            ),
            (
                "input.bucket_ids".into(),
                vec![ids.len()],
                ids.iter().map(|&(b, _)| b as f32).collect(),
            ),
            ("input.buckets".into(), vec![ids.len(), dim], vectors),
            (
                "output.weight".into(),
                vec![self.labels.n_classes(), dim],
                self.output.clone(),
            ),
        ]
    }

    /// Writes `model.json`, `vocab.json` (the words, in row order) and `model.safetensors`.
    pub fn save(&self, dir: &Path, meta: serde_json::Value) -> Result<(), Error> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let card = FastTextCard {
            format_version: crate::FORMAT_VERSION,
            kind: KIND.to_string(),
            params: self.params.clone(),
            labels: self.labels.labels.clone(),
            positive_label: self.labels.positive.map(|k| self.labels.labels[k].clone()),
            threshold: self.threshold,
            meta,
        };
        crate::baseline::write_json(&dir.join("vocab.json"), &self.dict.words)?;
        crate::tensors::save(&dir.join("model.safetensors"), &self.tensors())?;
        // Last: a directory with a card has its other files.
        crate::baseline::write_json(&dir.join("model.json"), &card)
    }

    /// Loads a directory written by [`Self::save`]; every size is checked against the card.
    pub fn load(dir: &Path) -> Result<(Self, FastTextCard), Error> {
        let path = dir.join("model.json");
        let value: serde_json::Value = crate::baseline::read_json(&path)?;
        crate::check_format_version(&path, &value)?;
        let card: FastTextCard =
            serde_json::from_value(value).map_err(|e| Error::Format(format!("{}: {e}", path.display())))?;
        if card.kind != KIND {
            return Err(Error::Format(format!(
                "{}: holds a {:?} model, not fasttext",
                path.display(),
                card.kind
            )));
        }
        let bad = |m: String| Error::Format(format!("{}: {m}", path.display()));
        card.params.validate().map_err(|e| bad(format!("params: {e}")))?;
        if card.labels.len() < 2 {
            return Err(bad("needs at least two labels".into()));
        }
        if let Some(t) = card.threshold {
            if !(0.0..=1.0).contains(&t) {
                return Err(bad(format!("threshold {t} is outside [0, 1]")));
            }
        }
        let positive = match &card.positive_label {
            Some(p) => Some(
                card.labels
                    .iter()
                    .position(|l| l == p)
                    .ok_or_else(|| bad(format!("positive_label {p:?} is not one of the labels")))?,
            ),
            None => None,
        };
        let vocab_path = dir.join("vocab.json");
        let words: Vec<String> = crate::baseline::read_json(&vocab_path)?;
        let dict =
            Dictionary::from_words(words).map_err(|m| Error::Format(format!("{}: {m}", vocab_path.display())))?;
        let weights = dir.join("model.safetensors");
        let mut t = crate::tensors::load(&weights)?;
        let dim = card.params.dim;
        let n_ids = t
            .get("input.bucket_ids")
            .map_or(0, |(s, _)| s.first().copied().unwrap_or(0));
        let mut take = |name: &str, shape: &[usize]| -> Result<Vec<f32>, Error> {
            let (s, v) = t
                .remove(name)
                .ok_or_else(|| Error::Format(format!("{}: no tensor {name:?}", weights.display())))?;
            if s != shape {
                return Err(Error::Format(format!(
                    "{}: tensor {name:?} has shape {s:?}, the model card and vocabulary say {shape:?}",
                    weights.display()
                )));
            }
            Ok(v)
        };
        let word_vectors = take("input.words", &[dict.words.len(), dim])?;
        let ids = take("input.bucket_ids", &[n_ids])?;
        let bucket_vectors = take("input.buckets", &[n_ids, dim])?;
        let output = take("output.weight", &[card.labels.len(), dim])?;
        let mut bucket_rows = FastMap::with_capacity_and_hasher(n_ids, Default::default());
        for (at, &b) in ids.iter().enumerate() {
            if !(b >= 0.0 && b.fract() == 0.0 && (b as usize) < card.params.buckets) {
                return Err(Error::Format(format!(
                    "{}: input.bucket_ids[{at}] = {b} is not a bucket below {}",
                    weights.display(),
                    card.params.buckets
                )));
            }
            bucket_rows.insert(b as u32, at);
        }
        if [&word_vectors, &bucket_vectors, &output]
            .iter()
            .any(|v| v.iter().any(|x| !x.is_finite()))
        {
            return Err(Error::Format(format!(
                "{}: weights that are not finite",
                weights.display()
            )));
        }
        let model = FastText {
            params: card.params.clone(),
            labels: LabelSet {
                labels: card.labels.clone(),
                positive,
            },
            threshold: card.threshold,
            dict,
            word_vectors,
            bucket_rows,
            bucket_vectors,
            output,
        };
        Ok((model, card))
    }
}

/// The kind's name in `model.json`.
pub const KIND: &str = "fasttext";

/// `model.json` of a fastText directory.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FastTextCard {
    #[serde(default)]
    pub format_version: u32,
    pub kind: String,
    pub params: FastTextParams,
    pub labels: Vec<String>,
    pub positive_label: Option<String>,
    pub threshold: Option<f64>,
    #[serde(default)]
    pub meta: serde_json::Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn hashes_and_subwords_follow_fasttext() {
        // FNV-1a 32-bit of ASCII is the standard one.
        assert_eq!(fnv1a(""), 2_166_136_261);
        assert_eq!(fnv1a("a"), 0xE40C_292C);
        // Bytes above 0x7f are sign-extended first, so a Cyrillic word hashes unlike plain FNV.
        let plain = "д"
            .bytes()
            .fold(2_166_136_261u32, |h, b| (h ^ b as u32).wrapping_mul(16_777_619));
        assert_ne!(fnv1a("д"), plain);
        // `<ab>` with minn 1, maxn 2: a, b, <a, ab, b> (the lone `<` and `>` skipped).
        let p = |minn, maxn| FastTextParams {
            minn,
            maxn,
            buckets: 1 << 20,
            ..FastTextParams::default()
        };
        let (mut out, mut s) = (Vec::new(), RowScratch::default());
        push_subwords("ab", &p(1, 2), &mut s, &mut out);
        let want: Vec<u32> = ["<a", "a", "ab", "b", "b>"]
            .iter()
            .map(|g| fnv1a(g) % (1 << 20))
            .collect();
        let (mut a, mut b) = (out.clone(), want);
        a.sort_unstable();
        b.sort_unstable();
        assert_eq!(a, b);
        // Whole characters: `<дом>` has 3 characters of n-gram length 3 and no broken byte.
        out.clear();
        push_subwords("дом", &p(3, 3), &mut s, &mut out);
        assert_eq!(out.len(), 3);
        assert!(out.contains(&(fnv1a("<до") % (1 << 20))));
    }

    #[test]
    fn rows_hold_words_subwords_eos_and_word_ngrams() {
        let dict = Dictionary::fit(&[toks("a b")]);
        assert_eq!(dict.words, ["a", "b", EOS]);
        let p = FastTextParams {
            maxn: 0,
            word_ngrams: 2,
            buckets: 100,
            ..FastTextParams::default()
        };
        let (mut rows, mut s) = (Vec::new(), RowScratch::default());
        dict.rows(&toks("a b unseen"), &p, &mut s, &mut rows);
        // a, b, </s>; bigrams (a b), (b unseen), (unseen </s>): three buckets.
        assert_eq!(&rows[..3], [0, 1, 2]);
        assert_eq!(rows.len(), 6);
        assert!(rows[3..].iter().all(|&r| (3..103).contains(&r)));
        // Unigrams only and no character n-grams: the words and `</s>` alone.
        dict.rows(
            &toks("a zzz"),
            &FastTextParams {
                word_ngrams: 1,
                ..p.clone()
            },
            &mut s,
            &mut rows,
        );
        assert_eq!(rows, [0, 2]);
    }

    /// Two classes told apart by their words, one by character n-grams only (unseen words
    /// sharing a stem), the model saved and loaded; damaged cards and flags refused.
    #[test]
    fn learns_predicts_unseen_forms_and_round_trips() {
        let mut docs = Vec::new();
        let mut y = Vec::new();
        for i in 0..200 {
            let good = i % 2 == 0;
            let w = if good { "wonderful" } else { "terrible" };
            docs.push(toks(&format!("the {w}{} thing {}", i % 7, i % 5)));
            y.push(good as usize);
        }
        let labels = LabelSet::fit(&["0".to_string(), "1".to_string()], None).unwrap();
        let params = FastTextParams {
            epochs: 10,
            buckets: 50_000,
            ..FastTextParams::default()
        };
        let (m, report) = FastText::fit(params.clone(), labels.clone(), &docs, &y).unwrap();
        assert!(report.loss < 0.1, "loss {}", report.loss);
        let unseen = vec![toks("the wonderfulness"), toks("the terribleness"), vec![]];
        let p = m.predict_proba(&unseen).unwrap();
        assert!(p[0][1] > 0.8 && p[1][1] < 0.2, "{p:?}");
        assert!((p[2].iter().sum::<f32>() - 1.0).abs() < 1e-5);
        // Same seed, one thread: the same model.
        let (again, _) = FastText::fit(params.clone(), labels.clone(), &docs, &y).unwrap();
        assert_eq!(again.predict_proba(&unseen).unwrap(), p);
        // Hogwild on two threads still learns.
        let (two, _) = FastText::fit(
            FastTextParams {
                threads: 2,
                ..params.clone()
            },
            labels.clone(),
            &docs,
            &y,
        )
        .unwrap();
        assert!(two.predict_proba(&unseen).unwrap()[0][1] > 0.8);

        let dir = std::env::temp_dir().join(format!("rnnlab-fasttext-{}", std::process::id()));
        m.save(&dir, serde_json::json!({})).unwrap();
        let (loaded, card) = FastText::load(&dir).unwrap();
        assert_eq!(card.kind, "fasttext");
        assert_eq!(loaded.predict_proba(&unseen).unwrap(), p);
        // A card whose sizes disagree with the weights, or unknown keys: errors naming the file.
        let card_path = dir.join("model.json");
        let good_card = std::fs::read_to_string(&card_path).unwrap();
        for (from, to) in [
            ("\"dim\": 64", "\"dim\": 65"),
            ("\"kind\": \"fasttext\"", "\"kind\": \"fasttext\", \"extra\": 1"),
        ] {
            std::fs::write(&card_path, good_card.replace(from, to)).unwrap();
            let e = FastText::load(&dir).unwrap_err().to_string();
            assert!(e.contains("model"), "{e}");
        }
        std::fs::remove_dir_all(&dir).ok();
        for bad in [
            FastTextParams {
                dim: 0,
                ..params.clone()
            },
            FastTextParams {
                minn: 6,
                maxn: 5,
                ..params.clone()
            },
            FastTextParams {
                lr: f64::NAN,
                ..params.clone()
            },
            FastTextParams {
                buckets: 0,
                ..params.clone()
            },
        ] {
            assert!(FastText::fit(bad, labels.clone(), &docs, &y).is_err());
        }
    }
}
