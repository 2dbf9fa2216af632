//===- Autotune.h - candidate configs, tuning keys, tuning files -*- C++ -*-===//
//
// The GPU-free half of the autotuner, so it can be tested anywhere:
//  * which configs are worth timing for a shape (constraints, device limits,
//    and cheap pruning: tiles larger than the extent are equivalent, and the
//    rest is ranked by a parallelism/tail-waste score and capped);
//  * the tuning key (kernel, parameter signature, tunable space, arch, shape
//    bucket: M rounded up to a power of two, every other integer exact);
//  * the tuning file that persists a choice so a second process does not tune.
// The timing itself (device events on the real buffers) is in Program.cpp.
//
//===----------------------------------------------------------------------===//
#ifndef HYP_RUNTIME_AUTOTUNE_H
#define HYP_RUNTIME_AUTOTUNE_H

#include "hyp/Runtime/Metadata.h"
#include "hyp/Runtime/Status.h"

#include <cstdint>
#include <string>
#include <vector>

namespace hyp::rt {

enum class AutotuneMode { Off, On, Exhaustive };

/// Process-wide mode: initialised from HYP_AUTOTUNE (0 | 1 | exhaustive;
/// default 1), overridable by setAutotuneMode.
HYP_RT_API AutotuneMode autotuneMode();
HYP_RT_API void setAutotuneMode(AutotuneMode);
HYP_RT_API Status parseAutotuneMode(const std::string &text, AutotuneMode *out);
/// HYP_PRINT_AUTOTUNING=1 logs every choice and its times to stderr.
HYP_RT_API bool printAutotuning();
HYP_RT_API void setPrintAutotuning(bool);

/// What the pruning needs to know about the device.
struct DeviceLimits {
  int smCount = 132;
  int maxThreadsPerBlock = 1024;
  int maxThreadsPerSM = 2048;
  int64_t maxSmemPerBlock = 227 * 1024; // opt-in limit
};

/// Maximum candidates timed in mode On (Exhaustive times all).
constexpr size_t kMaxTunedCandidates = 16;
/// More combinations than this in a tunable space is a metadata error.
constexpr size_t kMaxConfigSpace = 1 << 16;

/// Candidate configs for `kernel` with integer arguments `intArgs` (by param
/// name; used for grid extents). The default config comes first whenever it
/// is valid. Errors: an empty space, or one larger than kMaxConfigSpace.
HYP_RT_API Status candidateConfigs(const KernelInfo &kernel,
                                   const std::vector<std::pair<std::string, int64_t>> &intArgs,
                                   const DeviceLimits &limits, AutotuneMode mode,
                                   std::vector<TuningConfig> *out);

/// M (and any other `bucketed` param) -> next power of two (0 stays 0).
HYP_RT_API int64_t shapeBucket(int64_t value);

/// The tuning key text: every field that makes a choice non-transferable.
/// `programIdentity` is "constants:K=576,N=192" when the metadata has
/// constants, else "source:<sha256>".
HYP_RT_API std::string tuningKey(const KernelInfo &kernel, const std::string &programIdentity,
                                 const std::string &arch,
                                 const std::vector<std::pair<std::string, int64_t>> &bucketedInts);

/// One timed candidate.
struct TunedCandidate {
  std::string config; // configToString
  double ms = 0;      // +inf when it failed
  std::string error;  // why it failed ("" when it ran)
};

/// A persisted choice: file tuning/<sha256(key)>.json.
struct TuningRecord {
  std::string key;
  std::string kernel;
  std::string arch;
  std::map<std::string, int64_t> config;
  double bestMs = 0;
  std::vector<TunedCandidate> candidates;
};

HYP_RT_API std::string tuningFileName(const std::string &key);
HYP_RT_API std::string encodeTuningRecord(const TuningRecord &);
/// Parses a tuning file; fails (with the reason) on garbage, another format
/// version, or a key other than `expectedKey`.
HYP_RT_API Status decodeTuningRecord(const std::string &text, const std::string &expectedKey,
                                     TuningRecord *out);
/// Reads tuningDir/<file>; `found` false when absent or invalid (`whyNot`).
HYP_RT_API Status loadTuningRecord(const std::string &tuningDir, const std::string &key,
                                   TuningRecord *out, bool *found, std::string *whyNot);
HYP_RT_API Status storeTuningRecord(const std::string &tuningDir, const TuningRecord &);

} // namespace hyp::rt

#endif // HYP_RUNTIME_AUTOTUNE_H
