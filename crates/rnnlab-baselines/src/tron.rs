//! Trust-region Newton (TRON, as in liblinear: Lin, Weng & Keerthi, 2008) for L2-regularised
//! binary logistic regression, the solver scikit-learn uses for binary tasks. Newton steps
//! come from conjugate gradients on Hessian-vector products, so no matrix is ever formed.

use rayon::prelude::*;
use rnnlab_vectorize::CsrMatrix;

/// The objective `0.5 |w|^2 + C * sum_i s_i log(1 + exp(-y_i (x_i . w + b)))`, with the
/// intercept `b` last in `w` and regularised only when `penalize_intercept`.
pub struct BinaryLogistic<'a> {
    pub x: &'a CsrMatrix,
    pub xt: &'a CsrMatrix,
    /// +1 / -1
    pub y: &'a [f64],
    /// C times the sample weight.
    pub cw: &'a [f64],
    pub penalize_intercept: bool,
    /// Per-row curvature from the last gradient evaluation.
    d: Vec<f64>,
    z: Vec<f64>,
}

impl<'a> BinaryLogistic<'a> {
    pub fn new(x: &'a CsrMatrix, xt: &'a CsrMatrix, y: &'a [f64], cw: &'a [f64], penalize_intercept: bool) -> Self {
        let n = x.n_rows();
        BinaryLogistic {
            x,
            xt,
            y,
            cw,
            penalize_intercept,
            d: vec![0.0; n],
            z: vec![0.0; n],
        }
    }

    fn dim(&self) -> usize {
        self.x.n_cols() + 1
    }

    /// `out = X w + b`.
    fn xv(&self, w: &[f64], out: &mut [f64]) {
        let nf = self.x.n_cols();
        let b = w[nf];
        out.par_iter_mut().enumerate().with_min_len(256).for_each(|(i, o)| {
            let (cols, vals) = self.x.row(i);
            let mut s = b;
            for (&c, &v) in cols.iter().zip(vals) {
                s += w[c as usize] * v as f64;
            }
            *o = s;
        });
    }

    /// `out[..nf] = X^T u`, `out[nf] = sum(u)`.
    fn xtv(&self, u: &[f64], out: &mut [f64]) {
        let nf = self.x.n_cols();
        let (of, ob) = out.split_at_mut(nf);
        of.par_iter_mut().enumerate().with_min_len(1024).for_each(|(f, o)| {
            let (rows, vals) = self.xt.row(f);
            let mut s = 0.0;
            for (&r, &v) in rows.iter().zip(vals) {
                s += u[r as usize] * v as f64;
            }
            *o = s;
        });
        ob[0] = u.par_iter().sum();
    }

    fn reg(&self, w: &[f64]) -> f64 {
        let nf = self.x.n_cols();
        let mut r: f64 = w[..nf].par_iter().map(|v| v * v).sum();
        if self.penalize_intercept {
            r += w[nf] * w[nf];
        }
        0.5 * r
    }

    pub fn value(&mut self, w: &[f64]) -> f64 {
        let mut z = std::mem::take(&mut self.z);
        self.xv(w, &mut z);
        let loss: f64 = z
            .par_iter()
            .zip(self.y.par_iter().zip(self.cw.par_iter()))
            .map(|(&zi, (&yi, &ci))| {
                let m = yi * zi;
                // log(1 + exp(-m)), stable.
                ci * if m >= 0.0 {
                    (-m).exp().ln_1p()
                } else {
                    -m + m.exp().ln_1p()
                }
            })
            .sum();
        self.z = z;
        loss + self.reg(w)
    }

    /// Gradient at the point of the last `value` call; also stores the curvature.
    pub fn grad(&mut self, w: &[f64], g: &mut [f64]) {
        let nf = self.x.n_cols();
        let mut u = vec![0.0; self.x.n_rows()];
        u.par_iter_mut()
            .zip(self.d.par_iter_mut())
            .enumerate()
            .for_each(|(i, (ui, di))| {
                let s = 1.0 / (1.0 + (-self.y[i] * self.z[i]).exp());
                *di = self.cw[i] * s * (1.0 - s);
                *ui = self.cw[i] * (s - 1.0) * self.y[i];
            });
        self.xtv(&u, g);
        for f in 0..nf {
            g[f] += w[f];
        }
        if self.penalize_intercept {
            g[nf] += w[nf];
        }
    }

    /// Hessian-vector product `H v = v + X^T D X v`.
    pub fn hv(&self, v: &[f64], out: &mut [f64]) {
        let nf = self.x.n_cols();
        let mut xv = vec![0.0; self.x.n_rows()];
        self.xv(v, &mut xv);
        xv.par_iter_mut().zip(self.d.par_iter()).for_each(|(a, d)| *a *= d);
        self.xtv(&xv, out);
        for f in 0..nf {
            out[f] += v[f];
        }
        if self.penalize_intercept {
            out[nf] += v[nf];
        }
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn norm(a: &[f64]) -> f64 {
    dot(a, a).sqrt()
}

/// Result of a TRON run.
#[derive(Debug, Clone, Copy)]
pub struct TronReport {
    pub iterations: usize,
    pub cg_iterations: usize,
    pub value: f64,
    pub converged: bool,
}

/// Minimises `fun` from `w` (liblinear's `TRON::tron`), stopping when
/// `|g| <= eps * |g0|` or after `max_iter` Newton steps.
pub fn tron(fun: &mut BinaryLogistic, w: &mut [f64], eps: f64, max_iter: usize) -> TronReport {
    let (eta0, eta1, eta2): (f64, f64, f64) = (1e-4, 0.25, 0.75);
    let (sigma1, sigma2, sigma3): (f64, f64, f64) = (0.25, 0.5, 4.0);
    let n = fun.dim();
    let mut g = vec![0.0; n];
    let mut s = vec![0.0; n];
    let mut r = vec![0.0; n];
    let mut w_new = vec![0.0; n];
    let mut f = fun.value(w);
    fun.grad(w, &mut g);
    let gnorm0 = norm(&g);
    let mut delta = gnorm0;
    let mut gnorm = gnorm0;
    let mut iterations = 0;
    let mut cg_total = 0;
    let mut converged = gnorm <= eps * gnorm0;
    let mut iter = 1;
    while iter <= max_iter && !converged {
        cg_total += trcg(fun, delta, &g, &mut s, &mut r);
        for i in 0..n {
            w_new[i] = w[i] + s[i];
        }
        let gs = dot(&g, &s);
        let prered = -0.5 * (gs - dot(&s, &r));
        let fnew = fun.value(&w_new);
        let actred = f - fnew;
        let snorm = norm(&s);
        if iter == 1 {
            delta = delta.min(snorm);
        }
        let alpha = if fnew - f - gs <= 0.0 {
            sigma3
        } else {
            sigma1.max(-0.5 * (gs / (fnew - f - gs)))
        };
        if actred < eta0 * prered {
            delta = (alpha.max(sigma1) * snorm).min(sigma2 * delta);
        } else if actred < eta1 * prered {
            delta = (sigma1 * delta).max((alpha * snorm).min(sigma2 * delta));
        } else if actred < eta2 * prered {
            delta = (sigma1 * delta).max((alpha * snorm).min(sigma3 * delta));
        } else {
            delta = delta.max((alpha * snorm).min(sigma3 * delta));
        }
        if actred > eta0 * prered {
            iter += 1;
            iterations += 1;
            w.copy_from_slice(&w_new);
            f = fnew;
            fun.grad(w, &mut g);
            gnorm = norm(&g);
            if gnorm <= eps * gnorm0 {
                converged = true;
                break;
            }
        } else {
            // Rejected step: restore the curvature of the current point.
            fun.value(w);
            fun.grad(w, &mut g);
        }
        if !f.is_finite() || f < -1e32 {
            break;
        }
        if actred.abs() <= 0.0 && prered <= 0.0 {
            break;
        }
        if actred.abs() <= 1e-12 * f.abs() && prered.abs() <= 1e-12 * f.abs() {
            converged = true;
            break;
        }
    }
    let _ = gnorm;
    TronReport {
        iterations,
        cg_iterations: cg_total,
        value: f,
        converged,
    }
}

/// Truncated conjugate gradients for `H s = -g` inside the trust region `|s| <= delta`;
/// leaves the residual in `r`. Returns the number of CG steps.
fn trcg(fun: &BinaryLogistic, delta: f64, g: &[f64], s: &mut [f64], r: &mut [f64]) -> usize {
    let n = g.len();
    let mut d = vec![0.0; n];
    let mut hd = vec![0.0; n];
    for i in 0..n {
        s[i] = 0.0;
        r[i] = -g[i];
        d[i] = r[i];
    }
    let cgtol = 0.1 * norm(g);
    let mut rtr = dot(r, r);
    let mut steps = 0;
    while rtr.sqrt() > cgtol && steps < 1000 {
        steps += 1;
        fun.hv(&d, &mut hd);
        let dhd = dot(&d, &hd);
        if dhd <= 0.0 {
            break;
        }
        let mut alpha = rtr / dhd;
        for i in 0..n {
            s[i] += alpha * d[i];
        }
        if norm(s) > delta {
            for i in 0..n {
                s[i] -= alpha * d[i];
            }
            let std = dot(s, &d);
            let sts = dot(s, s);
            let dtd = dot(&d, &d);
            let dsq = delta * delta;
            let rad = (std * std + dtd * (dsq - sts)).max(0.0).sqrt();
            alpha = if std >= 0.0 {
                (dsq - sts) / (std + rad)
            } else {
                (rad - std) / dtd
            };
            for i in 0..n {
                s[i] += alpha * d[i];
                r[i] -= alpha * hd[i];
            }
            break;
        }
        for i in 0..n {
            r[i] -= alpha * hd[i];
        }
        let rnew = dot(r, r);
        let beta = rnew / rtr;
        for i in 0..n {
            d[i] = r[i] + beta * d[i];
        }
        rtr = rnew;
    }
    steps
}
