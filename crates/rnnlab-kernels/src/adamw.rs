//! AdamW's update as PyTorch defines it, per element: the CPU definition that the
//! in-place CPU optimiser runs and that `optim.cu`'s GPU kernel mirrors (checked on the host
//! by the `cells-host` feature's tests).

use candle_nn::ParamsAdamW;

/// The step's constants (also the GPU kernel's, `optim.cu`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Consts {
    pub lr: f32,
    pub decay: f32,
    pub beta1: f32,
    pub beta2: f32,
    /// `1 / (1 - beta^t)`.
    pub scale_m: f32,
    pub scale_v: f32,
    pub eps: f32,
    /// The clipping factor applied to the gradient.
    pub grad_scale: f32,
}

impl Consts {
    /// Step `step` (from 1) at learning rate `lr`.
    pub fn new(params: &ParamsAdamW, step: i32, lr: f64, grad_scale: f32) -> Self {
        let (b1, b2) = (params.beta1, params.beta2);
        Consts {
            lr: lr as f32,
            decay: params.weight_decay as f32,
            beta1: b1 as f32,
            beta2: b2 as f32,
            scale_m: (1.0 / (1.0 - b1.powi(step))) as f32,
            scale_v: (1.0 / (1.0 - b2.powi(step))) as f32,
            eps: params.eps as f32,
            grad_scale,
        }
    }
}

/// PyTorch's AdamW on matching slices of parameter, gradient and moments (`optim.cu`'s
/// kernel does the same per element).
pub fn update_slice(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], c: Consts) {
    let keep = 1.0 - c.lr * c.decay;
    for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
        let g = g * c.grad_scale;
        *m = c.beta1 * *m + (1.0 - c.beta1) * g;
        *v = c.beta2 * *v + (1.0 - c.beta2) * g * g;
        let step = (*m * c.scale_m) / ((*v * c.scale_v).sqrt() + c.eps);
        *p = *p * keep - c.lr * step;
    }
}
