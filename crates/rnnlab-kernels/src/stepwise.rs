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
//! candle-op reference; `crate::cuda` implements them with cuBLAS and the kernels of
//! `cells.cu`, which mirror [`Cpu`]'s cell functions line by line. `crate::stepwise_op` wraps
//! the loop as candle operations; this module knows neither candle's ops nor CUDA.
//!
//! The loop: `gx` `[B, T, G]` (input projections plus `b_ih`), `W_hh` `[G, H]`, `b_hh`
//! `[G]` → outputs `[B, T, H]`, zero at padded steps.

use crate::CellKind;

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

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    /// What a pass asked of its backend: on a GPU each product and cell operation is a launch,
    /// each upload a host-to-device copy, each `zeros` an allocation.
    #[derive(Debug, Default, Clone, Copy, PartialEq)]
    struct Calls {
        gemm: usize,
        cell: usize,
        upload: usize,
        zeros: usize,
    }

    /// [`Cpu`] with every primitive counted.
    #[derive(Default)]
    struct Counting {
        calls: Cell<Calls>,
    }

    impl Counting {
        fn bump(&self, f: impl FnOnce(&mut Calls)) {
            let mut c = self.calls.get();
            f(&mut c);
            self.calls.set(c);
        }

        fn take(&self) -> Calls {
            self.calls.replace(Calls::default())
        }
    }

    impl Backend for Counting {
        type Buf = Vec<f32>;
        type Ints = Vec<usize>;

        fn zeros(&self, n: usize) -> candle_core::Result<Vec<f32>> {
            self.bump(|c| c.zeros += 1);
            Cpu.zeros(n)
        }

        fn upload(&self, v: &[f32]) -> candle_core::Result<Vec<f32>> {
            self.bump(|c| c.upload += 1);
            Cpu.upload(v)
        }

        fn upload_lengths(&self, v: &[usize]) -> candle_core::Result<Vec<usize>> {
            self.bump(|c| c.upload += 1);
            Cpu.upload_lengths(v)
        }

        fn gemm(
            &self,
            g: Gemm,
            a: At<'_, Vec<f32>>,
            b: At<'_, Vec<f32>>,
            c: AtMut<'_, Vec<f32>>,
        ) -> candle_core::Result<()> {
            self.bump(|c| c.gemm += 1);
            Cpu.gemm(g, a, b, c)
        }

        fn cell_forward(
            &self,
            s: CellStep,
            l: &Vec<usize>,
            bufs: ForwardCell<'_, Vec<f32>>,
        ) -> candle_core::Result<()> {
            self.bump(|c| c.cell += 1);
            Cpu.cell_forward(s, l, bufs)
        }

        fn cell_backward(
            &self,
            s: CellStep,
            l: &Vec<usize>,
            bufs: BackwardCell<'_, Vec<f32>>,
        ) -> candle_core::Result<()> {
            self.bump(|c| c.cell += 1);
            Cpu.cell_backward(s, l, bufs)
        }
    }

    /// The GPU loop's budget of launches, copies and allocations, pinned so that a change that
    /// adds any per step fails here (issue 34: the backward pass is five times the forward on an
    /// H200; its loop is not the cause, two launches a step each way).
    #[test]
    fn each_step_costs_one_product_and_one_cell_operation_each_way() {
        for cell in [CellKind::Rnn, CellKind::Lstm, CellKind::Gru] {
            for (steps, dropout) in [(1, false), (7, false), (7, true)] {
                let be = Counting::default();
                let p = Plan {
                    cell,
                    batch: 3,
                    steps,
                    hidden: 4,
                    reverse: false,
                    keep: true,
                };
                let g = p.gates() * 4;
                let lengths = be.upload_lengths(&[steps, steps.div_ceil(2), 1]).unwrap();
                be.take();
                let gx = vec![0.1f32; 3 * steps * g];
                let (w_hh, b_hh) = (vec![0.05f32; g * 4], vec![0.0f32; g]);
                let rmask = dropout.then(|| vec![1.25f32; 3 * 4]);
                let (out, saved) =
                    forward(&be, p, &lengths, rmask.as_deref(), (&gx, 0), (&w_hh, 0), (&b_hh, 0)).unwrap();
                let fwd = be.take();
                assert_eq!(
                    fwd,
                    Calls {
                        gemm: steps,
                        cell: steps,
                        upload: usize::from(dropout),
                        zeros: 6 + usize::from(!dropout),
                    },
                    "{cell:?} forward, {steps} steps"
                );
                let gout = vec![1.0f32; out.len()];
                backward(&be, p, &lengths, &saved.unwrap(), dropout, (&w_hh, 0), (&gout, 0)).unwrap();
                let bwd = be.take();
                // Per step a cell operation and the product into the step before; then dW_hh and
                // db_hh (a product with a row of ones, uploaded).
                assert_eq!(
                    bwd,
                    Calls {
                        gemm: steps - 1 + 2,
                        cell: steps,
                        upload: 1,
                        zeros: 5,
                    },
                    "{cell:?} backward, {steps} steps"
                );
                assert!(bwd.gemm + bwd.cell <= fwd.gemm + fwd.cell + 2);
            }
        }
    }
}
