//===- RowForm.cpp - helpers to build stage-1 row-scalar IR ---------------===//
#include "RowForm.h"

namespace mlir::hyp {

SmallVector<Value> RowFormBuilder::rowMap(ValueRange rowsIn, ValueRange scalars,
                                          unsigned numResults,
                                          const BodyFn &emit) {
  SmallVector<Type> resultTypes(numResults, vectorType());
  auto op = RowMapOp::create(b, loc, resultTypes, rowsIn, scalars);
  Block *body = new Block();
  op.getBody().push_back(body);
  for (Value v : llvm::concat<const Value>(rowsIn, scalars))
    body->addArgument(cast<ShapedType>(v.getType()).getElementType(), loc);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(body);
  ScalarEmitter e(b, loc, elem);
  SmallVector<Value> args(body->getArguments().begin(), body->getArguments().end());
  SmallVector<Value> yielded = emit(e, args);
  assert(yielded.size() == numResults && "row program result count");
  YieldOp::create(b, loc, yielded);
  return SmallVector<Value>(op.getResults());
}

Value RowFormBuilder::matmulT(Value a, Value w, Value acc, Type resultType) {
  if (!resultType)
    resultType = matrixType(cast<RankedTensorType>(w.getType()).getDimSize(0));
  return MatmulTOp::create(b, loc, resultType, a, w, acc);
}

Value RowFormBuilder::matmul(Value a, Value w, Value acc, Type resultType) {
  if (!resultType)
    resultType = matrixType(cols(w));
  return MatmulOp::create(b, loc, resultType, a, w, acc);
}

Value RowFormBuilder::matmulTN(Value a, Value c) {
  auto type = RankedTensorType::get({cols(a), cols(c)}, elem);
  return MatmulTNOp::create(b, loc, type, a, c);
}

} // namespace mlir::hyp
