//===- ForwardOrder.h - which side of the frozen GEMM the adapter takes -*- C++ -*-===//
//
// A forward without a bias can meet cuBLAS two ways:
//   AddAfterGemm:     y = x W^T (beta = 0), then programs.forward reads and
//                     rewrites y (y += B w): the adapter moves 2 |y|;
//   StoreBeforeGemm:  programs.forward_store writes y = B w, then
//                     y += x W^T (beta = 1): the adapter moves |y|, and the
//                     GEMM reads y in its epilogue.
// Which is faster depends on the shape and the cuBLAS build: a probe once
// found cuBLAS picking slower kernels for beta = 1 (H100, M = 8192, sixth
// session: +216 us at 4096 -> 14336; not seen with torch 2.11 in the
// fourteenth), and where the step is host bound the storing order's extra
// host work decides (docs/KERNELS.md). So the order is tuned per program,
// device and M bucket (next power of two, as the runtime's tuner buckets M),
// by timing both on the first call outside stream capture, and kept for the
// process.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace hyplora {

enum class ForwardOrder { AddAfterGemm, StoreBeforeGemm };

/// One tuned choice and the medians it was made on (ms).
struct ForwardOrderChoice {
  ForwardOrder order = ForwardOrder::AddAfterGemm;
  double addMs = 0, storeMs = 0;
};

/// Runs whole forwards in the given orders back to back on the current
/// stream and returns each one's device time in ms (events between them, one
/// synchronisation at the end, so the queue stays full as in training).
using ForwardOrderTimer = std::function<std::vector<double>(const std::vector<ForwardOrder> &)>;

class ForwardOrderTuner {
public:
  /// The order for this device and M: the tuned one, or (first call) the one
  /// `time` measures faster (storing by kForwardOrderStoreMargin) over
  /// kForwardOrderReps interleaved runs of each
  /// (after one warm-up of each, which also lets the runtime tune the
  /// entries' kernels). Under stream capture (nothing may synchronise) it
  /// returns AddAfterGemm without keeping it, to be tuned on a later
  /// uncaptured call.
  ForwardOrder choose(int device, int64_t M, bool capturing, const ForwardOrderTimer &time);
  /// The kept order for this device and M, if tuned (the per-call fast path:
  /// no stream-capture query, no timer).
  bool lookup(int device, int64_t M, ForwardOrder *order) const;
  /// "M<bucket> dev<d>: store (add 1.234 ms, store 1.100 ms)" per decision.
  std::vector<std::string> describe() const;

private:
  mutable std::mutex mutex_;
  std::map<std::pair<int, int64_t>, ForwardOrderChoice> chosen_;
};

constexpr int kForwardOrderReps = 9;
/// The storing order must be this much faster (relative) to be taken: its
/// extra host work (an allocation, an in-place addmm) is not in the device
/// times, and at host-bound shapes it cost whole steps what the forward's
/// kernels saved (H100, 4096 -> 1024, M = 8192: forwards 0.1602 / 0.1605 ms,
/// steps 0.75 / 0.82 ms, add / store); at 4096 -> 4096 storing won 2.8% of
/// the forward and 4-7.5% of the step.
constexpr double kForwardOrderStoreMargin = 0.01;

/// The runtime's M bucket: the next power of two (M itself for M <= 1).
int64_t forwardOrderBucket(int64_t M);

} // namespace hyplora
