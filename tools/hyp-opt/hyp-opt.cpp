//===- hyp-opt.cpp - the hyp optimizer driver -----------------------------===//
//
// mlir-opt with the hyp dialect (plus func/arith/math/tensor), the hyp passes,
// the `hyp-pipeline` pass pipeline and the upstream canonicalize/cse.
//
//===----------------------------------------------------------------------===//
#include "hyp/Dialect/HypDialect.h"
#include "hyp/Transforms/Passes.h"
#include "hyp/Transforms/Pipeline.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  registry.insert<mlir::hyp::HypDialect, mlir::func::FuncDialect,
                  mlir::arith::ArithDialect, mlir::math::MathDialect,
                  mlir::tensor::TensorDialect>();
  mlir::registerCanonicalizerPass();
  mlir::registerCSEPass();
  mlir::registerSymbolDCEPass();
  mlir::hyp::registerHypPasses();
  hyp::registerHypPipeline();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "hyp optimizer driver\n", registry));
}
