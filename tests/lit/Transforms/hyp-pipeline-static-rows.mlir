// RUN: hyp-opt %s --hyp-pipeline | FileCheck %s
// A static row count (M = 7) groups the same way as a dynamic one.

// CHECK-LABEL: func @adapter_forward
// CHECK-SAME: hyp.kernels = ["hyp_fwd_gram", "hyp_fwd_down", "hyp_fwd_up"]
// CHECK: hyp.kernel "hyp_fwd_down" ins(%{{.*}} : tensor<7x64xbf16>
// CHECK: } -> tensor<7x8xf32>, tensor<7x4xf32>
func.func @adapter_forward(%x: tensor<7x64xbf16>, %A: tensor<8x64xf32>, %B: tensor<32x8xf32>,
                           %k: tensor<f32>, %s: tensor<f32>, %y0: tensor<7x32xbf16>)
    -> (tensor<7x32xbf16>, tensor<7x8xf32>, tensor<7x4xf32>) {
  %y, %w, %stats = hyp.adapter %x, %A, %B, %k, %s, %y0 {variant = #hyp.variant<hyplora>, scaling = 2.0 : f32}
      : (tensor<7x64xbf16>, tensor<8x64xf32>, tensor<32x8xf32>, tensor<f32>, tensor<f32>, tensor<7x32xbf16>)
      -> (tensor<7x32xbf16>, tensor<7x8xf32>, tensor<7x4xf32>)
  return %y, %w, %stats : tensor<7x32xbf16>, tensor<7x8xf32>, tensor<7x4xf32>
}
