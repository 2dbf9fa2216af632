//===- HypToCuda.h - hyp IR -> CUDA translation unit + metadata --*- C++ -*-===//
#ifndef HYP_EMITTER_HYPTOCUDA_H
#define HYP_EMITTER_HYPTOCUDA_H

#include "hyp/Emitter/KernelSpec.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/raw_ostream.h"

#include <optional>

namespace hyp::emitter {

/// What the module says about the adapter: the forward program's signature
/// (x, A, B, k, s, y0) gives K, N, r and the activation dtype, its row maps
/// give the row-scalar program (and whether k and s are used, hence the
/// variant's kernel parameters), its hyp.kernel ops the skeleton of each
/// kernel. `hint` (libhypc knows the descriptor) fills what IR cannot say
/// (convention and clamp values for the header comment and metadata).
/// `options`: what libhypc's options or hyp-translate's flags add.
struct EmitOptions {
  bool tensorCores = false; // AdapterSpec::tensorCores (or the hint's)
  int64_t rowSplitCols = 0; // AdapterSpec::rowSplitCols
  /// AdapterSpec::dyPass follows the IR: a backward grouped with a
  /// "*_bwd_dy_pass" kernel (hyp-group-kernels dy-pass=1) reads dY once, one
  /// grouped without it twice; this, when set, must agree (an error
  /// otherwise), and decides only for a module without a grouped backward. An
  /// IR grouped for one pass that the program cannot run that way (not on
  /// tensor cores, r > 32) is an error.
  std::optional<bool> dyPass;
};
mlir::FailureOr<ProgramDef> programFromModule(mlir::ModuleOp module, const AdapterSpec *hint,
                                              const EmitOptions &options);

mlir::LogicalResult translateModuleToCuda(mlir::ModuleOp module, llvm::raw_ostream &os);
mlir::LogicalResult translateModuleToMetadata(mlir::ModuleOp module, llvm::raw_ostream &os);

/// Registers --hyp-to-cuda and --hyp-to-kernel-metadata (mlir-translate style).
void registerHypToCudaTranslations();

/// The compiler version the emitted artefacts carry (set by libhypc/tools).
void setCompilerVersion(std::string version);
const std::string &compilerVersion();

} // namespace hyp::emitter

#endif // HYP_EMITTER_HYPTOCUDA_H
