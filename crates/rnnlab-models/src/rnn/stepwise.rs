//! One recurrent layer direction for devices with many small cores (the CUDA path): the input
//! projections of all steps as one matrix product outside (a plain candle op), then per step
//! one product `h W_hhᵀ` and one fused cell operation that applies the gates, the padding
//! mask and the recurrent-dropout mask, and keeps what backpropagation through time needs. The
//! backward pass is the same loop run backwards (one cell operation and one product per step),
//! then `dW_hh` as one product over all steps.
//!
//! The loop is written once over a small [`Backend`] of primitives (a row-major product, the
//! cell operations, column sums). [`Cpu`] implements them with plain loops, so the tests run
//! the very orchestration the GPU runs (offsets, slots, products' arguments) against the
//! candle-op reference; `super::cuda` implements them with cuBLAS and the kernels of
//! `cells.cu`, which mirror [`Cpu`]'s cell functions line by line.
//!
//! The operation: `gx` `[B, T, G]` (input projections plus `b_ih`), `W_hh` `[G, H]`, `b_hh`
//! `[G]` → outputs `[B, T, H]`, zero at padded steps.

use std::sync::Mutex;

use candle_core::{CpuStorage, CustomOp2, CustomOp3, Layout, Shape, Tensor};

use super::config::CellKind;
use super::lock_err;

/// The shape of one direction's loop.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Plan {
    pub cell: CellKind,
    pub batch: usize,
    pub steps: usize,
    pub hidden: usize,
    pub reverse: bool,
    /// Keep every step's activations (training); else two slots are reused.
    pub keep: bool,
}

impl Plan {
    pub fn gates(&self) -> usize {
        self.cell.gates() * self.hidden
    }

    /// Values kept per row and step, in units of `hidden`: RNN `h'`; LSTM `i f g o c c'`;
    /// GRU `r z n (W_hn h + b_hn) h`.
    pub fn act_width(&self) -> usize {
        act_width(self.cell_code())
    }

    /// The time step processed `s`-th.
    pub fn step(&self, s: usize) -> usize {
        if self.reverse {
            self.steps - 1 - s
        } else {
            s
        }
    }

    /// Slot of the `s`-th processed step in the kept buffers.
    fn slot(&self, s: usize) -> usize {
        if self.keep {
            s
        } else {
            s % 2
        }
    }

    fn slots(&self) -> usize {
        if self.keep {
            self.steps
        } else {
            2
        }
    }

    fn cell_code(&self) -> i32 {
        match self.cell {
            CellKind::Rnn => 0,
            CellKind::Lstm => 1,
            CellKind::Gru => 2,
        }
    }
}

/// A row-major product `C[m, n] = op(A) op(B) + beta C` (op: optional transpose), with
/// leading dimensions as stored (row lengths).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Gemm {
    pub trans_a: bool,
    pub trans_b: bool,
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub lda: usize,
    pub ldb: usize,
    pub ldc: usize,
    pub beta: f32,
}

/// cuBLAS's column-major arguments for a row-major [`Gemm`]: row-major `C = op(A) op(B)` is
/// column-major `Cᵀ = op(B)ᵀ op(A)ᵀ`, so cuBLAS gets `B` first and `A` second, each with its
/// own transpose flag. One mapping for the GPU backend and its host emulation in the tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(feature = "cuda"), allow(dead_code))]
pub(crate) struct ColumnMajor {
    /// Transpose the first operand (`B`).
    pub trans_first: bool,
    /// Transpose the second operand (`A`).
    pub trans_second: bool,
    pub m: usize,
    pub n: usize,
    pub k: usize,
    /// Leading dimension of the first operand (`B`'s row length).
    pub ld_first: usize,
    /// Leading dimension of the second operand (`A`'s row length).
    pub ld_second: usize,
    pub ldc: usize,
}

impl Gemm {
    #[cfg_attr(not(feature = "cuda"), allow(dead_code))]
    pub fn column_major(&self) -> ColumnMajor {
        ColumnMajor {
            trans_first: self.trans_b,
            trans_second: self.trans_a,
            m: self.n,
            n: self.m,
            k: self.k,
            ld_first: self.ldb,
            ld_second: self.lda,
            ldc: self.ldc,
        }
    }
}

/// The scalars of one cell operation (also the kernels' first arguments).
#[derive(Debug, Clone, Copy)]
pub(crate) struct CellStep {
    pub cell: i32,
    pub batch: usize,
    pub hidden: usize,
    /// The time step (for lengths and the strided `gx` / output rows).
    pub t: usize,
    /// Row stride of `gx` and `dgx` (`T * G`) and of the outputs (`T * H`).
    pub gx_stride: usize,
    pub out_stride: usize,
    pub has_rmask: bool,
    /// Whether the forward cell writes the next step's product input.
    pub has_next: bool,
}

/// A buffer and an element offset into it.
pub(crate) type At<'a, B> = (&'a B, usize);
pub(crate) type AtMut<'a, B> = (&'a mut B, usize);

/// Buffers of one forward cell operation.
pub(crate) struct ForwardCell<'a, B> {
    /// `gx[:, t, :]`, rows `gx_stride` apart.
    pub gx: At<'a, B>,
    /// `h W_hhᵀ` `[B, G]` (without `b_hh`).
    pub gh: &'a B,
    pub b_hh: At<'a, B>,
    /// The recurrent-dropout mask `[B, H]` (ignored unless `has_rmask`).
    pub rmask: &'a B,
    pub h: &'a mut B,
    pub c: &'a mut B,
    /// `out[:, t, :]`, rows `out_stride` apart.
    pub out: AtMut<'a, B>,
    /// `[B, A * H]` of this step.
    pub act: AtMut<'a, B>,
    /// `[B, H]`: the next step's product input `h' * rmask` (ignored unless `has_next`).
    pub hm_next: AtMut<'a, B>,
}

/// Buffers of one backward cell operation.
pub(crate) struct BackwardCell<'a, B> {
    /// `d out[:, t, :]`, rows `out_stride` apart.
    pub gout: At<'a, B>,
    pub act: At<'a, B>,
    pub rmask: &'a B,
    /// In: the gradient reaching `h` other than through the product; out: the same for the
    /// step before.
    pub dh_direct: &'a mut B,
    /// The gradient of the product input `hm` from the step after (`dgh W_hh`).
    pub dh_rec: &'a B,
    pub dc: &'a mut B,
    /// `dgx[:, t, :]`, rows `gx_stride` apart.
    pub dgx: AtMut<'a, B>,
    /// `[B, G]`: the gradient of this step's `h W_hhᵀ + b_hh`.
    pub dgh: AtMut<'a, B>,
}

/// The primitives of the loop.
pub(crate) trait Backend {
    type Buf;
    type Ints;
    fn zeros(&self, n: usize) -> candle_core::Result<Self::Buf>;
    fn upload(&self, v: &[f32]) -> candle_core::Result<Self::Buf>;
    fn upload_lengths(&self, v: &[usize]) -> candle_core::Result<Self::Ints>;
    fn gemm(
        &self,
        g: Gemm,
        a: At<'_, Self::Buf>,
        b: At<'_, Self::Buf>,
        c: AtMut<'_, Self::Buf>,
    ) -> candle_core::Result<()>;
    fn cell_forward(
        &self,
        s: CellStep,
        lengths: &Self::Ints,
        bufs: ForwardCell<'_, Self::Buf>,
    ) -> candle_core::Result<()>;
    fn cell_backward(
        &self,
        s: CellStep,
        lengths: &Self::Ints,
        bufs: BackwardCell<'_, Self::Buf>,
    ) -> candle_core::Result<()>;
    /// `dst[j] = Σ_r src[r * cols + j]`, as the product of a row of ones and `src`.
    fn column_sums(
        &self,
        src: &Self::Buf,
        rows: usize,
        cols: usize,
        dst: AtMut<'_, Self::Buf>,
    ) -> candle_core::Result<()> {
        let ones = self.upload(&vec![1.0; rows])?;
        let g = Gemm {
            trans_a: false,
            trans_b: false,
            m: 1,
            n: cols,
            k: rows,
            lda: rows,
            ldb: cols,
            ldc: cols,
            beta: 0.0,
        };
        self.gemm(g, (&ones, 0), (src, 0), dst)
    }
}

/// What the forward pass keeps for the backward one.
pub(crate) struct Saved<B> {
    /// The product inputs `h * rmask` of every processed step `[T, B, H]`.
    hm: B,
    /// Activations `[T, B, A * H]`.
    act: B,
    rmask: B,
}

/// The outputs `[B, T, H]` and, when training, what the backward pass needs.
pub(crate) type Forward<B> = (B, Option<Saved<B>>);

/// The forward loop. `gx`, `w_hh`, `b_hh`: the op's inputs (contiguous, with offsets).
#[allow(clippy::too_many_arguments)]
pub(crate) fn forward<E: Backend>(
    be: &E,
    p: Plan,
    lengths: &E::Ints,
    rmask: Option<&[f32]>,
    gx: At<'_, E::Buf>,
    w_hh: At<'_, E::Buf>,
    b_hh: At<'_, E::Buf>,
) -> candle_core::Result<Forward<E::Buf>> {
    let (b, t_n, h, g, a) = (p.batch, p.steps, p.hidden, p.gates(), p.act_width());
    let mut out = be.zeros(b * t_n * h)?;
    let mut hm = be.zeros(p.slots() * b * h)?;
    let mut act = be.zeros(p.slots() * b * a * h)?;
    let mut gh = be.zeros(b * g)?;
    let mut hs = be.zeros(b * h)?;
    let mut cs = be.zeros(b * h)?;
    let rmask_buf = match rmask {
        Some(m) => be.upload(m)?,
        None => be.zeros(1)?,
    };
    let product = Gemm {
        trans_a: false,
        trans_b: true,
        m: b,
        n: g,
        k: h,
        lda: h,
        ldb: h,
        ldc: g,
        beta: 0.0,
    };
    for s in 0..t_n {
        let t = p.step(s);
        be.gemm(product, (&hm, p.slot(s) * b * h), w_hh, (&mut gh, 0))?;
        let step = CellStep {
            cell: p.cell_code(),
            batch: b,
            hidden: h,
            t,
            gx_stride: t_n * g,
            out_stride: t_n * h,
            has_rmask: rmask.is_some(),
            has_next: s + 1 < t_n,
        };
        let next = if s + 1 < t_n { p.slot(s + 1) * b * h } else { 0 };
        be.cell_forward(
            step,
            lengths,
            ForwardCell {
                gx: (gx.0, gx.1 + t * g),
                gh: &gh,
                b_hh,
                rmask: &rmask_buf,
                h: &mut hs,
                c: &mut cs,
                out: (&mut out, t * h),
                act: (&mut act, p.slot(s) * b * a * h),
                hm_next: (&mut hm, next),
            },
        )?;
    }
    let saved = p.keep.then_some(Saved {
        hm,
        act,
        rmask: rmask_buf,
    });
    Ok((out, saved))
}

/// The backward loop: the gradients of `gx` `[B, T, G]`, `W_hh` `[G, H]` and `b_hh` `[G]`,
/// packed one after the other in one buffer.
pub(crate) fn backward<E: Backend>(
    be: &E,
    p: Plan,
    lengths: &E::Ints,
    saved: &Saved<E::Buf>,
    has_rmask: bool,
    w_hh: At<'_, E::Buf>,
    gout: At<'_, E::Buf>,
) -> candle_core::Result<E::Buf> {
    let (b, t_n, h, g, a) = (p.batch, p.steps, p.hidden, p.gates(), p.act_width());
    let (n_gx, n_w) = (b * t_n * g, g * h);
    let mut grads = be.zeros(n_gx + n_w + g)?;
    // The gradients of every step's `h W_hhᵀ + b_hh`, in processing order `[T, B, G]`.
    let mut dgh = be.zeros(t_n * b * g)?;
    let mut dh_direct = be.zeros(b * h)?;
    let mut dh_rec = be.zeros(b * h)?;
    let mut dc = be.zeros(b * h)?;
    // dh_rec = dgh_s W_hh: [B, G] x [G, H].
    let product = Gemm {
        trans_a: false,
        trans_b: false,
        m: b,
        n: h,
        k: g,
        lda: g,
        ldb: h,
        ldc: h,
        beta: 0.0,
    };
    for s in (0..t_n).rev() {
        let t = p.step(s);
        let step = CellStep {
            cell: p.cell_code(),
            batch: b,
            hidden: h,
            t,
            gx_stride: t_n * g,
            out_stride: t_n * h,
            has_rmask,
            has_next: false,
        };
        be.cell_backward(
            step,
            lengths,
            BackwardCell {
                gout: (gout.0, gout.1 + t * h),
                act: (&saved.act, s * b * a * h),
                rmask: &saved.rmask,
                dh_direct: &mut dh_direct,
                dh_rec: &dh_rec,
                dc: &mut dc,
                dgx: (&mut grads, t * g),
                dgh: (&mut dgh, s * b * g),
            },
        )?;
        if s > 0 {
            be.gemm(product, (&dgh, s * b * g), w_hh, (&mut dh_rec, 0))?;
        }
    }
    // dW_hh = Σ_s dgh_sᵀ hm_s: [T B, G]ᵀ x [T B, H].
    let weight = Gemm {
        trans_a: true,
        trans_b: false,
        m: g,
        n: h,
        k: t_n * b,
        lda: g,
        ldb: h,
        ldc: h,
        beta: 0.0,
    };
    be.gemm(weight, (&dgh, 0), (&saved.hm, 0), (&mut grads, n_gx))?;
    be.column_sums(&dgh, t_n * b, g, (&mut grads, n_gx + n_w))?;
    Ok(grads)
}

/// The backend of plain loops on the CPU: the definition the CUDA kernels follow.
pub(crate) struct Cpu;

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

impl Backend for Cpu {
    type Buf = Vec<f32>;
    type Ints = Vec<usize>;

    fn zeros(&self, n: usize) -> candle_core::Result<Vec<f32>> {
        Ok(vec![0.0; n])
    }

    fn upload(&self, v: &[f32]) -> candle_core::Result<Vec<f32>> {
        Ok(v.to_vec())
    }

    fn upload_lengths(&self, v: &[usize]) -> candle_core::Result<Vec<usize>> {
        Ok(v.to_vec())
    }

    fn gemm(
        &self,
        g: Gemm,
        a: At<'_, Vec<f32>>,
        b: At<'_, Vec<f32>>,
        c: AtMut<'_, Vec<f32>>,
    ) -> candle_core::Result<()> {
        let (a, b, (c, co)) = (&a.0[a.1..], &b.0[b.1..], c);
        let c = &mut c[co..];
        for i in 0..g.m {
            for j in 0..g.n {
                let mut acc = 0.0f32;
                for l in 0..g.k {
                    let av = if g.trans_a { a[l * g.lda + i] } else { a[i * g.lda + l] };
                    let bv = if g.trans_b { b[j * g.ldb + l] } else { b[l * g.ldb + j] };
                    acc += av * bv;
                }
                let dst = &mut c[i * g.ldc + j];
                *dst = acc + if g.beta == 0.0 { 0.0 } else { g.beta * *dst };
            }
        }
        Ok(())
    }

    fn cell_forward(&self, s: CellStep, lengths: &Vec<usize>, f: ForwardCell<'_, Vec<f32>>) -> candle_core::Result<()> {
        let h = s.hidden;
        let a_w = act_width(s.cell);
        let (gx, gxo) = f.gx;
        let (b_hh, bo) = f.b_hh;
        let (out, oo) = f.out;
        let (act, ao) = f.act;
        let (hm, ho) = f.hm_next;
        // One iteration per (row, unit): one CUDA thread of `cells.cu`.
        for idx in 0..s.batch * h {
            let (row, j) = (idx / h, idx % h);
            let valid = s.t < lengths[row];
            let x = &gx[gxo + row * s.gx_stride..];
            let gh = &f.gh[row * gates_of(s.cell) * h..];
            let bias = &b_hh[bo..];
            let a = &mut act[ao + row * a_w * h..];
            let h_prev = f.h[idx];
            let h_new = match s.cell {
                0 => {
                    let v = (x[j] + gh[j] + bias[j]).tanh();
                    a[j] = v;
                    v
                }
                1 => {
                    let i = sigmoid(x[j] + gh[j] + bias[j]);
                    let fg = sigmoid(x[h + j] + gh[h + j] + bias[h + j]);
                    let g = (x[2 * h + j] + gh[2 * h + j] + bias[2 * h + j]).tanh();
                    let o = sigmoid(x[3 * h + j] + gh[3 * h + j] + bias[3 * h + j]);
                    let c_prev = f.c[idx];
                    let c_new = fg * c_prev + i * g;
                    a[j] = i;
                    a[h + j] = fg;
                    a[2 * h + j] = g;
                    a[3 * h + j] = o;
                    a[4 * h + j] = c_prev;
                    a[5 * h + j] = c_new;
                    if valid {
                        f.c[idx] = c_new;
                    }
                    o * c_new.tanh()
                }
                _ => {
                    let r = sigmoid(x[j] + gh[j] + bias[j]);
                    let z = sigmoid(x[h + j] + gh[h + j] + bias[h + j]);
                    let ghn = gh[2 * h + j] + bias[2 * h + j];
                    let n = (x[2 * h + j] + r * ghn).tanh();
                    a[j] = r;
                    a[h + j] = z;
                    a[2 * h + j] = n;
                    a[3 * h + j] = ghn;
                    a[4 * h + j] = h_prev;
                    n + z * (h_prev - n)
                }
            };
            let state = if valid { h_new } else { h_prev };
            f.h[idx] = state;
            out[oo + row * s.out_stride + j] = if valid { h_new } else { 0.0 };
            if s.has_next {
                let m = if s.has_rmask { f.rmask[idx] } else { 1.0 };
                hm[ho + idx] = state * m;
            }
        }
        Ok(())
    }

    fn cell_backward(
        &self,
        s: CellStep,
        lengths: &Vec<usize>,
        f: BackwardCell<'_, Vec<f32>>,
    ) -> candle_core::Result<()> {
        let h = s.hidden;
        let gates = gates_of(s.cell) * h;
        let a_w = act_width(s.cell);
        let (gout, go) = f.gout;
        let (act, ao) = f.act;
        let (dgx, dxo) = f.dgx;
        let (dgh, dho) = f.dgh;
        for idx in 0..s.batch * h {
            let (row, j) = (idx / h, idx % h);
            let valid = s.t < lengths[row];
            let m = if s.has_rmask { f.rmask[idx] } else { 1.0 };
            let dh = f.dh_direct[idx] + f.dh_rec[idx] * m;
            let dx = &mut dgx[dxo + row * s.gx_stride..];
            let dg = &mut dgh[dho + row * gates..];
            if !valid {
                for k in 0..gates_of(s.cell) {
                    dx[k * h + j] = 0.0;
                    dg[k * h + j] = 0.0;
                }
                f.dh_direct[idx] = dh;
                continue;
            }
            let dhn = dh + gout[go + row * s.out_stride + j];
            let a = &act[ao + row * a_w * h..];
            match s.cell {
                0 => {
                    let v = a[j];
                    let d = dhn * (1.0 - v * v);
                    dx[j] = d;
                    dg[j] = d;
                    f.dh_direct[idx] = 0.0;
                }
                1 => {
                    let (i, fg, g, o, c_prev, c_new) =
                        (a[j], a[h + j], a[2 * h + j], a[3 * h + j], a[4 * h + j], a[5 * h + j]);
                    let tc = c_new.tanh();
                    let d_o = dhn * tc;
                    let dc = f.dc[idx] + dhn * o * (1.0 - tc * tc);
                    let d_i = dc * g * i * (1.0 - i);
                    let d_f = dc * c_prev * fg * (1.0 - fg);
                    let d_g = dc * i * (1.0 - g * g);
                    let d_o = d_o * o * (1.0 - o);
                    f.dc[idx] = dc * fg;
                    for (k, d) in [d_i, d_f, d_g, d_o].into_iter().enumerate() {
                        dx[k * h + j] = d;
                        dg[k * h + j] = d;
                    }
                    f.dh_direct[idx] = 0.0;
                }
                _ => {
                    let (r, z, n, ghn, h_prev) = (a[j], a[h + j], a[2 * h + j], a[3 * h + j], a[4 * h + j]);
                    let dn = dhn * (1.0 - z) * (1.0 - n * n);
                    let dz = dhn * (h_prev - n) * z * (1.0 - z);
                    let dr = dn * ghn * r * (1.0 - r);
                    dx[j] = dr;
                    dx[h + j] = dz;
                    dx[2 * h + j] = dn;
                    dg[j] = dr;
                    dg[h + j] = dz;
                    dg[2 * h + j] = dn * r;
                    f.dh_direct[idx] = dhn * z;
                }
            }
        }
        Ok(())
    }
}

/// Kept activations per unit of a cell code (see [`Plan::act_width`]).
fn act_width(cell: i32) -> usize {
    match cell {
        0 => 1,
        1 => 6,
        _ => 5,
    }
}

/// Gates per unit of a cell code (0 RNN, 1 LSTM, 2 GRU).
fn gates_of(cell: i32) -> usize {
    match cell {
        0 => 1,
        1 => 4,
        _ => 3,
    }
}

/// What a forward pass kept, on the device it ran on.
pub(crate) enum AnySaved {
    Cpu(Saved<Vec<f32>>),
    #[cfg(feature = "cuda")]
    Cuda(Saved<candle_core::cuda_backend::cudarc::driver::CudaSlice<f32>>),
}

/// The operation over one layer direction; built per call with the batch's lengths and
/// recurrent-dropout mask.
pub(crate) struct StepwiseDirection {
    cell: CellKind,
    hidden: usize,
    reverse: bool,
    /// True lengths, each in `1..=T`.
    lengths: Vec<usize>,
    /// `[B, H]` multiplier of the state before the recurrent product.
    rmask: Option<Vec<f32>>,
    keep: bool,
    saved: Mutex<Option<AnySaved>>,
}

fn cpu_slice(s: &CpuStorage, l: &Layout, what: &str) -> candle_core::Result<Vec<f32>> {
    match (s, l.contiguous_offsets()) {
        (CpuStorage::F32(v), Some((a, b))) => Ok(v[a..b].to_vec()),
        _ => candle_core::bail!("stepwise recurrent layer: {what} must be a contiguous f32 tensor"),
    }
}

impl StepwiseDirection {
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
        StepwiseDirection {
            cell,
            hidden,
            reverse,
            lengths: lengths.iter().map(|&l| l.clamp(1, steps.max(1))).collect(),
            rmask,
            keep,
            saved: Mutex::new(None),
        }
    }

    /// Runs the layer over `gx` `[B, T, G]`: `apply_op3` when activations are kept
    /// (training), else without a graph.
    pub fn apply(self, gx: &Tensor, w_hh: &Tensor, b_hh: &Tensor) -> candle_core::Result<Tensor> {
        let (gx, w_hh, b_hh) = (gx.contiguous()?, w_hh.contiguous()?, b_hh.contiguous()?);
        if self.keep {
            gx.apply_op3(&w_hh, &b_hh, self)
        } else {
            gx.apply_op3_no_bwd(&w_hh, &b_hh, &self)
        }
    }

    /// The plan of a call, after checking the shapes.
    pub(crate) fn plan(&self, gx: &Layout, w_hh: &Layout, b_hh: &Layout) -> candle_core::Result<Plan> {
        let (batch, steps, g) = gx.shape().dims3()?;
        let p = Plan {
            cell: self.cell,
            batch,
            steps,
            hidden: self.hidden,
            reverse: self.reverse,
            keep: self.keep,
        };
        if g != p.gates() || w_hh.shape().dims() != [g, self.hidden] || b_hh.shape().dims() != [g] {
            candle_core::bail!(
                "stepwise recurrent layer: shapes {:?} {:?} {:?} do not fit hidden {}",
                gx.shape(),
                w_hh.shape(),
                b_hh.shape(),
                self.hidden
            );
        }
        if batch != self.lengths.len() {
            candle_core::bail!(
                "stepwise recurrent layer: {batch} rows but {} lengths",
                self.lengths.len()
            );
        }
        Ok(p)
    }

    #[cfg_attr(not(feature = "cuda"), allow(dead_code))]
    pub(crate) fn lengths(&self) -> &[usize] {
        &self.lengths
    }

    pub(crate) fn rmask(&self) -> Option<&[f32]> {
        self.rmask.as_deref()
    }

    pub(crate) fn keep_saved(&self, saved: Option<AnySaved>) -> candle_core::Result<()> {
        if self.keep {
            *self.saved.lock().map_err(lock_err)? = saved;
        }
        Ok(())
    }
}

impl CustomOp3 for StepwiseDirection {
    fn name(&self) -> &'static str {
        "stepwise-recurrent-direction"
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
        let p = self.plan(l1, l2, l3)?;
        let (gx, w_hh, b_hh) = (
            cpu_slice(s1, l1, "gx")?,
            cpu_slice(s2, l2, "W_hh")?,
            cpu_slice(s3, l3, "b_hh")?,
        );
        let lengths = Cpu.upload_lengths(&self.lengths)?;
        let (out, saved) = forward(&Cpu, p, &lengths, self.rmask(), (&gx, 0), (&w_hh, 0), (&b_hh, 0))?;
        self.keep_saved(saved.map(AnySaved::Cpu))?;
        Ok((CpuStorage::F32(out), Shape::from((p.batch, p.steps, p.hidden))))
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(
        &self,
        s1: &candle_core::CudaStorage,
        l1: &Layout,
        s2: &candle_core::CudaStorage,
        l2: &Layout,
        s3: &candle_core::CudaStorage,
        l3: &Layout,
    ) -> candle_core::Result<(candle_core::CudaStorage, Shape)> {
        super::cuda::forward(self, s1, l1, s2, l2, s3, l3)
    }

    fn bwd(
        &self,
        gx: &Tensor,
        w_hh: &Tensor,
        _b_hh: &Tensor,
        _res: &Tensor,
        grad_res: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (batch, steps, g) = gx.dims3()?;
        let saved = self.saved.lock().map_err(lock_err)?.take();
        let Some(saved) = saved else {
            candle_core::bail!("stepwise recurrent layer: backward without a kept forward pass");
        };
        let back = StepwiseBackward {
            plan: Plan {
                cell: self.cell,
                batch,
                steps,
                hidden: self.hidden,
                reverse: self.reverse,
                keep: true,
            },
            lengths: self.lengths.clone(),
            has_rmask: self.rmask.is_some(),
            saved: Mutex::new(Some(saved)),
        };
        let packed = w_hh.contiguous()?.apply_op2_no_bwd(&grad_res.contiguous()?, &back)?;
        let (n_gx, n_w) = (batch * steps * g, g * self.hidden);
        Ok((
            Some(packed.narrow(0, 0, n_gx)?.reshape((batch, steps, g))?),
            Some(packed.narrow(0, n_gx, n_w)?.reshape((g, self.hidden))?),
            Some(packed.narrow(0, n_gx + n_w, g)?),
        ))
    }
}

/// The backward pass as an operation of (`W_hh`, output gradient), giving the packed
/// gradients of [`backward`].
pub(crate) struct StepwiseBackward {
    pub plan: Plan,
    pub lengths: Vec<usize>,
    pub has_rmask: bool,
    pub saved: Mutex<Option<AnySaved>>,
}

impl StepwiseBackward {
    fn packed_len(&self) -> usize {
        let p = self.plan;
        p.batch * p.steps * p.gates() + p.gates() * p.hidden + p.gates()
    }
}

impl CustomOp2 for StepwiseBackward {
    fn name(&self) -> &'static str {
        "stepwise-recurrent-direction-backward"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let saved = self.saved.lock().map_err(lock_err)?.take();
        let Some(AnySaved::Cpu(saved)) = saved else {
            candle_core::bail!("stepwise recurrent layer: backward on another device than the forward pass");
        };
        let (w_hh, gout) = (cpu_slice(s1, l1, "W_hh")?, cpu_slice(s2, l2, "output gradient")?);
        let lengths = Cpu.upload_lengths(&self.lengths)?;
        let grads = backward(
            &Cpu,
            self.plan,
            &lengths,
            &saved,
            self.has_rmask,
            (&w_hh, 0),
            (&gout, 0),
        )?;
        Ok((CpuStorage::F32(grads), Shape::from(self.packed_len())))
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(
        &self,
        s1: &candle_core::CudaStorage,
        l1: &Layout,
        s2: &candle_core::CudaStorage,
        l2: &Layout,
    ) -> candle_core::Result<(candle_core::CudaStorage, Shape)> {
        let grads = super::cuda::backward(self, s1, l1, s2, l2)?;
        Ok((grads, Shape::from(self.packed_len())))
    }
}
