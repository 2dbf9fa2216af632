//===- KernelCacheTest.cpp - trust model, atomic writes, corrupt entries --===//
#include "TestUtil.h"
#include "TestKernels.h"
#include "hyp/Runtime/CacheKey.h"
#include "hyp/Runtime/KernelCache.h"
#include "hyp/Runtime/Nvrtc.h"
#include "hyp/Runtime/Runtime.h"

#include <gtest/gtest.h>

#include <dirent.h>
#include <random>
#include <sys/stat.h>

using namespace hyp::rt;
using namespace hyp::rt::hyptest;

namespace {
// A minimal ELF64 header with EM_CUDA and the SM number where CUDA 12.8+
// cubins keep it; enough for the cache's checks (no GPU loads it).
std::string fakeCubin(int sm, size_t size = 256) {
  std::string c(size, '\0');
  c[0] = 0x7f; c[1] = 'E'; c[2] = 'L'; c[3] = 'F';
  c[4] = 2; c[5] = 1; c[6] = 1; c[7] = 0x41; c[8] = 8;
  c[18] = char(190); c[19] = 0;
  unsigned flags = 0x6000004u | (unsigned(sm) << 8);
  for (int i = 0; i < 4; ++i)
    c[48 + i] = char((flags >> (8 * i)) & 0xff);
  for (size_t i = 64; i < size; ++i)
    c[i] = char(i * 131 + 7);
  return c;
}
unsigned modeOf(const std::string &p) {
  struct stat st;
  stat(p.c_str(), &st);
  return st.st_mode & 07777;
}
std::vector<std::string> listDir(const std::string &d) {
  std::vector<std::string> out;
  if (DIR *dir = opendir(d.c_str())) {
    while (dirent *e = readdir(dir))
      if (std::string(e->d_name) != "." && std::string(e->d_name) != "..")
        out.push_back(e->d_name);
    closedir(dir);
  }
  return out;
}
const std::string kKey(64, 'a');
} // namespace

TEST(CacheTrust, CreatesPrivateDirectories) {
  TempDir t;
  std::string dir = t.path() + "/nested/cache";
  std::shared_ptr<KernelCache> c;
  Status st = KernelCache::open(dir, &c);
  ASSERT_TRUE(st.ok) << st.message;
  EXPECT_EQ(modeOf(dir), 0700u);
  EXPECT_EQ(modeOf(dir + "/kernels"), 0700u);
  EXPECT_EQ(modeOf(dir + "/tuning"), 0700u);
}

TEST(CacheTrust, RefusesDirectoriesOthersCanWrite) {
  TempDir t;
  for (unsigned mode : {0777u, 0775u, 0722u, 01777u}) {
    std::string dir = t.path() + "/shared" + std::to_string(mode);
    ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
    ASSERT_EQ(chmod(dir.c_str(), mode), 0);
    std::shared_ptr<KernelCache> c;
    Status st = KernelCache::open(dir, &c);
    EXPECT_FALSE(st.ok) << "mode " << std::oct << mode << " accepted";
    EXPECT_NE(st.message.find("writable by other users"), std::string::npos) << st.message;
    EXPECT_NE(st.message.find(dir), std::string::npos) << st.message;
    EXPECT_NE(st.message.find("chmod 700"), std::string::npos) << st.message;
  }
  // A subdirectory others can write is refused too.
  std::string dir = t.path() + "/subdir-open";
  std::shared_ptr<KernelCache> c;
  ASSERT_TRUE(KernelCache::open(dir, &c).ok);
  chmod((dir + "/kernels").c_str(), 0777);
  Status st = KernelCache::open(dir, &c);
  EXPECT_FALSE(st.ok);
  EXPECT_NE(st.message.find("kernels"), std::string::npos) << st.message;
}

TEST(CacheTrust, RefusesDirectoryOwnedBySomeoneElse) {
  if (geteuid() != 0)
    GTEST_SKIP() << "needs root to create a directory owned by another user";
  TempDir t;
  std::string dir = t.path() + "/theirs";
  ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
  ASSERT_EQ(chown(dir.c_str(), 65534, 65534), 0);
  Status st = ensurePrivateDir(dir);
  EXPECT_FALSE(st.ok);
  EXPECT_NE(st.message.find("not by you"), std::string::npos) << st.message;
}

TEST(CacheTrust, RefusesAFileWhereTheDirectoryShouldBe) {
  TempDir t;
  std::string p = t.path() + "/file";
  writeFile(p, "x");
  Status st = ensurePrivateDir(p);
  EXPECT_FALSE(st.ok);
}

TEST(CacheTrust, LoadProgramReportsARefusedCacheDir) {
  TempDir t;
  std::string dir = t.path() + "/open";
  ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
  ASSERT_EQ(chmod(dir.c_str(), 0777), 0);
  ScopedEnv env("HYP_CACHE_DIR", dir);
  std::shared_ptr<Program> p;
  Status st = loadProgram(kTestSource, kTestMetadata, &p);
  EXPECT_FALSE(st.ok);
  EXPECT_NE(st.message.find("kernel cache refused"), std::string::npos) << st.message;
  EXPECT_NE(st.message.find("writable by other users"), std::string::npos) << st.message;
}

TEST(CacheTrust, DefaultDirFollowsTheEnvironment) {
  {
    ScopedEnv a("HYP_CACHE_DIR", "/x/y");
    EXPECT_EQ(defaultCacheDir(), "/x/y");
  }
  ScopedEnv a("HYP_CACHE_DIR", "");
  {
    ScopedEnv x("XDG_CACHE_HOME", "/xdg");
    EXPECT_EQ(defaultCacheDir(), "/xdg/hyplora");
  }
  ScopedEnv x("XDG_CACHE_HOME", "");
  ScopedEnv h("HOME", "/home/u");
  EXPECT_EQ(defaultCacheDir(), "/home/u/.cache/hyplora");
}

TEST(CacheEntries, RoundTripIsPrivateAndLeavesNoTempFiles) {
  TempDir t;
  std::shared_ptr<KernelCache> c;
  ASSERT_TRUE(KernelCache::open(t.path(), &c).ok);
  std::string cubin = fakeCubin(90), got, why;
  bool hit = true;
  ASSERT_TRUE(c->lookup(kKey, "sm_90", &got, &hit, &why).ok);
  EXPECT_FALSE(hit);
  EXPECT_EQ(why, "absent");
  Status st = c->store(kKey, "sm_90", cubin);
  ASSERT_TRUE(st.ok) << st.message;
  EXPECT_EQ(modeOf(c->entryPath(kKey)), 0600u);
  EXPECT_EQ(listDir(c->kernelsDir()), std::vector<std::string>{kKey + ".cubin"});
  ASSERT_TRUE(c->lookup(kKey, "sm_90", &got, &hit, &why).ok);
  EXPECT_TRUE(hit) << why;
  EXPECT_EQ(got, cubin);
}

TEST(CacheEntries, CorruptEntriesAreMissesWithAReason) {
  const std::string cubin = fakeCubin(90, 1000);
  const std::string good = KernelCache::encodeEntry(kKey, "sm_90", cubin);
  std::string out;
  ASSERT_EQ(KernelCache::verifyEntry(good, kKey, "sm_90", &out), "");
  ASSERT_EQ(out, cubin);

  // Truncated anywhere: inside the magic, the header, or the payload.
  for (size_t cut : {size_t(0), size_t(5), size_t(20), good.size() / 2, good.size() - 1}) {
    std::string why = KernelCache::verifyEntry(good.substr(0, cut), kKey, "sm_90", &out);
    EXPECT_NE(why, "") << "truncation at " << cut << " accepted";
  }
  EXPECT_NE(KernelCache::verifyEntry(good.substr(0, good.size() - 1), kKey, "sm_90", &out)
                .find("truncated payload"),
            std::string::npos);
  // Garbage.
  std::mt19937 rng(1234);
  std::string garbage(good.size(), '\0');
  for (char &ch : garbage)
    ch = char(rng());
  EXPECT_NE(KernelCache::verifyEntry(garbage, kKey, "sm_90", &out).find("bad magic"),
            std::string::npos);
  std::string badHeader = good;
  badHeader[20] = '{';
  badHeader[21] = '{';
  EXPECT_NE(KernelCache::verifyEntry(badHeader, kKey, "sm_90", &out), "");
  // Payload bit flip: hash mismatch.
  std::string flipped = good;
  flipped[good.size() - 10] ^= 0x01;
  EXPECT_NE(KernelCache::verifyEntry(flipped, kKey, "sm_90", &out).find("sha256 mismatch"),
            std::string::npos);
  // Wrong arch recorded, and a right-arch header over a wrong-arch cubin.
  EXPECT_NE(KernelCache::verifyEntry(KernelCache::encodeEntry(kKey, "sm_80", cubin), kKey,
                                     "sm_90", &out)
                .find("arch mismatch"),
            std::string::npos);
  EXPECT_NE(KernelCache::verifyEntry(KernelCache::encodeEntry(kKey, "sm_90", fakeCubin(80)),
                                     kKey, "sm_90", &out)
                .find("cubin is for sm_80"),
            std::string::npos);
  // An entry of another key copied under this name.
  EXPECT_NE(KernelCache::verifyEntry(KernelCache::encodeEntry(std::string(64, 'b'), "sm_90", cubin),
                                     kKey, "sm_90", &out)
                .find("key mismatch"),
            std::string::npos);
  // A payload that is not a CUDA ELF.
  EXPECT_NE(KernelCache::verifyEntry(KernelCache::encodeEntry(kKey, "sm_90", std::string(300, 'z')),
                                     kKey, "sm_90", &out)
                .find("not a CUDA ELF"),
            std::string::npos);
}

TEST(CacheEntries, OnDiskCorruptionIsDetectedThenRepairedByStore) {
  TempDir t;
  std::shared_ptr<KernelCache> c;
  ASSERT_TRUE(KernelCache::open(t.path(), &c).ok);
  std::string cubin = fakeCubin(90, 2000), got, why;
  bool hit = false;
  ASSERT_TRUE(c->store(kKey, "sm_90", cubin).ok);
  std::string entry = readFile(c->entryPath(kKey));

  writeFile(c->entryPath(kKey), entry.substr(0, entry.size() / 3));
  ASSERT_TRUE(c->lookup(kKey, "sm_90", &got, &hit, &why).ok);
  EXPECT_FALSE(hit);
  EXPECT_NE(why.find("truncated"), std::string::npos) << why;

  ASSERT_TRUE(c->store(kKey, "sm_90", cubin).ok);
  ASSERT_TRUE(c->lookup(kKey, "sm_90", &got, &hit, &why).ok);
  EXPECT_TRUE(hit) << why;

  // Asked for another arch: the key differs in practice, but even under the
  // same name the entry is refused.
  ASSERT_TRUE(c->lookup(kKey, "sm_100", &got, &hit, &why).ok);
  EXPECT_FALSE(hit);
  EXPECT_NE(why.find("arch mismatch"), std::string::npos) << why;
}

TEST(CacheEntries, EntriesOthersCouldWriteOrSymlinksAreNotTrusted) {
  TempDir t;
  std::shared_ptr<KernelCache> c;
  ASSERT_TRUE(KernelCache::open(t.path(), &c).ok);
  std::string cubin = fakeCubin(90), got, why;
  bool hit = true;
  ASSERT_TRUE(c->store(kKey, "sm_90", cubin).ok);
  chmod(c->entryPath(kKey).c_str(), 0666);
  ASSERT_TRUE(c->lookup(kKey, "sm_90", &got, &hit, &why).ok);
  EXPECT_FALSE(hit);
  EXPECT_NE(why.find("not trusted"), std::string::npos) << why;
  // store replaces it (rename) with a private file.
  ASSERT_TRUE(c->store(kKey, "sm_90", cubin).ok);
  EXPECT_EQ(modeOf(c->entryPath(kKey)), 0600u);
  ASSERT_TRUE(c->lookup(kKey, "sm_90", &got, &hit, &why).ok);
  EXPECT_TRUE(hit) << why;

  // A symlink planted under an entry's name is not followed.
  std::string other = t.path() + "/elsewhere.cubin";
  writeFile(other, KernelCache::encodeEntry(std::string(64, 'c'), "sm_90", cubin));
  chmod(other.c_str(), 0600);
  std::string linkPath = c->entryPath(std::string(64, 'c'));
  ASSERT_EQ(symlink(other.c_str(), linkPath.c_str()), 0);
  ASSERT_TRUE(c->lookup(std::string(64, 'c'), "sm_90", &got, &hit, &why).ok);
  EXPECT_FALSE(hit) << "followed a symlink";
}

TEST(CacheControl, StatsAndClear) {
  TempDir t;
  std::shared_ptr<KernelCache> c;
  ASSERT_TRUE(KernelCache::open(t.path(), &c).ok);
  for (char ch : {'1', '2', '3'})
    ASSERT_TRUE(c->store(std::string(64, ch), "sm_90", fakeCubin(90, 500)).ok);
  writeFile(c->tuningDir() + "/abc.json", "{}");
  writeFile(c->kernelsDir() + "/.tmp-123456-x.cubin", "partial"); // a crashed writer's leftover
  writeFile(c->kernelsDir() + "/README", "not ours");
  CacheStats s;
  ASSERT_TRUE(cacheStats(&s, t.path()).ok);
  EXPECT_EQ(s.path, t.path());
  EXPECT_EQ(s.kernelEntries, 3u);
  EXPECT_EQ(s.tuningEntries, 1u);
  EXPECT_GT(s.bytes, 3u * 500u);
  ASSERT_TRUE(clearCache(t.path()).ok);
  ASSERT_TRUE(cacheStats(&s, t.path()).ok);
  EXPECT_EQ(s.kernelEntries, 0u);
  EXPECT_EQ(s.tuningEntries, 0u);
  EXPECT_EQ(s.bytes, 0u);
  EXPECT_TRUE(exists(c->kernelsDir() + "/README")) << "clearCache removed a file it does not own";
  EXPECT_TRUE(exists(t.path() + "/kernels"));
}
