//===- KernelSpec.h - what the CUDA emitter emits, as data -------*- C++ -*-===//
//
// One KernelDef per extern "C" kernel: its parameters (in order, with the
// metadata kind/elem/access of docs/CONTRACTS.md section 2), launch geometry,
// tunables and the body (a call of a skeleton from HypKernelLib.cuh). The CUDA
// text and the metadata JSON are both printed from these structs, so the two
// can never disagree about a parameter's position, type or name.
//
//===----------------------------------------------------------------------===//
#ifndef HYP_EMITTER_KERNELSPEC_H
#define HYP_EMITTER_KERNELSPEC_H

#include <cstdint>
#include <string>
#include <vector>

namespace hyp::emitter {

enum class Variant { HypLoRA, Simplified, LoRA };
enum class Convention { Reference, Lorentz };
enum class ActDType { F32, BF16, F16 };

const char *toString(Variant);
const char *toString(Convention);
const char *toString(ActDType);
/// Bytes per activation element.
int byteWidth(ActDType);

/// The adapted layer a program is generated for (the compile-time shape key).
/// AdapterSpec::rowSplitCols: the autotuner chooses split-K or not.
constexpr int64_t kRowSplitTuned = -1;
/// The slice width of the tuned split-K candidate (columns).
constexpr int64_t kRowSplitTunedCols = 1024;

struct AdapterSpec {
  Variant variant = Variant::HypLoRA;
  Convention convention = Convention::Reference;
  ActDType actDType = ActDType::F32;
  int64_t inFeatures = 0;  // K
  int64_t outFeatures = 0; // N
  int64_t rank = 0;        // r
  double maxSinhArg = 12.0;
  // bf16 kernels on tensor cores (HypTensorCore.cuh), when the caller asks
  // (libhypc option tensor-cores=1): libhypc compiles what it is asked; the
  // torch JIT asks by default (HYP_TENSOR_CORES=0 does not), since they passed
  // on a GPU and measured faster (docs/KERNELS.md).
  bool tensorCores = false;
  // Split-K of the tensor-core row-reduces: a reduction of at least twice
  // 1024 columns may be cut into slices of about 1024, one block each
  // (hyp_tc_row_split_meet joins them). kRowSplitTuned (the default): the
  // split count is a tunable ({1, S}, grid.y its value), so the autotuner
  // picks it per shape bucket: on an H100 (r = 32, 2026-11-26) splitting
  // won at M = 1024 (fwd_down 81 -> 38 us at 14336 columns, bwd_dy 83 -> 40
  // us at 14336) and lost at M = 4096 and 8192 (fwd_down 96 -> 119 us at
  // 14336, M = 4096; docs/KERNELS.md). N > 0 forces slices of about N in
  // both row-reduces (the tests use small N to reach the split path at small
  // shapes); 0 turns split-K off. libhypc row-split-cols=tuned|N,
  // hyp-translate --hyp-row-split-cols=N (-1: tuned), HYP_ROW_SPLIT_COLS in
  // the torch JIT.
  int64_t rowSplitCols = kRowSplitTuned;
  // The tensor-core backward at r <= 32 reads dY once (HypTensorCoreDyPass.cuh:
  // hyp_bwd_dy_pass, hyp_bwd_rows, hyp_bwd_db_gram) instead of twice
  // (hyp_bwd_dy, hyp_bwd_db). Off keeps the two-pass kernels, for A/B runs
  // and as the fallback: libhypc dy-pass=0|1, hyp-translate --hyp-dy-pass,
  // HYP_DY_PASS in the torch JIT.
  bool dyPass = true;
  // Clamps of HYPLORA.md section 3 (the hyp.adapter attributes).
  double normEps = 1e-7, curvatureEps = 1e-6, timeEps = 1e-6, smallTh = 1.01,
         smallThEps = 1e-6, acoshEps = 1e-7, outNormEps = 1e-7;

  bool hyperbolic() const { return variant != Variant::LoRA; }
  bool hasCurvature() const { return variant != Variant::LoRA; }
  bool hasNormScale() const { return variant == Variant::HypLoRA; }
};

/// Largest rank the skeletons' shared-memory budget (48 KiB static) allows.
constexpr int64_t kMaxRank = 128;

struct KernelParam {
  enum Kind { Ptr, I64, F32 };
  std::string name;
  Kind kind = Ptr;
  std::string elem;   // f32 | bf16 | f16 (ptr only)
  std::string access; // read | write | readwrite | accumulate (ptr only)
};

struct GridAxis {
  bool isConst = true;
  int64_t constant = 1;
  std::string extent; // integer param name
  std::string tile;   // tunable name, may be empty (= 1)
  static GridAxis fixed(int64_t n) { return {true, n, "", ""}; }
  static GridAxis over(std::string extent, std::string tile) {
    return {false, 0, std::move(extent), std::move(tile)};
  }
  /// As many blocks as the tunable's value (metadata {"tunable": NAME}).
  static GridAxis countOf(std::string tunable) { return {true, 0, "", std::move(tunable)}; }
};

struct Tunable {
  std::string name;
  std::vector<int64_t> values;
  int64_t defaultValue = 0;
  // Sets the launch grid only (the kernel derives its share from gridDim): not
  // a -D macro, not part of the compile key, so one compile serves every value.
  bool launchOnly = false;
};

struct KernelDef {
  std::string name;
  std::string summary; // one line, printed above the kernel
  std::vector<KernelParam> params;
  GridAxis grid[3];
  std::string blockTunable; // tunable holding the block size, or empty
  int64_t blockConst = 0;   // used when blockTunable is empty
  // __launch_bounds__'s second argument (0: none): caps the registers so that
  // this many blocks fit an SM, when ptxas would otherwise take so many that
  // one block (too few warps to hide memory latency) is all that fits.
  int64_t minBlocksPerSM = 0;
  std::vector<Tunable> tunables;
  // Integer expressions over the tunables every config must satisfy
  // (metadata "constraints"; the runtime skips configs that violate one).
  std::vector<std::string> constraints;
  // Bytes of dynamic shared memory a launch gives a block: an integer or an
  // integer expression over the tunables (metadata "dynamic_smem").
  std::string dynamicSmem = "0";
  std::string body; // statements of the kernel body
};

struct BufferDef {
  std::string name;
  std::vector<std::string> shape; // "M", "K", "N", "r" or a number
  std::string elem;
  std::string role; // input | output | saved | scratch
  std::vector<std::string> columns; // stats only
  std::string doc;
};

/// A whole program: kernels, launch order per entry point, buffers.
struct ProgramDef {
  AdapterSpec spec;
  std::vector<KernelDef> kernels;
  /// Entry points: forward adds the adapter into y (W x + b on entry);
  /// forwardStore writes it (hyp_fwd_up_store) for a caller that adds W x
  /// afterwards; backward.
  std::vector<std::string> forward, forwardStore, backward;
  std::vector<BufferDef> buffers;
  std::string rowScalarsSource; // definition of hyp_row_scalars<T>
  /// Where the row math came from: "ir" (hyp.row_map bodies) or "formula"
  /// (HYPLORA.md transcribed, the direct path).
  std::string rowProgramOrigin = "formula";
  /// Set when the convention is only implicit in the IR's row program.
  bool conventionFromIr = false;
  /// Why the MLIR path was not used (libhypc's emit=auto fallback), or "".
  std::string mlirPathError;
};

} // namespace hyp::emitter

#endif // HYP_EMITTER_KERNELSPEC_H
