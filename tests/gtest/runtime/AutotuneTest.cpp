//===- AutotuneTest.cpp - candidates, pruning, tuning keys and files ------===//
#include "TestKernels.h"
#include "TestUtil.h"
#include "hyp/Runtime/Autotune.h"
#include "hyp/Runtime/KernelCache.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <sys/stat.h>

using namespace hyp::rt;
using namespace hyp::rt::hyptest;

namespace {
ProgramMetadata testMetadata() {
  ProgramMetadata md;
  Status st = parseMetadata(kTestMetadata, &md);
  EXPECT_TRUE(st.ok) << st.message;
  return md;
}
using Ints = std::vector<std::pair<std::string, int64_t>>;
} // namespace

TEST(Candidates, DefaultFirstAllValidAndCapped) {
  ProgramMetadata md = testMetadata();
  const KernelInfo &k = md.kernels[1];
  std::vector<TuningConfig> on, all, off;
  ASSERT_TRUE(candidateConfigs(k, {{"M", 1037}, {"K", 577}}, DeviceLimits(), AutotuneMode::On, &on).ok);
  ASSERT_TRUE(candidateConfigs(k, {{"M", 1037}, {"K", 577}}, DeviceLimits(), AutotuneMode::Exhaustive, &all).ok);
  ASSERT_TRUE(candidateConfigs(k, {{"M", 1037}, {"K", 577}}, DeviceLimits(), AutotuneMode::Off, &off).ok);
  EXPECT_EQ(all.size(), 33u); // 4*3*3 minus the 3 with BLOCK_M*THREADS > 1024
  EXPECT_LE(on.size(), kMaxTunedCandidates);
  EXPECT_GE(on.size(), 8u);
  ASSERT_EQ(off.size(), 1u);
  EXPECT_EQ(off[0], defaultConfig(k));
  EXPECT_EQ(on[0], defaultConfig(k));
  EXPECT_EQ(all[0], defaultConfig(k));
  std::set<TuningConfig> unique(all.begin(), all.end());
  EXPECT_EQ(unique.size(), all.size());
  for (const TuningConfig &c : all)
    EXPECT_TRUE(validateConfig(k, c).ok) << configToString(k, c);
}

TEST(Candidates, TilesBeyondTheExtentAreOneCandidate) {
  ProgramMetadata md = testMetadata();
  const KernelInfo &k = md.kernels[1];
  std::vector<TuningConfig> c;
  ASSERT_TRUE(candidateConfigs(k, {{"M", 3}, {"K", 64}}, DeviceLimits(), AutotuneMode::On, &c).ok);
  for (const TuningConfig &x : c)
    EXPECT_NE(x[0], 8) << "BLOCK_M=8 kept although BLOCK_M=4 already covers M=3: "
                       << configToString(k, x);
  bool hasFour = false;
  for (const TuningConfig &x : c)
    hasFour |= x[0] == 4;
  EXPECT_TRUE(hasFour);
  // Exhaustive keeps them all.
  ASSERT_TRUE(candidateConfigs(k, {{"M", 3}, {"K", 64}}, DeviceLimits(), AutotuneMode::Exhaustive, &c).ok);
  EXPECT_EQ(c.size(), 33u);
}

TEST(Candidates, DeviceLimitsPrune) {
  ProgramMetadata md = testMetadata();
  const KernelInfo &k = md.kernels[1];
  DeviceLimits small;
  small.maxThreadsPerBlock = 128;
  std::vector<TuningConfig> c;
  ASSERT_TRUE(candidateConfigs(k, {{"M", 100}, {"K", 64}}, small, AutotuneMode::Exhaustive, &c).ok);
  EXPECT_EQ(c.size(), 24u);
  for (const TuningConfig &x : c)
    EXPECT_LE(x[1], 128);
  small.maxThreadsPerBlock = 16;
  Status st = candidateConfigs(k, {{"M", 100}, {"K", 64}}, small, AutotuneMode::On, &c);
  EXPECT_FALSE(st.ok);
  EXPECT_NE(st.message.find("no config satisfies"), std::string::npos) << st.message;
}

TEST(Candidates, SmemExpressionsAndLimits) {
  std::string json = kTestMetadata;
  json.replace(json.rfind("\"dynamic_smem\": 0"), 17, "\"dynamic_smem\": \"BLOCK_M*THREADS*64\"");
  ProgramMetadata md;
  Status st = parseMetadata(json, &md);
  ASSERT_TRUE(st.ok) << st.message;
  const KernelInfo &k = md.kernels[1];
  int64_t bytes = 0;
  ASSERT_TRUE(dynamicSmemBytes(k, defaultConfig(k), &bytes).ok);
  EXPECT_EQ(bytes, 4 * 128 * 64);
  DeviceLimits lim;
  lim.maxSmemPerBlock = 16 * 1024; // BLOCK_M*THREADS <= 256
  std::vector<TuningConfig> c;
  ASSERT_TRUE(candidateConfigs(k, {{"M", 100}, {"K", 64}}, lim, AutotuneMode::Exhaustive, &c).ok);
  for (const TuningConfig &x : c)
    EXPECT_LE(x[0] * x[1], 256) << configToString(k, x);
  EXPECT_FALSE(c.empty());
}

TEST(Candidates, ShapeBuckets) {
  EXPECT_EQ(shapeBucket(0), 0);
  EXPECT_EQ(shapeBucket(1), 1);
  EXPECT_EQ(shapeBucket(2), 2);
  EXPECT_EQ(shapeBucket(3), 4);
  EXPECT_EQ(shapeBucket(1000), 1024);
  EXPECT_EQ(shapeBucket(1024), 1024);
  EXPECT_EQ(shapeBucket(1025), 2048);
  EXPECT_EQ(shapeBucket(16384), 16384);
}

TEST(TuningKey, SeesEveryFieldThatMatters) {
  ProgramMetadata md = testMetadata();
  const KernelInfo &k = md.kernels[1];
  const std::string base = tuningKey(k, "constants:K=577", "sm_90", Ints{{"M", 1024}, {"K", 577}});
  EXPECT_EQ(base, tuningKey(k, "constants:K=577", "sm_90", Ints{{"M", 1024}, {"K", 577}}));
  EXPECT_NE(base, tuningKey(k, "constants:K=576", "sm_90", Ints{{"M", 1024}, {"K", 577}}));
  EXPECT_NE(base, tuningKey(k, "constants:K=577", "sm_100", Ints{{"M", 1024}, {"K", 577}}));
  EXPECT_NE(base, tuningKey(k, "constants:K=577", "sm_90", Ints{{"M", 2048}, {"K", 577}}));
  EXPECT_NE(base, tuningKey(k, "constants:K=577", "sm_90", Ints{{"M", 1024}, {"K", 578}}));
  EXPECT_NE(base, tuningKey(md.kernels[0], "constants:K=577", "sm_90", Ints{{"M", 1024}, {"K", 577}}));
  KernelInfo dtype = k;
  dtype.params[0].elem = ElemType::F16;
  EXPECT_NE(base, tuningKey(dtype, "constants:K=577", "sm_90", Ints{{"M", 1024}, {"K", 577}}));
  KernelInfo space = k;
  space.tunables[2].values.push_back(8);
  EXPECT_NE(base, tuningKey(space, "constants:K=577", "sm_90", Ints{{"M", 1024}, {"K", 577}}));
  KernelInfo constrained = k;
  constrained.constraints.push_back("VEC<=2");
  EXPECT_NE(base, tuningKey(constrained, "constants:K=577", "sm_90", Ints{{"M", 1024}, {"K", 577}}));
  // M in the same bucket -> same key (the caller buckets).
  EXPECT_EQ(tuningKey(k, "p", "sm_90", Ints{{"M", shapeBucket(700)}}),
            tuningKey(k, "p", "sm_90", Ints{{"M", shapeBucket(1000)}}));
  EXPECT_EQ(tuningFileName(base).size(), 64u + 5u);
}

TEST(TuningFile, RoundTripAndRejections) {
  TuningRecord r;
  r.key = "key-1";
  r.kernel = "hyp_test_rowscale";
  r.arch = "sm_90";
  r.config = {{"BLOCK_M", 2}, {"THREADS", 256}, {"VEC", 4}};
  r.bestMs = 0.0125;
  r.candidates = {{"BLOCK_M=2,THREADS=256,VEC=4", 0.0125, ""},
                  {"BLOCK_M=8,THREADS=128,VEC=4", std::numeric_limits<double>::infinity(),
                   "too many resources requested for launch"}};
  std::string text = encodeTuningRecord(r);
  TuningRecord back;
  Status st = decodeTuningRecord(text, "key-1", &back);
  ASSERT_TRUE(st.ok) << st.message;
  EXPECT_EQ(back.config, r.config);
  EXPECT_EQ(back.kernel, r.kernel);
  EXPECT_EQ(back.arch, "sm_90");
  EXPECT_DOUBLE_EQ(back.bestMs, 0.0125);
  ASSERT_EQ(back.candidates.size(), 2u);
  EXPECT_TRUE(std::isinf(back.candidates[1].ms));
  EXPECT_EQ(back.candidates[1].error, "too many resources requested for launch");

  EXPECT_NE(decodeTuningRecord(text, "key-2", &back).message.find("key mismatch"), std::string::npos);
  EXPECT_NE(decodeTuningRecord(text.substr(0, text.size() / 2), "key-1", &back).message.find("not valid JSON"),
            std::string::npos);
  std::string other = text;
  other.replace(other.find("hyprt-tuning 1"), 14, "hyprt-tuning 9");
  EXPECT_NE(decodeTuningRecord(other, "key-1", &back).message.find("format"), std::string::npos);
  std::string badValue = text;
  badValue.replace(badValue.find("\"BLOCK_M\": 2"), 12, "\"BLOCK_M\": \"2\"");
  EXPECT_FALSE(decodeTuningRecord(badValue, "key-1", &back).ok);
}

TEST(TuningFile, PersistedPrivatelyAndValidatedOnLoad) {
  TempDir t;
  std::shared_ptr<KernelCache> c;
  ASSERT_TRUE(KernelCache::open(t.path(), &c).ok);
  TuningRecord r;
  r.key = "hyprt-tune-v1;kernel=k;ints=M:1024,";
  r.kernel = "k";
  r.arch = "sm_90";
  r.config = {{"THREADS", 64}};
  r.bestMs = 0.5;
  TuningRecord back;
  bool found = true;
  std::string why;
  ASSERT_TRUE(loadTuningRecord(c->tuningDir(), r.key, &back, &found, &why).ok);
  EXPECT_FALSE(found);
  EXPECT_EQ(why, "absent");
  ASSERT_TRUE(storeTuningRecord(c->tuningDir(), r).ok);
  std::string path = c->tuningDir() + "/" + tuningFileName(r.key);
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_TRUE(loadTuningRecord(c->tuningDir(), r.key, &back, &found, &why).ok);
  EXPECT_TRUE(found) << why;
  EXPECT_EQ(back.config, r.config);

  writeFile(path, "garbage{");
  ASSERT_TRUE(loadTuningRecord(c->tuningDir(), r.key, &back, &found, &why).ok);
  EXPECT_FALSE(found);
  EXPECT_NE(why.find("not valid JSON"), std::string::npos) << why;

  ASSERT_TRUE(storeTuningRecord(c->tuningDir(), r).ok);
  chmod(path.c_str(), 0666);
  ASSERT_TRUE(loadTuningRecord(c->tuningDir(), r.key, &back, &found, &why).ok);
  EXPECT_FALSE(found);
  EXPECT_NE(why.find("not trusted"), std::string::npos) << why;
}

TEST(AutotuneMode, ParseSetGet) {
  AutotuneMode m;
  ASSERT_TRUE(parseAutotuneMode("0", &m).ok);
  EXPECT_EQ(m, AutotuneMode::Off);
  ASSERT_TRUE(parseAutotuneMode("1", &m).ok);
  EXPECT_EQ(m, AutotuneMode::On);
  ASSERT_TRUE(parseAutotuneMode("exhaustive", &m).ok);
  EXPECT_EQ(m, AutotuneMode::Exhaustive);
  Status st = parseAutotuneMode("fast", &m);
  EXPECT_FALSE(st.ok);
  EXPECT_NE(st.message.find("HYP_AUTOTUNE='fast'"), std::string::npos) << st.message;
  AutotuneMode before = autotuneMode();
  setAutotuneMode(AutotuneMode::Exhaustive);
  EXPECT_EQ(autotuneMode(), AutotuneMode::Exhaustive);
  setAutotuneMode(before);
  bool p = printAutotuning();
  setPrintAutotuning(!p);
  EXPECT_EQ(printAutotuning(), !p);
  setPrintAutotuning(p);
}
