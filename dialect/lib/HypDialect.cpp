//===- HypDialect.cpp - hyp dialect registration --------------------------===//
#include "hyp/Dialect/HypDialect.h"
#include "hyp/Dialect/HypOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::hyp;

#include "hyp/Dialect/HypDialect.cpp.inc"
#include "hyp/Dialect/HypEnums.cpp.inc"
#define GET_ATTRDEF_CLASSES
#include "hyp/Dialect/HypAttrs.cpp.inc"

void HypDialect::initialize() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "hyp/Dialect/HypAttrs.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "hyp/Dialect/HypOps.cpp.inc"
      >();
}
