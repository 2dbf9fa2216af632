//===- ScalarAD.cpp - reverse-mode derivative of scalar programs ----------===//
#include "ScalarAD.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/TypeSwitch.h"

namespace mlir::hyp {

namespace {
class ReverseSweep {
public:
  ReverseSweep(OpBuilder &b, Location loc) : b(b), loc(loc) {}

  void seed(Value v, Value adj) { accumulate(v, adj); }
  Value adjointOf(Value v) {
    auto it = adjoints.find(v);
    return it == adjoints.end() ? zero(v.getType()) : it->second;
  }
  LogicalResult visit(Operation *op);

private:
  Value zero(Type t) {
    return arith::ConstantOp::create(b, loc, t, b.getFloatAttr(t, 0.0));
  }
  Value cst(Type t, double v) {
    return arith::ConstantOp::create(b, loc, t, b.getFloatAttr(t, v));
  }
  void accumulate(Value v, Value adj) {
    if (!isa<FloatType>(v.getType()))
      return;
    auto [it, inserted] = adjoints.try_emplace(v, adj);
    if (!inserted)
      it->second = arith::AddFOp::create(b, loc, it->second, adj);
  }
  Value mul(Value a, Value c) { return arith::MulFOp::create(b, loc, a, c); }
  Value div(Value a, Value c) { return arith::DivFOp::create(b, loc, a, c); }
  Value neg(Value a) { return arith::NegFOp::create(b, loc, a); }
  Value sel(Value c, Value a, Value d) {
    return arith::SelectOp::create(b, loc, c, a, d);
  }
  Value cmp(arith::CmpFPredicate p, Value a, Value c) {
    return arith::CmpFOp::create(b, loc, p, a, c);
  }
  /// g * local where local may be +-inf or NaN only where g is exactly 0.
  Value guarded(Value g, Value product) {
    Value isZero = cmp(arith::CmpFPredicate::OEQ, g, zero(g.getType()));
    return sel(isZero, zero(g.getType()), product);
  }
  /// Routes g to `a` where cond holds, else to `c`.
  void route(Value cond, Value g, Value a, Value c) {
    Value z = zero(g.getType());
    accumulate(a, sel(cond, g, z));
    accumulate(c, sel(cond, z, g));
  }

  OpBuilder &b;
  Location loc;
  llvm::DenseMap<Value, Value> adjoints;
};

LogicalResult ReverseSweep::visit(Operation *op) {
  if (op->getNumResults() != 1)
    return success(isa<arith::ConstantOp>(op));
  Value r = op->getResult(0);
  auto found = adjoints.find(r);
  // No path to an output (or an integer/i1 result): nothing flows back.
  if (found == adjoints.end())
    return success();
  Value g = found->second;
  Type t = g.getType();
  using P = arith::CmpFPredicate;
  return llvm::TypeSwitch<Operation *, LogicalResult>(op)
      .Case<arith::ConstantOp, arith::CmpFOp>(
          [](Operation *) { return success(); })
      .Case<arith::AddFOp>([&](auto o) {
        accumulate(o.getLhs(), g);
        accumulate(o.getRhs(), g);
        return success();
      })
      .Case<arith::SubFOp>([&](auto o) {
        accumulate(o.getLhs(), g);
        accumulate(o.getRhs(), neg(g));
        return success();
      })
      .Case<arith::MulFOp>([&](auto o) {
        accumulate(o.getLhs(), mul(g, o.getRhs()));
        accumulate(o.getRhs(), mul(g, o.getLhs()));
        return success();
      })
      .Case<arith::DivFOp>([&](auto o) {
        // r = a / c: da = g / c, dc = -g r / c
        accumulate(o.getLhs(), guarded(g, div(g, o.getRhs())));
        accumulate(o.getRhs(),
                   guarded(g, neg(div(mul(g, r), o.getRhs()))));
        return success();
      })
      .Case<arith::NegFOp>([&](auto o) {
        accumulate(o.getOperand(), neg(g));
        return success();
      })
      // Ties go to the first operand (the clamped value, as written in the
      // programs: max(value, eps)): torch splits ties, which only matters on
      // a measure-zero set.
      .Case<arith::MaximumFOp, arith::MaxNumFOp>([&](auto o) {
        route(cmp(P::OGE, o.getLhs(), o.getRhs()), g, o.getLhs(), o.getRhs());
        return success();
      })
      .Case<arith::MinimumFOp, arith::MinNumFOp>([&](auto o) {
        route(cmp(P::OLE, o.getLhs(), o.getRhs()), g, o.getLhs(), o.getRhs());
        return success();
      })
      .Case<arith::SelectOp>([&](auto o) {
        route(o.getCondition(), g, o.getTrueValue(), o.getFalseValue());
        return success();
      })
      .Case<math::SqrtOp>([&](auto o) {
        // d sqrt(a) = 1 / (2 sqrt(a)): infinite at a = 0
        accumulate(o.getOperand(), guarded(g, div(mul(g, cst(t, 0.5)), r)));
        return success();
      })
      .Case<math::RsqrtOp>([&](auto o) {
        // r = a^-1/2: dr/da = -r^3 / 2
        Value r3 = mul(mul(r, r), r);
        accumulate(o.getOperand(), guarded(g, mul(g, mul(cst(t, -0.5), r3))));
        return success();
      })
      .Case<math::ExpOp>([&](auto o) {
        accumulate(o.getOperand(), mul(g, r));
        return success();
      })
      .Case<math::LogOp>([&](auto o) {
        accumulate(o.getOperand(), guarded(g, div(g, o.getOperand())));
        return success();
      })
      .Case<math::Log1pOp>([&](auto o) {
        Value onePlus =
            arith::AddFOp::create(b, loc, cst(t, 1.0), o.getOperand());
        accumulate(o.getOperand(), guarded(g, div(g, onePlus)));
        return success();
      })
      .Case<math::SinhOp>([&](auto o) {
        accumulate(o.getOperand(),
                   mul(g, math::CoshOp::create(b, loc, o.getOperand())));
        return success();
      })
      .Case<math::CoshOp>([&](auto o) {
        accumulate(o.getOperand(),
                   mul(g, math::SinhOp::create(b, loc, o.getOperand())));
        return success();
      })
      .Case<math::TanhOp>([&](auto o) {
        Value oneMinus = arith::SubFOp::create(b, loc, cst(t, 1.0), mul(r, r));
        accumulate(o.getOperand(), mul(g, oneMinus));
        return success();
      })
      .Case<math::AcoshOp>([&](auto o) {
        // 1 / sqrt(a^2 - 1): infinite at a = 1
        Value a = o.getOperand();
        Value d = math::SqrtOp::create(
            b, loc, arith::SubFOp::create(b, loc, mul(a, a), cst(t, 1.0)));
        accumulate(a, guarded(g, div(g, d)));
        return success();
      })
      .Case<math::AsinhOp>([&](auto o) {
        Value a = o.getOperand();
        Value d = math::SqrtOp::create(
            b, loc, arith::AddFOp::create(b, loc, mul(a, a), cst(t, 1.0)));
        accumulate(a, div(g, d));
        return success();
      })
      .Case<math::AbsFOp>([&](auto o) {
        Value a = o.getOperand();
        accumulate(a, sel(cmp(P::OGE, a, zero(t)), g, neg(g)));
        return success();
      })
      .Default([&](Operation *other) {
        return other->emitOpError(
            "has no derivative rule in hyp-derive-backward (supported: "
            "arith add/sub/mul/div/neg/max/min/select/cmpf/constant, math "
            "sqrt/rsqrt/exp/log/log1p/sinh/cosh/tanh/acosh/asinh/absf)");
      });
}
} // namespace

FailureOr<SmallVector<Value>> emitReverseSweep(OpBuilder &b, Location loc,
                                               ArrayRef<Operation *> ops,
                                               ArrayRef<Value> outputs,
                                               ArrayRef<Value> seeds,
                                               ArrayRef<Value> wrt) {
  ReverseSweep sweep(b, loc);
  for (auto [out, seed] : llvm::zip(outputs, seeds))
    sweep.seed(out, seed);
  for (Operation *op : llvm::reverse(ops))
    if (failed(sweep.visit(op)))
      return failure();
  SmallVector<Value> result;
  for (Value v : wrt)
    result.push_back(sweep.adjointOf(v));
  return result;
}

} // namespace mlir::hyp
