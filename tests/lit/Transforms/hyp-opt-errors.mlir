// Bad input to hyp-opt is a diagnostic and a non-zero exit, never a crash.
// RUN: not hyp-opt %S/hyp-pipeline.mlir --hyp-pipeline="no-such-option=1" 2>&1 | FileCheck %s --check-prefix=OPTION
// RUN: not hyp-opt %S/hyp-pipeline.mlir --zz-no-such-pass 2>&1 | FileCheck %s --check-prefix=PASS
// RUN: not hyp-opt %s --hyp-pipeline 2>&1 | FileCheck %s --check-prefix=IR
// OPTION: no-such-option
// PASS: Unknown command line argument '--zz-no-such-pass'
// IR: error: 'hyp.adapter' op expects operand A to have the same inner dimension as x: got 32 vs 64

func.func @bad(%x: tensor<?x64xf32>, %A: tensor<8x32xf32>, %B: tensor<32x8xf32>, %k: tensor<f32>, %s: tensor<f32>, %y0: tensor<?x32xf32>) {
  %y, %w, %st = hyp.adapter %x, %A, %B, %k, %s, %y0 {variant = #hyp.variant<hyplora>, scaling = 1.0 : f32}
      : (tensor<?x64xf32>, tensor<8x32xf32>, tensor<32x8xf32>, tensor<f32>, tensor<f32>, tensor<?x32xf32>) -> (tensor<?x32xf32>, tensor<?x8xf32>, tensor<?x4xf32>)
  return
}
