// stream_ring_probe.cu: how fast can a block ring stream the rows of X?
//
// Why: the row-reduces (hyp_fwd_down) and bwd_dx's x ring read X at 1.6-2.0 TB/s on an
// H100 while the card reads at ~3 TB/s; bwd_dx's ring alone (no math) took 36 us for
// 64 MiB. This probe separates the ring mechanism from the math: the same tile walk
// (BM rows x KC columns of bf16 X a step, 16 + KC halves a stage row, the weight's
// fp32 rows beside them when WITH_W) with
//   cp.async   16-byte cp.async by every thread, commit / wait_group, __syncthreads a
//              step (what the row-reduce does today);
//   bulk+sync  one cp.async.bulk a row into the same layout, completion on an mbarrier
//              (expect_tx), the stage freed by __syncthreads;
//   bulk+mbar  the same copies, stages freed by an "empty" mbarrier per stage that every
//              warp arrives on (no block barrier in the loop);
//   direct     plain 16-byte loads, grid-stride (what the card reads without a ring).
// The consumer reads every staged X element once and squares it (the |x|^2 of
// hyp_fwd_down) so the stages are really read. Timing: CUDA events, 20 runs after 3
// warm-ups, median; X is 1.5x the L2 or more and never zero.
//
// Build and run (GPU machine): nvcc -O3 -arch=sm_90a -std=c++17 -o /tmp/srp
//   bench/probes/stream_ring_probe.cu && /tmp/srp   (scripts/gpu_session.sh stage ring-probe)
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#define CHECK(call)                                                                        \
  do {                                                                                     \
    cudaError_t e_ = (call);                                                               \
    if (e_ != cudaSuccess) {                                                               \
      std::fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call,                  \
                   cudaGetErrorString(e_));                                                \
      std::exit(1);                                                                        \
    }                                                                                      \
  } while (0)

typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;

enum Mode { CP_ASYNC = 0, BULK_SYNC = 1, BULK_MBAR = 2 };

__device__ __forceinline__ u32 smem_addr(const void *p) {
  return static_cast<u32>(__cvta_generic_to_shared(p));
}
__device__ __forceinline__ void cp16(u32 dst, const void *src) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(dst), "l"(src) : "memory");
}
__device__ __forceinline__ void mbar_init(u32 bar, u32 count) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(bar), "r"(count) : "memory");
}
__device__ __forceinline__ void mbar_expect_tx(u32 bar, u32 bytes) {
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(bar), "r"(bytes)
               : "memory");
}
__device__ __forceinline__ void mbar_arrive(u32 bar) {
  asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" ::"r"(bar) : "memory");
}
__device__ __forceinline__ void mbar_wait(u32 bar, u32 parity) {
  asm volatile(
      "{\n .reg .pred p;\n WAIT_%=:\n"
      " mbarrier.try_wait.parity.shared::cta.b64 p, [%0], %1;\n"
      " @!p bra WAIT_%=;\n}\n" ::"r"(bar),
      "r"(parity)
      : "memory");
}
__device__ __forceinline__ void bulk_copy(u32 dst, const void *src, u32 bytes, u32 bar) {
  asm volatile(
      "cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1], %2, [%3];\n" ::"r"(
          dst),
      "l"(src), "r"(bytes), "r"(bar)
      : "memory");
}

template <int BM, int KC, int S, int THREADS, int MODE, bool WITH_W, int R = 32>
struct Ring {
  static constexpr int LD = KC + 16;                  // halves a staged X row (as hyp_tc_row_ld)
  static constexpr int STAGE_X = BM * LD * 2;         // bytes
  static constexpr int STAGE_W = WITH_W ? R * LD * 4 : 0;
  static constexpr int STAGE = STAGE_X + STAGE_W;
  static constexpr int SMEM = S * STAGE + 2 * S * 8 + 16;
};

template <int BM, int KC, int S, int THREADS, int MODE, bool WITH_W>
__global__ void __launch_bounds__(THREADS) ring_kernel(const u16 *__restrict__ X,
                                                      const float *__restrict__ W, int K,
                                                      float *__restrict__ out) {
  typedef Ring<BM, KC, S, THREADS, MODE, WITH_W> T;
  constexpr int R = 32, CPR = KC / 8, NW = THREADS / 32;
  extern __shared__ __align__(128) unsigned char smem[];
  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
  const long long m0 = (long long)blockIdx.x * BM;
  const u32 ring = smem_addr(smem);
  const u32 full = ring + S * T::STAGE, empty = full + S * 8;
  const int NCH = K / KC;
  if (MODE != CP_ASYNC && tid == 0) {
    for (int s = 0; s < S; ++s) {
      mbar_init(full + 8 * s, 1);
      mbar_init(empty + 8 * s, NW);
    }
    asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
  }
  __syncthreads();

  auto issue = [&](int c, int st) {
    const int k0 = c * KC;
    const u32 xs = ring + st * T::STAGE, ws = xs + T::STAGE_X;
    if (MODE == CP_ASYNC) {
      for (int e = tid; e < BM * CPR; e += THREADS) {
        const int m = e / CPR, p = e % CPR;
        cp16(xs + (m * T::LD + p * 8) * 2, X + (m0 + m) * K + k0 + p * 8);
      }
      if (WITH_W)
        for (int e = tid; e < R * (KC / 4); e += THREADS) {
          const int j = e / (KC / 4), p = e % (KC / 4);
          cp16(ws + (j * T::LD + p * 4) * 4, W + (long long)j * K + k0 + p * 4);
        }
    } else if (warp == 0) {
      // One elected lane announces the stage's bytes; the warp's lanes copy a row each.
      if (lane == 0) mbar_expect_tx(full + 8 * st, BM * KC * 2 + (WITH_W ? R * KC * 4 : 0));
      __syncwarp();
      for (int m = lane; m < BM; m += 32)
        bulk_copy(xs + m * T::LD * 2, X + (m0 + m) * K + k0, KC * 2, full + 8 * st);
      if (WITH_W)
        for (int j = lane; j < R; j += 32)
          bulk_copy(ws + j * T::LD * 4, W + (long long)j * K + k0, KC * 4, full + 8 * st);
    }
  };

  for (int st = 0; st < S - 1; ++st) {
    if (st < NCH) issue(st, st);
    if (MODE == CP_ASYNC) asm volatile("cp.async.commit_group;\n" ::: "memory");
  }
  float sq = 0.f;
  int stage = 0;
  u32 phase = 0; // parity of the current pass over the ring
  for (int c = 0; c < NCH; ++c) {
    const int nc = c + S - 1, nst = stage == 0 ? S - 1 : stage - 1;
    if (MODE == CP_ASYNC) {
      asm volatile("cp.async.wait_group %0;\n" ::"n"(S - 2) : "memory");
      __syncthreads();
      if (nc < NCH) issue(nc, nst);
      asm volatile("cp.async.commit_group;\n" ::: "memory");
    } else if (MODE == BULK_SYNC) {
      __syncthreads(); // chunk c - 1's stage is free
      if (nc < NCH) issue(nc, nst);
      mbar_wait(full + 8 * stage, phase);
    } else {
      // Refill the stage chunk c - 1 used once every warp has released it (warp 0 only).
      if (warp == 0 && nc < NCH) {
        if (c > 0) mbar_wait(empty + 8 * nst, ((c - 1) / S) & 1);
        issue(nc, nst);
      }
      mbar_wait(full + 8 * stage, phase);
    }
    const u16 *xs = reinterpret_cast<const u16 *>(smem + stage * T::STAGE);
    for (int e = tid; e < BM * CPR; e += THREADS) {
      const uint4 v = *reinterpret_cast<const uint4 *>(xs + (e / CPR) * T::LD + (e % CPR) * 8);
      const u32 w4[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
      for (int q = 0; q < 4; ++q) {
        const float lo = __uint_as_float(w4[q] << 16), hi = __uint_as_float(w4[q] & 0xffff0000u);
        sq = fmaf(lo, lo, sq);
        sq = fmaf(hi, hi, sq);
      }
    }
    if (WITH_W) {
      const float *ws = reinterpret_cast<const float *>(smem + stage * T::STAGE + T::STAGE_X);
      for (int e = tid; e < R * (KC / 4); e += THREADS)
        sq += ws[(e / (KC / 4)) * T::LD + (e % (KC / 4)) * 4] * 1e-30f;
    }
    if (MODE == BULK_MBAR) {
      __syncwarp();
      if (lane == 0) mbar_arrive(empty + 8 * stage);
    }
    if (stage == S - 1) phase ^= 1u;
    stage = stage == S - 1 ? 0 : stage + 1;
  }
  if (MODE == CP_ASYNC) asm volatile("cp.async.wait_group 0;\n" ::: "memory");
  out[(long long)blockIdx.x * THREADS + tid] = sq;
}

__global__ void direct_kernel(const uint4 *__restrict__ X, long long n16, float *__restrict__ out) {
  float sq = 0.f;
  const long long stride = (long long)gridDim.x * blockDim.x;
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  for (; i + 3 * stride < n16; i += 4 * stride) {
    uint4 v[4];
#pragma unroll
    for (int u = 0; u < 4; ++u) v[u] = __ldg(X + i + u * stride);
#pragma unroll
    for (int u = 0; u < 4; ++u) sq += __uint_as_float(v[u].x << 16) + __uint_as_float(v[u].w << 16);
  }
  for (; i < n16; i += stride) sq += __uint_as_float(__ldg(X + i).x << 16);
  out[(long long)blockIdx.x * blockDim.x + threadIdx.x] = sq;
}

__global__ void fill_kernel(u16 *x, long long n, u32 seed) {
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n;
       i += (long long)gridDim.x * blockDim.x) {
    u32 h = (u32)i * 2654435761u ^ seed;
    h ^= h >> 13;
    h *= 0x5bd1e995u;
    x[i] = (u16)(0x3c00 | (h & 0x3ff)); // bf16 in [0.0078, 0.0156): finite, never zero
  }
}

template <class F> static float median_us(F launch) {
  cudaEvent_t a, b;
  CHECK(cudaEventCreate(&a));
  CHECK(cudaEventCreate(&b));
  for (int i = 0; i < 3; ++i) launch();
  std::vector<float> t;
  for (int i = 0; i < 20; ++i) {
    CHECK(cudaEventRecord(a));
    launch();
    CHECK(cudaEventRecord(b));
    CHECK(cudaEventSynchronize(b));
    float ms;
    CHECK(cudaEventElapsedTime(&ms, a, b));
    t.push_back(ms * 1000.f);
  }
  CHECK(cudaGetLastError());
  std::sort(t.begin(), t.end());
  CHECK(cudaEventDestroy(a));
  CHECK(cudaEventDestroy(b));
  return t[t.size() / 2];
}

static const char *kModeNames[] = {"cp.async", "bulk+sync", "bulk+mbar"};

template <int BM, int KC, int S, int THREADS, int MODE, bool WITH_W>
static void run_ring(const u16 *X, const float *W, int M, int K, float *out) {
  typedef Ring<BM, KC, S, THREADS, MODE, WITH_W> T;
  auto kernel = ring_kernel<BM, KC, S, THREADS, MODE, WITH_W>;
  CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, T::SMEM));
  int per_sm = 0;
  CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, THREADS, T::SMEM));
  const float us = median_us([&] { kernel<<<M / BM, THREADS, T::SMEM>>>(X, W, K, out); });
  const double bytes = (double)M * K * 2;
  std::printf("%-9s M=%d K=%5d BM=%2d KC=%3d S=%d T=%3d W=%d smem=%6d blocks/SM=%d  %7.1f us  %.2f TB/s\n",
              kModeNames[MODE], M, K, BM, KC, S, THREADS, WITH_W, T::SMEM, per_sm, us,
              bytes / us * 1e-6);
}

template <int BM, int KC, int S, int THREADS, bool WITH_W>
static void run_modes(const u16 *X, const float *W, int M, int K, float *out) {
  run_ring<BM, KC, S, THREADS, CP_ASYNC, WITH_W>(X, W, M, K, out);
  run_ring<BM, KC, S, THREADS, BULK_SYNC, WITH_W>(X, W, M, K, out);
  run_ring<BM, KC, S, THREADS, BULK_MBAR, WITH_W>(X, W, M, K, out);
}

int main() {
  const int M = 8192;
  const int Ks[] = {4096, 14336};
  cudaDeviceProp prop;
  CHECK(cudaGetDeviceProperties(&prop, 0));
  std::printf("device: %s, %d SMs\n", prop.name, prop.multiProcessorCount);
  for (int K : Ks) {
    const long long n = (long long)M * K;
    u16 *X;
    float *W, *out;
    CHECK(cudaMalloc(&X, n * 2));
    CHECK(cudaMalloc(&W, (size_t)32 * K * 4));
    CHECK(cudaMemset(W, 0x3c, (size_t)32 * K * 4));
    CHECK(cudaMalloc(&out, (size_t)M * 1024 * 4));
    fill_kernel<<<1024, 256>>>(X, n, 12345u);
    CHECK(cudaDeviceSynchronize());
    const float du = median_us([&] {
      direct_kernel<<<prop.multiProcessorCount * 8, 256>>>(reinterpret_cast<const uint4 *>(X), n / 8,
                                                         out);
    });
    std::printf("direct    M=%d K=%5d                                              %7.1f us  %.2f TB/s\n",
                M, K, du, n * 2.0 / du * 1e-6);
    // Today's fwd_down geometry (64 rows x 128 columns, 3 stages, 512 threads, weight beside).
    run_modes<64, 128, 3, 512, true>(X, W, M, K, out);
    run_modes<64, 128, 3, 512, false>(X, W, M, K, out);
    run_modes<32, 128, 3, 512, true>(X, W, M, K, out);
    // Deeper and wider rings of X alone (the bulk copies need no thread per 16 bytes).
    run_modes<32, 128, 6, 256, false>(X, W, M, K, out);
    run_modes<32, 256, 4, 256, false>(X, W, M, K, out);
    run_modes<16, 256, 6, 256, false>(X, W, M, K, out);
    run_modes<64, 64, 6, 512, false>(X, W, M, K, out);
    run_modes<32, 64, 8, 256, false>(X, W, M, K, out);
    run_modes<64, 256, 4, 512, false>(X, W, M, K, out);
    CHECK(cudaFree(X));
    CHECK(cudaFree(W));
    CHECK(cudaFree(out));
  }
  return 0;
}
