//===- KernelEmulationTests.cpp - emitted kernels vs float64, on the CPU --===//
//
// For each case: libhypc emits the CUDA program, the host compiler builds the
// same text through CudaEmulation.h, the forward and backward programs run on
// fresh random inputs (outputs poisoned with NaN first), and every result (y,
// w, dx, dA, dB, dk, ds) is compared with a float64 evaluation of HYPLORA.md
// section 3 (gradients by central differences): relative Frobenius error
// below 3e-4 for f32 activations and 2e-2 for bf16/f16 (HYPLORA.md s. 5);
// dk and ds against the sum of the per-row terms' magnitudes.
//
//===----------------------------------------------------------------------===//
#include "AdapterReference.h"
#include "EmulatedProgram.h"
#include "hypc.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <cmath>
#include <random>
#include <set>

using namespace hyp::test;

namespace {

struct EmuCase {
  std::string name, variant, convention, dtype;
  int K, N, r;
  int64_t M;
  std::map<std::string, int64_t> config; // tunables (others at their defaults)
  bool unaligned = false;                  // shift x, dY, dx, y by one element
  std::string emit = "";                   // hypc options ("" = library default)
};

void PrintTo(const EmuCase &c, std::ostream *os) { *os << c.name; }

class KernelEmulation : public ::testing::TestWithParam<EmuCase> {};

/// One emulated build per case. The host compiles dominate the suite's time,
/// so the first test starts all of them (at most hardware_concurrency at once)
/// and each test waits for its own.
struct BuiltCase {
  std::shared_ptr<EmulatedProgram> prog;
  std::string error;
  bool skip = false;
};
std::vector<EmuCase> cases();

std::shared_future<BuiltCase> buildFor(const EmuCase &tc) {
  static std::mutex mutex;
  static std::map<std::string, std::shared_future<BuiltCase>> builds;
  static std::mutex slotMutex;
  static std::condition_variable slotFree;
  static unsigned running = 0;
  std::lock_guard<std::mutex> lock(mutex);
  if (builds.empty()) {
    // Only the cases this process will run (lit runs one gtest case per process).
    std::set<std::string> selected;
    if (const ::testing::TestSuite *suite = ::testing::UnitTest::GetInstance()->current_test_suite())
      for (int i = 0; i < suite->total_test_count(); ++i)
        if (suite->GetTestInfo(i)->should_run()) {
          std::string n = suite->GetTestInfo(i)->name();
          selected.insert(n.substr(n.find('/') + 1));
        }
    for (const EmuCase &c : cases()) {
      if (c.name != tc.name && !selected.count(c.name))
        continue;
      builds[c.name] = std::async(std::launch::async, [c] {
        {
          std::unique_lock<std::mutex> slot(slotMutex);
          slotFree.wait(slot, [] { return running < std::max(2u, std::thread::hardware_concurrency()); });
          ++running;
        }
        BuiltCase b;
        hypc_adapter_desc desc{c.variant.c_str(), c.convention.c_str(), c.dtype.c_str(),
                               c.K, c.N, c.r, 12.0};
        hypc_output *out = nullptr;
        if (hypc_compile_adapter(&desc, c.emit.empty() ? nullptr : c.emit.c_str(), &out) != 0) {
          b.error = std::string("hypc_compile_adapter: ") + hypc_output_error(out);
        } else {
          b.prog = std::make_shared<EmulatedProgram>();
          b.error = b.prog->build(hypc_output_cuda_source(out), hypc_output_metadata_json(out),
                                  c.config, &b.skip);
        }
        hypc_output_free(out);
        {
          std::lock_guard<std::mutex> slot(slotMutex);
          --running;
        }
        slotFree.notify_one();
        return b;
      }).share();
    }
  }
  return builds.at(tc.name);
}

TEST_P(KernelEmulation, MatchesFloat64Reference) {
  const EmuCase &tc = GetParam();
  BuiltCase built = buildFor(tc).get();
  if (built.skip)
    GTEST_SKIP() << built.error;
  ASSERT_EQ(built.error, "");
  EmulatedProgram &prog = *built.prog;

  const int64_t M = tc.M;
  const bool lowp = tc.dtype != "f32";
  const double tol = lowp ? 2e-2 : 3e-4;
  std::vector<std::string> shifted;
  if (tc.unaligned)
    shifted = {"x", "dY", "dx", "y"};
  auto bufs = prog.allocateBuffers(M, shifted);

  // Fresh inputs every run; a failure names its seed, and HYP_TEST_SEED=<seed>
  // replays it (as in the pytest suite).
  uint64_t seed = (uint64_t(std::random_device{}()) << 32) ^ std::random_device{}();
  if (const char *e = std::getenv("HYP_TEST_SEED"); e && *e)
    seed = std::strtoull(e, nullptr, 10);
  SCOPED_TRACE("inputs from seed " + std::to_string(seed) + " (replay: HYP_TEST_SEED=" +
               std::to_string(seed) + ")");
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::uniform_real_distribution<double> uni(0.0, 1.0);
  AdapterRef ref;
  ref.variant = tc.variant;
  ref.convention = tc.convention;
  ref.K = tc.K;
  ref.N = tc.N;
  ref.r = tc.r;
  ref.scaling = 4.0 * (0.5 + uni(rng));
  ref.A.resize(tc.r * tc.K);
  ref.B.resize(tc.N * tc.r);
  for (double &a : ref.A) a = float(normal(rng) / std::sqrt(double(tc.K)));
  for (double &b : ref.B) b = float(0.7 * normal(rng));
  ref.k = float(uni(rng) * 2.0 - 0.5);
  ref.s = float(std::sqrt(ref.curvature(ref.k)) * (0.3 + uni(rng)));
  for (int i = 0; i < tc.r * tc.K; ++i) bufs["A"].set(i, ref.A[i]);
  for (int i = 0; i < tc.N * tc.r; ++i) bufs["B"].set(i, ref.B[i]);
  if (bufs.count("k")) bufs["k"].set(0, ref.k);
  if (bufs.count("s")) bufs["s"].set(0, ref.s);
  // Rows of very different norms (both reference branches, the sinh clamp),
  // and, when M > 2, one all-zero row.
  for (int64_t m = 0; m < M; ++m) {
    double scale = std::pow(10.0, -2.0 + 3.0 * uni(rng));
    for (int i = 0; i < tc.K; ++i)
      bufs["x"].set(m * tc.K + i, (M > 2 && m == 1) ? 0.0 : scale * normal(rng));
  }
  std::vector<double> x = bufs["x"].toDoubles(); // as rounded to the activation type

  // float64 forward.
  std::vector<double> yAdapter(M * tc.N), wRef(M * tc.r);
  int dead = 0;
  for (int64_t m = 0; m < M; ++m) {
    std::vector<double> o, w(tc.r);
    bool dz = false;
    ref.row(&x[m * tc.K], ref.A, ref.B, ref.k, ref.s, o, &w, &dz);
    dead += dz;
    for (int n = 0; n < tc.N; ++n) yAdapter[m * tc.N + n] = ref.scaling * o[n];
    for (int j = 0; j < tc.r; ++j) wRef[m * tc.r + j] = w[j];
  }
  double rms = 0;
  for (double v : yAdapter) rms += v * v;
  rms = std::sqrt(rms / std::max<size_t>(1, yAdapter.size())) + 1e-3;
  std::vector<double> y0(M * tc.N), yWant(M * tc.N);
  for (int64_t i = 0; i < M * tc.N; ++i) {
    bufs["y"].set(i, rms * normal(rng));
    y0[i] = bufs["y"].get(i);
    yWant[i] = y0[i] + yAdapter[i];
  }
  bufs["w"].fill(NAN);
  bufs["stats"].fill(NAN);
  for (const std::string &b : prog.accumulateBuffers("forward")) bufs[b].fill(0);

  ASSERT_EQ(prog.run("forward", bufs, M, float(ref.scaling)), "");
  double eY = relError(bufs["y"].toDoubles(), yWant);
  double eW = relError(bufs["w"].toDoubles(), wRef);
  EXPECT_LT(eY, tol) << "y";
  EXPECT_LT(eW, lowp ? tol : 1e-3) << "w";
  for (double v : bufs["stats"].toDoubles()) ASSERT_TRUE(std::isfinite(v)) << "stats";

  // programs.forward_store writes the adapter term alone (the caller adds
  // W x + b afterwards): y poisoned first, so an element it skips or reads
  // shows up as NaN. It must leave w and stats as the forward did.
  const std::vector<double> wForward = bufs["w"].toDoubles();
  bufs["y"].fill(NAN);
  bufs["w"].fill(NAN);
  bufs["stats"].fill(NAN);
  for (const std::string &b : prog.accumulateBuffers("forward_store")) bufs[b].fill(0);
  ASSERT_EQ(prog.run("forward_store", bufs, M, float(ref.scaling)), "");
  EXPECT_LT(relError(bufs["y"].toDoubles(), yAdapter), tol) << "y of forward_store";
  EXPECT_LT(relError(bufs["w"].toDoubles(), wForward), 1e-6) << "w of forward_store";
  for (double v : bufs["stats"].toDoubles()) ASSERT_TRUE(std::isfinite(v)) << "stats";

  // float64 backward by central differences of L = sum dY . y_adapter.
  std::vector<double> dyv(M * tc.N);
  for (int64_t i = 0; i < M * tc.N; ++i) {
    bufs["dY"].set(i, normal(rng));
    dyv[i] = bufs["dY"].get(i);
  }
  std::vector<double> A = ref.A, B = ref.B;
  double kk = ref.k, ss = ref.s;
  std::vector<double> gA(A.size(), 0), gB(B.size(), 0), gx(M * tc.K, 0);
  // dk and ds are sums over rows of c' gs + c gs' (times P.h), terms that cancel
  // (exactly, in the reference dead zone): the tolerance scales with their
  // magnitudes, not with the result (HYPLORA.md section 5).
  double gk = 0, gs = 0, gkAbs = 0, gsAbs = 0;
  const bool hyperbolicNorm = tc.variant == "hyplora" && tc.convention == "reference";
  for (int64_t m = 0; m < M; ++m) {
    double *xr = &x[m * tc.K];
    const double *dy = &dyv[m * tc.N];
    auto loss = [&] { return ref.rowLoss(xr, dy, A, B, kk, ss); };
    for (size_t i = 0; i < A.size(); ++i) gA[i] += centralDiff(A[i], loss);
    for (size_t i = 0; i < B.size(); ++i) gB[i] += centralDiff(B[i], loss);
    for (int i = 0; i < tc.K; ++i) gx[m * tc.K + i] = centralDiff(xr[i], loss);
    gk += centralDiff(kk, loss);
    gs += centralDiff(ss, loss);
    // |P.h| (|dc| |gs| + |c| |dgs|) for k and s.
    double ph = 0;
    for (int n = 0; n < tc.N; ++n)
      for (int j = 0; j < tc.r; ++j) {
        double hj = 0;
        for (int i = 0; i < tc.K; ++i) hj += ref.A[j * tc.K + i] * xr[i];
        ph += dy[n] * ref.B[n * tc.r + j] * hj;
      }
    double c0, g0;
    ref.rowFactors(xr, kk, ss, c0, g0);
    for (int which = 0; which < 2; ++which) {
      double &p = which == 0 ? kk : ss;
      double dc = centralDiff(p, [&] { double c, g; ref.rowFactors(xr, kk, ss, c, g); return c; });
      double dg = centralDiff(p, [&] { double c, g; ref.rowFactors(xr, kk, ss, c, g); return g; });
      (which == 0 ? gkAbs : gsAbs) += std::fabs(ph) * (std::fabs(dc * g0) + std::fabs(c0 * dg));
    }
  }
  // The all-zero row is a non-differentiable point of the hyperbolic map
  // (u = 0: out = S ac u/|u| keeps only u's direction): no gradient is defined
  // there, so its dx is only required to be finite.
  std::vector<bool> skipRow(M, false);
  if (hyperbolicNorm && M > 2)
    skipRow[1] = true;
  // dx is written, not updated (the frontend adds dY W with cuBLAS): poison
  // it, so an element the kernels skip or read shows up as NaN.
  const std::vector<double> &dxWant = gx;
  bufs["dx"].fill(NAN);
  for (const char *b : {"dH", "beta"})
    if (bufs.count(b)) bufs[b].fill(NAN);
  for (const std::string &b : prog.accumulateBuffers("backward")) bufs[b].fill(0);
  ASSERT_EQ(prog.run("backward", bufs, M, float(ref.scaling)), "");
  // Split-K arrival tickets are left re-armed (zero) for the next launch: the
  // autotuner times launches back to back without zeroing between them.
  for (const auto &[name, buf] : bufs)
    if (name.size() > 8 && name.compare(name.size() - 8, 8, "_tickets") == 0)
      for (int64_t i = 0; i < buf.count; ++i)
        ASSERT_EQ(buf.get(i), 0.0) << name << "[" << i << "] after the programs";

  if (std::getenv("HYP_EMU_DEBUG"))
    for (int64_t m = 0; m < M; ++m) {
      std::printf("row %lld beta %g:", (long long)m, bufs.count("beta") ? bufs["beta"].get(m) : 0.0);
      for (int i = 0; i < std::min(tc.K, 4); ++i)
        std::printf(" (%g vs %g)", bufs["dx"].get(m * tc.K + i), gx[m * tc.K + i]);
      std::printf("\n");
    }
  double eA = relError(bufs["dA"].toDoubles(), gA);
  double eB = relError(bufs["dB"].toDoubles(), gB);
  std::vector<double> dxGot = bufs["dx"].toDoubles();
  for (int64_t m = 0; m < M; ++m)
    if (skipRow[m])
      for (int i = 0; i < tc.K; ++i) {
        ASSERT_TRUE(std::isfinite(dxGot[m * tc.K + i])) << "dx of the zero row";
        dxGot[m * tc.K + i] = dxWant[m * tc.K + i];
      }
  double eX = relError(dxGot, dxWant);
  EXPECT_LT(eA, tol) << "dA";
  EXPECT_LT(eB, tol) << "dB";
  EXPECT_LT(eX, tol) << "dx";
  double eK = 0, eS = 0;
  if (bufs.count("dk")) {
    eK = std::fabs(bufs["dk"].get(0) - gk) / (gkAbs + 1e-12);
    EXPECT_LT(eK, tol) << "dk kernel " << bufs["dk"].get(0) << " ref " << gk;
  }
  if (bufs.count("ds")) {
    eS = std::fabs(bufs["ds"].get(0) - gs) / (gsAbs + 1e-12);
    EXPECT_LT(eS, tol) << "ds kernel " << bufs["ds"].get(0) << " ref " << gs;
  }
  std::printf("[emulation] %-28s M=%-3lld rel.err y %.1e w %.1e dx %.1e dA %.1e dB %.1e "
              "dk %.1e ds %.1e (dead-zone rows %d/%lld) seed %llu\n",
              tc.name.c_str(), (long long)M, eY, eW, eX, eA, eB, eK, eS, dead, (long long)M,
              (unsigned long long)seed);
}

std::vector<EmuCase> cases() {  // NOLINT: declared above
  std::map<std::string, int64_t> small = {
      {"FWD_DOWN_BLOCK_M", 8},  {"FWD_DOWN_THREADS", 64}, {"FWD_DOWN_VEC", 2},
      {"BWD_DY_BLOCK_M", 8},    {"BWD_DY_THREADS", 64},   {"BWD_DY_VEC", 2},
      {"FWD_UP_THREADS", 64},   {"FWD_UP_ROWS", 64},      {"BWD_DB_THREADS", 64},
      {"BWD_DB_ROWS", 64},      {"BWD_DX_THREADS", 64},   {"BWD_DX_ROWS", 64}};
  // 128 threads for the SIMT case below that takes it (the tensor-core
  // row-reduce skeletons list only 256, hyp_bwd_db and hyp_bwd_dx 128 up to r = 64).
  std::map<std::string, int64_t> smallTc = small;
  for (const char *k : {"FWD_DOWN_THREADS", "BWD_DY_THREADS", "FWD_UP_THREADS",
                        "BWD_DB_THREADS", "BWD_DX_THREADS"})
    smallTc[k] = 128;
  // 8 warps; BWD_DY_BLOCK_M 8 with r <= 16 has one MMA tile: k split over all warps.
  // hyp_fwd_up: 128 threads is its only value for r <= 64 (a 64-row step).
  std::map<std::string, int64_t> wideTc = {
      {"FWD_DOWN_BLOCK_M", 32}, {"FWD_DOWN_THREADS", 256}, {"BWD_DY_BLOCK_M", 8},
      {"BWD_DY_THREADS", 256},  {"FWD_UP_THREADS", 128},   {"FWD_UP_ROWS", 64},
      {"BWD_DB_THREADS", 128},  {"BWD_DB_ROWS", 64},       {"BWD_DX_THREADS", 128},
      {"BWD_DX_ROWS", 64}};
  // hyp_fwd_up's y ring wrapping around: at r = 128 a warp tile is 32 columns
  // wide, so 128 threads step 32 rows; a 512-row block of M = 100 runs 4 steps
  // through the 3 stages.
  std::map<std::string, int64_t> ringTcUp = {{"FWD_UP_THREADS", 128}, {"FWD_UP_ROWS", 512}};
  // The rings of hyp_bwd_dx (x and dx, 3 stages) and hyp_bwd_db (dY, 4
  // stages) wrapping around: 32-row steps, 5 of them in a 512-row block of
  // M = 160, over 3 column blocks with a tail (K = 136, N = 136).
  // hyp_bwd_dy_pass's ring (4 stages) wraps the same way; hyp_bwd_rows in
  // 16-row blocks.
  std::map<std::string, int64_t> ringTcDx = {{"BWD_DX_ROWS", 512},
                                             {"BWD_DB_ROWS", 512},
                                             {"BWD_DY_PASS_ROWS", 512},
                                             {"BWD_ROWS_BLOCK_M", 16}};
  // hyp_bwd_dy_pass in 64-row chunks: M = 70 is a chunk of two steps and one
  // of 6 rows; hyp_bwd_rows in a 64-row block and a tail.
  std::map<std::string, int64_t> dyPassChunks = {{"BWD_DY_PASS_ROWS", 64},
                                                 {"BWD_ROWS_BLOCK_M", 64}};
  std::map<std::string, int64_t> splitTc = {{"FWD_DOWN_BLOCK_M", 16}, {"BWD_DY_BLOCK_M", 16}};
  std::map<std::string, int64_t> tunedSplit = {{"FWD_DOWN_SPLIT", 2}, {"FWD_DOWN_BLOCK_M", 16}};
  // 64-row blocks of the row-reduces (dynamic shared memory), hyp_fwd_down
  // with 512 threads (16 warps: 8 k-slices at r = 16).
  std::map<std::string, int64_t> wideRowsTc = {{"FWD_DOWN_BLOCK_M", 64}, {"FWD_DOWN_THREADS", 512},
                                               {"BWD_DY_BLOCK_M", 64}};
  std::map<std::string, int64_t> large = {
      {"FWD_DOWN_BLOCK_M", 64}, {"FWD_DOWN_THREADS", 256}, {"FWD_DOWN_VEC", 4},
      {"BWD_DY_BLOCK_M", 32},   {"BWD_DY_THREADS", 256},   {"BWD_DY_VEC", 1},
      {"FWD_UP_ROWS", 512},     {"BWD_DB_ROWS", 128},      {"BWD_DX_ROWS", 512}};
  return {
      {"hyplora_reference_f32", "hyplora", "reference", "f32", 13, 7, 4, 5, {}},
      {"hyplora_lorentz_f32", "hyplora", "lorentz", "f32", 13, 7, 4, 37, {}},
      {"simplified_f32", "hyplora_simplified", "reference", "f32", 13, 7, 4, 5, {}},
      {"lora_f32", "lora", "reference", "f32", 13, 7, 4, 5, {}},
      {"hyplora_reference_bf16_vec", "hyplora", "reference", "bf16", 64, 40, 8, 37, {}},
      {"hyplora_reference_f16_M1", "hyplora", "reference", "f16", 64, 40, 8, 1, {}},
      {"hyplora_lorentz_bf16_unaligned_small_cfg", "hyplora", "lorentz", "bf16", 64, 40, 8, 70,
       smallTc, true},
      {"hyplora_reference_f32_large_cfg", "hyplora", "reference", "f32", 136, 72, 16, 70, large},
      {"simplified_bf16", "hyplora_simplified", "reference", "bf16", 64, 40, 8, 37, {}},
      {"lora_f16", "lora", "reference", "f16", 13, 7, 4, 3, {}},
      // Tensor-core skeletons (tensor-cores=1; bf16, r % 8 == 0;
      // HypTensorCore.cuh): r = 32 with
      // K, N below one tile, K not a multiple of 8 (scalar loads), several
      // column tiles and row chunks (tails in both), r = 64, r = 128, M = 1,
      // r = 24 (rank padded to 16 in the MMA), unaligned activations, K not a
      // multiple of 4 (the fp32 weight tiles fall back to scalar loads), and
      // r = 128 with N not a multiple of hyp_fwd_up's 64-column block.
      {"tc_hyplora_reference_bf16_r32", "hyplora", "reference", "bf16", 48, 24, 32, 37, {}, false,
       "tensor-cores=1"},
      {"tc_hyplora_lorentz_bf16_r8_k20", "hyplora", "lorentz", "bf16", 20, 24, 8, 19, wideTc,
       false, "tensor-cores=1"},
      {"tc_hyplora_reference_bf16_r16_tiles", "hyplora", "reference", "bf16", 136, 136, 16, 70,
       wideTc, false, "tensor-cores=1"},
      {"tc_simplified_bf16_r64", "hyplora_simplified", "reference", "bf16", 40, 72, 64, 21, {},
       false, "tensor-cores=1"},
      {"tc_lora_bf16_M1", "lora", "reference", "bf16", 48, 24, 16, 1, {}, false, "tensor-cores=1"},
      {"tc_hyplora_reference_bf16_r128", "hyplora", "reference", "bf16", 16, 24, 128, 9, {},
       false, "tensor-cores=1"},
      {"tc_hyplora_lorentz_bf16_r24_unaligned", "hyplora", "lorentz", "bf16", 56, 24, 24, 33,
       {}, true, "tensor-cores=1"},
      {"tc_hyplora_reference_bf16_k22_unaligned", "hyplora", "reference", "bf16", 22, 24, 16, 29,
       wideTc, true, "tensor-cores=1"},
      {"tc_lora_bf16_r128_n72_ring", "lora", "reference", "bf16", 16, 72, 128, 100, ringTcUp,
       false, "tensor-cores=1"},
      {"tc_hyplora_lorentz_bf16_r32_k136_n136_rings", "hyplora", "lorentz", "bf16", 136, 136, 32,
       160, ringTcDx, false, "tensor-cores=1"},
      {"tc_hyplora_lorentz_bf16_r32_k136_n136_rings_two_pass", "hyplora", "lorentz", "bf16", 136,
       136, 32, 160, ringTcDx, false, "tensor-cores=1 dy-pass=0"},
      // The one pass over dY (HypTensorCoreDyPass.cuh) across 256-column
      // blocks: N = 600 is two whole blocks and one of 88 columns (two dead
      // 64-column ring tiles, its second column half dead); then N = 300, not
      // a multiple of 8 (plain loads of dY), unaligned, LoRA (no hyp_bwd_db_gram).
      {"tc_hyplora_lorentz_bf16_r32_n600_dy_pass", "hyplora", "lorentz", "bf16", 40, 600, 32, 70,
       dyPassChunks, false, "tensor-cores=1"},
      {"tc_lora_bf16_r16_n300_dy_pass_unaligned", "lora", "reference", "bf16", 24, 300, 16, 33,
       {}, true, "tensor-cores=1"},
      // Whole chunks (K = 128, N = 192: multiples of the row-reduces' 64-column
      // chunk), where each copy's liveness is its row's alone (HypTcRowCopies
      // WHOLE_CHUNKS), and dead rows past M = 70 in the last row block.
      {"tc_hyplora_reference_bf16_r32_k128_n192_whole", "hyplora", "reference", "bf16", 128, 192,
       32, 70, {}, false, "tensor-cores=1"},
      // Split-K row-reduces (AdapterProgram.cpp rowSplit) with small slices:
      // K = 200 in 3 splits of 2, 2 and 0 chunks of 64 columns (an empty one
      // still takes its ticket), a 16-row block's tail at M = 70; then
      // N = 200 (hyp_bwd_dy) in 4 splits of one chunk (the last 8 columns
      // wide), r = 32, 32-row blocks. dy-pass=0 wherever hyp_bwd_dy or
      // hyp_bwd_db is the subject: at r <= 32 the default backward reads dY
      // once (hyp_bwd_dy_pass) and runs neither; r > 32 and HYP_DY_PASS=0 do.
      {"tc_hyplora_lorentz_bf16_r16_k200_split", "hyplora", "lorentz", "bf16", 200, 24, 16, 70,
       splitTc, false, "tensor-cores=1 row-split-cols=64"},
      {"tc_hyplora_reference_bf16_r32_n200_split", "hyplora", "reference", "bf16", 40, 200, 32,
       37, {}, false, "tensor-cores=1 row-split-cols=48 dy-pass=0"},
      // The tuned split (the default): K = 2048 gives hyp_fwd_down a SPLIT
      // tunable {1, 2} and a grid.y of its value; the config picks 2. (Small
      // M, N and r: K = N = 2080, r = 16, M = 37 took 395 s to emulate.)
      {"tc_hyplora_reference_bf16_r8_tuned_split", "hyplora", "reference", "bf16", 2048, 16,
       8, 5, tunedSplit, false, "tensor-cores=1"},
      // 128-column chunks (where the 3-stage ring fits 113 KiB): K = 600 and
      // N = 584 are 5 of them (the last 88 / 72 wide), more than the ring's
      // 3 stages, so it wraps; M = 70 is a 64-row block and a tail. Then a
      // fixed split into 4 slices of those 5 chunks: 2, 2, 1 and an empty one.
      {"tc_hyplora_reference_bf16_r16_wide_rows", "hyplora", "reference", "bf16", 600, 584, 16,
       70, wideRowsTc, false, "tensor-cores=1 dy-pass=0"},
      {"tc_hyplora_lorentz_bf16_r16_wide_rows_split", "hyplora", "lorentz", "bf16", 600, 584,
       16, 21, {}, false, "tensor-cores=1 row-split-cols=128 dy-pass=0"},
      // N >= 2048 at r <= 32: hyp_bwd_db's w rows ride its ring (HypTcDbRing
      // W_RING); M = 70 is three 32-row steps with a tail.
      {"tc_hyplora_reference_bf16_r8_n2048_w_ring", "hyplora", "reference", "bf16", 16, 2048, 8,
       70, {}, false, "tensor-cores=1 dy-pass=0"},
      // The direct path (HYPLORA.md formulas, no pipeline) must agree too.
      {"direct_hyplora_reference_bf16", "hyplora", "reference", "bf16", 64, 40, 8, 37, {}, false,
       "emit=direct"},
      {"direct_hyplora_lorentz_f32", "hyplora", "lorentz", "f32", 13, 7, 4, 37, {}, false,
       "emit=direct"},
      {"direct_simplified_f16", "hyplora_simplified", "reference", "f16", 13, 7, 4, 5, {}, false,
       "emit=direct"},
  };
}

INSTANTIATE_TEST_SUITE_P(Direct, KernelEmulation, ::testing::ValuesIn(cases()),
                         [](const auto &info) { return info.param.name; });

// The tensor-core row-reduces lay their ring out in dynamic shared memory and
// trap when a launch gives them less than that layout (a metadata file whose
// "dynamic_smem" disagrees with the source): never a silent overrun.
TEST(KernelEmulationDeath, RowReduceTrapsOnTooLittleSharedMemory) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  hypc_adapter_desc desc{"hyplora", "reference", "bf16", 48, 24, 32, 12.0};
  hypc_output *out = nullptr;
  ASSERT_EQ(hypc_compile_adapter(&desc, "tensor-cores=1", &out), 0) << hypc_output_error(out);
  llvm::Expected<llvm::json::Value> meta = llvm::json::parse(hypc_output_metadata_json(out));
  ASSERT_TRUE(bool(meta));
  for (llvm::json::Value &k : *meta->getAsObject()->getArray("kernels"))
    if (*k.getAsObject()->getString("name") == "hyp_fwd_down")
      (*k.getAsObject())["dynamic_smem"] = 1024;
  std::string json;
  llvm::raw_string_ostream(json) << *meta;
  EmulatedProgram prog;
  bool skip = false;
  std::string error = prog.build(hypc_output_cuda_source(out), json, {}, &skip);
  hypc_output_free(out);
  if (skip)
    GTEST_SKIP() << error;
  ASSERT_EQ(error, "");
  std::map<std::string, HostBuffer> buffers = prog.allocateBuffers(5, {});
  for (auto &[name, buffer] : buffers)
    buffer.fill(0.5);
  EXPECT_DEATH(prog.run("forward", buffers, 5, 2.0f), "kernel trapped \\(dynamic shared memory 1024 bytes\\)");
}

} // namespace
