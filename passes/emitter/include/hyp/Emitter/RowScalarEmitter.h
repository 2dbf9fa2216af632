//===- RowScalarEmitter.h - per-row scalar programs as C++ -------*- C++ -*-===//
//
// Every kernel's per-row math is one function template
//   template <class T> void hyp_row_scalars(T n2, T z, T k, T s, float scaling,
//                                           T *c, T *q, T *gs);
// instantiated with T = float (forward) and T = hyp_dual64 (backward: forward-mode
// derivatives w.r.t. n2, z, k, s, see HypKernelLib.cuh). It is printed either
// op by op from a straight-line region of arith/math ops (the IR's
// hyp.row_map bodies) or, on the direct path, from HYPLORA.md's formulas.
//
//===----------------------------------------------------------------------===//
#ifndef HYP_EMITTER_ROWSCALAREMITTER_H
#define HYP_EMITTER_ROWSCALAREMITTER_H

#include "hyp/Emitter/KernelSpec.h"

#include <string>

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Value.h"

namespace hyp::emitter {

/// hyp_row_scalars<T> written from the formulas of HYPLORA.md section 3.
std::string referenceRowScalarsSource(const AdapterSpec &spec);

/// Which function arguments of the forward program are k and s.
struct RowScalarRoles {
  mlir::Value k, s;
};
/// Whether the emitted program reads k / s (decides the kernels' parameters).
struct RowScalarUsage {
  bool usesK = false, usesS = false;
};

/// A value seen through hyp.kernel boundaries: a kernel block argument is its
/// kernel's operand, a kernel result the value its body yields.
mlir::Value traceThroughKernels(mlir::Value v);

/// Prints hyp_row_scalars<T> from the forward program: the hyp.row_map ops
/// that produce the stats columns c and gs (and q for LoRA), op by op.
/// Unsupported ops are reported as diagnostics on the op.
mlir::LogicalResult emitRowScalarsFromIR(mlir::func::FuncOp forward, const RowScalarRoles &roles,
                                         std::string &out, RowScalarUsage &usage);

} // namespace hyp::emitter

#endif // HYP_EMITTER_ROWSCALAREMITTER_H
