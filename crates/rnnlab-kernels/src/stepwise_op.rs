//! The stepwise layer direction as candle operations: [`StepwiseDirection`] (forward) and
//! [`StepwiseBackward`] (its backward), each running the loop of [`crate::stepwise`] on the
//! CPU's plain-loop backend or, with the `cuda` feature, on `crate::cuda`'s.

use std::sync::Mutex;

use candle_core::{CpuStorage, CustomOp2, CustomOp3, Layout, Shape, Tensor};

use crate::lock_err;
use crate::stepwise::{backward, forward, Backend, Cpu, Plan, Saved};
use crate::CellKind;

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
        cuda_forward(self, s1, l1, s2, l2, s3, l3)
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
        let grads = cuda_backward(self, s1, l1, s2, l2)?;
        Ok((grads, Shape::from(self.packed_len())))
    }
}

/// [`StepwiseDirection`]'s forward pass on a GPU.
#[cfg(feature = "cuda")]
fn cuda_forward(
    op: &StepwiseDirection,
    s1: &candle_core::CudaStorage,
    l1: &Layout,
    s2: &candle_core::CudaStorage,
    l2: &Layout,
    s3: &candle_core::CudaStorage,
    l3: &Layout,
) -> candle_core::Result<(candle_core::CudaStorage, Shape)> {
    let p = op.plan(l1, l2, l3)?;
    let be = crate::cuda::Cuda::new(&s1.device)?;
    let lengths = be.upload_lengths(op.lengths())?;
    let gx = crate::cuda::input(s1, l1, "gx")?;
    let (w_hh, b_hh) = (crate::cuda::input(s2, l2, "W_hh")?, crate::cuda::input(s3, l3, "b_hh")?);
    let (out, saved) = forward(&be, p, &lengths, op.rmask(), gx, w_hh, b_hh)?;
    op.keep_saved(saved.map(AnySaved::Cuda))?;
    Ok((
        candle_core::CudaStorage::wrap_cuda_slice(out, be.dev),
        Shape::from((p.batch, p.steps, p.hidden)),
    ))
}

/// [`StepwiseBackward`] on a GPU: the packed gradients.
#[cfg(feature = "cuda")]
fn cuda_backward(
    op: &StepwiseBackward,
    s1: &candle_core::CudaStorage,
    l1: &Layout,
    s2: &candle_core::CudaStorage,
    l2: &Layout,
) -> candle_core::Result<candle_core::CudaStorage> {
    let saved = op.saved.lock().map_err(lock_err)?.take();
    let Some(AnySaved::Cuda(saved)) = saved else {
        candle_core::bail!("stepwise recurrent layer: backward on another device than the forward pass");
    };
    let be = crate::cuda::Cuda::new(&s1.device)?;
    let lengths = be.upload_lengths(&op.lengths)?;
    let (w_hh, gout) = (
        crate::cuda::input(s1, l1, "W_hh")?,
        crate::cuda::input(s2, l2, "output gradient")?,
    );
    let grads = backward(&be, op.plan, &lengths, &saved, op.has_rmask, w_hh, gout)?;
    Ok(candle_core::CudaStorage::wrap_cuda_slice(grads, be.dev))
}
