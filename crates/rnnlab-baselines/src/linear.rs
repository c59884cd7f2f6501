//! Linear classifiers on sparse rows: logistic regression (L2, class weights, binary and
//! multinomial), multinomial naive Bayes, and NB-LR (Wang & Manning, 2012).

use rayon::prelude::*;
use rnnlab_vectorize::CsrMatrix;
use serde::{Deserialize, Serialize};

use crate::lbfgs::{Lbfgs, LbfgsReport};
use crate::Error;

/// Class weights, as scikit-learn's `class_weight`.
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ClassWeight {
    #[default]
    None,
    /// `n_samples / (n_classes * count(class))`.
    Balanced,
}

/// Per-sample weights of `cw` (scikit-learn's `class_weight`), shared with the recurrent loss.
pub fn sample_weights(y: &[usize], n_classes: usize, cw: ClassWeight) -> Vec<f64> {
    match cw {
        ClassWeight::None => vec![1.0; y.len()],
        ClassWeight::Balanced => {
            let mut counts = vec![0usize; n_classes];
            for &k in y {
                counts[k] += 1;
            }
            let w: Vec<f64> = counts
                .iter()
                .map(|&c| {
                    if c == 0 {
                        0.0
                    } else {
                        y.len() as f64 / (n_classes as f64 * c as f64)
                    }
                })
                .collect();
            y.iter().map(|&k| w[k]).collect()
        }
    }
}

fn check_rows(x: &CsrMatrix, y: &[usize], n_classes: usize) -> Result<(), Error> {
    if x.n_rows() != y.len() {
        return Err(Error::Data(format!(
            "{} rows of features but {} labels",
            x.n_rows(),
            y.len()
        )));
    }
    if x.n_rows() == 0 {
        return Err(Error::Data("no training rows".into()));
    }
    if let Some(&bad) = y.iter().find(|&&k| k >= n_classes) {
        return Err(Error::Data(format!(
            "class index {bad} is not below n_classes = {n_classes}"
        )));
    }
    Ok(())
}

/// Logistic regression parameters (scikit-learn's names).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogRegParams {
    /// Inverse regularisation strength: the objective is `C * sum(loss) + |w|^2 / 2`.
    #[serde(rename = "C")]
    pub c: f64,
    pub class_weight: ClassWeight,
    pub max_iter: usize,
    pub tol: f64,
    /// Regularise the intercept too, as liblinear does (scikit-learn's binary solver).
    pub penalize_intercept: bool,
}

impl Default for LogRegParams {
    fn default() -> Self {
        LogRegParams {
            c: 1.0,
            class_weight: ClassWeight::None,
            max_iter: 1000,
            tol: 1e-4,
            penalize_intercept: false,
        }
    }
}

/// A fitted logistic regression. Binary tasks have one weight row (the positive class's
/// log-odds), multi-class tasks one row per class (softmax).
#[derive(Debug, Clone, PartialEq)]
pub struct LogisticRegression {
    pub n_features: usize,
    pub n_classes: usize,
    /// `[rows, n_features]`, row-major.
    pub coef: Vec<f32>,
    pub intercept: Vec<f32>,
    pub report: Option<LbfgsReport>,
}

#[inline]
fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// log(1 + e^z), without overflow.
#[inline]
fn softplus(z: f64) -> f64 {
    if z > 0.0 {
        z + (-z).exp().ln_1p()
    } else {
        z.exp().ln_1p()
    }
}

/// Sparse rows times dense weights: `out[i * k + j] = x_i . w_j + b_j`.
fn scores(x: &CsrMatrix, w: &[f64], b: &[f64], k: usize, nf: usize, out: &mut [f64]) {
    out.par_chunks_mut(k).enumerate().for_each(|(i, o)| {
        let (cols, vals) = x.row(i);
        for j in 0..k {
            let wj = &w[j * nf..(j + 1) * nf];
            let mut s = b[j];
            for (&c, &v) in cols.iter().zip(vals) {
                s += wj[c as usize] * v as f64;
            }
            o[j] = s;
        }
    });
}

impl LogisticRegression {
    /// Fits on rows `x` with classes `y` (0..n_classes).
    pub fn fit(x: &CsrMatrix, y: &[usize], n_classes: usize, params: &LogRegParams) -> Result<Self, Error> {
        check_rows(x, y, n_classes)?;
        if !(params.c > 0.0 && params.c.is_finite()) {
            return Err(Error::Param(format!("C = {} must be a positive number", params.c)));
        }
        // Columns that never occur get weight 0 at the optimum (their gradient is the L2
        // term alone); train on the occurring ones only, then spread the weights back.
        let mut used = vec![false; x.n_cols()];
        for &c in x.indices() {
            used[c as usize] = true;
        }
        let n_used = used.iter().filter(|&&u| u).count();
        if n_used < x.n_cols() / 2 {
            let mut new_index = vec![u32::MAX; x.n_cols()];
            let mut old_index = Vec::with_capacity(n_used);
            for (c, &u) in used.iter().enumerate() {
                if u {
                    new_index[c] = old_index.len() as u32;
                    old_index.push(c);
                }
            }
            let rows: Vec<Vec<(u32, f32)>> = (0..x.n_rows())
                .map(|r| {
                    let (cols, vals) = x.row(r);
                    cols.iter()
                        .zip(vals)
                        .map(|(&c, &v)| (new_index[c as usize], v))
                        .collect()
                })
                .collect();
            let compact = CsrMatrix::from_rows(n_used, rows)?;
            let small = Self::fit(&compact, y, n_classes, params)?;
            let k = small.intercept.len();
            let mut coef = vec![0.0f32; k * x.n_cols()];
            for j in 0..k {
                for (new, &old) in old_index.iter().enumerate() {
                    coef[j * x.n_cols() + old] = small.coef[j * n_used + new];
                }
            }
            return Ok(LogisticRegression {
                n_features: x.n_cols(),
                coef,
                ..small
            });
        }
        let nf = x.n_cols();
        let k = if n_classes == 2 { 1 } else { n_classes };
        let sw = sample_weights(y, n_classes, params.class_weight);
        let xt = x.transpose();
        if k == 1 {
            return Ok(Self::fit_binary(x, &xt, y, &sw, params));
        }
        let n = x.n_rows();
        let c = params.c;
        let mut theta = vec![0.0f64; k * nf + k];
        let mut z = vec![0.0f64; n * k];
        let mut resid = vec![0.0f64; n * k];
        let opt = Lbfgs {
            m: 10,
            tol: params.tol,
            max_iter: params.max_iter,
        };
        let report = opt.minimize(&mut theta, |th, grad| {
            let (w, b) = th.split_at(k * nf);
            scores(x, w, b, k, nf, &mut z);
            // Loss and residuals (dloss/dz) per row.
            let loss: f64 = resid
                .par_chunks_mut(k)
                .zip(z.par_chunks(k))
                .enumerate()
                .map(|(i, (r, zi))| {
                    let s = sw[i] * c;
                    if k == 1 {
                        let t = (y[i] == 1) as u8 as f64;
                        r[0] = s * (sigmoid(zi[0]) - t);
                        s * (softplus(zi[0]) - t * zi[0])
                    } else {
                        let m = zi.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                        let sum: f64 = zi.iter().map(|v| (v - m).exp()).sum();
                        let lse = m + sum.ln();
                        for j in 0..k {
                            let p = (zi[j] - lse).exp();
                            r[j] = s * (p - (y[i] == j) as u8 as f64);
                        }
                        s * (lse - zi[y[i]])
                    }
                })
                .sum();
            let (gw, gb) = grad.split_at_mut(k * nf);
            // Feature gradients column by column (x transposed), in parallel.
            const BLOCK: usize = 4096;
            gw.par_chunks_mut(BLOCK).enumerate().for_each(|(blk, out)| {
                for (off, g) in out.iter_mut().enumerate() {
                    let at = blk * BLOCK + off;
                    let (j, f) = (at / nf, at % nf);
                    let (rows, vals) = xt.row(f);
                    let mut s = 0.0;
                    for (&r, &v) in rows.iter().zip(vals) {
                        s += resid[r as usize * k + j] * v as f64;
                    }
                    *g = s + w[at];
                }
            });
            let mut reg = 0.5 * w.iter().map(|v| v * v).sum::<f64>();
            for j in 0..k {
                gb[j] = (0..n).map(|i| resid[i * k + j]).sum::<f64>();
                if params.penalize_intercept {
                    gb[j] += b[j];
                    reg += 0.5 * b[j] * b[j];
                }
            }
            loss + reg
        });
        if !report.value.is_finite() {
            return Err(Error::Training("logistic regression diverged (non-finite loss)".into()));
        }
        let (w, b) = theta.split_at(k * nf);
        Ok(LogisticRegression {
            n_features: nf,
            n_classes,
            coef: w.iter().map(|&v| v as f32).collect(),
            intercept: b.iter().map(|&v| v as f32).collect(),
            report: Some(report),
        })
    }

    /// Binary tasks: liblinear's trust-region Newton method, with its stopping rule
    /// (`|g| <= tol * max(1, min(n_pos, n_neg)) / n * |g0|`).
    fn fit_binary(x: &CsrMatrix, xt: &CsrMatrix, y: &[usize], sw: &[f64], params: &LogRegParams) -> Self {
        let ys: Vec<f64> = y.iter().map(|&k| if k == 1 { 1.0 } else { -1.0 }).collect();
        let cw: Vec<f64> = sw.iter().map(|s| s * params.c).collect();
        let pos = y.iter().filter(|&&k| k == 1).count();
        let eps = params.tol * (pos.min(y.len() - pos).max(1) as f64) / y.len() as f64;
        let mut fun = crate::tron::BinaryLogistic::new(x, xt, &ys, &cw, params.penalize_intercept);
        let nf = x.n_cols();
        let mut w = vec![0.0; nf + 1];
        let rep = crate::tron::tron(&mut fun, &mut w, eps, params.max_iter);
        LogisticRegression {
            n_features: nf,
            n_classes: 2,
            coef: w[..nf].iter().map(|&v| v as f32).collect(),
            intercept: vec![w[nf] as f32],
            report: Some(LbfgsReport {
                iterations: rep.iterations,
                evaluations: rep.cg_iterations,
                value: rep.value,
                grad_norm: 0.0,
                converged: rep.converged,
            }),
        }
    }

    fn rows(&self) -> usize {
        self.intercept.len()
    }

    /// Class probabilities, `[n, n_classes]`.
    pub fn predict_proba(&self, x: &CsrMatrix) -> Result<Vec<Vec<f32>>, Error> {
        x.expect_cols(self.n_features, "this logistic regression")
            .map_err(|e| Error::Data(e.to_string()))?;
        let k = self.rows();
        let w: Vec<f64> = self.coef.iter().map(|&v| v as f64).collect();
        let b: Vec<f64> = self.intercept.iter().map(|&v| v as f64).collect();
        let mut z = vec![0.0; x.n_rows() * k];
        scores(x, &w, &b, k, self.n_features, &mut z);
        Ok(z.chunks(k)
            .map(|zi| {
                if k == 1 {
                    let p = sigmoid(zi[0]);
                    vec![(1.0 - p) as f32, p as f32]
                } else {
                    let m = zi.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                    let e: Vec<f64> = zi.iter().map(|v| (v - m).exp()).collect();
                    let s: f64 = e.iter().sum();
                    e.iter().map(|v| (v / s) as f32).collect()
                }
            })
            .collect())
    }

    /// Weight of feature `f` for class `class` (binary: positive class positive).
    pub fn weight(&self, class: usize, f: usize) -> f32 {
        if self.rows() == 1 {
            let w = self.coef[f];
            if class == 1 {
                w
            } else {
                -w
            }
        } else {
            self.coef[class * self.n_features + f]
        }
    }
}

/// Multinomial naive Bayes with additive (Laplace/Lidstone) smoothing `alpha`.
#[derive(Debug, Clone, PartialEq)]
pub struct MultinomialNb {
    pub n_features: usize,
    pub alpha: f64,
    /// `[n_classes, n_features]`.
    pub feature_log_prob: Vec<f32>,
    pub class_log_prior: Vec<f32>,
}

impl MultinomialNb {
    pub fn fit(x: &CsrMatrix, y: &[usize], n_classes: usize, alpha: f64) -> Result<Self, Error> {
        check_rows(x, y, n_classes)?;
        if alpha.is_nan() || alpha <= 0.0 {
            return Err(Error::Param(format!("alpha = {alpha} must be positive")));
        }
        let nf = x.n_cols();
        let mut fc = vec![0.0f64; n_classes * nf];
        let mut cc = vec![0.0f64; n_classes];
        for (i, &k) in y.iter().enumerate() {
            cc[k] += 1.0;
            let (cols, vals) = x.row(i);
            for (&c, &v) in cols.iter().zip(vals) {
                if v < 0.0 {
                    return Err(Error::Data("naive Bayes needs non-negative features (counts)".into()));
                }
                fc[k * nf + c as usize] += v as f64;
            }
        }
        let mut flp = vec![0.0f32; n_classes * nf];
        for k in 0..n_classes {
            let row = &fc[k * nf..(k + 1) * nf];
            let total: f64 = row.iter().sum::<f64>() + alpha * nf as f64;
            for f in 0..nf {
                flp[k * nf + f] = ((row[f] + alpha) / total).ln() as f32;
            }
        }
        let n = y.len() as f64;
        Ok(MultinomialNb {
            n_features: nf,
            alpha,
            feature_log_prob: flp,
            class_log_prior: cc.iter().map(|&c| (c / n).ln() as f32).collect(),
        })
    }

    pub fn predict_proba(&self, x: &CsrMatrix) -> Result<Vec<Vec<f32>>, Error> {
        x.expect_cols(self.n_features, "this naive Bayes model")
            .map_err(|e| Error::Data(e.to_string()))?;
        let k = self.class_log_prior.len();
        let nf = self.n_features;
        Ok((0..x.n_rows())
            .into_par_iter()
            .map(|i| {
                let (cols, vals) = x.row(i);
                let jll: Vec<f64> = (0..k)
                    .map(|j| {
                        let mut s = self.class_log_prior[j] as f64;
                        for (&c, &v) in cols.iter().zip(vals) {
                            s += self.feature_log_prob[j * nf + c as usize] as f64 * v as f64;
                        }
                        s
                    })
                    .collect();
                let m = jll.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let e: Vec<f64> = jll.iter().map(|v| (v - m).exp()).collect();
                let s: f64 = e.iter().sum();
                e.iter().map(|v| (v / s) as f32).collect()
            })
            .collect())
    }
}

/// NB-LR (Wang & Manning, 2012): binarised features scaled by naive-Bayes log-count ratios,
/// then logistic regression; one-vs-rest for more than two classes.
#[derive(Debug, Clone, PartialEq)]
pub struct NbLr {
    pub n_features: usize,
    pub n_classes: usize,
    /// Log-count ratios, one row per model (`[rows, n_features]`).
    pub ratios: Vec<f32>,
    /// One binary logistic regression per row of `ratios`.
    pub models: Vec<LogisticRegression>,
}

fn binarize_scaled(x: &CsrMatrix, r: &[f32]) -> CsrMatrix {
    let mut out = x.clone();
    out.data_mut()
        .iter_mut()
        .for_each(|v| *v = if *v > 0.0 { 1.0 } else { 0.0 });
    out.scale_columns(r);
    out
}

impl NbLr {
    pub fn fit(x: &CsrMatrix, y: &[usize], n_classes: usize, alpha: f64, params: &LogRegParams) -> Result<Self, Error> {
        check_rows(x, y, n_classes)?;
        let nf = x.n_cols();
        let targets: Vec<usize> = if n_classes == 2 {
            vec![1]
        } else {
            (0..n_classes).collect()
        };
        let mut ratios = Vec::with_capacity(targets.len() * nf);
        let mut models = Vec::with_capacity(targets.len());
        for &t in &targets {
            let mut p = vec![alpha; nf];
            let mut q = vec![alpha; nf];
            for (i, &k) in y.iter().enumerate() {
                let (cols, vals) = x.row(i);
                let side = if k == t { &mut p } else { &mut q };
                for (&c, &v) in cols.iter().zip(vals) {
                    if v > 0.0 {
                        side[c as usize] += 1.0;
                    }
                }
            }
            let (sp, sq): (f64, f64) = (p.iter().sum(), q.iter().sum());
            let r: Vec<f32> = p
                .iter()
                .zip(&q)
                .map(|(a, b)| ((a / sp).ln() - (b / sq).ln()) as f32)
                .collect();
            let xs = binarize_scaled(x, &r);
            let yb: Vec<usize> = y.iter().map(|&k| (k == t) as usize).collect();
            models.push(LogisticRegression::fit(&xs, &yb, 2, params)?);
            ratios.extend(r);
        }
        Ok(NbLr {
            n_features: nf,
            n_classes,
            ratios,
            models,
        })
    }

    pub fn predict_proba(&self, x: &CsrMatrix) -> Result<Vec<Vec<f32>>, Error> {
        x.expect_cols(self.n_features, "this NB-LR model")
            .map_err(|e| Error::Data(e.to_string()))?;
        let nf = self.n_features;
        let per_model: Vec<Vec<Vec<f32>>> = self
            .models
            .iter()
            .enumerate()
            .map(|(m, lr)| lr.predict_proba(&binarize_scaled(x, &self.ratios[m * nf..(m + 1) * nf])))
            .collect::<Result<_, _>>()?;
        if self.n_classes == 2 {
            return Ok(per_model.into_iter().next().unwrap_or_default());
        }
        Ok((0..x.n_rows())
            .map(|i| {
                let s: Vec<f32> = per_model.iter().map(|p| p[i][1]).collect();
                let total: f32 = s.iter().sum::<f32>().max(f32::MIN_POSITIVE);
                s.iter().map(|v| v / total).collect()
            })
            .collect())
    }
}

/// NB-LR's log-count ratio of each bucket on a binary task's training rows (Wang & Manning's
/// NBSVM, smoothing 1): `ln((p_b / |p|) / (q_b / |q|))`, `p` and `q` the positive and
/// negative rows' presence counts plus one. Scaling each n-gram's vector by it before the bag
/// is combined lets the discriminative n-grams speak louder, as NB-LR's features do.
pub fn nb_ratios(bags: &[Vec<u32>], y: &[usize], positive: usize, buckets: usize) -> Vec<f32> {
    let (mut p, mut q) = (vec![1.0f64; buckets], vec![1.0f64; buckets]);
    let mut seen: Vec<u32> = Vec::new();
    for (bag, &k) in bags.iter().zip(y) {
        seen.clear();
        seen.extend(bag.iter().filter(|&&b| (b as usize) < buckets));
        seen.sort_unstable();
        seen.dedup();
        let counts = if k == positive { &mut p } else { &mut q };
        for &b in &seen {
            counts[b as usize] += 1.0;
        }
    }
    let (sp, sq): (f64, f64) = (p.iter().sum(), q.iter().sum());
    p.iter()
        .zip(&q)
        .map(|(a, b)| ((a / sp) / (b / sq)).ln() as f32)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nb_ratios_are_smoothed_log_count_ratios_of_presence() {
        // Bucket 0 in both positives (once twice over), bucket 1 in the negative only, bucket 3
        // nowhere; ids past the buckets are ignored.
        let bags = vec![vec![0, 0, 2], vec![0], vec![1, 2, 9]];
        let y = [1usize, 1, 0];
        let r = nb_ratios(&bags, &y, 1, 4);
        // Positive counts + 1: [3, 1, 2, 1] (sum 7); negative: [1, 2, 2, 1] (sum 6).
        let want = |p: f64, q: f64| ((p / 7.0) / (q / 6.0)).ln() as f32;
        let expected = [want(3.0, 1.0), want(1.0, 2.0), want(2.0, 2.0), want(1.0, 1.0)];
        for (a, b) in r.iter().zip(expected) {
            assert!((a - b).abs() < 1e-6, "{r:?} against {expected:?}");
        }
        assert!(r[0] > 0.0 && r[1] < 0.0, "positive evidence up, negative down");
        // Which class is positive flips the signs.
        let flipped = nb_ratios(&bags, &y, 0, 4);
        assert!(flipped[0] < 0.0 && flipped[1] > 0.0);
    }

    /// Two separable-ish classes on 3 features.
    fn toy() -> (CsrMatrix, Vec<usize>) {
        let rows = vec![
            vec![(0, 1.0), (2, 1.0)],
            vec![(0, 2.0)],
            vec![(0, 1.0), (1, 0.2)],
            vec![(1, 1.0), (2, 1.0)],
            vec![(1, 2.0)],
            vec![(1, 1.0), (0, 0.2)],
        ];
        (CsrMatrix::from_rows(3, rows).unwrap(), vec![0, 0, 0, 1, 1, 1])
    }

    /// Finite-difference check that the fitted point is a minimum of the stated objective.
    #[test]
    fn binary_logreg_reaches_the_optimum() {
        let (x, y) = toy();
        let p = LogRegParams {
            c: 1.0,
            tol: 1e-10,
            ..Default::default()
        };
        let m = LogisticRegression::fit(&x, &y, 2, &p).unwrap();
        let obj = |w: &[f64], b: f64| {
            let mut f = 0.5 * w.iter().map(|v| v * v).sum::<f64>();
            for (i, &yi) in y.iter().enumerate() {
                let (cols, vals) = x.row(i);
                let z: f64 = b + cols
                    .iter()
                    .zip(vals)
                    .map(|(&c, &v)| w[c as usize] * v as f64)
                    .sum::<f64>();
                f += softplus(z) - (yi as f64) * z;
            }
            f
        };
        let w: Vec<f64> = m.coef.iter().map(|&v| v as f64).collect();
        let b = m.intercept[0] as f64;
        let f0 = obj(&w, b);
        for j in 0..3 {
            for d in [-1e-3, 1e-3] {
                let mut w2 = w.clone();
                w2[j] += d;
                assert!(obj(&w2, b) >= f0 - 1e-9, "not a minimum along feature {j}");
            }
        }
        let proba = m.predict_proba(&x).unwrap();
        assert!(proba[0][0] > 0.5 && proba[4][1] > 0.5);
        assert!(m.weight(1, 1) > 0.0 && m.weight(0, 1) < 0.0);
    }

    #[test]
    fn multinomial_logreg_and_nb() {
        let rows = vec![
            vec![(0, 1.0)],
            vec![(1, 1.0)],
            vec![(2, 1.0)],
            vec![(0, 2.0)],
            vec![(1, 2.0)],
            vec![(2, 2.0)],
        ];
        let x = CsrMatrix::from_rows(3, rows).unwrap();
        let y = vec![0, 1, 2, 0, 1, 2];
        let m = LogisticRegression::fit(
            &x,
            &y,
            3,
            &LogRegParams {
                c: 10.0,
                ..Default::default()
            },
        )
        .unwrap();
        let p = m.predict_proba(&x).unwrap();
        for (i, row) in p.iter().enumerate() {
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5);
            assert_eq!(
                crate::metrics::predict_classes(std::slice::from_ref(row), None, None)[0],
                y[i]
            );
        }
        let nb = MultinomialNb::fit(&x, &y, 3, 1.0).unwrap();
        let p = nb.predict_proba(&x).unwrap();
        assert!(p[0][0] > p[0][1] && p[1][1] > p[1][0]);
        // Laplace smoothing: P(f0 | class 0) = (3 + 1) / (3 + 3).
        assert!((nb.feature_log_prob[0] - (4.0f32 / 6.0).ln()).abs() < 1e-6);
        let nblr = NbLr::fit(&x, &y, 3, 1.0, &LogRegParams::default()).unwrap();
        assert_eq!(
            crate::metrics::predict_classes(&nblr.predict_proba(&x).unwrap(), None, None),
            y
        );
    }

    #[test]
    fn bad_inputs() {
        let (x, y) = toy();
        assert!(LogisticRegression::fit(&x, &y[..3], 2, &LogRegParams::default()).is_err());
        assert!(LogisticRegression::fit(
            &x,
            &y,
            2,
            &LogRegParams {
                c: 0.0,
                ..Default::default()
            }
        )
        .is_err());
        let m = LogisticRegression::fit(&x, &y, 2, &LogRegParams::default()).unwrap();
        let other = CsrMatrix::from_rows(5, vec![vec![]]).unwrap();
        assert!(m.predict_proba(&other).is_err());
        let nb = NbLr::fit(&x, &y, 2, 1.0, &LogRegParams::default()).unwrap();
        assert_eq!(nb.predict_proba(&x).unwrap().len(), 6);
    }

    #[test]
    fn balanced_weights() {
        let w = sample_weights(&[0, 0, 0, 1], 2, ClassWeight::Balanced);
        assert_eq!(w, [4.0 / 6.0, 4.0 / 6.0, 4.0 / 6.0, 2.0]);
    }
}
