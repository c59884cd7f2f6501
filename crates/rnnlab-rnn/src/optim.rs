//! AdamW (and Adam, `weight_decay = 0`) with PyTorch's update, applied in place in one pass
//! over each parameter on the CPU, with the global-norm clipping folded into it. candle-nn's
//! optimiser builds a dozen temporary tensors per parameter and step; for an 11,000-word
//! embedding that allocation traffic costs more than the recurrent layer itself. Other devices
//! use candle-nn's.

use std::sync::Mutex;

use candle_core::backprop::GradStore;
use candle_core::{CpuStorage, InplaceOp1, Layout, Storage, Tensor, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};

use super::ce;
use crate::Error;
use rnnlab_kernels::adamw::{update_slice, Consts};

/// Elements per parallel piece of one parameter's update.
const PIECE: usize = 1 << 15;

/// The moments of one parameter.
pub struct Moments {
    m: Vec<f32>,
    v: Vec<f32>,
}

/// Matching pieces of parameter, gradient and the two moments.
type Piece<'a> = (((&'a mut [f32], &'a [f32]), &'a mut [f32]), &'a mut [f32]);

/// A parameter's values in its storage, checked to be f32, contiguous and of its gradient's
/// size `n`.
fn param_slice<'a>(s1: &'a mut CpuStorage, l1: &Layout, n: usize, what: &str) -> candle_core::Result<&'a mut [f32]> {
    let CpuStorage::F32(p) = s1 else {
        candle_core::bail!("{what}: parameters must be f32");
    };
    if !l1.is_contiguous() || l1.shape().elem_count() != n {
        candle_core::bail!("{what}: parameter and gradient must be contiguous and of one size");
    }
    Ok(&mut p[l1.start_offset()..l1.start_offset() + n])
}

/// One parameter's update, run in place on its storage.
struct Update<'a> {
    grad: &'a [f32],
    moments: Mutex<&'a mut Moments>,
    c: Consts,
}

impl InplaceOp1 for Update<'_> {
    fn name(&self) -> &'static str {
        "adamw-update"
    }

    fn cpu_fwd(&self, s1: &mut CpuStorage, l1: &Layout) -> candle_core::Result<()> {
        let p = param_slice(s1, l1, self.grad.len(), "adamw")?;
        let n = p.len();
        let g = self.grad;
        let mut guard = self
            .moments
            .lock()
            .map_err(|_| candle_core::Error::Msg("poisoned lock".into()))?;
        let Moments { m, v } = &mut **guard;
        let c = self.c;
        let piece = |(((p, g), m), v): Piece<'_>| update_slice(p, g, m, v, c);
        if n > PIECE {
            let pieces: Vec<Piece<'_>> = p
                .chunks_mut(PIECE)
                .zip(g.chunks(PIECE))
                .zip(m.chunks_mut(PIECE))
                .zip(v.chunks_mut(PIECE))
                .collect();
            rnnlab_kernels::parallel::map_mut(pieces, |_, pc| piece(pc));
        } else {
            piece((((p, g), m.as_mut_slice()), v.as_mut_slice()));
        }
        Ok(())
    }
}

/// The sum of squares of a CPU tensor, read in place.
fn sum_sq(t: &Tensor) -> candle_core::Result<f64> {
    let (storage, layout) = t.storage_and_layout();
    match (&*storage, layout.contiguous_offsets()) {
        (Storage::Cpu(CpuStorage::F32(v)), Some((a, b))) => Ok(v[a..b].iter().map(|&x| (x as f64) * (x as f64)).sum()),
        _ => {
            drop(storage);
            t.sqr()?
                .sum_all()?
                .to_dtype(candle_core::DType::F64)?
                .to_scalar::<f64>()
        }
    }
}

/// `param -= step · grad` in place (plain SGD on the CPU: no parameter-sized temporaries).
struct SgdUpdate<'a> {
    grad: &'a [f32],
    step: f32,
}

impl InplaceOp1 for SgdUpdate<'_> {
    fn name(&self) -> &'static str {
        "sgd-update"
    }

    fn cpu_fwd(&self, s1: &mut CpuStorage, l1: &Layout) -> candle_core::Result<()> {
        let p = param_slice(s1, l1, self.grad.len(), "sgd")?;
        p.iter_mut().zip(self.grad).for_each(|(w, &g)| *w -= self.step * g);
        Ok(())
    }
}

/// One step of plain SGD with PyTorch's `clip_grad_norm_` first (`clip` 0: none): in place on
/// the CPU, through candle's operations elsewhere.
pub fn sgd_step(vars: &[Var], grads: &mut candle_core::backprop::GradStore, lr: f64, clip: f64) -> Result<(), Error> {
    let on_cpu = vars
        .iter()
        .all(|v| v.device().is_cpu() && v.dtype() == candle_core::DType::F32);
    if !on_cpu {
        if clip > 0.0 {
            clip_global_norm(grads, vars, clip)?;
        }
        for v in vars {
            if let Some(g) = grads.get(v.as_tensor()) {
                let updated = (v.as_tensor() - (g * lr).map_err(ce)?).map_err(ce)?;
                v.set(&updated).map_err(ce)?;
            }
        }
        return Ok(());
    }
    let mut scale = 1.0;
    if clip > 0.0 {
        let mut sq = 0f64;
        for v in vars {
            if let Some(g) = grads.get(v.as_tensor()) {
                sq += sum_sq(g).map_err(ce)?;
            }
        }
        scale = (clip / (sq.sqrt() + 1e-6)).min(1.0);
    }
    for v in vars {
        let Some(g) = grads.get(v.as_tensor()) else {
            continue;
        };
        let g = g.contiguous().map_err(ce)?;
        let (storage, layout) = g.storage_and_layout();
        let grad = match (&*storage, layout.contiguous_offsets()) {
            (Storage::Cpu(CpuStorage::F32(x)), Some((a, b))) => &x[a..b],
            _ => return Err(Error::Training("sgd: gradients must be f32 on the CPU".into())),
        };
        let update = SgdUpdate {
            grad,
            step: (lr * scale) as f32,
        };
        v.as_tensor().inplace_op1(&update).map_err(ce)?;
    }
    Ok(())
}

/// The gradient of an embedding given by rows: `rows[i]` is the gradient of the vector looked
/// up for `ids[i]`. The update is still PyTorch's dense one (every row's moments decay), but
/// no dense gradient tensor is built per step.
pub struct RowGrad<'a> {
    pub var: &'a Var,
    pub ids: &'a [u32],
    /// `[ids.len(), dim]`, row-major.
    pub rows: &'a [f32],
}

/// AdamW over a fixed list of parameters.
pub enum AdamWOptimizer {
    /// In place, one pass per parameter (CPU).
    Fused {
        vars: Vec<Var>,
        moments: Vec<Moments>,
        params: ParamsAdamW,
        step: i32,
        /// Per parameter, a zeroed dense buffer for its [`RowGrad`]s, reused across steps.
        scratch: Vec<Vec<f32>>,
    },
    /// candle-nn's (other devices).
    Candle { vars: Vec<Var>, opt: AdamW },
    /// In place on a GPU, one kernel per parameter (`optim.cu`); see [`Self::into_gpu`].
    #[cfg(feature = "cuda")]
    Gpu {
        vars: Vec<Var>,
        moments: Vec<rnnlab_kernels::cuda::GpuMoments>,
        params: ParamsAdamW,
        step: i32,
    },
}

impl AdamWOptimizer {
    pub fn new(vars: Vec<Var>, params: ParamsAdamW) -> Result<Self, Error> {
        if vars.iter().all(|v| v.device().is_cpu()) {
            let moments = vars
                .iter()
                .map(|v| Moments {
                    m: vec![0.0; v.elem_count()],
                    v: vec![0.0; v.elem_count()],
                })
                .collect();
            return Ok(AdamWOptimizer::Fused {
                vars,
                moments,
                params,
                step: 0,
                scratch: Vec::new(),
            });
        }
        let opt = AdamW::new(vars.clone(), params).map_err(ce)?;
        Ok(AdamWOptimizer::Candle { vars, opt })
    }

    /// candle-nn's optimiser before its first step turned into the GPU kernel's (not yet the
    /// default on GPUs: it has not run on one).
    #[cfg(feature = "cuda")]
    pub fn into_gpu(self) -> Self {
        match self {
            AdamWOptimizer::Candle { vars, opt } => AdamWOptimizer::Gpu {
                moments: vars.iter().map(|_| Default::default()).collect(),
                vars,
                params: opt.params().clone(),
                step: 0,
            },
            other => other,
        }
    }

    /// Whether this is the in-place CPU optimiser (which takes [`RowGrad`]s).
    pub fn is_fused(&self) -> bool {
        matches!(self, AdamWOptimizer::Fused { .. })
    }

    /// One update at learning rate `lr`, after scaling the gradients so that their joint L2
    /// norm is at most `clip` (PyTorch's `clip_grad_norm_`; `clip <= 0`: no clipping).
    /// Parameters without a gradient are left alone, as PyTorch does.
    pub fn step(&mut self, grads: &mut GradStore, lr: f64, clip: f64) -> Result<(), Error> {
        self.step_with_rows(grads, &[], lr, clip)
    }

    /// [`Self::step`] with some parameters' gradients given by rows instead of in `grads`
    /// (fused optimiser only).
    pub fn step_with_rows(
        &mut self,
        grads: &mut GradStore,
        rows: &[RowGrad<'_>],
        lr: f64,
        clip: f64,
    ) -> Result<(), Error> {
        if !rows.is_empty() && !self.is_fused() {
            return Err(Error::Training("row gradients need the fused CPU optimiser".into()));
        }
        match self {
            #[cfg(feature = "cuda")]
            AdamWOptimizer::Gpu {
                vars,
                moments,
                params,
                step,
            } => {
                let mut grad_scale = 1.0f32;
                if clip > 0.0 {
                    let scale = clip / (global_norm(grads, vars)? + 1e-6);
                    if scale < 1.0 {
                        grad_scale = scale as f32;
                    }
                }
                *step += 1;
                let c = Consts::new(params, *step, lr, grad_scale);
                for (var, moments) in vars.iter().zip(moments.iter()) {
                    let Some(g) = grads.get(var.as_tensor()) else {
                        continue;
                    };
                    let g = g.contiguous().map_err(ce)?;
                    let update = rnnlab_kernels::cuda::GpuUpdate { moments, c };
                    var.as_tensor().inplace_op2(&g, &update).map_err(ce)?;
                }
                Ok(())
            }
            AdamWOptimizer::Candle { vars, opt } => {
                if clip > 0.0 {
                    clip_global_norm(grads, vars, clip)?;
                }
                opt.set_learning_rate(lr);
                opt.step(grads).map_err(ce)
            }
            AdamWOptimizer::Fused {
                vars,
                moments,
                params,
                step,
                scratch,
            } => {
                // Row gradients, scattered into reused dense buffers; `touched` rows per parameter.
                scratch.resize_with(vars.len(), Vec::new);
                let mut touched: Vec<Option<(usize, Vec<u32>)>> = vec![None; vars.len()];
                for rg in rows {
                    let k = vars
                        .iter()
                        .position(|v| v.as_tensor().id() == rg.var.as_tensor().id())
                        .ok_or_else(|| {
                            Error::Training("row gradient of a parameter the optimiser does not hold".into())
                        })?;
                    let n = rg.var.elem_count();
                    let dim = rg.var.dims().last().copied().unwrap_or(1).max(1);
                    if rg.rows.len() != rg.ids.len() * dim {
                        return Err(Error::Training("row gradient: rows do not match ids".into()));
                    }
                    let buf = &mut scratch[k];
                    if buf.len() != n {
                        *buf = vec![0.0; n];
                    }
                    for (&id, r) in rg.ids.iter().zip(rg.rows.chunks_exact(dim)) {
                        let dst = buf
                            .get_mut(id as usize * dim..(id as usize + 1) * dim)
                            .ok_or_else(|| Error::Training(format!("row gradient: id {id} outside the table")))?;
                        dst.iter_mut().zip(r).for_each(|(a, &v)| *a += v);
                    }
                    let entry = touched[k].get_or_insert_with(|| (dim, Vec::new()));
                    entry.1.extend_from_slice(rg.ids);
                }
                for (_, ids) in touched.iter_mut().flatten() {
                    ids.sort_unstable();
                    ids.dedup();
                }
                let mut grad_scale = 1.0f32;
                if clip > 0.0 {
                    let mut sq = 0f64;
                    for v in vars.iter() {
                        if let Some(g) = grads.get(v.as_tensor()) {
                            sq += sum_sq(g).map_err(ce)?;
                        }
                    }
                    for (k, t) in touched.iter().enumerate() {
                        if let Some((dim, ids)) = t {
                            for &id in ids {
                                let r = &scratch[k][id as usize * dim..(id as usize + 1) * dim];
                                sq += r.iter().map(|&x| (x as f64) * (x as f64)).sum::<f64>();
                            }
                        }
                    }
                    let scale = clip / (sq.sqrt() + 1e-6);
                    if scale < 1.0 {
                        grad_scale = scale as f32;
                    }
                }
                *step += 1;
                let c = Consts::new(params, *step, lr, grad_scale);
                for (k, (var, mom)) in vars.iter().zip(moments.iter_mut()).enumerate() {
                    let update = |grad, moments| Update {
                        grad,
                        moments: Mutex::new(moments),
                        c,
                    };
                    if touched[k].is_some() {
                        var.as_tensor().inplace_op1(&update(&scratch[k], mom)).map_err(ce)?;
                        continue;
                    }
                    let Some(g) = grads.get(var.as_tensor()) else {
                        continue;
                    };
                    let g = g.contiguous().map_err(ce)?;
                    let (storage, layout) = g.storage_and_layout();
                    let grad = match (&*storage, layout.contiguous_offsets()) {
                        (Storage::Cpu(CpuStorage::F32(v)), Some((a, b))) => &v[a..b],
                        _ => return Err(Error::Training("adamw: gradients must be f32 on the CPU".into())),
                    };
                    var.as_tensor().inplace_op1(&update(grad, mom)).map_err(ce)?;
                }
                for (k, t) in touched.iter().enumerate() {
                    if let Some((dim, ids)) = t {
                        for &id in ids {
                            scratch[k][id as usize * dim..(id as usize + 1) * dim].fill(0.0);
                        }
                    }
                }
                Ok(())
            }
        }
    }
}

/// The L2 norm of all of `vars`' gradients together. Each parameter's sum of squares stays on
/// the device; one read-back for all of them (on a GPU a read-back per parameter would stall
/// the queue as often).
pub fn global_norm(grads: &candle_core::backprop::GradStore, vars: &[candle_core::Var]) -> Result<f64, Error> {
    let mut sums = Vec::with_capacity(vars.len());
    for v in vars {
        if let Some(g) = grads.get(v.as_tensor()) {
            sums.push(g.sqr().and_then(|s| s.sum_all()).map_err(ce)?);
        }
    }
    if sums.is_empty() {
        return Ok(0.0);
    }
    let sq = Tensor::stack(&sums, 0)
        .and_then(|s| s.to_dtype(candle_core::DType::F64))
        .and_then(|s| s.sum_all())
        .and_then(|s| s.to_scalar::<f64>())
        .map_err(ce)?;
    Ok(sq.sqrt())
}

/// Scales all gradients so that their joint L2 norm is at most `max_norm` (PyTorch's
/// `clip_grad_norm_`). Returns the norm before clipping.
pub fn clip_global_norm(
    grads: &mut candle_core::backprop::GradStore,
    vars: &[candle_core::Var],
    max_norm: f64,
) -> Result<f64, Error> {
    let norm = global_norm(grads, vars)?;
    let scale = max_norm / (norm + 1e-6);
    if scale < 1.0 {
        for v in vars {
            if let Some(g) = grads.remove(v.as_tensor()) {
                grads.insert(v.as_tensor(), (g * scale).map_err(ce)?);
            }
        }
    }
    Ok(norm)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The in-place step is the composed one: clip to the joint norm, then `w - lr · g`.
    #[test]
    fn the_in_place_sgd_step_clips_and_updates_as_the_composed_one() {
        let dev = Device::Cpu;
        let make = || {
            let a = candle_core::Var::new(&[1.0f32, 2.0], &dev).unwrap();
            let b = candle_core::Var::new(&[[3.0f32], [4.0]], &dev).unwrap();
            let loss = (a
                .as_tensor()
                .mul(&Tensor::new(&[3.0f32, 4.0], &dev).unwrap())
                .unwrap()
                .sum_all()
                .unwrap()
                + b.as_tensor().sqr().unwrap().sum_all().unwrap())
            .unwrap();
            let grads = loss.backward().unwrap();
            (vec![a, b], grads)
        };
        for clip in [0.0, 1.0] {
            let (vars, mut grads) = make();
            sgd_step(&vars, &mut grads, 0.5, clip).unwrap();
            let (want_vars, mut want_grads) = make();
            if clip > 0.0 {
                clip_global_norm(&mut want_grads, &want_vars, clip).unwrap();
            }
            for (v, w) in vars.iter().zip(&want_vars) {
                let g = want_grads.get(w.as_tensor()).unwrap();
                let want = (w.as_tensor() - (g * 0.5).unwrap()).unwrap();
                let diff = (v.as_tensor() - want).unwrap().abs().unwrap().max_all().unwrap();
                assert!(diff.to_scalar::<f32>().unwrap() < 1e-6, "clip {clip}");
            }
        }
    }

    #[test]
    fn global_norm_clipping_scales_every_gradient_by_one_factor() {
        let dev = Device::Cpu;
        let a = candle_core::Var::new(&[1.0f32, 2.0], &dev).unwrap();
        let b = candle_core::Var::new(&[[3.0f32], [4.0]], &dev).unwrap();
        let c = candle_core::Var::new(&[7.0f32], &dev).unwrap(); // no gradient
                                                                 // loss = 3 a0 + 4 a1 + 12 b0 + 0 b1: gradients (3, 4) and (12, 0), norm 13.
        let loss = (a
            .as_tensor()
            .mul(&Tensor::new(&[3.0f32, 4.0], &dev).unwrap())
            .unwrap()
            .sum_all()
            .unwrap()
            + b.as_tensor()
                .mul(&Tensor::new(&[[12.0f32], [0.0]], &dev).unwrap())
                .unwrap()
                .sum_all()
                .unwrap())
        .unwrap();
        let vars = [a.clone(), b.clone(), c];
        let mut grads = loss.backward().unwrap();
        let norm = clip_global_norm(&mut grads, &vars, 100.0).unwrap();
        assert!((norm - 13.0).abs() < 1e-9, "{norm}");
        assert_eq!(grads.get(a.as_tensor()).unwrap().to_vec1::<f32>().unwrap(), [3.0, 4.0]);
        let norm = clip_global_norm(&mut grads, &vars, 6.5).unwrap();
        assert!((norm - 13.0).abs() < 1e-9, "{norm}");
        let ga = grads.get(a.as_tensor()).unwrap().to_vec1::<f32>().unwrap();
        let gb = grads
            .get(b.as_tensor())
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        assert!((ga[0] - 1.5).abs() < 1e-5 && (ga[1] - 2.0).abs() < 1e-5, "{ga:?}");
        assert!((gb[0] - 6.0).abs() < 1e-5 && gb[1] == 0.0, "{gb:?}");
    }

    use candle_core::Device;

    /// The fused update and candle-nn's follow PyTorch's AdamW (computed here in f64) step for
    /// step, with and without clipping.
    #[test]
    fn fused_matches_pytorch_formula() {
        let dev = Device::Cpu;
        let n = 70_000;
        let init: Vec<f32> = (0..n).map(|i| ((i as f32) * 0.013).sin()).collect();
        let a = Var::from_vec(init.clone(), (700, 100), &dev).unwrap();
        let b = Var::from_vec(init.clone(), (700, 100), &dev).unwrap();
        let (lr, wd, clip_at) = (1e-2, 0.1, 1.0);
        let params = ParamsAdamW {
            lr,
            weight_decay: wd,
            ..ParamsAdamW::default()
        };
        let mut fused = AdamWOptimizer::new(vec![a.clone()], params.clone()).unwrap();
        assert!(matches!(fused, AdamWOptimizer::Fused { .. }));
        let mut candle = AdamWOptimizer::Candle {
            vars: vec![b.clone()],
            opt: AdamW::new(vec![b.clone()], params).unwrap(),
        };
        let weights: Vec<f32> = (0..n).map(|i| 0.3 + ((i as f32) * 0.7).cos()).collect();
        let mut p: Vec<f64> = init.iter().map(|&x| x as f64).collect();
        let (mut m, mut v) = (vec![0f64; n], vec![0f64; n]);
        for step in 1..=5 {
            let clip = if step % 2 == 1 { clip_at } else { 0.0 };
            // loss = Σ w p, gradient w: exact in f32, so the comparison is well conditioned.
            let mut g: Vec<f64> = weights.iter().map(|&x| x as f64).collect();
            let norm = g.iter().map(|x| x * x).sum::<f64>().sqrt();
            if clip > 0.0 && clip / (norm + 1e-6) < 1.0 {
                g.iter_mut().for_each(|x| *x *= clip / (norm + 1e-6));
            }
            let (bc1, bc2) = (1.0 - 0.9f64.powi(step), 1.0 - 0.999f64.powi(step));
            for j in 0..n {
                m[j] = 0.9 * m[j] + 0.1 * g[j];
                v[j] = 0.999 * v[j] + 0.001 * g[j] * g[j];
                p[j] = p[j] * (1.0 - lr * wd) - lr * (m[j] / bc1) / ((v[j] / bc2).sqrt() + 1e-8);
            }
            for (var, opt) in [(&a, &mut fused), (&b, &mut candle)] {
                let w = Tensor::from_slice(&weights, (700, 100), &dev).unwrap();
                let loss = (var.as_tensor() * &w).unwrap().sum_all().unwrap();
                opt.step(&mut loss.backward().unwrap(), lr, clip).unwrap();
                let got = var.as_tensor().flatten_all().unwrap().to_vec1::<f32>().unwrap();
                let d = got
                    .iter()
                    .zip(&p)
                    .map(|(&x, &y)| (x as f64 - y).abs())
                    .fold(0.0, f64::max);
                let which = if matches!(opt, AdamWOptimizer::Fused { .. }) {
                    "fused"
                } else {
                    "candle-nn"
                };
                assert!(d < 1e-5, "step {step}: {which} differs from the formula by {d}");
            }
        }
    }
}
