//===- HoistRowScale.cpp - matmul_t(row_scale(x, c), A) -> c (x A^T) ------===//
//
// The exp map scales each row of x by one scalar c before the down-projection;
// A (c x) = c (A x), so the scale can move after the matmul where it touches
// r values per row instead of K, and the matmul reads x straight from memory.
//
//===----------------------------------------------------------------------===//
#include "hyp/Transforms/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#define DEBUG_TYPE "hyp-hoist-row-scale"

namespace mlir::hyp {
#define GEN_PASS_DEF_HYPHOISTROWSCALE
#include "hyp/Transforms/Passes.h.inc"

namespace {
struct HoistRowScaleThroughMatmulT : OpRewritePattern<MatmulTOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MatmulTOp op,
                                PatternRewriter &rewriter) const override {
    // With an accumulator, c would scale acc as well: a different formula.
    if (op.getAcc())
      return rewriter.notifyMatchFailure(op, "has an accumulator");
    auto scale = op.getA().getDefiningOp<RowScaleOp>();
    if (!scale)
      return rewriter.notifyMatchFailure(op, "lhs is not a row_scale");
    // Per-row c is guaranteed by row_scale's verifier (c has x's row count);
    // the result rows of matmul_t are the rows of its lhs, so c still indexes
    // them. The result element type must allow the scale to be done in the
    // row math type (f32/f64): bf16 results would round twice.
    auto resultType = cast<RankedTensorType>(op.getType());
    if (!resultType.getElementType().isF32() &&
        !resultType.getElementType().isF64())
      return rewriter.notifyMatchFailure(op, "result is not f32/f64");
    // Worth it only when the product is narrower than x (K -> r): hoisting
    // through an up-projection (r -> N) would scale more values, and would
    // hide |B v|^2 from hyp-gram-norm.
    Value x = scale.getX();
    int64_t inWidth = cast<RankedTensorType>(x.getType()).getDimSize(1);
    int64_t outWidth = resultType.getDimSize(1);
    if (ShapedType::isDynamic(inWidth) || ShapedType::isDynamic(outWidth) ||
        outWidth >= inWidth)
      return rewriter.notifyMatchFailure(op, "product is not narrower than x");
    auto product = MatmulTOp::create(rewriter, op.getLoc(), resultType, x,
                                     op.getB(), Value());
    rewriter.replaceOpWithNewOp<RowScaleOp>(op, resultType, product,
                                            scale.getC());
    return success();
  }
};

struct HypHoistRowScale
    : impl::HypHoistRowScaleBase<HypHoistRowScale> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<HoistRowScaleThroughMatmulT>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
} // namespace mlir::hyp
