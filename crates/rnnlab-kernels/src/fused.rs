//! One recurrent layer in one direction as a single candle operation with its own backward
//! pass (CPU): the input projections of all steps in one matrix product, then the recurrence
//! with one small product per step and the gate arithmetic fused, activations kept for
//! backpropagation through time. Rows are independent, so the batch is split into one block
//! per thread and each thread runs its rows through every step (no synchronisation per step).
//!
//! Inputs: `x` `[B, T, I]`, `w = [W_ih | W_hh]` `[G, I + H]`, `b = [b_ih | b_hh]` `[2G]`;
//! output `[B, T, H]`, zero at padded steps. Semantics are those of [`super::recurrent`]'s
//! candle-op reference, which the tests compare against.

use std::sync::{Arc, Mutex};

use candle_core::{CpuStorage, CustomOp3, Layout, Shape, Storage, Tensor};

use super::{lock_err, parallel};
use crate::cpu::{backward_block, forward_block, Dims, Saved, View, Weights};
use crate::CellKind;

/// The operation; built per call with the batch's lengths and recurrent-dropout mask.
pub(crate) struct FusedDirection {
    cell: CellKind,
    hidden: usize,
    reverse: bool,
    /// True lengths, each in `1..=T`.
    lengths: Vec<usize>,
    /// `[B, H]` multiplier of the state before the recurrent product (variational dropout).
    rmask: Option<Vec<f32>>,
    /// Rows per block (one block per thread).
    block: usize,
    /// Whether to keep activations (training).
    keep: bool,
    saved: Mutex<Vec<Saved>>,
    /// `h0` and `c0` `[B, H]` each (LSTM's `c0` only read), when the state is carried in.
    init: Option<(Vec<f32>, Vec<f32>)>,
    /// Where the forward pass leaves the final `h` and `c` `[B, H]`, when asked for.
    finals: Option<FinalState>,
}

/// The final `h` and `c` of a [`FusedDirection`], filled by its forward pass.
pub(crate) type FinalState = Arc<Mutex<(Vec<f32>, Vec<f32>)>>;

fn slice<'a>(s: &'a CpuStorage, l: &Layout, what: &str) -> candle_core::Result<&'a [f32]> {
    match (s, l.contiguous_offsets()) {
        (CpuStorage::F32(v), Some((a, b))) => Ok(&v[a..b]),
        _ => candle_core::bail!("fused recurrent layer: {what} must be a contiguous f32 tensor"),
    }
}

impl FusedDirection {
    /// `lengths` are clamped to `1..=steps`.
    pub fn new(
        cell: CellKind,
        hidden: usize,
        steps: usize,
        reverse: bool,
        lengths: &[usize],
        rmask: Option<Vec<f32>>,
        keep: bool,
    ) -> Self {
        let batch = lengths.len();
        // One block per thread, but no block under 8 rows.
        let threads = parallel::threads();
        let blocks = threads.min(batch.div_ceil(8)).max(1);
        FusedDirection {
            cell,
            hidden,
            reverse,
            lengths: lengths.iter().map(|&l| l.clamp(1, steps.max(1))).collect(),
            rmask,
            block: batch.div_ceil(blocks).max(1),
            keep,
            saved: Mutex::new(Vec::new()),
            init: None,
            finals: None,
        }
    }

    /// Starts from `init` (`h0`, `c0`, each `[B, H]`; `None`: zero) and hands back the final
    /// state; no gradient flows into `init` (truncated backpropagation through time).
    pub fn carrying(mut self, init: Option<(Vec<f32>, Vec<f32>)>) -> (Self, FinalState) {
        let finals: FinalState = Arc::new(Mutex::new((Vec::new(), Vec::new())));
        self.init = init;
        self.finals = Some(finals.clone());
        (self, finals)
    }

    /// Block `k`'s `[2, nb, H]` state buffer: its rows of the initial state, or zeros when only
    /// the final state is wanted; empty when neither.
    fn state_block(&self, k: usize, nb: usize) -> Vec<f32> {
        let hd = self.hidden;
        if self.finals.is_none() && self.init.is_none() {
            return Vec::new();
        }
        let mut s = vec![0f32; 2 * nb * hd];
        if let Some((h0, c0)) = &self.init {
            let at = k * self.block * hd;
            s[..nb * hd].copy_from_slice(&h0[at..at + nb * hd]);
            if c0.len() >= at + nb * hd {
                s[nb * hd..].copy_from_slice(&c0[at..at + nb * hd]);
            }
        }
        s
    }

    /// Block `k`'s rows of the initial cell state (empty: zero).
    fn c0_block(&self, k: usize, nb: usize) -> &[f32] {
        let hd = self.hidden;
        match &self.init {
            Some((_, c0)) if c0.len() >= (k * self.block + nb) * hd => &c0[k * self.block * hd..][..nb * hd],
            _ => &[],
        }
    }

    fn dims(&self, steps: usize) -> Dims {
        Dims {
            cell: self.cell,
            hidden: self.hidden,
            steps,
            reverse: self.reverse,
        }
    }

    /// Runs the layer: `apply_op3` when activations are kept (training), else without a graph.
    pub fn apply(self, x: &Tensor, w: &Tensor, b: &Tensor) -> candle_core::Result<Tensor> {
        let x = x.contiguous()?;
        if self.keep {
            x.apply_op3(w, b, self)
        } else {
            x.apply_op3_no_bwd(w, b, &self)
        }
    }

    fn rmask_block(&self, k: usize, nb: usize) -> Option<&[f32]> {
        let hd = self.hidden;
        self.rmask.as_deref().map(|m| &m[k * self.block * hd..][..nb * hd])
    }
}

impl CustomOp3 for FusedDirection {
    fn name(&self) -> &'static str {
        "fused-recurrent-direction"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (batch, steps, input) = l1.shape().dims3()?;
        let (hd, g) = (self.hidden, self.cell.gates() * self.hidden);
        if l2.shape().dims() != [g, input + hd] || l3.shape().dims() != [2 * g] {
            candle_core::bail!(
                "fused recurrent layer: shapes {:?} {:?} {:?} do not fit hidden {hd}",
                l1.shape(),
                l2.shape(),
                l3.shape()
            );
        }
        if batch != self.lengths.len() {
            candle_core::bail!("fused recurrent layer: {batch} rows but {} lengths", self.lengths.len());
        }
        if let Some((h0, c0)) = &self.init {
            if h0.len() != batch * hd || (self.cell == CellKind::Lstm && c0.len() != batch * hd) {
                candle_core::bail!("fused recurrent layer: the initial state does not fit {batch} rows of {hd}");
            }
        }
        let x = slice(s1, l1, "input")?;
        let w = slice(s2, l2, "weights")?;
        let b = slice(s3, l3, "biases")?;
        let wt = Weights { w, b, input };
        // W_hhᵀ once, so each step's product reads a row-major [H, G]; a few rows (one token
        // of generation) read W_hh where it lies instead, the copy would cost more than them.
        let few = batch * steps < 64;
        let mut w_t = vec![0f32; if few { 0 } else { hd * g }];
        if !few {
            for (r, row) in w.chunks_exact(input + hd).enumerate() {
                for (c, &v) in row[input..].iter().enumerate() {
                    w_t[c * g + r] = v;
                }
            }
        }
        let w_t_view = if few {
            View {
                data: &w[input..],
                rs: 1,
                cs: input + hd,
            }
        } else {
            View::rows(&w_t, g)
        };
        let d = self.dims(steps);
        let mut out = vec![0f32; batch * steps * hd];
        let blocks: Vec<_> = out
            .chunks_mut(self.block * steps * hd)
            .zip(x.chunks(self.block * steps * input))
            .zip(self.lengths.chunks(self.block))
            .collect();
        let saved = parallel::map_mut(blocks, |k, ((out, x), lengths)| {
            let rmask = self.rmask_block(k, lengths.len());
            forward_block(
                d,
                lengths,
                rmask,
                x,
                wt,
                w_t_view,
                out,
                self.keep,
                self.state_block(k, lengths.len()),
            )
        });
        if let Some(finals) = &self.finals {
            let mut f = finals.lock().map_err(lock_err)?;
            f.0.clear();
            f.1.clear();
            for sv in &saved {
                let (h, c) = sv.state.split_at(sv.state.len() / 2);
                f.0.extend_from_slice(h);
                f.1.extend_from_slice(c);
            }
        }
        if self.keep {
            *self.saved.lock().map_err(lock_err)? = saved;
        }
        Ok((CpuStorage::F32(out), Shape::from((batch, steps, hd))))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        b: &Tensor,
        _res: &Tensor,
        grad_res: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (batch, steps, input) = x.dims3()?;
        let (hd, g) = (self.hidden, self.cell.gates() * self.hidden);
        let saved = self.saved.lock().map_err(lock_err)?;
        if saved.is_empty() {
            candle_core::bail!("fused recurrent layer: backward without a kept forward pass");
        }
        let (x, w, b, grad_out) = (
            x.contiguous()?,
            w.contiguous()?,
            b.contiguous()?,
            grad_res.contiguous()?,
        );
        let guards = [
            x.storage_and_layout(),
            w.storage_and_layout(),
            b.storage_and_layout(),
            grad_out.storage_and_layout(),
        ];
        let mut views = Vec::with_capacity(4);
        for (st, layout) in &guards {
            match &**st {
                Storage::Cpu(c) => views.push(slice(c, layout, "tensor")?),
                _ => candle_core::bail!("fused recurrent layer: tensors must be on the CPU"),
            }
        }
        let (xs, ws, bs, gos) = (views[0], views[1], views[2], views[3]);
        let wt = Weights { w: ws, b: bs, input };
        let w_hh: Vec<f32> = ws
            .chunks_exact(input + hd)
            .flat_map(|row| row[input..].iter().copied())
            .collect();
        let d = self.dims(steps);
        let mut dx = vec![0f32; batch * steps * input];
        let blocks: Vec<_> = dx
            .chunks_mut(self.block * steps * input)
            .zip(xs.chunks(self.block * steps * input))
            .zip(gos.chunks(self.block * steps * hd))
            .zip(self.lengths.chunks(self.block))
            .zip(saved.iter())
            .collect();
        let partial = parallel::map_mut(blocks, |k, ((((dx, x), grad_out), lengths), sv)| {
            let rmask = self.rmask_block(k, lengths.len());
            let mut dw = vec![0f32; g * (input + hd)];
            let mut db = vec![0f32; 2 * g];
            let c0 = self.c0_block(k, lengths.len());
            backward_block(d, lengths, rmask, x, wt, &w_hh, sv, grad_out, dx, &mut dw, &mut db, c0);
            (dw, db)
        });
        drop(guards);
        let mut parts = partial.into_iter();
        let (mut dw, mut db) = parts
            .next()
            .unwrap_or_else(|| (vec![0f32; g * (input + hd)], vec![0f32; 2 * g]));
        for (pw, pb) in parts {
            dw.iter_mut().zip(&pw).for_each(|(a, v)| *a += v);
            db.iter_mut().zip(&pb).for_each(|(a, v)| *a += v);
        }
        let dev = x.device();
        Ok((
            Some(Tensor::from_vec(dx, (batch, steps, input), dev)?),
            Some(Tensor::from_vec(dw, (g, input + hd), dev)?),
            Some(Tensor::from_vec(db, 2 * g, dev)?),
        ))
    }
}
