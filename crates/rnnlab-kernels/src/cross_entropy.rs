//! Mean cross-entropy of an output layer's logits (before its bias) against target ids as one
//! CPU operation: each row's maximum,
//! log-sum-exp and target logit in two passes, with no logits-sized tensor kept; the backward
//! pass writes `(softmax - one_hot) · g / rows` in one pass. A language model's output layer
//! has rows × vocabulary logits (700 × 9,875 per window of the reference recipe), and candle's
//! composed log-softmax allocates and walks several tensors of that size each way.

use candle_core::{CpuStorage, CustomOp3, DType, Layout, Shape, Tensor};

use crate::parallel;

/// The mean cross-entropy of `pre + bias` (`pre` `[rows, classes]`, `bias` `[classes]`
/// broadcast over the rows), differentiable in both: an output layer's bias added inside the
/// operation, so that no biased copy of the logits is made either way.
pub fn cross_entropy_with_bias(pre: &Tensor, bias: &Tensor, targets: &Tensor) -> candle_core::Result<Tensor> {
    let fused = pre.device().is_cpu()
        && pre.dtype() == DType::F32
        && bias.dtype() == DType::F32
        && targets.dtype() == DType::U32
        && pre.rank() == 2;
    if !fused {
        return candle_nn::loss::cross_entropy(&pre.broadcast_add(bias)?, targets);
    }
    pre.contiguous()?.apply_op3(
        &bias.contiguous()?,
        &targets.contiguous()?,
        FusedCrossEntropy::default(),
    )
}

/// Keeps each row's maximum and log-sum-exp from the forward pass for the backward one.
#[derive(Default)]
struct FusedCrossEntropy {
    stats: std::sync::Mutex<Vec<(f32, f32)>>,
}

/// Row-wise maximum and log-sum-exp of `x + bias`, in parallel over blocks of rows.
fn row_stats(x: &[f32], bias: &[f32]) -> Vec<(f32, f32)> {
    let classes = bias.len();
    let rows = x.len() / classes;
    let block = rows.div_ceil(parallel::threads() * 4).max(1);
    let blocks: Vec<&[f32]> = x.chunks(block * classes).collect();
    parallel::map_mut(blocks, |_, chunk| {
        chunk
            .chunks_exact(classes)
            .map(|row| {
                let top = row
                    .iter()
                    .zip(bias)
                    .map(|(v, b)| v + b)
                    .fold(f32::NEG_INFINITY, f32::max);
                let sum: f32 = row.iter().zip(bias).map(|(v, b)| (v + b - top).exp()).sum();
                (top, sum.ln())
            })
            .collect::<Vec<_>>()
    })
    .concat()
}

type Operands<'a> = (&'a [f32], &'a [f32], &'a [u32]);

fn operands<'a>(
    s1: &'a CpuStorage,
    l1: &Layout,
    s2: &'a CpuStorage,
    l2: &Layout,
    s3: &'a CpuStorage,
    l3: &Layout,
) -> candle_core::Result<Operands<'a>> {
    let (rows, classes) = l1.shape().dims2()?;
    if classes == 0 {
        candle_core::bail!("cross-entropy: logits of no class");
    }
    let (x, b, t) = match (
        (s1, l1.contiguous_offsets()),
        (s2, l2.contiguous_offsets()),
        (s3, l3.contiguous_offsets()),
    ) {
        (
            (CpuStorage::F32(x), Some((a0, a1))),
            (CpuStorage::F32(b), Some((b0, b1))),
            (CpuStorage::U32(t), Some((c0, c1))),
        ) => (&x[a0..a1], &b[b0..b1], &t[c0..c1]),
        _ => candle_core::bail!("cross-entropy: contiguous f32 logits and bias, u32 targets expected"),
    };
    if b.len() != classes || t.len() != rows {
        candle_core::bail!(
            "cross-entropy: {rows} rows of {classes} logits, but a bias of {} and {} targets",
            b.len(),
            t.len()
        );
    }
    if let Some(&bad) = t.iter().find(|&&c| c as usize >= classes) {
        candle_core::bail!("cross-entropy: target {bad} is outside {classes} classes");
    }
    Ok((x, b, t))
}

impl CustomOp3 for FusedCrossEntropy {
    fn name(&self) -> &'static str {
        "fused-cross-entropy"
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
        let (x, b, t) = operands(s1, l1, s2, l2, s3, l3)?;
        let classes = b.len();
        let stats = row_stats(x, b);
        let total: f64 = stats
            .iter()
            .zip(t)
            .enumerate()
            .map(|(r, (&(top, lse), &c))| (top + lse - x[r * classes + c as usize] - b[c as usize]) as f64)
            .sum();
        let mean = (total / t.len().max(1) as f64) as f32;
        *self
            .stats
            .lock()
            .map_err(|_| candle_core::Error::Msg("poisoned lock".into()))? = stats;
        Ok((CpuStorage::F32(vec![mean]), Shape::from(())))
    }

    fn bwd(
        &self,
        pre: &Tensor,
        bias: &Tensor,
        targets: &Tensor,
        _res: &Tensor,
        grad_res: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let g = grad_res.to_dtype(DType::F32)?.to_scalar::<f32>()?;
        let stats = std::mem::take(
            &mut *self
                .stats
                .lock()
                .map_err(|_| candle_core::Error::Msg("poisoned lock".into()))?,
        );
        let grad = pre.apply_op3_no_bwd(bias, targets, &CrossEntropyGrad { scale: g, stats })?;
        let grad_bias = grad.sum(0)?;
        Ok((Some(grad), Some(grad_bias), None))
    }
}

/// `(softmax(pre + bias) - one_hot(targets)) · scale / rows`, from the forward pass's row
/// statistics (recomputed when there are none, e.g. a second backward pass).
struct CrossEntropyGrad {
    scale: f32,
    stats: Vec<(f32, f32)>,
}

impl CustomOp3 for CrossEntropyGrad {
    fn name(&self) -> &'static str {
        "fused-cross-entropy-grad"
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
        let (x, b, t) = operands(s1, l1, s2, l2, s3, l3)?;
        let (rows, classes) = (t.len(), b.len());
        let scale = self.scale / rows.max(1) as f32;
        let fresh;
        let stats = if self.stats.len() == rows {
            &self.stats
        } else {
            fresh = row_stats(x, b);
            &fresh
        };
        let mut out = vec![0f32; x.len()];
        let block = rows.div_ceil(parallel::threads() * 4).max(1);
        let blocks: Vec<(usize, &mut [f32])> = out
            .chunks_mut(block * classes)
            .enumerate()
            .map(|(k, chunk)| (k * block, chunk))
            .collect();
        parallel::map_mut(blocks, |_, (first, chunk)| {
            for (i, row) in chunk.chunks_exact_mut(classes).enumerate() {
                let r = first + i;
                let (top, lse) = stats[r];
                let shift = top + lse;
                let xs = &x[r * classes..(r + 1) * classes];
                for ((o, &v), &bb) in row.iter_mut().zip(xs).zip(b) {
                    *o = (v + bb - shift).exp() * scale;
                }
                row[t[r] as usize] -= scale;
            }
        });
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    /// The fused loss and its gradient equal candle-nn's composed cross-entropy.
    #[test]
    fn the_fused_loss_and_gradient_equal_the_composed_ones() {
        let dev = Device::Cpu;
        let (rows, classes) = (37, 53);
        let vals: Vec<f32> = (0..rows * classes)
            .map(|i| ((i * 7919) % 101) as f32 / 9.0 - 5.0)
            .collect();
        let x = Var::from_vec(vals, (rows, classes), &dev).unwrap();
        let t = Tensor::from_vec(
            (0..rows as u32).map(|r| (r * 13) % classes as u32).collect(),
            rows,
            &dev,
        )
        .unwrap();
        let zero = Tensor::zeros(classes, candle_core::DType::F32, &dev).unwrap();
        let fused = cross_entropy_with_bias(x.as_tensor(), &zero, &t).unwrap();
        let composed = candle_nn::loss::cross_entropy(x.as_tensor(), &t).unwrap();
        let (a, b) = (fused.to_scalar::<f32>().unwrap(), composed.to_scalar::<f32>().unwrap());
        assert!((a - b).abs() < 1e-5, "{a} vs {b}");
        // A scaled loss scales the gradient: the upstream gradient is honoured.
        let ga = (fused * 3.0).unwrap().backward().unwrap();
        let gb = (composed * 3.0).unwrap().backward().unwrap();
        let (ga, gb) = (ga.get(&x).unwrap(), gb.get(&x).unwrap());
        let diff = (ga - gb)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!(diff < 1e-6, "largest gradient difference {diff}");
    }

    /// With a bias: the loss of `pre + bias`, and the bias gets the column sums of the
    /// logits' gradient, as candle's broadcast addition gives them.
    #[test]
    fn the_bias_is_added_inside_and_gets_its_gradient() {
        let dev = Device::Cpu;
        let (rows, classes) = (9, 11);
        let pre = Var::from_vec(
            (0..rows * classes).map(|i| (i % 7) as f32 * 0.3 - 1.0).collect(),
            (rows, classes),
            &dev,
        )
        .unwrap();
        let bias = Var::from_vec((0..classes).map(|i| i as f32 * 0.1 - 0.4).collect(), classes, &dev).unwrap();
        let t = Tensor::from_vec((0..rows as u32).map(|r| (r * 5) % classes as u32).collect(), rows, &dev).unwrap();
        let fused = cross_entropy_with_bias(pre.as_tensor(), bias.as_tensor(), &t).unwrap();
        let composed =
            candle_nn::loss::cross_entropy(&pre.as_tensor().broadcast_add(bias.as_tensor()).unwrap(), &t).unwrap();
        let (a, b) = (fused.to_scalar::<f32>().unwrap(), composed.to_scalar::<f32>().unwrap());
        assert!((a - b).abs() < 1e-5, "{a} vs {b}");
        let (ga, gb) = (fused.backward().unwrap(), composed.backward().unwrap());
        for v in [&pre, &bias] {
            let d = (ga.get(v).unwrap() - gb.get(v).unwrap())
                .unwrap()
                .abs()
                .unwrap()
                .max_all()
                .unwrap();
            assert!(d.to_scalar::<f32>().unwrap() < 1e-6);
        }
    }

    #[test]
    fn targets_outside_the_classes_are_refused() {
        let dev = Device::Cpu;
        let x = Tensor::zeros((2, 3), candle_core::DType::F32, &dev).unwrap();
        let b = Tensor::zeros(3, candle_core::DType::F32, &dev).unwrap();
        let t = Tensor::new(&[0u32, 3], &dev).unwrap();
        let e = cross_entropy_with_bias(&x, &b, &t).unwrap_err().to_string();
        assert!(e.contains("target 3 is outside 3 classes"), "{e}");
        let t = Tensor::new(&[0u32], &dev).unwrap();
        assert!(cross_entropy_with_bias(&x, &b, &t).is_err());
        assert!(
            cross_entropy_with_bias(&x, &b.narrow(0, 0, 2).unwrap(), &Tensor::new(&[0u32, 1], &dev).unwrap()).is_err()
        );
    }
}
