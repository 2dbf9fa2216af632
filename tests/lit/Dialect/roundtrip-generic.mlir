// RUN: hyp-opt %S/ops.mlir --mlir-print-op-generic | hyp-opt | FileCheck %S/ops.mlir
// RUN: hyp-opt %S/ops.mlir --emit-bytecode | hyp-opt | FileCheck %S/ops.mlir
// The generic form and the bytecode of every op (ops.mlir) parse back to the
// same custom form: properties (attributes, operand segments) survive both.
