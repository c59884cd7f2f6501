//! Limited-memory BFGS for smooth convex objectives (the linear models' training).

/// Outcome of a minimisation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LbfgsReport {
    pub iterations: usize,
    pub evaluations: usize,
    pub value: f64,
    pub grad_norm: f64,
    pub converged: bool,
}

/// Settings: memory `m`, the relative gradient tolerance (stop when
/// `|g| <= tol * max(1, |g0|)`), and the iteration cap.
#[derive(Debug, Clone, Copy)]
pub struct Lbfgs {
    pub m: usize,
    pub tol: f64,
    pub max_iter: usize,
}

impl Default for Lbfgs {
    fn default() -> Self {
        Lbfgs {
            m: 10,
            tol: 1e-4,
            max_iter: 1000,
        }
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn norm(a: &[f64]) -> f64 {
    dot(a, a).sqrt()
}

impl Lbfgs {
    /// Minimises `f` from `x` in place. `f(x, grad)` returns the value and writes the gradient.
    pub fn minimize(&self, x: &mut [f64], mut f: impl FnMut(&[f64], &mut [f64]) -> f64) -> LbfgsReport {
        let n = x.len();
        let mut g = vec![0.0; n];
        let mut fx = f(x, &mut g);
        let mut evaluations = 1;
        let g0 = norm(&g).max(1.0);
        let mut s_hist: Vec<Vec<f64>> = Vec::new();
        let mut y_hist: Vec<Vec<f64>> = Vec::new();
        let mut rho: Vec<f64> = Vec::new();
        let mut d = vec![0.0; n];
        let mut x_new = vec![0.0; n];
        let mut g_new = vec![0.0; n];
        let mut alpha = vec![0.0; self.m];
        let mut iterations = 0;
        let mut converged = false;
        while iterations < self.max_iter {
            let gn = norm(&g);
            if !gn.is_finite() {
                break;
            }
            if gn <= self.tol * g0 {
                converged = true;
                break;
            }
            // Two-loop recursion: d = -H g.
            d.copy_from_slice(&g);
            let k = s_hist.len();
            for i in (0..k).rev() {
                alpha[i] = rho[i] * dot(&s_hist[i], &d);
                for (dj, yj) in d.iter_mut().zip(&y_hist[i]) {
                    *dj -= alpha[i] * yj;
                }
            }
            let gamma = if k > 0 {
                dot(&s_hist[k - 1], &y_hist[k - 1]) / dot(&y_hist[k - 1], &y_hist[k - 1])
            } else {
                1.0 / gn
            };
            for dj in d.iter_mut() {
                *dj *= gamma;
            }
            for i in 0..k {
                let beta = rho[i] * dot(&y_hist[i], &d);
                for (dj, sj) in d.iter_mut().zip(&s_hist[i]) {
                    *dj += (alpha[i] - beta) * sj;
                }
            }
            for dj in d.iter_mut() {
                *dj = -*dj;
            }
            let mut slope = dot(&g, &d);
            if slope >= 0.0 {
                // Not a descent direction: restart from steepest descent.
                s_hist.clear();
                y_hist.clear();
                rho.clear();
                for (dj, gj) in d.iter_mut().zip(&g) {
                    *dj = -gj / gn;
                }
                slope = dot(&g, &d);
            }
            // Backtracking line search with the Armijo condition.
            let mut step = 1.0;
            let mut accepted = false;
            for _ in 0..40 {
                for ((xn, xi), di) in x_new.iter_mut().zip(x.iter()).zip(&d) {
                    *xn = xi + step * di;
                }
                let f_new = f(&x_new, &mut g_new);
                evaluations += 1;
                if f_new.is_finite() && f_new <= fx + 1e-4 * step * slope {
                    let mut s = vec![0.0; n];
                    let mut yv = vec![0.0; n];
                    for j in 0..n {
                        s[j] = x_new[j] - x[j];
                        yv[j] = g_new[j] - g[j];
                    }
                    let sy = dot(&s, &yv);
                    let decrease = fx - f_new;
                    x.copy_from_slice(&x_new);
                    g.copy_from_slice(&g_new);
                    fx = f_new;
                    if sy > 1e-12 {
                        if s_hist.len() == self.m {
                            s_hist.remove(0);
                            y_hist.remove(0);
                            rho.remove(0);
                        }
                        s_hist.push(s);
                        y_hist.push(yv);
                        rho.push(1.0 / sy);
                    }
                    accepted = true;
                    if decrease <= 1e-12 * fx.abs().max(1.0) {
                        converged = true;
                    }
                    break;
                }
                step *= 0.5;
            }
            iterations += 1;
            if !accepted || converged {
                converged = converged || !accepted && norm(&g) <= 1e3 * self.tol * g0;
                break;
            }
        }
        LbfgsReport {
            iterations,
            evaluations,
            value: fx,
            grad_norm: norm(&g),
            converged,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimises_a_quadratic_and_rosenbrock() {
        let mut x = vec![3.0, -2.0, 1.0];
        let r = Lbfgs::default().minimize(&mut x, |x, g| {
            let w = [1.0, 10.0, 100.0];
            let mut f = 0.0;
            for i in 0..3 {
                f += 0.5 * w[i] * (x[i] - 1.0) * (x[i] - 1.0);
                g[i] = w[i] * (x[i] - 1.0);
            }
            f
        });
        assert!(r.converged);
        assert!(x.iter().all(|v| (v - 1.0).abs() < 1e-3), "{x:?}");

        let mut x = vec![-1.2, 1.0];
        let opt = Lbfgs {
            tol: 1e-8,
            ..Default::default()
        };
        opt.minimize(&mut x, |x, g| {
            let (a, b) = (x[0], x[1]);
            g[0] = -2.0 * (1.0 - a) - 400.0 * a * (b - a * a);
            g[1] = 200.0 * (b - a * a);
            (1.0 - a).powi(2) + 100.0 * (b - a * a).powi(2)
        });
        assert!((x[0] - 1.0).abs() < 1e-3 && (x[1] - 1.0).abs() < 1e-3, "{x:?}");
    }
}
