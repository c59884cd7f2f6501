//! The stepwise recurrent layer's primitives on NVIDIA GPUs: cuBLAS for the products, the
//! cell kernels of `cells.cu` (compiled by `build.rs` with the toolkit's nvcc, embedded as a
//! fat binary, loaded once per device); and AdamW's in-place update (`optim.cu`). The loop itself is
//! `crate::stepwise`'s, shared with the CPU definition the tests check; `crate::stepwise_op`
//! runs it on this backend.

use std::sync::{Arc, Mutex};

use candle_core::cuda_backend::cudarc::cublas::{sys::cublasOperation_t, Gemm as _, GemmConfig};
use candle_core::cuda_backend::cudarc::driver::{CudaFunction, CudaSlice, CudaStream, LaunchConfig, PushKernelArg};
use candle_core::cuda_backend::cudarc::nvrtc::Ptx;
use candle_core::cuda_backend::{CudaDevice, WrapErr};
use candle_core::{CpuStorage, CudaStorage, InplaceOp2, Layout};

use super::lock_err;
use crate::adamw::Consts;
use crate::stepwise::{At, AtMut, Backend, BackwardCell, CellStep, ForwardCell, Gemm};

/// `cells.cu` and `optim.cu` as nvcc's fat binaries: machine code for `CUDA_COMPUTE_CAP` and PTX.
const CELLS_FATBIN: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/cells.fatbin"));
const OPTIM_FATBIN: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/optim.fatbin"));

/// The kernels of `cells.cu` and `optim.cu`, loaded into one device's context.
struct Kernels {
    forward: CudaFunction,
    backward: CudaFunction,
    adamw: CudaFunction,
}

/// The kernels of `dev`, loaded on first use (one entry per device ordinal).
fn kernels(dev: &CudaDevice) -> candle_core::Result<Arc<Kernels>> {
    static LOADED: Mutex<Vec<(usize, Arc<Kernels>)>> = Mutex::new(Vec::new());
    let stream = dev.cuda_stream();
    let ctx = stream.context();
    let ordinal = ctx.ordinal();
    let mut loaded = LOADED.lock().map_err(lock_err)?;
    if let Some((_, k)) = loaded.iter().find(|(o, _)| *o == ordinal) {
        return Ok(k.clone());
    }
    let cells = ctx.load_module(Ptx::from_binary(CELLS_FATBIN.to_vec())).w()?;
    let optim = ctx.load_module(Ptx::from_binary(OPTIM_FATBIN.to_vec())).w()?;
    let kernels = Arc::new(Kernels {
        forward: cells.load_function("cell_forward").w()?,
        backward: cells.load_function("cell_backward").w()?,
        adamw: optim.load_function("adamw_update").w()?,
    });
    loaded.push((ordinal, kernels.clone()));
    Ok(kernels)
}

/// The backend of one call: the device, its stream and its cell kernels (looked up once per
/// call, not per step).
pub(crate) struct Cuda {
    pub(crate) dev: CudaDevice,
    stream: Arc<CudaStream>,
    kernels: Arc<Kernels>,
}

impl Cuda {
    pub(crate) fn new(dev: &CudaDevice) -> candle_core::Result<Self> {
        Ok(Cuda {
            dev: dev.clone(),
            stream: dev.cuda_stream(),
            kernels: kernels(dev)?,
        })
    }
}

/// A contiguous f32 input of an operation and its element offset.
pub(crate) fn input<'a>(s: &'a CudaStorage, l: &Layout, what: &str) -> candle_core::Result<At<'a, CudaSlice<f32>>> {
    match l.contiguous_offsets() {
        Some((start, _)) => Ok((s.as_cuda_slice::<f32>()?, start)),
        None => candle_core::bail!("stepwise recurrent layer: {what} must be contiguous"),
    }
}

/// Threads per block of the cell kernels (their `__launch_bounds__`): 1024, candle's usual,
/// would fail to launch if a kernel needed more than 64 registers per thread.
const BLOCK: u32 = 256;

/// One thread per element.
fn threads(n: usize) -> LaunchConfig {
    LaunchConfig {
        grid_dim: ((n as u32).div_ceil(BLOCK).max(1), 1, 1),
        block_dim: (BLOCK, 1, 1),
        shared_mem_bytes: 0,
    }
}

impl Backend for Cuda {
    type Buf = CudaSlice<f32>;
    type Ints = CudaSlice<u32>;

    fn zeros(&self, n: usize) -> candle_core::Result<CudaSlice<f32>> {
        self.dev.alloc_zeros::<f32>(n.max(1))
    }

    fn upload(&self, v: &[f32]) -> candle_core::Result<CudaSlice<f32>> {
        self.dev.clone_htod(v)
    }

    fn upload_lengths(&self, v: &[usize]) -> candle_core::Result<CudaSlice<u32>> {
        let v: Vec<u32> = v.iter().map(|&l| l as u32).collect();
        self.dev.clone_htod(&v)
    }

    /// cuBLAS is column-major: [`Gemm::column_major`] swaps the operands.
    fn gemm(
        &self,
        g: Gemm,
        a: At<'_, CudaSlice<f32>>,
        b: At<'_, CudaSlice<f32>>,
        c: AtMut<'_, CudaSlice<f32>>,
    ) -> candle_core::Result<()> {
        let op = |t: bool| {
            if t {
                cublasOperation_t::CUBLAS_OP_T
            } else {
                cublasOperation_t::CUBLAS_OP_N
            }
        };
        let cm = g.column_major();
        let cfg = GemmConfig {
            transa: op(cm.trans_first),
            transb: op(cm.trans_second),
            m: cm.m as i32,
            n: cm.n as i32,
            k: cm.k as i32,
            alpha: 1.0f32,
            lda: cm.ld_first as i32,
            ldb: cm.ld_second as i32,
            beta: g.beta,
            ldc: cm.ldc as i32,
        };
        let (av, bv) = (a.0.slice(a.1..), b.0.slice(b.1..));
        let mut cv = c.0.slice_mut(c.1..);
        let blas = self.dev.cublas_handle();
        // SAFETY: the shapes and leading dimensions are those the CPU definition runs with.
        unsafe { blas.gemm(cfg, &bv, &av, &mut cv) }.w()
    }

    fn cell_forward(
        &self,
        s: CellStep,
        lengths: &CudaSlice<u32>,
        f: ForwardCell<'_, CudaSlice<f32>>,
    ) -> candle_core::Result<()> {
        let (cell, batch, hidden, t) = (s.cell, s.batch as i32, s.hidden as i32, s.t as i32);
        let (gx_stride, out_stride) = (s.gx_stride as i64, s.out_stride as i64);
        let (has_rmask, has_next) = (s.has_rmask as i32, s.has_next as i32);
        let gx = f.gx.0.slice(f.gx.1..);
        let b_hh = f.b_hh.0.slice(f.b_hh.1..);
        let mut out = f.out.0.slice_mut(f.out.1..);
        let mut act = f.act.0.slice_mut(f.act.1..);
        let mut hm_next = f.hm_next.0.slice_mut(f.hm_next.1..);
        let mut b = self.stream.launch_builder(&self.kernels.forward);
        b.arg(&cell);
        b.arg(&batch);
        b.arg(&hidden);
        b.arg(&t);
        b.arg(&gx_stride);
        b.arg(&out_stride);
        b.arg(&has_rmask);
        b.arg(&has_next);
        b.arg(lengths);
        b.arg(&gx);
        b.arg(f.gh);
        b.arg(&b_hh);
        b.arg(f.rmask);
        b.arg(f.h);
        b.arg(f.c);
        b.arg(&mut out);
        b.arg(&mut act);
        b.arg(&mut hm_next);
        // SAFETY: the argument list is cell_forward's in cells.cu.
        unsafe { b.launch(threads(s.batch * s.hidden)) }.w()?;
        Ok(())
    }

    fn cell_backward(
        &self,
        s: CellStep,
        lengths: &CudaSlice<u32>,
        f: BackwardCell<'_, CudaSlice<f32>>,
    ) -> candle_core::Result<()> {
        let (cell, batch, hidden, t) = (s.cell, s.batch as i32, s.hidden as i32, s.t as i32);
        let (gx_stride, out_stride) = (s.gx_stride as i64, s.out_stride as i64);
        let has_rmask = s.has_rmask as i32;
        let gout = f.gout.0.slice(f.gout.1..);
        let act = f.act.0.slice(f.act.1..);
        let mut dgx = f.dgx.0.slice_mut(f.dgx.1..);
        let mut dgh = f.dgh.0.slice_mut(f.dgh.1..);
        let mut b = self.stream.launch_builder(&self.kernels.backward);
        b.arg(&cell);
        b.arg(&batch);
        b.arg(&hidden);
        b.arg(&t);
        b.arg(&gx_stride);
        b.arg(&out_stride);
        b.arg(&has_rmask);
        b.arg(lengths);
        b.arg(&gout);
        b.arg(&act);
        b.arg(f.rmask);
        b.arg(f.dh_direct);
        b.arg(f.dh_rec);
        b.arg(f.dc);
        b.arg(&mut dgx);
        b.arg(&mut dgh);
        // SAFETY: the argument list is cell_backward's in cells.cu.
        unsafe { b.launch(threads(s.batch * s.hidden)) }.w()?;
        Ok(())
    }
}

/// A parameter's AdamW moments on its GPU, allocated (zero) at its first update.
#[derive(Default)]
pub struct GpuMoments(Mutex<Option<(CudaSlice<f32>, CudaSlice<f32>)>>);

/// AdamW's update of one parameter in place, one `optim.cu` kernel:
/// `param.inplace_op2(grad, &GpuUpdate { .. })`.
pub struct GpuUpdate<'a> {
    pub moments: &'a GpuMoments,
    pub c: Consts,
}

impl InplaceOp2 for GpuUpdate<'_> {
    fn name(&self) -> &'static str {
        "adamw-update-gpu"
    }

    fn cpu_fwd(&self, _: &mut CpuStorage, _: &Layout, _: &CpuStorage, _: &Layout) -> candle_core::Result<()> {
        candle_core::bail!("the GPU AdamW update runs on GPUs only (the CPU has its own)")
    }

    fn cuda_fwd(&self, s1: &mut CudaStorage, l1: &Layout, s2: &CudaStorage, l2: &Layout) -> candle_core::Result<()> {
        let n = l1.shape().elem_count();
        let (Some((p0, p1)), Some((g0, g1))) = (l1.contiguous_offsets(), l2.contiguous_offsets()) else {
            candle_core::bail!("adamw: parameter and gradient must be contiguous");
        };
        if p1 - p0 != n || g1 - g0 != n {
            candle_core::bail!("adamw: parameter ({n}) and gradient ({}) differ in size", g1 - g0);
        }
        let dev = s1.device.clone();
        let kernels = kernels(&dev)?;
        let mut moments = self.moments.0.lock().map_err(lock_err)?;
        if moments.is_none() {
            *moments = Some((dev.alloc_zeros::<f32>(n.max(1))?, dev.alloc_zeros::<f32>(n.max(1))?));
        }
        let Some((m, v)) = moments.as_mut() else {
            candle_core::bail!("adamw: moments missing");
        };
        if m.len() < n {
            candle_core::bail!("adamw: the moments were made for another parameter");
        }
        let c = self.c;
        let (count, keep) = (n as i64, 1.0 - c.lr * c.decay);
        let g = s2.as_cuda_slice::<f32>()?.slice(g0..g1);
        let mut p = s1.as_cuda_slice_mut::<f32>()?.slice_mut(p0..p1);
        let stream = dev.cuda_stream();
        let mut b = stream.launch_builder(&kernels.adamw);
        b.arg(&count);
        b.arg(&c.lr);
        b.arg(&keep);
        b.arg(&c.beta1);
        b.arg(&c.beta2);
        b.arg(&c.scale_m);
        b.arg(&c.scale_v);
        b.arg(&c.eps);
        b.arg(&c.grad_scale);
        b.arg(&mut p);
        b.arg(&g);
        b.arg(m);
        b.arg(v);
        // SAFETY: the argument list is adamw_update's in optim.cu; all four buffers hold `n`.
        unsafe { b.launch(threads(n)) }.w()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    /// The build compiled `cells.cu` and `optim.cu` into fat binaries (their magic number first).
    #[test]
    fn kernels_are_embedded() {
        for fatbin in [super::CELLS_FATBIN, super::OPTIM_FATBIN] {
            assert!(fatbin.len() > 1000, "{} bytes", fatbin.len());
            assert_eq!(&fatbin[..4], &[0x50, 0xed, 0x55, 0xba]);
        }
    }
}
