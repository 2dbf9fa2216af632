//===- AdapterPrograms.h - the adapter's per-row scalar programs -*- C++ -*-===//
//
// HYPLORA.md §4: every hyperbolic step of the adapter acts on a row through
// one scalar. Two straight-line programs compute them:
//   down scale  c(|x|^2; k, s): xs = c x (the exp map, or the simplified
//               variant's 2/(1 + K|x|^2), or 1 for LoRA);
//   up scale    gs(|u|^2; k) = scaling * g: out = g u (the time recompute and
//               log map, per convention), so w = gs * (A xs).
// hyp-expand-adapter puts them in hyp.row_map bodies; hyp-derive-backward
// replays them and differentiates them (ScalarAD.h). One builder for both, so
// forward and backward can never disagree on the formula.
//
//===----------------------------------------------------------------------===//
#ifndef HYP_PASSES_LIB_ADAPTERPROGRAMS_H
#define HYP_PASSES_LIB_ADAPTERPROGRAMS_H

#include "hyp/Dialect/HypOps.h"

#include "mlir/IR/Builders.h"

namespace mlir::hyp {

/// Everything of hyp.adapter / hyp.adapter_grad that shapes the row programs.
struct AdapterParams {
  Variant variant;
  Convention convention;
  double scaling, maxSinhArg, normEps, curvatureEps, timeEps, smallTh,
      smallThEps, acoshEps, outNormEps;

  template <typename AdapterLikeOp> static AdapterParams from(AdapterLikeOp op) {
    return AdapterParams{op.getVariant(),
                         op.getConvention(),
                         op.getScaling().convertToDouble(),
                         op.getMaxSinhArg().convertToDouble(),
                         op.getNormEps().convertToDouble(),
                         op.getCurvatureEps().convertToDouble(),
                         op.getTimeEps().convertToDouble(),
                         op.getSmallTh().convertToDouble(),
                         op.getSmallThEps().convertToDouble(),
                         op.getAcoshEps().convertToDouble(),
                         op.getOutNormEps().convertToDouble()};
  }
  bool isHyperbolic() const { return variant != Variant::lora; }
};

/// Emits scalar arith/math ops at the builder's insertion point.
class ScalarEmitter {
public:
  ScalarEmitter(OpBuilder &b, Location loc, FloatType type)
      : b(b), loc(loc), type(type) {}
  Value cst(double v);
  Value add(Value a, Value c);
  Value sub(Value a, Value c);
  Value mul(Value a, Value c);
  Value div(Value a, Value c);
  Value max(Value a, Value c);
  Value min(Value a, Value c);
  Value sqrt(Value a);
  Value select(Value cond, Value a, Value c);
  Value lt(Value a, Value c);
  Value gt(Value a, Value c);
  Value eq(Value a, Value c);
  OpBuilder &builder() { return b; }
  Location location() { return loc; }
  FloatType floatType() { return type; }

private:
  OpBuilder &b;
  Location loc;
  FloatType type;
};

/// K = softplus(k) + curvature_eps, softplus as torch's (threshold 20).
Value emitCurvature(ScalarEmitter &e, const AdapterParams &p, Value k);
/// c such that xs = c x, from |x|^2 (n2), raw k and the norm scale s.
Value emitDownScale(ScalarEmitter &e, const AdapterParams &p, Value n2,
                    Value k, Value s);
/// gs = scaling * g such that out * scaling = gs * u, from |u|^2 (q) and k.
Value emitUpScale(ScalarEmitter &e, const AdapterParams &p, Value q, Value k);

} // namespace mlir::hyp

#endif // HYP_PASSES_LIB_ADAPTERPROGRAMS_H
