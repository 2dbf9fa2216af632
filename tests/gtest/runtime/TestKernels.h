//===- TestKernels.h - small CUDA program the runtime tests compile -*- C++ -*-===//
//
// Independent of the compiler: two kernels with metadata per CONTRACTS.md §2.
//  hyp_test_rownorm : nrm[i] = sqrt(sum_j x[i,j]^2)                 (write)
//  hyp_test_rowscale: y[i,j] += alpha * s[i] * x[i,j]  (bf16 y, readwrite)
//                     total  += sum of the added terms          (accumulate)
// bf16 activations, fp32 math, tails in M (BLOCK_M) and K (VEC, THREADS), so
// every config must handle ragged edges. `total` being an accumulate buffer
// is what shows that the autotuner restores what it clobbers: without the
// restore it would hold (1 + number of timed launches) times the sum.
//
//===----------------------------------------------------------------------===//
#ifndef HYP_TESTS_RUNTIME_TESTKERNELS_H
#define HYP_TESTS_RUNTIME_TESTKERNELS_H

namespace hyp::rt::hyptest {

inline const char *kTestSource = R"CUDA(
#include <cuda_bf16.h>
#ifndef BLOCK_M
#define BLOCK_M 4
#endif
#ifndef THREADS
#define THREADS 128
#endif
#ifndef VEC
#define VEC 2
#endif

// Sum over the block; every thread gets the result.
__device__ float hyp_block_sum(float v) {
  __shared__ float partial[THREADS / 32];
  for (int o = 16; o > 0; o >>= 1)
    v += __shfl_xor_sync(0xffffffffu, v, o);
  if ((threadIdx.x & 31) == 0)
    partial[threadIdx.x >> 5] = v;
  __syncthreads();
  float total = 0.f;
  for (int w = 0; w < THREADS / 32; ++w)
    total += partial[w];
  __syncthreads();
  return total;
}

// Each kernel compiles alone under -DHYP_ONLY_KERNEL -DHYP_ONLY_<name>, as the
// emitter's sources do (the runtime passes both for every compile).
#if !defined(HYP_ONLY_KERNEL) || defined(HYP_ONLY_hyp_test_rownorm)
extern "C" __global__ void __launch_bounds__(THREADS)
hyp_test_rownorm(const __nv_bfloat16 *__restrict__ x, float *__restrict__ nrm, long long M,
                 long long K) {
  long long row = blockIdx.x;
  if (row >= M) return;
  float acc = 0.f;
  for (long long j = threadIdx.x; j < K; j += THREADS) {
    float v = __bfloat162float(x[row * K + j]);
    acc += v * v;
  }
  acc = hyp_block_sum(acc);
  if (threadIdx.x == 0) nrm[row] = sqrtf(acc);
}

#endif

#if !defined(HYP_ONLY_KERNEL) || defined(HYP_ONLY_hyp_test_rowscale)
extern "C" __global__ void __launch_bounds__(THREADS)
hyp_test_rowscale(const __nv_bfloat16 *__restrict__ x, const float *__restrict__ s,
                  __nv_bfloat16 *y, float *total, long long M, long long K, float alpha) {
  float local = 0.f;
  for (int r = 0; r < BLOCK_M; ++r) {
    long long row = (long long)blockIdx.x * BLOCK_M + r;
    if (row >= M) break;
    float scale = alpha * s[row];
    for (long long j0 = (long long)threadIdx.x * VEC; j0 < K; j0 += (long long)THREADS * VEC) {
#pragma unroll
      for (int v = 0; v < VEC; ++v) {
        long long j = j0 + v;
        if (j < K) {
          float add = scale * __bfloat162float(x[row * K + j]);
          y[row * K + j] = __float2bfloat16(__bfloat162float(y[row * K + j]) + add);
          local += add;
        }
      }
    }
  }
  local = hyp_block_sum(local);
  if (threadIdx.x == 0) atomicAdd(total, local);
}
#endif
)CUDA";

inline const char *kTestMetadata = R"JSON({
  "schema": 1,
  "compiler": "hyprt-test-kernels 1",
  "kernels": [
    {
      "name": "hyp_test_rownorm",
      "params": [
        {"name": "x", "kind": "ptr", "elem": "bf16", "access": "read"},
        {"name": "nrm", "kind": "ptr", "elem": "f32", "access": "write"},
        {"name": "M", "kind": "i64"},
        {"name": "K", "kind": "i64"}
      ],
      "grid": [{"extent": "M"}, {"const": 1}, {"const": 1}],
      "block": "THREADS",
      "tunables": [{"name": "THREADS", "values": [32, 64, 128, 256], "default": 128}],
      "dynamic_smem": 0
    },
    {
      "name": "hyp_test_rowscale",
      "params": [
        {"name": "x", "kind": "ptr", "elem": "bf16", "access": "read"},
        {"name": "s", "kind": "ptr", "elem": "f32", "access": "read"},
        {"name": "y", "kind": "ptr", "elem": "bf16", "access": "readwrite"},
        {"name": "total", "kind": "ptr", "elem": "f32", "access": "accumulate"},
        {"name": "M", "kind": "i64"},
        {"name": "K", "kind": "i64"},
        {"name": "alpha", "kind": "f32"}
      ],
      "grid": [{"extent": "M", "tile": "BLOCK_M"}, {"const": 1}, {"const": 1}],
      "block": "THREADS",
      "tunables": [
        {"name": "BLOCK_M", "values": [1, 2, 4, 8], "default": 4},
        {"name": "THREADS", "values": [64, 128, 256], "default": 128},
        {"name": "VEC", "values": [1, 2, 4], "default": 2}
      ],
      "constraints": ["BLOCK_M*THREADS<=1024"],
      "dynamic_smem": 0
    }
  ],
  "programs": {"forward": ["hyp_test_rownorm", "hyp_test_rowscale"]},
  "buffers": {
    "x": {"shape": ["M", "K"], "elem": "bf16"},
    "s": {"shape": ["M"], "elem": "f32"},
    "y": {"shape": ["M", "K"], "elem": "bf16"},
    "total": {"shape": [1], "elem": "f32"},
    "nrm": {"shape": ["M"], "elem": "f32"}
  }
})JSON";

} // namespace hyp::rt::hyptest

#endif // HYP_TESTS_RUNTIME_TESTKERNELS_H
