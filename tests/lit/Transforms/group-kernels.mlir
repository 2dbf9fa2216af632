// RUN: hyp-opt %s -split-input-file -verify-diagnostics --hyp-group-kernels | FileCheck %s

// Stage-2 forward: Gram matrix, one read of x (down), the row update (up).
// CHECK-LABEL: func @forward
// CHECK-SAME: hyp.kernels = ["hyp_fwd_gram", "hyp_fwd_down", "hyp_fwd_up"]
// CHECK: %[[G:.*]] = hyp.kernel "hyp_fwd_gram" ins(%[[B:[^ ]*]] : tensor<32x8xf32>) {
// CHECK: hyp.matmul_tn
// CHECK: } -> tensor<8x8xf32>
// CHECK: %[[DOWN:.*]]:2 = hyp.kernel "hyp_fwd_down" ins({{.*}}%[[G]]{{.*}}) {
// CHECK: hyp.row_sqnorm
// CHECK: hyp.matmul_t
// CHECK: hyp.quad_form
// CHECK: hyp.pack_cols
// CHECK: } -> tensor<?x8xf32>, tensor<?x4xf32>
// CHECK: %[[UP:.*]] = hyp.kernel "hyp_fwd_up" ins(%[[DOWN]]#0, %[[B]], %{{.*}} : tensor<?x8xf32>, tensor<32x8xf32>, tensor<?x32xf32>) {
// CHECK-NEXT: ^bb0(%[[W:.*]]: tensor<?x8xf32>, %[[BB:.*]]: tensor<32x8xf32>, %[[Y0:.*]]: tensor<?x32xf32>):
// CHECK-NEXT: %[[Y:.*]] = hyp.matmul_t %[[W]], %[[BB]] acc %[[Y0]]
// CHECK-NEXT: hyp.yield %[[Y]]
// CHECK: return %[[UP]], %[[DOWN]]#0, %[[DOWN]]#1
func.func @forward(%x: tensor<?x64xf32>, %A: tensor<8x64xf32>, %B: tensor<32x8xf32>, %k: tensor<f32>, %y0: tensor<?x32xf32>)
    -> (tensor<?x32xf32>, tensor<?x8xf32>, tensor<?x4xf32>) attributes {hyp.program = "forward"} {
  %n2 = hyp.row_sqnorm %x : tensor<?x64xf32> -> tensor<?xf32>
  %h = hyp.matmul_t %x, %A : tensor<?x64xf32>, tensor<8x64xf32> -> tensor<?x8xf32>
  %G = hyp.matmul_tn %B, %B : tensor<32x8xf32>, tensor<32x8xf32> -> tensor<8x8xf32>
  %q = hyp.quad_form %h, %G : tensor<?x8xf32>, tensor<8x8xf32> -> tensor<?xf32>
  %gs = hyp.row_map (%q : tensor<?xf32>) scalars(%k : tensor<f32>) {
  ^bb0(%a: f32, %kk: f32):
    %r = arith.mulf %a, %kk : f32
    hyp.yield %r : f32
  } -> tensor<?xf32>
  %w = hyp.row_scale %h, %gs : tensor<?x8xf32>, tensor<?xf32> -> tensor<?x8xf32>
  %y = hyp.matmul_t %w, %B acc %y0 : tensor<?x8xf32>, tensor<32x8xf32>, tensor<?x32xf32> -> tensor<?x32xf32>
  %st = hyp.pack_cols %n2, %q, %gs, %gs : tensor<?xf32>, tensor<?xf32>, tensor<?xf32>, tensor<?xf32> -> tensor<?x4xf32>
  return %y, %w, %st : tensor<?x32xf32>, tensor<?x8xf32>, tensor<?x4xf32>
}

// -----

// Backward: dy kernel (P = dY B, row sums R and dk after the row loop), db
// (dY^T w + B (R + 2): after R is complete), dx (dx0 + dH A + beta x and dA = dH^T x
// share the read of x). Constants are cloned into the kernel that uses them.
// CHECK-LABEL: func @backward
// CHECK-SAME: hyp.kernels = ["hyp_bwd_dy", "hyp_bwd_db", "hyp_bwd_dx"]
// CHECK: %[[DY:.*]]:{{[0-9]+}} = hyp.kernel "hyp_bwd_dy"
// CHECK: hyp.matmul %{{.*}}, %{{.*}} : tensor<?x32xf32>, tensor<32x8xf32> -> tensor<?x8xf32>
// CHECK: hyp.matmul_tn %{{.*}}, %{{.*}} : tensor<?x8xf32>, tensor<?x8xf32> -> tensor<8x8xf32>
// CHECK: hyp.reduce_rows
// CHECK: %[[DB:.*]] = hyp.kernel "hyp_bwd_db" ins({{.*}}%[[DY]]#{{.*}}) {
// CHECK: arith.constant dense<2.000000e+00>
// CHECK: hyp.add
// CHECK: hyp.matmul_tn %{{.*}}, %{{.*}} : tensor<?x32xf32>, tensor<?x8xf32> -> tensor<32x8xf32>
// CHECK: hyp.matmul %{{.*}}, %{{.*}} : tensor<32x8xf32>, tensor<8x8xf32> -> tensor<32x8xf32>
// CHECK: hyp.add
// CHECK: %[[DX:.*]]:2 = hyp.kernel "hyp_bwd_dx"
// CHECK: hyp.row_scale %{{.*}}, %{{.*}} : tensor<?x64xf32>, tensor<?xf32> -> tensor<?x64xf32>
// CHECK: hyp.matmul %{{.*}}, %{{.*}} acc
// CHECK: hyp.matmul_tn %{{.*}}, %{{.*}} : tensor<?x8xf32>, tensor<?x64xf32> -> tensor<8x64xf32>
func.func @backward(%dy: tensor<?x32xf32>, %x: tensor<?x64xf32>, %A: tensor<8x64xf32>, %B: tensor<32x8xf32>, %w: tensor<?x8xf32>, %dx0: tensor<?x64xf32>)
    -> (tensor<?x64xf32>, tensor<8x64xf32>, tensor<32x8xf32>, tensor<f32>) attributes {hyp.program = "backward"} {
  %two = arith.constant dense<2.0> : tensor<8x8xf32>
  %P = hyp.matmul %dy, %B : tensor<?x32xf32>, tensor<32x8xf32> -> tensor<?x8xf32>
  %d = hyp.row_dot %P, %w : tensor<?x8xf32>, tensor<?x8xf32> -> tensor<?xf32>
  %dH = hyp.row_scale %P, %d : tensor<?x8xf32>, tensor<?xf32> -> tensor<?x8xf32>
  %R = hyp.matmul_tn %dH, %w : tensor<?x8xf32>, tensor<?x8xf32> -> tensor<8x8xf32>
  %R2 = hyp.add %R, %two : tensor<8x8xf32>
  %dk = hyp.reduce_rows %d : tensor<?xf32> -> tensor<f32>
  %dBw = hyp.matmul_tn %dy, %w : tensor<?x32xf32>, tensor<?x8xf32> -> tensor<32x8xf32>
  %BR = hyp.matmul %B, %R2 : tensor<32x8xf32>, tensor<8x8xf32> -> tensor<32x8xf32>
  %dB = hyp.add %dBw, %BR : tensor<32x8xf32>
  %bx = hyp.row_scale %x, %d : tensor<?x64xf32>, tensor<?xf32> -> tensor<?x64xf32>
  %acc = hyp.add %dx0, %bx : tensor<?x64xf32>
  %dx = hyp.matmul %dH, %A acc %acc : tensor<?x8xf32>, tensor<8x64xf32>, tensor<?x64xf32> -> tensor<?x64xf32>
  %dA = hyp.matmul_tn %dH, %x : tensor<?x8xf32>, tensor<?x64xf32> -> tensor<8x64xf32>
  return %dx, %dA, %dB, %dk : tensor<?x64xf32>, tensor<8x64xf32>, tensor<32x8xf32>, tensor<f32>
}

// -----

// A row op downstream of a sum over all rows (x^T x) needs a grid-wide sync:
// it goes
// to a second row kernel, never into the first. Without hyp.program the
// function name is the program name.
// CHECK-LABEL: func @sync
// CHECK-SAME: hyp.kernels = ["hyp_sync_rows", "hyp_sync_rows1"]
func.func @sync(%x: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %S = hyp.matmul_tn %x, %x : tensor<?x8xf32>, tensor<?x8xf32> -> tensor<8x8xf32>
  %y = hyp.matmul %x, %S : tensor<?x8xf32>, tensor<8x8xf32> -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

// -----

// Grouping is idempotent: an already grouped function is left alone.
// CHECK-LABEL: func @grouped
// CHECK: hyp.kernel "mine"
// CHECK-NOT: hyp.kernels
func.func @grouped(%B: tensor<32x8xf32>) -> tensor<8x8xf32> {
  %G = hyp.kernel "mine" ins(%B : tensor<32x8xf32>) {
  ^bb0(%b: tensor<32x8xf32>):
    %g = hyp.matmul_tn %b, %b : tensor<32x8xf32>, tensor<32x8xf32> -> tensor<8x8xf32>
    hyp.yield %g : tensor<8x8xf32>
  } -> tensor<8x8xf32>
  return %G : tensor<8x8xf32>
}

// -----

// Stage-0 ops must be expanded first.
func.func @unexpanded(%x: tensor<?x4xf32>, %K: tensor<f32>) -> tensor<?x5xf32> {
  // expected-error @+1 {{must be expanded (hyp-expand-adapter / hyp-derive-backward) before hyp-group-kernels}}
  %p = hyp.expmap0 %x, %K : tensor<?x4xf32>, tensor<f32> -> tensor<?x5xf32>
  return %p : tensor<?x5xf32>
}

// -----

// A non-hyp op between hyp ops cannot be kept in order around the kernels.
func.func @foreign_user(%x: tensor<?x8xf32>) -> tensor<?xf32> {
  %n = hyp.row_sqnorm %x : tensor<?x8xf32> -> tensor<?xf32>
  // expected-error @+1 {{hyp-group-kernels: cannot group kernels around this op (it reads a hyp result)}}
  %c = tensor.cast %n : tensor<?xf32> to tensor<?xf32>
  return %c : tensor<?xf32>
}
