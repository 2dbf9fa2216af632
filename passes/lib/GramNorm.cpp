//===- GramNorm.cpp - |B v|^2 as v^T (B^T B) v ----------------------------===//
//
// The norm of the N-wide u = B v is an r x r quadratic form with the Gram
// matrix G = B^T B, so u need not be materialized to take its norm (HYPLORA.md
// §4). Worth it only when r < N.
//
//===----------------------------------------------------------------------===//
#include "hyp/Transforms/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#define DEBUG_TYPE "hyp-gram-norm"

namespace mlir::hyp {
#define GEN_PASS_DEF_HYPGRAMNORM
#include "hyp/Transforms/Passes.h.inc"

namespace {
struct SqNormOfLowRankToQuadForm : OpRewritePattern<RowSqNormOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(RowSqNormOp op,
                                PatternRewriter &rewriter) const override {
    auto product = op.getX().getDefiningOp<MatmulTOp>();
    if (!product || product.getAcc())
      return rewriter.notifyMatchFailure(op, "not a plain matmul_t");
    Value v = product.getA(), B = product.getB();
    auto vType = cast<RankedTensorType>(v.getType());
    auto bType = cast<RankedTensorType>(B.getType());
    int64_t rank = bType.getDimSize(1), width = bType.getDimSize(0);
    // A dynamic r or N gives no evidence the quadratic form is cheaper.
    if (ShapedType::isDynamic(rank) || ShapedType::isDynamic(width) ||
        rank >= width)
      return rewriter.notifyMatchFailure(op, "rank is not below the width");
    // The quadratic form runs in row math (f32/f64): v must be row math too.
    Type rowElem = op.getType().getElementType();
    if (vType.getElementType() != rowElem)
      return rewriter.notifyMatchFailure(op, "v is not in the row math type");
    auto gramType = RankedTensorType::get({rank, rank}, rowElem);
    auto gram = MatmulTNOp::create(rewriter, op.getLoc(), gramType, B, B);
    rewriter.replaceOpWithNewOp<QuadFormOp>(op, op.getType(), v, gram);
    return success();
  }
};

struct HypGramNorm : impl::HypGramNormBase<HypGramNorm> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<SqNormOfLowRankToQuadForm>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
} // namespace mlir::hyp
