//===- MetadataTest.cpp - metadata parsing, validation, expressions -------===//
#include "TestKernels.h"
#include "hyp/Runtime/Metadata.h"

#include <gtest/gtest.h>

using namespace hyp::rt;

namespace {
std::string replaced(std::string s, const std::string &from, const std::string &to) {
  size_t at = s.find(from);
  EXPECT_NE(at, std::string::npos) << "test bug: '" << from << "' not in metadata";
  if (at != std::string::npos)
    s.replace(at, from.size(), to);
  return s;
}
Status parse(const std::string &json) {
  ProgramMetadata md;
  return parseMetadata(json, &md);
}
} // namespace

TEST(Metadata, ParsesTheTestProgram) {
  ProgramMetadata md;
  Status st = parseMetadata(hyptest::kTestMetadata, &md);
  ASSERT_TRUE(st.ok) << st.message;
  EXPECT_EQ(md.compiler, "hyprt-test-kernels 1");
  ASSERT_EQ(md.kernels.size(), 2u);
  const KernelInfo &k = md.kernels[1];
  EXPECT_EQ(k.name, "hyp_test_rowscale");
  ASSERT_EQ(k.params.size(), 7u);
  EXPECT_EQ(k.params[2].access, Access::ReadWrite);
  EXPECT_EQ(k.params[3].access, Access::Accumulate);
  EXPECT_EQ(k.params[0].elem, ElemType::BF16);
  EXPECT_EQ(k.params[6].kind, ParamKind::F32);
  EXPECT_FALSE(k.grid[0].isConst);
  EXPECT_EQ(k.grid[0].extentParam, 4);
  EXPECT_EQ(k.grid[0].tileTunable, 0);
  EXPECT_EQ(k.blockTunableIndex, 1);
  EXPECT_EQ(configToString(k, defaultConfig(k)), "BLOCK_M=4,THREADS=128,VEC=2");
  ASSERT_EQ(md.programs.at("forward").size(), 2u);
  EXPECT_EQ(md.programs.at("forward")[1], 1);
  EXPECT_EQ(md.buffers.at("y").shape, (std::vector<std::string>{"M", "K"}));
  EXPECT_EQ(md.buffers.at("total").shape, (std::vector<std::string>{"1"}));
  EXPECT_EQ(md.bucketed, (std::vector<std::string>{"M"}));
}

// {"tunable": NAME}: a const axis whose block count is the config's value
// of NAME (the split-K slices of a row-reduce).
TEST(Metadata, GridAxisCountFromATunable) {
  ProgramMetadata md;
  std::string json = hyptest::kTestMetadata;
  const std::string from = "\"tile\": \"BLOCK_M\"}, {\"const\": 1}";
  json.replace(json.find(from), from.size(), "\"tile\": \"BLOCK_M\"}, {\"tunable\": \"VEC\"}");
  Status st = parseMetadata(json, &md);
  ASSERT_TRUE(st.ok) << st.message;
  const GridAxis &ax = md.kernels[1].grid[1];
  EXPECT_TRUE(ax.isConst);
  EXPECT_EQ(ax.tileTunable, 2);
  EXPECT_EQ(ax.constBlocks(defaultConfig(md.kernels[1])), 2);
  EXPECT_EQ(ax.constBlocks({4, 128, 4}), 4);
  EXPECT_EQ(md.kernels[1].grid[2].constBlocks({4, 128, 4}), 1);
}

TEST(Metadata, ErrorsNameTheField) {
  const std::string good = hyptest::kTestMetadata;
  struct Case {
    std::string json, expect;
  } cases[] = {
      {"{not json", "not valid JSON"},
      {"[]", "not an object"},
      {replaced(good, "\"schema\": 1", "\"schema\": 2"), "schema"},
      {replaced(good, "\"compiler\": \"hyprt-test-kernels 1\"", "\"compiler\": \"\""), "compiler"},
      {replaced(good, "\"kind\": \"i64\"", "\"kind\": \"i65\""), "kernels[0].params[2].kind"},
      {replaced(good, "\"access\": \"write\"", "\"access\": \"scribble\""),
       "kernels[0].params[1].access"},
      {replaced(good, "\"elem\": \"f32\", \"access\": \"write\"", "\"elem\": \"f8\", \"access\": \"write\""),
       "unknown elem 'f8'"},
      {replaced(good, "{\"extent\": \"M\"}", "{\"extent\": \"Q\"}"), "kernels[0].grid[0].extent"},
      {replaced(good, "\"tile\": \"BLOCK_M\"", "\"tile\": \"NOPE\""), "kernels[1].grid[0].tile"},
      {replaced(good, "\"tile\": \"BLOCK_M\"}, {\"const\": 1}", "\"tile\": \"BLOCK_M\"}, {\"tunable\": \"NOPE\"}"),
       "kernels[1].grid[1].tunable"},
      {replaced(good, "\"default\": 128}]", "\"default\": 100}]"), "kernels[0].tunables[0].default"},
      {replaced(good, "\"BLOCK_M*THREADS<=1024\"", "\"BLOCK_M*THREADS<=64\""), "default config invalid"},
      {replaced(good, "\"BLOCK_M*THREADS<=1024\"", "\"BLOCK_M*WARPS<=1024\""), "unknown name 'WARPS'"},
      {replaced(good, "[\"hyp_test_rownorm\", \"hyp_test_rowscale\"]", "[\"hyp_test_nothing\"]"),
       "programs.forward[0]"},
      {replaced(good, "\"name\": \"hyp_test_rownorm\"", "\"name\": \"hyp_test_rowscale\""),
       "duplicate kernel"},
      {replaced(good, "\"name\": \"nrm\"", "\"name\": \"x\""), "duplicate name 'x'"},
      {replaced(good, "{\"name\": \"nrm\", \"kind\": \"ptr\", \"elem\": \"f32\"",
                "{\"name\": \"s\", \"kind\": \"ptr\", \"elem\": \"f16\""),
       "differ from another kernel"},
      {replaced(good, "\"block\": \"THREADS\"", "\"block\": 4096"), "kernels[0].block"},
  };
  for (const Case &c : cases) {
    Status st = parse(c.json);
    EXPECT_FALSE(st.ok) << "accepted: " << c.json.substr(0, 80);
    EXPECT_NE(st.message.find(c.expect), std::string::npos)
        << "message '" << st.message << "' lacks '" << c.expect << "'";
    EXPECT_EQ(st.message.rfind("metadata: ", 0), 0u) << st.message;
  }
}

/// The test metadata with `fields` (", \"name\": value ...") added at top level.
Status parseWithFields(const std::string &fields, ProgramMetadata *md) {
  std::string json = hyptest::kTestMetadata;
  json.insert(json.rfind('}'), fields);
  return parseMetadata(json, md);
}

TEST(Metadata, OptionalExtensions) {
  ProgramMetadata md;
  Status st = parseWithFields(", \"constants\": {\"K\": 577, \"r\": 32}, \"bucketed\": [\"M\", \"T\"]",
                              &md);
  ASSERT_TRUE(st.ok) << st.message;
  EXPECT_EQ(md.constants.at("K"), 577);
  EXPECT_EQ(md.constants.at("r"), 32);
  EXPECT_EQ(md.bucketed, (std::vector<std::string>{"M", "T"}));
  EXPECT_TRUE(md.untuned.empty());
}

TEST(Metadata, UntunedExtension) {
  ProgramMetadata md;
  Status st = parseWithFields(", \"untuned\": [\"M\"]", &md);
  ASSERT_TRUE(st.ok) << st.message;
  EXPECT_EQ(md.untuned, (std::vector<std::string>{"M"}));

  st = parseWithFields(", \"untuned\": \"M\"", &md);
  ASSERT_FALSE(st.ok);
  EXPECT_NE(st.message.find("untuned"), std::string::npos) << st.message;
}

TEST(Metadata, LaunchOnlyTunables) {
  const std::string good = hyptest::kTestMetadata;
  const std::string vec = "{\"name\": \"VEC\", \"values\": [1, 2, 4], \"default\": 2}";
  ProgramMetadata md;
  Status st = parseMetadata(
      replaced(good, vec, "{\"name\": \"VEC\", \"values\": [1, 2, 4], \"default\": 2, "
                          "\"launch_only\": true}"),
      &md);
  ASSERT_TRUE(st.ok) << st.message;
  EXPECT_TRUE(md.kernels[1].tunables[2].launchOnly);
  EXPECT_FALSE(md.kernels[1].tunables[0].launchOnly);
  st = parse(replaced(good, vec, "{\"name\": \"VEC\", \"values\": [1, 2, 4], \"default\": 2, "
                                 "\"launch_only\": 1}"));
  EXPECT_FALSE(st.ok);
  EXPECT_NE(st.message.find("kernels[1].tunables[2].launch_only: not a boolean"), std::string::npos)
      << st.message;
  // The block size is compiled into __launch_bounds__: never launch-only.
  st = parse(replaced(good, "{\"name\": \"THREADS\", \"values\": [64, 128, 256], \"default\": 128}",
                      "{\"name\": \"THREADS\", \"values\": [64, 128, 256], \"default\": 128, "
                      "\"launch_only\": true}"));
  EXPECT_FALSE(st.ok);
  EXPECT_NE(st.message.find("kernels[1].block: 'THREADS' is launch_only"), std::string::npos)
      << st.message;
}

TEST(Metadata, NvrtcOptionsExtension) {
  ProgramMetadata md;
  Status st = parseWithFields(", \"nvrtc_options\": [\"-lineinfo\"]", &md);
  ASSERT_TRUE(st.ok) << st.message;
  EXPECT_EQ(md.nvrtcOptions, std::vector<std::string>{"-lineinfo"});
  for (const char *bad : {"\"--gpu-architecture=sm_80\"", "\"-I/tmp\"", "\"lineinfo\"", "3"}) {
    st = parseWithFields(std::string(", \"nvrtc_options\": [") + bad + "]", &md);
    EXPECT_FALSE(st.ok) << bad;
    EXPECT_NE(st.message.find("nvrtc_options[0]"), std::string::npos) << st.message;
  }
}

TEST(Metadata, IntExpressions) {
  auto lookup = [](const std::string &n, int64_t *v) {
    if (n == "A") { *v = 6; return true; }
    if (n == "B_2") { *v = 4; return true; }
    return false;
  };
  struct Case { const char *expr; int64_t want; } cases[] = {
      {"1+2*3", 7}, {"(1+2)*3", 9}, {"A*B_2<=24", 1}, {"A*B_2<24", 0}, {"A/B_2", 1},
      {"A%B_2", 2}, {"-A+10", 4}, {"A==6 && B_2==4", 1}, {"A==6 && B_2==5", 0},
      {"A==7 || B_2==4", 1}, {"!0", 1}, {"A >= 6", 1}, {"A != 6", 0}, {" 48 * 1024 ", 49152},
  };
  for (const Case &c : cases) {
    int64_t v = -999;
    Status st = evalIntExpr(c.expr, lookup, &v);
    ASSERT_TRUE(st.ok) << c.expr << ": " << st.message;
    EXPECT_EQ(v, c.want) << c.expr;
  }
  for (const char *bad : {"A/0", "A+", "C*2", "(A", "A $ 2", "", "99999999999999999999"}) {
    int64_t v;
    Status st = evalIntExpr(bad, lookup, &v);
    EXPECT_FALSE(st.ok) << "accepted '" << bad << "'";
    EXPECT_NE(st.message.find("expression"), std::string::npos) << st.message;
  }
}

TEST(Metadata, ConfigValidation) {
  ProgramMetadata md;
  ASSERT_TRUE(parseMetadata(hyptest::kTestMetadata, &md).ok);
  const KernelInfo &k = md.kernels[1];
  TuningConfig c;
  EXPECT_TRUE(configFromMap(k, {{"BLOCK_M", 8}, {"THREADS", 128}}, &c).ok);
  EXPECT_EQ(c, (TuningConfig{8, 128, 2}));
  Status st = configFromMap(k, {{"BLOCK_M", 8}, {"THREADS", 256}}, &c);
  EXPECT_FALSE(st.ok);
  EXPECT_NE(st.message.find("violates constraint"), std::string::npos) << st.message;
  st = configFromMap(k, {{"BLOCK_M", 3}}, &c);
  EXPECT_NE(st.message.find("not one of its values"), std::string::npos) << st.message;
  st = configFromMap(k, {{"WARPS", 3}}, &c);
  EXPECT_NE(st.message.find("no tunable 'WARPS'"), std::string::npos) << st.message;
  EXPECT_EQ(blockThreads(k, TuningConfig{1, 64, 4}), 64);
}
