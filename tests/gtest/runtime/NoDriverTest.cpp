//===- NoDriverTest.cpp - without libcuda every call is a clean Status ----===//
#include "TestKernels.h"
#include "TestUtil.h"
#include "hyp/Runtime/DeviceMemory.h"
#include "hyp/Runtime/Runtime.h"

#include <gtest/gtest.h>

using namespace hyp::rt;
using namespace hyp::rt::hyptest;

namespace {
class NoDriver : public ::testing::Test {
protected:
  void SetUp() override {
    if (driverAvailable())
      GTEST_SKIP() << "a CUDA driver and device are present: these tests check its absence";
    env_ = std::make_unique<ScopedEnv>("HYP_CACHE_DIR", tmp_.path());
    Status st = loadProgram(kTestSource, kTestMetadata, &program_);
    ASSERT_TRUE(st.ok) << "loadProgram must work without a driver: " << st.message;
    int x = 0;
    args_ = {{"x", ArgValue::pointer(&x)},     {"nrm", ArgValue::pointer(&x)},
             {"s", ArgValue::pointer(&x)},     {"y", ArgValue::pointer(&x)},
             {"total", ArgValue::pointer(&x)}, {"M", ArgValue::int64(8)},
             {"K", ArgValue::int64(8)},        {"alpha", ArgValue::float32(1.f)}};
  }
  static void expectNoDriver(const Status &st) {
    EXPECT_FALSE(st.ok);
    EXPECT_TRUE(st.message.find("no CUDA driver") != std::string::npos ||
                st.message.find("no CUDA device") != std::string::npos)
        << st.message;
  }
  TempDir tmp_;
  std::unique_ptr<ScopedEnv> env_;
  std::shared_ptr<Program> program_;
  ArgMap args_;
};
} // namespace

TEST_F(NoDriver, DriverAvailableSaysWhy) {
  std::string why;
  EXPECT_FALSE(driverAvailable(&why));
  EXPECT_EQ(why.rfind("no CUDA", 0), 0u) << why;
  EXPECT_NE(why.find("libcuda.so.1"), std::string::npos) << why;
}

TEST_F(NoDriver, LaunchCallsReturnNoDriver) {
  expectNoDriver(runEntry(*program_, "forward", args_, nullptr));
  expectNoDriver(launchKernel(*program_, "hyp_test_rowscale", args_, nullptr));
  std::vector<ArgValue> slots(program_->slotNames().size());
  for (size_t i = 0; i < slots.size(); ++i)
    slots[i] = args_.at(program_->slotNames()[i]);
  expectNoDriver(runEntrySlots(*program_, 0, slots.data(), slots.size(), nullptr));
  expectNoDriver(launchKernelSlots(*program_, 1, slots.data(), slots.size(), nullptr));
  std::string arch;
  expectNoDriver(currentDeviceArch(&arch));
}

TEST_F(NoDriver, DeviceMemoryCallsReturnNoDriver) {
  void *p = nullptr;
  char host[4];
  expectNoDriver(deviceAlloc(16, &p));
  expectNoDriver(deviceFree(nullptr));
  expectNoDriver(copyToDevice(nullptr, host, 4));
  expectNoDriver(copyToHost(host, nullptr, 4));
  expectNoDriver(deviceMemset(nullptr, 0, 4, nullptr));
  expectNoDriver(streamCreate(&p));
  expectNoDriver(streamSynchronize(nullptr));
  expectNoDriver(streamDestroy(nullptr));
}

TEST_F(NoDriver, ArgumentErrorsComeFirstAndNameTheProblem) {
  Status st = runEntry(*program_, "backward", args_, nullptr);
  EXPECT_NE(st.message.find("no entry 'backward'"), std::string::npos) << st.message;
  ArgMap missing = args_;
  missing.erase("alpha");
  st = runEntry(*program_, "forward", missing, nullptr);
  EXPECT_NE(st.message.find("missing argument 'alpha'"), std::string::npos) << st.message;
  // The first kernel alone does not need alpha.
  ArgMap rownormOnly = {{"x", args_.at("x")}, {"nrm", args_.at("nrm")},
                        {"M", args_.at("M")}, {"K", args_.at("K")}};
  expectNoDriver(launchKernel(*program_, "hyp_test_rownorm", rownormOnly, nullptr));
  ArgMap typo = args_;
  typo["alpah"] = ArgValue::float32(1.f);
  st = runEntry(*program_, "forward", typo, nullptr);
  EXPECT_NE(st.message.find("'alpah' is not a parameter"), std::string::npos) << st.message;
  st = launchKernel(*program_, "hyp_test_nothing", args_, nullptr);
  EXPECT_NE(st.message.find("no kernel 'hyp_test_nothing'"), std::string::npos) << st.message;
}
