//===- AdapterPrograms.cpp - the adapter's per-row scalar programs --------===//
//
// Each line mirrors a line of HYPLORA.md §3 (reference semantics), in its
// order of operations, so an fp32 kernel rounds like the reference code.
//
//===----------------------------------------------------------------------===//
#include "AdapterPrograms.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"

namespace mlir::hyp {

Value ScalarEmitter::cst(double v) {
  return arith::ConstantOp::create(b, loc, type, b.getFloatAttr(type, v));
}
Value ScalarEmitter::add(Value a, Value c) {
  return arith::AddFOp::create(b, loc, a, c);
}
Value ScalarEmitter::sub(Value a, Value c) {
  return arith::SubFOp::create(b, loc, a, c);
}
Value ScalarEmitter::mul(Value a, Value c) {
  return arith::MulFOp::create(b, loc, a, c);
}
Value ScalarEmitter::div(Value a, Value c) {
  return arith::DivFOp::create(b, loc, a, c);
}
// torch.max/min/clamp propagate NaN: maximumf/minimumf do too.
Value ScalarEmitter::max(Value a, Value c) {
  return arith::MaximumFOp::create(b, loc, a, c);
}
Value ScalarEmitter::min(Value a, Value c) {
  return arith::MinimumFOp::create(b, loc, a, c);
}
Value ScalarEmitter::sqrt(Value a) { return math::SqrtOp::create(b, loc, a); }
Value ScalarEmitter::select(Value cond, Value a, Value c) {
  return arith::SelectOp::create(b, loc, cond, a, c);
}
Value ScalarEmitter::lt(Value a, Value c) {
  return arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLT, a, c);
}
Value ScalarEmitter::gt(Value a, Value c) {
  return arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, a, c);
}
Value ScalarEmitter::eq(Value a, Value c) {
  return arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, a, c);
}

Value emitCurvature(ScalarEmitter &e, const AdapterParams &p, Value k) {
  OpBuilder &b = e.builder();
  Location loc = e.location();
  // torch.nn.functional.softplus(k) = k for k > 20, else log1p(exp(k)).
  Value expK = math::ExpOp::create(b, loc, k);
  Value soft = math::Log1pOp::create(b, loc, expK);
  Value softplus = e.select(e.gt(k, e.cst(20.0)), k, soft);
  return e.add(softplus, e.cst(p.curvatureEps));
}

Value emitDownScale(ScalarEmitter &e, const AdapterParams &p, Value n2,
                    Value k, Value s) {
  switch (p.variant) {
  case Variant::lora:
    return e.cst(1.0);
  case Variant::hyplora_simplified: {
    // y' = 2 y / (1 + K |y|^2)
    Value K = emitCurvature(e, p, k);
    return e.div(e.cst(2.0), e.add(e.cst(1.0), e.mul(K, n2)));
  }
  case Variant::hyplora: {
    // n = max(|x|, eps); a = min(n / s / S, max_sinh_arg); c = S sinh(a) / n
    Value n = e.max(e.sqrt(n2), e.cst(p.normEps));
    Value K = emitCurvature(e, p, k);
    Value S = e.sqrt(K);
    Value a = e.min(e.div(e.div(n, s), S), e.cst(p.maxSinhArg));
    Value sinhA = math::SinhOp::create(e.builder(), e.location(), a);
    return e.div(e.mul(S, sinhA), n);
  }
  }
  llvm_unreachable("unknown variant");
}

Value emitUpScale(ScalarEmitter &e, const AdapterParams &p, Value q, Value k) {
  Value scaling = e.cst(p.scaling);
  switch (p.variant) {
  case Variant::lora:
    return scaling;
  case Variant::hyplora_simplified: {
    // time sqrt(|z|^2 + K); back by z / (1 + sqrt(K) time)
    Value K = emitCurvature(e, p, k);
    Value S = e.sqrt(K);
    Value time = e.sqrt(e.add(q, K));
    Value g = e.div(e.cst(1.0), e.add(e.cst(1.0), e.mul(S, time)));
    return e.mul(scaling, g);
  }
  case Variant::hyplora:
    break;
  }
  Value K = emitCurvature(e, p, k);
  Value S = e.sqrt(K);
  Value unorm = e.sqrt(q);
  Value g;
  if (p.convention == Convention::reference) {
    // t = sqrt(|u|^2 + 1/max(K, eps)); th = t / S
    Value t = e.sqrt(e.add(q, e.div(e.cst(1.0), e.max(K, e.cst(p.timeEps)))));
    Value th = e.div(t, S);
    // th < 1.01 ? sqrt(2 max(th - 1, eps)) : arccosh(max(th, 1 + eps))
    Value small =
        e.sqrt(e.mul(e.cst(2.0), e.max(e.sub(th, e.cst(1.0)),
                                        e.cst(p.smallThEps))));
    Value large = math::AcoshOp::create(e.builder(), e.location(),
                                        e.max(th, e.cst(1.0 + p.acoshEps)));
    Value ac = e.select(e.lt(th, e.cst(p.smallTh)), small, large);
    // out = S ac u / max(|u|, eps)
    g = e.div(e.mul(S, ac), e.max(unorm, e.cst(p.outNormEps)));
  } else {
    // time sqrt(K + |u|^2): arccosh(time / S) = asinh(|u| / S). The norm is
    // clamped before the asinh as well as in the division, so g -> 1 (its
    // limit) as u -> 0 instead of 0: with B = 0 at initialization, g = 0
    // would make w and then dB vanish and B could never leave 0.
    Value m = e.max(unorm, e.cst(p.outNormEps));
    Value ac = math::AsinhOp::create(e.builder(), e.location(), e.div(m, S));
    g = e.div(e.mul(S, ac), m);
  }
  return e.mul(scaling, g);
}

} // namespace mlir::hyp
