//===- CacheKeyTest.cpp - the cubin key is stable and sees every field ----===//
#include "hyp/Runtime/CacheKey.h"

#include <gtest/gtest.h>

#include <functional>
#include <set>

using namespace hyp::rt;

namespace {
CacheKeyInputs baseInputs() {
  CacheKeyInputs in;
  in.source = "extern \"C\" __global__ void k(float *p) { p[0] = BLOCK_M; }";
  in.options = {"--gpu-architecture=sm_90", "-std=c++17", "-DBLOCK_M=16"};
  in.config = {{"BLOCK_M", 16}, {"THREADS", 128}};
  in.arch = "sm_90";
  in.nvrtcVersion = "13.0";
  in.compilerVersion = "hypc 0.1.0+abc";
  in.runtimeVersion = "0.1.0+def";
  return in;
}
} // namespace

TEST(CacheKey, StableAndHex) {
  std::string a = computeCacheKey(baseInputs());
  std::string b = computeCacheKey(baseInputs());
  EXPECT_EQ(a, b);
  ASSERT_EQ(a.size(), 64u);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos);
}

TEST(CacheKey, KnownAnswerSha256) {
  // FIPS 180-2 test vector: the key's hash primitive is plain SHA-256.
  EXPECT_EQ(sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(CacheKey, EveryFieldChangesTheKey) {
  const std::string base = computeCacheKey(baseInputs());
  std::vector<std::pair<const char *, std::function<void(CacheKeyInputs &)>>> edits = {
      {"source", [](CacheKeyInputs &i) { i.source += " "; }},
      {"options: one changed", [](CacheKeyInputs &i) { i.options[2] = "-DBLOCK_M=32"; }},
      {"options: one added", [](CacheKeyInputs &i) { i.options.push_back("--use_fast_math"); }},
      {"options: reordered", [](CacheKeyInputs &i) { std::swap(i.options[0], i.options[1]); }},
      {"config value", [](CacheKeyInputs &i) { i.config[1].second = 256; }},
      {"config name", [](CacheKeyInputs &i) { i.config[1].first = "WARPS"; }},
      {"config dropped", [](CacheKeyInputs &i) { i.config.pop_back(); }},
      {"arch", [](CacheKeyInputs &i) { i.arch = "sm_80"; }},
      {"arch variant", [](CacheKeyInputs &i) { i.arch = "sm_90a"; }},
      {"nvrtc version", [](CacheKeyInputs &i) { i.nvrtcVersion = "12.8"; }},
      {"compiler version", [](CacheKeyInputs &i) { i.compilerVersion = "hypc 0.1.0+abd"; }},
      {"runtime version", [](CacheKeyInputs &i) { i.runtimeVersion = "0.1.1+def"; }},
  };
  std::set<std::string> seen = {base};
  for (auto &[what, edit] : edits) {
    CacheKeyInputs in = baseInputs();
    edit(in);
    std::string k = computeCacheKey(in);
    EXPECT_NE(k, base) << what << " does not change the key";
    EXPECT_TRUE(seen.insert(k).second) << what << " collides with another edit";
  }
}

TEST(CacheKey, FieldBoundariesAreUnambiguous) {
  // Moving bytes from one field to the next must change the key.
  CacheKeyInputs a = baseInputs(), b = baseInputs();
  a.compilerVersion = "hypc 1";
  a.runtimeVersion = "2";
  b.compilerVersion = "hypc ";
  b.runtimeVersion = "12";
  EXPECT_NE(computeCacheKey(a), computeCacheKey(b));
  CacheKeyInputs c = baseInputs(), d = baseInputs();
  c.options = {"-DA", "B"};
  d.options = {"-DAB"};
  EXPECT_NE(computeCacheKey(c), computeCacheKey(d));
}

TEST(CacheKey, RuntimeVersionIsTheBuildVersion) {
  std::string v = runtimeVersion();
  EXPECT_FALSE(v.empty());
  EXPECT_NE(v.find('+'), std::string::npos) << "expected <version>+<commit>, got " << v;
}
