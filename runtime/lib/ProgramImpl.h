//===- ProgramImpl.h - Program internals shared by Program.cpp and Tuner.cpp -===//
//
// Layout of the hot path: every kernel's parameters are mapped once to slots
// (indices into the caller's ArgValue array); every (context, kernel, shape
// bucket) gets a LaunchPlan (function, block, grid recipe, smem) found by a
// short linear scan over a few integers. No strings, JSON or hashing there.
//
//===----------------------------------------------------------------------===//
#ifndef HYP_RUNTIME_LIB_PROGRAMIMPL_H
#define HYP_RUNTIME_LIB_PROGRAMIMPL_H

#include "CudaDriver.h"
#include "hyp/Runtime/KernelCache.h"
#include "hyp/Runtime/Runtime.h"

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace hyp::rt {

constexpr int kMaxKernelParams = 64;
constexpr int kMaxKeyInts = 8;

struct DeviceInfo {
  CUdevice device = 0;
  std::string arch; // "sm_90"
  std::string name;
  DeviceLimits limits;
  int64_t smemOptinPerBlock = 0;
};

// grid = extentSlot < 0 ? constOrTile : ceil(slots[extentSlot] / constOrTile)
struct AxisPlan {
  int extentSlot = -1;
  int64_t constOrTile = 1;
};

struct LaunchPlan {
  CUfunction fn = nullptr;
  unsigned block = 1;
  unsigned smem = 0;
  AxisPlan axes[3];
  std::string config; // for reports
};

struct ShapeEntry {
  int64_t ints[kMaxKeyInts] = {};
  LaunchPlan plan;
  bool provisional = false; // chosen during stream capture: tune later
};

// Per kernel, context independent.
struct KernelPlan {
  const KernelInfo *info = nullptr;
  std::vector<int> paramSlots;   // slot of each parameter
  std::vector<int> keySlots;     // slots of the integer parameters (tuning key)
  std::vector<char> keyBucketed; // bucket that integer (M)
  std::vector<char> keyUntuned;  // leave that integer out of the key (metadata "untuned")
  std::vector<char> keyIsSize;   // a grid extent or buffer dimension: must be >= 0
};

struct ContextState {
  CUcontext ctx = nullptr;
  DeviceInfo dev;
  std::vector<std::vector<ShapeEntry>> shapes; // per kernel
  std::map<std::string, CUmodule> modules;     // by cubin cache key
};

/// What prepareShape does for a kernel at a shape bucket it has not seen,
/// decided before anything is compiled (so that runEntrySlots can compile
/// what all of an entry's kernels need in one pool first).
struct ShapeDecision {
  enum Source { Default, TuningFile, DefaultEmpty, DefaultCapturing, Tune } source = Default;
  std::vector<TuningConfig> configs; // Tune: the candidates; otherwise the one config
  double fileBestMs = 0;             // TuningFile: the time recorded with it
  std::string key;                   // the tuning key
  std::string whyNoFile;             // Tune: why no tuning file decided
  std::vector<std::pair<std::string, int64_t>> ints; // the key integers, unbucketed
  int64_t keyInts[kMaxKeyInts] = {};                 // bucketed (ShapeEntry::ints)
};

struct Program::Impl {
  std::string source;
  ProgramMetadata md;
  std::vector<std::string> slotNames;
  std::vector<ParamKind> slotKinds;
  std::map<std::string, int> slotIndex;
  std::vector<KernelPlan> kernels;
  std::vector<std::vector<int>> entries; // kernel indices per entry
  std::map<std::string, int> entryIndex;
  std::string programIdentity; // tuning keys: constants or source hash
  std::shared_ptr<KernelCache> cache;

  // Compiled cubins by key, shared by every context (guarded by cubinMutex).
  std::mutex cubinMutex;
  std::map<std::string, std::string> cubins;

  // Launch state (guarded by mutex; the hot path holds it briefly).
  std::mutex mutex;
  std::vector<std::unique_ptr<ContextState>> contexts;
  ContextState *lastContext = nullptr;
  ProgramStats stats;
  std::vector<ChosenConfig> chosen;

  /// The config with its launch-only tunables zeroed: what a compile depends on.
  TuningConfig compileConfig(int kernel, const TuningConfig &config) const {
    TuningConfig c = config;
    for (size_t i = 0; i < c.size() && i < md.kernels[kernel].tunables.size(); ++i)
      if (md.kernels[kernel].tunables[i].launchOnly)
        c[i] = 0;
    return c;
  }
  /// Compiles (caches) one kernel variant; thread-safe.
  Status compileVariant(int kernel, const TuningConfig &config, const std::string &arch,
                        CompileResult *out);
  /// compileVariant for each (kernel, config) at once on a thread pool, then
  /// the compiles and disk hits counted in `stats` (caller holds `mutex`).
  void compileMany(const std::vector<std::pair<int, TuningConfig>> &work, const std::string &arch,
                   std::vector<CompileResult> *compiled, std::vector<Status> *status);
  /// Module + function for a variant in `ctx` (current); fills plan.fn/block/smem/axes.
  Status makePlan(ContextState &ctx, int kernel, const TuningConfig &config,
                  const std::string &cubin, const std::string &key, LaunchPlan *plan);
  /// How a shape bucket's config will be chosen, and which configs that compiles.
  Status decideShape(const CudaDriver &drv, ContextState &ctx, int kernel, const ArgValue *slots,
                     CUstream stream, bool skipTuningFile, ShapeDecision *d);
  /// First launch of a shape bucket: choose (tuning file, autotune, default).
  Status prepareShape(const CudaDriver &drv, ContextState &ctx, int kernel,
                      const ArgValue *slots, CUstream stream, ShapeEntry *entry);
  /// Bytes a non-read buffer argument spans (metadata shape, else the allocation).
  Status bufferBytes(const CudaDriver &drv, const ParamInfo &p, const ArgValue *slots,
                     size_t *bytes);
};

/// Grid of a plan for the given arguments; `empty` when an extent is 0.
Status gridFor(const LaunchPlan &plan, const ArgValue *slots, unsigned grid[3], bool *empty);

/// Times `candidates` (compiled in parallel) on the real buffers and returns
/// each one's time or failure; *best is the fastest (-1 when all failed).
Status benchmarkCandidates(Program::Impl &impl, const CudaDriver &drv, ContextState &ctx,
                           int kernel, const std::vector<TuningConfig> &candidates,
                           const ArgValue *slots, CUstream stream,
                           std::vector<TunedCandidate> *results, std::vector<LaunchPlan> *plans,
                           int *best);

} // namespace hyp::rt

#endif // HYP_RUNTIME_LIB_PROGRAMIMPL_H
