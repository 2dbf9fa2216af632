//===- DumpStage.cpp - write the module to <dir>/<name>.mlir --------------===//
//
// Stage dumps for HYP_DUMP_DIR. A pass (not a PassInstrumentation) because
// buildHypPipeline only sees an OpPassManager, to which instrumentations
// cannot be attached; the JIT and hyp-opt then dump identically.
//
//===----------------------------------------------------------------------===//
#include "hyp/Transforms/Passes.h"

#include "mlir/IR/AsmState.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/ToolOutputFile.h"

#define DEBUG_TYPE "hyp-dump-stage"

namespace mlir::hyp {
#define GEN_PASS_DEF_HYPDUMPSTAGE
#include "hyp/Transforms/Passes.h.inc"

namespace {
struct HypDumpStage : impl::HypDumpStageBase<HypDumpStage> {
  using Base::Base;

  void runOnOperation() override {
    if (dir.empty())
      return;
    if (std::error_code ec = llvm::sys::fs::create_directories(dir)) {
      getOperation().emitError("cannot create dump directory '")
          << dir << "': " << ec.message();
      return signalPassFailure();
    }
    llvm::SmallString<256> path(dir);
    llvm::sys::path::append(path, stageName + ".mlir");
    std::error_code ec;
    llvm::ToolOutputFile file(path, ec, llvm::sys::fs::OF_Text);
    if (ec) {
      getOperation().emitError("cannot write stage dump '")
          << path << "': " << ec.message();
      return signalPassFailure();
    }
    // Generic-free, location-free pretty form: the file must parse again.
    getOperation()->print(file.os(), OpPrintingFlags());
    file.os() << "\n";
    file.keep();
    markAllAnalysesPreserved();
  }
};
} // namespace
} // namespace mlir::hyp
