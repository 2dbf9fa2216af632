//===- RowForm.h - helpers to build stage-1 row-scalar IR -------*- C++ -*-===//
#ifndef HYP_PASSES_LIB_ROWFORM_H
#define HYP_PASSES_LIB_ROWFORM_H

#include "AdapterPrograms.h"

#include "mlir/IR/PatternMatch.h"

#include <functional>

namespace mlir::hyp {

/// Builds primitive hyp ops on tensors of token rows; `rows` is the row
/// dimension (dynamic or static) and `elem` the row-math element type.
class RowFormBuilder {
public:
  RowFormBuilder(OpBuilder &b, Location loc, int64_t rows, FloatType elem)
      : b(b), loc(loc), rows(rows), elem(elem) {}

  RankedTensorType vectorType() { return RankedTensorType::get({rows}, elem); }
  RankedTensorType matrixType(int64_t cols, Type e = {}) {
    return RankedTensorType::get({rows, cols}, e ? e : elem);
  }
  static int64_t cols(Value m) {
    return cast<RankedTensorType>(m.getType()).getDimSize(1);
  }

  /// A hyp.row_map over `rowsIn` and `scalars` whose body `emit` builds from
  /// the block arguments (rows first, then scalars); one result per value
  /// `emit` returns.
  using BodyFn =
      std::function<SmallVector<Value>(ScalarEmitter &, ArrayRef<Value>)>;
  SmallVector<Value> rowMap(ValueRange rowsIn, ValueRange scalars,
                            unsigned numResults, const BodyFn &emit);

  Value sqnorm(Value x) { return RowSqNormOp::create(b, loc, vectorType(), x); }
  Value rowDot(Value a, Value c) {
    return RowDotOp::create(b, loc, vectorType(), a, c);
  }
  Value rowScale(Value x, Value c, Type resultElem = {}) {
    return RowScaleOp::create(b, loc, matrixType(cols(x), resultElem), x, c);
  }
  Value matmulT(Value a, Value w, Value acc = {}, Type resultType = {});
  Value matmul(Value a, Value w, Value acc = {}, Type resultType = {});
  Value matmulTN(Value a, Value c);
  Value add(Value a, Value c) { return AddOp::create(b, loc, a, c); }
  Value castTo(Value x, Type t) {
    return x.getType() == t ? x : CastOp::create(b, loc, t, x).getResult();
  }

  OpBuilder &builder() { return b; }
  Location location() { return loc; }
  FloatType rowElem() { return elem; }

private:
  OpBuilder &b;
  Location loc;
  int64_t rows;
  FloatType elem;
};

} // namespace mlir::hyp

#endif // HYP_PASSES_LIB_ROWFORM_H
