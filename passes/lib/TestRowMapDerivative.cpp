//===- TestRowMapDerivative.cpp - test the scalar derivative rules --------===//
//
// hyp-test-row-map-derivative: each single-result hyp.row_map becomes a row
// map yielding d(result)/d(first operand), built with the same reverse sweep
// hyp-derive-backward uses. Lets lit compare every derivative rule with
// finite differences.
//
//===----------------------------------------------------------------------===//
#include "ScalarAD.h"
#include "hyp/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/IRMapping.h"

#define DEBUG_TYPE "hyp-test-row-map-derivative"

namespace mlir::hyp {
#define GEN_PASS_DEF_HYPTESTROWMAPDERIVATIVE
#include "hyp/Transforms/Passes.h.inc"

namespace {
struct HypTestRowMapDerivative
    : impl::HypTestRowMapDerivativeBase<HypTestRowMapDerivative> {
  void runOnOperation() override {
    SmallVector<RowMapOp> maps;
    getOperation().walk([&](RowMapOp op) {
      if (op.getNumResults() == 1)
        maps.push_back(op);
    });
    for (RowMapOp op : maps) {
      OpBuilder b(op);
      auto diff = RowMapOp::create(b, op.getLoc(), op.getResultTypes(),
                                   op.getRows(), op.getScalars());
      Block &oldBody = op.getBody().front();
      Block *body = new Block();
      diff.getBody().push_back(body);
      IRMapping map;
      for (BlockArgument arg : oldBody.getArguments())
        map.map(arg, body->addArgument(arg.getType(), arg.getLoc()));
      b.setInsertionPointToStart(body);
      SmallVector<Operation *> program;
      for (Operation &inner : oldBody.without_terminator())
        program.push_back(b.clone(inner, map));
      Value out = map.lookup(op.getYield().getValues()[0]);
      Value one = arith::ConstantOp::create(
          b, op.getLoc(), out.getType(), b.getFloatAttr(out.getType(), 1.0));
      auto adj = emitReverseSweep(b, op.getLoc(), program, {out}, {one},
                                  {body->getArgument(0)});
      if (failed(adj))
        return signalPassFailure();
      YieldOp::create(b, op.getLoc(), ValueRange{(*adj)[0]});
      op.getResult(0).replaceAllUsesWith(diff.getResult(0));
      op.erase();
    }
  }
};
} // namespace
} // namespace mlir::hyp
