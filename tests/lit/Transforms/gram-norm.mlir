// RUN: hyp-opt %s -split-input-file --hyp-gram-norm | FileCheck %s

// |B v|^2 = v^T (B^T B) v when r < N.
// CHECK-LABEL: func @gram
// CHECK-SAME: (%[[V:.*]]: tensor<?x8xf32>, %[[B:.*]]: tensor<32x8xf32>)
// CHECK-NEXT: %[[G:.*]] = hyp.matmul_tn %[[B]], %[[B]] : tensor<32x8xf32>, tensor<32x8xf32> -> tensor<8x8xf32>
// CHECK-NEXT: %[[Q:.*]] = hyp.quad_form %[[V]], %[[G]] : tensor<?x8xf32>, tensor<8x8xf32> -> tensor<?xf32>
// CHECK-NEXT: return %[[Q]]
func.func @gram(%v: tensor<?x8xf32>, %B: tensor<32x8xf32>) -> tensor<?xf32> {
  %u = hyp.matmul_t %v, %B : tensor<?x8xf32>, tensor<32x8xf32> -> tensor<?x32xf32>
  %q = hyp.row_sqnorm %u : tensor<?x32xf32> -> tensor<?xf32>
  return %q : tensor<?xf32>
}

// -----

// No rewrite when r >= N: the direct norm is cheaper than an r x r form.
// CHECK-LABEL: func @no_gram_wide_rank
// CHECK: hyp.matmul_t
// CHECK-NEXT: hyp.row_sqnorm
// CHECK-NOT: hyp.quad_form
func.func @no_gram_wide_rank(%v: tensor<?x32xf32>, %B: tensor<16x32xf32>) -> tensor<?xf32> {
  %u = hyp.matmul_t %v, %B : tensor<?x32xf32>, tensor<16x32xf32> -> tensor<?x16xf32>
  %q = hyp.row_sqnorm %u : tensor<?x16xf32> -> tensor<?xf32>
  return %q : tensor<?xf32>
}

// -----

// No rewrite with an accumulator: |y0 + B v|^2 is not v^T G v.
// CHECK-LABEL: func @no_gram_acc
// CHECK: hyp.matmul_t %{{.*}}, %{{.*}} acc
// CHECK-NEXT: hyp.row_sqnorm
func.func @no_gram_acc(%v: tensor<?x8xf32>, %B: tensor<32x8xf32>, %y0: tensor<?x32xf32>) -> tensor<?xf32> {
  %u = hyp.matmul_t %v, %B acc %y0 : tensor<?x8xf32>, tensor<32x8xf32>, tensor<?x32xf32> -> tensor<?x32xf32>
  %q = hyp.row_sqnorm %u : tensor<?x32xf32> -> tensor<?xf32>
  return %q : tensor<?xf32>
}

// -----

// No rewrite when v is not in row math (bf16): the quadratic form runs in f32.
// CHECK-LABEL: func @no_gram_bf16
// CHECK-NOT: hyp.quad_form
func.func @no_gram_bf16(%v: tensor<?x8xbf16>, %B: tensor<32x8xf32>) -> tensor<?xf32> {
  %u = hyp.matmul_t %v, %B : tensor<?x8xbf16>, tensor<32x8xf32> -> tensor<?x32xf32>
  %q = hyp.row_sqnorm %u : tensor<?x32xf32> -> tensor<?xf32>
  return %q : tensor<?xf32>
}

// -----

// u keeps its other uses: only the norm is rewritten.
// CHECK-LABEL: func @gram_keeps_u
// CHECK: %[[U:.*]] = hyp.matmul_t
// CHECK: hyp.quad_form
// CHECK: return %[[U]],
func.func @gram_keeps_u(%v: tensor<?x8xf32>, %B: tensor<32x8xf32>) -> (tensor<?x32xf32>, tensor<?xf32>) {
  %u = hyp.matmul_t %v, %B : tensor<?x8xf32>, tensor<32x8xf32> -> tensor<?x32xf32>
  %q = hyp.row_sqnorm %u : tensor<?x32xf32> -> tensor<?xf32>
  return %u, %q : tensor<?x32xf32>, tensor<?xf32>
}
