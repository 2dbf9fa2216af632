//===- MmaGpuTest.cpp - the mma.sync helper vs float64, on the GPU --------===//
//
// hyp_mma_tile_16x8 / hyp_mma_split_16x8 (HypTensorCore.cuh) hold the only
// code the CPU emulation cannot check: the m16n8k16 fragment layout. One warp
// stages a random 16x16 A and 16x8 B in shared memory (padded strides, as the
// skeletons do), runs the helper on top of a random C, and writes its C
// fragment back by (row, column); the host compares with a float64 product.
// Modes: 0 = bf16 x bf16 (exact products: only fp32 accumulation error),
// 1 = fp32 A split into hi + lo times bf16 B, 2 = both fp32, split.
// Also run: hyp_block_mma over a 32x64 block tile with 4 warps (the
// skeletons' warp-to-tile map). Skips cleanly without a CUDA driver.
//
//===----------------------------------------------------------------------===//
#include "hyp/Runtime/DeviceMemory.h"
#include "hyp/Runtime/Nvrtc.h"
#include "hyp/Runtime/Runtime.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "KernelLibText.inc"
#include "TensorCoreText.inc"

using namespace hyp::rt;

namespace {

std::string librarySource() {
  std::string s = "#define HYP_K 16\n#define HYP_N 8\n#define HYP_R 16\n"
                  "typedef float hyp_act_t;\n"
                  "static __device__ __forceinline__ float hyp_act_to_f32(float v) { return v; }\n"
                  "static __device__ __forceinline__ float hyp_f32_to_act(float v) { return v; }\n";
  for (const char *c : kernel_lib_text_chunks) s += c;
  s += "\n";
  for (const char *c : tensor_core_text_chunks) s += c;
  return s + "\n";
}

// A (16x16, row-major) and B (16x8, B[k*8+n]) as fp32; C (16x8) in, D out.
const char *kTestKernels = R"CUDA(
extern "C" __global__ void __launch_bounds__(32)
hyp_test_mma(const float *__restrict__ A, const float *__restrict__ B,
             const float *__restrict__ C, float *__restrict__ D, int mode) {
  constexpr int LD = 24; // HypLd<16>: the skeletons' padded stride
  __shared__ __align__(16) hyp_u16 ahi[16 * LD], alo[16 * LD], bhi[8 * LD], blo[8 * LD];
  const int lane = threadIdx.x, g = lane >> 2, t = lane & 3;
  for (int e = lane; e < 256; e += 32) {
    const int i = e / 16, k = e % 16;
    hyp_split_bf16(A[e], &ahi[i * LD + k], &alo[i * LD + k]);
  }
  for (int e = lane; e < 128; e += 32) {
    const int k = e / 8, n = e % 8;
    hyp_split_bf16(B[e], &bhi[n * LD + k], &blo[n * LD + k]);
  }
  __syncthreads();
  float acc[4];
  for (int e = 0; e < 4; ++e) acc[e] = C[(g + 8 * (e >> 1)) * 8 + 2 * t + (e & 1)];
  if (mode == 0) hyp_mma_tile_16x8(acc, ahi, LD, bhi, LD);
  else hyp_mma_split_16x8(acc, ahi, alo, LD, bhi, mode == 2 ? blo : nullptr, LD);
  for (int e = 0; e < 4; ++e) D[(g + 8 * (e >> 1)) * 8 + 2 * t + (e & 1)] = acc[e];
}

// D (32 x 64) = A (32 x 32, row-major) B (32 x 64, B[k*64+n]), 4 warps, bf16 x bf16.
extern "C" __global__ void __launch_bounds__(128)
hyp_test_block_mma(const float *__restrict__ A, const float *__restrict__ B,
                   float *__restrict__ D) {
  constexpr int LD = 40; // HypLd<32>
  __shared__ __align__(16) hyp_u16 as[32 * LD], bs[64 * LD];
  __shared__ float cs[32 * 65];
  const int tid = threadIdx.x;
  for (int e = tid; e < 32 * 32; e += 128) as[(e / 32) * LD + e % 32] = hyp_f32_to_bf16_bits(A[e]);
  for (int e = tid; e < 32 * 64; e += 128) bs[(e % 64) * LD + e / 64] = hyp_f32_to_bf16_bits(B[e]);
  for (int e = tid; e < 32 * 65; e += 128) cs[e] = 0.f;
  __syncthreads();
  float acc[HypWarpTiles<32, 64, 4>::PER_WARP][4];
  hyp_block_acc_move<32, 64, 4, true>(acc, cs, 65);
  hyp_block_mma<32, 64, 32, 4>(acc, as, nullptr, LD, bs, nullptr, LD);
  hyp_block_acc_move<32, 64, 4, false>(acc, cs, 65);
  __syncthreads();
  for (int e = tid; e < 32 * 64; e += 128) D[e] = cs[(e / 64) * 65 + e % 64];
}

// D (16 x 64) = H^T X over 16 rows: hyp_tc_ring_wtx_kstep (dA += dH^T x of the
// bf16 dx ring kernel) with one warp, rank tile 0 of R = 16, X in a ring
// stage (64-half rows, chunks swizzled) read by ldmatrix.trans with permuted
// rows, H (16 rows x 16 ranks, fp32) split in registers.
extern "C" __global__ void __launch_bounds__(32)
hyp_test_da_kstep(const float *__restrict__ H, const float *__restrict__ X, float *__restrict__ D) {
  __shared__ __align__(16) hyp_u16 xs[16 * 64];
  const int lane = threadIdx.x, g = lane >> 2, t = lane & 3;
  for (int e = lane; e < 16 * 64; e += 32) {
    const int m = e / 64, c = e % 64;
    xs[m * 64 + 8 * hyp_tc_ring_chunk(m, c >> 3) + (c & 7)] = hyp_f32_to_bf16_bits(X[e]);
  }
  __syncthreads();
  float dv[2][4], acc[8][4];
  for (int h = 0; h < 2; ++h)
    for (int i = 0; i < 4; ++i) dv[h][i] = H[(4 * t + i) * 16 + g + 8 * h];
  for (int i = 0; i < 8; ++i) acc[i][0] = acc[i][1] = acc[i][2] = acc[i][3] = 0.f;
  hyp_tc_ring_wtx_kstep<8, 16>(acc, dv, H, 16, xs, 0, 0, 0);
  for (int i = 0; i < 8; ++i)
    for (int e = 0; e < 4; ++e) D[(g + 8 * (e >> 1)) * 64 + 8 * i + 2 * t + (e & 1)] = acc[i][e];
}
)CUDA";

const char *kTestMetadata = R"JSON({
  "schema": 1, "compiler": "hyp-kernel-gpu-tests 1",
  "kernels": [
    {"name": "hyp_test_mma",
     "params": [{"name": "A", "kind": "ptr", "elem": "f32", "access": "read"},
                {"name": "B", "kind": "ptr", "elem": "f32", "access": "read"},
                {"name": "C", "kind": "ptr", "elem": "f32", "access": "read"},
                {"name": "D", "kind": "ptr", "elem": "f32", "access": "write"},
                {"name": "mode", "kind": "i32"}],
     "grid": [{"const": 1}, {"const": 1}, {"const": 1}], "block": 32, "tunables": [],
     "dynamic_smem": 0},
    {"name": "hyp_test_block_mma",
     "params": [{"name": "A", "kind": "ptr", "elem": "f32", "access": "read"},
                {"name": "B", "kind": "ptr", "elem": "f32", "access": "read"},
                {"name": "D", "kind": "ptr", "elem": "f32", "access": "write"}],
     "grid": [{"const": 1}, {"const": 1}, {"const": 1}], "block": 128, "tunables": [],
     "dynamic_smem": 0},
    {"name": "hyp_test_da_kstep",
     "params": [{"name": "H", "kind": "ptr", "elem": "f32", "access": "read"},
                {"name": "X", "kind": "ptr", "elem": "f32", "access": "read"},
                {"name": "D", "kind": "ptr", "elem": "f32", "access": "write"}],
     "grid": [{"const": 1}, {"const": 1}, {"const": 1}], "block": 32, "tunables": [],
     "dynamic_smem": 0}
  ],
  "programs": {"forward": ["hyp_test_mma"]},
  "buffers": {
    "A": {"shape": [1024], "elem": "f32"}, "B": {"shape": [2048], "elem": "f32"},
    "C": {"shape": [128], "elem": "f32"}, "D": {"shape": [2048], "elem": "f32"},
    "H": {"shape": [256], "elem": "f32"}, "X": {"shape": [1024], "elem": "f32"}
  }
})JSON";

float roundBf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  u += 0x7fffu + ((u >> 16) & 1u);
  u &= 0xffff0000u;
  std::memcpy(&f, &u, 4);
  return f;
}

#define REQUIRE_GPU()                                                                        \
  do {                                                                                       \
    std::string why_;                                                                        \
    if (!driverAvailable(&why_))                                                             \
      GTEST_SKIP() << why_;                                                                  \
  } while (0)

struct DeviceBuffers {
  std::vector<void *> ptrs;
  ~DeviceBuffers() {
    for (void *p : ptrs) deviceFree(p);
  }
  void *alloc(size_t bytes) {
    void *p = nullptr;
    Status st = deviceAlloc(bytes, &p);
    EXPECT_TRUE(st.ok) << st.message;
    ptrs.push_back(p);
    return p;
  }
};

std::shared_ptr<Program> loadTestProgram() {
  std::shared_ptr<Program> p;
  Status st = loadProgram(librarySource() + kTestKernels, kTestMetadata, &p);
  EXPECT_TRUE(st.ok) << st.message;
  return p;
}

// Runs without a GPU too: the inline PTX and both test kernels must compile
// for sm_90 (NVRTC only).
TEST(MmaHelper, CompilesForSm90) {
  std::string why;
  if (!nvrtcAvailable(&why))
    GTEST_SKIP() << "no NVRTC: " << why;
  auto prog = loadTestProgram();
  ASSERT_TRUE(prog);
  for (const char *k : {"hyp_test_mma", "hyp_test_block_mma", "hyp_test_da_kstep"}) {
    CompileResult r;
    Status st = prog->compileKernel(k, {}, "sm_90", &r);
    EXPECT_TRUE(st.ok) << k << ": " << st.message;
  }
}

class MmaModes : public ::testing::TestWithParam<int> {};

TEST_P(MmaModes, Fragment16x8x16MatchesFloat64) {
  REQUIRE_GPU();
  const int mode = GetParam();
  auto prog = loadTestProgram();
  ASSERT_TRUE(prog);
  std::mt19937 rng(1234 + mode);
  std::normal_distribution<float> normal(0.f, 1.f);
  // Distinct magnitudes per row and column: a swapped index shows up.
  std::vector<float> A(256), B(128), C(128), D(128, NAN);
  for (int i = 0; i < 16; ++i)
    for (int k = 0; k < 16; ++k) A[i * 16 + k] = normal(rng) * (1.f + 0.25f * i);
  for (int k = 0; k < 16; ++k)
    for (int n = 0; n < 8; ++n) B[k * 8 + n] = normal(rng) * (1.f + 0.5f * k);
  for (float &c : C) c = normal(rng);
  DeviceBuffers dev;
  void *dA = dev.alloc(256 * 4), *dB = dev.alloc(128 * 4), *dC = dev.alloc(128 * 4),
       *dD = dev.alloc(128 * 4);
  ASSERT_TRUE(copyToDevice(dA, A.data(), 256 * 4).ok);
  ASSERT_TRUE(copyToDevice(dB, B.data(), 128 * 4).ok);
  ASSERT_TRUE(copyToDevice(dC, C.data(), 128 * 4).ok);
  ASSERT_TRUE(deviceMemset(dD, 0xff, 128 * 4, nullptr).ok); // poison: NaN
  Status st = launchKernel(*prog, "hyp_test_mma",
                           {{"A", ArgValue::pointer(dA)}, {"B", ArgValue::pointer(dB)},
                            {"C", ArgValue::pointer(dC)}, {"D", ArgValue::pointer(dD)},
                            {"mode", ArgValue::int32(mode)}},
                           nullptr);
  ASSERT_TRUE(st.ok) << st.message;
  ASSERT_TRUE(streamSynchronize(nullptr).ok);
  ASSERT_TRUE(copyToHost(D.data(), dD, 128 * 4).ok);
  // Operands as the kernel sees them: bf16-rounded where not split.
  double worst = 0;
  for (int i = 0; i < 16; ++i)
    for (int n = 0; n < 8; ++n) {
      double ref = C[i * 8 + n], mag = std::fabs(C[i * 8 + n]);
      for (int k = 0; k < 16; ++k) {
        double a = mode == 0 ? roundBf16(A[i * 16 + k]) : A[i * 16 + k];
        double b = mode == 2 ? B[k * 8 + n] : roundBf16(B[k * 8 + n]);
        ref += a * b;
        mag += std::fabs(a * b);
      }
      const double err = std::fabs(D[i * 8 + n] - ref) / mag;
      worst = std::max(worst, err);
      // fp32 accumulation (mode 0), plus the dropped lo*lo / lo rounding (~2^-16).
      ASSERT_LT(err, mode == 0 ? 1e-5 : 6e-5)
          << "D(" << i << "," << n << ") = " << D[i * 8 + n] << ", float64 " << ref;
    }
  printf("{\"suite\": \"kernel-gpu\", \"event\": \"mma_16x8x16\", \"mode\": %d, "
         "\"max_rel_err\": %.3g}\n", mode, worst);
}

INSTANTIATE_TEST_SUITE_P(Split, MmaModes, ::testing::Values(0, 1, 2));

TEST(BlockMma, WarpTilesCover32x64MatchesFloat64) {
  REQUIRE_GPU();
  auto prog = loadTestProgram();
  ASSERT_TRUE(prog);
  std::mt19937 rng(77);
  std::normal_distribution<float> normal(0.f, 1.f);
  std::vector<float> A(32 * 32), B(32 * 64), D(32 * 64, NAN);
  for (float &a : A) a = roundBf16(normal(rng));
  for (float &b : B) b = roundBf16(normal(rng));
  DeviceBuffers dev;
  void *dA = dev.alloc(A.size() * 4), *dB = dev.alloc(B.size() * 4), *dD = dev.alloc(D.size() * 4);
  ASSERT_TRUE(copyToDevice(dA, A.data(), A.size() * 4).ok);
  ASSERT_TRUE(copyToDevice(dB, B.data(), B.size() * 4).ok);
  ASSERT_TRUE(deviceMemset(dD, 0xff, D.size() * 4, nullptr).ok);
  Status st = launchKernel(*prog, "hyp_test_block_mma",
                           {{"A", ArgValue::pointer(dA)}, {"B", ArgValue::pointer(dB)},
                            {"D", ArgValue::pointer(dD)}},
                           nullptr);
  ASSERT_TRUE(st.ok) << st.message;
  ASSERT_TRUE(streamSynchronize(nullptr).ok);
  ASSERT_TRUE(copyToHost(D.data(), dD, D.size() * 4).ok);
  for (int i = 0; i < 32; ++i)
    for (int n = 0; n < 64; ++n) {
      double ref = 0, mag = 0;
      for (int k = 0; k < 32; ++k) {
        ref += double(A[i * 32 + k]) * B[k * 64 + n];
        mag += std::fabs(double(A[i * 32 + k]) * B[k * 64 + n]);
      }
      ASSERT_LT(std::fabs(D[i * 64 + n] - ref), 1e-5 * mag + 1e-30)
          << "D(" << i << "," << n << ") = " << D[i * 64 + n] << ", float64 " << ref;
    }
}

// The ldmatrix.trans row permutation and the ring swizzle of the dx ring
// kernel's dA product (the CPU emulation sums without either).
TEST(DaKstep, LdmatrixTransRowsMatchFloat64) {
  REQUIRE_GPU();
  auto prog = loadTestProgram();
  ASSERT_TRUE(prog);
  std::mt19937 rng(4242);
  std::normal_distribution<float> normal(0.f, 1.f);
  // Row- and column-dependent magnitudes: a permuted row or column shows up.
  std::vector<float> H(16 * 16), X(16 * 64), D(16 * 64, NAN);
  for (int m = 0; m < 16; ++m)
    for (int j = 0; j < 16; ++j) H[m * 16 + j] = normal(rng) * (1.f + 0.3f * m) * (1.f + 0.1f * j);
  for (int m = 0; m < 16; ++m)
    for (int c = 0; c < 64; ++c) X[m * 64 + c] = roundBf16(normal(rng) * (1.f + 0.05f * c));
  DeviceBuffers dev;
  void *dH = dev.alloc(H.size() * 4), *dX = dev.alloc(X.size() * 4), *dD = dev.alloc(D.size() * 4);
  ASSERT_TRUE(copyToDevice(dH, H.data(), H.size() * 4).ok);
  ASSERT_TRUE(copyToDevice(dX, X.data(), X.size() * 4).ok);
  ASSERT_TRUE(deviceMemset(dD, 0xff, D.size() * 4, nullptr).ok); // poison: NaN
  Status st = launchKernel(*prog, "hyp_test_da_kstep",
                           {{"H", ArgValue::pointer(dH)}, {"X", ArgValue::pointer(dX)},
                            {"D", ArgValue::pointer(dD)}},
                           nullptr);
  ASSERT_TRUE(st.ok) << st.message;
  ASSERT_TRUE(streamSynchronize(nullptr).ok);
  ASSERT_TRUE(copyToHost(D.data(), dD, D.size() * 4).ok);
  for (int j = 0; j < 16; ++j)
    for (int c = 0; c < 64; ++c) {
      double ref = 0, mag = 0;
      for (int m = 0; m < 16; ++m) {
        ref += double(H[m * 16 + j]) * X[m * 64 + c];
        mag += std::fabs(double(H[m * 16 + j]) * X[m * 64 + c]);
      }
      // H split hi + lo (~2^-16 relative) times exact bf16 X, fp32 sums.
      ASSERT_LT(std::fabs(D[j * 64 + c] - ref), 6e-5 * mag)
          << "D(" << j << "," << c << ") = " << D[j * 64 + c] << ", float64 " << ref;
    }
}

} // namespace
