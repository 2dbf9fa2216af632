//===- HypOps.h - hyp dialect ops and attributes ----------------*- C++ -*-===//
#ifndef HYP_DIALECT_HYPOPS_H
#define HYP_DIALECT_HYPOPS_H

#include "hyp/Dialect/HypDialect.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/ControlFlowInterfaces.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "hyp/Dialect/HypEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "hyp/Dialect/HypAttrs.h.inc"

#define GET_OP_CLASSES
#include "hyp/Dialect/HypOps.h.inc"

#endif // HYP_DIALECT_HYPOPS_H
