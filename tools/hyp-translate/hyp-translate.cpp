//===- hyp-translate.cpp - hyp IR -> CUDA / kernel metadata ---------------===//
//
// mlir-translate with the hyp translations: --hyp-to-cuda prints the CUDA
// translation unit of a module at stage >= 1 (after hyp-opt --hyp-pipeline),
// --hyp-to-kernel-metadata its metadata JSON (docs/CONTRACTS.md section 2).
//
//===----------------------------------------------------------------------===//
#include "hyp/Emitter/HypToCuda.h"

#include "mlir/Tools/mlir-translate/MlirTranslateMain.h"

int main(int argc, char **argv) {
  hyp::emitter::setCompilerVersion("hypc " HYP_VERSION_STRING);
  hyp::emitter::registerHypToCudaTranslations();
  return mlir::failed(mlir::mlirTranslateMain(argc, argv, "hyp translation driver"));
}
