//===- GpuTests.cpp - compile, cache, tune, launch, check, reuse (GPU) ----===//
//
// Runs on the GPU machine (scripts/gpu_runtime_tests.sh); every test skips
// with "no CUDA driver: ..." elsewhere. The main test compiles the runtime's
// own test kernels (TestKernels.h), autotunes them on the real buffers,
// checks the results against a float64 host computation, then starts a
// second process on the same cache directory that must reuse both the cubins
// and the tuning choices. Timings go to stdout as JSON lines
// ({"suite": "runtime-gpu", "event": ...}) for the lead to commit.
//
// Tool mode for real compiler output:
//   RuntimeGpuTests --source f.cu --metadata f.json [--dims M=64,K=576,N=192,r=32]
//                   [--entry forward] [--args scaling=4.0]
// compiles every kernel (cold, then warm from the disk cache), and with
// --dims allocates every metadata buffer (random data), runs the entries
// (autotuning), and reports the choices, the times and non-finite outputs.
//
//===----------------------------------------------------------------------===//
#include "TestKernels.h"
#include "TestUtil.h"
#include "hyp/Runtime/DeviceMemory.h"
#include "hyp/Runtime/KernelCache.h"
#include "hyp/Runtime/Runtime.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <random>
#include <dlfcn.h>
#include <spawn.h>
#include <sys/wait.h>

extern char **environ;

using namespace hyp::rt;
using namespace hyp::rt::hyptest;

namespace {
using Clock = std::chrono::steady_clock;
double msSince(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

uint16_t toBf16(float f) {
  uint32_t b;
  memcpy(&b, &f, 4);
  if ((b & 0x7fffffffu) > 0x7f800000u)
    return 0x7fc0;
  b += 0x7fffu + ((b >> 16) & 1u); // round to nearest even
  return uint16_t(b >> 16);
}
float fromBf16(uint16_t h) {
  uint32_t b = uint32_t(h) << 16;
  float f;
  memcpy(&f, &b, 4);
  return f;
}
uint16_t toF16(float f) {
  // Enough for test data in [-2, 2]: normal numbers, round to nearest.
  uint32_t b;
  memcpy(&b, &f, 4);
  uint32_t sign = (b >> 16) & 0x8000u;
  int exp = int((b >> 23) & 0xff) - 127 + 15;
  uint32_t mant = b & 0x7fffffu;
  if (exp <= 0)
    return uint16_t(sign);
  if (exp >= 31)
    return uint16_t(sign | 0x7c00u);
  uint32_t h = sign | (uint32_t(exp) << 10) | (mant >> 13);
  if (mant & 0x1000u)
    h += 1;
  return uint16_t(h);
}

void jsonLine(const std::string &body) {
  printf("{\"suite\": \"runtime-gpu\", %s}\n", body.c_str());
  fflush(stdout);
}
std::string num(double v) {
  if (!std::isfinite(v))
    return "null";
  char buf[64];
  snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

// Host data of one run of the test program, and its device copies.
struct TestRun {
  int64_t M = 0, K = 0;
  float alpha = 0.75f;
  std::vector<uint16_t> x, y0;
  std::vector<float> s;
  void *dx = nullptr, *ds = nullptr, *dy = nullptr, *dtotal = nullptr, *dnrm = nullptr;

  TestRun(int64_t m, int64_t k, unsigned seed) : M(m), K(k) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> ux(-1.f, 3.f), us(0.5f, 1.5f), uy(-1.f, 1.f);
    x.resize(size_t(M * K));
    y0.resize(size_t(M * K));
    s.resize(size_t(M));
    for (auto &v : x) v = toBf16(ux(rng));
    for (auto &v : y0) v = toBf16(uy(rng));
    for (auto &v : s) v = us(rng);
  }
  ~TestRun() {
    for (void *p : {dx, ds, dy, dtotal, dnrm})
      if (p)
        deviceFree(p);
  }
  Status upload(void *stream) {
    size_t n = size_t(std::max<int64_t>(M * K, 1)), m = size_t(std::max<int64_t>(M, 1));
    if (!dx) {
      HYP_RT_TRY(deviceAlloc(n * 2, &dx));
      HYP_RT_TRY(deviceAlloc(m * 4, &ds));
      HYP_RT_TRY(deviceAlloc(n * 2, &dy));
      HYP_RT_TRY(deviceAlloc(4, &dtotal));
      HYP_RT_TRY(deviceAlloc(m * 4, &dnrm));
    }
    if (M * K > 0) {
      HYP_RT_TRY(copyToDevice(dx, x.data(), x.size() * 2));
      HYP_RT_TRY(copyToDevice(dy, y0.data(), y0.size() * 2));
    }
    if (M > 0)
      HYP_RT_TRY(copyToDevice(ds, s.data(), s.size() * 4));
    HYP_RT_TRY(deviceMemset(dtotal, 0, 4, stream));   // accumulate: the caller zeroes
    HYP_RT_TRY(deviceMemset(dnrm, 0xff, m * 4, stream)); // poison: NaN until written
    return streamSynchronize(stream);
  }
  ArgMap args() const {
    return {{"x", ArgValue::pointer(dx)},         {"s", ArgValue::pointer(ds)},
            {"y", ArgValue::pointer(dy)},         {"total", ArgValue::pointer(dtotal)},
            {"nrm", ArgValue::pointer(dnrm)},     {"M", ArgValue::int64(M)},
            {"K", ArgValue::int64(K)},            {"alpha", ArgValue::float32(alpha)}};
  }
  // Compares the device results with float64 evaluations of the same formulas.
  std::string check(double *yRelErr = nullptr) {
    std::vector<uint16_t> y(y0.size());
    std::vector<float> nrm(static_cast<size_t>(M));
    float total = 0;
    Status st = Status::success();
    if (M * K > 0) st = copyToHost(y.data(), dy, y.size() * 2);
    if (st.ok && M > 0) st = copyToHost(nrm.data(), dnrm, nrm.size() * 4);
    if (st.ok) st = copyToHost(&total, dtotal, 4);
    if (!st.ok)
      return st.message;
    double errSq = 0, refSq = 0, totalRef = 0, totalAbs = 0;
    for (int64_t i = 0; i < M; ++i) {
      double norm = 0;
      for (int64_t j = 0; j < K; ++j) {
        double xv = fromBf16(x[i * K + j]), y0v = fromBf16(y0[i * K + j]);
        double add = double(alpha) * double(s[i]) * xv;
        double ref = y0v + add;
        double got = fromBf16(y[i * K + j]);
        // bf16 output: half an ulp (2^-9 relative) plus fp32 arithmetic.
        double tol = std::ldexp(std::fabs(ref), -8) + 1e-6 * (std::fabs(y0v) + std::fabs(add));
        if (!(std::fabs(got - ref) <= tol))
          return "y[" + std::to_string(i) + "," + std::to_string(j) + "] = " + num(got) +
                 ", float64 reference " + num(ref);
        errSq += (got - ref) * (got - ref);
        refSq += ref * ref;
        totalRef += add;
        totalAbs += std::fabs(add);
        norm += xv * xv;
      }
      norm = std::sqrt(norm);
      if (!(std::fabs(nrm[i] - norm) <= 2e-5 * norm + 1e-30))
        return "nrm[" + std::to_string(i) + "] = " + num(nrm[i]) + ", float64 reference " + num(norm);
    }
    double rel = refSq > 0 ? std::sqrt(errSq / refSq) : 0;
    if (yRelErr)
      *yRelErr = rel;
    if (!(rel < 2e-2))
      return "y relative error " + num(rel);
    // A tuner that did not restore `total` would leave a multiple of it.
    if (!(std::fabs(total - totalRef) <= 1e-4 * totalAbs + 1e-6))
      return "total = " + num(total) + ", float64 reference " + num(totalRef) +
             " (an unrestored accumulate buffer reads as a multiple)";
    return "";
  }
};

#define REQUIRE_GPU()                                                          \
  do {                                                                         \
    std::string why_;                                                          \
    if (!driverAvailable(&why_))                                               \
      GTEST_SKIP() << why_;                                                    \
  } while (0)

std::string chosenFor(const Program &p, const std::string &kernel, std::string *source = nullptr) {
  for (const ChosenConfig &c : p.chosenConfigs())
    if (c.kernel == kernel) {
      if (source)
        *source = c.source;
      return c.config;
    }
  return "";
}

// The second process: same cache directory, must reuse cubins and choices.
int runReuseChild(const std::string &cacheDir, const std::string &expectNorm,
                  const std::string &expectScale) {
  setenv("HYP_CACHE_DIR", cacheDir.c_str(), 1);
  auto fail = [](const std::string &why) {
    fprintf(stderr, "second process: %s\n", why.c_str());
    return 1;
  };
  auto t0 = Clock::now();
  std::shared_ptr<Program> p;
  Status st = loadProgram(kTestSource, kTestMetadata, &p);
  if (!st.ok) return fail(st.message);
  std::string arch;
  if (!(st = currentDeviceArch(&arch)).ok) return fail(st.message);
  CompileResult warm;
  if (!(st = p->compileKernel("hyp_test_rowscale", {}, arch, &warm)).ok) return fail(st.message);
  jsonLine("\"event\": \"warm_load\", \"process\": 2, \"ms\": " + num(warm.ms) +
           ", \"disk_hit\": " + (warm.diskHit ? "true" : "false"));
  if (!warm.diskHit) return fail("default cubin not in the disk cache: " + warm.diskMissReason);
  void *stream = nullptr;
  if (!(st = streamCreate(&stream)).ok) return fail(st.message);
  TestRun run(1037, 577, 99);
  if (!(st = run.upload(stream)).ok) return fail(st.message);
  auto t1 = Clock::now();
  if (!(st = runEntry(*p, "forward", run.args(), stream)).ok) return fail(st.message);
  if (!(st = streamSynchronize(stream)).ok) return fail(st.message);
  double firstRun = msSince(t1);
  ProgramStats s = p->stats();
  jsonLine("\"event\": \"first_run\", \"process\": 2, \"ms\": " + num(firstRun) +
           ", \"total_ms_from_load\": " + num(msSince(t0)) + ", \"tunings\": " +
           std::to_string(s.tunings) + ", \"tuning_file_hits\": " + std::to_string(s.tuningFileHits) +
           ", \"compiles\": " + std::to_string(s.compiles) + ", \"disk_hits\": " +
           std::to_string(s.diskHits));
  std::string bad = run.check();
  if (!bad.empty()) return fail("wrong result: " + bad);
  if (s.tunings != 0) return fail("tuned again (" + std::to_string(s.tunings) + " tunings)");
  if (s.tuningFileHits != 2) return fail("expected 2 tuning-file hits, got " + std::to_string(s.tuningFileHits));
  if (s.compiles != 0) return fail("NVRTC ran " + std::to_string(s.compiles) + " times");
  if (chosenFor(*p, "hyp_test_rownorm") != expectNorm || chosenFor(*p, "hyp_test_rowscale") != expectScale)
    return fail("choices differ from the first process: " + chosenFor(*p, "hyp_test_rownorm") + " / " +
                chosenFor(*p, "hyp_test_rowscale"));
  streamDestroy(stream);
  return 0;
}
} // namespace

TEST(Gpu, CompileTuneLaunchCheckThenSecondProcessReuses) {
  REQUIRE_GPU();
  TempDir tmp;
  std::string cacheDir = tmp.path() + "/cache";
  ScopedEnv env("HYP_CACHE_DIR", cacheDir);
  setAutotuneMode(AutotuneMode::On);

  auto t0 = Clock::now();
  std::shared_ptr<Program> p;
  Status st = loadProgram(kTestSource, kTestMetadata, &p);
  ASSERT_TRUE(st.ok) << st.message;
  double loadMs = msSince(t0);
  std::string arch;
  ASSERT_TRUE(currentDeviceArch(&arch).ok);
  CompileResult cold;
  st = p->compileKernel("hyp_test_rowscale", {}, arch, &cold);
  ASSERT_TRUE(st.ok) << st.message;
  EXPECT_FALSE(cold.diskHit);
  jsonLine("\"event\": \"cold_compile\", \"process\": 1, \"arch\": \"" + arch +
           "\", \"load_program_ms\": " + num(loadMs) + ", \"ms\": " + num(cold.ms) +
           ", \"cubin_bytes\": " + std::to_string(cold.cubin.size()));

  void *stream = nullptr;
  ASSERT_TRUE(streamCreate(&stream).ok);
  TestRun run(1037, 577, 7); // tails: 1037 % 8 = 5 rows, 577 odd columns
  ASSERT_TRUE((st = run.upload(stream)).ok) << st.message;
  auto t1 = Clock::now();
  st = runEntry(*p, "forward", run.args(), stream);
  ASSERT_TRUE(st.ok) << st.message;
  ASSERT_TRUE(streamSynchronize(stream).ok);
  double firstRun = msSince(t1);
  double yErr = 0;
  std::string bad = run.check(&yErr);
  EXPECT_EQ(bad, "") << "first (tuning) run";
  ProgramStats s = p->stats();
  EXPECT_EQ(s.tunings, 2u);
  jsonLine("\"event\": \"first_run_with_tuning\", \"process\": 1, \"ms\": " + num(firstRun) +
           ", \"tune_ms\": " + num(s.tuneMs) + ", \"compiles\": " + std::to_string(s.compiles) +
           ", \"compile_ms\": " + num(s.compileMs) + ", \"y_rel_err\": " + num(yErr));
  for (const ChosenConfig &c : p->chosenConfigs()) {
    int failed = 0;
    for (const TunedCandidate &tc : c.candidates)
      failed += !tc.error.empty();
    EXPECT_EQ(c.source, "tuned") << c.kernel;
    EXPECT_GT(c.candidates.size(), 1u) << c.kernel;
    EXPECT_EQ(failed, 0) << c.kernel;
    jsonLine("\"event\": \"tuned\", \"kernel\": \"" + c.kernel + "\", \"config\": \"" + c.config +
             "\", \"best_ms\": " + num(c.bestMs) + ", \"candidates\": " +
             std::to_string(c.candidates.size()) + ", \"failed\": " + std::to_string(failed));
  }

  // Tuned: the same shape bucket again is a table lookup; results exact again.
  ASSERT_TRUE((st = run.upload(stream)).ok) << st.message;
  ASSERT_TRUE((st = runEntry(*p, "forward", run.args(), stream)).ok) << st.message;
  ASSERT_TRUE(streamSynchronize(stream).ok);
  EXPECT_EQ(run.check(), "") << "tuned run";
  EXPECT_EQ(p->stats().tunings, 2u);

  // Host cost of a tuned call through the slot API (what the torch op uses).
  std::vector<ArgValue> slots(p->slotNames().size());
  ArgMap args = run.args();
  for (size_t i = 0; i < slots.size(); ++i)
    slots[i] = args.at(p->slotNames()[i]);
  int entry = p->entryIndex("forward");
  const int kCalls = 200;
  auto t2 = Clock::now();
  for (int i = 0; i < kCalls; ++i)
    ASSERT_TRUE(runEntrySlots(*p, entry, slots.data(), slots.size(), stream).ok);
  double hostUs = msSince(t2) * 1000.0 / kCalls;
  ASSERT_TRUE(streamSynchronize(stream).ok);
  double perCallUs = msSince(t2) * 1000.0 / kCalls;
  jsonLine("\"event\": \"hot_run\", \"process\": 1, \"host_us_per_entry\": " + num(hostUs) +
           ", \"wall_us_per_entry_incl_gpu\": " + num(perCallUs) + ", \"kernels_per_entry\": 2");

  // A second process on the same cache: no NVRTC, no tuning, same choices.
  std::string self = "/proc/self/exe";
  std::string norm = chosenFor(*p, "hyp_test_rownorm"), scale = chosenFor(*p, "hyp_test_rowscale");
  const char *argv[] = {self.c_str(), "--hyprt-gpu-child", cacheDir.c_str(), norm.c_str(),
                        scale.c_str(), nullptr};
  pid_t pid;
  ASSERT_EQ(posix_spawn(&pid, self.c_str(), nullptr, nullptr, const_cast<char **>(argv), environ), 0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "the second process did not reuse the cache (its stderr says why)";
  streamDestroy(stream);
}

TEST(Gpu, ExhaustiveTuningOnRaggedShapesStaysCorrect) {
  REQUIRE_GPU();
  TempDir tmp;
  ScopedEnv env("HYP_CACHE_DIR", tmp.path());
  setAutotuneMode(AutotuneMode::Exhaustive);
  std::shared_ptr<Program> p;
  ASSERT_TRUE(loadProgram(kTestSource, kTestMetadata, &p).ok);
  void *stream = nullptr;
  ASSERT_TRUE(streamCreate(&stream).ok);
  for (auto [m, k] : {std::pair<int64_t, int64_t>{1, 1}, {5, 4099}, {130, 33}}) {
    TestRun run(m, k, unsigned(m * 31 + k));
    Status st = run.upload(stream);
    ASSERT_TRUE(st.ok) << st.message;
    auto t0 = Clock::now();
    st = runEntry(*p, "forward", run.args(), stream);
    ASSERT_TRUE(st.ok) << st.message;
    ASSERT_TRUE(streamSynchronize(stream).ok);
    EXPECT_EQ(run.check(), "") << "M=" << m << " K=" << k;
    jsonLine("\"event\": \"exhaustive_tune\", \"M\": " + std::to_string(m) + ", \"K\": " +
             std::to_string(k) + ", \"ms\": " + num(msSince(t0)) + ", \"rowscale\": \"" +
             chosenFor(*p, "hyp_test_rowscale") + "\"");
  }
  for (const ChosenConfig &c : p->chosenConfigs()) {
    if (c.kernel == "hyp_test_rowscale") {
      EXPECT_EQ(c.candidates.size(), 33u) << "exhaustive mode must time every valid config";
    }
  }
  setAutotuneMode(AutotuneMode::On);
  streamDestroy(stream);
}

/// Uploads run's inputs, runs the test program's forward on the default
/// stream and waits for it.
Status forwardOnce(Program &p, TestRun &run) {
  HYP_RT_TRY(run.upload(nullptr));
  HYP_RT_TRY(runEntry(p, "forward", run.args(), nullptr));
  return streamSynchronize(nullptr);
}

/// The start of the compile-pool tests: a fresh cache, autotuning on, the test
/// program's first forward run (every candidate compiled and tuned) and checked.
struct FirstTunedForward {
  TempDir tmp;
  ScopedEnv env{"HYP_CACHE_DIR", tmp.path()};
  std::shared_ptr<Program> p;
  TestRun run{300, 130, 5};
  void start() {
    setAutotuneMode(AutotuneMode::On);
    ASSERT_TRUE(loadProgram(kTestSource, kTestMetadata, &p).ok);
    Status st = forwardOnce(*p, run);
    ASSERT_TRUE(st.ok) << st.message;
    EXPECT_EQ(run.check(), "");
  }
};

TEST(Gpu, AnEntryCompilesAllItsKernelsConfigsInOnePoolFirst) {
  REQUIRE_GPU();
  FirstTunedForward f;
  ASSERT_NO_FATAL_FAILURE(f.start());
  auto &p = f.p;
  auto &run = f.run;
  // Both kernels' candidates were compiled before either was timed, once each.
  size_t candidates = 0;
  for (const ChosenConfig &c : p->chosenConfigs())
    candidates += c.candidates.size();
  ProgramStats s = p->stats();
  EXPECT_EQ(s.tunings, 2u);
  EXPECT_GT(candidates, 2u);
  EXPECT_EQ(s.precompiled, candidates);
  EXPECT_EQ(s.compiles + s.diskHits, candidates) << "a candidate was compiled twice";
  // A shape bucket already planned compiles nothing more.
  ASSERT_TRUE(forwardOnce(*p, run).ok);
  EXPECT_EQ(p->stats().precompiled, candidates);
}

// Every NVRTC run builds one kernel (-DHYP_ONLY_KERNEL -DHYP_ONLY_<name>), not
// the whole source: at 4096x4096 the emitter's six kernels took ~6 s to compile
// together against 0.2-2 s alone, and each of a new shape's ten compiles paid
// for all six. The cache keeps each cubin as compiled, so the kernel names in
// its files tell what each compile built.
TEST(Gpu, EachCompileBuildsOnlyItsKernel) {
  REQUIRE_GPU();
  FirstTunedForward f;
  ASSERT_NO_FATAL_FAILURE(f.start());
  size_t cubins = 0, norms = 0, scales = 0;
  for (const auto &entry : std::filesystem::directory_iterator(f.tmp.path() + "/kernels")) {
    if (entry.path().extension() != ".cubin")
      continue;
    std::string bytes = readFile(entry.path().string());
    bool norm = bytes.find("hyp_test_rownorm") != std::string::npos;
    bool scale = bytes.find("hyp_test_rowscale") != std::string::npos;
    EXPECT_NE(norm, scale) << entry.path() << " holds " << (norm ? "both kernels" : "neither kernel");
    ++cubins;
    norms += norm;
    scales += scale;
  }
  EXPECT_EQ(cubins, f.p->stats().compiles);
  EXPECT_GT(norms, 0u);
  EXPECT_GT(scales, 0u);
}

// The two test kernels as two entries ("norm" then "scale", like a training
// step's forward then backward): the first entry's call gives M and K, the
// whole tuning key of the second's kernel, so its candidates join the pool.
TEST(Gpu, AFirstEntryAlsoCompilesTheKernelsOfLaterEntriesItsArgumentsKey) {
  REQUIRE_GPU();
  TempDir tmp;
  ScopedEnv env("HYP_CACHE_DIR", tmp.path());
  setAutotuneMode(AutotuneMode::On);
  std::string metadata = kTestMetadata;
  const std::string oneEntry = R"("forward": ["hyp_test_rownorm", "hyp_test_rowscale"])";
  const size_t at = metadata.find(oneEntry);
  ASSERT_NE(at, std::string::npos);
  metadata.replace(at, oneEntry.size(),
                   R"("norm": ["hyp_test_rownorm"], "scale": ["hyp_test_rowscale"])");
  std::shared_ptr<Program> p;
  Status st = loadProgram(kTestSource, metadata, &p);
  ASSERT_TRUE(st.ok) << st.message;
  TestRun run(300, 130, 11);
  ASSERT_TRUE(run.upload(nullptr).ok);
  const ArgMap all = run.args();
  // Only the norm kernel's arguments: the scale kernel's pointers stay unset.
  ArgMap normArgs = {{"x", all.at("x")}, {"nrm", all.at("nrm")}, {"M", all.at("M")},
                     {"K", all.at("K")}};
  st = runEntry(*p, "norm", normArgs, nullptr);
  ASSERT_TRUE(st.ok) << st.message;
  ASSERT_TRUE(streamSynchronize(nullptr).ok);
  const ProgramStats afterNorm = p->stats();
  EXPECT_EQ(afterNorm.tunings, 1u) << "only the norm kernel runs (and is tuned) here";
  st = runEntry(*p, "scale", all, nullptr);
  ASSERT_TRUE(st.ok) << st.message;
  ASSERT_TRUE(streamSynchronize(nullptr).ok);
  EXPECT_EQ(run.check(), "");
  size_t candidates = 0;
  for (const ChosenConfig &c : p->chosenConfigs())
    candidates += c.candidates.size();
  const ProgramStats s = p->stats();
  EXPECT_EQ(s.tunings, 2u);
  EXPECT_EQ(afterNorm.precompiled, candidates) << "the scale kernel's candidates were not in the "
                                                  "norm entry's pool";
  EXPECT_EQ(s.compiles + s.diskHits, afterNorm.compiles + afterNorm.diskHits)
      << "the scale entry compiled again";
}

TEST(Gpu, AutotuneOffLaunchesDefaults) {
  REQUIRE_GPU();
  TempDir tmp;
  ScopedEnv env("HYP_CACHE_DIR", tmp.path());
  setAutotuneMode(AutotuneMode::Off);
  std::shared_ptr<Program> p;
  ASSERT_TRUE(loadProgram(kTestSource, kTestMetadata, &p).ok);
  TestRun run(64, 128, 3);
  Status st = forwardOnce(*p, run);
  ASSERT_TRUE(st.ok) << st.message;
  EXPECT_EQ(run.check(), "");
  std::string source;
  EXPECT_EQ(chosenFor(*p, "hyp_test_rowscale", &source), "BLOCK_M=4,THREADS=128,VEC=2");
  EXPECT_EQ(source, "default");
  EXPECT_EQ(p->stats().tunings, 0u);
  // The two kernels' defaults were compiled together, before the first launch.
  EXPECT_EQ(p->stats().precompiled, 2u);
  setAutotuneMode(AutotuneMode::On);
}

TEST(Gpu, ZeroRowsLaunchNothing) {
  REQUIRE_GPU();
  TempDir tmp;
  ScopedEnv env("HYP_CACHE_DIR", tmp.path());
  std::shared_ptr<Program> p;
  ASSERT_TRUE(loadProgram(kTestSource, kTestMetadata, &p).ok);
  TestRun run(0, 64, 5);
  ASSERT_TRUE(run.upload(nullptr).ok);
  Status st = runEntry(*p, "forward", run.args(), nullptr);
  ASSERT_TRUE(st.ok) << st.message;
  ASSERT_TRUE(streamSynchronize(nullptr).ok);
  uint32_t nrm0 = 0;
  ASSERT_TRUE(copyToHost(&nrm0, run.dnrm, 4).ok);
  EXPECT_EQ(nrm0, 0xffffffffu) << "a kernel ran for M = 0";
  std::string source;
  chosenFor(*p, "hyp_test_rowscale", &source);
  EXPECT_EQ(source, "default-empty");
  EXPECT_EQ(p->stats().tunings, 0u) << "nothing to time for M = 0";
}

// A grid axis whose block count is a tunable's value ({"tunable": "PARTS"}:
// how the emitter lets the tuner choose a row-reduce's split-K): each block
// adds 1 to `blocks` (accumulate, so the tuner restores it), and the launch
// after tuning must have ceil(M / 2) x PARTS blocks for the PARTS it chose.
TEST(Gpu, GridAxisFromATunableLaunchesItsValue) {
  REQUIRE_GPU();
  TempDir tmp;
  ScopedEnv env("HYP_CACHE_DIR", tmp.path());
  const char *source = R"CUDA(
#ifndef PARTS
#define PARTS 1
#endif
extern "C" __global__ void __launch_bounds__(32) hyp_test_blockcount(float *blocks, long long M) {
  if (threadIdx.x == 0 && gridDim.y == PARTS) atomicAdd(blocks, 1.0f);
}
)CUDA";
  const char *metadata = R"JSON({
  "schema": 1, "compiler": "hyprt-test-kernels 1",
  "kernels": [{
    "name": "hyp_test_blockcount",
    "params": [{"name": "blocks", "kind": "ptr", "elem": "f32", "access": "accumulate"},
               {"name": "M", "kind": "i64"}],
    "grid": [{"extent": "M", "tile": "ROWS"}, {"tunable": "PARTS"}, {"const": 1}],
    "block": 32,
    "tunables": [{"name": "ROWS", "values": [2], "default": 2},
                 {"name": "PARTS", "values": [1, 3], "default": 1}],
    "dynamic_smem": 0}],
  "programs": {"count": ["hyp_test_blockcount"]},
  "buffers": {"blocks": {"shape": [1], "elem": "f32"}}
})JSON";
  std::shared_ptr<Program> p;
  Status st = loadProgram(source, metadata, &p);
  ASSERT_TRUE(st.ok) << st.message;
  void *blocks = nullptr;
  ASSERT_TRUE(deviceAlloc(4, &blocks).ok);
  const float zero = 0.f;
  ASSERT_TRUE(copyToDevice(blocks, &zero, 4).ok);
  const int64_t M = 5;
  st = runEntry(*p, "count", {{"blocks", ArgValue::pointer(blocks)}, {"M", ArgValue::int64(M)}},
                nullptr);
  ASSERT_TRUE(st.ok) << st.message;
  ASSERT_TRUE(streamSynchronize(nullptr).ok);
  float got = -1.f;
  ASSERT_TRUE(copyToHost(&got, blocks, 4).ok);
  deviceFree(blocks);
  const std::string chosen = chosenFor(*p, "hyp_test_blockcount");
  const int parts = chosen.find("PARTS=3") != std::string::npos ? 3 : 1;
  ASSERT_NE(chosen.find("PARTS=" + std::to_string(parts)), std::string::npos) << chosen;
  EXPECT_EQ(got, float((M + 1) / 2 * parts)) << "chosen " << chosen;
}

TEST(Gpu, BadArgumentsAreStatusesNotCrashes) {
  REQUIRE_GPU();
  TempDir tmp;
  ScopedEnv env("HYP_CACHE_DIR", tmp.path());
  std::shared_ptr<Program> p;
  ASSERT_TRUE(loadProgram(kTestSource, kTestMetadata, &p).ok);
  TestRun run(16, 16, 5);
  ASSERT_TRUE(run.upload(nullptr).ok);
  ArgMap args = run.args();
  args["M"] = ArgValue::int32(16);
  Status st = runEntry(*p, "forward", args, nullptr);
  EXPECT_FALSE(st.ok);
  EXPECT_NE(st.message.find("argument 'M' is i32, the kernel takes i64"), std::string::npos)
      << st.message;
  args = run.args();
  args["M"] = ArgValue::int64(-3);
  st = runEntry(*p, "forward", args, nullptr);
  EXPECT_FALSE(st.ok);
  EXPECT_NE(st.message.find("argument 'M' = -3 is negative"), std::string::npos) << st.message;
  std::vector<ArgValue> slots(3);
  st = runEntrySlots(*p, 0, slots.data(), slots.size(), nullptr);
  EXPECT_NE(st.message.find("argument slots"), std::string::npos) << st.message;
}

// One cache for the FakeGpu tests: each tunes its own shape bucket, and the
// cubins compiled by the first are disk hits for the next (CPU is scarce).
const std::string &fakeGpuCacheDir() {
  static TempDir dir;
  return dir.path();
}

TEST(FakeGpu, StreamCaptureDefersTuningToTheFirstEagerCall) {
  REQUIRE_GPU();
  void *lib = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_NOLOAD);
  auto setCapturing =
      lib ? reinterpret_cast<void (*)(int)>(dlsym(lib, "hyp_fake_cuda_set_capturing")) : nullptr;
  if (!setCapturing)
    GTEST_SKIP() << "needs the fake driver's capture switch (a real capture needs graph APIs)";
  ScopedEnv env("HYP_CACHE_DIR", fakeGpuCacheDir());
  setAutotuneMode(AutotuneMode::On);
  std::shared_ptr<Program> p;
  ASSERT_TRUE(loadProgram(kTestSource, kTestMetadata, &p).ok);
  TestRun run(40, 24, 13);
  ASSERT_TRUE(run.upload(nullptr).ok);
  setCapturing(1);
  Status st = runEntry(*p, "forward", run.args(), nullptr);
  setCapturing(0);
  ASSERT_TRUE(st.ok) << st.message;
  EXPECT_EQ(run.check(), "");
  std::string source;
  EXPECT_EQ(chosenFor(*p, "hyp_test_rowscale", &source), "BLOCK_M=4,THREADS=128,VEC=2");
  EXPECT_EQ(source, "default-capturing");
  EXPECT_EQ(p->stats().tunings, 0u) << "tuned (synchronised) during a capture";
  ASSERT_TRUE(run.upload(nullptr).ok);
  st = runEntry(*p, "forward", run.args(), nullptr);
  ASSERT_TRUE(st.ok) << st.message;
  EXPECT_EQ(run.check(), "");
  EXPECT_EQ(p->stats().tunings, 2u) << "the provisional choice was not replaced by tuning";
}

TEST(FakeGpu, FailingCandidatesScoreInfinityAndKeepTheirReason) {
  // Needs a driver that fails launches on demand: the fake one (FakeCuda.cpp).
  const char *failBlock = getenv("HYP_FAKE_CUDA_FAIL_BLOCK");
  if (!failBlock)
    GTEST_SKIP() << "only under the fake driver with HYP_FAKE_CUDA_FAIL_BLOCK set";
  REQUIRE_GPU();
  ScopedEnv env("HYP_CACHE_DIR", fakeGpuCacheDir());
  setAutotuneMode(AutotuneMode::On);
  std::shared_ptr<Program> p;
  ASSERT_TRUE(loadProgram(kTestSource, kTestMetadata, &p).ok);
  TestRun run(300, 100, 11);
  ASSERT_TRUE(run.upload(nullptr).ok);
  Status st = runEntry(*p, "forward", run.args(), nullptr);
  ASSERT_TRUE(st.ok) << st.message;
  EXPECT_EQ(run.check(), "");
  std::string threads = std::string("THREADS=") + failBlock;
  for (const ChosenConfig &c : p->chosenConfigs()) {
    int failed = 0;
    for (const TunedCandidate &tc : c.candidates) {
      bool shouldFail = tc.config.find(threads) != std::string::npos;
      EXPECT_EQ(!tc.error.empty(), shouldFail) << c.kernel << " " << tc.config << ": " << tc.error;
      if (!tc.error.empty()) {
        ++failed;
        EXPECT_TRUE(std::isinf(tc.ms));
        EXPECT_NE(tc.error.find("CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES"), std::string::npos) << tc.error;
      }
    }
    EXPECT_GT(failed, 0) << c.kernel;
    EXPECT_EQ(c.config.find(threads), std::string::npos) << c.kernel << " chose a failing config";
  }
}

//===----------------------------------------------------------------------===//
// Tool mode: --source/--metadata (real compiler output)
//===----------------------------------------------------------------------===//
namespace {
std::map<std::string, std::string> parseList(const std::string &text) {
  std::map<std::string, std::string> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t comma = text.find(',', pos);
    std::string item = text.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    size_t eq = item.find('=');
    if (eq != std::string::npos)
      out[item.substr(0, eq)] = item.substr(eq + 1);
    if (comma == std::string::npos)
      break;
    pos = comma + 1;
  }
  return out;
}

int runTool(const std::map<std::string, std::string> &opt) {
  auto fail = [](const std::string &why) {
    fprintf(stderr, "RuntimeGpuTests: %s\n", why.c_str());
    return 1;
  };
  std::string source = readFile(opt.at("--source")), metadata = readFile(opt.at("--metadata"));
  if (source.empty() || metadata.empty())
    return fail("cannot read --source or --metadata");
  std::string why;
  if (!driverAvailable(&why))
    return fail(why);
  std::shared_ptr<Program> p;
  Status st = loadProgram(source, metadata, &p);
  if (!st.ok) return fail(st.message);
  std::string arch;
  if (!(st = currentDeviceArch(&arch)).ok) return fail(st.message);
  std::shared_ptr<Program> again;
  loadProgram(source, metadata, &again);
  for (const KernelInfo &k : p->metadata().kernels) {
    CompileResult cold, warm;
    if (!(st = p->compileKernel(k.name, {}, arch, &cold)).ok) return fail(st.message);
    if (!(st = again->compileKernel(k.name, {}, arch, &warm)).ok) return fail(st.message);
    jsonLine("\"event\": \"tool_compile\", \"kernel\": \"" + k.name + "\", \"cold_ms\": " +
             num(cold.ms) + ", \"cold_was_disk_hit\": " + (cold.diskHit ? "true" : "false") +
             ", \"warm_ms\": " + num(warm.ms) + ", \"warm_disk_hit\": " +
             (warm.diskHit ? "true" : "false"));
  }
  if (!opt.count("--dims"))
    return 0;

  // Buffers from the metadata, random data; scalars from --dims / --args.
  std::map<std::string, std::string> dims = parseList(opt.at("--dims"));
  std::map<std::string, std::string> extra = opt.count("--args") ? parseList(opt.at("--args"))
                                                                 : std::map<std::string, std::string>();
  const ProgramMetadata &md = p->metadata();
  auto dimValue = [&](const std::string &d, int64_t *v) {
    if (!d.empty() && isdigit((unsigned char)d[0])) { *v = std::stoll(d); return true; }
    if (dims.count(d)) { *v = std::stoll(dims[d]); return true; }
    if (md.constants.count(d)) { *v = md.constants.at(d); return true; }
    return false;
  };
  std::mt19937 rng(2024);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  ArgMap args;
  std::vector<void *> allocations;
  std::map<std::string, std::pair<size_t, ElemType>> sizes;
  for (size_t slot = 0; slot < p->slotNames().size(); ++slot) {
    const std::string &name = p->slotNames()[slot];
    const ParamInfo *param = nullptr;
    for (const KernelInfo &k : md.kernels)
      for (const ParamInfo &q : k.params)
        if (q.name == name && !param)
          param = &q;
    if (param->kind == ParamKind::I64 || param->kind == ParamKind::I32) {
      int64_t v;
      if (!dimValue(name, &v)) return fail("--dims lacks integer argument '" + name + "'");
      args[name] = param->kind == ParamKind::I64 ? ArgValue::int64(v) : ArgValue::int32(int32_t(v));
      continue;
    }
    if (param->kind == ParamKind::F32) {
      args[name] = ArgValue::float32(extra.count(name) ? std::stof(extra[name]) : 1.0f);
      continue;
    }
    size_t count = 16384; // a pointer without a metadata shape: a scalar-ish buffer
    ElemType elem = param->elem;
    if (md.buffers.count(name)) {
      count = 1;
      for (const std::string &d : md.buffers.at(name).shape) {
        int64_t v;
        if (!dimValue(d, &v)) return fail("--dims lacks '" + d + "' (shape of buffer " + name + ")");
        count *= size_t(v);
      }
    }
    size_t bytes = std::max<size_t>(count, 1) * size_t(elemTypeBytes(elem));
    std::vector<char> host(bytes, 0);
    if (param->access != Access::Accumulate)
      for (size_t i = 0; i < count; ++i) {
        float f = extra.count(name) ? std::stof(extra[name]) : u(rng);
        switch (elem) {
        case ElemType::F32: memcpy(&host[i * 4], &f, 4); break;
        case ElemType::BF16: { uint16_t h = toBf16(f); memcpy(&host[i * 2], &h, 2); break; }
        case ElemType::F16: { uint16_t h = toF16(f); memcpy(&host[i * 2], &h, 2); break; }
        case ElemType::F64: { double d = f; memcpy(&host[i * 8], &d, 8); break; }
        default: break;
        }
      }
    void *dev = nullptr;
    if (!(st = deviceAlloc(bytes, &dev)).ok) return fail(st.message);
    allocations.push_back(dev);
    if (!(st = copyToDevice(dev, host.data(), bytes)).ok) return fail(st.message);
    args[name] = ArgValue::pointer(dev);
    sizes[name] = {count, elem};
  }
  std::vector<std::string> entries;
  if (opt.count("--entry"))
    entries.push_back(opt.at("--entry"));
  else
    for (const auto &[name, kernels] : md.programs)
      entries.push_back(name);
  int rc = 0;
  for (const std::string &e : entries) {
    for (int round = 0; round < 2; ++round) {
      auto t0 = Clock::now();
      st = runEntry(*p, e, args, nullptr);
      if (st.ok) st = streamSynchronize(nullptr);
      if (!st.ok) return fail("entry " + e + ": " + st.message);
      jsonLine("\"event\": \"tool_run\", \"entry\": \"" + e + "\", \"round\": " +
               std::to_string(round) + ", \"ms\": " + num(msSince(t0)));
    }
  }
  for (const ChosenConfig &c : p->chosenConfigs())
    jsonLine("\"event\": \"tool_choice\", \"kernel\": \"" + c.kernel + "\", \"config\": \"" +
             c.config + "\", \"source\": \"" + c.source + "\", \"best_ms\": " + num(c.bestMs) +
             ", \"candidates\": " + std::to_string(c.candidates.size()));
  // Non-finite outputs are a red flag for real compiler output.
  for (const auto &[name, info] : sizes) {
    auto [count, elem] = info;
    std::vector<char> host(count * size_t(elemTypeBytes(elem)));
    if (!copyToHost(host.data(), args[name].ptr, host.size()).ok)
      continue;
    size_t bad = 0;
    for (size_t i = 0; i < count; ++i) {
      float f = 0;
      if (elem == ElemType::F32) memcpy(&f, &host[i * 4], 4);
      else if (elem == ElemType::BF16) { uint16_t h; memcpy(&h, &host[i * 2], 2); f = fromBf16(h); }
      else continue;
      bad += !std::isfinite(f);
    }
    jsonLine("\"event\": \"tool_buffer\", \"name\": \"" + name + "\", \"elements\": " +
             std::to_string(count) + ", \"non_finite\": " + std::to_string(bad));
    if (bad) rc = 2;
  }
  for (void *a : allocations)
    deviceFree(a);
  return rc;
}
} // namespace

int main(int argc, char **argv) {
  if (argc >= 2 && std::strcmp(argv[1], "--hyprt-gpu-child") == 0)
    return argc == 5 ? runReuseChild(argv[2], argv[3], argv[4]) : 64;
  std::map<std::string, std::string> opt;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::string(argv[i]).rfind("--", 0) == 0 && std::string(argv[i]).rfind("--gtest", 0) != 0) {
      opt[argv[i]] = argv[i + 1];
      ++i;
    }
  if (opt.count("--source") || opt.count("--metadata")) {
    if (!opt.count("--source") || !opt.count("--metadata")) {
      fprintf(stderr, "usage: RuntimeGpuTests --source f.cu --metadata f.json [--dims M=..,K=..] "
                      "[--entry forward] [--args name=value,...]\n");
      return 64;
    }
    return runTool(opt);
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
