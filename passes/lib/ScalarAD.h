//===- ScalarAD.h - reverse-mode derivative of scalar programs --*- C++ -*-===//
//
// The row programs are straight-line arith/math code on scalars, so their
// derivative is a reverse sweep over the ops, one rule per op kind. Rules
// whose local derivative is singular where the forward clamps (sqrt at 0,
// acosh at 1, division by 0) multiply only a non-zero adjoint: a clamped
// branch contributes an exact 0, never 0 * inf = NaN.
//
//===----------------------------------------------------------------------===//
#ifndef HYP_PASSES_LIB_SCALARAD_H
#define HYP_PASSES_LIB_SCALARAD_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/Operation.h"
#include "mlir/Support/LLVM.h"

namespace mlir::hyp {

/// Emits, at the builder's insertion point, the adjoints of `wrt` given the
/// adjoints `seeds` of `outputs`, for the program made of `ops` (in program
/// order; every op must be arith/math on scalars). Returns one adjoint per
/// `wrt` value (a 0.0 constant when it does not influence the outputs), or
/// failure after emitting an error naming an op without a derivative rule.
FailureOr<SmallVector<Value>> emitReverseSweep(OpBuilder &b, Location loc,
                                               ArrayRef<Operation *> ops,
                                               ArrayRef<Value> outputs,
                                               ArrayRef<Value> seeds,
                                               ArrayRef<Value> wrt);

} // namespace mlir::hyp

#endif // HYP_PASSES_LIB_SCALARAD_H
