//! The CPU kernels under the fused recurrent layer: a matrix product on the `gemm` crate (its
//! AVX-512 micro-kernels where the CPU has them) and the gate arithmetic of one time step for a
//! block of rows, forward and backward, with vectorisable `exp`/`tanh`/`sigmoid`.
//!
//! Each `*_rows` function is compiled three times (AVX-512, AVX2+FMA, baseline) and the widest
//! one the CPU supports is chosen at run time, so the default build runs anywhere.

use super::workspace::Buf;
use crate::CellKind;

/// A read-only matrix view: element `(i, j)` is `data[i * rs + j * cs]`.
#[derive(Clone, Copy)]
pub(crate) struct View<'a> {
    pub data: &'a [f32],
    pub rs: usize,
    pub cs: usize,
}

impl<'a> View<'a> {
    /// A row-major `rows × cols` matrix.
    pub fn rows(data: &'a [f32], cols: usize) -> Self {
        View { data, rs: cols, cs: 1 }
    }

    /// The transpose of a row-major matrix with `cols` columns.
    pub fn transposed(data: &'a [f32], cols: usize) -> Self {
        View { data, rs: 1, cs: cols }
    }

    fn fits(&self, rows: usize, cols: usize) -> bool {
        rows == 0 || cols == 0 || (rows - 1) * self.rs + (cols - 1) * self.cs < self.data.len()
    }
}

/// `dst[m × n] (row-major) = (accumulate ? dst : 0) + a[m × k] · b[k × n]`, on this thread.
pub(crate) fn matmul(dst: &mut [f32], m: usize, n: usize, k: usize, a: View<'_>, b: View<'_>, accumulate: bool) {
    assert!(
        dst.len() >= m * n && a.fits(m, k) && b.fits(k, n),
        "matmul: views out of bounds"
    );
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            dst[..m * n].fill(0.0);
        }
        return;
    }
    // SAFETY: the assertion above keeps every index the kernel touches inside the slices;
    // `dst` is borrowed mutably, so nothing else aliases it.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.data.as_ptr(),
            a.cs as isize,
            a.rs as isize,
            b.data.as_ptr(),
            b.cs as isize,
            b.rs as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        )
    }
}

/// `e^x` to about 2 ulp for |x| < 87 (Cephes' polynomial after range reduction), branch-free
/// and without float-to-int casts (Rust's saturating `as` does not vectorise) so that loops
/// over it vectorise; saturates outside.
#[inline(always)]
fn exp(x: f32) -> f32 {
    // Adding 1.5·2^23 rounds to an integer held in the low mantissa bits.
    const MAGIC: f32 = 12_582_912.0;
    let x = x.clamp(-87.0, 88.0);
    let t = x * std::f32::consts::LOG2_E + MAGIC;
    let n = t - MAGIC;
    let r = x - n * 0.693_359_4 + n * 2.121_944_4e-4;
    let p =
        ((((1.987_569_1e-4 * r + 1.398_2e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r + 0.166_666_65) * r + 0.5;
    let e = p * r * r + r + 1.0;
    let scale = f32::from_bits(t.to_bits().wrapping_sub(MAGIC.to_bits()).wrapping_add(127) << 23);
    e * scale
}

#[inline(always)]
fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

#[inline(always)]
fn tanh(x: f32) -> f32 {
    let e = exp(-2.0 * x.abs());
    ((1.0 - e) / (1.0 + e)).copysign(x)
}

/// What one row of one step keeps for the backward pass, per cell (in units of `hidden`):
/// RNN `h`; LSTM `i f g o c tanh(c)`; GRU `r z n (W_hn h + b_hn) h_prev`.
pub(crate) fn act_width(cell: CellKind) -> usize {
    match cell {
        CellKind::Rnn => 1,
        CellKind::Lstm => 6,
        CellKind::Gru => 5,
    }
}

/// One forward step for one row. `gx`: input projection (with `b_ih`) `[gates·H]`; `gh`:
/// `W_hh h_masked + b_hh` `[gates·H]`; `h`, `c`: this row's state, updated; `act`: what
/// backward needs (`act_width · H`); `out`: the step's output `[H]`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn forward_row(
    cell: CellKind,
    hd: usize,
    gx: &[f32],
    gh: &[f32],
    h: &mut [f32],
    c: &mut [f32],
    act: &mut [f32],
    out: &mut [f32],
) {
    match cell {
        CellKind::Rnn => rnn_forward(&gx[..hd], &gh[..hd], &mut h[..hd], &mut act[..hd], &mut out[..hd]),
        CellKind::Lstm => {
            let (ai, rest) = act[..6 * hd].split_at_mut(hd);
            let (af, rest) = rest.split_at_mut(hd);
            let (ag, rest) = rest.split_at_mut(hd);
            let (ao, rest) = rest.split_at_mut(hd);
            let (ac, atc) = rest.split_at_mut(hd);
            let (gxi, gxf, gxg, gxo) = (&gx[..hd], &gx[hd..2 * hd], &gx[2 * hd..3 * hd], &gx[3 * hd..4 * hd]);
            let (ghi, ghf, ghg, gho) = (&gh[..hd], &gh[hd..2 * hd], &gh[2 * hd..3 * hd], &gh[3 * hd..4 * hd]);
            gate(gxi, ghi, ai, sigmoid);
            gate(gxf, ghf, af, sigmoid);
            gate(gxg, ghg, ag, tanh);
            gate(gxo, gho, ao, sigmoid);
            lstm_state(ai, af, ag, ao, &mut c[..hd], ac, atc, &mut h[..hd], &mut out[..hd]);
        }
        CellKind::Gru => {
            let (ar, rest) = act[..5 * hd].split_at_mut(hd);
            let (az, rest) = rest.split_at_mut(hd);
            let (an, rest) = rest.split_at_mut(hd);
            let (aghn, ahp) = rest.split_at_mut(hd);
            gate(&gx[..hd], &gh[..hd], ar, sigmoid);
            gate(&gx[hd..2 * hd], &gh[hd..2 * hd], az, sigmoid);
            gru_state(
                &gx[2 * hd..3 * hd],
                &gh[2 * hd..3 * hd],
                ar,
                az,
                an,
                aghn,
                ahp,
                &mut h[..hd],
                &mut out[..hd],
            );
        }
    }
}

// The element loops take every slice as its own argument, so the compiler knows they do not
// overlap and vectorises them.

#[inline(always)]
fn gate<F: Fn(f32) -> f32>(gx: &[f32], gh: &[f32], out: &mut [f32], f: F) {
    for ((o, &a), &b) in out.iter_mut().zip(gx).zip(gh) {
        *o = f(a + b);
    }
}

#[inline(always)]
fn rnn_forward(gx: &[f32], gh: &[f32], h: &mut [f32], act: &mut [f32], out: &mut [f32]) {
    for j in 0..h.len().min(gx.len()).min(gh.len()).min(act.len()).min(out.len()) {
        let v = tanh(gx[j] + gh[j]);
        h[j] = v;
        act[j] = v;
        out[j] = v;
    }
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn lstm_state(
    i: &[f32],
    f: &[f32],
    g: &[f32],
    o: &[f32],
    c: &mut [f32],
    c_out: &mut [f32],
    tc_out: &mut [f32],
    h: &mut [f32],
    out: &mut [f32],
) {
    let n = i.len();
    let (f, g, o, c, c_out, tc_out, h, out) = (
        &f[..n],
        &g[..n],
        &o[..n],
        &mut c[..n],
        &mut c_out[..n],
        &mut tc_out[..n],
        &mut h[..n],
        &mut out[..n],
    );
    for j in 0..n {
        let cn = f[j] * c[j] + i[j] * g[j];
        let tc = tanh(cn);
        let hn = o[j] * tc;
        c[j] = cn;
        c_out[j] = cn;
        tc_out[j] = tc;
        h[j] = hn;
        out[j] = hn;
    }
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn gru_state(
    gxn: &[f32],
    ghn: &[f32],
    r: &[f32],
    z: &[f32],
    n_out: &mut [f32],
    ghn_out: &mut [f32],
    hp_out: &mut [f32],
    h: &mut [f32],
    out: &mut [f32],
) {
    let len = r.len();
    let (gxn, ghn, z, n_out, ghn_out, hp_out, h, out) = (
        &gxn[..len],
        &ghn[..len],
        &z[..len],
        &mut n_out[..len],
        &mut ghn_out[..len],
        &mut hp_out[..len],
        &mut h[..len],
        &mut out[..len],
    );
    for j in 0..len {
        let n = tanh(gxn[j] + r[j] * ghn[j]);
        let hp = h[j];
        let hn = n + z[j] * (hp - n);
        n_out[j] = n;
        ghn_out[j] = ghn[j];
        hp_out[j] = hp;
        h[j] = hn;
        out[j] = hn;
    }
}

/// One backward step for one row. `dh`: the gradient reaching `h_t` (in), replaced by the part
/// that reaches `h_{t-1}` directly (GRU's `z · dh`, else zero); `dc`: LSTM's cell gradient
/// carry; `act`, `c_prev` (zeros at the first step): saved by the forward steps; writes `dgx`
/// (input projection) and `dgh` (hidden product and `b_hh`).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn backward_row(
    cell: CellKind,
    hd: usize,
    act: &[f32],
    c_prev: &[f32],
    dh: &mut [f32],
    dc: &mut [f32],
    dgx: &mut [f32],
    dgh: &mut [f32],
) {
    match cell {
        CellKind::Rnn => rnn_backward(&act[..hd], &mut dh[..hd], &mut dgx[..hd], &mut dgh[..hd]),
        CellKind::Lstm => {
            let a = &act[..6 * hd];
            let (di, rest) = dgx[..4 * hd].split_at_mut(hd);
            let (df, rest) = rest.split_at_mut(hd);
            let (dg, d_o) = rest.split_at_mut(hd);
            lstm_backward(
                &a[..hd],
                &a[hd..2 * hd],
                &a[2 * hd..3 * hd],
                &a[3 * hd..4 * hd],
                &a[5 * hd..6 * hd],
                &c_prev[..hd],
                &mut dh[..hd],
                &mut dc[..hd],
                di,
                df,
                dg,
                d_o,
            );
            dgh[..4 * hd].copy_from_slice(&dgx[..4 * hd]);
        }
        CellKind::Gru => {
            let a = &act[..5 * hd];
            let (dxr, rest) = dgx[..3 * hd].split_at_mut(hd);
            let (dxz, dxn) = rest.split_at_mut(hd);
            let (dhr, rest) = dgh[..3 * hd].split_at_mut(hd);
            let (dhz, dhn) = rest.split_at_mut(hd);
            gru_backward(
                [
                    &a[..hd],
                    &a[hd..2 * hd],
                    &a[2 * hd..3 * hd],
                    &a[3 * hd..4 * hd],
                    &a[4 * hd..5 * hd],
                ],
                &mut dh[..hd],
                [dxr, dxz, dxn, dhr, dhz, dhn],
            );
        }
    }
}

#[inline(always)]
fn rnn_backward(a: &[f32], dh: &mut [f32], dgx: &mut [f32], dgh: &mut [f32]) {
    let n = a.len();
    let (dh, dgx, dgh) = (&mut dh[..n], &mut dgx[..n], &mut dgh[..n]);
    for j in 0..n {
        let d = dh[j] * (1.0 - a[j] * a[j]);
        dgx[j] = d;
        dgh[j] = d;
        dh[j] = 0.0;
    }
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn lstm_backward(
    i: &[f32],
    f: &[f32],
    g: &[f32],
    o: &[f32],
    tc: &[f32],
    cp: &[f32],
    dh: &mut [f32],
    dc: &mut [f32],
    di: &mut [f32],
    df: &mut [f32],
    dg: &mut [f32],
    d_o: &mut [f32],
) {
    let n = i.len();
    let (f, g, o, tc, cp) = (&f[..n], &g[..n], &o[..n], &tc[..n], &cp[..n]);
    let (dh, dc, di, df, dg, d_o) = (
        &mut dh[..n],
        &mut dc[..n],
        &mut di[..n],
        &mut df[..n],
        &mut dg[..n],
        &mut d_o[..n],
    );
    for j in 0..n {
        let dct = dc[j] + dh[j] * o[j] * (1.0 - tc[j] * tc[j]);
        d_o[j] = dh[j] * tc[j] * o[j] * (1.0 - o[j]);
        di[j] = dct * g[j] * i[j] * (1.0 - i[j]);
        df[j] = dct * cp[j] * f[j] * (1.0 - f[j]);
        dg[j] = dct * i[j] * (1.0 - g[j] * g[j]);
        dc[j] = dct * f[j];
        dh[j] = 0.0;
    }
}

#[inline(always)]
fn gru_backward(a: [&[f32]; 5], dh: &mut [f32], d: [&mut [f32]; 6]) {
    let [r, z, nv, ghn, hp] = a;
    let n = r.len();
    let (z, nv, ghn, hp, dh) = (&z[..n], &nv[..n], &ghn[..n], &hp[..n], &mut dh[..n]);
    let [dxr, dxz, dxn, dhr, dhz, dhn] = d;
    let (dxr, dxz, dxn, dhr, dhz, dhn) = (
        &mut dxr[..n],
        &mut dxz[..n],
        &mut dxn[..n],
        &mut dhr[..n],
        &mut dhz[..n],
        &mut dhn[..n],
    );
    for j in 0..n {
        let dv = dh[j];
        let dan = dv * (1.0 - z[j]) * (1.0 - nv[j] * nv[j]);
        let daz = dv * (hp[j] - nv[j]) * z[j] * (1.0 - z[j]);
        let dar = dan * ghn[j] * r[j] * (1.0 - r[j]);
        dxr[j] = dar;
        dxz[j] = daz;
        dxn[j] = dan;
        dhr[j] = dar;
        dhz[j] = daz;
        dhn[j] = dan * r[j];
        dh[j] = dv * z[j];
    }
}

/// The shape of one direction's sequence block.
#[derive(Clone, Copy)]
pub(crate) struct Dims {
    pub cell: CellKind,
    pub hidden: usize,
    /// Padded length `T` of the whole batch.
    pub steps: usize,
    pub reverse: bool,
}

impl Dims {
    pub fn gates(&self) -> usize {
        self.cell.gates() * self.hidden
    }

    /// The time index of step `s` of a row of length `len` (the backward direction starts at
    /// the row's own last token).
    #[inline(always)]
    fn time(&self, s: usize, len: usize) -> usize {
        if self.reverse {
            len - 1 - s
        } else {
            s
        }
    }
}

/// The forward pass over a block of `nb` rows, all their steps. `gx`: `[nb, T, G]`;
/// `w_t`: `W_hhᵀ` `[H, G]`; `out`: `[nb, T, H]`, zero on entry; `hm`: `[S, nb, H]` the masked
/// state fed to each step's product (kept for backward); `act`: `[S, nb, A·H]` or empty
/// when nothing is kept (inference, then `hm` needs only `nb·H`). `state`: empty (the state
/// starts at zero), or `[2, nb, H]` (`h` then `c`, LSTM's `c` only read) holding the initial
/// state on entry and the final one on return.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn forward_rows_impl(
    d: Dims,
    lengths: &[usize],
    rmask: Option<&[f32]>,
    gx: &[f32],
    w_t: View<'_>,
    b_hh: &[f32],
    out: &mut [f32],
    hm: &mut [f32],
    act: &mut [f32],
    state: &mut [f32],
) {
    let (nb, hd, g, t_all) = (lengths.len(), d.hidden, d.gates(), d.steps);
    let aw = act_width(d.cell) * hd;
    let keep = !act.is_empty();
    let s_max = lengths.iter().copied().max().unwrap_or(0);
    let lstm = d.cell == CellKind::Lstm;
    let (mut h, mut c) = if state.is_empty() {
        (vec![0f32; nb * hd], vec![0f32; if lstm { nb * hd } else { 0 }])
    } else {
        let (h0, c0) = state.split_at(nb * hd);
        (h0.to_vec(), if lstm { c0[..nb * hd].to_vec() } else { Vec::new() })
    };
    let mut gh = Buf::new(nb * g);
    let mut scratch_act = Buf::new(if keep { 0 } else { aw });
    for s in 0..s_max {
        let hm_s = if keep {
            &mut hm[s * nb * hd..(s + 1) * nb * hd]
        } else {
            &mut hm[..nb * hd]
        };
        match rmask {
            Some(m) => {
                for ((o, &x), &k) in hm_s.iter_mut().zip(&h).zip(&m[..nb * hd]) {
                    *o = x * k;
                }
            }
            None => hm_s.copy_from_slice(&h),
        }
        for row in gh.chunks_exact_mut(g) {
            row.copy_from_slice(b_hh);
        }
        matmul(&mut gh, nb, g, hd, View::rows(hm_s, hd), w_t, true);
        for (b, &len) in lengths.iter().enumerate() {
            if s >= len {
                continue;
            }
            let t = d.time(s, len);
            let gx_row = &gx[(b * t_all + t) * g..][..g];
            let out_row = &mut out[(b * t_all + t) * hd..][..hd];
            let act_row = if keep {
                &mut act[(s * nb + b) * aw..][..aw]
            } else {
                &mut scratch_act[..]
            };
            let c_row: &mut [f32] = if c.is_empty() {
                &mut []
            } else {
                &mut c[b * hd..(b + 1) * hd]
            };
            forward_row(
                d.cell,
                hd,
                gx_row,
                &gh[b * g..(b + 1) * g],
                &mut h[b * hd..(b + 1) * hd],
                c_row,
                act_row,
                out_row,
            );
        }
    }
    if !state.is_empty() {
        let (h_end, c_end) = state.split_at_mut(nb * hd);
        h_end.copy_from_slice(&h);
        if lstm {
            c_end[..nb * hd].copy_from_slice(&c);
        }
    }
}

/// The backward pass over a block of rows (the saved `hm` and `act` of
/// [`forward_rows_impl`]). `w`: `W_hh` `[G, H]`; `grad_out`: `[nb, T, H]`; writes `grad_gx`
/// `[nb, T, G]` (zero on entry) and adds this block's share to `dw` `[G, H]` and `db` `[G]`.
/// `c0`: LSTM's initial cell state `[nb, H]`, empty when it was zero (no gradient flows into a
/// carried state).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn backward_rows_impl(
    d: Dims,
    lengths: &[usize],
    rmask: Option<&[f32]>,
    w: &[f32],
    hm: &[f32],
    act: &[f32],
    grad_out: &[f32],
    grad_gx: &mut [f32],
    dw: &mut [f32],
    db: &mut [f32],
    c0: &[f32],
) {
    let (nb, hd, g, t_all) = (lengths.len(), d.hidden, d.gates(), d.steps);
    let aw = act_width(d.cell) * hd;
    let s_max = lengths.iter().copied().max().unwrap_or(0);
    let mut dh = vec![0f32; nb * hd];
    let mut dc = vec![0f32; if d.cell == CellKind::Lstm { nb * hd } else { 0 }];
    let mut dgh_all = Buf::new(s_max * nb * g);
    let mut back = Buf::new(nb * hd);
    let zeros = vec![0f32; hd];
    for s in (0..s_max).rev() {
        let dgh_s = &mut dgh_all[s * nb * g..(s + 1) * nb * g];
        for (b, &len) in lengths.iter().enumerate() {
            if s >= len {
                // A finished row adds nothing to dW_hh at this step.
                dgh_s[b * g..(b + 1) * g].fill(0.0);
                continue;
            }
            let t = d.time(s, len);
            let dh_row = &mut dh[b * hd..(b + 1) * hd];
            for (x, &go) in dh_row.iter_mut().zip(&grad_out[(b * t_all + t) * hd..][..hd]) {
                *x += go;
            }
            // LSTM's previous cell state (slot 4 of the previous step's activations).
            let c_prev: &[f32] = match d.cell {
                CellKind::Lstm if s > 0 => &act[((s - 1) * nb + b) * aw + 4 * hd..][..hd],
                CellKind::Lstm if !c0.is_empty() => &c0[b * hd..(b + 1) * hd],
                CellKind::Lstm => &zeros,
                _ => &[],
            };
            let dc_row: &mut [f32] = if dc.is_empty() {
                &mut []
            } else {
                &mut dc[b * hd..(b + 1) * hd]
            };
            backward_row(
                d.cell,
                hd,
                &act[(s * nb + b) * aw..][..aw],
                c_prev,
                dh_row,
                dc_row,
                &mut grad_gx[(b * t_all + t) * g..][..g],
                &mut dgh_s[b * g..(b + 1) * g],
            );
        }
        matmul(&mut back, nb, hd, g, View::rows(dgh_s, g), View::rows(w, hd), false);
        for (b, &len) in lengths.iter().enumerate() {
            if s >= len {
                continue;
            }
            let dh_row = &mut dh[b * hd..(b + 1) * hd];
            let back_row = &back[b * hd..(b + 1) * hd];
            match rmask {
                Some(m) => {
                    for ((x, &v), &k) in dh_row.iter_mut().zip(back_row).zip(&m[b * hd..(b + 1) * hd]) {
                        *x += v * k;
                    }
                }
                None => {
                    for (x, &v) in dh_row.iter_mut().zip(back_row) {
                        *x += v;
                    }
                }
            }
        }
    }
    // dW_hh += Σ_s dghᵀ_s · hm_s, all steps in one product; db_hh += Σ dgh.
    let rows = s_max * nb;
    matmul(
        dw,
        g,
        hd,
        rows,
        View::transposed(&dgh_all, g),
        View::rows(&hm[..rows * hd], hd),
        true,
    );
    for row in dgh_all.chunks_exact(g) {
        for (x, &v) in db.iter_mut().zip(row) {
            *x += v;
        }
    }
}

/// What a block's forward pass keeps for its backward pass.
pub(crate) struct Saved {
    /// `[S, nb, H]`: the (recurrent-dropout-masked) state fed to each step's product.
    pub hm: Buf,
    /// `[S, nb, act_width · H]`: gate activations and states (of active rows only).
    pub act: Buf,
    /// `[2, nb, H]`: the initial state on entry, the final one after (empty: neither).
    pub state: Vec<f32>,
}

/// The weights of one layer direction as the fused operation holds them: `w = [W_ih | W_hh]`
/// `[G, I + H]` and `b = [b_ih | b_hh]` `[2G]`.
#[derive(Clone, Copy)]
pub(crate) struct Weights<'a> {
    pub w: &'a [f32],
    pub b: &'a [f32],
    pub input: usize,
}

impl Weights<'_> {
    /// `I + H`: the row length of `w`.
    fn width(&self) -> usize {
        self.w.len() / (self.b.len() / 2).max(1)
    }
}

/// The forward pass of a block of `nb` rows: their input projections `x W_ihᵀ + b_ih` in one
/// product, then the recurrence. `x`: `[nb, T, I]`; `w_t`: `W_hhᵀ` `[H, G]` (any layout); `out`: `[nb, T, H]`,
/// zero on entry. Keeps activations when `keep`. `state`: as in [`forward_rows_impl`]; the
/// returned [`Saved`] holds the final state there.
#[allow(clippy::too_many_arguments)]
pub(crate) fn forward_block(
    d: Dims,
    lengths: &[usize],
    rmask: Option<&[f32]>,
    x: &[f32],
    wt: Weights<'_>,
    w_t: View<'_>,
    out: &mut [f32],
    keep: bool,
    mut state: Vec<f32>,
) -> Saved {
    let (nb, hd, g, i_w) = (lengths.len(), d.hidden, d.gates(), wt.input);
    let rows = nb * d.steps;
    let mut gx = Buf::new(rows * g);
    for row in gx.chunks_exact_mut(g) {
        row.copy_from_slice(&wt.b[..g]);
    }
    let row_w = wt.width();
    matmul(
        &mut gx,
        rows,
        g,
        i_w,
        View::rows(&x[..rows * i_w], i_w),
        View {
            data: wt.w,
            rs: 1,
            cs: row_w,
        },
        true,
    );
    let s_max = lengths.iter().copied().max().unwrap_or(0);
    let aw = act_width(d.cell) * hd;
    let (mut hm, mut act) = if keep {
        (Buf::new(s_max * nb * hd), Buf::new(s_max * nb * aw))
    } else {
        (Buf::new(nb * hd), Buf::new(0))
    };
    forward_rows(
        d,
        lengths,
        rmask,
        &gx,
        w_t,
        &wt.b[g..],
        out,
        &mut hm,
        &mut act,
        &mut state,
    );
    Saved { hm, act, state }
}

/// The backward pass of a block: writes `dx` `[nb, T, I]` and adds the block's share to `dw`
/// `[G, I + H]` and `db` `[2G]`. `w_hh`: `[G, H]`; `c0`: LSTM's initial cell state `[nb, H]` or
/// empty (zero).
#[allow(clippy::too_many_arguments)]
pub(crate) fn backward_block(
    d: Dims,
    lengths: &[usize],
    rmask: Option<&[f32]>,
    x: &[f32],
    wt: Weights<'_>,
    w_hh: &[f32],
    saved: &Saved,
    grad_out: &[f32],
    dx: &mut [f32],
    dw: &mut [f32],
    db: &mut [f32],
    c0: &[f32],
) {
    let (nb, hd, g, i_w) = (lengths.len(), d.hidden, d.gates(), wt.input);
    let rows = nb * d.steps;
    let row_w = wt.width();
    let mut dgx = Buf::new(rows * g);
    // Padded steps get no gradient (the backward steps write every other row).
    for (b, &len) in lengths.iter().enumerate() {
        dgx[(b * d.steps + len) * g..(b + 1) * d.steps * g].fill(0.0);
    }
    let mut dw_hh = vec![0f32; g * hd];
    let (db_ih, db_hh) = db.split_at_mut(g);
    backward_rows(
        d, lengths, rmask, w_hh, &saved.hm, &saved.act, grad_out, &mut dgx, &mut dw_hh, db_hh, c0,
    );
    // dx = dgx · W_ih; dW_ih = dgxᵀ · x; db_ih = Σ dgx.
    matmul(
        dx,
        rows,
        i_w,
        g,
        View::rows(&dgx, g),
        View {
            data: wt.w,
            rs: row_w,
            cs: 1,
        },
        false,
    );
    let mut dw_ih = Buf::new(g * i_w);
    matmul(
        &mut dw_ih,
        g,
        i_w,
        rows,
        View::transposed(&dgx, g),
        View::rows(&x[..rows * i_w], i_w),
        false,
    );
    for row in dgx.chunks_exact(g) {
        for (a, &v) in db_ih.iter_mut().zip(row) {
            *a += v;
        }
    }
    for (r, dw_row) in dw.chunks_exact_mut(row_w).enumerate() {
        for (a, &v) in dw_row[..i_w].iter_mut().zip(&dw_ih[r * i_w..(r + 1) * i_w]) {
            *a += v;
        }
        for (a, &v) in dw_row[i_w..].iter_mut().zip(&dw_hh[r * hd..(r + 1) * hd]) {
            *a += v;
        }
    }
}

macro_rules! dispatch {
    ($name:ident, $imp:ident, ($($arg:ident: $ty:ty),*)) => {
        #[allow(clippy::too_many_arguments)]
        pub(crate) fn $name($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
                #[allow(clippy::too_many_arguments)]
                unsafe fn v4($($arg: $ty),*) {
                    $imp($($arg),*)
                }
                #[target_feature(enable = "avx2,fma")]
                #[allow(clippy::too_many_arguments)]
                unsafe fn v3($($arg: $ty),*) {
                    $imp($($arg),*)
                }
                if std::arch::is_x86_feature_detected!("avx512f") && std::arch::is_x86_feature_detected!("avx512vl") {
                    // SAFETY: the CPU has the features the function was compiled for.
                    return unsafe { v4($($arg),*) };
                }
                if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
                    // SAFETY: as above.
                    return unsafe { v3($($arg),*) };
                }
            }
            $imp($($arg),*)
        }
    };
}

dispatch!(forward_rows, forward_rows_impl, (
    d: Dims, lengths: &[usize], rmask: Option<&[f32]>, gx: &[f32], w_t: View<'_>, b_hh: &[f32],
    out: &mut [f32], hm: &mut [f32], act: &mut [f32], state: &mut [f32]
));
dispatch!(backward_rows, backward_rows_impl, (
    d: Dims, lengths: &[usize], rmask: Option<&[f32]>, w: &[f32], hm: &[f32], act: &[f32],
    grad_out: &[f32], grad_gx: &mut [f32], dw: &mut [f32], db: &mut [f32], c0: &[f32]
));

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_math_matches_std() {
        let mut worst = (0f32, 0f32, 0f32);
        for i in -20000..=20000 {
            let x = i as f32 * 1e-3;
            let e = (exp(x) - x.exp()).abs() / x.exp();
            worst.0 = worst.0.max(e);
            worst.1 = worst.1.max((tanh(x) - x.tanh()).abs());
            worst.2 = worst.2.max((sigmoid(x) - 1.0 / (1.0 + (-x).exp())).abs());
        }
        assert!(worst.0 < 3e-7, "exp relative error {}", worst.0);
        assert!(worst.1 < 3e-7, "tanh error {}", worst.1);
        assert!(worst.2 < 3e-7, "sigmoid error {}", worst.2);
        assert_eq!(tanh(100.0), 1.0);
        assert_eq!(tanh(-100.0), -1.0);
        assert!(sigmoid(-1000.0) >= 0.0 && sigmoid(-1000.0) < 1e-37);
        assert_eq!(sigmoid(1000.0), 1.0);
        assert!(exp(f32::NAN).is_nan() || exp(f32::NAN) >= 0.0);
    }

    #[test]
    fn matmul_matches_naive() {
        let (m, n, k) = (5, 7, 3);
        let a: Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..n * k).map(|i| (i as f32 * 0.11).cos()).collect();
        // a · bᵀ with b stored [n, k].
        let mut dst = vec![1f32; m * n];
        matmul(&mut dst, m, n, k, View::rows(&a, k), View::transposed(&b, k), true);
        for i in 0..m {
            for j in 0..n {
                let want: f32 = 1.0 + (0..k).map(|p| a[i * k + p] * b[j * k + p]).sum::<f32>();
                assert!((dst[i * n + j] - want).abs() < 1e-5);
            }
        }
    }
}
