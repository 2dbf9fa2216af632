// RUN: hyp-opt %s --canonicalize --cse | FileCheck %s
// Every hyp op is free of memory effects (row_map and kernel through their
// bodies), so unused ones are erased and duplicates merged.

// CHECK-LABEL: func @dead
// CHECK-NEXT: return
func.func @dead(%x: tensor<?x8xf32>, %B: tensor<32x8xf32>) {
  %n = hyp.row_sqnorm %x : tensor<?x8xf32> -> tensor<?xf32>
  %c = hyp.row_map (%n : tensor<?xf32>) {
  ^bb0(%a: f32):
    %r = math.sqrt %a : f32
    hyp.yield %r : f32
  } -> tensor<?xf32>
  %G = hyp.kernel "hyp_gram" ins(%B : tensor<32x8xf32>) {
  ^bb0(%b: tensor<32x8xf32>):
    %g = hyp.matmul_tn %b, %b : tensor<32x8xf32>, tensor<32x8xf32> -> tensor<8x8xf32>
    hyp.yield %g : tensor<8x8xf32>
  } -> tensor<8x8xf32>
  return
}

// CHECK-LABEL: func @duplicates
// CHECK: %[[N:.*]] = hyp.row_sqnorm
// CHECK-NOT: hyp.row_sqnorm
// CHECK: %[[R:.*]] = hyp.row_map
// CHECK-NOT: hyp.row_map
// CHECK: return %[[N]], %[[N]], %[[R]], %[[R]]
func.func @duplicates(%x: tensor<?x8xf32>) -> (tensor<?xf32>, tensor<?xf32>, tensor<?xf32>, tensor<?xf32>) {
  %n1 = hyp.row_sqnorm %x : tensor<?x8xf32> -> tensor<?xf32>
  %n2 = hyp.row_sqnorm %x : tensor<?x8xf32> -> tensor<?xf32>
  %r1 = hyp.row_map (%n1 : tensor<?xf32>) {
  ^bb0(%a: f32):
    %r = math.sqrt %a : f32
    hyp.yield %r : f32
  } -> tensor<?xf32>
  %r2 = hyp.row_map (%n2 : tensor<?xf32>) {
  ^bb0(%a: f32):
    %r = math.sqrt %a : f32
    hyp.yield %r : f32
  } -> tensor<?xf32>
  return %n1, %n2, %r1, %r2 : tensor<?xf32>, tensor<?xf32>, tensor<?xf32>, tensor<?xf32>
}
