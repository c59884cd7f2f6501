// The cell operations of the stepwise recurrent layer (stepwise.rs) on NVIDIA GPUs, compiled
// by build.rs with the toolkit's nvcc (feature cuda). Each function mirrors the plain-loop definition of the same name in
// stepwise.rs (`Cpu::cell_forward`, `Cpu::cell_backward`), which the tests
// hold to the candle-op reference: one thread per (row, unit), `idx = row * hidden + j`.
// Cells: 0 RNN (tanh), 1 LSTM (gates i f g o), 2 GRU (gates r z n), PyTorch's equations.
// Launched in blocks of 256 threads (cuda.rs), which the launch bounds promise the compiler.

__device__ __forceinline__ float sigmoidf(float x) { return 1.0f / (1.0f + expf(-x)); }

__device__ __forceinline__ int gates_of(int cell) { return cell == 0 ? 1 : (cell == 1 ? 4 : 3); }

__device__ __forceinline__ int act_width(int cell) { return cell == 0 ? 1 : (cell == 1 ? 6 : 5); }

extern "C" __global__ void __launch_bounds__(256) cell_forward(
    int cell, int batch, int hidden, int t, long long gx_stride, long long out_stride,
    int has_rmask, int has_next,
    const unsigned int* lengths, const float* gx, const float* gh, const float* b_hh,
    const float* rmask, float* hs, float* cs, float* out, float* act, float* hm_next) {
  long long idx = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (idx >= (long long)batch * hidden) return;
  const int h = hidden;
  const long long row = idx / h;
  const int j = (int)(idx % h);
  const bool valid = (unsigned int)t < lengths[row];
  const float* x = gx + row * gx_stride;
  const float* g = gh + row * (long long)(gates_of(cell) * h);
  float* a = act + row * (long long)(act_width(cell) * h);
  const float h_prev = hs[idx];
  float h_new;
  if (cell == 0) {
    const float v = tanhf(x[j] + g[j] + b_hh[j]);
    a[j] = v;
    h_new = v;
  } else if (cell == 1) {
    const float i = sigmoidf(x[j] + g[j] + b_hh[j]);
    const float f = sigmoidf(x[h + j] + g[h + j] + b_hh[h + j]);
    const float gg = tanhf(x[2 * h + j] + g[2 * h + j] + b_hh[2 * h + j]);
    const float o = sigmoidf(x[3 * h + j] + g[3 * h + j] + b_hh[3 * h + j]);
    const float c_prev = cs[idx];
    const float c_new = f * c_prev + i * gg;
    a[j] = i;
    a[h + j] = f;
    a[2 * h + j] = gg;
    a[3 * h + j] = o;
    a[4 * h + j] = c_prev;
    a[5 * h + j] = c_new;
    if (valid) cs[idx] = c_new;
    h_new = o * tanhf(c_new);
  } else {
    const float r = sigmoidf(x[j] + g[j] + b_hh[j]);
    const float z = sigmoidf(x[h + j] + g[h + j] + b_hh[h + j]);
    const float ghn = g[2 * h + j] + b_hh[2 * h + j];
    const float n = tanhf(x[2 * h + j] + r * ghn);
    a[j] = r;
    a[h + j] = z;
    a[2 * h + j] = n;
    a[3 * h + j] = ghn;
    a[4 * h + j] = h_prev;
    h_new = n + z * (h_prev - n);
  }
  const float state = valid ? h_new : h_prev;
  hs[idx] = state;
  out[row * out_stride + j] = valid ? h_new : 0.0f;
  if (has_next) {
    const float m = has_rmask ? rmask[idx] : 1.0f;
    hm_next[idx] = state * m;
  }
}

extern "C" __global__ void __launch_bounds__(256) cell_backward(
    int cell, int batch, int hidden, int t, long long gx_stride, long long out_stride,
    int has_rmask,
    const unsigned int* lengths, const float* gout, const float* act, const float* rmask,
    float* dh_direct, const float* dh_rec, float* dcs, float* dgx, float* dgh) {
  long long idx = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (idx >= (long long)batch * hidden) return;
  const int h = hidden;
  const int gates = gates_of(cell) * h;
  const long long row = idx / h;
  const int j = (int)(idx % h);
  const bool valid = (unsigned int)t < lengths[row];
  const float m = has_rmask ? rmask[idx] : 1.0f;
  const float dh = dh_direct[idx] + dh_rec[idx] * m;
  float* dx = dgx + row * gx_stride;
  float* dg = dgh + row * (long long)gates;
  if (!valid) {
    for (int k = 0; k < gates_of(cell); ++k) {
      dx[k * h + j] = 0.0f;
      dg[k * h + j] = 0.0f;
    }
    dh_direct[idx] = dh;
    return;
  }
  const float dhn = dh + gout[row * out_stride + j];
  const float* a = act + row * (long long)(act_width(cell) * h);
  if (cell == 0) {
    const float v = a[j];
    const float d = dhn * (1.0f - v * v);
    dx[j] = d;
    dg[j] = d;
    dh_direct[idx] = 0.0f;
  } else if (cell == 1) {
    const float i = a[j], f = a[h + j], g = a[2 * h + j], o = a[3 * h + j];
    const float c_prev = a[4 * h + j], c_new = a[5 * h + j];
    const float tc = tanhf(c_new);
    const float dc = dcs[idx] + dhn * o * (1.0f - tc * tc);
    const float d[4] = {
        dc * g * i * (1.0f - i),
        dc * c_prev * f * (1.0f - f),
        dc * i * (1.0f - g * g),
        dhn * tc * o * (1.0f - o),
    };
    dcs[idx] = dc * f;
    for (int k = 0; k < 4; ++k) {
      dx[k * h + j] = d[k];
      dg[k * h + j] = d[k];
    }
    dh_direct[idx] = 0.0f;
  } else {
    const float r = a[j], z = a[h + j], n = a[2 * h + j], ghn = a[3 * h + j], h_prev = a[4 * h + j];
    const float dn = dhn * (1.0f - z) * (1.0f - n * n);
    const float dz = dhn * (h_prev - n) * z * (1.0f - z);
    const float dr = dn * ghn * r * (1.0f - r);
    dx[j] = dr;
    dx[h + j] = dz;
    dx[2 * h + j] = dn;
    dg[j] = dr;
    dg[h + j] = dz;
    dg[2 * h + j] = dn * r;
    dh_direct[idx] = dhn * z;
  }
}
