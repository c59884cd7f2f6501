// The GPU kernels (`cells.cu`, `optim.cu`) compiled for the host by a C++ compiler (feature
// `cells-host`, tests only): the CUDA qualifiers expand to nothing and the thread coordinates
// are per-thread globals that the caller sets before each call, so every kernel thread runs
// as one plain call. The host_kernels tests hold them to the CPU definitions, which checks the
// kernels' arithmetic and indexing on a machine without a GPU.

#include <math.h>

struct rnnlab_dim3 {
  unsigned int x, y, z;
};

static thread_local rnnlab_dim3 blockIdx, blockDim, threadIdx;

extern "C" void rnnlab_host_thread(unsigned int block, unsigned int block_dim, unsigned int thread) {
  blockIdx = {block, 0, 0};
  blockDim = {block_dim, 1, 1};
  threadIdx = {thread, 0, 0};
}

#define __device__
#define __forceinline__ inline
#define __global__
#define __launch_bounds__(...)
#define cell_forward rnnlab_cells_cu_forward
#define cell_backward rnnlab_cells_cu_backward
#define adamw_update rnnlab_optim_cu_adamw_update

#include "cells.cu"
#include "optim.cu"
