//! Classification metrics in the `metrics.json` schema of DESIGN.md.

use serde::{Deserialize, Serialize};

/// Metrics of one split. `f1`, `precision`, `recall` are the positive class's (binary only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitMetrics {
    pub accuracy: f64,
    pub f1_macro: f64,
    pub precision_macro: f64,
    pub recall_macro: f64,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub f1: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub precision: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub recall: Option<f64>,
    /// Rows are true classes, columns predicted, both in label order.
    pub confusion: Vec<Vec<u64>>,
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// Precision, recall and F1 of class `k` (0 when undefined, as scikit-learn's `zero_division=0`).
fn prf(conf: &[Vec<u64>], k: usize) -> (f64, f64, f64) {
    let tp = conf[k][k];
    let predicted: u64 = conf.iter().map(|row| row[k]).sum();
    let actual: u64 = conf[k].iter().sum();
    let p = ratio(tp, predicted);
    let r = ratio(tp, actual);
    let f = if p + r > 0.0 { 2.0 * p * r / (p + r) } else { 0.0 };
    (p, r, f)
}

impl SplitMetrics {
    pub fn compute(y_true: &[usize], y_pred: &[usize], n_classes: usize, positive: Option<usize>) -> Self {
        let mut confusion = vec![vec![0u64; n_classes]; n_classes];
        for (&t, &p) in y_true.iter().zip(y_pred) {
            confusion[t][p] += 1;
        }
        Self::from_confusion(confusion, positive)
    }

    /// The metrics of a confusion matrix (rows true classes, columns predicted): how pooled
    /// figures are made, e.g. over the held folds of a cross-validation.
    pub fn from_confusion(confusion: Vec<Vec<u64>>, positive: Option<usize>) -> Self {
        let n_classes = confusion.len();
        let total: u64 = confusion.iter().flatten().sum();
        let correct: u64 = (0..n_classes).map(|k| confusion[k][k]).sum();
        let per: Vec<(f64, f64, f64)> = (0..n_classes).map(|k| prf(&confusion, k)).collect();
        let mean = |f: fn(&(f64, f64, f64)) -> f64| per.iter().map(f).sum::<f64>() / n_classes as f64;
        let pos = positive.map(|k| per[k]);
        SplitMetrics {
            accuracy: ratio(correct, total),
            f1_macro: mean(|x| x.2),
            precision_macro: mean(|x| x.0),
            recall_macro: mean(|x| x.1),
            f1: pos.map(|x| x.2),
            precision: pos.map(|x| x.0),
            recall: pos.map(|x| x.1),
            confusion,
        }
    }

    /// The figure a task is judged by: positive-class F1 for binary tasks, else macro-F1.
    pub fn main_metric(&self) -> f64 {
        self.f1.unwrap_or(self.f1_macro)
    }
}

/// Predicted classes from probabilities `[n, k]`: argmax, or for a binary task the positive
/// class when its probability reaches `threshold`.
pub fn predict_classes(proba: &[Vec<f32>], positive: Option<usize>, threshold: Option<f64>) -> Vec<usize> {
    proba
        .iter()
        .map(|p| match (positive, threshold) {
            (Some(k), Some(t)) if p.len() == 2 => {
                if p[k] as f64 >= t {
                    k
                } else {
                    1 - k
                }
            }
            _ => p
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1).then(b.0.cmp(&a.0)))
                .map(|(i, _)| i)
                .unwrap_or(0),
        })
        .collect()
}

/// The decision threshold with the best positive-class F1 on validation data, over
/// 0.05, 0.06, ..., 0.95 (the anchors' grid); the first best wins.
pub fn best_threshold(y_true: &[usize], proba: &[Vec<f32>], positive: usize) -> f64 {
    let mut best = (0.5, -1.0);
    for i in 0..=90 {
        let t = 0.05 + i as f64 * 0.01;
        let pred = predict_classes(proba, Some(positive), Some(t));
        let f1 = SplitMetrics::compute(y_true, &pred, 2, Some(positive))
            .f1
            .unwrap_or(0.0);
        if f1 > best.1 {
            best = (t, f1);
        }
    }
    (best.0 * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_metrics_match_hand_counts() {
        // tp 2, fp 1, fn 1, tn 1
        let m = SplitMetrics::compute(&[1, 1, 1, 0, 0], &[1, 1, 0, 1, 0], 2, Some(1));
        assert_eq!(m.confusion, vec![vec![1, 1], vec![1, 2]]);
        assert!((m.precision.unwrap() - 2.0 / 3.0).abs() < 1e-12);
        assert!((m.recall.unwrap() - 2.0 / 3.0).abs() < 1e-12);
        assert!((m.accuracy - 0.6).abs() < 1e-12);
        assert!((m.f1_macro - (2.0 / 3.0 + 0.5) / 2.0).abs() < 1e-12);
    }

    #[test]
    fn pooled_confusion_gives_the_metrics_of_all_rows_together() {
        let (y1, p1) = ([1, 1, 0, 0], [1, 0, 1, 0]);
        let (y2, p2) = ([1, 0, 0], [1, 0, 0]);
        let a = SplitMetrics::compute(&y1, &p1, 2, Some(1));
        let b = SplitMetrics::compute(&y2, &p2, 2, Some(1));
        let sum: Vec<Vec<u64>> = (0..2)
            .map(|i| (0..2).map(|j| a.confusion[i][j] + b.confusion[i][j]).collect())
            .collect();
        let pooled = SplitMetrics::from_confusion(sum, Some(1));
        let all = SplitMetrics::compute(&[1, 1, 0, 0, 1, 0, 0], &[1, 0, 1, 0, 1, 0, 0], 2, Some(1));
        assert_eq!(pooled, all);
        // tp 2, fp 1, fn 1: F1 2/3, which is not the mean of the two parts' F1 (0.5 and 1).
        assert!((pooled.f1.unwrap() - 2.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn undefined_precision_is_zero() {
        let m = SplitMetrics::compute(&[0, 0, 1], &[0, 0, 0], 2, Some(1));
        assert_eq!(m.f1, Some(0.0));
        assert_eq!(m.main_metric(), 0.0);
    }

    #[test]
    fn thresholds() {
        let proba = vec![vec![0.8, 0.2], vec![0.7, 0.3], vec![0.1, 0.9]];
        assert_eq!(predict_classes(&proba, Some(1), Some(0.25)), [0, 1, 1]);
        assert_eq!(predict_classes(&proba, None, None), [0, 0, 1]);
        let t = best_threshold(&[0, 1, 1], &proba, 1);
        assert!(t > 0.2 && t <= 0.3, "{t}");
    }
}
