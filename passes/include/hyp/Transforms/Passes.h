//===- Passes.h - hyp transformation passes ---------------------*- C++ -*-===//
#ifndef HYP_TRANSFORMS_PASSES_H
#define HYP_TRANSFORMS_PASSES_H

#include "hyp/Dialect/HypOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::hyp {
#define GEN_PASS_DECL
#include "hyp/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "hyp/Transforms/Passes.h.inc"
} // namespace mlir::hyp

#endif // HYP_TRANSFORMS_PASSES_H
