// RUN: hyp-opt %s --hyp-pipeline | FileCheck %s
// LoRA needs no Gram matrix and no row program beyond constants: the
// forward is two kernels, the backward three, and dk = ds = 0 constants.

// CHECK-LABEL: func @adapter_forward
// CHECK-SAME: hyp.kernels = ["hyp_fwd_down", "hyp_fwd_up"]
// CHECK-NOT: math.
// CHECK-LABEL: func @adapter_backward
// CHECK-SAME: hyp.kernels = ["hyp_bwd_dy", "hyp_bwd_db", "hyp_bwd_dx"]
// CHECK-DAG: %[[ZERO:.*]] = arith.constant dense<0.000000e+00> : tensor<f32>
// CHECK: return %{{.*}}, %{{.*}}, %{{.*}}, %[[ZERO]], %[[ZERO]]

func.func @adapter_forward(%x: tensor<?x576xf16>, %A: tensor<16x576xf32>, %B: tensor<192x16xf32>,
                           %k: tensor<f32>, %s: tensor<f32>, %y0: tensor<?x192xf16>)
    -> (tensor<?x192xf16>, tensor<?x16xf32>, tensor<?x4xf32>) {
  %y, %w, %stats = hyp.adapter %x, %A, %B, %k, %s, %y0 {variant = #hyp.variant<lora>, scaling = 2.0 : f32}
      : (tensor<?x576xf16>, tensor<16x576xf32>, tensor<192x16xf32>, tensor<f32>, tensor<f32>, tensor<?x192xf16>)
      -> (tensor<?x192xf16>, tensor<?x16xf32>, tensor<?x4xf32>)
  return %y, %w, %stats : tensor<?x192xf16>, tensor<?x16xf32>, tensor<?x4xf32>
}
func.func @adapter_backward(%dy: tensor<?x192xf16>, %x: tensor<?x576xf16>, %A: tensor<16x576xf32>, %B: tensor<192x16xf32>,
                            %k: tensor<f32>, %s: tensor<f32>, %w: tensor<?x16xf32>, %stats: tensor<?x4xf32>, %dx0: tensor<?x576xf16>)
    -> (tensor<?x576xf16>, tensor<16x576xf32>, tensor<192x16xf32>, tensor<f32>, tensor<f32>) {
  %dx, %dA, %dB, %dk, %ds = hyp.adapter_grad %dy, %x, %A, %B, %k, %s, %w, %stats, %dx0 {variant = #hyp.variant<lora>, scaling = 2.0 : f32}
      : (tensor<?x192xf16>, tensor<?x576xf16>, tensor<16x576xf32>, tensor<192x16xf32>, tensor<f32>, tensor<f32>,
         tensor<?x16xf32>, tensor<?x4xf32>, tensor<?x576xf16>)
      -> (tensor<?x576xf16>, tensor<16x576xf32>, tensor<192x16xf32>, tensor<f32>, tensor<f32>)
  return %dx, %dA, %dB, %dk, %ds : tensor<?x576xf16>, tensor<16x576xf32>, tensor<192x16xf32>, tensor<f32>, tensor<f32>
}
