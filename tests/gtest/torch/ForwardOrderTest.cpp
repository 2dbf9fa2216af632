//===- ForwardOrderTest.cpp - the forward-order tuner's bookkeeping -------===//
//
// ForwardOrderTuner (frontend/torch/src/ForwardOrder.h) with a fake timer:
// what it runs, what it picks, what it keeps. The timing itself runs on the
// GPU (tests/python/test_ops_cuda.py).
//
//===----------------------------------------------------------------------===//
#include "ForwardOrder.h"

#include <gtest/gtest.h>

using hyplora::ForwardOrder;

namespace {

/// A timer whose forwards in `order` take `storeMs` / `addMs`, except the
/// warm-ups (run 0 of each), which take 100 ms: they must not count.
struct FakeTimer {
  double addMs, storeMs;
  int calls = 0;
  std::vector<ForwardOrder> seen;
  std::vector<double> operator()(const std::vector<ForwardOrder> &orders) {
    ++calls;
    seen = orders;
    std::vector<double> ms;
    for (size_t i = 0; i < orders.size(); ++i)
      ms.push_back(i < 2 ? 100.0 : orders[i] == ForwardOrder::StoreBeforeGemm ? storeMs : addMs);
    return ms;
  }
  /// This timer as the tuner takes it (counting calls here).
  hyplora::ForwardOrderTimer timer() {
    return [this](const std::vector<ForwardOrder> &o) { return (*this)(o); };
  }
};

/// A fresh tuner and a fake timer (add 2 ms; each test sets its store time).
class ForwardOrderTuner : public ::testing::Test {
protected:
  hyplora::ForwardOrderTuner tuner;
  FakeTimer t{2.0, 2.0};
  const hyplora::ForwardOrderTimer timer = t.timer();
};

TEST_F(ForwardOrderTuner, TimesBothInterleavedOncePerBucketAndKeepsTheFaster) {
  t.storeMs = 1.5;
  EXPECT_EQ(tuner.choose(0, 700, false, timer), ForwardOrder::StoreBeforeGemm);
  ASSERT_EQ(t.calls, 1);
  ASSERT_EQ(t.seen.size(), size_t(2 * (hyplora::kForwardOrderReps + 1)));
  for (size_t i = 0; i < t.seen.size(); ++i)
    EXPECT_EQ(t.seen[i], i % 2 ? ForwardOrder::StoreBeforeGemm : ForwardOrder::AddAfterGemm);
  ForwardOrder kept = ForwardOrder::AddAfterGemm;
  ASSERT_TRUE(tuner.lookup(0, 1000, &kept));
  EXPECT_EQ(kept, ForwardOrder::StoreBeforeGemm);
  EXPECT_FALSE(tuner.lookup(0, 1025, &kept));
  // 1000 is in 700's bucket (1024): kept, not timed again.
  t.addMs = 1.0;
  EXPECT_EQ(tuner.choose(0, 1000, false, timer), ForwardOrder::StoreBeforeGemm);
  EXPECT_EQ(t.calls, 1);
  // Another bucket, another device: timed afresh.
  EXPECT_EQ(tuner.choose(0, 1025, false, timer), ForwardOrder::AddAfterGemm);
  EXPECT_EQ(tuner.choose(1, 1000, false, timer), ForwardOrder::AddAfterGemm);
  EXPECT_EQ(t.calls, 3);
  // Storing faster by less than the margin: the GEMM first.
  t.addMs = 1.0, t.storeMs = 1.0 - hyplora::kForwardOrderStoreMargin / 2;
  EXPECT_EQ(tuner.choose(0, 4096, false, timer), ForwardOrder::AddAfterGemm);
  t.storeMs = 1.0 - 2 * hyplora::kForwardOrderStoreMargin;
  EXPECT_EQ(tuner.choose(0, 16384, false, timer), ForwardOrder::StoreBeforeGemm);
  const std::vector<std::string> d = tuner.describe();
  ASSERT_EQ(d.size(), 5u);
  EXPECT_EQ(d[0], "M1024 dev0: store (add 2.0000 ms, store 1.5000 ms)");
  EXPECT_EQ(d[1], "M2048 dev0: add (add 1.0000 ms, store 1.5000 ms)");
  EXPECT_EQ(d[2], "M4096 dev0: add (add 1.0000 ms, store 0.9950 ms)");
}

TEST_F(ForwardOrderTuner, UnderCaptureTakesTheGemmFirstWithoutKeepingIt) {
  t.storeMs = 1.0;
  EXPECT_EQ(tuner.choose(0, 8192, true, timer), ForwardOrder::AddAfterGemm);
  EXPECT_EQ(t.calls, 0);
  EXPECT_TRUE(tuner.describe().empty());
  EXPECT_EQ(tuner.choose(0, 8192, false, timer), ForwardOrder::StoreBeforeGemm);
  EXPECT_EQ(t.calls, 1);
  // Once tuned, capture gets the tuned order.
  EXPECT_EQ(tuner.choose(0, 8192, true, timer), ForwardOrder::StoreBeforeGemm);
}

TEST(ForwardOrderBuckets, BucketsLikeTheRuntime) {
  EXPECT_EQ(hyplora::forwardOrderBucket(0), 0);
  EXPECT_EQ(hyplora::forwardOrderBucket(1), 1);
  EXPECT_EQ(hyplora::forwardOrderBucket(3), 4);
  EXPECT_EQ(hyplora::forwardOrderBucket(8192), 8192);
  EXPECT_EQ(hyplora::forwardOrderBucket(8193), 16384);
}

} // namespace
