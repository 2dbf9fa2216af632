//===- Tuner.cpp - time candidate configs on the real buffers -------------===//
//
// Candidates are compiled in parallel (NVRTC is thread-safe; the disk cache
// serves repeats), loaded, then timed one by one with device events on the
// caller's stream and buffers. Every buffer a kernel writes (write, readwrite,
// accumulate) is saved first and restored after each candidate, so the real
// launch that follows sees exactly the caller's inputs. A candidate that fails
// to compile, load or launch scores +inf and keeps its reason.
//
//===----------------------------------------------------------------------===//
#include "ProgramImpl.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace hyp::rt {
namespace {
// Per-candidate timing budget: enough launches for a stable number, few
// enough that tuning a layer's shape stays well under a second.
constexpr float kTargetRoundMs = 0.5f;
constexpr int kRounds = 3;
constexpr int kMaxLaunchesPerRound = 200;

struct SavedBuffer {
  CUdeviceptr ptr = 0, backup = 0;
  size_t bytes = 0;
};

// Owns the backups and events; frees them on every exit path.
struct TuningScratch {
  const CudaDriver &drv;
  std::vector<SavedBuffer> saved;
  CUevent start = nullptr, stop = nullptr;
  explicit TuningScratch(const CudaDriver &d) : drv(d) {}
  ~TuningScratch() {
    for (SavedBuffer &s : saved)
      if (s.backup)
        drv.cuMemFree(s.backup);
    if (start)
      drv.cuEventDestroy(start);
    if (stop)
      drv.cuEventDestroy(stop);
  }
  Status restore(CUstream stream) {
    for (SavedBuffer &s : saved)
      HYP_CU_CHECK(drv, cuMemcpyDtoDAsync(s.ptr, s.backup, s.bytes, stream));
    return Status::success();
  }
};

Status launchOnce(const CudaDriver &drv, const LaunchPlan &plan, const unsigned grid[3],
                  void **params, CUstream stream) {
  HYP_CU_CHECK(drv, cuLaunchKernel(plan.fn, grid[0], grid[1], grid[2], plan.block, 1, 1,
                                   plan.smem, stream, params, nullptr));
  return Status::success();
}

Status timeLaunches(TuningScratch &s, const LaunchPlan &plan, const unsigned grid[3],
                    void **params, CUstream stream, int n, float *ms) {
  const CudaDriver &drv = s.drv;
  HYP_CU_CHECK(drv, cuEventRecord(s.start, stream));
  for (int i = 0; i < n; ++i)
    HYP_RT_TRY(launchOnce(drv, plan, grid, params, stream));
  HYP_CU_CHECK(drv, cuEventRecord(s.stop, stream));
  HYP_CU_CHECK(drv, cuEventSynchronize(s.stop));
  HYP_CU_CHECK(drv, cuEventElapsedTime(ms, s.start, s.stop));
  *ms /= float(n);
  return Status::success();
}
} // namespace

Status benchmarkCandidates(Program::Impl &impl, const CudaDriver &drv, ContextState &ctx,
                           int kernel, const std::vector<TuningConfig> &cands,
                           const ArgValue *slots, CUstream stream,
                           std::vector<TunedCandidate> *results, std::vector<LaunchPlan> *plans,
                           int *best) {
  const KernelPlan &kp = impl.kernels[kernel];
  const KernelInfo &k = *kp.info;
  *best = -1;
  results->assign(cands.size(), TunedCandidate());
  plans->assign(cands.size(), LaunchPlan());
  const double inf = std::numeric_limits<double>::infinity();

  // 1. Compile every candidate in parallel (memory hits when the entry
  //    precompiled them).
  std::vector<std::pair<int, TuningConfig>> work;
  for (const TuningConfig &c : cands)
    work.emplace_back(kernel, c);
  std::vector<CompileResult> compiled;
  std::vector<Status> compileStatus;
  impl.compileMany(work, ctx.dev.arch, &compiled, &compileStatus);
  for (size_t i = 0; i < cands.size(); ++i)
    (*results)[i].config = configToString(k, cands[i]);

  // 2. Load them (module + function + limits) in the caller's context.
  std::vector<char> usable(cands.size(), 0);
  for (size_t i = 0; i < cands.size(); ++i) {
    Status st = compileStatus[i];
    if (st.ok)
      st = impl.makePlan(ctx, kernel, cands[i], compiled[i].cubin, compiled[i].key,
                         &(*plans)[i]);
    if (!st.ok) {
      (*results)[i].ms = inf;
      (*results)[i].error = st.message;
      continue;
    }
    usable[i] = 1;
  }

  // 3. Save what the kernel writes.
  TuningScratch scratch(drv);
  for (size_t i = 0; i < k.params.size(); ++i) {
    const ParamInfo &p = k.params[i];
    if (p.kind != ParamKind::Ptr || p.access == Access::Read)
      continue;
    SavedBuffer sb;
    sb.ptr = reinterpret_cast<CUdeviceptr>(slots[kp.paramSlots[i]].ptr);
    HYP_RT_TRY(impl.bufferBytes(drv, p, slots, &sb.bytes));
    if (sb.bytes == 0 || !sb.ptr)
      continue;
    CUresult rc = drv.cuMemAlloc(&sb.backup, sb.bytes);
    if (rc != CUDA_SUCCESS)
      return cuFailure(drv, ("cuMemAlloc(backup of '" + p.name + "', " +
                             std::to_string(sb.bytes) + " bytes)").c_str(),
                       rc, __FILE_NAME__, __LINE__);
    scratch.saved.push_back(sb);
    HYP_CU_CHECK(drv, cuMemcpyDtoDAsync(sb.backup, sb.ptr, sb.bytes, stream));
  }
  HYP_CU_CHECK(drv, cuEventCreate(&scratch.start, CU_EVENT_DEFAULT));
  HYP_CU_CHECK(drv, cuEventCreate(&scratch.stop, CU_EVENT_DEFAULT));

  void *params[kMaxKernelParams];
  for (size_t i = 0; i < kp.paramSlots.size(); ++i)
    params[i] = const_cast<void *>(static_cast<const void *>(&slots[kp.paramSlots[i]].ptr));

  // 4. Time each usable candidate.
  double bestMs = inf;
  for (size_t i = 0; i < cands.size(); ++i) {
    if (!usable[i])
      continue;
    TunedCandidate &r = (*results)[i];
    const LaunchPlan &plan = (*plans)[i];
    unsigned grid[3];
    bool empty = false;
    HYP_RT_TRY(gridFor(plan, slots, grid, &empty));
    if (empty) { // nothing to time: any config is as good
      r.ms = 0;
      if (*best < 0)
        *best = int(i), bestMs = 0;
      continue;
    }
    // Warm-up launch; a launch error (resources, bad config) is this
    // candidate's failure, not the tuner's.
    Status st = launchOnce(drv, plan, grid, params, stream);
    float one = 0;
    if (st.ok)
      st = timeLaunches(scratch, plan, grid, params, stream, 1, &one);
    if (!st.ok) {
      r.ms = inf;
      r.error = st.message;
      // A failed launch may leave a sticky context error: stop if so.
      CUresult sync = drv.cuStreamSynchronize(stream);
      if (sync != CUDA_SUCCESS && sync != CUDA_ERROR_NOT_READY)
        return cuFailure(drv, "cuStreamSynchronize(after a failed candidate)", sync,
                         __FILE_NAME__, __LINE__);
      HYP_RT_TRY(scratch.restore(stream));
      continue;
    }
    int n = std::clamp(int(kTargetRoundMs / std::max(one, 1e-4f)), 1, kMaxLaunchesPerRound);
    std::vector<float> rounds;
    for (int round = 0; round < kRounds && st.ok; ++round) {
      float ms = 0;
      st = timeLaunches(scratch, plan, grid, params, stream, n, &ms);
      rounds.push_back(ms);
    }
    HYP_RT_TRY(scratch.restore(stream));
    if (!st.ok) {
      r.ms = inf;
      r.error = st.message;
      continue;
    }
    std::sort(rounds.begin(), rounds.end());
    r.ms = rounds[rounds.size() / 2];
    if (r.ms < bestMs) {
      bestMs = r.ms;
      *best = int(i);
    }
  }
  // 5. Outputs back to the caller's values before the real launch.
  HYP_RT_TRY(scratch.restore(stream));
  HYP_CU_CHECK(drv, cuStreamSynchronize(stream));
  return Status::success();
}

} // namespace hyp::rt
