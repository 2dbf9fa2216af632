//===- Metadata.h - the compiler's kernel metadata (CONTRACTS.md §2) -*- C++ -*-===//
//
// The compiler describes every kernel it emits (parameters, grid, block,
// tunables, constraints) in a JSON document. The runtime parses it once per
// program into these plain structs; nothing on the launch path touches JSON.
//
//===----------------------------------------------------------------------===//
#ifndef HYP_RUNTIME_METADATA_H
#define HYP_RUNTIME_METADATA_H

#include "hyp/Runtime/Status.h"

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace hyp::rt {

enum class ParamKind { Ptr, I32, I64, F32 };
enum class ElemType { None, F32, BF16, F16, F64, I32 };
enum class Access { None, Read, Write, ReadWrite, Accumulate };

HYP_RT_API const char *paramKindName(ParamKind);
HYP_RT_API const char *elemTypeName(ElemType);
HYP_RT_API int elemTypeBytes(ElemType);

struct ParamInfo {
  std::string name;
  ParamKind kind = ParamKind::Ptr;
  ElemType elem = ElemType::None;  // pointers only
  Access access = Access::None;    // pointers only
};

// One grid axis: `isConst` ? constValue : ceil(param[extentParam] / tunable[tile]).
struct GridAxis {
  bool isConst = true;
  int64_t constValue = 1;
  std::string extent;   // integer parameter name
  int extentParam = -1; // its index in KernelInfo::params
  std::string tile;     // tunable name; empty = 1
  int tileTunable = -1; // its index in KernelInfo::tunables
  // A const axis whose block count is a tunable's value ({"tunable": NAME}:
  // the split-K slices of a row-reduce) has tileTunable >= 0 and no extent:
  // its count is the config's, so configs may differ in it.
  int64_t constBlocks(const std::vector<int64_t> &config) const {
    return tileTunable >= 0 ? config[tileTunable] : constValue;
  }
};

struct Tunable {
  std::string name;
  std::vector<int64_t> values;
  int64_t defaultValue = 0;
  // "launch_only": true: the value sets the launch (a grid tile) and is not
  // compiled in (no -D macro, not in the compile key): configs that differ
  // only in launch-only tunables share one compiled kernel.
  bool launchOnly = false;
};

struct KernelInfo {
  std::string name;
  std::vector<ParamInfo> params;
  GridAxis grid[3];
  std::string blockTunable; // empty: blockConst
  int blockTunableIndex = -1;
  int64_t blockConst = 0;
  std::vector<Tunable> tunables;
  std::vector<std::string> constraints;
  std::string dynamicSmem = "0"; // integer or expression over tunables

  int tunableIndex(const std::string &name) const;
  int paramIndex(const std::string &name) const;
};

struct BufferInfo {
  std::vector<std::string> shape; // symbols (M, K, ...) or integers
  ElemType elem = ElemType::None;
};

struct ProgramMetadata {
  int schema = 0;
  std::string compiler;
  std::vector<KernelInfo> kernels;
  std::map<std::string, std::vector<int>> programs; // entry -> kernel indices
  std::map<std::string, BufferInfo> buffers;
  // Optional extension "constants": {"K": 576, ...}: the shape values compiled
  // into the source. When present they (not the source hash) identify the
  // program in tuning keys, so an edit of the source keeps its tuning choices.
  std::map<std::string, int64_t> constants;
  // Optional extension "bucketed": integer params whose value is bucketed
  // (next power of two) in tuning keys. Default ["M"].
  std::vector<std::string> bucketed{"M"};
  // Optional extension "untuned": integer params left out of tuning keys
  // altogether (a window offset that moves on every launch, say): one tuning
  // serves every value. The first launch at a key is the one that is tuned,
  // so the caller should make that launch a cheap one.
  std::vector<std::string> untuned;
  // Optional extension "nvrtc_options": ["-lineinfo", ...]: extra NVRTC
  // options for every kernel (part of the cache key, like all options).
  std::vector<std::string> nvrtcOptions;

  int kernelIndex(const std::string &name) const;
};

/// Parses and validates metadata JSON. Errors name the offending field
/// ("metadata: kernels[1].params[2].kind: unknown kind 'ptr64'").
HYP_RT_API Status parseMetadata(const std::string &json, ProgramMetadata *out);

/// One value per tunable, in KernelInfo::tunables order.
using TuningConfig = std::vector<int64_t>;

HYP_RT_API TuningConfig defaultConfig(const KernelInfo &);
/// "BLOCK_M=16,THREADS=128" (tunables order); "" for a kernel without tunables.
HYP_RT_API std::string configToString(const KernelInfo &, const TuningConfig &);
/// Checks that every value is one of the tunable's values and that the
/// constraints hold.
HYP_RT_API Status validateConfig(const KernelInfo &, const TuningConfig &);
/// Builds a config from name=value pairs; missing tunables take defaults.
HYP_RT_API Status configFromMap(const KernelInfo &,
                                const std::map<std::string, int64_t> &values,
                                TuningConfig *out);

/// Evaluates an integer expression: literals, identifiers (resolved by
/// `lookup`), parentheses, unary -, * / %, + -, < <= > >= == !=, && ||.
/// Comparisons yield 0/1. Errors on unknown names, division by zero, junk.
HYP_RT_API Status
evalIntExpr(const std::string &expr,
            const std::function<bool(const std::string &, int64_t *)> &lookup,
            int64_t *out);

/// Block size and dynamic shared memory of a kernel under a config.
HYP_RT_API int64_t blockThreads(const KernelInfo &, const TuningConfig &);
HYP_RT_API Status dynamicSmemBytes(const KernelInfo &, const TuningConfig &,
                                   int64_t *out);

} // namespace hyp::rt

#endif // HYP_RUNTIME_METADATA_H
