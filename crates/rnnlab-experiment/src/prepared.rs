//! A data set preprocessed once: tokens of every row, the split, and the encoded labels, which
//! every model kind of a run then shares.

use std::time::Instant;

use rnnlab_baselines::LabelSet;
use rnnlab_text::dataset::{Columns, Dataset, Split};
use rnnlab_text::{Lang, Pipeline, Preprocessor};

use crate::Error;

pub struct Prepared {
    pub name: String,
    pub columns: Columns,
    pub lang: Lang,
    pub pipeline: Pipeline,
    /// The user chose how words are normalised (a flag or a pipeline file): a model recipe
    /// with its own choice (`best-rnn` for English reads words unstemmed, punctuation and
    /// hashtags as tags kept) keeps the user's pipeline.
    pub normalization_chosen: bool,
    /// The raw texts, for reports (misclassified samples).
    pub texts: Vec<String>,
    pub tokens: Vec<Vec<String>>,
    /// Row indices of train, val and test.
    pub rows: [Vec<usize>; 3],
    /// Encoded labels of train, val and test.
    pub y: [Vec<usize>; 3],
    pub labels: LabelSet,
    pub preprocess_s: f64,
}

/// Train, val and test.
pub const SPLITS: [Split; 3] = [Split::Train, Split::Val, Split::Test];

impl Prepared {
    /// Preprocesses every row of `data` and encodes its labels (classes are the sorted
    /// distinct training labels). A pipeline step that learns from texts (hashtag
    /// segmentation) learns from the training rows first; `pipeline` is then the fitted one.
    pub fn new(
        name: &str,
        data: &Dataset,
        columns: Columns,
        pre: &Preprocessor,
        positive_label: Option<&str>,
    ) -> Result<Self, Error> {
        let rows: [Vec<usize>; 3] = SPLITS.map(|s| (0..data.len()).filter(|&i| data.splits[i] == s).collect());
        if rows.iter().any(Vec::is_empty) {
            return Err(Error::Input(format!(
                "{name}: every split needs rows: train {}, val {}, test {}",
                rows[0].len(),
                rows[1].len(),
                rows[2].len()
            )));
        }
        let pick = |r: &[usize]| -> Vec<String> { r.iter().map(|&i| data.labels[i].clone()).collect() };
        let labels = LabelSet::fit(&pick(&rows[0]), positive_label)?;
        let what = ["training data", "validation data", "test data"];
        let y = [0, 1, 2].map(|k| labels.encode(&pick(&rows[k]), what[k]));
        let [y0, y1, y2] = y;
        let t0 = Instant::now();
        let fitted;
        let pre = if pre.needs_fit() {
            let train: Vec<&str> = rows[0].iter().map(|&i| data.texts[i].as_str()).collect();
            fitted = pre.fit(&train)?;
            &fitted
        } else {
            pre
        };
        let (tokens, _) = pre.process_all(&data.texts);
        Ok(Prepared {
            name: name.to_string(),
            columns,
            lang: pre.pipeline().lang,
            pipeline: pre.pipeline().clone(),
            normalization_chosen: false,
            texts: data.texts.clone(),
            tokens,
            rows,
            y: [y0?, y1?, y2?],
            labels,
            preprocess_s: t0.elapsed().as_secs_f64(),
        })
    }

    /// Token lists of split `k` (0 train, 1 val, 2 test).
    pub fn docs(&self, k: usize) -> Vec<Vec<String>> {
        self.rows[k].iter().map(|&i| self.tokens[i].clone()).collect()
    }

    /// A smaller copy for quick runs: at most `max_rows` rows of each split, a stratified-enough
    /// prefix (rows keep their order in the file).
    pub fn slice(&self, max_rows: usize) -> Prepared {
        self.slice_sizes(max_rows, max_rows)
    }

    /// At most `train` training rows and `eval` rows of val and of test.
    pub fn slice_sizes(&self, train: usize, eval: usize) -> Prepared {
        let take = |k: usize| -> (Vec<usize>, Vec<usize>) {
            let n = self.rows[k].len().min(if k == 0 { train } else { eval });
            (self.rows[k][..n].to_vec(), self.y[k][..n].to_vec())
        };
        let (r0, y0) = take(0);
        let (r1, y1) = take(1);
        let (r2, y2) = take(2);
        self.with_rows([r0, r1, r2], [y0, y1, y2])
    }

    /// A copy with other rows in the splits (`rows` and their labels `y`, train, val, test).
    pub fn with_rows(&self, rows: [Vec<usize>; 3], y: [Vec<usize>; 3]) -> Prepared {
        Prepared {
            name: self.name.clone(),
            columns: self.columns.clone(),
            lang: self.lang,
            pipeline: self.pipeline.clone(),
            normalization_chosen: self.normalization_chosen,
            texts: self.texts.clone(),
            tokens: self.tokens.clone(),
            rows,
            y,
            labels: self.labels.clone(),
            preprocess_s: self.preprocess_s,
        }
    }

    /// The same rows preprocessed again by another pipeline (a model recipe's own:
    /// [`crate::ModelSpec::network_pipeline`]); one that lemmatises is an error (no dictionary
    /// is kept here).
    pub fn reprocessed(&self, pipeline: Pipeline) -> Result<Prepared, Error> {
        let pre = Preprocessor::new(pipeline, None)?;
        let t0 = Instant::now();
        let (tokens, _) = pre.process_all(&self.texts);
        Ok(Prepared {
            pipeline: pre.pipeline().clone(),
            tokens,
            preprocess_s: t0.elapsed().as_secs_f64(),
            ..self.with_rows(self.rows.clone(), self.y.clone())
        })
    }

    /// Counts per class in split `k`, in label order.
    pub fn class_counts(&self, k: usize) -> Vec<usize> {
        let mut c = vec![0; self.labels.n_classes()];
        for &y in &self.y[k] {
            c[y] += 1;
        }
        c
    }
}
