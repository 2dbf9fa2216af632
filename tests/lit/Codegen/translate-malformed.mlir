// Malformed IR given to the emitter: a parse diagnostic with its location and
// a non-zero exit, never a crash.
// RUN: not hyp-translate --hyp-to-cuda %s 2>&1 | FileCheck %s
// CHECK: translate-malformed.mlir:[[@LINE+1]]:{{[0-9]+}}: error: expected non-function type
func.func @f( {
