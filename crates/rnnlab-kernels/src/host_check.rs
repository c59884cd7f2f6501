//! The GPU kernels compiled for the host (`kernels_host.cpp`, feature `cells-host`) and held
//! to their CPU definitions on a machine without a GPU: the cells of `cells.cu`, run by the
//! stepwise loop against [`Cpu`] (with the column-major product arguments that cuBLAS gets,
//! [`Gemm::column_major`]), and AdamW's update of `optim.cu` against the CPU optimiser's
//! [`update_slice`]. What is left for a GPU to check: cuBLAS and the launches
//! (`rnnlab bench kernels --device cuda`).

use super::rng::Rng;
use super::stepwise::{self, At, AtMut, Backend, BackwardCell, CellStep, Cpu, ForwardCell, Gemm, Plan};
use crate::adamw::{update_slice, Consts};
use crate::CellKind;

// The kernels' argument lists, as in `cells.cu` (and in `cuda.rs`'s launches).
extern "C" {
    fn rnnlab_host_thread(block: u32, block_dim: u32, thread: u32);
    fn rnnlab_cells_cu_forward(
        cell: i32,
        batch: i32,
        hidden: i32,
        t: i32,
        gx_stride: i64,
        out_stride: i64,
        has_rmask: i32,
        has_next: i32,
        lengths: *const u32,
        gx: *const f32,
        gh: *const f32,
        b_hh: *const f32,
        rmask: *const f32,
        hs: *mut f32,
        cs: *mut f32,
        out: *mut f32,
        act: *mut f32,
        hm_next: *mut f32,
    );
    fn rnnlab_optim_cu_adamw_update(
        n: i64,
        lr: f32,
        keep: f32,
        beta1: f32,
        beta2: f32,
        scale_m: f32,
        scale_v: f32,
        eps: f32,
        grad_scale: f32,
        p: *mut f32,
        g: *const f32,
        m: *mut f32,
        v: *mut f32,
    );
    fn rnnlab_cells_cu_backward(
        cell: i32,
        batch: i32,
        hidden: i32,
        t: i32,
        gx_stride: i64,
        out_stride: i64,
        has_rmask: i32,
        lengths: *const u32,
        gout: *const f32,
        act: *const f32,
        rmask: *const f32,
        dh_direct: *mut f32,
        dh_rec: *const f32,
        dcs: *mut f32,
        dgx: *mut f32,
        dgh: *mut f32,
    );
}

/// `cuda.rs`'s block size.
const BLOCK: u32 = 256;

/// Runs `kernel` once per thread of `cuda.rs`'s launch for `n` elements, whole blocks
/// included (the threads past `n` must return without writing).
fn launch(n: usize, mut kernel: impl FnMut()) {
    for block in 0..(n as u32).div_ceil(BLOCK).max(1) {
        for thread in 0..BLOCK {
            // SAFETY: sets three thread-local integers.
            unsafe { rnnlab_host_thread(block, BLOCK, thread) };
            kernel();
        }
    }
}

fn ptr(b: At<'_, Vec<f32>>) -> *const f32 {
    b.0[b.1..].as_ptr()
}

fn ptr_mut(b: AtMut<'_, Vec<f32>>) -> *mut f32 {
    b.0[b.1..].as_mut_ptr()
}

/// The GPU backend's calls on the host: the products through cuBLAS's column-major
/// arguments, the cells through the kernels of `cells.cu`.
struct HostCells;

impl Backend for HostCells {
    type Buf = Vec<f32>;
    type Ints = Vec<u32>;

    fn zeros(&self, n: usize) -> candle_core::Result<Vec<f32>> {
        Ok(vec![0.0; n.max(1)])
    }

    fn upload(&self, v: &[f32]) -> candle_core::Result<Vec<f32>> {
        Ok(v.to_vec())
    }

    fn upload_lengths(&self, v: &[usize]) -> candle_core::Result<Vec<u32>> {
        Ok(v.iter().map(|&l| l as u32).collect())
    }

    /// `sgemm` as cuBLAS defines it (column-major, `C = op(first) op(second) + beta C`) with
    /// the arguments `cuda.rs` passes.
    fn gemm(
        &self,
        g: Gemm,
        a: At<'_, Vec<f32>>,
        b: At<'_, Vec<f32>>,
        c: AtMut<'_, Vec<f32>>,
    ) -> candle_core::Result<()> {
        let cm = g.column_major();
        let (first, second) = (&b.0[b.1..], &a.0[a.1..]);
        let c = &mut c.0[c.1..];
        let at = |m: &[f32], trans: bool, ld: usize, row: usize, col: usize| {
            if trans {
                m[col + row * ld]
            } else {
                m[row + col * ld]
            }
        };
        for j in 0..cm.n {
            for i in 0..cm.m {
                let mut acc = 0.0f32;
                for l in 0..cm.k {
                    acc +=
                        at(first, cm.trans_first, cm.ld_first, i, l) * at(second, cm.trans_second, cm.ld_second, l, j);
                }
                let dst = &mut c[i + j * cm.ldc];
                *dst = acc + if g.beta == 0.0 { 0.0 } else { g.beta * *dst };
            }
        }
        Ok(())
    }

    fn cell_forward(&self, s: CellStep, lengths: &Vec<u32>, f: ForwardCell<'_, Vec<f32>>) -> candle_core::Result<()> {
        let (gx, gh, b_hh, rmask) = (ptr(f.gx), f.gh.as_ptr(), ptr(f.b_hh), f.rmask.as_ptr());
        let (hs, cs) = (f.h.as_mut_ptr(), f.c.as_mut_ptr());
        let (out, act, hm_next) = (ptr_mut(f.out), ptr_mut(f.act), ptr_mut(f.hm_next));
        launch(s.batch * s.hidden, || {
            // SAFETY: the buffers are those the stepwise loop hands every backend, sized as
            // the CPU definition reads and writes them; one call at a time.
            unsafe {
                rnnlab_cells_cu_forward(
                    s.cell,
                    s.batch as i32,
                    s.hidden as i32,
                    s.t as i32,
                    s.gx_stride as i64,
                    s.out_stride as i64,
                    s.has_rmask as i32,
                    s.has_next as i32,
                    lengths.as_ptr(),
                    gx,
                    gh,
                    b_hh,
                    rmask,
                    hs,
                    cs,
                    out,
                    act,
                    hm_next,
                )
            }
        });
        Ok(())
    }

    fn cell_backward(&self, s: CellStep, lengths: &Vec<u32>, f: BackwardCell<'_, Vec<f32>>) -> candle_core::Result<()> {
        let (gout, act, rmask, dh_rec) = (ptr(f.gout), ptr(f.act), f.rmask.as_ptr(), f.dh_rec.as_ptr());
        let (dh_direct, dcs) = (f.dh_direct.as_mut_ptr(), f.dc.as_mut_ptr());
        let (dgx, dgh) = (ptr_mut(f.dgx), ptr_mut(f.dgh));
        launch(s.batch * s.hidden, || {
            // SAFETY: as in `cell_forward`.
            unsafe {
                rnnlab_cells_cu_backward(
                    s.cell,
                    s.batch as i32,
                    s.hidden as i32,
                    s.t as i32,
                    s.gx_stride as i64,
                    s.out_stride as i64,
                    s.has_rmask as i32,
                    lengths.as_ptr(),
                    gout,
                    act,
                    rmask,
                    dh_direct,
                    dh_rec,
                    dcs,
                    dgx,
                    dgh,
                )
            }
        });
        Ok(())
    }
}

/// One direction forward (training) and backward with `be` on fixed inputs: the outputs,
/// then the packed gradients.
fn run<E: Backend<Buf = Vec<f32>>>(
    be: &E,
    p: Plan,
    lengths: &[usize],
    rmask: Option<&[f32]>,
    seed: u64,
) -> Vec<Vec<f32>> {
    let mut rng = Rng::new(seed);
    let (g, h) = (p.gates(), p.hidden);
    let mut random = |n: usize| (0..n).map(|_| rng.symmetric(1.0)).collect::<Vec<f32>>();
    let gx = random(p.batch * p.steps * g);
    let w_hh = random(g * h);
    let b_hh = random(g);
    let gout = random(p.batch * p.steps * h);
    let ints = be.upload_lengths(lengths).unwrap();
    let (out, saved) = stepwise::forward(be, p, &ints, rmask, (&gx, 0), (&w_hh, 0), (&b_hh, 0)).unwrap();
    let saved = saved.expect("training keeps the activations");
    let grads = stepwise::backward(be, p, &ints, &saved, rmask.is_some(), (&w_hh, 0), (&gout, 0)).unwrap();
    vec![out, grads]
}

#[test]
fn host_compiled_kernels_match_the_cpu_definition() {
    let mut checked = 0;
    for cell in [CellKind::Rnn, CellKind::Lstm, CellKind::Gru] {
        for reverse in [false, true] {
            for with_rmask in [false, true] {
                // 300 units: more than one block of 256 threads, the last one partial.
                let (batch, steps, hidden) = (3, 5, 100);
                let lengths = [5, 1, 3];
                let p = Plan {
                    cell,
                    batch,
                    steps,
                    hidden,
                    reverse,
                    keep: true,
                };
                let rmask = with_rmask.then(|| Rng::new(3).dropout_mask(batch * hidden, 0.3));
                let want = run(&Cpu, p, &lengths, rmask.as_deref(), 42);
                let got = run(&HostCells, p, &lengths, rmask.as_deref(), 42);
                for (what, (w, g)) in ["outputs", "gradients"].iter().zip(want.iter().zip(&got)) {
                    assert_eq!(w.len(), g.len(), "{cell:?} {what}");
                    let worst = w.iter().zip(g).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
                    assert!(
                        worst <= 1e-5,
                        "{cell:?} reverse={reverse} rmask={with_rmask}: {what} differ by {worst}"
                    );
                    assert!(w.iter().any(|&v| v != 0.0), "{cell:?} {what} all zero");
                }
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 12);
}

#[test]
fn host_compiled_adamw_matches_the_cpu_optimiser() {
    let n = 1000; // four blocks of 256, the last one partial
    let mut rng = Rng::new(5);
    let mut random = |scale: f32| (0..n).map(|_| rng.symmetric(scale)).collect::<Vec<f32>>();
    let (p0, m0) = (random(1.0), random(0.1));
    let v0: Vec<f32> = random(0.01).iter().map(|x| x.abs()).collect();
    let params = candle_nn::ParamsAdamW {
        weight_decay: 0.01,
        ..Default::default()
    };
    let (mut want, mut got) = ((p0.clone(), m0.clone(), v0.clone()), (p0.clone(), m0, v0));
    for step in 1..=3 {
        let g = random(2.0);
        let c = Consts::new(&params, step, 2e-3, 0.7);
        update_slice(&mut want.0, &g, &mut want.1, &mut want.2, c);
        let (p, m, v) = (got.0.as_mut_ptr(), got.1.as_mut_ptr(), got.2.as_mut_ptr());
        launch(n, || {
            // SAFETY: four buffers of `n` elements, one call at a time.
            unsafe {
                rnnlab_optim_cu_adamw_update(
                    n as i64,
                    c.lr,
                    1.0 - c.lr * c.decay,
                    c.beta1,
                    c.beta2,
                    c.scale_m,
                    c.scale_v,
                    c.eps,
                    c.grad_scale,
                    p,
                    g.as_ptr(),
                    m,
                    v,
                )
            }
        });
    }
    assert_ne!(want.0, p0, "the update moved the parameter");
    for (what, w, g) in [
        ("parameter", &want.0, &got.0),
        ("m", &want.1, &got.1),
        ("v", &want.2, &got.2),
    ] {
        let worst = w.iter().zip(g).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        assert!(worst <= 1e-7, "{what} differs by {worst}");
    }
}
