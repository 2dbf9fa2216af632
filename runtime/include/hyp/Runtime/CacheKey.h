//===- CacheKey.h - content address of a compiled kernel --------*- C++ -*-===//
//
// A cubin is identified by everything that can change it: the source, the
// NVRTC options, the tuning config, the GPU arch, the NVRTC version, the
// compiler that emitted the source and this runtime. Triton's users hit stale
// kernels when a key missed the arch or a global constant; every field here
// is covered by a test that changes it and expects a different key.
//
//===----------------------------------------------------------------------===//
#ifndef HYP_RUNTIME_CACHEKEY_H
#define HYP_RUNTIME_CACHEKEY_H

#include "hyp/Runtime/Status.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace hyp::rt {

struct CacheKeyInputs {
  std::string source;
  std::vector<std::string> options;                      // NVRTC options, in order
  std::vector<std::pair<std::string, int64_t>> config;   // tunable name -> value
  std::string arch;                                      // "sm_90"
  std::string nvrtcVersion;                              // "13.0"
  std::string compilerVersion;                           // metadata "compiler"
  std::string runtimeVersion;                            // HYP_VERSION_STRING
};

/// SHA-256 (hex, 64 chars) over a length-prefixed encoding of every field, so
/// no two different inputs can serialize to the same bytes.
HYP_RT_API std::string computeCacheKey(const CacheKeyInputs &);

/// SHA-256 of bytes, lower-case hex.
HYP_RT_API std::string sha256Hex(const std::string &bytes);

/// This runtime's version (HYP_VERSION_STRING), part of every key.
HYP_RT_API const char *runtimeVersion();

} // namespace hyp::rt

#endif // HYP_RUNTIME_CACHEKEY_H
