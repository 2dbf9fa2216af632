//===- DeriveBackward.cpp - hyp.adapter_grad -> row-scalar form -----------===//
//
// The forward is  v = c(|x|^2) A x,  q = |B v|^2,  w = gs(q) v,  y = y0 + B w.
// Reverse mode, all in r-space (HYPLORA.md §4), with P = dY B:
//   dgs = <P, v>                       (w = gs v)
//   dq, dk2 = adjoint of the up-scale program given dgs
//   dv  = gs P + 2 dq (v G)            (q = v^T G v, G = B^T B symmetric)
//   dc  = <dv, v> / c                  (v = c h, so <dv, h> = <dv, v> / c)
//   dn2, dk1, ds = adjoint of the down-scale program given dc
//   dH  = c dv,   beta = 2 dn2         (|x|^2 = x.x)
//   dB  = dY^T w + 2 B V^T diag(dq) V, dA = dH^T x, dx = dx0 + dH A + beta x
// v is recovered from the saved w as w / gs (gs > 0 for every finite input of
// the hyperbolic programs), so the backward never re-reads x for A x.
//
//===----------------------------------------------------------------------===//
#include "AdapterPrograms.h"
#include "RowForm.h"
#include "ScalarAD.h"
#include "hyp/Transforms/Passes.h"

#include "mlir/IR/PatternMatch.h"

#define DEBUG_TYPE "hyp-derive-backward"

namespace mlir::hyp {
#define GEN_PASS_DEF_HYPDERIVEBACKWARD
#include "hyp/Transforms/Passes.h.inc"

namespace {

/// Ops created in `block` so far, in order (the replayed forward program).
SmallVector<Operation *> opsOf(Block *block) {
  SmallVector<Operation *> ops;
  for (Operation &op : *block)
    ops.push_back(&op);
  return ops;
}

/// Inside a row_map body: replays `forward` on the block arguments, then the
/// reverse sweep from `output` seeded with `seed`; returns adjoints of `wrt`.
FailureOr<SmallVector<Value>>
replayAndDifferentiate(ScalarEmitter &e, Value output, Value seed,
                       ArrayRef<Value> wrt) {
  Block *block = e.builder().getInsertionBlock();
  SmallVector<Operation *> forwardOps = opsOf(block);
  return emitReverseSweep(e.builder(), e.location(), forwardOps, {output},
                          {seed}, wrt);
}

LogicalResult deriveBackward(AdapterGradOp op, RewriterBase &rewriter) {
  AdapterParams p = AdapterParams::from(op);
  auto rowElem = dyn_cast<FloatType>(op.getK().getType().getElementType());
  if (rowElem != op.getS().getType().getElementType())
    return op.emitOpError("expects k and s to have the same element type (it "
                          "is the row-math type)");
  Location loc = op.getLoc();
  rewriter.setInsertionPoint(op);
  int64_t rows = op.getX().getType().getDimSize(0);
  RowFormBuilder rf(rewriter, loc, rows, rowElem);
  Value dy = op.getDy(), x = op.getX(), A = op.getA(), B = op.getB(),
        k = op.getK(), s = op.getS(), w = op.getW(), stats = op.getStats();
  auto column = [&](int64_t i) -> Value {
    return ExtractColOp::create(rewriter, loc, rf.vectorType(), stats,
                                rewriter.getI64IntegerAttr(i));
  };
  bool failedAD = false;

  Value wRow = rf.castTo(w, rf.matrixType(RowFormBuilder::cols(w)));
  Value P = rf.matmul(dy, B); // dw = dY B
  Value gs = column(3);
  Value dH, beta, dkRows, dsRows, dB;
  Value dBdirect = rf.matmulTN(dy, wRow); // from y = y0 + w B^T

  if (!p.isHyperbolic()) {
    // LoRA: w = scaling * A x; c = 1 and gs = scaling are constants.
    dH = rf.rowScale(P, gs);
    dB = dBdirect;
  } else {
    Value n2 = column(0), q = column(1), c = column(2);
    // v = w / gs (gs = 0 only when scaling = 0; then every gradient is 0).
    Value invGs = rf.rowMap({gs}, {}, 1, [&](ScalarEmitter &e, ArrayRef<Value> a) {
      Value zero = e.cst(0.0);
      return SmallVector<Value>{
          e.select(e.eq(a[0], zero), zero, e.div(e.cst(1.0), a[0]))};
    })[0];
    Value v = rf.rowScale(wRow, invGs);
    Value dgs = rf.rowDot(P, v);
    // Up-scale program adjoint: (q, dgs; k) -> (2 dq, dk2).
    auto upAdj = rf.rowMap({q, dgs}, {k}, 2,
                           [&](ScalarEmitter &e, ArrayRef<Value> a) {
      Value out = emitUpScale(e, p, a[0], a[2]);
      auto adj = replayAndDifferentiate(e, out, a[1], {a[0], a[2]});
      if (failed(adj)) {
        failedAD = true;
        return SmallVector<Value>{a[0], a[0]};
      }
      return SmallVector<Value>{e.mul(e.cst(2.0), (*adj)[0]), (*adj)[1]};
    });
    Value twoDq = upAdj[0], dk2 = upAdj[1];
    Value G = rf.matmulTN(B, B);
    Value Gv = rf.matmul(v, G);
    Value dv = rf.add(rf.rowScale(P, gs), rf.rowScale(Gv, twoDq));
    Value dvv = rf.rowDot(dv, v);
    // Down-scale program adjoint: (n2, <dv, v>; k, s) -> (beta, dk1, ds).
    auto downAdj = rf.rowMap({n2, dvv}, {k, s}, 3,
                             [&](ScalarEmitter &e, ArrayRef<Value> a) {
      Value cRow = emitDownScale(e, p, a[0], a[2], a[3]);
      // Differentiate the program only, not the guard built after it.
      SmallVector<Operation *> forwardOps = opsOf(e.builder().getInsertionBlock());
      Value zero = e.cst(0.0);
      Value dc = e.select(e.eq(cRow, zero), zero, e.div(a[1], cRow));
      auto adj = emitReverseSweep(e.builder(), e.location(), forwardOps,
                                  {cRow}, {dc}, {a[0], a[2], a[3]});
      if (failed(adj)) {
        failedAD = true;
        return SmallVector<Value>{a[0], a[0], a[0]};
      }
      return SmallVector<Value>{e.mul(e.cst(2.0), (*adj)[0]), (*adj)[1],
                                (*adj)[2]};
    });
    beta = downAdj[0];
    dkRows = rf.add(downAdj[1], dk2);
    dsRows = downAdj[2];
    dH = rf.rowScale(dv, c);
    Value R2 = rf.matmulTN(rf.rowScale(v, twoDq), v); // 2 V^T diag(dq) V
    dB = rf.add(dBdirect, rf.matmul(B, R2, Value(), dBdirect.getType()));
  }
  if (failedAD)
    return failure();

  Value dA = rf.matmulTN(dH, x);
  Value acc = rf.castTo(op.getDx0(), rf.matrixType(RowFormBuilder::cols(x)));
  if (beta)
    acc = rf.add(acc, rf.rowScale(x, beta, rowElem));
  Value dxRow = rf.matmul(dH, A, acc);
  Value dx = rf.castTo(dxRow, op.getDx().getType());

  auto scalarType = RankedTensorType::get({}, rowElem);
  auto zeroScalar = [&]() -> Value {
    return arith::ConstantOp::create(
        rewriter, loc, scalarType,
        DenseElementsAttr::get(scalarType, rewriter.getFloatAttr(rowElem, 0.0)));
  };
  Value dk = dkRows ? ReduceRowsOp::create(rewriter, loc, scalarType, dkRows)
                    : zeroScalar();
  Value ds = dsRows ? ReduceRowsOp::create(rewriter, loc, scalarType, dsRows)
                    : zeroScalar();
  rewriter.replaceOp(op, {dx, rf.castTo(dA, op.getDA().getType()),
                          rf.castTo(dB, op.getDB().getType()),
                          rf.castTo(dk, op.getDk().getType()),
                          rf.castTo(ds, op.getDs().getType())});
  return success();
}

struct HypDeriveBackward : impl::HypDeriveBackwardBase<HypDeriveBackward> {
  using Base::Base;
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    SmallVector<AdapterGradOp> grads;
    func.walk([&](AdapterGradOp op) { grads.push_back(op); });
    IRRewriter rewriter(&getContext());
    for (AdapterGradOp op : grads)
      if (failed(deriveBackward(op, rewriter)))
        return signalPassFailure();
    if (!grads.empty() && !func->hasAttr("hyp.program"))
      func->setAttr("hyp.program", rewriter.getStringAttr("backward"));
  }
};
} // namespace
} // namespace mlir::hyp
