//! A layer implementation held to the candle-op reference on the CPU: outputs, final states
//! and the gradients of the input and of every weight, for each cell, 1 and 2 layers, one and
//! two directions, ragged lengths, with and without recurrent dropout. The unit tests run it
//! for the CPU kernels; `rnnlab bench kernels --device cuda` runs it on a GPU (where no Rust
//! toolchain is at hand), and the `cuda` feature's test where a GPU is present.

use candle_core::{Device, Tensor, Var};
use serde::Serialize;

use super::ce;
use super::recurrent::{Dropout, Kernel, RecurrentStack};
use super::rng::Rng;
use crate::CellKind;
use crate::Error;

/// One compared quantity of one case.
#[derive(Debug, Clone, Serialize)]
pub struct KernelCheck {
    /// `cell layers bidirectional recurrent-dropout`, e.g. `lstm l2 bi rdrop0.3`.
    pub case: String,
    /// `outputs`, `final states`, `input gradient` or a weight's gradient (`weight_hh_l0`…).
    pub what: String,
    pub max_abs_diff: f32,
    pub tolerance: f32,
    pub ok: bool,
}

/// Ragged lengths of the compared batch (17 rows, up to 5 steps; ones and full rows).
const LENGTHS: [usize; 17] = [5, 1, 3, 5, 2, 4, 5, 5, 1, 2, 3, 4, 5, 5, 3, 2, 1];

fn input(batch: usize, steps: usize, width: usize, seed: u64, dev: &Device) -> Result<Tensor, Error> {
    let mut rng = Rng::new(seed);
    let v: Vec<f32> = (0..batch * steps * width).map(|_| rng.symmetric(1.0)).collect();
    Tensor::from_vec(v, (batch, steps, width), dev).map_err(ce)
}

/// Outputs, final states and gradients (input first, then the weights in `named_vars` order),
/// all moved to the CPU.
struct Run {
    out: Tensor,
    last: Tensor,
    grads: Vec<(String, Tensor)>,
}

/// One case through `kernel` on `dev`.
fn run(
    cell: CellKind,
    layers: usize,
    bidirectional: bool,
    rdrop: f32,
    kernel: Kernel,
    dev: &Device,
) -> Result<Run, Error> {
    let stack = RecurrentStack::new(cell, 3, 4, layers, bidirectional, &mut Rng::new(7), dev)?;
    let x = Var::from_tensor(&input(LENGTHS.len(), 5, 3, 9, dev)?).map_err(ce)?;
    let mut rng = Rng::new(11);
    let dropout = Dropout {
        between_layers: 0.0,
        recurrent: rdrop,
        rng: &mut rng,
    };
    let (out, last) = stack.forward_with(kernel, x.as_tensor(), &LENGTHS, true, Some(dropout))?;
    // A loss that weighs every output and final-state element differently.
    let wo = input(LENGTHS.len(), 5, out.dim(2).map_err(ce)?, 3, dev)?;
    let wl = input(LENGTHS.len(), 1, last.dim(1).map_err(ce)?, 4, dev)?
        .squeeze(1)
        .map_err(ce)?;
    let loss = (&out * &wo)
        .and_then(|p| p.sum_all())
        .and_then(|a| (&last * &wl)?.sum_all()?.add(&a))
        .map_err(ce)?;
    let grads = loss.backward().map_err(ce)?;
    let cpu = |t: &Tensor| t.to_device(&Device::Cpu).map_err(ce);
    let mut gs = Vec::new();
    let gx = grads
        .get(x.as_tensor())
        .ok_or_else(|| Error::Tensor(candle_core::Error::Msg("no input gradient".into())))?;
    gs.push(("input gradient".to_string(), cpu(gx)?));
    for (name, v) in stack.named_vars() {
        let g = grads
            .get(v.as_tensor())
            .ok_or_else(|| Error::Tensor(candle_core::Error::Msg(format!("no gradient of {name}"))))?;
        gs.push((format!("gradient of {name}"), cpu(g)?));
    }
    Ok(Run {
        out: cpu(&out)?,
        last: cpu(&last)?,
        grads: gs,
    })
}

fn max_abs(t: &Tensor) -> Result<f32, Error> {
    t.abs()
        .and_then(|a| a.flatten_all())
        .and_then(|a| a.max(0))
        .and_then(|a| a.to_scalar::<f32>())
        .map_err(ce)
}

/// `kernel` on `dev` against [`Kernel::Reference`] on the CPU, every case. Tolerances: 1e-5
/// for values, 1e-4 of the largest reference gradient (at least 1) for gradients.
pub fn check_kernel(kernel: Kernel, dev: &Device) -> Result<Vec<KernelCheck>, Error> {
    let mut checks = Vec::new();
    for cell in [CellKind::Rnn, CellKind::Lstm, CellKind::Gru] {
        for (layers, bidirectional) in [(1, false), (1, true), (2, false), (2, true)] {
            for rdrop in [0.0, 0.3] {
                let case = format!(
                    "{} l{layers} {} rdrop{rdrop}",
                    cell.name(),
                    if bidirectional { "bi" } else { "uni" }
                );
                let k = run(cell, layers, bidirectional, rdrop, kernel, dev)?;
                let r = run(cell, layers, bidirectional, rdrop, Kernel::Reference, &Device::Cpu)?;
                let mut push = |what: String, a: &Tensor, b: &Tensor, tolerance: f32| -> Result<(), Error> {
                    let d = max_abs(&(a - b).map_err(ce)?)?;
                    checks.push(KernelCheck {
                        case: case.clone(),
                        what,
                        max_abs_diff: d,
                        tolerance,
                        ok: d < tolerance,
                    });
                    Ok(())
                };
                push("outputs".into(), &k.out, &r.out, 1e-5)?;
                push("final states".into(), &k.last, &r.last, 1e-5)?;
                for ((name, a), (_, b)) in k.grads.iter().zip(&r.grads) {
                    let scale = max_abs(b)?.max(1.0);
                    push(name.clone(), a, b, 1e-4 * scale)?;
                }
            }
        }
    }
    Ok(checks)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_all_ok(kernel: Kernel, dev: &Device) {
        let checks = check_kernel(kernel, dev).unwrap();
        // 3 cells x 4 stacks x 2 dropouts, each outputs + final states + input + 4 per layer direction.
        assert!(checks.len() > 24 * 7, "{} checks", checks.len());
        let bad: Vec<_> = checks.iter().filter(|c| !c.ok).collect();
        assert!(bad.is_empty(), "{kernel:?} differs from the reference: {bad:#?}");
    }

    #[test]
    fn fused_matches_reference() {
        assert_all_ok(Kernel::Auto, &Device::Cpu);
    }

    #[test]
    fn stepwise_matches_reference() {
        assert_all_ok(Kernel::Stepwise, &Device::Cpu);
    }

    /// The GPU kernels against the CPU reference, where a GPU is present.
    #[cfg(feature = "cuda")]
    #[test]
    fn cuda_matches_reference() {
        match Device::new_cuda(0) {
            Ok(dev) => assert_all_ok(Kernel::Auto, &dev),
            Err(e) => eprintln!("cuda_matches_reference: NOT RUN, no usable GPU here ({e})"),
        }
    }
}
