// RUN: hyp-opt %s --hyp-pipeline | FileCheck %s
// RUN: hyp-opt %s --hyp-pipeline="group-kernels=false" | FileCheck %s --check-prefix=STAGE2
// RUN: hyp-opt %s --hyp-pipeline="hoist-row-scale=false gram-norm=false group-kernels=false" | FileCheck %s --check-prefix=STAGE1
// The whole pipeline on the frontend's stage-0 functions (docs/IR.md).

// CHECK-LABEL: func @adapter_forward
// CHECK-SAME: hyp.kernels = ["hyp_fwd_gram", "hyp_fwd_down", "hyp_fwd_up"], hyp.program = "forward"
// CHECK-NOT: hyp.adapter
// CHECK: hyp.kernel "hyp_fwd_gram"
// CHECK: hyp.kernel "hyp_fwd_down" ins(%{{.*}} : tensor<?x576xbf16>
// CHECK: hyp.kernel "hyp_fwd_up"
// CHECK-LABEL: func @adapter_backward
// CHECK-SAME: hyp.kernels = ["hyp_bwd_gram", "hyp_bwd_dy", "hyp_bwd_db", "hyp_bwd_dx"], hyp.program = "backward"
// CHECK-NOT: hyp.adapter_grad

// Stage 2: x A^T read once, the N-wide u gone (Gram form), no kernels yet.
// STAGE2-LABEL: func @adapter_forward
// STAGE2: hyp.matmul_t %{{.*}}, %{{.*}} : tensor<?x576xbf16>, tensor<32x576xf32> -> tensor<?x32xf32>
// STAGE2-NOT: tensor<?x192xf32>
// STAGE2: hyp.quad_form
// STAGE2-NOT: hyp.kernel

// Stage 1: the literal formula, x scaled before A, u materialized.
// STAGE1-LABEL: func @adapter_forward
// STAGE1: hyp.row_scale %{{.*}}, %{{.*}} : tensor<?x576xbf16>, tensor<?xf32> -> tensor<?x576xf32>
// STAGE1: hyp.matmul_t %{{.*}}, %{{.*}} : tensor<?x32xf32>, tensor<192x32xf32> -> tensor<?x192xf32>
// STAGE1-NOT: hyp.quad_form

func.func @adapter_forward(%x: tensor<?x576xbf16>, %A: tensor<32x576xf32>, %B: tensor<192x32xf32>,
                           %k: tensor<f32>, %s: tensor<f32>, %y0: tensor<?x192xbf16>)
    -> (tensor<?x192xbf16>, tensor<?x32xf32>, tensor<?x4xf32>) {
  %y, %w, %stats = hyp.adapter %x, %A, %B, %k, %s, %y0
      {variant = #hyp.variant<hyplora>, convention = #hyp.convention<reference>, scaling = 4.0 : f32}
      : (tensor<?x576xbf16>, tensor<32x576xf32>, tensor<192x32xf32>, tensor<f32>, tensor<f32>, tensor<?x192xbf16>)
      -> (tensor<?x192xbf16>, tensor<?x32xf32>, tensor<?x4xf32>)
  return %y, %w, %stats : tensor<?x192xbf16>, tensor<?x32xf32>, tensor<?x4xf32>
}
func.func @adapter_backward(%dy: tensor<?x192xbf16>, %x: tensor<?x576xbf16>, %A: tensor<32x576xf32>, %B: tensor<192x32xf32>,
                            %k: tensor<f32>, %s: tensor<f32>, %w: tensor<?x32xf32>, %stats: tensor<?x4xf32>, %dx0: tensor<?x576xbf16>)
    -> (tensor<?x576xbf16>, tensor<32x576xf32>, tensor<192x32xf32>, tensor<f32>, tensor<f32>) {
  %dx, %dA, %dB, %dk, %ds = hyp.adapter_grad %dy, %x, %A, %B, %k, %s, %w, %stats, %dx0
      {variant = #hyp.variant<hyplora>, convention = #hyp.convention<reference>, scaling = 4.0 : f32}
      : (tensor<?x192xbf16>, tensor<?x576xbf16>, tensor<32x576xf32>, tensor<192x32xf32>, tensor<f32>, tensor<f32>,
         tensor<?x32xf32>, tensor<?x4xf32>, tensor<?x576xbf16>)
      -> (tensor<?x576xbf16>, tensor<32x576xf32>, tensor<192x32xf32>, tensor<f32>, tensor<f32>)
  return %dx, %dA, %dB, %dk, %ds : tensor<?x576xbf16>, tensor<32x576xf32>, tensor<192x32xf32>, tensor<f32>, tensor<f32>
}
