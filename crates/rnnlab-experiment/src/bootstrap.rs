//! Paired bootstrap over the test rows: how sure a difference between two models' test figures
//! is. One test split measures a difference only to within its sampling; resampling its rows
//! (the same rows for both models, so their shared easy and hard cases cancel) gives an
//! interval for it.

use rnnlab_baselines::metrics::SplitMetrics;
use rnnlab_kernels::Rng;
use serde_json::{json, Value};

/// Resamples drawn; fixed, with a fixed seed, so a report is repeatable.
pub const RESAMPLES: usize = 2000;

/// `a` minus `b` on the test rows `y` (true classes): each model's figure is the mean over its
/// runs (seeds) of the main metric (positive-class F1, else macro-F1) of their predicted
/// classes. Returns the difference on the rows as they are, the 2.5 and 97.5 percentiles over
/// [`RESAMPLES`] resamples of the rows with replacement, and the share of resamples where `a`
/// is level or ahead. `None` when either model has no runs or a run's length differs from `y`.
pub fn paired_difference(
    y: &[usize],
    a: &[Vec<usize>],
    b: &[Vec<usize>],
    n_classes: usize,
    positive: Option<usize>,
) -> Option<Value> {
    let fits = |runs: &[Vec<usize>]| !runs.is_empty() && runs.iter().all(|p| p.len() == y.len());
    if y.is_empty() || !fits(a) || !fits(b) {
        return None;
    }
    // The mean figure over runs of the rows `idx`, from per-run confusion counts.
    let figure = |runs: &[Vec<usize>], idx: &[usize]| -> f64 {
        let mut conf = vec![vec![vec![0u64; n_classes]; n_classes]; runs.len()];
        for &i in idx {
            for (c, p) in conf.iter_mut().zip(runs) {
                c[y[i]][p[i]] += 1;
            }
        }
        let sum: f64 = conf
            .into_iter()
            .map(|c| SplitMetrics::from_confusion(c, positive).main_metric())
            .sum();
        sum / runs.len() as f64
    };
    let all: Vec<usize> = (0..y.len()).collect();
    let observed = figure(a, &all) - figure(b, &all);
    let mut rng = Rng::new(0x5eed_b007);
    let mut diffs: Vec<f64> = (0..RESAMPLES)
        .map(|_| {
            let idx: Vec<usize> = (0..y.len()).map(|_| rng.below(y.len())).collect();
            figure(a, &idx) - figure(b, &idx)
        })
        .collect();
    diffs.sort_by(f64::total_cmp);
    let at = |q: f64| diffs[((q * (RESAMPLES - 1) as f64).round() as usize).min(RESAMPLES - 1)];
    let ahead = diffs.iter().filter(|&&d| d >= 0.0).count() as f64 / RESAMPLES as f64;
    let r4 = |x: f64| (x * 1e4).round() / 1e4;
    Some(json!({
        "difference": r4(observed),
        "ci95": [r4(at(0.025)), r4(at(0.975))],
        "share_level_or_ahead": r4(ahead),
        "resamples": RESAMPLES,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::slice::from_ref;

    /// 200 rows, 40 positive; `hits` of the positives found, `false_pos` negatives flagged.
    fn predictions(hits: usize, false_pos: usize) -> (Vec<usize>, Vec<usize>) {
        let y: Vec<usize> = (0..200).map(|i| usize::from(i % 5 == 0)).collect();
        let (mut found, mut flagged) = (0, 0);
        let pred = y
            .iter()
            .map(|&c| {
                if c == 1 {
                    found += 1;
                    usize::from(found <= hits)
                } else {
                    flagged += 1;
                    usize::from(flagged <= false_pos)
                }
            })
            .collect();
        (y, pred)
    }

    #[test]
    fn a_model_against_itself_is_level_and_a_better_one_is_ahead() {
        let (y, good) = predictions(36, 4);
        let (_, poor) = predictions(20, 20);
        let same = paired_difference(&y, from_ref(&good), from_ref(&good), 2, Some(1)).unwrap();
        assert_eq!(same["difference"], 0.0);
        assert_eq!(same["ci95"], json!([0.0, 0.0]));
        assert_eq!(same["share_level_or_ahead"], 1.0);
        let vs = paired_difference(&y, from_ref(&good), from_ref(&poor), 2, Some(1)).unwrap();
        let f1 = |p: &[usize]| SplitMetrics::compute(&y, p, 2, Some(1)).main_metric();
        let want = f1(&good) - f1(&poor);
        assert!((vs["difference"].as_f64().unwrap() - want).abs() < 1e-4, "{vs}");
        let (lo, hi) = (vs["ci95"][0].as_f64().unwrap(), vs["ci95"][1].as_f64().unwrap());
        assert!(lo < want && want < hi && lo > 0.0, "{vs}");
        assert!(vs["share_level_or_ahead"].as_f64().unwrap() > 0.99);
        // Swapped: the same interval mirrored.
        let back = paired_difference(&y, from_ref(&poor), from_ref(&good), 2, Some(1)).unwrap();
        assert_eq!(
            back["difference"].as_f64().unwrap(),
            -vs["difference"].as_f64().unwrap()
        );
        assert_eq!(back["ci95"][0].as_f64().unwrap(), -hi);
        // Several runs average; mismatched lengths and no runs give nothing.
        let two = paired_difference(&y, &[good.clone(), good.clone()], from_ref(&good), 2, Some(1)).unwrap();
        assert_eq!(two["difference"], 0.0);
        assert!(paired_difference(&y, &[good[..10].to_vec()], from_ref(&good), 2, Some(1)).is_none());
        assert!(paired_difference(&y, &[], from_ref(&good), 2, Some(1)).is_none());
    }

    #[test]
    fn multiclass_uses_macro_f1() {
        let y: Vec<usize> = (0..90).map(|i| i % 3).collect();
        let right = y.clone();
        let wrong: Vec<usize> = y.iter().map(|&c| (c + 1) % 3).collect();
        let vs = paired_difference(&y, from_ref(&right), from_ref(&wrong), 3, None).unwrap();
        assert_eq!(vs["difference"], 1.0);
        assert_eq!(vs["ci95"], json!([1.0, 1.0]));
    }
}
