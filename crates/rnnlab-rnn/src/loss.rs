//! The classification loss.

use candle_core::{Tensor, D};

/// Weighted mean loss: binary cross-entropy with logits (one output) or cross-entropy, with
/// PyTorch's `label_smoothing`: the target is `(1 - smoothing)` on the true class and
/// `smoothing / classes` spread over all classes (a binary task counts two, so its target is
/// `y (1 - s) + s / 2`, what two-class cross-entropy with that smoothing gives).
pub fn loss(logits: &Tensor, y: &[usize], weights: &[f32], smoothing: f64) -> candle_core::Result<Tensor> {
    let dev = logits.device();
    let b = y.len();
    let w = Tensor::from_slice(weights, b, dev)?;
    let per = if logits.dim(1)? == 1 {
        let z = logits.flatten_all()?;
        let target = |k: usize| (k as f64 * (1.0 - smoothing) + smoothing / 2.0) as f32;
        let t = Tensor::from_vec(y.iter().map(|&k| target(k)).collect::<Vec<_>>(), b, dev)?;
        // max(z, 0) - z t + ln(1 + e^{-|z|})
        let soft = (z.abs()?.neg()?.exp()? + 1.0)?.log()?;
        ((z.relu()? - (&z * &t)?)? + soft)?
    } else {
        let idx = Tensor::from_vec(y.iter().map(|&k| k as u32).collect::<Vec<_>>(), (b, 1), dev)?;
        let log_p = candle_nn::ops::log_softmax(logits, D::Minus1)?;
        let nll = log_p.gather(&idx, 1)?.flatten_all()?.neg()?;
        if smoothing > 0.0 {
            let spread = log_p.mean(1)?.neg()?;
            ((nll * (1.0 - smoothing))? + (spread * smoothing)?)?
        } else {
            nll
        }
    };
    (per * &w)?.sum_all()? / weights.iter().sum::<f32>().max(1e-12) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn label_smoothing_matches_its_formula_and_binary_is_two_class_cross_entropy() {
        let dev = Device::Cpu;
        let value = |t: Tensor| t.to_scalar::<f32>().unwrap() as f64;
        // Three classes, weighted rows: (1 - s) nll + s mean_c(-log p_c), by hand.
        let rows = [[1.0f32, -0.5, 2.0], [0.3, 0.2, -1.2]];
        let (y, w, s) = ([2usize, 0], [1.0f32, 3.0], 0.2);
        let logits = Tensor::new(&rows, &dev).unwrap();
        let mut want = 0.0;
        for (r, (&k, &wr)) in rows.iter().zip(y.iter().zip(&w)) {
            let lse = r.iter().map(|&z| (z as f64).exp()).sum::<f64>().ln();
            let nll = lse - r[k] as f64;
            let spread = r.iter().map(|&z| lse - z as f64).sum::<f64>() / 3.0;
            want += wr as f64 * ((1.0 - s) * nll + s * spread);
        }
        want /= 4.0;
        assert!((value(loss(&logits, &y, &w, s).unwrap()) - want).abs() < 1e-5);
        let plain = value(loss(&logits, &y, &w, 0.0).unwrap());
        assert!(
            (value(loss(&logits, &y, &w, s).unwrap()) - plain).abs() > 1e-3,
            "smoothing changes the loss"
        );
        // One logit z is two-class cross-entropy on logits (0, z), smoothed the same way.
        let z = [1.7f32, -0.4, 0.0, -3.0];
        let (y, w) = ([1usize, 0, 1, 1], [1.0f32; 4]);
        for s in [0.0, 0.1, 0.4] {
            let binary = value(loss(&Tensor::new(&z, &dev).unwrap().reshape((4, 1)).unwrap(), &y, &w, s).unwrap());
            let pairs: Vec<f32> = z.iter().flat_map(|&z| [0.0, z]).collect();
            let two = value(loss(&Tensor::from_vec(pairs, (4, 2), &dev).unwrap(), &y, &w, s).unwrap());
            assert!((binary - two).abs() < 1e-5, "s = {s}: {binary} against {two}");
        }
    }
}
