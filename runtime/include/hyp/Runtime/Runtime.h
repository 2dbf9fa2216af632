//===- Runtime.h - the hyplora JIT runtime API (CONTRACTS.md §4) -*- C++ -*-===//
//
// Turns the compiler's CUDA source + metadata into launched kernels:
//   loadProgram  parse metadata, remember the source (compiles lazily)
//   runEntry     launch programs.<entry> in order on the caller's stream;
//                the first call per shape bucket compiles (disk cache) and
//                autotunes; later calls are a table lookup and cuLaunchKernel.
// Two calling conventions: ArgMap (by name; convenient, allocates) and slots
// (ArgValue array indexed by Program::slotOf(name); the hot path: no strings,
// no JSON, no hashing of source, no allocation, no host synchronisation).
// Driver and NVRTC are dlopen'ed: on a machine without them every call
// returns a Status naming "no CUDA driver" instead of crashing.
//
//===----------------------------------------------------------------------===//
#ifndef HYP_RUNTIME_RUNTIME_H
#define HYP_RUNTIME_RUNTIME_H

#include "hyp/Runtime/Autotune.h"
#include "hyp/Runtime/Metadata.h"
#include "hyp/Runtime/Status.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace hyp::rt {

/// dlopen libcuda.so.1, resolve the entry points, cuInit, count devices.
HYP_RT_API bool driverAvailable(std::string *whyNot = nullptr);

struct ArgValue {
  enum Kind { Ptr, I32, I64, F32 } kind = Ptr;
  union {
    void *ptr = nullptr;
    int32_t i32;
    int64_t i64;
    float f32;
  };
  static ArgValue pointer(void *p) { ArgValue a; a.kind = Ptr; a.ptr = p; return a; }
  static ArgValue int32(int32_t v) { ArgValue a; a.kind = I32; a.i64 = 0; a.i32 = v; return a; }
  static ArgValue int64(int64_t v) { ArgValue a; a.kind = I64; a.i64 = v; return a; }
  static ArgValue float32(float v) { ArgValue a; a.kind = F32; a.i64 = 0; a.f32 = v; return a; }
};
using ArgMap = std::map<std::string, ArgValue>; // by metadata param name (cold path)

/// What compileKernel did (for tests, tools and timing reports).
struct CompileResult {
  std::string cubin;
  std::string key;     // cache key (hex)
  bool memoryHit = false;
  bool diskHit = false;
  double ms = 0;       // wall time of this call
  std::string diskMissReason; // why the disk cache missed ("absent", "sha256 mismatch", ...)
};

/// Counters a caller or test can read (cumulative per Program).
struct ProgramStats {
  uint64_t compiles = 0;       // NVRTC runs
  uint64_t diskHits = 0;       // cubins loaded from the disk cache
  uint64_t tunings = 0;        // autotuning runs (kernel x shape bucket)
  uint64_t tuningFileHits = 0; // choices taken from a tuning file
  uint64_t precompiled = 0;    // configs an entry's first run at a new shape compiled up front, in one pool
  double compileMs = 0, tuneMs = 0;
};

/// The launch config a kernel got for a shape bucket (for reports and tests).
struct ChosenConfig {
  std::string kernel;
  std::string config;       // "BLOCK_M=16,THREADS=128"
  std::string source;       // "tuned" | "tuning-file" | "default" | "default-capturing" | "default-empty"
  double bestMs = 0;        // when tuned
  std::vector<TunedCandidate> candidates; // when tuned in this process
};

class HYP_RT_API Program {
public:
  ~Program();
  Program(const Program &) = delete;
  Program &operator=(const Program &) = delete;

  const ProgramMetadata &metadata() const;
  /// Every distinct parameter name of the program's kernels, in slot order.
  const std::vector<std::string> &slotNames() const;
  /// Slot index of a parameter name, -1 when no kernel has it.
  int slotOf(const std::string &name) const;
  /// Index of programs.<entry>, -1 when absent.
  int entryIndex(const std::string &entry) const;
  /// The cache directory in use ("" when the disk cache is disabled).
  std::string cacheDir() const;

  /// Compiles (or loads from the caches) one kernel for `arch` under `config`
  /// (name -> value; missing tunables take their defaults). Needs NVRTC only,
  /// not a GPU: also a way to warm the cache ahead of time.
  Status compileKernel(const std::string &kernel, const std::map<std::string, int64_t> &config,
                       const std::string &arch, CompileResult *out);

  ProgramStats stats() const;
  /// Configs chosen so far (all kernels, all shape buckets) in this process.
  std::vector<ChosenConfig> chosenConfigs() const;

  struct Impl;
  Impl &impl() { return *impl_; }

private:
  friend Status loadProgram(const std::string &, const std::string &,
                            std::shared_ptr<Program> *);
  explicit Program(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// Parses metadata, remembers source; compiles lazily per config (NVRTC, disk
/// cache at defaultCacheDir(), which must be private to the user).
HYP_RT_API Status loadProgram(const std::string &cudaSource, const std::string &metadataJson,
                              std::shared_ptr<Program> *out);

/// Launches programs.<entry> in order on `stream` (a CUstream as void*, the
/// caller's current stream, in the current context, else device 0's primary
/// context); autotunes on first call per shape bucket unless HYP_AUTOTUNE=0.
/// No host synchronisation once tuned.
HYP_RT_API Status runEntry(Program &, const std::string &entry, const ArgMap &args,
                           void *stream);
/// Launches one kernel of the program (same tuning rules).
HYP_RT_API Status launchKernel(Program &, const std::string &kernel, const ArgMap &args,
                               void *stream);

/// Hot path: `slots[i]` is the argument for Program::slotNames()[i] (only the
/// slots the entry's kernels use must be set). `entryIndex` from
/// Program::entryIndex.
HYP_RT_API Status runEntrySlots(Program &, int entryIndex, const ArgValue *slots,
                                size_t numSlots, void *stream);
HYP_RT_API Status launchKernelSlots(Program &, int kernelIndex, const ArgValue *slots,
                                    size_t numSlots, void *stream);

/// The arch string of the current device ("sm_90"); error without a driver.
HYP_RT_API Status currentDeviceArch(std::string *arch);

} // namespace hyp::rt

#endif // HYP_RUNTIME_RUNTIME_H
