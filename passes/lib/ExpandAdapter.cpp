//===- ExpandAdapter.cpp - hyp.adapter -> row-scalar form -----------------===//
//
// Writes HYPLORA.md §3 literally in primitive ops: the exp map scales x, the
// down- and up-projections run on the scaled rows, |u|^2 is the norm of the
// N-wide u. The later passes (hoist, Gram) turn this into the fast form; the
// literal form first keeps this pass easy to check against the formula.
//
//===----------------------------------------------------------------------===//
#include "AdapterPrograms.h"
#include "RowForm.h"
#include "hyp/Transforms/Passes.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"

#define DEBUG_TYPE "hyp-expand-adapter"

namespace mlir::hyp {
#define GEN_PASS_DEF_HYPEXPANDADAPTER
#include "hyp/Transforms/Passes.h.inc"

namespace {

/// Columns of the saved stats (docs/IR.md): |x|^2, |u|^2, c, scaling * g.
enum StatsColumn : int64_t { kXSqNorm = 0, kUSqNorm = 1, kDownScale = 2,
                             kUpScale = 3 };

LogicalResult expandAdapter(AdapterOp op, RewriterBase &rewriter) {
  AdapterParams p = AdapterParams::from(op);
  auto rowElem = dyn_cast<FloatType>(op.getK().getType().getElementType());
  if (rowElem != op.getS().getType().getElementType())
    return op.emitOpError("expects k and s to have the same element type (it "
                          "is the row-math type)");
  rewriter.setInsertionPoint(op);
  int64_t rows = op.getX().getType().getDimSize(0);
  RowFormBuilder rf(rewriter, op.getLoc(), rows, rowElem);
  Value x = op.getX(), A = op.getA(), B = op.getB(), k = op.getK(),
        s = op.getS();

  Value n2 = rf.sqnorm(x);
  Value c = rf.rowMap({n2}, {k, s}, 1, [&](ScalarEmitter &e, ArrayRef<Value> a) {
    return SmallVector<Value>{emitDownScale(e, p, a[0], a[1], a[2])};
  })[0];
  Value xs = rf.rowScale(x, c, rowElem);
  Value v = rf.matmulT(xs, A);
  Value q, gs;
  if (p.isHyperbolic()) {
    Value u = rf.matmulT(v, B);
    q = rf.sqnorm(u);
    gs = rf.rowMap({q}, {k}, 1, [&](ScalarEmitter &e, ArrayRef<Value> a) {
      return SmallVector<Value>{emitUpScale(e, p, a[0], a[1])};
    })[0];
  } else {
    // LoRA: no u; the stats keep their layout with |u|^2 = 0.
    auto qgs = rf.rowMap({n2}, {}, 2, [&](ScalarEmitter &e, ArrayRef<Value>) {
      return SmallVector<Value>{e.cst(0.0), e.cst(p.scaling)};
    });
    q = qgs[0];
    gs = qgs[1];
  }
  Value w = rf.rowScale(v, gs);
  Value y = rf.matmulT(w, B, op.getY0(), op.getY().getType());
  Value stats = PackColsOp::create(rewriter, op.getLoc(), op.getStats().getType(),
                                   ValueRange{n2, q, c, gs});
  Value wOut = rf.castTo(w, op.getW().getType());
  rewriter.replaceOp(op, {y, wOut, stats});
  return success();
}

//===----------------------------------------------------------------------===//
// Textbook Lorentz-model ops (HYPLORA.md §2). Points carry the time in column
// 0: the space part is a tensor.extract_slice, a point is rebuilt with
// tensor.concat of the time column and the space part.
//===----------------------------------------------------------------------===//

/// Row-math type of a textbook op: the element type of its curvature.
FloatType curvatureElem(Value K) {
  return cast<FloatType>(cast<ShapedType>(K.getType()).getElementType());
}

/// x[:, 1:] of a point matrix.
Value spacePart(OpBuilder &b, Location loc, Value x) {
  auto type = cast<RankedTensorType>(x.getType());
  int64_t d = type.getDimSize(1) - 1;
  SmallVector<OpFoldResult> offsets{b.getIndexAttr(0), b.getIndexAttr(1)};
  SmallVector<OpFoldResult> sizes{tensor::getMixedSize(b, loc, x, 0),
                                  b.getIndexAttr(d)};
  SmallVector<OpFoldResult> strides{b.getIndexAttr(1), b.getIndexAttr(1)};
  auto sliceType = RankedTensorType::get({type.getDimSize(0), d},
                                         type.getElementType());
  return tensor::ExtractSliceOp::create(b, loc, sliceType, x, offsets, sizes,
                                        strides);
}

/// x[:, 0] as a per-row vector in the row-math type.
Value timePart(RowFormBuilder &rf, Value x) {
  Value m = rf.castTo(x, rf.matrixType(RowFormBuilder::cols(x)));
  return ExtractColOp::create(rf.builder(), rf.location(), rf.vectorType(), m,
                              rf.builder().getI64IntegerAttr(0));
}

/// concat([time, space], dim 1) with the element type of `resultType`.
Value makePoint(RowFormBuilder &rf, Value time, Value space, Type resultType) {
  Type elem = cast<ShapedType>(resultType).getElementType();
  Value timeCol = PackColsOp::create(rf.builder(), rf.location(),
                                     rf.matrixType(1), ValueRange{time});
  timeCol = rf.castTo(timeCol, rf.matrixType(1, elem));
  space = rf.castTo(space, rf.matrixType(RowFormBuilder::cols(space), elem));
  return tensor::ConcatOp::create(rf.builder(), rf.location(), resultType, 1,
                                  ValueRange{timeCol, space});
}

LogicalResult expandLorentzOp(Operation *op, RewriterBase &rewriter) {
  Location loc = op->getLoc();
  rewriter.setInsertionPoint(op);
  auto rowsOf = [](Value v) {
    return cast<RankedTensorType>(v.getType()).getDimSize(0);
  };
  // arccosh(max(a, 1)): points off the hyperboloid by rounding stay finite.
  auto acoshClamped = [](ScalarEmitter &e, Value a) -> Value {
    return math::AcoshOp::create(e.builder(), e.location(),
                                 e.max(a, e.cst(1.0)));
  };
  if (auto exp = dyn_cast<ExpMap0Op>(op)) {
    RowFormBuilder rf(rewriter, loc, rowsOf(exp.getV()),
                      curvatureElem(exp.getCurvature()));
    Value n2 = rf.sqnorm(exp.getV());
    auto tc = rf.rowMap({n2}, {exp.getCurvature()}, 2,
                        [&](ScalarEmitter &e, ArrayRef<Value> a) {
      Value n = e.sqrt(a[0]), S = e.sqrt(a[1]);
      Value r = e.div(n, S);
      Value t = e.mul(S, math::CoshOp::create(e.builder(), e.location(), r));
      // S sinh(n/S)/n -> 1 as n -> 0
      Value c = e.select(e.eq(n, e.cst(0.0)), e.cst(1.0),
                         e.div(e.mul(S, math::SinhOp::create(
                                            e.builder(), e.location(), r)),
                               n));
      return SmallVector<Value>{t, c};
    });
    Value space = rf.rowScale(exp.getV(), tc[1]);
    rewriter.replaceOp(op, makePoint(rf, tc[0], space, exp.getType()));
    return success();
  }
  if (auto log = dyn_cast<LogMap0Op>(op)) {
    RowFormBuilder rf(rewriter, loc, rowsOf(log.getX()),
                      curvatureElem(log.getCurvature()));
    Value xs = spacePart(rewriter, loc, log.getX());
    Value x0 = timePart(rf, log.getX());
    Value n2 = rf.sqnorm(xs);
    Value c = rf.rowMap({x0, n2}, {log.getCurvature()}, 1,
                        [&](ScalarEmitter &e, ArrayRef<Value> a) {
      Value S = e.sqrt(a[2]);
      Value n = e.sqrt(a[1]);
      Value ac = acoshClamped(e, e.div(a[0], S));
      // S arccosh(x0/S)/|xs| -> 1 as xs -> 0 on the hyperboloid
      return SmallVector<Value>{e.select(e.eq(n, e.cst(0.0)), e.cst(1.0),
                                         e.div(e.mul(S, ac), n))};
    })[0];
    rewriter.replaceOp(op, rf.castTo(rf.rowScale(xs, c), log.getType()));
    return success();
  }
  if (auto proj = dyn_cast<ProjectOp>(op)) {
    RowFormBuilder rf(rewriter, loc, rowsOf(proj.getX()),
                      curvatureElem(proj.getCurvature()));
    Value xs = spacePart(rewriter, loc, proj.getX());
    Value n2 = rf.sqnorm(xs);
    Value t = rf.rowMap({n2}, {proj.getCurvature()}, 1,
                        [&](ScalarEmitter &e, ArrayRef<Value> a) {
      return SmallVector<Value>{e.sqrt(e.add(a[1], a[0]))};
    })[0];
    rewriter.replaceOp(op, makePoint(rf, t, xs, proj.getType()));
    return success();
  }
  if (auto low = dyn_cast<LorentzLowRankOp>(op)) {
    RowFormBuilder rf(rewriter, loc, rowsOf(low.getX()),
                      curvatureElem(low.getCurvature()));
    Value xs = spacePart(rewriter, loc, low.getX());
    Value u = rf.matmulT(rf.matmulT(xs, low.getA()), low.getB());
    Value q = rf.sqnorm(u);
    bool reference = low.getConvention() == Convention::reference;
    Value t = rf.rowMap({q}, {low.getCurvature()}, 1,
                        [&](ScalarEmitter &e, ArrayRef<Value> a) {
      // reference: sqrt(|u|^2 + 1/max(K, 1e-6)) (HYPLORA.md §3)
      Value timeSq = reference
                         ? e.add(a[0], e.div(e.cst(1.0), e.max(a[1], e.cst(1e-6))))
                         : e.add(a[1], a[0]);
      return SmallVector<Value>{e.sqrt(timeSq)};
    })[0];
    rewriter.replaceOp(op, makePoint(rf, t, u, low.getType()));
    return success();
  }
  auto pointPair = [&](Value x, Value y, Value K, auto scalarFn) {
    RowFormBuilder rf(rewriter, loc, rowsOf(x), curvatureElem(K));
    Value dot = rf.rowDot(spacePart(rewriter, loc, x),
                          spacePart(rewriter, loc, y));
    return rf.rowMap({timePart(rf, x), timePart(rf, y), dot},
                     K ? ValueRange{K} : ValueRange{}, 1,
                     [&](ScalarEmitter &e, ArrayRef<Value> a) {
                       // <x,y>_L = -x0 y0 + xs . ys
                       Value inner = e.sub(a[2], e.mul(a[0], a[1]));
                       return SmallVector<Value>{scalarFn(e, inner, a)};
                     })[0];
  };
  if (auto inner = dyn_cast<LorentzInnerOp>(op)) {
    auto rowElem = cast<FloatType>(inner.getType().getElementType());
    RowFormBuilder rf(rewriter, loc, rowsOf(inner.getX()), rowElem);
    Value dot = rf.rowDot(spacePart(rewriter, loc, inner.getX()),
                          spacePart(rewriter, loc, inner.getY()));
    Value r = rf.rowMap({timePart(rf, inner.getX()), timePart(rf, inner.getY()),
                         dot},
                        {}, 1, [&](ScalarEmitter &e, ArrayRef<Value> a) {
                          return SmallVector<Value>{
                              e.sub(a[2], e.mul(a[0], a[1]))};
                        })[0];
    rewriter.replaceOp(op, r);
    return success();
  }
  if (auto dist = dyn_cast<DistanceOp>(op)) {
    Value r = pointPair(dist.getX(), dist.getY(), dist.getCurvature(),
                        [&](ScalarEmitter &e, Value inner, ArrayRef<Value> a) {
                          // sqrt(K) arccosh(-<x,y>_L / K)
                          Value K = a[3];
                          Value arg = e.div(e.sub(e.cst(0.0), inner), K);
                          return e.mul(e.sqrt(K), acoshClamped(e, arg));
                        });
    rewriter.replaceOp(op, r);
    return success();
  }
  return failure();
}

struct HypExpandAdapter : impl::HypExpandAdapterBase<HypExpandAdapter> {
  using Base::Base;
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    SmallVector<AdapterOp> adapters;
    func.walk([&](AdapterOp op) { adapters.push_back(op); });
    IRRewriter rewriter(&getContext());
    for (AdapterOp op : adapters)
      if (failed(expandAdapter(op, rewriter)))
        return signalPassFailure();
    SmallVector<Operation *> lorentzOps;
    func.walk([&](Operation *op) {
      if (isa<ExpMap0Op, LogMap0Op, ProjectOp, LorentzLowRankOp, LorentzInnerOp,
              DistanceOp>(op))
        lorentzOps.push_back(op);
    });
    for (Operation *op : lorentzOps)
      if (failed(expandLorentzOp(op, rewriter)))
        return signalPassFailure();
    // The kernel grouping names kernels after the program.
    if (!adapters.empty() && !func->hasAttr("hyp.program"))
      func->setAttr("hyp.program", rewriter.getStringAttr("forward"));
  }
};
} // namespace
} // namespace mlir::hyp
