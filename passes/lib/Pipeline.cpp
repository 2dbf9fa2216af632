//===- Pipeline.cpp - the hyp compilation pipeline ------------------------===//
#include "hyp/Transforms/Pipeline.h"
#include "hyp/Transforms/Passes.h"

#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"

#include <cstdlib>

namespace hyp {

namespace {
/// Adds stage dumps numbered in pipeline order when a directory is set.
class StageDumper {
public:
  explicit StageDumper(std::string dir) : dir(std::move(dir)) {}
  void dump(mlir::OpPassManager &pm, llvm::StringRef stage) {
    if (dir.empty())
      return;
    mlir::hyp::HypDumpStageOptions opts;
    opts.dir = dir;
    opts.stageName = llvm::formatv("{0:d2}-{1}", index++, stage).str();
    pm.addPass(mlir::hyp::createHypDumpStage(opts));
  }

private:
  std::string dir;
  unsigned index = 0;
};

void addCleanup(mlir::OpPassManager &pm) {
  mlir::OpPassManager &fpm = pm.nest<mlir::func::FuncOp>();
  fpm.addPass(mlir::createCanonicalizerPass());
  fpm.addPass(mlir::createCSEPass());
}
} // namespace

void buildHypPipeline(mlir::OpPassManager &pm, const HypPipelineOptions &opts) {
  std::string dir = opts.dumpDir;
  if (dir.empty())
    if (const char *env = std::getenv("HYP_DUMP_DIR"))
      dir = env;
  StageDumper dumper(dir);
  dumper.dump(pm, "input");

  {
    mlir::OpPassManager &fpm = pm.nest<mlir::func::FuncOp>();
    fpm.addPass(mlir::hyp::createHypExpandAdapter());
    fpm.addPass(mlir::hyp::createHypDeriveBackward());
  }
  addCleanup(pm);
  dumper.dump(pm, "hyp-expand-adapter");

  if (opts.hoistRowScale || opts.gramNorm) {
    mlir::OpPassManager &fpm = pm.nest<mlir::func::FuncOp>();
    if (opts.hoistRowScale)
      fpm.addPass(mlir::hyp::createHypHoistRowScale());
    if (opts.gramNorm)
      fpm.addPass(mlir::hyp::createHypGramNorm());
    addCleanup(pm);
    dumper.dump(pm, "hyp-hoist-gram");
  }

  if (opts.groupKernels) {
    mlir::hyp::HypGroupKernelsOptions group;
    group.dyPass = opts.dyPass;
    pm.nest<mlir::func::FuncOp>().addPass(mlir::hyp::createHypGroupKernels(group));
    addCleanup(pm);
    dumper.dump(pm, "hyp-group-kernels");
  }
}

void registerHypPipeline() {
  mlir::PassPipelineRegistration<HypPipelineOptions>(
      "hyp-pipeline",
      "The hyp pipeline: expand, hoist, Gram norm, group kernels (stage 0 to 3)",
      [](mlir::OpPassManager &pm, const HypPipelineOptions &opts) {
        buildHypPipeline(pm, opts);
      });
}

} // namespace hyp
