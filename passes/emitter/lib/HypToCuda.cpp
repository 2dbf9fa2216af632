//===- HypToCuda.cpp - hyp IR -> CUDA + metadata (hyp-translate) ----------===//
//
// Reads the adapter's programs from IR at stage 1 or later (docs/IR.md) and
// prints the CUDA translation unit / metadata. The row math comes from the
// IR (RowScalarEmitter); the loop skeletons (HypKernelLib.cuh) are chosen per
// anchor: the stage-3 hyp.kernel ops are classified by their anchor op and
// listed next to the emitted kernel that implements them (a stage-3 kernel
// with an anchor no skeleton implements is an error).
//
//===----------------------------------------------------------------------===//
#include "hyp/Emitter/HypToCuda.h"

#include "hyp/Dialect/HypDialect.h"
#include "hyp/Dialect/HypOps.h"
#include "hyp/Emitter/AdapterProgram.h"
#include "hyp/Emitter/RowScalarEmitter.h"

#include "llvm/Support/CommandLine.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/Tools/mlir-translate/Translation.h"

#include <mutex>

using namespace mlir;
using namespace ::hyp::emitter;

namespace {
std::mutex versionMutex;
std::string &versionStorage() {
  static std::string v = "hypc (unknown version)";
  return v;
}

FailureOr<ActDType> actDTypeOf(func::FuncOp f, Type t) {
  if (t.isF32())
    return ActDType::F32;
  if (t.isBF16())
    return ActDType::BF16;
  if (t.isF16())
    return ActDType::F16;
  return f.emitError("hyp-to-cuda: unsupported activation element type ") << t
         << " (expected f32, bf16 or f16)";
}

/// The skeleton a stage-3 kernel needs, from its anchor op (docs/IR.md).
std::string anchorSkeleton(mlir::hyp::KernelOp k) {
  bool rowReduce = false, update = false, colReduce = false, weight = false, rowWork = false;
  k.getBody().walk([&](Operation *op) {
    auto perRow = [](Value v) { return cast<RankedTensorType>(v.getType()).isDynamicDim(0); };
    // Row work on complete rows of a matrix (the rows kernel after a one pass
    // over dY: the row chain rule, or LoRA's scaling of P alone); per-row
    // vectors alone are row maps, which live inside a skeleton.
    for (Value v : op->getOperands())
      if (auto t = dyn_cast<RankedTensorType>(v.getType()); t && t.getRank() == 2 && t.isDynamicDim(0))
        rowWork = true;
    if (auto mt = dyn_cast<mlir::hyp::MatmulTOp>(op))
      (mt.getAcc() ? update : perRow(mt.getA()) ? rowReduce : weight) = true;
    else if (auto mm = dyn_cast<mlir::hyp::MatmulOp>(op))
      (mm.getAcc() ? update : perRow(mm.getA()) ? rowReduce : weight) = true;
    else if (isa<mlir::hyp::RowSqNormOp>(op))
      rowReduce = true;
    else if (auto tn = dyn_cast<mlir::hyp::MatmulTNOp>(op)) {
      auto t = cast<RankedTensorType>(tn.getA().getType());
      (t.isDynamicDim(0) ? colReduce : weight) = true;
    }
  });
  if (update)
    return colReduce ? "row-update+column-reduce" : "row-update";
  if (rowReduce)
    return "row-reduce";
  if (colReduce)
    return weight ? "column-reduce (+ weight epilogue)" : "column-reduce";
  if (weight)
    return "weight (column-reduce over N)";
  if (rowWork)
    return "row epilogue (complete rows)";
  return "";
}

/// How the module's grouped backward reads dY: true with a "*_bwd_dy_pass"
/// kernel (hyp-group-kernels dy-pass=1), false without one, nullopt when no
/// function is a grouped backward program.
std::optional<bool> irBackwardReadsDyOnce(ModuleOp module) {
  std::optional<bool> once;
  module.walk([&](func::FuncOp f) {
    auto program = f->getAttrOfType<StringAttr>("hyp.program");
    auto kernels = f->getAttrOfType<ArrayAttr>("hyp.kernels");
    if (!program || program.getValue() != "backward" || !kernels)
      return;
    bool pass = false;
    for (Attribute name : kernels)
      if (auto s = dyn_cast<StringAttr>(name))
        pass |= s.getValue().ends_with("_bwd_dy_pass");
    once = pass;
  });
  return once;
}
} // namespace

namespace hyp {
namespace emitter {

void setCompilerVersion(std::string version) {
  std::lock_guard<std::mutex> lock(versionMutex);
  versionStorage() = std::move(version);
}
const std::string &compilerVersion() { return versionStorage(); }

FailureOr<ProgramDef> programFromModule(ModuleOp module, const AdapterSpec *hint,
                                        const EmitOptions &options) {
  func::FuncOp forward;
  module.walk([&](func::FuncOp f) {
    bool hasStats = false;
    f.walk([&](mlir::hyp::PackColsOp p) { hasStats |= p.getColumns().size() == 4; });
    if (hasStats && !forward)
      forward = f;
  });
  if (!forward) {
    bool stage0 = false;
    module.walk([&](mlir::hyp::AdapterOp) { stage0 = true; });
    return module.emitError(stage0 ? "hyp-to-cuda: the module is still at stage 0 (hyp.adapter); "
                                     "run the pipeline first (hyp-opt --hyp-pipeline)"
                                   : "hyp-to-cuda: no forward adapter program in the module "
                                     "(a function producing the 4-column stats)");
  }
  auto args = forward.getArguments();
  if (args.size() != 6)
    return forward.emitError("hyp-to-cuda: the forward program must take (x, A, B, k, s, y0), got ")
           << args.size() << " arguments";
  auto x = dyn_cast<RankedTensorType>(args[0].getType());
  auto A = dyn_cast<RankedTensorType>(args[1].getType());
  auto B = dyn_cast<RankedTensorType>(args[2].getType());
  if (!x || !A || !B || x.getRank() != 2 || A.getRank() != 2 || B.getRank() != 2 ||
      A.isDynamicDim(0) || A.isDynamicDim(1) || B.isDynamicDim(0) ||
      A.getDimSize(1) != x.getDimSize(1) || B.getDimSize(1) != A.getDimSize(0))
    return forward.emitError("hyp-to-cuda: expected x: ?xK, A: rxK, B: Nxr with static K, N, r");
  auto act = actDTypeOf(forward, x.getElementType());
  if (failed(act))
    return failure();

  std::string rowSource;
  RowScalarUsage usage;
  if (failed(emitRowScalarsFromIR(forward, RowScalarRoles{args[3], args[4]}, rowSource, usage)))
    return failure();

  AdapterSpec spec = hint ? *hint : AdapterSpec();
  spec.tensorCores |= options.tensorCores;
  spec.rowSplitCols = options.rowSplitCols;
  const std::optional<bool> dyPass = options.dyPass;
  // The IR's grouping of the backward decides how it reads dY, so what runs
  // is what hyp-opt shows (and a dumped stage replays it).
  const std::optional<bool> irOnce = irBackwardReadsDyOnce(module);
  if (dyPass && irOnce && *dyPass != *irOnce)
    return module.emitError("hyp-to-cuda: --hyp-dy-pass=")
           << (*dyPass ? 1 : 0) << " disagrees with the IR, whose backward reads dY "
           << (*irOnce ? "once (grouped with hyp-group-kernels dy-pass=1)"
                       : "twice (grouped without dy-pass)")
           << ": drop the flag or regroup";
  spec.dyPass = irOnce ? *irOnce : dyPass.value_or(true);
  spec.inFeatures = A.getDimSize(1);
  spec.outFeatures = B.getDimSize(0);
  spec.rank = A.getDimSize(0);
  spec.actDType = *act;
  spec.variant = usage.usesS ? Variant::HypLoRA
                             : (usage.usesK ? Variant::Simplified : Variant::LoRA);
  if (hint && hint->variant != spec.variant)
    return forward.emitError("hyp-to-cuda: the row program reads ")
           << (usage.usesK ? "k " : "") << (usage.usesS ? "s " : "")
           << "which does not fit variant " << toString(hint->variant);

  auto prog = buildAdapterProgram(spec, rowSource);
  if (!prog)
    return forward.emitError("hyp-to-cuda: ") << llvm::toString(prog.takeError());

  if (irOnce && *irOnce && !backwardReadsDyOnce(spec))
    return module.emitError("hyp-to-cuda: the IR's backward reads dY once (hyp_bwd_dy_pass: "
                            "hyp-group-kernels dy-pass=1), which runs on tensor cores only "
                            "(bf16, r % 8 == 0, r <= 32; here ")
           << (spec.tensorCores ? "tensor cores" : "no tensor cores") << ", "
           << toString(spec.actDType) << ", r = " << spec.rank
           << "): group it without dy-pass";
  prog->rowProgramOrigin = "ir";
  prog->conventionFromIr = hint == nullptr;
  // Stage 3: every hyp.kernel must map onto a skeleton of the program.
  std::string table;
  module.walk([&](mlir::hyp::KernelOp k) {
    std::string skel = anchorSkeleton(k);
    table += "//   " + k.getSymName().str() + ": " + (skel.empty() ? "?" : skel) + "\n";
  });
  bool bad = false;
  module.walk([&](mlir::hyp::KernelOp k) {
    if (anchorSkeleton(k).empty()) {
      k.emitError("hyp-to-cuda: hyp.kernel '")
          << k.getSymName() << "' has no anchor op (row_sqnorm, matmul_t, matmul, matmul_tn)";
      bad = true;
    }
  });
  if (bad)
    return failure();
  if (!table.empty())
    prog->rowScalarsSource =
        "// Stage-3 kernels of the IR and the skeleton of their anchor:\n" + table +
        prog->rowScalarsSource;
  return std::move(*prog);
}

/// hyp-translate's counterpart of libhypc's tensor-cores=1, so a JIT compile
/// with tensor cores can be reproduced from the command line.
static llvm::cl::opt<bool> clTensorCores(
    "hyp-tensor-cores",
    llvm::cl::desc("hyp-to-cuda / hyp-to-kernel-metadata: bf16 kernels on tensor cores"),
    llvm::cl::init(false));

/// libhypc's row-split-cols=N (AdapterSpec::rowSplitCols).
static llvm::cl::opt<int64_t> clRowSplitCols(
    "hyp-row-split-cols",
    llvm::cl::desc("hyp-to-cuda / hyp-to-kernel-metadata: split-K slice of the tensor-core "
                   "row-reduces, in columns (0: no split; -1, the default: the autotuner "
                   "chooses between none and 1024-column slices)"),
    llvm::cl::init(::hyp::emitter::kRowSplitTuned));

/// libhypc's dy-pass=0|1 (AdapterSpec::dyPass).
static llvm::cl::opt<bool> clDyPass(
    "hyp-dy-pass",
    llvm::cl::desc("hyp-to-cuda / hyp-to-kernel-metadata: the tensor-core backward at r <= 32 "
                   "reads dY once (hyp_bwd_dy_pass) or twice (=0: hyp_bwd_dy, hyp_bwd_db); "
                   "the IR's grouping decides (hyp-opt --hyp-pipeline=\"dy-pass=1\"), this "
                   "flag must agree with it and decides only without a grouped backward "
                   "(default then: once)"),
    llvm::cl::init(true));

/// The program of the module under the command-line options; a bad
/// --hyp-row-split-cols is refused here, by the flag's name (AdapterSpec
/// validation would name the spec field).
static FailureOr<ProgramDef> programFromFlags(ModuleOp module, llvm::StringRef translation) {
  if (clRowSplitCols < 0 && clRowSplitCols != ::hyp::emitter::kRowSplitTuned)
    return module.emitError(translation +
                            ": --hyp-row-split-cols must be >= 0, or -1 (tuned)");
  EmitOptions options;
  options.tensorCores = clTensorCores;
  options.rowSplitCols = clRowSplitCols;
  if (clDyPass.getNumOccurrences())
    options.dyPass = clDyPass;
  return programFromModule(module, nullptr, options);
}

LogicalResult translateModuleToCuda(ModuleOp module, llvm::raw_ostream &os) {
  auto prog = programFromFlags(module, "hyp-to-cuda");
  if (failed(prog))
    return failure();
  os << printCudaSource(*prog, compilerVersion());
  return success();
}

LogicalResult translateModuleToMetadata(ModuleOp module, llvm::raw_ostream &os) {
  auto prog = programFromFlags(module, "hyp-to-kernel-metadata");
  if (failed(prog))
    return failure();
  os << printMetadataJson(*prog, compilerVersion());
  return success();
}

void registerHypToCudaTranslations() {
  auto dialects = [](DialectRegistry &registry) {
    registry.insert<mlir::hyp::HypDialect, func::FuncDialect, arith::ArithDialect,
                    math::MathDialect, tensor::TensorDialect>();
  };
  static TranslateFromMLIRRegistration toCuda(
      "hyp-to-cuda", "hyp IR (stage >= 1) -> one CUDA translation unit",
      [](Operation *op, llvm::raw_ostream &os) {
        auto module = dyn_cast<ModuleOp>(op);
        if (!module)
          return op->emitError("hyp-to-cuda: expected a builtin.module"), failure();
        return translateModuleToCuda(module, os);
      },
      dialects);
  static TranslateFromMLIRRegistration toMetadata(
      "hyp-to-kernel-metadata", "hyp IR (stage >= 1) -> kernel metadata JSON",
      [](Operation *op, llvm::raw_ostream &os) {
        auto module = dyn_cast<ModuleOp>(op);
        if (!module)
          return op->emitError("hyp-to-kernel-metadata: expected a builtin.module"), failure();
        return translateModuleToMetadata(module, os);
      },
      dialects);
}

} // namespace emitter
} // namespace hyp
