// REQUIRES: torch-python
// RUN: hyp-opt --hyp-pipeline --mlir-print-op-generic %s -o %t
// RUN: %hyp_python %S/Inputs/adapter_check.py %t hyplora lorentz 4.0 64 64 32 8 | FileCheck %s
//
// End-to-end numerical check of the whole pipeline (expand, derive-backward,
// hoist, Gram, grouping into kernels) for variant=hyplora convention=lorentz: the
// grouped stage-3 IR is evaluated in float64 (Inputs/hyp_eval.py) on fresh
// random inputs and compared with torch float64 autograd of HYPLORA.md §3.
// CHECK-NOT: FAIL
// CHECK-NOT: NOT FINITE
// CHECK: zero row finite: True
// CHECK: ALL OK

func.func @adapter_forward(%x: tensor<?x64xf64>, %A: tensor<8x64xf64>, %B: tensor<32x8xf64>,
                           %k: tensor<f64>, %s: tensor<f64>, %y0: tensor<?x32xf64>)
    -> (tensor<?x32xf64>, tensor<?x8xf64>, tensor<?x4xf64>) {
  %y, %w, %stats = hyp.adapter %x, %A, %B, %k, %s, %y0
      {variant = #hyp.variant<hyplora>, convention = #hyp.convention<lorentz>, scaling = 4.0 : f32}
      : (tensor<?x64xf64>, tensor<8x64xf64>, tensor<32x8xf64>, tensor<f64>, tensor<f64>, tensor<?x32xf64>)
      -> (tensor<?x32xf64>, tensor<?x8xf64>, tensor<?x4xf64>)
  return %y, %w, %stats : tensor<?x32xf64>, tensor<?x8xf64>, tensor<?x4xf64>
}
func.func @adapter_backward(%dy: tensor<?x32xf64>, %x: tensor<?x64xf64>, %A: tensor<8x64xf64>, %B: tensor<32x8xf64>,
                            %k: tensor<f64>, %s: tensor<f64>, %w: tensor<?x8xf64>, %stats: tensor<?x4xf64>, %dx0: tensor<?x64xf64>)
    -> (tensor<?x64xf64>, tensor<8x64xf64>, tensor<32x8xf64>, tensor<f64>, tensor<f64>) {
  %dx, %dA, %dB, %dk, %ds = hyp.adapter_grad %dy, %x, %A, %B, %k, %s, %w, %stats, %dx0
      {variant = #hyp.variant<hyplora>, convention = #hyp.convention<lorentz>, scaling = 4.0 : f32}
      : (tensor<?x32xf64>, tensor<?x64xf64>, tensor<8x64xf64>, tensor<32x8xf64>, tensor<f64>, tensor<f64>,
         tensor<?x8xf64>, tensor<?x4xf64>, tensor<?x64xf64>)
      -> (tensor<?x64xf64>, tensor<8x64xf64>, tensor<32x8xf64>, tensor<f64>, tensor<f64>)
  return %dx, %dA, %dB, %dk, %ds : tensor<?x64xf64>, tensor<8x64xf64>, tensor<32x8xf64>, tensor<f64>, tensor<f64>
}
