//===- Pipeline.h - the hyp compilation pipeline ----------------*- C++ -*-===//
//
// One function builds the pipeline; the JIT (libhypc) and `hyp-opt
// --hyp-pipeline` both use it, so a dumped stage replays exactly.
//
//===----------------------------------------------------------------------===//
#ifndef HYP_TRANSFORMS_PIPELINE_H
#define HYP_TRANSFORMS_PIPELINE_H

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

#include <string>

namespace hyp {

struct HypPipelineOptions : mlir::PassPipelineOptions<HypPipelineOptions> {
  Option<bool> hoistRowScale{*this, "hoist-row-scale",
                             llvm::cl::desc("Run hyp-hoist-row-scale"),
                             llvm::cl::init(true)};
  Option<bool> gramNorm{*this, "gram-norm", llvm::cl::desc("Run hyp-gram-norm"),
                        llvm::cl::init(true)};
  Option<bool> groupKernels{*this, "group-kernels",
                            llvm::cl::desc("Run hyp-group-kernels (stage 3)"),
                            llvm::cl::init(true)};
  Option<bool> dyPass{*this, "dy-pass",
                      llvm::cl::desc("hyp-group-kernels dy-pass: group the backward as one "
                                     "pass over dY (hyp_bwd_dy_pass, hyp_bwd_rows, "
                                     "hyp_bwd_db_gram), as the tensor-core emitter runs it "
                                     "at r <= 32; libhypc sets it when it will"),
                      llvm::cl::init(false)};
  Option<std::string> dumpDir{
      *this, "dump-dir",
      llvm::cl::desc("Write each stage's IR to <dir>/NN-<pass>.mlir "
                     "(default: $HYP_DUMP_DIR)"),
      llvm::cl::init("")};
};

/// Appends the hyp pipeline to `pm`, which must be anchored on builtin.module:
/// expand (stage 1), hoist + gram (stage 2), group (stage 3), with
/// canonicalize + cse between stages and stage dumps when a dump directory
/// is given (options or $HYP_DUMP_DIR).
void buildHypPipeline(mlir::OpPassManager &pm, const HypPipelineOptions &opts);

/// Registers `hyp-pipeline` as a named pass pipeline (hyp-opt --hyp-pipeline).
void registerHypPipeline();

} // namespace hyp

#endif // HYP_TRANSFORMS_PIPELINE_H
