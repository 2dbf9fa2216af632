//===- HypOps.cpp - hyp op verifiers --------------------------------------===//
//
// Hand-written verifiers only for what ODS traits cannot say: how the
// dimensions of the operands of one op relate. Dynamic dimensions are
// compatible with anything (dim 0, the token rows, is usually dynamic).
//
//===----------------------------------------------------------------------===//
#include "hyp/Dialect/HypOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"

using namespace mlir;
using namespace mlir::hyp;

namespace {
int64_t dimOf(Value v, unsigned d) {
  return cast<RankedTensorType>(v.getType()).getDimSize(d);
}
int64_t dimOf(Type t, unsigned d) {
  return cast<RankedTensorType>(t).getDimSize(d);
}

std::string dimString(int64_t d) {
  return ShapedType::isDynamic(d) ? std::string("?") : std::to_string(d);
}

/// Fails with "expects <what>: got <got> vs <want>" when both dimensions are
/// static and differ.
LogicalResult expectDim(Operation *op, int64_t got, int64_t want,
                        const Twine &what) {
  if (ShapedType::isDynamic(got) || ShapedType::isDynamic(want) || got == want)
    return success();
  return op->emitOpError("expects ")
         << what << ": got " << dimString(got) << " vs " << dimString(want);
}

/// `got` must be `want + offset` (time coordinate columns), when both static.
LogicalResult expectDimPlus(Operation *op, int64_t got, int64_t want,
                            int64_t offset, const Twine &what) {
  if (ShapedType::isDynamic(got) || ShapedType::isDynamic(want))
    return success();
  return expectDim(op, got, want + offset, what);
}

/// The row count of the result must be that of `source`.
LogicalResult expectRows(Operation *op, Value result, Value source,
                         StringRef sourceName) {
  return expectDim(op, dimOf(result, 0), dimOf(source, 0),
                   "the result to have one row per row of " + sourceName);
}

LogicalResult expectSameShape(Operation *op, Type a, Type b,
                              const Twine &what) {
  auto ta = cast<RankedTensorType>(a), tb = cast<RankedTensorType>(b);
  if (ta.getRank() != tb.getRank())
    return op->emitOpError("expects ")
           << what << ": got rank " << ta.getRank() << " vs " << tb.getRank();
  for (int64_t i = 0; i < ta.getRank(); ++i)
    if (failed(expectDim(op, ta.getDimSize(i), tb.getDimSize(i),
                         what + " (dim " + Twine(i) + ")")))
      return failure();
  return success();
}

bool isRowFloat(Type t) {
  Type e = cast<ShapedType>(t).getElementType();
  return e.isF32() || e.isF64();
}
} // namespace

//===----------------------------------------------------------------------===//
// Lorentz model ops
//===----------------------------------------------------------------------===//

LogicalResult LorentzInnerOp::verify() {
  return expectRows(*this, getResult(), getX(), "x");
}

LogicalResult ExpMap0Op::verify() {
  if (failed(expectDimPlus(*this, dimOf(getResult(), 1), dimOf(getV(), 1), 1,
                           "the result to have one more column than v (the "
                           "time coordinate)")))
    return failure();
  return expectRows(*this, getResult(), getV(), "v");
}

LogicalResult LogMap0Op::verify() {
  if (failed(expectDimPlus(*this, dimOf(getX(), 1), dimOf(getResult(), 1), 1,
                           "x to have one more column than the result (the "
                           "time coordinate)")))
    return failure();
  return expectRows(*this, getResult(), getX(), "x");
}

LogicalResult DistanceOp::verify() {
  return expectRows(*this, getResult(), getX(), "x");
}

LogicalResult LorentzLowRankOp::verify() {
  Operation *op = *this;
  int64_t space = ShapedType::isDynamic(dimOf(getX(), 1))
                      ? ShapedType::kDynamic
                      : dimOf(getX(), 1) - 1;
  if (failed(expectDim(op, dimOf(getA(), 1), space,
                       "operand #1 (A) to have one column per space "
                       "coordinate of x")))
    return failure();
  if (failed(expectDim(op, dimOf(getB(), 1), dimOf(getA(), 0),
                       "operand #2 (B) to have as many columns as A has rows "
                       "(the rank)")))
    return failure();
  if (failed(expectDimPlus(op, dimOf(getResult(), 1), dimOf(getB(), 0), 1,
                           "the result to have one more column than B has "
                           "rows (the time coordinate)")))
    return failure();
  return expectRows(op, getResult(), getX(), "x");
}

//===----------------------------------------------------------------------===//
// Adapter ops
//===----------------------------------------------------------------------===//

namespace {
/// Checks the attributes and the parameter shapes shared by the forward and
/// the backward: x (M x K), A (r x K), B (N x r), the saved w (M x r) and
/// stats (M x 4).
template <typename AdapterLikeOp>
LogicalResult verifyAdapterCommon(AdapterLikeOp op, Value x, Value w,
                                  Value stats) {
  Operation *o = op.getOperation();
  float scaling = op.getScaling().convertToFloat();
  if (!std::isfinite(scaling))
    return op.emitOpError("expects a finite scaling: got ") << scaling;
  std::pair<StringRef, float> positives[] = {
      {"max_sinh_arg", op.getMaxSinhArg().convertToFloat()},
      {"norm_eps", op.getNormEps().convertToFloat()},
      {"curvature_eps", op.getCurvatureEps().convertToFloat()},
      {"time_eps", op.getTimeEps().convertToFloat()},
      {"small_th", op.getSmallTh().convertToFloat()},
      {"small_th_eps", op.getSmallThEps().convertToFloat()},
      {"acosh_eps", op.getAcoshEps().convertToFloat()},
      {"out_norm_eps", op.getOutNormEps().convertToFloat()}};
  for (auto [name, value] : positives)
    if (!(value > 0.0f) || !std::isfinite(value))
      return op.emitOpError("expects ")
             << name << " to be positive and finite: got " << value;

  Value A = op.getA(), B = op.getB();
  if (!isRowFloat(A.getType()) || !isRowFloat(B.getType()))
    return op.emitOpError(
        "expects the parameters A and B to be f32 or f64 (adapter parameters "
        "stay in fp32)");
  if (failed(expectDim(o, dimOf(A, 1), dimOf(x, 1),
                       "operand A to have the same inner dimension as x")))
    return failure();
  if (failed(expectDim(o, dimOf(B, 1), dimOf(A, 0),
                       "operand B to have as many columns as A has rows (the "
                       "rank)")))
    return failure();
  if (!isRowFloat(w.getType()) || !isRowFloat(stats.getType()))
    return op.emitOpError("expects w and stats to be f32 or f64");
  if (failed(expectDim(o, dimOf(w, 0), dimOf(x, 0),
                       "w to have one row per row of x")) ||
      failed(expectDim(o, dimOf(w, 1), dimOf(A, 0),
                       "w to have one column per rank (rows of A)")) ||
      failed(expectDim(o, dimOf(stats, 0), dimOf(x, 0),
                       "stats to have one row per row of x")) ||
      failed(expectDim(o, dimOf(stats, 1), 4, "stats to have 4 columns")))
    return failure();
  return success();
}
} // namespace

LogicalResult AdapterOp::verify() {
  Operation *o = *this;
  if (failed(verifyAdapterCommon(*this, getX(), getW(), getStats())))
    return failure();
  if (failed(expectDim(o, dimOf(getY0(), 0), dimOf(getX(), 0),
                       "y0 to have one row per row of x")) ||
      failed(expectDim(o, dimOf(getY0(), 1), dimOf(getB(), 0),
                       "y0 to have one column per row of B (out_features)")))
    return failure();
  return success();
}

LogicalResult AdapterGradOp::verify() {
  Operation *o = *this;
  if (failed(verifyAdapterCommon(*this, getX(), getW(), getStats())))
    return failure();
  if (failed(expectDim(o, dimOf(getDy(), 0), dimOf(getX(), 0),
                       "dy to have one row per row of x")) ||
      failed(expectDim(o, dimOf(getDy(), 1), dimOf(getB(), 0),
                       "dy to have one column per row of B (out_features)")))
    return failure();
  return expectSameShape(o, getDx0().getType(), getX().getType(),
                         "dx0 to have the shape of x");
}

//===----------------------------------------------------------------------===//
// Primitive ops
//===----------------------------------------------------------------------===//

LogicalResult RowSqNormOp::verify() {
  return expectRows(*this, getResult(), getX(), "x");
}

LogicalResult RowDotOp::verify() {
  if (failed(expectSameShape(*this, getA().getType(), getB().getType(),
                             "a and b to have the same shape")))
    return failure();
  return expectRows(*this, getResult(), getA(), "a");
}

namespace {
LogicalResult verifyAcc(Operation *op, Value acc, Value result) {
  if (!acc)
    return success();
  if (cast<ShapedType>(acc.getType()).getElementType() !=
      cast<ShapedType>(result.getType()).getElementType())
    return op->emitOpError(
               "expects acc to have the element type of the result: got ")
           << acc.getType() << " vs " << result.getType();
  return expectSameShape(op, acc.getType(), result.getType(),
                         "acc to have the shape of the result");
}
} // namespace

LogicalResult MatmulTOp::verify() {
  Operation *o = *this;
  if (failed(expectDim(o, dimOf(getB(), 1), dimOf(getA(), 1),
                       "b to have the inner dimension of a (a b^T)")) ||
      failed(expectRows(o, getResult(), getA(), "a")) ||
      failed(expectDim(o, dimOf(getResult(), 1), dimOf(getB(), 0),
                       "the result to have one column per row of b")))
    return failure();
  return verifyAcc(o, getAcc(), getResult());
}

LogicalResult MatmulOp::verify() {
  Operation *o = *this;
  if (failed(expectDim(o, dimOf(getB(), 0), dimOf(getA(), 1),
                       "b to have one row per column of a (a b)")) ||
      failed(expectRows(o, getResult(), getA(), "a")) ||
      failed(expectDim(o, dimOf(getResult(), 1), dimOf(getB(), 1),
                       "the result to have the columns of b")))
    return failure();
  return verifyAcc(o, getAcc(), getResult());
}

LogicalResult MatmulTNOp::verify() {
  Operation *o = *this;
  if (failed(expectDim(o, dimOf(getB(), 0), dimOf(getA(), 0),
                       "a and b to have the same row count (a^T b)")) ||
      failed(expectDim(o, dimOf(getResult(), 0), dimOf(getA(), 1),
                       "the result to have one row per column of a")) ||
      failed(expectDim(o, dimOf(getResult(), 1), dimOf(getB(), 1),
                       "the result to have one column per column of b")))
    return failure();
  return success();
}

LogicalResult QuadFormOp::verify() {
  Operation *o = *this;
  if (failed(expectDim(o, dimOf(getG(), 1), dimOf(getG(), 0),
                       "G to be square")) ||
      failed(expectDim(o, dimOf(getG(), 0), dimOf(getV(), 1),
                       "G to have one row per column of v")))
    return failure();
  return expectRows(o, getResult(), getV(), "v");
}

LogicalResult RowScaleOp::verify() {
  if (failed(expectDim(*this, dimOf(getC(), 0), dimOf(getX(), 0),
                       "c to have one entry per row of x")))
    return failure();
  return expectSameShape(*this, getResult().getType(), getX().getType(),
                         "the result to have the shape of x");
}

LogicalResult ReduceRowsOp::verify() {
  Type in = getInput().getType().getElementType();
  Type out = getResult().getType().getElementType();
  if (in != out)
    return emitOpError("expects the result element type to match the input: ")
           << "got " << out << " vs " << in;
  return success();
}

LogicalResult PackColsOp::verify() {
  if (getColumns().empty())
    return emitOpError("expects at least one column");
  if (failed(expectDim(*this, dimOf(getResult(), 1),
                       static_cast<int64_t>(getColumns().size()),
                       "the result to have one column per operand")))
    return failure();
  for (Value c : getColumns())
    if (failed(expectRows(*this, getResult(), c, "every column")))
      return failure();
  return success();
}

LogicalResult ExtractColOp::verify() {
  int64_t cols = dimOf(getInput(), 1);
  int64_t col = static_cast<int64_t>(getColumn());
  if (col < 0 || (!ShapedType::isDynamic(cols) && col >= cols))
    return emitOpError("expects column index in [0, ")
           << dimString(cols) << "): got " << col;
  return expectRows(*this, getResult(), getInput(), "the input");
}

LogicalResult CastOp::verify() {
  return expectSameShape(*this, getResult().getType(), getInput().getType(),
                         "the result to have the shape of the input");
}

//===----------------------------------------------------------------------===//
// Region ops
//===----------------------------------------------------------------------===//

YieldOp RowMapOp::getYield() {
  return cast<YieldOp>(getBody().front().getTerminator());
}

LogicalResult RowMapOp::verify() {
  if (getRows().empty())
    return emitOpError("expects at least one per-row operand (it gives the "
                       "row count)");
  Value first = getRows().front();
  for (Value r : getRows())
    if (failed(expectDim(*this, dimOf(r, 0), dimOf(first, 0),
                         "every per-row operand to have the same row count")))
      return failure();
  for (Value r : getResults())
    if (failed(expectDim(*this, dimOf(r, 0), dimOf(first, 0),
                         "every result to have the row count of the "
                         "operands")))
      return failure();
  return success();
}

LogicalResult RowMapOp::verifyRegions() {
  Block &body = getBody().front();
  size_t expected = getRows().size() + getScalars().size();
  if (body.getNumArguments() != expected)
    return emitOpError("expects the body to have one f32 argument per "
                       "operand: got ")
           << body.getNumArguments() << " vs " << expected;
  for (auto [arg, operand] : llvm::zip(body.getArguments(), getOperands())) {
    Type elem = cast<ShapedType>(operand.getType()).getElementType();
    if (arg.getType() != elem)
      return emitOpError("expects body argument #")
             << arg.getArgNumber() << " to have the element type " << elem
             << " of its operand: got " << arg.getType();
  }
  for (Operation &op : body.without_terminator()) {
    StringRef ns = op.getDialect() ? op.getDialect()->getNamespace() : "";
    if ((ns != "arith" && ns != "math") || op.getNumRegions() != 0)
      return op.emitOpError("is not allowed in a hyp.row_map body (only "
                            "arith/math scalar ops)");
    for (Type t : op.getResultTypes())
      if (!t.isIntOrFloat())
        return op.emitOpError("in a hyp.row_map body must produce scalars: got ")
               << t;
  }
  YieldOp yield = getYield();
  if (yield.getValues().size() != getNumResults())
    return emitOpError("expects the body to yield one scalar per result: got ")
           << yield.getValues().size() << " vs " << getNumResults();
  for (auto [i, pair] :
       llvm::enumerate(llvm::zip(yield.getValues(), getResults()))) {
    auto [v, r] = pair;
    Type elem = cast<ShapedType>(r.getType()).getElementType();
    if (v.getType() != elem)
      return emitOpError("expects yielded value #")
             << i << " to have the element type " << elem
             << " of its result: got " << v.getType();
  }
  return success();
}

YieldOp KernelOp::getYield() {
  return cast<YieldOp>(getBody().front().getTerminator());
}

LogicalResult KernelOp::verifyRegions() {
  Block &body = getBody().front();
  if (getSymName().empty())
    return emitOpError("expects a non-empty kernel name");
  if (body.getNumArguments() != getInputs().size())
    return emitOpError("expects the body to have one argument per input: got ")
           << body.getNumArguments() << " vs " << getInputs().size();
  for (auto [arg, in] : llvm::zip(body.getArguments(), getInputs()))
    if (arg.getType() != in.getType())
      return emitOpError("expects body argument #")
             << arg.getArgNumber() << " to have the type of its input: got "
             << arg.getType() << " vs " << in.getType();
  YieldOp yield = getYield();
  if (yield.getValues().getTypes() != getResultTypes())
    return emitOpError("expects the body to yield the result types");
  return success();
}

#define GET_OP_CLASSES
#include "hyp/Dialect/HypOps.cpp.inc"
