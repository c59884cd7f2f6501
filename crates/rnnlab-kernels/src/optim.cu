// AdamW's update of one parameter on NVIDIA GPUs, in place and in one kernel (candle-nn's
// optimiser launches about fifteen per parameter and step), compiled by build.rs with the
// toolkit's nvcc (feature cuda). It mirrors `Update::cpu_fwd` in optim.rs line by line:
// PyTorch's AdamW, the clipping factor applied to the gradient, `keep = 1 - lr * decay`.
// One thread per element, launched in blocks of 256 (cuda.rs).

extern "C" __global__ void __launch_bounds__(256) adamw_update(
    long long n, float lr, float keep, float beta1, float beta2, float scale_m, float scale_v,
    float eps, float grad_scale, float* p, const float* g, float* m, float* v) {
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const float gi = g[i] * grad_scale;
  const float mi = beta1 * m[i] + (1.0f - beta1) * gi;
  const float vi = beta2 * v[i] + (1.0f - beta2) * gi * gi;
  m[i] = mi;
  v[i] = vi;
  const float step = (mi * scale_m) / (sqrtf(vi * scale_v) + eps);
  p[i] = p[i] * keep - lr * step;
}
