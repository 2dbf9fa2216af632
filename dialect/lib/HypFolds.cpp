//===- HypFolds.cpp - hyp folders and canonicalization patterns -----------===//
//
// Only rewrites that are exact in the maths (and in the rounding, apart from
// logmap0(expmap0(v)) which is exact in the maths only: the expansion would
// round, the fold returns v itself).
//
//===----------------------------------------------------------------------===//
#include "hyp/Dialect/HypOps.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"

using namespace mlir;
using namespace mlir::hyp;

namespace {
/// True when `attr` is a splat float tensor constant equal to `value`.
bool isSplatFloat(Attribute attr, double value) {
  auto splat = dyn_cast_or_null<SplatElementsAttr>(attr);
  if (!splat || !isa<FloatType>(splat.getElementType()))
    return false;
  return splat.getSplatValue<APFloat>().convertToDouble() == value;
}

/// True when `v` is a hyp.row_map result whose yielded scalar is the
/// constant `value` for every row.
bool isRowMapConstant(Value v, double value) {
  auto rowMap = v.getDefiningOp<RowMapOp>();
  if (!rowMap)
    return false;
  unsigned idx = cast<OpResult>(v).getResultNumber();
  FloatAttr cst;
  if (!matchPattern(rowMap.getYield().getValues()[idx], m_Constant(&cst)))
    return false;
  return cst.getValueAsDouble() == value;
}
} // namespace

OpFoldResult LogMap0Op::fold(FoldAdaptor) {
  auto expmap = getX().getDefiningOp<ExpMap0Op>();
  if (!expmap || expmap.getCurvature() != getCurvature() ||
      expmap.getV().getType() != getType())
    return {};
  return expmap.getV();
}

OpFoldResult ProjectOp::fold(FoldAdaptor) {
  auto inner = getX().getDefiningOp<ProjectOp>();
  if (!inner || inner.getCurvature() != getCurvature())
    return {};
  return inner.getResult();
}

OpFoldResult RowScaleOp::fold(FoldAdaptor adaptor) {
  if (getX().getType() != getType())
    return {};
  if (isSplatFloat(adaptor.getC(), 1.0) || isRowMapConstant(getC(), 1.0))
    return getX();
  return {};
}

OpFoldResult AddOp::fold(FoldAdaptor adaptor) {
  if (isSplatFloat(adaptor.getRhs(), 0.0))
    return getLhs();
  if (isSplatFloat(adaptor.getLhs(), 0.0))
    return getRhs();
  return {};
}

OpFoldResult ExtractColOp::fold(FoldAdaptor) {
  auto pack = getInput().getDefiningOp<PackColsOp>();
  if (!pack || getColumn() >= pack.getColumns().size())
    return {};
  Value col = pack.getColumns()[getColumn()];
  if (col.getType() != getType())
    return {};
  return col;
}

OpFoldResult CastOp::fold(FoldAdaptor) {
  if (getInput().getType() == getType())
    return getInput();
  return {};
}

namespace {
/// Drops row_map results nobody uses and operands the body does not read, so
/// the scalar programs stay minimal after the backward derivation (which
/// replays the whole forward program and uses only part of it).
struct SimplifyRowMapOperandsAndResults : OpRewritePattern<RowMapOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(RowMapOp op,
                                PatternRewriter &rewriter) const override {
    Block &body = op.getBody().front();
    unsigned numRows = op.getRows().size();
    llvm::SmallVector<unsigned> keptResults;
    for (OpResult r : op.getResults())
      if (!r.use_empty())
        keptResults.push_back(r.getResultNumber());
    llvm::SmallVector<unsigned> keptArgs;
    for (BlockArgument arg : body.getArguments())
      if (!arg.use_empty())
        keptArgs.push_back(arg.getArgNumber());
    if (keptResults.empty()) {
      rewriter.eraseOp(op);
      return success();
    }
    // A per-row operand must remain (it defines the row count): if only
    // scalars are read, keep the first one.
    bool hasRow = llvm::any_of(keptArgs, [&](unsigned a) { return a < numRows; });
    if (!hasRow && numRows > 0)
      keptArgs.insert(keptArgs.begin(), 0);
    // Nothing to drop: report no change, or the greedy driver never stops.
    if (keptResults.size() == op.getNumResults() &&
        keptArgs.size() == body.getNumArguments())
      return failure();

    llvm::SmallVector<Value> rows, scalars;
    for (unsigned a : keptArgs)
      (a < numRows ? rows : scalars).push_back(op.getOperand(a));
    llvm::SmallVector<Type> resultTypes;
    for (unsigned r : keptResults)
      resultTypes.push_back(op.getResult(r).getType());

    auto newOp = RowMapOp::create(rewriter, op.getLoc(), resultTypes, rows,
                                  scalars);
    Region &newRegion = newOp.getBody();
    rewriter.inlineRegionBefore(op.getBody(), newRegion, newRegion.end());
    Block &newBody = newRegion.front();
    // Erase unused block arguments, highest index first.
    llvm::BitVector eraseArgs(newBody.getNumArguments(), true);
    for (unsigned a : keptArgs)
      eraseArgs.reset(a);
    newBody.eraseArguments(eraseArgs);
    YieldOp yield = newOp.getYield();
    llvm::SmallVector<Value> yielded;
    for (unsigned r : keptResults)
      yielded.push_back(yield.getValues()[r]);
    rewriter.setInsertionPoint(yield);
    rewriter.replaceOpWithNewOp<YieldOp>(yield, yielded);

    llvm::SmallVector<Value> replacements(op.getNumResults(), nullptr);
    for (auto [i, r] : llvm::enumerate(keptResults))
      replacements[r] = newOp.getResult(i);
    for (OpResult r : op.getResults())
      if (replacements[r.getResultNumber()])
        rewriter.replaceAllUsesWith(r, replacements[r.getResultNumber()]);
    rewriter.eraseOp(op);
    return success();
  }
};
} // namespace

void RowMapOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                           MLIRContext *context) {
  results.add<SimplifyRowMapOperandsAndResults>(context);
}
