//! A stack of recurrent layers with PyTorch's semantics (`nn.RNN` / `nn.LSTM` / `nn.GRU` with
//! `batch_first=True` over a packed sequence). Three implementations of each layer direction:
//! on the CPU the fused operation of [`super::fused`] (one candle op with its own backward);
//! on GPUs the per-step operation of [`super::stepwise`] (one product and one fused cell
//! kernel per step); and the reference written as plain candle ops (one matrix product for the
//! input projections of all steps, then a few ops per step), the definition the tests hold the
//! other two to.
//!
//! Variable lengths: a padded step never changes the state, the output there is zero, the
//! final state is the one at each sequence's true last token, and the backward direction starts
//! there, which is what `pack_padded_sequence` gives.

use candle_core::{DType, Device, Tensor, Var};

use super::ce;
use super::fused::FusedDirection;
use super::rng::Rng;
use crate::stepwise_op::StepwiseDirection;
use crate::CellKind;
use crate::Error;

/// The four tensors of one layer and direction, named like PyTorch's.
#[derive(Debug, Clone)]
pub struct LayerParams {
    /// `[gates * hidden, input]`
    pub weight_ih: Var,
    /// `[gates * hidden, hidden]`
    pub weight_hh: Var,
    pub bias_ih: Var,
    pub bias_hh: Var,
}

/// `num_layers` stacked layers, each one or two directions.
#[derive(Debug, Clone)]
pub struct RecurrentStack {
    pub cell: CellKind,
    pub input: usize,
    pub hidden: usize,
    pub layers: usize,
    pub bidirectional: bool,
    /// Index `layer * directions + direction`.
    pub params: Vec<LayerParams>,
    /// The implementation [`Self::forward`] uses (benchmarks compare them).
    pub kernel: Kernel,
    /// Per layer direction, `[W_ih | W_hh]` and `[b_ih | b_hh]` joined once for the fused
    /// kernel's inference (see [`Self::for_inference`]); `None`: joined at every call.
    joined: Option<std::sync::Arc<Vec<(Tensor, Tensor)>>>,
}

/// Which implementation runs a layer direction.
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kernel {
    /// The fused operation on the CPU, the stepwise one elsewhere.
    Auto,
    /// Plain candle ops per time step.
    Reference,
    /// The GPU design (one product and one cell operation per step) on any device; on the
    /// CPU its plain-loop definition (tests).
    Stepwise,
}

/// The directions' tensors side by side along `dim`; one direction as it is (candle's `cat`
/// copies even a single tensor).
fn concat(mut parts: Vec<Tensor>, dim: usize) -> Result<Tensor, Error> {
    if parts.len() == 1 {
        return Ok(parts.pop().expect("one part"));
    }
    Tensor::cat(&parts, dim).map_err(ce)
}

/// Each row's final state from the outputs `[B, T, H]` of one direction: its true last step
/// (the backward direction's is its first).
fn final_states(out: &Tensor, lengths: &[usize], reverse: bool) -> Result<Tensor, Error> {
    let (batch, steps, h) = out.dims3().map_err(ce)?;
    let last_index: Vec<u32> = lengths
        .iter()
        .enumerate()
        .map(|(b, &len)| (b * steps + if reverse { 0 } else { len.clamp(1, steps) - 1 }) as u32)
        .collect();
    let idx = Tensor::from_vec(last_index, batch, out.device()).map_err(ce)?;
    out.reshape((batch * steps, h))
        .and_then(|o| o.index_select(&idx, 0))
        .map_err(ce)
}

/// The state of each layer of a one-direction stack between windows of a stream, on the host:
/// truncated backpropagation through time carries it forward, no gradient flows into it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CarriedState {
    /// Per layer, `h` `[batch * hidden]`.
    pub h: Vec<Vec<f32>>,
    /// Per layer, LSTM's cell state `[batch * hidden]` (empty for RNN and GRU).
    pub c: Vec<Vec<f32>>,
}

impl CarriedState {
    /// Rows `rows` of every layer's state (rows of `hidden` values), in that order: a beam's
    /// survivors, say.
    pub fn select_rows(&self, rows: &[usize], hidden: usize) -> CarriedState {
        let pick = |layers: &[Vec<f32>]| -> Vec<Vec<f32>> {
            layers
                .iter()
                .map(|l| {
                    if l.is_empty() {
                        return Vec::new();
                    }
                    rows.iter()
                        .flat_map(|&p| l[p * hidden..(p + 1) * hidden].iter().copied())
                        .collect()
                })
                .collect()
        };
        CarriedState {
            h: pick(&self.h),
            c: pick(&self.c),
        }
    }
}

/// Dropout while training: between layers (PyTorch's `dropout`) and on the recurrent state
/// (one mask per sequence and layer direction).
pub struct Dropout<'a> {
    pub between_layers: f32,
    pub recurrent: f32,
    pub rng: &'a mut Rng,
}

fn uniform_var(shape: &[usize], k: f32, rng: &mut Rng, dev: &Device) -> Result<Var, Error> {
    let n: usize = shape.iter().product();
    let data: Vec<f32> = (0..n).map(|_| rng.symmetric(k)).collect();
    Var::from_tensor(&Tensor::from_vec(data, shape, dev).map_err(ce)?).map_err(ce)
}

/// A `[rows, cols]` tensor of a dropout mask.
pub fn mask_tensor(rng: &mut Rng, shape: &[usize], p: f32, dev: &Device) -> Result<Tensor, Error> {
    let n = shape.iter().product();
    Tensor::from_vec(rng.dropout_mask(n, p), shape, dev).map_err(ce)
}

/// `[batch, time]` with 1 at valid steps and 0 at padding.
pub fn step_mask(lengths: &[usize], steps: usize, dev: &Device) -> Result<Tensor, Error> {
    let mut m = vec![0f32; lengths.len() * steps];
    for (b, &len) in lengths.iter().enumerate() {
        for t in 0..len.min(steps) {
            m[b * steps + t] = 1.0;
        }
    }
    Tensor::from_vec(m, (lengths.len(), steps), dev).map_err(ce)
}

impl RecurrentStack {
    /// PyTorch's initialisation: every weight and bias uniform in ±1/√hidden.
    pub fn new(
        cell: CellKind,
        input: usize,
        hidden: usize,
        layers: usize,
        bidirectional: bool,
        rng: &mut Rng,
        dev: &Device,
    ) -> Result<Self, Error> {
        let k = 1.0 / (hidden as f32).sqrt();
        let g = cell.gates() * hidden;
        let dirs = if bidirectional { 2 } else { 1 };
        let mut params = Vec::new();
        for l in 0..layers {
            let in_l = if l == 0 { input } else { hidden * dirs };
            for _ in 0..dirs {
                params.push(LayerParams {
                    weight_ih: uniform_var(&[g, in_l], k, rng, dev)?,
                    weight_hh: uniform_var(&[g, hidden], k, rng, dev)?,
                    bias_ih: uniform_var(&[g], k, rng, dev)?,
                    bias_hh: uniform_var(&[g], k, rng, dev)?,
                });
            }
        }
        Ok(RecurrentStack {
            cell,
            input,
            hidden,
            layers,
            bidirectional,
            params,
            kernel: Kernel::Auto,
            joined: None,
        })
    }

    /// A copy for inference that joins each layer's weights once, not at every call (a token
    /// of generation, a step of decoding: the join was a fifth of their time). It sees the
    /// weights as they are now: a later update of the shared parameters is not seen by calls
    /// without gradients, so make it where the weights stay fixed.
    pub fn for_inference(&self) -> Result<Self, Error> {
        let joined = self
            .params
            .iter()
            .map(|p| {
                let w = Tensor::cat(&[p.weight_ih.as_tensor(), p.weight_hh.as_tensor()], 1)?;
                let b = Tensor::cat(&[p.bias_ih.as_tensor(), p.bias_hh.as_tensor()], 0)?;
                Ok((w, b))
            })
            .collect::<candle_core::Result<Vec<_>>>()
            .map_err(ce)?;
        Ok(RecurrentStack {
            joined: Some(std::sync::Arc::new(joined)),
            ..self.clone()
        })
    }

    pub fn directions(&self) -> usize {
        if self.bidirectional {
            2
        } else {
            1
        }
    }

    /// The parameters with PyTorch's names (`weight_ih_l0`, ..., `bias_hh_l1_reverse`).
    pub fn named_vars(&self) -> Vec<(String, Var)> {
        let mut out = Vec::new();
        for (i, p) in self.params.iter().enumerate() {
            let (l, d) = (i / self.directions(), i % self.directions());
            let suffix = if d == 1 { "_reverse" } else { "" };
            out.push((format!("weight_ih_l{l}{suffix}"), p.weight_ih.clone()));
            out.push((format!("weight_hh_l{l}{suffix}"), p.weight_hh.clone()));
            out.push((format!("bias_ih_l{l}{suffix}"), p.bias_ih.clone()));
            out.push((format!("bias_hh_l{l}{suffix}"), p.bias_hh.clone()));
        }
        out
    }

    /// Runs the stack over `x: [batch, time, input]` whose rows have the given true lengths
    /// (each at least 1). Returns the last layer's outputs `[batch, time, directions * hidden]`
    /// (zero at padded steps) and its final states `[batch, directions * hidden]`.
    /// With `grad = false` the weights are detached, so no graph is kept (inference).
    pub fn forward(
        &self,
        x: &Tensor,
        lengths: &[usize],
        grad: bool,
        dropout: Option<Dropout<'_>>,
    ) -> Result<(Tensor, Tensor), Error> {
        self.forward_with(self.kernel, x, lengths, grad, dropout)
    }

    /// [`Self::forward`] with a chosen implementation (the same random draws either way).
    pub fn forward_with(
        &self,
        kernel: Kernel,
        x: &Tensor,
        lengths: &[usize],
        grad: bool,
        dropout: Option<Dropout<'_>>,
    ) -> Result<(Tensor, Tensor), Error> {
        let (out, last, _) = self.run(kernel, x, lengths, grad, dropout, None, false)?;
        Ok((out, last))
    }

    /// Runs a one-direction stack over `x: [batch, time, input]` (every row `time` steps) from
    /// `init` (zero when `None`) and returns the top layer's outputs with every layer's final
    /// state, to start the next window of the same streams from (CPU kernels).
    pub fn forward_carried(
        &self,
        x: &Tensor,
        grad: bool,
        dropout: Option<Dropout<'_>>,
        init: Option<&CarriedState>,
    ) -> Result<(Tensor, CarriedState), Error> {
        let (batch, steps, _) = x.dims3().map_err(ce)?;
        if self.bidirectional {
            return Err(Error::Param("a carried state needs a one-direction stack".into()));
        }
        if let Some(s) = init {
            let fits = |v: &[Vec<f32>]| v.len() == self.layers && v.iter().all(|l| l.len() == batch * self.hidden);
            if !fits(&s.h) || (self.cell == CellKind::Lstm && !fits(&s.c)) {
                return Err(Error::Param(format!(
                    "the carried state does not fit {} layers of {batch} x {}",
                    self.layers, self.hidden
                )));
            }
        }
        let kernel = if x.device().is_cpu() && self.kernel != Kernel::Reference {
            Kernel::Auto
        } else {
            Kernel::Reference
        };
        let (out, _, state) = self.run(kernel, x, &vec![steps; batch], grad, dropout, init, true)?;
        Ok((out, state.unwrap_or_default()))
    }

    /// The stack's forward pass; with `carry`, from `init` and returning the final states.
    #[allow(clippy::too_many_arguments)]
    fn run(
        &self,
        kernel: Kernel,
        x: &Tensor,
        lengths: &[usize],
        grad: bool,
        mut dropout: Option<Dropout<'_>>,
        init: Option<&CarriedState>,
        carry: bool,
    ) -> Result<(Tensor, Tensor, Option<CarriedState>), Error> {
        let (batch, steps, _) = x.dims3().map_err(ce)?;
        let dev = x.device().clone();
        let kernel = match kernel {
            Kernel::Auto if !dev.is_cpu() => Kernel::Stepwise,
            k => k,
        };
        let mask = match kernel {
            Kernel::Reference => Some(step_mask(lengths, steps, &dev)?),
            _ => None,
        };
        let mut input = x.clone();
        let mut finals = Vec::new();
        let mut carried = CarriedState::default();
        for l in 0..self.layers {
            let layer_init = init.map(|s| {
                let c = s.c.get(l).cloned().unwrap_or_default();
                (s.h[l].clone(), c)
            });
            let mut outs = Vec::new();
            finals.clear();
            for d in 0..self.directions() {
                let p = &self.params[l * self.directions() + d];
                let w = |v: &Var| crate::tracked(v, grad);
                let rmask = match dropout.as_mut() {
                    Some(dr) if dr.recurrent > 0.0 => Some(dr.rng.dropout_mask(batch * self.hidden, dr.recurrent)),
                    _ => None,
                };
                let weights = [&p.weight_ih, &p.weight_hh, &p.bias_ih, &p.bias_hh].map(w);
                let joined = match &self.joined {
                    Some(j) if !grad => j.get(l * self.directions() + d),
                    _ => None,
                };
                let (out, last) = match &mask {
                    None if kernel == Kernel::Stepwise => {
                        if carry {
                            return Err(Error::Param("a carried state runs on the CPU kernels".into()));
                        }
                        self.direction_stepwise(&input, &weights, lengths, d == 1, rmask, grad)?
                    }
                    None => {
                        let op = FusedDirection::new(self.cell, self.hidden, steps, d == 1, lengths, rmask, grad);
                        if carry {
                            let (op, state) = op.carrying(layer_init.clone());
                            let out = self.direction_fused(&input, &weights, joined, op)?;
                            let (h, c) = std::mem::take(
                                &mut *state
                                    .lock()
                                    .map_err(|_| Error::Param("recurrent layer: poisoned lock".into()))?,
                            );
                            carried.h.push(h);
                            carried.c.push(if self.cell == CellKind::Lstm { c } else { Vec::new() });
                            (out, Tensor::zeros(0, DType::F32, &dev).map_err(ce)?)
                        } else {
                            let out = self.direction_fused(&input, &weights, joined, op)?;
                            let last = final_states(&out, lengths, d == 1)?;
                            (out, last)
                        }
                    }
                    Some(mask) => {
                        let rmask = match rmask {
                            Some(m) => Some(Tensor::from_vec(m, (batch, self.hidden), &dev).map_err(ce)?),
                            None => None,
                        };
                        let [w_ih, w_hh, b_ih, b_hh] = &weights;
                        let start = match &layer_init {
                            Some((h0, c0)) => {
                                let t = |v: &[f32]| Tensor::from_slice(v, (batch, self.hidden), &dev).map_err(ce);
                                let c = if self.cell == CellKind::Lstm {
                                    t(c0)?
                                } else {
                                    t(h0)?.zeros_like().map_err(ce)?
                                };
                                Some((t(h0)?, c))
                            }
                            None => None,
                        };
                        let (out, last, cs) =
                            self.direction(&input, w_ih, w_hh, b_ih, b_hh, mask, d == 1, rmask.as_ref(), start)?;
                        if carry {
                            let v = |t: &Tensor| t.flatten_all().and_then(|f| f.to_vec1::<f32>()).map_err(ce);
                            carried.h.push(v(&last)?);
                            carried.c.push(if self.cell == CellKind::Lstm {
                                v(&cs)?
                            } else {
                                Vec::new()
                            });
                        }
                        (out, last)
                    }
                };
                outs.push(out);
                finals.push(last);
            }
            input = concat(outs, 2)?;
            if l + 1 < self.layers {
                if let Some(dr) = dropout.as_mut() {
                    if dr.between_layers > 0.0 {
                        let m = mask_tensor(dr.rng, input.dims(), dr.between_layers, &dev)?;
                        input = (input * m).map_err(ce)?;
                    }
                }
            }
        }
        if carry {
            return Ok((input, Tensor::zeros(0, DType::F32, &dev).map_err(ce)?, Some(carried)));
        }
        let last = concat(finals, 1)?;
        Ok((input, last, None))
    }

    /// One layer in one direction through the fused operation. `weights`: `W_ih, W_hh, b_ih, b_hh`.
    /// `joined`: the weights already joined (inference).
    fn direction_fused(
        &self,
        x: &Tensor,
        weights: &[Tensor; 4],
        joined: Option<&(Tensor, Tensor)>,
        op: FusedDirection,
    ) -> Result<Tensor, Error> {
        if let Some((w, b)) = joined {
            return op.apply(x, w, b).map_err(ce);
        }
        let [w_ih, w_hh, b_ih, b_hh] = weights;
        let w = Tensor::cat(&[w_ih, w_hh], 1).map_err(ce)?;
        let b = Tensor::cat(&[b_ih, b_hh], 0).map_err(ce)?;
        op.apply(x, &w, &b).map_err(ce)
    }

    /// One layer in one direction through the stepwise operation: the input projections of
    /// all steps as one product here, the recurrence in the operation.
    fn direction_stepwise(
        &self,
        x: &Tensor,
        weights: &[Tensor; 4],
        lengths: &[usize],
        reverse: bool,
        rmask: Option<Vec<f32>>,
        grad: bool,
    ) -> Result<(Tensor, Tensor), Error> {
        let (batch, steps, input) = x.dims3().map_err(ce)?;
        let [w_ih, w_hh, b_ih, b_hh] = weights;
        let g = self.cell.gates() * self.hidden;
        let gx = x
            .reshape((batch * steps, input))
            .and_then(|x2| x2.matmul(&w_ih.t()?))
            .and_then(|p| p.broadcast_add(b_ih))
            .and_then(|p| p.reshape((batch, steps, g)))
            .map_err(ce)?;
        let op = StepwiseDirection::new(self.cell, self.hidden, steps, reverse, lengths, rmask, grad);
        let out = op.apply(&gx, w_hh, b_hh).map_err(ce)?;
        let last = final_states(&out, lengths, reverse)?;
        Ok((out, last))
    }

    /// One layer in one direction, the reference, from `start` (`h`, `c`; zero when `None`).
    /// Returns the outputs, the final `h` and the final `c` (LSTM's; `h` otherwise).
    #[allow(clippy::too_many_arguments)]
    fn direction(
        &self,
        x: &Tensor,
        w_ih: &Tensor,
        w_hh: &Tensor,
        b_ih: &Tensor,
        b_hh: &Tensor,
        mask: &Tensor,
        reverse: bool,
        rmask: Option<&Tensor>,
        start: Option<(Tensor, Tensor)>,
    ) -> Result<(Tensor, Tensor, Tensor), Error> {
        let (batch, steps, input) = x.dims3().map_err(ce)?;
        let h = self.hidden;
        let g = self.cell.gates() * h;
        // Input projections of every step at once; for RNN and LSTM both biases go in here
        // (GRU keeps b_hn inside the reset gate's product).
        let bias = if self.cell == CellKind::Gru {
            b_ih.clone()
        } else {
            (b_ih + b_hh).map_err(ce)?
        };
        let gx = x
            .reshape((batch * steps, input))
            .and_then(|x2| x2.matmul(&w_ih.t()?))
            .and_then(|p| p.broadcast_add(&bias))
            .and_then(|p| p.reshape((batch, steps, g)))
            .map_err(ce)?;
        // Steps before the shortest sequence ends need no masking.
        let full_until = {
            let m = mask.sum(0).and_then(|c| c.to_vec1::<f32>()).map_err(ce)?;
            m.iter().take_while(|&&c| c as usize == batch).count()
        };
        let w_hh_t = w_hh.t().map_err(ce)?;
        let (mut hs, mut cs) = match start {
            Some(s) => s,
            None => {
                let zeros = Tensor::zeros((batch, h), DType::F32, x.device()).map_err(ce)?;
                (zeros.clone(), zeros)
            }
        };
        let mut outs: Vec<Option<Tensor>> = vec![None; steps];
        let order: Vec<usize> = if reverse {
            (0..steps).rev().collect()
        } else {
            (0..steps).collect()
        };
        for t in order {
            let step = || -> candle_core::Result<(Tensor, Tensor, Tensor)> {
                let gx_t = gx.narrow(1, t, 1)?.squeeze(1)?;
                let m = mask.narrow(1, t, 1)?;
                let h_in = match rmask {
                    Some(r) => (&hs * r)?,
                    None => hs.clone(),
                };
                let gh = if self.cell == CellKind::Gru {
                    h_in.matmul(&w_hh_t)?.broadcast_add(b_hh)?
                } else {
                    h_in.matmul(&w_hh_t)?
                };
                let (h_new, c_new) = match self.cell {
                    CellKind::Rnn => ((gx_t + gh)?.tanh()?, cs.clone()),
                    CellKind::Lstm => {
                        let z = (gx_t + gh)?;
                        let i = candle_nn::ops::sigmoid(&z.narrow(1, 0, h)?)?;
                        let f = candle_nn::ops::sigmoid(&z.narrow(1, h, h)?)?;
                        let gg = z.narrow(1, 2 * h, h)?.tanh()?;
                        let o = candle_nn::ops::sigmoid(&z.narrow(1, 3 * h, h)?)?;
                        let c_new = ((f * &cs)? + (i * gg)?)?;
                        ((o * c_new.tanh()?)?, c_new)
                    }
                    CellKind::Gru => {
                        let r = candle_nn::ops::sigmoid(&(gx_t.narrow(1, 0, h)? + gh.narrow(1, 0, h)?)?)?;
                        let z = candle_nn::ops::sigmoid(&(gx_t.narrow(1, h, h)? + gh.narrow(1, h, h)?)?)?;
                        let n = (gx_t.narrow(1, 2 * h, h)? + (r * gh.narrow(1, 2 * h, h)?)?)?.tanh()?;
                        // h' = (1 - z) n + z h = n + z (h - n)
                        let h_new = (&n + (z * (&hs - &n)?)?)?;
                        (h_new, cs.clone())
                    }
                };
                if t < full_until {
                    return Ok((h_new.clone(), c_new, h_new));
                }
                // Padded steps keep the state; their output is zero.
                let h_next = (&hs + (h_new.broadcast_sub(&hs)?.broadcast_mul(&m))?)?;
                let c_next = if self.cell == CellKind::Lstm {
                    (&cs + (c_new.broadcast_sub(&cs)?.broadcast_mul(&m))?)?
                } else {
                    cs.clone()
                };
                let out = h_new.broadcast_mul(&m)?;
                Ok((h_next, c_next, out))
            };
            let (h_next, c_next, out) = step().map_err(ce)?;
            hs = h_next;
            cs = c_next;
            outs[t] = Some(out);
        }
        let outs: Vec<Tensor> = outs.into_iter().map(|o| o.expect("every step ran")).collect();
        let out = Tensor::stack(&outs, 1).map_err(ce)?;
        Ok((out, hs, cs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::max_diff;

    fn input(batch: usize, steps: usize, width: usize, seed: u64) -> Tensor {
        let mut rng = Rng::new(seed);
        let v: Vec<f32> = (0..batch * steps * width).map(|_| rng.symmetric(1.0)).collect();
        Tensor::from_vec(v, (batch, steps, width), &Device::Cpu).unwrap()
    }

    #[test]
    fn padded_steps_change_nothing() {
        for cell in [CellKind::Rnn, CellKind::Lstm, CellKind::Gru] {
            let stack = RecurrentStack::new(cell, 3, 4, 2, true, &mut Rng::new(1), &Device::Cpu).unwrap();
            let x = input(2, 5, 3, 2);
            let (out, last) = stack.forward(&x, &[3, 5], false, None).unwrap();
            assert_eq!(out.dims(), [2, 5, 8]);
            assert_eq!(last.dims(), [2, 8]);
            // The same first row alone, cut to its 3 valid steps.
            let x0 = x.narrow(0, 0, 1).unwrap().narrow(1, 0, 3).unwrap();
            let (out0, last0) = stack.forward(&x0, &[3], false, None).unwrap();
            let a = last
                .narrow(0, 0, 1)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap();
            let b = last0.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            for (p, q) in a.iter().zip(&b) {
                assert!((p - q).abs() < 1e-5, "{cell:?}: {p} vs {q}");
            }
            let o = out.narrow(0, 0, 1).unwrap().narrow(1, 0, 3).unwrap();
            let d = max_diff(&o, &out0);
            assert!(d < 1e-5, "{cell:?}: outputs differ by {d}");
            let pad = out.narrow(0, 0, 1).unwrap().narrow(1, 3, 2).unwrap();
            assert_eq!(pad.abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap(), 0.0);
        }
    }

    /// Two windows with the state carried give what one window over both does, on the fused
    /// kernel and the reference; from a carried state the fused kernel's gradients are the
    /// reference's.
    /// The inference copy gives the same outputs and states; with gradients it reads the
    /// live weights, so an update after the copy shows there and not without gradients.
    #[test]
    fn the_inference_copy_answers_as_the_stack_does() {
        for (cell, bidirectional) in [(CellKind::Lstm, true), (CellKind::Gru, false), (CellKind::Rnn, false)] {
            let stack = RecurrentStack::new(cell, 3, 4, 2, bidirectional, &mut Rng::new(5), &Device::Cpu).unwrap();
            let fast = stack.for_inference().unwrap();
            let x = input(3, 5, 3, 6);
            let lengths = [5, 2, 4];
            let (a, la) = stack.forward(&x, &lengths, false, None).unwrap();
            let (b, lb) = fast.forward(&x, &lengths, false, None).unwrap();
            assert!(max_diff(&a, &b) == 0.0 && max_diff(&la, &lb) == 0.0, "{cell:?}");
            if !bidirectional {
                let (a, sa) = stack.forward_carried(&x, false, None, None).unwrap();
                let (b, sb) = fast.forward_carried(&x, false, None, None).unwrap();
                assert!(max_diff(&a, &b) == 0.0 && sa == sb, "{cell:?} carried");
            }
            let w = &stack.params[0].weight_hh;
            w.set(&(w.as_tensor() * 2.0).unwrap()).unwrap();
            let (live, _) = stack.forward(&x, &lengths, true, None).unwrap();
            let (fast_grad, _) = fast.forward(&x, &lengths, true, None).unwrap();
            let (fast_frozen, _) = fast.forward(&x, &lengths, false, None).unwrap();
            assert!(
                max_diff(&live, &fast_grad) == 0.0,
                "{cell:?}: with gradients the live weights"
            );
            assert!(max_diff(&a, &fast_frozen) == 0.0, "{cell:?}: without, the copy's");
        }
    }

    #[test]
    fn carried_state_continues_the_stream_and_trains_like_the_reference() {
        for cell in [CellKind::Rnn, CellKind::Lstm, CellKind::Gru] {
            let mut stack = RecurrentStack::new(cell, 3, 4, 2, false, &mut Rng::new(3), &Device::Cpu).unwrap();
            let x = input(9, 8, 3, 4);
            for kernel in [Kernel::Auto, Kernel::Reference] {
                stack.kernel = kernel;
                let (whole, end) = stack.forward_carried(&x, false, None, None).unwrap();
                let (a, mid) = stack
                    .forward_carried(&x.narrow(1, 0, 5).unwrap(), false, None, None)
                    .unwrap();
                let (b, end2) = stack
                    .forward_carried(&x.narrow(1, 5, 3).unwrap(), false, None, Some(&mid))
                    .unwrap();
                let joined = Tensor::cat(&[a, b], 1).unwrap();
                assert!(max_diff(&whole, &joined) < 1e-5, "{cell:?} {kernel:?}");
                assert_eq!(end.h.len(), 2);
                for (p, q) in end.h.iter().chain(&end.c).zip(end2.h.iter().chain(&end2.c)) {
                    assert!(
                        p.iter().zip(q).all(|(u, v)| (u - v).abs() < 1e-5),
                        "{cell:?} {kernel:?}"
                    );
                }
                assert_eq!(end.c.iter().all(|c| c.is_empty()), cell != CellKind::Lstm);
                // The final state is the last step's output of the top layer.
                let last = whole
                    .narrow(1, 7, 1)
                    .unwrap()
                    .flatten_all()
                    .unwrap()
                    .to_vec1::<f32>()
                    .unwrap();
                assert!(last.iter().zip(&end.h[1]).all(|(u, v)| (u - v).abs() < 1e-6));
            }
            // Gradients from a carried state: fused against reference.
            let (_, init) = stack.forward_carried(&x, false, None, None).unwrap();
            let weights = input(9, 4, 4, 5);
            let grads = |kernel: Kernel| {
                let mut s = stack.clone();
                s.kernel = kernel;
                let (out, _) = s
                    .forward_carried(&x.narrow(1, 0, 4).unwrap(), true, None, Some(&init))
                    .unwrap();
                let g = (out * &weights).unwrap().sum_all().unwrap().backward().unwrap();
                s.named_vars()
                    .into_iter()
                    .map(|(_, v)| g.get(v.as_tensor()).unwrap().clone())
                    .collect::<Vec<_>>()
            };
            for (f, r) in grads(Kernel::Auto).iter().zip(grads(Kernel::Reference)) {
                let d = max_diff(f, &r);
                assert!(d < 1e-4, "{cell:?}: gradients differ by {d}");
            }
        }
    }

    #[test]
    fn names_follow_pytorch() {
        let stack = RecurrentStack::new(CellKind::Lstm, 3, 4, 2, true, &mut Rng::new(1), &Device::Cpu).unwrap();
        let names: Vec<String> = stack.named_vars().into_iter().map(|(n, _)| n).collect();
        assert_eq!(names.len(), 16);
        assert_eq!(names[0], "weight_ih_l0");
        assert_eq!(names[4], "weight_ih_l0_reverse");
        assert_eq!(names[15], "bias_hh_l1_reverse");
        assert_eq!(stack.params[2].weight_ih.dims(), [16, 8]);
    }
}
