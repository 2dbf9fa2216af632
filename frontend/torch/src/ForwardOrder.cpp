//===- ForwardOrder.cpp - tuning the adapter's side of the frozen GEMM ----===//
#include "ForwardOrder.h"

#include <algorithm>
#include <cstdio>

namespace hyplora {

int64_t forwardOrderBucket(int64_t M) {
  int64_t b = 1;
  while (b < M)
    b <<= 1;
  return M <= 1 ? M : b;
}

namespace {
double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}
} // namespace

ForwardOrder ForwardOrderTuner::choose(int device, int64_t M, bool capturing,
                                       const ForwardOrderTimer &time) {
  const std::pair<int, int64_t> key{device, forwardOrderBucket(M)};
  // Held while timing: two threads tuning one bucket would time each other.
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = chosen_.find(key);
  if (it != chosen_.end())
    return it->second.order;
  if (capturing)
    return ForwardOrder::AddAfterGemm;
  std::vector<ForwardOrder> runs;
  for (int i = 0; i <= kForwardOrderReps; ++i) // run 0 of each: the warm-up
    runs.insert(runs.end(), {ForwardOrder::AddAfterGemm, ForwardOrder::StoreBeforeGemm});
  const std::vector<double> ms = time(runs);
  std::vector<double> add, store;
  for (size_t i = 2; i < runs.size() && i < ms.size(); ++i)
    (runs[i] == ForwardOrder::AddAfterGemm ? add : store).push_back(ms[i]);
  if (add.empty() || store.empty())
    return ForwardOrder::AddAfterGemm; // (a timer that returned too little: not kept)
  ForwardOrderChoice c;
  c.addMs = median(add);
  c.storeMs = median(store);
  c.order = c.storeMs < c.addMs * (1.0 - kForwardOrderStoreMargin) ? ForwardOrder::StoreBeforeGemm
                                                                   : ForwardOrder::AddAfterGemm;
  chosen_.emplace(key, c);
  return c.order;
}

bool ForwardOrderTuner::lookup(int device, int64_t M, ForwardOrder *order) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = chosen_.find({device, forwardOrderBucket(M)});
  if (it == chosen_.end())
    return false;
  *order = it->second.order;
  return true;
}

std::vector<std::string> ForwardOrderTuner::describe() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::string> out;
  for (const auto &[key, c] : chosen_) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "M%lld dev%d: %s (add %.4f ms, store %.4f ms)",
                  static_cast<long long>(key.second), key.first,
                  c.order == ForwardOrder::StoreBeforeGemm ? "store" : "add", c.addMs,
                  c.storeMs);
    out.push_back(buf);
  }
  return out;
}

} // namespace hyplora
