//===- NvrtcTest.cpp - NVRTC compiles here (no GPU needed) + disk cache ---===//
#include "TestKernels.h"
#include "TestUtil.h"
#include "hyp/Runtime/Autotune.h"
#include "hyp/Runtime/KernelCache.h"
#include "hyp/Runtime/Nvrtc.h"
#include "hyp/Runtime/Runtime.h"

#include <gtest/gtest.h>

using namespace hyp::rt;
using namespace hyp::rt::hyptest;

#define REQUIRE_NVRTC()                                                        \
  do {                                                                         \
    std::string why_;                                                          \
    if (!nvrtcAvailable(&why_))                                                \
      GTEST_SKIP() << "no NVRTC: " << why_;                                    \
  } while (0)

TEST(Nvrtc, FindsLibraryAndHeaders) {
  REQUIRE_NVRTC();
  EXPECT_FALSE(nvrtcVersion().empty());
  EXPECT_NE(nvrtcLibraryPath().find("nvrtc"), std::string::npos) << nvrtcLibraryPath();
  std::string inc = cudaIncludeDir();
  ASSERT_FALSE(inc.empty()) << "no include dir with cuda_bf16.h found";
  EXPECT_TRUE(exists(inc + "/cuda_bf16.h"));
  std::vector<int> archs = nvrtcSupportedArchs();
  EXPECT_NE(std::find(archs.begin(), archs.end(), 90), archs.end()) << "NVRTC cannot target sm_90";
}

TEST(Nvrtc, CompilesTheTestKernelsToSm90Cubin) {
  REQUIRE_NVRTC();
  std::string cubin, log;
  Status st = compileToCubin(kTestSource, "test", {"-DTHREADS=64", "-DBLOCK_M=2"}, "sm_90",
                             &cubin, &log);
  ASSERT_TRUE(st.ok) << st.message;
  EXPECT_EQ(cubinSmVersion(cubin), 90);
  EXPECT_NE(cubin.find("hyp_test_rowscale"), std::string::npos);
  EXPECT_NE(cubin.find("hyp_test_rownorm"), std::string::npos);
}

TEST(Nvrtc, CompileErrorCarriesTheFullLog) {
  REQUIRE_NVRTC();
  std::string bad = "extern \"C\" __global__ void k(float *p) {\n"
                    "  p[0] = undeclared_first;\n"
                    "  p[1] = undeclared_second;\n"
                    "}\n";
  std::string cubin;
  Status st = compileToCubin(bad, "broken", {}, "sm_90", &cubin);
  ASSERT_FALSE(st.ok);
  EXPECT_NE(st.message.find("NVRTC failed to compile broken for sm_90"), std::string::npos)
      << st.message;
  EXPECT_NE(st.message.find("undeclared_first"), std::string::npos) << st.message;
  EXPECT_NE(st.message.find("undeclared_second"), std::string::npos) << st.message;
  EXPECT_NE(st.message.find("--gpu-architecture=sm_90"), std::string::npos) << st.message;
}

TEST(Nvrtc, RejectsBadArchs) {
  REQUIRE_NVRTC();
  std::string cubin;
  Status st = compileToCubin(kTestSource, "t", {}, "gfx90a", &cubin);
  EXPECT_FALSE(st.ok);
  EXPECT_NE(st.message.find("not of the form sm_XY"), std::string::npos) << st.message;
  st = compileToCubin(kTestSource, "t", {}, "sm_12", &cubin);
  EXPECT_FALSE(st.ok);
  EXPECT_NE(st.message.find("cannot target sm_12"), std::string::npos) << st.message;
}

TEST(Nvrtc, EveryConfigOfTheTestKernelsCompiles) {
  // The contract: every combination a kernel lists must compile. Checked for
  // the runtime's own test kernels (the GPU test then runs the tuned ones).
  REQUIRE_NVRTC();
  TempDir t;
  ScopedEnv env("HYP_CACHE_DIR", t.path());
  std::shared_ptr<Program> p;
  ASSERT_TRUE(loadProgram(kTestSource, kTestMetadata, &p).ok);
  for (const KernelInfo &k : p->metadata().kernels) {
    std::vector<TuningConfig> all;
    ASSERT_TRUE(candidateConfigs(k, {{"M", 1037}, {"K", 577}}, DeviceLimits(),
                                 AutotuneMode::Exhaustive, &all).ok);
    for (const TuningConfig &c : all) {
      std::map<std::string, int64_t> m;
      for (size_t i = 0; i < c.size(); ++i)
        m[k.tunables[i].name] = c[i];
      CompileResult r;
      Status st = p->compileKernel(k.name, m, "sm_90", &r);
      EXPECT_TRUE(st.ok) << k.name << " " << configToString(k, c) << ": " << st.message;
    }
  }
}

TEST(ProgramCompile, LaunchOnlyTunablesShareOneCompile) {
  // VEC marked launch_only: not a -D macro, not in the key, so its values
  // are one compile; a compiled-in tunable (BLOCK_M) still makes another.
  REQUIRE_NVRTC();
  TempDir t;
  ScopedEnv env("HYP_CACHE_DIR", t.path());
  std::string md = kTestMetadata;
  const std::string vec = "{\"name\": \"VEC\", \"values\": [1, 2, 4], \"default\": 2}";
  ASSERT_NE(md.find(vec), std::string::npos);
  md.replace(md.find(vec), vec.size(),
             "{\"name\": \"VEC\", \"values\": [1, 2, 4], \"default\": 2, \"launch_only\": true}");
  std::shared_ptr<Program> p;
  Status st = loadProgram(kTestSource, md, &p);
  ASSERT_TRUE(st.ok) << st.message;
  CompileResult a, b, c;
  ASSERT_TRUE(p->compileKernel("hyp_test_rowscale", {{"VEC", 1}}, "sm_90", &a).ok);
  ASSERT_TRUE(p->compileKernel("hyp_test_rowscale", {{"VEC", 4}}, "sm_90", &b).ok);
  EXPECT_EQ(a.key, b.key);
  EXPECT_TRUE(b.memoryHit);
  EXPECT_EQ(p->stats().compiles, 1u);
  ASSERT_TRUE(p->compileKernel("hyp_test_rowscale", {{"VEC", 1}, {"BLOCK_M", 8}}, "sm_90", &c).ok);
  EXPECT_NE(c.key, a.key);
  EXPECT_EQ(p->stats().compiles, 2u);
}

TEST(ProgramCompile, MemoryThenDiskThenRebuildAfterCorruption) {
  REQUIRE_NVRTC();
  TempDir t;
  ScopedEnv env("HYP_CACHE_DIR", t.path());
  std::shared_ptr<Program> p1;
  Status st = loadProgram(kTestSource, kTestMetadata, &p1);
  ASSERT_TRUE(st.ok) << st.message;
  EXPECT_EQ(p1->cacheDir(), t.path());

  CompileResult cold, hot;
  ASSERT_TRUE(p1->compileKernel("hyp_test_rowscale", {}, "sm_90", &cold).ok);
  EXPECT_FALSE(cold.memoryHit);
  EXPECT_FALSE(cold.diskHit);
  EXPECT_EQ(cold.diskMissReason, "absent");
  EXPECT_EQ(cubinSmVersion(cold.cubin), 90);
  ASSERT_TRUE(p1->compileKernel("hyp_test_rowscale", {}, "sm_90", &hot).ok);
  EXPECT_TRUE(hot.memoryHit);
  EXPECT_EQ(hot.key, cold.key);
  EXPECT_EQ(p1->stats().compiles, 1u);

  // A second Program (as a second process would) loads it from disk.
  std::shared_ptr<Program> p2;
  ASSERT_TRUE(loadProgram(kTestSource, kTestMetadata, &p2).ok);
  CompileResult warm;
  ASSERT_TRUE(p2->compileKernel("hyp_test_rowscale", {}, "sm_90", &warm).ok);
  EXPECT_TRUE(warm.diskHit) << warm.diskMissReason;
  EXPECT_EQ(warm.key, cold.key);
  EXPECT_EQ(warm.cubin, cold.cubin);
  EXPECT_EQ(p2->stats().compiles, 0u);
  EXPECT_EQ(p2->stats().diskHits, 1u);

  // Both kernels share a translation unit: same defines -> the same cubin.
  CompileResult other;
  ASSERT_TRUE(p2->compileKernel("hyp_test_rowscale", {{"BLOCK_M", 8}}, "sm_90", &other).ok);
  EXPECT_NE(other.key, cold.key);
  ASSERT_TRUE(p2->compileKernel("hyp_test_rowscale", {}, "sm_80", &other).ok);
  EXPECT_NE(other.key, cold.key);
  EXPECT_EQ(cubinSmVersion(other.cubin), 80);

  // Corrupt the entry: the next process detects it, rebuilds, repairs it.
  std::string path = t.path() + "/kernels/" + cold.key + ".cubin";
  std::string entry = readFile(path);
  entry[entry.size() - 100] ^= 0x55;
  writeFile(path, entry);
  std::shared_ptr<Program> p3;
  ASSERT_TRUE(loadProgram(kTestSource, kTestMetadata, &p3).ok);
  CompileResult rebuilt;
  ASSERT_TRUE(p3->compileKernel("hyp_test_rowscale", {}, "sm_90", &rebuilt).ok);
  EXPECT_FALSE(rebuilt.diskHit);
  EXPECT_NE(rebuilt.diskMissReason.find("sha256 mismatch"), std::string::npos)
      << rebuilt.diskMissReason;
  EXPECT_EQ(p3->stats().compiles, 1u);
  std::shared_ptr<Program> p4;
  ASSERT_TRUE(loadProgram(kTestSource, kTestMetadata, &p4).ok);
  CompileResult again;
  ASSERT_TRUE(p4->compileKernel("hyp_test_rowscale", {}, "sm_90", &again).ok);
  EXPECT_TRUE(again.diskHit) << again.diskMissReason;
}

TEST(ProgramCompile, SourceAndCompilerVersionChangeTheKey) {
  REQUIRE_NVRTC();
  TempDir t;
  ScopedEnv env("HYP_CACHE_DIR", t.path());
  std::shared_ptr<Program> a, b, c;
  ASSERT_TRUE(loadProgram(kTestSource, kTestMetadata, &a).ok);
  ASSERT_TRUE(loadProgram(std::string(kTestSource) + "\n// edited\n", kTestMetadata, &b).ok);
  std::string md = kTestMetadata;
  md.replace(md.find("hyprt-test-kernels 1"), 20, "hyprt-test-kernels 2");
  ASSERT_TRUE(loadProgram(kTestSource, md, &c).ok);
  CompileResult ra, rb, rc;
  ASSERT_TRUE(a->compileKernel("hyp_test_rownorm", {}, "sm_90", &ra).ok);
  ASSERT_TRUE(b->compileKernel("hyp_test_rownorm", {}, "sm_90", &rb).ok);
  ASSERT_TRUE(c->compileKernel("hyp_test_rownorm", {}, "sm_90", &rc).ok);
  EXPECT_NE(ra.key, rb.key);
  EXPECT_NE(ra.key, rc.key);
  // Extra NVRTC options from the metadata are part of the key too.
  std::shared_ptr<Program> d;
  std::string withOpts = kTestMetadata;
  withOpts.insert(withOpts.rfind('}'), ", \"nvrtc_options\": [\"-lineinfo\"]");
  ASSERT_TRUE(loadProgram(kTestSource, withOpts, &d).ok);
  CompileResult rd;
  Status st = d->compileKernel("hyp_test_rownorm", {}, "sm_90", &rd);
  ASSERT_TRUE(st.ok) << st.message;
  EXPECT_NE(rd.key, ra.key);
  EXPECT_FALSE(rb.diskHit);
  EXPECT_FALSE(rc.diskHit);
}

TEST(ProgramLoad, RejectsInconsistentInput) {
  TempDir t;
  ScopedEnv env("HYP_CACHE_DIR", t.path());
  std::shared_ptr<Program> p;
  Status st = loadProgram("", kTestMetadata, &p);
  EXPECT_FALSE(st.ok);
  EXPECT_NE(st.message.find("empty CUDA source"), std::string::npos) << st.message;
  std::string src = kTestSource;
  // Every mention (the definition and its HYP_ONLY_ guard) misspelt.
  for (size_t at; (at = src.find("hyp_test_rownorm")) != std::string::npos;)
    src.replace(at, 16, "hyp_test_rowNORM");
  st = loadProgram(src, kTestMetadata, &p);
  EXPECT_FALSE(st.ok);
  EXPECT_NE(st.message.find("'hyp_test_rownorm' of the metadata does not appear"),
            std::string::npos)
      << st.message;
  st = loadProgram(kTestSource, "{}", &p);
  EXPECT_FALSE(st.ok);
  EXPECT_NE(st.message.find("metadata"), std::string::npos) << st.message;
  CompileResult r;
  ASSERT_TRUE(loadProgram(kTestSource, kTestMetadata, &p).ok);
  st = p->compileKernel("nope", {}, "sm_90", &r);
  EXPECT_NE(st.message.find("no kernel 'nope'"), std::string::npos) << st.message;
  st = p->compileKernel("hyp_test_rowscale", {{"BLOCK_M", 5}}, "sm_90", &r);
  EXPECT_NE(st.message.find("not one of its values"), std::string::npos) << st.message;
}

TEST(ProgramLoad, SlotsCoverEveryParameterOnce) {
  TempDir t;
  ScopedEnv env("HYP_CACHE_DIR", t.path());
  std::shared_ptr<Program> p;
  ASSERT_TRUE(loadProgram(kTestSource, kTestMetadata, &p).ok);
  EXPECT_EQ(p->slotNames(),
            (std::vector<std::string>{"x", "nrm", "M", "K", "s", "y", "total", "alpha"}));
  EXPECT_EQ(p->slotOf("alpha"), 7);
  EXPECT_EQ(p->slotOf("nope"), -1);
  EXPECT_EQ(p->entryIndex("forward"), 0);
  EXPECT_EQ(p->entryIndex("backward"), -1);
}
