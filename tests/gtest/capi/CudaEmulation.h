//===- CudaEmulation.h - run emitted CUDA kernels on the CPU -----*- C++ -*-===//
//
// Force-included (g++ -include) in front of the emitted CUDA source so the very
// text NVRTC compiles also builds as a host shared library. Each thread block
// runs with one std::thread per CUDA thread and a std::barrier for
// __syncthreads (blocks one after another, so a function-scope `static` array
// is exactly one block's shared memory). Atomics take a global mutex. bf16 and
// fp16 are bit-exact software types with round-to-nearest-even conversions.
// The kernels use no warp-level intrinsics, by design (HypKernelLib.cuh); the
// tensor-core skeletons' mma.sync is replaced, under HYP_CPU_EMULATION, by a
// per-lane scalar loop over the same shared-memory operands (HypTensorCore.cuh).
//
// hyp_emu_launch_<kernel>(void **args, gx, gy, gz, block, smem) is exported for each
// kernel by HYP_EMU_EXPORT(name), which the test appends to the source.
//
//===----------------------------------------------------------------------===//
#pragma once
#define HYP_CPU_EMULATION 1

#include <atomic>
#include <barrier>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __restrict__ __restrict
#define __launch_bounds__(...)
#define __shared__ static

struct hyp_emu_dim3 {
  unsigned x = 0, y = 0, z = 0;
};
inline thread_local hyp_emu_dim3 threadIdx, blockIdx, blockDim, gridDim;
inline std::barrier<> *hyp_emu_block_barrier = nullptr;
inline std::mutex hyp_emu_atomic_mutex;

inline void __syncthreads() { hyp_emu_block_barrier->arrive_and_wait(); }

// Dynamic shared memory: one buffer of the device limit (227 KiB on sm_90),
// the launch's byte count beside it (what %dynamic_smem_size reads on the GPU).
inline unsigned hyp_emu_dynamic_smem_bytes = 0;
inline unsigned char *hyp_emu_dynamic_smem() {
  alignas(16) static unsigned char buffer[227 * 1024];
  return buffer;
}
// A kernel's trap (too little shared memory for its layout) ends the test run
// loudly, as it ends the launch on the GPU.
[[noreturn]] inline void hyp_emu_trap() {
  std::fprintf(stderr, "CudaEmulation: kernel trapped (dynamic shared memory %u bytes)\n",
               hyp_emu_dynamic_smem_bytes);
  std::abort();
}

inline float atomicAdd(float *p, float v) {
  std::lock_guard<std::mutex> lock(hyp_emu_atomic_mutex);
  float old = *p;
  *p = old + v;
  return old;
}

inline unsigned atomicAdd(unsigned *p, unsigned v) {
  std::lock_guard<std::mutex> lock(hyp_emu_atomic_mutex);
  unsigned old = *p;
  *p = old + v;
  return old;
}
// Blocks run one after another here: the split-K meeting point's fences
// and L2 loads (HypTensorCore.cuh) need no more than ordinary memory.
inline void __threadfence() { std::atomic_thread_fence(std::memory_order_seq_cst); }
inline float __ldcg(const float *p) { return *p; }

inline float __uint_as_float(unsigned u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
inline unsigned __float_as_uint(float f) {
  unsigned u;
  std::memcpy(&u, &f, 4);
  return u;
}

struct __nv_bfloat16 {
  uint16_t bits;
};
inline float __bfloat162float(__nv_bfloat16 h) {
  uint32_t u = uint32_t(h.bits) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
inline __nv_bfloat16 __float2bfloat16_rn(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u)
    return {uint16_t((u >> 16) | 0x40)}; // quiet NaN
  u += 0x7fffu + ((u >> 16) & 1u);       // round to nearest even
  return {uint16_t(u >> 16)};
}
struct __half {
  uint16_t bits;
};
inline float __half2float(__half h) {
  _Float16 v;
  std::memcpy(&v, &h.bits, 2);
  return float(v);
}
inline __half __float2half_rn(float f) {
  _Float16 v = _Float16(f); // IEEE round-to-nearest-even
  __half h;
  std::memcpy(&h.bits, &v, 2);
  return h;
}

template <class... P, size_t... I>
void hyp_emu_call(void (*fn)(P...), void **args, std::index_sequence<I...>) {
  fn(*reinterpret_cast<std::remove_cv_t<std::remove_reference_t<P>> *>(args[I])...);
}

template <class... P>
void hyp_emu_launch(void (*fn)(P...), void **args, int gx, int gy, int gz, int block,
                    unsigned smem) {
  if (smem > 227 * 1024) {
    std::fprintf(stderr, "CudaEmulation: %u bytes of dynamic shared memory, limit 227 KiB\n", smem);
    std::abort();
  }
  hyp_emu_dynamic_smem_bytes = smem;
  for (int bz = 0; bz < gz; ++bz)
    for (int by = 0; by < gy; ++by)
      for (int bx = 0; bx < gx; ++bx) {
        std::barrier<> bar(block);
        hyp_emu_block_barrier = &bar;
        std::vector<std::thread> threads;
        threads.reserve(block);
        for (int t = 0; t < block; ++t)
          threads.emplace_back([&, t] {
            threadIdx = {unsigned(t), 0, 0};
            blockIdx = {unsigned(bx), unsigned(by), unsigned(bz)};
            blockDim = {unsigned(block), 1, 1};
            gridDim = {unsigned(gx), unsigned(gy), unsigned(gz)};
            hyp_emu_call(fn, args, std::index_sequence_for<P...>{});
            bar.arrive_and_drop(); // a finished thread no longer holds up barriers
          });
        for (auto &th : threads)
          th.join();
        hyp_emu_block_barrier = nullptr;
      }
}

#define HYP_EMU_EXPORT(name)                                                               \
  extern "C" void hyp_emu_launch_##name(void **args, int gx, int gy, int gz, int block,    \
                                        unsigned smem) {                                   \
    hyp_emu_launch(name, args, gx, gy, gz, block, smem);                                   \
  }
