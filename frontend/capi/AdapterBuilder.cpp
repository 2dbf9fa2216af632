//===- AdapterBuilder.cpp - descriptor -> stage-0 IR -> pipeline -> CUDA --===//
//
// The MLIR path of libhypc. The stage-0 module (docs/IR.md) is written as
// text in the dialect's own syntax, parsed (so hypc_output_input_ir is exactly
// what was compiled and `hyp-opt --hyp-pipeline` replays it), run through
// hyp::buildHypPipeline, and translated by the emitter. Each compile owns its
// MLIRContext (threading off), so concurrent compiles share nothing; every
// diagnostic is captured into the output's error text, never printed/aborted.
//
// The IR carries scaling = 1: the kernels take the layer's scaling as a
// runtime parameter (it multiplies the IR's scaling), so one compiled program
// serves every alpha/r.
//
//===----------------------------------------------------------------------===//
#include "HypcDriver.h"

#include "hyp/Dialect/HypDialect.h"
#include "hyp/Dialect/HypOps.h"
#include "hyp/Emitter/AdapterProgram.h"
#include "hyp/Emitter/HypToCuda.h"
#include "hyp/Transforms/Pipeline.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace ::hyp;
using namespace ::hyp::emitter;

namespace {

const char *mlirElem(ActDType d) {
  switch (d) {
  case ActDType::F32: return "f32";
  case ActDType::BF16: return "bf16";
  case ActDType::F16: return "f16";
  }
  return "?";
}

std::string floatAttr(double v) { return llvm::formatv("{0:e8} : f32", v).str(); }

} // namespace

/// Stage-0 IR of one adapted layer: @adapter_forward and @adapter_backward.
std::string buildStage0Ir(const AdapterSpec &s) {
  std::string act = mlirElem(s.actDType);
  std::string K = std::to_string(s.inFeatures), N = std::to_string(s.outFeatures),
              r = std::to_string(s.rank);
  std::string tx = "tensor<?x" + K + "x" + act + ">", ty = "tensor<?x" + N + "x" + act + ">",
              tA = "tensor<" + r + "x" + K + "xf32>", tB = "tensor<" + N + "x" + r + "xf32>",
              tw = "tensor<?x" + r + "xf32>", tst = "tensor<?x4xf32>", ts = "tensor<f32>";
  std::string attrs =
      "{variant = #hyp.variant<" + std::string(toString(s.variant)) +
      ">, convention = #hyp.convention<" + toString(s.convention) + ">, scaling = " +
      floatAttr(1.0) + ", max_sinh_arg = " + floatAttr(s.maxSinhArg) + "}";
  std::string out;
  llvm::raw_string_ostream os(out);
  os << "// hyplora adapter, stage 0 (docs/IR.md): variant=" << toString(s.variant)
     << " convention=" << toString(s.convention) << " act=" << act << " K=" << K << " N=" << N
     << " r=" << r << "\n"
     << "// scaling = 1 here: the kernels multiply by the runtime `scaling` argument.\n"
     << "module {\n"
     << "  func.func @adapter_forward(%x: " << tx << ", %A: " << tA << ", %B: " << tB
     << ", %k: " << ts << ", %s: " << ts << ", %y0: " << ty << ") -> (" << ty << ", " << tw
     << ", " << tst << ") {\n"
     << "    %y, %w, %stats = hyp.adapter %x, %A, %B, %k, %s, %y0 " << attrs << " : (" << tx
     << ", " << tA << ", " << tB << ", " << ts << ", " << ts << ", " << ty << ") -> (" << ty
     << ", " << tw << ", " << tst << ")\n"
     << "    return %y, %w, %stats : " << ty << ", " << tw << ", " << tst << "\n  }\n"
     << "  func.func @adapter_backward(%dy: " << ty << ", %x: " << tx << ", %A: " << tA
     << ", %B: " << tB << ", %k: " << ts << ", %s: " << ts << ", %w: " << tw
     << ", %stats: " << tst << ", %dx0: " << tx << ") -> (" << tx << ", " << tA << ", " << tB
     << ", " << ts << ", " << ts << ") {\n"
     << "    %dx, %dA, %dB, %dk, %ds = hyp.adapter_grad %dy, %x, %A, %B, %k, %s, %w, %stats, %dx0 "
     << attrs << " : (" << ty << ", " << tx << ", " << tA << ", " << tB << ", " << ts << ", "
     << ts << ", " << tw << ", " << tst << ", " << tx << ") -> (" << tx << ", " << tA << ", "
     << tB << ", " << ts << ", " << ts << ")\n"
     << "    return %dx, %dA, %dB, %dk, %ds : " << tx << ", " << tA << ", " << tB << ", " << ts
     << ", " << ts << "\n  }\n}\n";
  return out;
}

namespace {

/// Whether the emitter will run the module's backward as one pass over dY
/// (backwardReadsDyOnce), so the pipeline groups its IR that way: from the
/// descriptor when libhypc built the IR, else from the stage-0 hyp.adapter_grad
/// (dY's element type, B's rank); IR past stage 0 keeps the two-pass grouping.
bool groupsOnePassOverDy(ModuleOp module, const AdapterSpec *hint,
                         const capi::CompileOptions &options) {
  AdapterSpec spec = hint ? *hint : AdapterSpec();
  if (!hint) {
    bool found = false;
    module.walk([&](mlir::hyp::AdapterGradOp grad) {
      auto dy = cast<RankedTensorType>(grad.getDy().getType());
      auto B = cast<RankedTensorType>(grad.getB().getType());
      Type e = dy.getElementType();
      spec.actDType = e.isBF16() ? ActDType::BF16 : e.isF16() ? ActDType::F16 : ActDType::F32;
      spec.rank = B.getDimSize(1);
      found = true;
    });
    if (!found)
      return false;
  }
  spec.tensorCores = options.tensorCores;
  spec.dyPass = options.dyPass;
  return backwardReadsDyOnce(spec);
}

/// The command lines that redo this compile from the dumped stage-0 IR
/// (HYP_DUMP_DIR's replay.sh): the pipeline options as libhypc resolved them
/// (dy-pass included) and the emitter's flags.
std::string replayScript(const HypPipelineOptions &p, const capi::CompileOptions &options) {
  auto flag = [](bool b) { return b ? "true" : "false"; };
  return llvm::formatv(
             "#!/bin/sh\n"
             "# Redoes this libhypc compile from the command line (run in this directory):\n"
             "# the kernels and their metadata match hyp_kernels.cu / hyp_kernels.json but for\n"
             "# what only the descriptor says (convention name, clamps in the header).\n"
             "hyp-opt 00-input.mlir --hyp-pipeline=\"hoist-row-scale={0} gram-norm={1} "
             "group-kernels={2} dy-pass={3}\" -o replay-stage3.mlir\n"
             "hyp-translate --hyp-to-cuda{4} --hyp-row-split-cols={5} replay-stage3.mlir "
             "-o replay.cu\n"
             "hyp-translate --hyp-to-kernel-metadata{4} --hyp-row-split-cols={5} "
             "replay-stage3.mlir -o replay.json\n",
             flag(p.hoistRowScale), flag(p.gramNorm), flag(p.groupKernels), flag(p.dyPass),
             options.tensorCores ? " --hyp-tensor-cores" : "", options.rowSplitCols)
      .str();
}

/// Parses, runs the pipeline and emits; `hint` is the descriptor when known.
bool compileModuleText(const std::string &irText, const capi::CompileOptions &options,
                       const AdapterSpec *hint, hypc_output &out) {
  DialectRegistry registry;
  registry.insert<mlir::hyp::HypDialect, func::FuncDialect, arith::ArithDialect,
                  math::MathDialect, tensor::TensorDialect>();
  MLIRContext context(registry, MLIRContext::Threading::DISABLED);
  context.loadAllAvailableDialects();
  std::string diagnostics;
  ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
    llvm::raw_string_ostream os(diagnostics);
    os << diag.getLocation() << ": ";
    switch (diag.getSeverity()) {
    case DiagnosticSeverity::Error: os << "error: "; break;
    case DiagnosticSeverity::Warning: os << "warning: "; break;
    case DiagnosticSeverity::Note: os << "note: "; break;
    case DiagnosticSeverity::Remark: os << "remark: "; break;
    }
    os << diag << "\n";
    for (Diagnostic &note : diag.getNotes())
      os << "  note: " << note << "\n";
    return success();
  });
  auto fail = [&](const std::string &what) {
    out.error = what + (diagnostics.empty() ? "" : ":\n" + diagnostics);
    return false;
  };

  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(irText, &context, "hypc-input");
  if (!module)
    return fail("hypc: malformed IR");
  out.inputIr = irText;
  capi::dumpArtifact("00-input.mlir", irText);

  HypPipelineOptions pipelineOptions;
  pipelineOptions.dyPass = groupsOnePassOverDy(*module, hint, options);
  if (!options.pipelineOptions.empty()) {
    llvm::raw_string_ostream errs(diagnostics);
    if (failed(pipelineOptions.parseFromString(options.pipelineOptions, errs)))
      return fail("hypc: bad pipeline options '" + options.pipelineOptions + "'");
  }
  capi::dumpArtifact("replay.sh", replayScript(pipelineOptions, options));
  PassManager pm(&context, ModuleOp::getOperationName());
  buildHypPipeline(pm, pipelineOptions);
  if (failed(pm.run(*module)))
    return fail("hypc: the hyp pipeline failed");

  // The IR's grouping says how the backward reads dY (options.dyPass went
  // into it above).
  EmitOptions emit;
  emit.tensorCores = options.tensorCores;
  emit.rowSplitCols = options.rowSplitCols;
  auto prog = programFromModule(*module, hint, emit);
  if (failed(prog))
    return fail("hypc: CUDA emission failed");
  out.cudaSource = printCudaSource(*prog, capi::versionString());
  out.metadataJson = printMetadataJson(*prog, capi::versionString());
  return true;
}

} // namespace

namespace hyp {
namespace capi {

bool compileAdapterThroughMlir(const AdapterSpec &spec, const CompileOptions &options,
                                          hypc_output &out) {
  return compileModuleText(buildStage0Ir(spec), options, &spec, out);
}

bool compileIrThroughMlir(const std::string &irText, const CompileOptions &options,
                                     hypc_output &out) {
  return compileModuleText(irText, options, nullptr, out);
}

} // namespace capi
} // namespace hyp
