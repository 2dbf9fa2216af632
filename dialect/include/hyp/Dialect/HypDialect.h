//===- HypDialect.h - the hyp dialect ---------------------------*- C++ -*-===//
#ifndef HYP_DIALECT_HYPDIALECT_H
#define HYP_DIALECT_HYPDIALECT_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/Dialect.h"

#include "hyp/Dialect/HypDialect.h.inc"

#endif // HYP_DIALECT_HYPDIALECT_H
