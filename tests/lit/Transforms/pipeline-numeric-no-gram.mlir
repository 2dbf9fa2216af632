// REQUIRES: torch-python
// RUN: hyp-opt --hyp-pipeline %s | FileCheck %s --check-prefix=IR
// RUN: hyp-opt --hyp-pipeline --mlir-print-op-generic %s -o %t
// RUN: %hyp_python %S/Inputs/adapter_check.py %t hyplora reference 4.0 33 40 8 16 | FileCheck %s
//
// r = 16 >= N = 8: hyp-gram-norm must not fire, the direct |u|^2 path is compiled
// (K = 40 is not a multiple of 8 either).
// Evaluated in float64 on fresh random inputs (M = 33 rows) against torch
// float64 autograd of HYPLORA.md §3 (see pipeline-numeric-hyplora-reference.mlir).
// IR-LABEL: func @adapter_forward
// IR-NOT: hyp.quad_form
// CHECK-NOT: FAIL
// CHECK-NOT: NOT FINITE
// CHECK: zero row finite: True
// CHECK: ALL OK

func.func @adapter_forward(%x: tensor<?x40xf64>, %A: tensor<16x40xf64>, %B: tensor<8x16xf64>,
                           %k: tensor<f64>, %s: tensor<f64>, %y0: tensor<?x8xf64>)
    -> (tensor<?x8xf64>, tensor<?x16xf64>, tensor<?x4xf64>) {
  %y, %w, %stats = hyp.adapter %x, %A, %B, %k, %s, %y0
      {variant = #hyp.variant<hyplora>, convention = #hyp.convention<reference>, scaling = 4.0 : f32}
      : (tensor<?x40xf64>, tensor<16x40xf64>, tensor<8x16xf64>, tensor<f64>, tensor<f64>, tensor<?x8xf64>)
      -> (tensor<?x8xf64>, tensor<?x16xf64>, tensor<?x4xf64>)
  return %y, %w, %stats : tensor<?x8xf64>, tensor<?x16xf64>, tensor<?x4xf64>
}
func.func @adapter_backward(%dy: tensor<?x8xf64>, %x: tensor<?x40xf64>, %A: tensor<16x40xf64>, %B: tensor<8x16xf64>,
                            %k: tensor<f64>, %s: tensor<f64>, %w: tensor<?x16xf64>, %stats: tensor<?x4xf64>, %dx0: tensor<?x40xf64>)
    -> (tensor<?x40xf64>, tensor<16x40xf64>, tensor<8x16xf64>, tensor<f64>, tensor<f64>) {
  %dx, %dA, %dB, %dk, %ds = hyp.adapter_grad %dy, %x, %A, %B, %k, %s, %w, %stats, %dx0
      {variant = #hyp.variant<hyplora>, convention = #hyp.convention<reference>, scaling = 4.0 : f32}
      : (tensor<?x8xf64>, tensor<?x40xf64>, tensor<16x40xf64>, tensor<8x16xf64>, tensor<f64>, tensor<f64>,
         tensor<?x16xf64>, tensor<?x4xf64>, tensor<?x40xf64>)
      -> (tensor<?x40xf64>, tensor<16x40xf64>, tensor<8x16xf64>, tensor<f64>, tensor<f64>)
  return %dx, %dA, %dB, %dk, %ds : tensor<?x40xf64>, tensor<16x40xf64>, tensor<8x16xf64>, tensor<f64>, tensor<f64>
}
