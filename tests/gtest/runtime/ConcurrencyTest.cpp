//===- ConcurrencyTest.cpp - many processes share one cache directory -----===//
//
// The parent spawns several copies of this binary (fork/exec) in child mode.
// Each child, at once with the others: (a) stores and reads back the SAME
// key with its own payload hundreds of times (a reader must always see one
// complete, verified entry: never a torn or partial one), and (b) compiles
// real kernels through Program into the shared cache. The parent then checks
// every entry and that a fresh Program gets disk hits for all of them.
//
//===----------------------------------------------------------------------===//
#include "TestKernels.h"
#include "TestUtil.h"
#include "hyp/Runtime/CacheKey.h"
#include "hyp/Runtime/KernelCache.h"
#include "hyp/Runtime/Nvrtc.h"
#include "hyp/Runtime/Runtime.h"

#include <gtest/gtest.h>

#include <dirent.h>
#include <spawn.h>
#include <sys/wait.h>

extern char **environ;

using namespace hyp::rt;
using namespace hyp::rt::hyptest;

namespace {
const std::string kSharedKey(64, 'd');
const std::vector<std::map<std::string, int64_t>> kChildConfigs = {
    {}, {{"BLOCK_M", 1}}, {{"BLOCK_M", 2}, {"VEC", 4}}};

std::string payloadFor(int child) {
  std::string c(4096 + child * 512, '\0');
  c[0] = 0x7f; c[1] = 'E'; c[2] = 'L'; c[3] = 'F'; c[4] = 2; c[8] = 8;
  c[18] = char(190);
  c[49] = 90;
  for (size_t i = 64; i < c.size(); ++i)
    c[i] = char(i * (child + 3));
  return c;
}
} // namespace

// Child entry point, called from main() for "--hyprt-child cache-writer DIR ID".
int runCacheWriterChild(const std::string &dir, int id) {
  std::shared_ptr<KernelCache> cache;
  Status st = KernelCache::open(dir, &cache);
  if (!st.ok) {
    fprintf(stderr, "child %d: %s\n", id, st.message.c_str());
    return 2;
  }
  std::string mine = payloadFor(id);
  for (int i = 0; i < 300; ++i) {
    if (!(st = cache->store(kSharedKey, "sm_90", mine)).ok) {
      fprintf(stderr, "child %d: store: %s\n", id, st.message.c_str());
      return 3;
    }
    std::string got, why;
    bool hit = false;
    if (!cache->lookup(kSharedKey, "sm_90", &got, &hit, &why).ok || !hit) {
      fprintf(stderr, "child %d: iteration %d read a bad entry: %s\n", id, i, why.c_str());
      return 4;
    }
    bool someonesPayload = false;
    for (int c = 0; c < 8; ++c)
      someonesPayload |= got == payloadFor(c);
    if (!someonesPayload) {
      fprintf(stderr, "child %d: read a payload no writer wrote\n", id);
      return 5;
    }
  }
  if (nvrtcAvailable()) {
    setenv("HYP_CACHE_DIR", dir.c_str(), 1);
    std::shared_ptr<Program> p;
    if (!(st = loadProgram(kTestSource, kTestMetadata, &p)).ok) {
      fprintf(stderr, "child %d: %s\n", id, st.message.c_str());
      return 6;
    }
    for (const auto &cfg : kChildConfigs) {
      CompileResult r;
      if (!(st = p->compileKernel("hyp_test_rowscale", cfg, "sm_90", &r)).ok) {
        fprintf(stderr, "child %d: %s\n", id, st.message.c_str());
        return 7;
      }
      printf("child %d key %s sha %s disk_hit %d\n", id, r.key.c_str(), sha256Hex(r.cubin).c_str(),
             int(r.diskHit));
    }
  }
  return 0;
}

TEST(ConcurrentCache, ProcessesSharingOneDirectory) {
  TempDir t;
  std::string dir = t.path() + "/cache";
  std::string self = "/proc/self/exe";
  constexpr int kChildren = 4;
  std::vector<pid_t> pids;
  for (int i = 0; i < kChildren; ++i) {
    std::string id = std::to_string(i);
    const char *argv[] = {self.c_str(), "--hyprt-child", "cache-writer", dir.c_str(), id.c_str(),
                          nullptr};
    pid_t pid;
    ASSERT_EQ(posix_spawn(&pid, self.c_str(), nullptr, nullptr, const_cast<char **>(argv), environ), 0);
    pids.push_back(pid);
  }
  for (pid_t pid : pids) {
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status)) << "child killed by a signal";
    EXPECT_EQ(WEXITSTATUS(status), 0) << "child failed (its stderr says why)";
  }
  // Whatever writer won, the entry is complete and verified; no temp files.
  std::shared_ptr<KernelCache> cache;
  ASSERT_TRUE(KernelCache::open(dir, &cache).ok);
  std::string got, why;
  bool hit = false;
  ASSERT_TRUE(cache->lookup(kSharedKey, "sm_90", &got, &hit, &why).ok);
  EXPECT_TRUE(hit) << why;
  if (DIR *d = opendir(cache->kernelsDir().c_str())) {
    while (dirent *e = readdir(d))
      EXPECT_NE(std::string(e->d_name).rfind(".tmp-", 0), 0u) << "left behind: " << e->d_name;
    closedir(d);
  }
  if (!nvrtcAvailable())
    GTEST_SKIP() << "no NVRTC: the compile half of this test did not run";
  ScopedEnv env("HYP_CACHE_DIR", dir);
  std::shared_ptr<Program> p;
  ASSERT_TRUE(loadProgram(kTestSource, kTestMetadata, &p).ok);
  for (const auto &cfg : kChildConfigs) {
    CompileResult r;
    ASSERT_TRUE(p->compileKernel("hyp_test_rowscale", cfg, "sm_90", &r).ok);
    EXPECT_TRUE(r.diskHit) << r.diskMissReason;
    EXPECT_EQ(cubinSmVersion(r.cubin), 90);
  }
  EXPECT_EQ(p->stats().compiles, 0u);
}
