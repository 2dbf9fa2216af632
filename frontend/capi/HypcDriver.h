//===- HypcDriver.h - libhypc internals shared by its files ------*- C++ -*-===//
#ifndef HYPC_DRIVER_H
#define HYPC_DRIVER_H

#include "hyp/Emitter/KernelSpec.h"

#include <string>

/// What one compile produced (behind the opaque hypc_output handle).
struct hypc_output {
  std::string error; // "" when ok
  std::string cudaSource;
  std::string metadataJson;
  std::string inputIr;
};

namespace hyp::capi {

/// hypc options text, split into the part libhypc reads itself and the
/// pipeline options (HypPipelineOptions syntax) it forwards.
struct CompileOptions {
  /// "mlir" (default): stage-0 IR -> pipeline -> hyp.kernel -> CUDA; any
  /// failure is an error (the compiler must not quietly hand back other code).
  /// "direct": AdapterSpec -> CUDA with the formulas of HYPLORA.md, no pipeline
  /// (a cross-check of the MLIR path).
  /// "auto" (opt-in): "mlir", and if the pipeline or the emitter fails,
  /// "direct", with the MLIR diagnostics recorded in the metadata
  /// ("mlir_path_error") so the fallback stays visible.
  std::string emit = "mlir";
  /// "tensor-cores=1": AdapterSpec::tensorCores (bf16 kernels on mma.sync).
  bool tensorCores = false;
  /// "row-split-cols=tuned|N": AdapterSpec::rowSplitCols (tuned, the
  /// default: the autotuner decides; N > 0: slices of about N columns; 0: no
  /// split-K).
  int64_t rowSplitCols = hyp::emitter::kRowSplitTuned;
  /// "dy-pass=0|1": AdapterSpec::dyPass (1, the default: the tensor-core
  /// backward at r <= 32 reads dY once).
  bool dyPass = true;
  std::string pipelineOptions;
};
/// Parses "emit=direct hoist-row-scale=false ..."; false + *error on bad text.
bool parseOptions(const char *text, CompileOptions &out, std::string *error);

/// The compiler version string ("hypc <version>+<commit>").
const char *versionString();

/// Builds the stage-0 module for `spec`, runs the pipeline, emits CUDA and
/// metadata into `out` (out.error set on failure). Defined in AdapterBuilder.cpp.
bool compileAdapterThroughMlir(const hyp::emitter::AdapterSpec &spec,
                               const CompileOptions &options, hypc_output &out);
/// Same from IR text.
bool compileIrThroughMlir(const std::string &irText, const CompileOptions &options,
                          hypc_output &out);

/// Writes name -> text into $HYP_DUMP_DIR when it is set (best effort).
void dumpArtifact(const std::string &name, const std::string &text);

} // namespace hyp::capi

#endif // HYPC_DRIVER_H
