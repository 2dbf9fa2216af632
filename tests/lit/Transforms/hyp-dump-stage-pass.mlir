// RUN: rm -rf %t && hyp-opt %s --hyp-dump-stage="dir=%t name=here" | FileCheck %s --check-prefix=PASSTHROUGH
// RUN: hyp-opt %t/here.mlir | FileCheck %s --check-prefix=DUMP
// The dump pass writes a parseable module and leaves the IR unchanged; with
// no directory it does nothing.
// RUN: hyp-opt %s --hyp-dump-stage | FileCheck %s --check-prefix=PASSTHROUGH

// PASSTHROUGH-LABEL: func @f
// PASSTHROUGH: hyp.row_sqnorm
// DUMP-LABEL: func @f
// DUMP: hyp.row_sqnorm
func.func @f(%x: tensor<?x8xf32>) -> tensor<?xf32> {
  %n = hyp.row_sqnorm %x : tensor<?x8xf32> -> tensor<?xf32>
  return %n : tensor<?xf32>
}
