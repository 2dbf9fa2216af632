// RUN: hyp-opt %s -split-input-file --hyp-group-kernels="dy-pass=1" | FileCheck %s
// RUN: hyp-opt %s -split-input-file --hyp-group-kernels | FileCheck %s --check-prefix=TWO

// dy-pass=1: the column sum over the wide dY (dY^T w) takes the row product
// P = dY B, so dY is read once (hyp_bwd_dy_pass); the row chain rule on P is
// hyp_bwd_rows (with the sums R and dk after its row loop); dB = dY^T w +
// B (R + 2) needs every row's R, so it is a kernel of its own after the rows
// (hyp_bwd_db_gram); dx and dA share the read of x as before.
// CHECK-LABEL: func @backward
// CHECK-SAME: hyp.kernels = ["hyp_bwd_dy_pass", "hyp_bwd_rows", "hyp_bwd_db_gram", "hyp_bwd_dx"]
// CHECK: %[[PASS:.*]]:2 = hyp.kernel "hyp_bwd_dy_pass" ins(%{{.*}}, %{{.*}}, %{{.*}} : tensor<?x32xf32>, tensor<32x8xf32>, tensor<?x8xf32>) {
// CHECK-NEXT: ^bb0
// CHECK-NEXT: hyp.matmul %{{.*}}, %{{.*}} : tensor<?x32xf32>, tensor<32x8xf32> -> tensor<?x8xf32>
// CHECK-NEXT: hyp.matmul_tn %{{.*}}, %{{.*}} : tensor<?x32xf32>, tensor<?x8xf32> -> tensor<32x8xf32>
// CHECK-NEXT: hyp.yield
// CHECK: %[[ROWS:.*]]:{{[0-9]+}} = hyp.kernel "hyp_bwd_rows" ins(%[[PASS]]#0, {{.*}}) {
// CHECK-NOT: tensor<?x32xf32>
// CHECK: hyp.row_dot
// CHECK: hyp.matmul_tn %{{.*}}, %{{.*}} : tensor<?x8xf32>, tensor<?x8xf32> -> tensor<8x8xf32>
// CHECK: hyp.reduce_rows
// CHECK: hyp.kernel "hyp_bwd_db_gram" ins({{.*}}%[[PASS]]#1{{.*}}) {
// CHECK-NOT: hyp.matmul_tn
// CHECK: hyp.matmul %{{.*}}, %{{.*}} : tensor<32x8xf32>, tensor<8x8xf32> -> tensor<32x8xf32>
// CHECK: hyp.add
// CHECK: hyp.kernel "hyp_bwd_dx"
// CHECK: hyp.matmul_tn %{{.*}}, %{{.*}} : tensor<?x8xf32>, tensor<?x64xf32> -> tensor<8x64xf32>
// Without the option: two reads of dY (hyp_bwd_dy with P, hyp_bwd_db with dY^T w + B R).
// TWO-LABEL: func @backward
// TWO-SAME: hyp.kernels = ["hyp_bwd_dy", "hyp_bwd_db", "hyp_bwd_dx"]
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

// LoRA's backward: P scaled per row is dH; no B R term, so no hyp_bwd_db_gram.
// CHECK-LABEL: func @lora_backward
// CHECK-SAME: hyp.kernels = ["hyp_bwd_dy_pass", "hyp_bwd_rows", "hyp_bwd_dx"]
// CHECK: hyp.kernel "hyp_bwd_rows"
// CHECK-NEXT: ^bb0
// CHECK-NEXT: hyp.row_scale
// CHECK-NEXT: hyp.yield
// TWO-LABEL: func @lora_backward
// TWO-SAME: hyp.kernels = ["hyp_bwd_dy", "hyp_bwd_db", "hyp_bwd_dx"]
func.func @lora_backward(%dy: tensor<?x32xf32>, %x: tensor<?x64xf32>, %A: tensor<8x64xf32>, %B: tensor<32x8xf32>, %w: tensor<?x8xf32>, %f: tensor<?xf32>, %dx0: tensor<?x64xf32>)
    -> (tensor<?x64xf32>, tensor<8x64xf32>, tensor<32x8xf32>) attributes {hyp.program = "backward"} {
  %P = hyp.matmul %dy, %B : tensor<?x32xf32>, tensor<32x8xf32> -> tensor<?x8xf32>
  %dH = hyp.row_scale %P, %f : tensor<?x8xf32>, tensor<?xf32> -> tensor<?x8xf32>
  %dB = hyp.matmul_tn %dy, %w : tensor<?x32xf32>, tensor<?x8xf32> -> tensor<32x8xf32>
  %dx = hyp.matmul %dH, %A acc %dx0 : tensor<?x8xf32>, tensor<8x64xf32>, tensor<?x64xf32> -> tensor<?x64xf32>
  %dA = hyp.matmul_tn %dH, %x : tensor<?x8xf32>, tensor<?x64xf32> -> tensor<8x64xf32>
  return %dx, %dA, %dB : tensor<?x64xf32>, tensor<8x64xf32>, tensor<32x8xf32>
}

// -----

// Negative: a column sum that joins an update kernel (dA = dH^T x beside
// dx = dx0 + dH A, one read of x) keeps its place even with dy-pass=1, and a
// row product of that wide argument (x C) stays in its row kernel: nothing is
// a one pass, so the names are the two-pass ones.
// CHECK-LABEL: func @joined
// CHECK-SAME: hyp.kernels = ["hyp_bwd_dy", "hyp_bwd_dx"]
// CHECK: hyp.kernel "hyp_bwd_dy"
// CHECK: hyp.matmul %{{.*}}, %{{.*}} : tensor<?x64xf32>, tensor<64x8xf32> -> tensor<?x8xf32>
// CHECK: hyp.kernel "hyp_bwd_dx"
// CHECK: hyp.matmul_tn %{{.*}}, %{{.*}} : tensor<?x8xf32>, tensor<?x64xf32> -> tensor<8x64xf32>
// TWO-LABEL: func @joined
// TWO-SAME: hyp.kernels = ["hyp_bwd_dy", "hyp_bwd_dx"]
func.func @joined(%x: tensor<?x64xf32>, %A: tensor<8x64xf32>, %C: tensor<64x8xf32>, %dx0: tensor<?x64xf32>)
    -> (tensor<?x64xf32>, tensor<8x64xf32>) attributes {hyp.program = "backward"} {
  %dH = hyp.matmul %x, %C : tensor<?x64xf32>, tensor<64x8xf32> -> tensor<?x8xf32>
  %dx = hyp.matmul %dH, %A acc %dx0 : tensor<?x8xf32>, tensor<8x64xf32>, tensor<?x64xf32> -> tensor<?x64xf32>
  %dA = hyp.matmul_tn %dH, %x : tensor<?x8xf32>, tensor<?x64xf32> -> tensor<8x64xf32>
  return %dx, %dA : tensor<?x64xf32>, tensor<8x64xf32>
}

// -----

// The forward has no column sum: dy-pass changes nothing there.
// CHECK-LABEL: func @forward
// CHECK-SAME: hyp.kernels = ["hyp_fwd_down", "hyp_fwd_up"]
// TWO-LABEL: func @forward
// TWO-SAME: hyp.kernels = ["hyp_fwd_down", "hyp_fwd_up"]
func.func @forward(%x: tensor<?x64xf32>, %A: tensor<8x64xf32>, %B: tensor<32x8xf32>, %y0: tensor<?x32xf32>)
    -> (tensor<?x32xf32>, tensor<?x8xf32>) attributes {hyp.program = "forward"} {
  %h = hyp.matmul_t %x, %A : tensor<?x64xf32>, tensor<8x64xf32> -> tensor<?x8xf32>
  %y = hyp.matmul_t %h, %B acc %y0 : tensor<?x8xf32>, tensor<32x8xf32>, tensor<?x32xf32> -> tensor<?x32xf32>
  return %y, %h : tensor<?x32xf32>, tensor<?x8xf32>
}
