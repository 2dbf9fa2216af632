// RUN: hyp-opt %s -split-input-file --hyp-hoist-row-scale | FileCheck %s

// A (c x) = c (A x): the scale moves after the down-projection (K -> r).
// CHECK-LABEL: func @hoist
// CHECK-SAME: (%[[X:.*]]: tensor<?x64xbf16>, %[[C:.*]]: tensor<?xf32>, %[[A:.*]]: tensor<8x64xf32>)
// CHECK-NEXT: %[[H:.*]] = hyp.matmul_t %[[X]], %[[A]] : tensor<?x64xbf16>, tensor<8x64xf32> -> tensor<?x8xf32>
// CHECK-NEXT: %[[V:.*]] = hyp.row_scale %[[H]], %[[C]] : tensor<?x8xf32>, tensor<?xf32> -> tensor<?x8xf32>
// CHECK-NEXT: return %[[V]]
func.func @hoist(%x: tensor<?x64xbf16>, %c: tensor<?xf32>, %A: tensor<8x64xf32>) -> tensor<?x8xf32> {
  %xs = hyp.row_scale %x, %c : tensor<?x64xbf16>, tensor<?xf32> -> tensor<?x64xf32>
  %v = hyp.matmul_t %xs, %A : tensor<?x64xf32>, tensor<8x64xf32> -> tensor<?x8xf32>
  return %v : tensor<?x8xf32>
}

// -----

// No hoist with an accumulator: c would scale y0 as well.
// CHECK-LABEL: func @no_hoist_acc
// CHECK: hyp.row_scale %{{.*}}, %{{.*}} : tensor<?x64xf32>
// CHECK-NEXT: hyp.matmul_t %{{.*}}, %{{.*}} acc
func.func @no_hoist_acc(%x: tensor<?x64xf32>, %c: tensor<?xf32>, %A: tensor<8x64xf32>, %y0: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %xs = hyp.row_scale %x, %c : tensor<?x64xf32>, tensor<?xf32> -> tensor<?x64xf32>
  %v = hyp.matmul_t %xs, %A acc %y0 : tensor<?x64xf32>, tensor<8x64xf32>, tensor<?x8xf32> -> tensor<?x8xf32>
  return %v : tensor<?x8xf32>
}

// -----

// No hoist through an up-projection (r -> N): more values to scale, and the
// row_sqnorm(matmul_t(v, B)) pattern of hyp-gram-norm would be hidden.
// CHECK-LABEL: func @no_hoist_widening
// CHECK: hyp.row_scale %{{.*}}, %{{.*}} : tensor<?x8xf32>, tensor<?xf32> -> tensor<?x8xf32>
// CHECK-NEXT: hyp.matmul_t %{{.*}}, %{{.*}} : tensor<?x8xf32>, tensor<32x8xf32> -> tensor<?x32xf32>
func.func @no_hoist_widening(%h: tensor<?x8xf32>, %c: tensor<?xf32>, %B: tensor<32x8xf32>) -> tensor<?x32xf32> {
  %v = hyp.row_scale %h, %c : tensor<?x8xf32>, tensor<?xf32> -> tensor<?x8xf32>
  %u = hyp.matmul_t %v, %B : tensor<?x8xf32>, tensor<32x8xf32> -> tensor<?x32xf32>
  return %u : tensor<?x32xf32>
}

// -----

// No hoist into a bf16 result: the scale would be rounded twice.
// CHECK-LABEL: func @no_hoist_bf16_result
// CHECK: hyp.row_scale
// CHECK-NEXT: hyp.matmul_t
func.func @no_hoist_bf16_result(%x: tensor<?x64xbf16>, %c: tensor<?xf32>, %A: tensor<8x64xf32>) -> tensor<?x8xbf16> {
  %xs = hyp.row_scale %x, %c : tensor<?x64xbf16>, tensor<?xf32> -> tensor<?x64xf32>
  %v = hyp.matmul_t %xs, %A : tensor<?x64xf32>, tensor<8x64xf32> -> tensor<?x8xbf16>
  return %v : tensor<?x8xbf16>
}

// -----

// Only the lhs is hoisted from: a row_scale on the weight side is not per-row
// of the product.
// CHECK-LABEL: func @no_hoist_rhs
// CHECK: hyp.row_scale
// CHECK-NEXT: hyp.matmul_t %{{.*}}, %{{.*}} : tensor<?x64xf32>, tensor<8x64xf32>
func.func @no_hoist_rhs(%x: tensor<?x64xf32>, %c: tensor<8xf32>, %A: tensor<8x64xf32>) -> tensor<?x8xf32> {
  %As = hyp.row_scale %A, %c : tensor<8x64xf32>, tensor<8xf32> -> tensor<8x64xf32>
  %v = hyp.matmul_t %x, %As : tensor<?x64xf32>, tensor<8x64xf32> -> tensor<?x8xf32>
  return %v : tensor<?x8xf32>
}
