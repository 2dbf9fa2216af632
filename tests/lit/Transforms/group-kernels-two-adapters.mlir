// RUN: hyp-opt %s --hyp-pipeline | FileCheck %s
// Two independent adapters in one function: the row work of each is one
// kernel of its own (a kernel reads one x); the same B gives one Gram matrix
// (cse); names get a numeric suffix.

// CHECK-LABEL: func @adapter_forward
// CHECK-SAME: hyp.kernels = ["hyp_fwd_gram", "hyp_fwd_down", "hyp_fwd_up", "hyp_fwd_down_2", "hyp_fwd_up_2"]
// CHECK: %[[G:.*]] = hyp.kernel "hyp_fwd_gram"
// CHECK: hyp.kernel "hyp_fwd_down" ins(%{{.*}}, %[[G]] : tensor<?x64xf32>,
// CHECK: hyp.kernel "hyp_fwd_up"
// CHECK: hyp.kernel "hyp_fwd_down_2" ins(%{{.*}}, %[[G]] : tensor<?x48xf32>,
// CHECK: hyp.kernel "hyp_fwd_up_2"
func.func @adapter_forward(%x: tensor<?x64xf32>, %x2: tensor<?x48xf32>, %A: tensor<8x64xf32>, %A2: tensor<8x48xf32>,
                           %B: tensor<32x8xf32>, %k: tensor<f32>, %s: tensor<f32>, %y0: tensor<?x32xf32>)
    -> (tensor<?x32xf32>, tensor<?x32xf32>) {
  %y, %w, %st = hyp.adapter %x, %A, %B, %k, %s, %y0 {variant = #hyp.variant<hyplora>, scaling = 1.0 : f32}
      : (tensor<?x64xf32>, tensor<8x64xf32>, tensor<32x8xf32>, tensor<f32>, tensor<f32>, tensor<?x32xf32>) -> (tensor<?x32xf32>, tensor<?x8xf32>, tensor<?x4xf32>)
  %y2, %w2, %st2 = hyp.adapter %x2, %A2, %B, %k, %s, %y0 {variant = #hyp.variant<hyplora>, scaling = 2.0 : f32}
      : (tensor<?x48xf32>, tensor<8x48xf32>, tensor<32x8xf32>, tensor<f32>, tensor<f32>, tensor<?x32xf32>) -> (tensor<?x32xf32>, tensor<?x8xf32>, tensor<?x4xf32>)
  return %y, %y2 : tensor<?x32xf32>, tensor<?x32xf32>
}
