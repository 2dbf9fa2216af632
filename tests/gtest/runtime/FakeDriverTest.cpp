//===- FakeDriverTest.cpp - the GPU suite against a fake libcuda.so.1 -----===//
//
// Runs RuntimeGpuTests in a child process whose LD_LIBRARY_PATH finds
// FakeCuda.cpp's libcuda.so.1: the launcher, autotuner, tuning files and
// second-process reuse run here, on a machine without a GPU (see FakeCuda.cpp
// for what this does and does not prove).
//
//===----------------------------------------------------------------------===//
#include "TestUtil.h"
#include "hyp/Runtime/Nvrtc.h"
#include "hyp/Runtime/Runtime.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

extern char **environ;

using namespace hyp::rt;
using namespace hyp::rt::hyptest;

namespace {
// Runs the GPU test binary under the fake driver; returns its exit status
// and output.
int runUnderFakeDriver(const std::vector<std::string> &args,
                       const std::vector<std::string> &extraEnv, std::string *output) {
  TempDir t;
  std::string outPath = t.path() + "/out.txt";
  std::vector<std::string> env;
  for (char **e = environ; *e; ++e)
    // Not LD_LIBRARY_PATH (set below) and not lit's GTEST_SHARD_* (the child
    // must run all the tests its filter names).
    if (std::string(*e).rfind("LD_LIBRARY_PATH=", 0) != 0 && std::string(*e).rfind("GTEST_", 0) != 0)
      env.push_back(*e);
  const char *old = getenv("LD_LIBRARY_PATH");
  env.push_back(std::string("LD_LIBRARY_PATH=") + HYP_FAKE_CUDA_DIR + (old ? std::string(":") + old : ""));
  env.insert(env.end(), extraEnv.begin(), extraEnv.end());
  std::vector<char *> envp, argv;
  for (std::string &e : env)
    envp.push_back(&e[0]);
  envp.push_back(nullptr);
  std::string bin = HYP_GPU_TESTS_BIN;
  std::vector<std::string> argStore = {bin};
  argStore.insert(argStore.end(), args.begin(), args.end());
  for (std::string &a : argStore)
    argv.push_back(&a[0]);
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, outPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  pid_t pid;
  int rc = posix_spawn(&pid, bin.c_str(), &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0)
    return -1;
  int status = 0;
  waitpid(pid, &status, 0);
  *output = readFile(outPath);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

#define REQUIRE_FAKE_DRIVER_SETUP()                                            \
  do {                                                                         \
    if (!exists(HYP_FAKE_CUDA_DIR "/libcuda.so.1") || !exists(HYP_GPU_TESTS_BIN)) \
      GTEST_SKIP() << "fake driver or RuntimeGpuTests not built at " HYP_FAKE_CUDA_DIR; \
    if (driverAvailable())                                                     \
      GTEST_SKIP() << "a real CUDA driver is present: RuntimeGpuTests runs on it directly"; \
    std::string why_;                                                          \
    if (!nvrtcAvailable(&why_))                                                \
      GTEST_SKIP() << "no NVRTC (the fake driver loads real cubins): " << why_; \
  } while (0)
} // namespace

TEST(FakeDriver, GpuSuitePassesWithoutSkipping) {
  REQUIRE_FAKE_DRIVER_SETUP();
  std::string out;
  // Exhaustive tuning compiles 33 variants per shape: left to the real GPU.
  int rc = runUnderFakeDriver({"--gtest_filter=Gpu.*:-Gpu.Exhaustive*"}, {}, &out);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("[  PASSED  ] 8 tests"), std::string::npos) << out;
  EXPECT_EQ(out.find("SKIPPED"), std::string::npos) << out;
  // The second process reported its reuse.
  EXPECT_NE(out.find("\"event\": \"first_run\", \"process\": 2"), std::string::npos) << out;
  EXPECT_NE(out.find("\"tunings\": 0, \"tuning_file_hits\": 2, \"compiles\": 0"), std::string::npos)
      << out;
}

TEST(FakeDriver, FailingCandidatesAreSkippedWithTheirReasonAndLogged) {
  REQUIRE_FAKE_DRIVER_SETUP();
  std::string out;
  int rc = runUnderFakeDriver({"--gtest_filter=FakeGpu.*"},
                              {"HYP_FAKE_CUDA_FAIL_BLOCK=256", "HYP_PRINT_AUTOTUNING=1"}, &out);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("[  PASSED  ] 2 tests"), std::string::npos) << out;
  // HYP_PRINT_AUTOTUNING=1: every choice, its time, and each failure's reason.
  EXPECT_NE(out.find("hyprt: autotune hyp_test_rowscale [sm_90, M:512,K:100,]"), std::string::npos)
      << out;
  EXPECT_NE(out.find("THREADS=256"), std::string::npos) << out;
  EXPECT_NE(out.find("failed: cuLaunchKernel"), std::string::npos) << out;
}
