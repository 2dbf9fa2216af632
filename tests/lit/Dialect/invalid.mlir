// RUN: hyp-opt %s -split-input-file -verify-diagnostics --allow-unregistered-dialect
// One case per verifier message of the hyp dialect.

func.func @lorentz_inner_rows(%x: tensor<4x5xf32>) -> tensor<3xf32> {
  // expected-error @+1 {{expects the result to have one row per row of x: got 3 vs 4}}
  %0 = hyp.lorentz_inner %x, %x : tensor<4x5xf32> -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @expmap0_time_column(%v: tensor<?x4xf32>, %K: tensor<f32>) -> tensor<?x4xf32> {
  // expected-error @+1 {{expects the result to have one more column than v (the time coordinate): got 4 vs 5}}
  %0 = hyp.expmap0 %v, %K : tensor<?x4xf32>, tensor<f32> -> tensor<?x4xf32>
  return %0 : tensor<?x4xf32>
}

// -----

func.func @expmap0_rows(%v: tensor<2x4xf32>, %K: tensor<f32>) -> tensor<3x5xf32> {
  // expected-error @+1 {{expects the result to have one row per row of v: got 3 vs 2}}
  %0 = hyp.expmap0 %v, %K : tensor<2x4xf32>, tensor<f32> -> tensor<3x5xf32>
  return %0 : tensor<3x5xf32>
}

// -----

func.func @logmap0_time_column(%x: tensor<?x5xf32>, %K: tensor<f32>) -> tensor<?x5xf32> {
  // expected-error @+1 {{expects x to have one more column than the result (the time coordinate): got 5 vs 6}}
  %0 = hyp.logmap0 %x, %K : tensor<?x5xf32>, tensor<f32> -> tensor<?x5xf32>
  return %0 : tensor<?x5xf32>
}

// -----

func.func @logmap0_rows(%x: tensor<2x5xf32>, %K: tensor<f32>) -> tensor<3x4xf32> {
  // expected-error @+1 {{expects the result to have one row per row of x: got 3 vs 2}}
  %0 = hyp.logmap0 %x, %K : tensor<2x5xf32>, tensor<f32> -> tensor<3x4xf32>
  return %0 : tensor<3x4xf32>
}

// -----

func.func @distance_rows(%x: tensor<2x5xf32>, %K: tensor<f32>) -> tensor<3xf32> {
  // expected-error @+1 {{expects the result to have one row per row of x: got 3 vs 2}}
  %0 = hyp.distance %x, %x, %K : tensor<2x5xf32>, tensor<f32> -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @distance_types(%x: tensor<?x5xf32>, %y: tensor<?x6xf32>, %K: tensor<f32>) -> tensor<?xf32> {
  // expected-error @+1 {{failed to verify that all of {x, y} have same type}}
  %0 = "hyp.distance"(%x, %y, %K) : (tensor<?x5xf32>, tensor<?x6xf32>, tensor<f32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}

// -----

func.func @lowrank_A(%x: tensor<?x65xf32>, %A: tensor<8x63xf32>, %B: tensor<32x8xf32>, %K: tensor<f32>) -> tensor<?x33xf32> {
  // expected-error @+1 {{expects operand #1 (A) to have one column per space coordinate of x: got 63 vs 64}}
  %0 = hyp.lorentz_lowrank %x, %A, %B, %K : (tensor<?x65xf32>, tensor<8x63xf32>, tensor<32x8xf32>, tensor<f32>) -> tensor<?x33xf32>
  return %0 : tensor<?x33xf32>
}

// -----

func.func @lowrank_B(%x: tensor<?x65xf32>, %A: tensor<8x64xf32>, %B: tensor<32x4xf32>, %K: tensor<f32>) -> tensor<?x33xf32> {
  // expected-error @+1 {{expects operand #2 (B) to have as many columns as A has rows (the rank): got 4 vs 8}}
  %0 = hyp.lorentz_lowrank %x, %A, %B, %K : (tensor<?x65xf32>, tensor<8x64xf32>, tensor<32x4xf32>, tensor<f32>) -> tensor<?x33xf32>
  return %0 : tensor<?x33xf32>
}

// -----

func.func @lowrank_result(%x: tensor<?x65xf32>, %A: tensor<8x64xf32>, %B: tensor<32x8xf32>, %K: tensor<f32>) -> tensor<?x32xf32> {
  // expected-error @+1 {{expects the result to have one more column than B has rows (the time coordinate): got 32 vs 33}}
  %0 = hyp.lorentz_lowrank %x, %A, %B, %K : (tensor<?x65xf32>, tensor<8x64xf32>, tensor<32x8xf32>, tensor<f32>) -> tensor<?x32xf32>
  return %0 : tensor<?x32xf32>
}

// -----

func.func @lowrank_rows(%x: tensor<2x65xf32>, %A: tensor<8x64xf32>, %B: tensor<32x8xf32>, %K: tensor<f32>) -> tensor<3x33xf32> {
  // expected-error @+1 {{expects the result to have one row per row of x: got 3 vs 2}}
  %0 = hyp.lorentz_lowrank %x, %A, %B, %K : (tensor<2x65xf32>, tensor<8x64xf32>, tensor<32x8xf32>, tensor<f32>) -> tensor<3x33xf32>
  return %0 : tensor<3x33xf32>
}

// -----

func.func @adapter_scaling(%x: tensor<?x64xf32>, %A: tensor<8x64xf32>, %B: tensor<32x8xf32>, %k: tensor<f32>, %s: tensor<f32>, %y0: tensor<?x32xf32>) {
  // expected-error @+1 {{expects a finite scaling: got INF}}
  %y, %w, %st = hyp.adapter %x, %A, %B, %k, %s, %y0 {variant = #hyp.variant<hyplora>, scaling = 0x7F800000 : f32}
      : (tensor<?x64xf32>, tensor<8x64xf32>, tensor<32x8xf32>, tensor<f32>, tensor<f32>, tensor<?x32xf32>) -> (tensor<?x32xf32>, tensor<?x8xf32>, tensor<?x4xf32>)
  return
}

// -----

func.func @adapter_eps(%x: tensor<?x64xf32>, %A: tensor<8x64xf32>, %B: tensor<32x8xf32>, %k: tensor<f32>, %s: tensor<f32>, %y0: tensor<?x32xf32>) {
  // expected-error @+1 {{expects max_sinh_arg to be positive and finite: got -1}}
  %y, %w, %st = hyp.adapter %x, %A, %B, %k, %s, %y0 {variant = #hyp.variant<hyplora>, scaling = 1.0 : f32, max_sinh_arg = -1.0 : f32}
      : (tensor<?x64xf32>, tensor<8x64xf32>, tensor<32x8xf32>, tensor<f32>, tensor<f32>, tensor<?x32xf32>) -> (tensor<?x32xf32>, tensor<?x8xf32>, tensor<?x4xf32>)
  return
}

// -----

func.func @adapter_param_dtype(%x: tensor<?x64xbf16>, %A: tensor<8x64xbf16>, %B: tensor<32x8xf32>, %k: tensor<f32>, %s: tensor<f32>, %y0: tensor<?x32xbf16>) {
  // expected-error @+1 {{expects the parameters A and B to be f32 or f64 (adapter parameters stay in fp32)}}
  %y, %w, %st = hyp.adapter %x, %A, %B, %k, %s, %y0 {variant = #hyp.variant<hyplora>, scaling = 1.0 : f32}
      : (tensor<?x64xbf16>, tensor<8x64xbf16>, tensor<32x8xf32>, tensor<f32>, tensor<f32>, tensor<?x32xbf16>) -> (tensor<?x32xbf16>, tensor<?x8xf32>, tensor<?x4xf32>)
  return
}

// -----

func.func @adapter_inner_dim(%x: tensor<?x576xbf16>, %A: tensor<32x512xf32>, %B: tensor<192x32xf32>, %k: tensor<f32>, %s: tensor<f32>, %y0: tensor<?x192xbf16>) {
  // expected-error @+1 {{expects operand A to have the same inner dimension as x: got 512 vs 576}}
  %y, %w, %st = hyp.adapter %x, %A, %B, %k, %s, %y0 {variant = #hyp.variant<hyplora>, scaling = 1.0 : f32}
      : (tensor<?x576xbf16>, tensor<32x512xf32>, tensor<192x32xf32>, tensor<f32>, tensor<f32>, tensor<?x192xbf16>) -> (tensor<?x192xbf16>, tensor<?x32xf32>, tensor<?x4xf32>)
  return
}

// -----

func.func @adapter_rank(%x: tensor<?x64xf32>, %A: tensor<8x64xf32>, %B: tensor<32x16xf32>, %k: tensor<f32>, %s: tensor<f32>, %y0: tensor<?x32xf32>) {
  // expected-error @+1 {{expects operand B to have as many columns as A has rows (the rank): got 16 vs 8}}
  %y, %w, %st = hyp.adapter %x, %A, %B, %k, %s, %y0 {variant = #hyp.variant<hyplora>, scaling = 1.0 : f32}
      : (tensor<?x64xf32>, tensor<8x64xf32>, tensor<32x16xf32>, tensor<f32>, tensor<f32>, tensor<?x32xf32>) -> (tensor<?x32xf32>, tensor<?x8xf32>, tensor<?x4xf32>)
  return
}

// -----

func.func @adapter_w_dtype(%x: tensor<?x64xbf16>, %A: tensor<8x64xf32>, %B: tensor<32x8xf32>, %k: tensor<f32>, %s: tensor<f32>, %y0: tensor<?x32xbf16>) {
  // expected-error @+1 {{expects w and stats to be f32 or f64}}
  %y, %w, %st = hyp.adapter %x, %A, %B, %k, %s, %y0 {variant = #hyp.variant<hyplora>, scaling = 1.0 : f32}
      : (tensor<?x64xbf16>, tensor<8x64xf32>, tensor<32x8xf32>, tensor<f32>, tensor<f32>, tensor<?x32xbf16>) -> (tensor<?x32xbf16>, tensor<?x8xbf16>, tensor<?x4xf32>)
  return
}

// -----

func.func @adapter_w_rows(%x: tensor<4x64xf32>, %A: tensor<8x64xf32>, %B: tensor<32x8xf32>, %k: tensor<f32>, %s: tensor<f32>, %y0: tensor<4x32xf32>) {
  // expected-error @+1 {{expects w to have one row per row of x: got 5 vs 4}}
  %y, %w, %st = hyp.adapter %x, %A, %B, %k, %s, %y0 {variant = #hyp.variant<hyplora>, scaling = 1.0 : f32}
      : (tensor<4x64xf32>, tensor<8x64xf32>, tensor<32x8xf32>, tensor<f32>, tensor<f32>, tensor<4x32xf32>) -> (tensor<4x32xf32>, tensor<5x8xf32>, tensor<4x4xf32>)
  return
}

// -----

func.func @adapter_w_cols(%x: tensor<?x64xf32>, %A: tensor<8x64xf32>, %B: tensor<32x8xf32>, %k: tensor<f32>, %s: tensor<f32>, %y0: tensor<?x32xf32>) {
  // expected-error @+1 {{expects w to have one column per rank (rows of A): got 16 vs 8}}
  %y, %w, %st = hyp.adapter %x, %A, %B, %k, %s, %y0 {variant = #hyp.variant<hyplora>, scaling = 1.0 : f32}
      : (tensor<?x64xf32>, tensor<8x64xf32>, tensor<32x8xf32>, tensor<f32>, tensor<f32>, tensor<?x32xf32>) -> (tensor<?x32xf32>, tensor<?x16xf32>, tensor<?x4xf32>)
  return
}

// -----

func.func @adapter_stats_rows(%x: tensor<4x64xf32>, %A: tensor<8x64xf32>, %B: tensor<32x8xf32>, %k: tensor<f32>, %s: tensor<f32>, %y0: tensor<4x32xf32>) {
  // expected-error @+1 {{expects stats to have one row per row of x: got 2 vs 4}}
  %y, %w, %st = hyp.adapter %x, %A, %B, %k, %s, %y0 {variant = #hyp.variant<hyplora>, scaling = 1.0 : f32}
      : (tensor<4x64xf32>, tensor<8x64xf32>, tensor<32x8xf32>, tensor<f32>, tensor<f32>, tensor<4x32xf32>) -> (tensor<4x32xf32>, tensor<4x8xf32>, tensor<2x4xf32>)
  return
}

// -----

func.func @adapter_stats_cols(%x: tensor<?x64xf32>, %A: tensor<8x64xf32>, %B: tensor<32x8xf32>, %k: tensor<f32>, %s: tensor<f32>, %y0: tensor<?x32xf32>) {
  // expected-error @+1 {{expects stats to have 4 columns: got 3 vs 4}}
  %y, %w, %st = hyp.adapter %x, %A, %B, %k, %s, %y0 {variant = #hyp.variant<hyplora>, scaling = 1.0 : f32}
      : (tensor<?x64xf32>, tensor<8x64xf32>, tensor<32x8xf32>, tensor<f32>, tensor<f32>, tensor<?x32xf32>) -> (tensor<?x32xf32>, tensor<?x8xf32>, tensor<?x3xf32>)
  return
}

// -----

func.func @adapter_y0_rows(%x: tensor<4x64xf32>, %A: tensor<8x64xf32>, %B: tensor<32x8xf32>, %k: tensor<f32>, %s: tensor<f32>, %y0: tensor<5x32xf32>) {
  // expected-error @+1 {{expects y0 to have one row per row of x: got 5 vs 4}}
  %y, %w, %st = hyp.adapter %x, %A, %B, %k, %s, %y0 {variant = #hyp.variant<hyplora>, scaling = 1.0 : f32}
      : (tensor<4x64xf32>, tensor<8x64xf32>, tensor<32x8xf32>, tensor<f32>, tensor<f32>, tensor<5x32xf32>) -> (tensor<5x32xf32>, tensor<4x8xf32>, tensor<4x4xf32>)
  return
}

// -----

func.func @adapter_y0_cols(%x: tensor<?x64xf32>, %A: tensor<8x64xf32>, %B: tensor<32x8xf32>, %k: tensor<f32>, %s: tensor<f32>, %y0: tensor<?x31xf32>) {
  // expected-error @+1 {{expects y0 to have one column per row of B (out_features): got 31 vs 32}}
  %y, %w, %st = hyp.adapter %x, %A, %B, %k, %s, %y0 {variant = #hyp.variant<hyplora>, scaling = 1.0 : f32}
      : (tensor<?x64xf32>, tensor<8x64xf32>, tensor<32x8xf32>, tensor<f32>, tensor<f32>, tensor<?x31xf32>) -> (tensor<?x31xf32>, tensor<?x8xf32>, tensor<?x4xf32>)
  return
}

// -----

func.func @adapter_bad_variant(%x: tensor<?x64xf32>) {
  // expected-error @+2 {{expected ::mlir::hyp::Variant to be one of: hyplora, hyplora_simplified, lora}}
  // expected-error @+1 {{failed to parse Hyp_VariantAttr parameter 'value'}}
  "test.op"() {variant = #hyp.variant<dora>} : () -> ()
  return
}

// -----

func.func @grad_dy_rows(%dy: tensor<5x32xf32>, %x: tensor<4x64xf32>, %A: tensor<8x64xf32>, %B: tensor<32x8xf32>, %k: tensor<f32>, %s: tensor<f32>, %w: tensor<4x8xf32>, %st: tensor<4x4xf32>, %dx0: tensor<4x64xf32>) {
  // expected-error @+1 {{expects dy to have one row per row of x: got 5 vs 4}}
  %dx, %dA, %dB, %dk, %ds = hyp.adapter_grad %dy, %x, %A, %B, %k, %s, %w, %st, %dx0 {variant = #hyp.variant<hyplora>, scaling = 1.0 : f32}
      : (tensor<5x32xf32>, tensor<4x64xf32>, tensor<8x64xf32>, tensor<32x8xf32>, tensor<f32>, tensor<f32>, tensor<4x8xf32>, tensor<4x4xf32>, tensor<4x64xf32>)
      -> (tensor<4x64xf32>, tensor<8x64xf32>, tensor<32x8xf32>, tensor<f32>, tensor<f32>)
  return
}

// -----

func.func @grad_dy_cols(%dy: tensor<?x31xf32>, %x: tensor<?x64xf32>, %A: tensor<8x64xf32>, %B: tensor<32x8xf32>, %k: tensor<f32>, %s: tensor<f32>, %w: tensor<?x8xf32>, %st: tensor<?x4xf32>, %dx0: tensor<?x64xf32>) {
  // expected-error @+1 {{expects dy to have one column per row of B (out_features): got 31 vs 32}}
  %dx, %dA, %dB, %dk, %ds = hyp.adapter_grad %dy, %x, %A, %B, %k, %s, %w, %st, %dx0 {variant = #hyp.variant<hyplora>, scaling = 1.0 : f32}
      : (tensor<?x31xf32>, tensor<?x64xf32>, tensor<8x64xf32>, tensor<32x8xf32>, tensor<f32>, tensor<f32>, tensor<?x8xf32>, tensor<?x4xf32>, tensor<?x64xf32>)
      -> (tensor<?x64xf32>, tensor<8x64xf32>, tensor<32x8xf32>, tensor<f32>, tensor<f32>)
  return
}

// -----

func.func @grad_dx0_shape(%dy: tensor<?x32xf32>, %x: tensor<?x64xf32>, %A: tensor<8x64xf32>, %B: tensor<32x8xf32>, %k: tensor<f32>, %s: tensor<f32>, %w: tensor<?x8xf32>, %st: tensor<?x4xf32>, %dx0: tensor<?x63xf32>) {
  // expected-error @+1 {{expects dx0 to have the shape of x (dim 1): got 63 vs 64}}
  %dx, %dA, %dB, %dk, %ds = hyp.adapter_grad %dy, %x, %A, %B, %k, %s, %w, %st, %dx0 {variant = #hyp.variant<hyplora>, scaling = 1.0 : f32}
      : (tensor<?x32xf32>, tensor<?x64xf32>, tensor<8x64xf32>, tensor<32x8xf32>, tensor<f32>, tensor<f32>, tensor<?x8xf32>, tensor<?x4xf32>, tensor<?x63xf32>)
      -> (tensor<?x63xf32>, tensor<8x64xf32>, tensor<32x8xf32>, tensor<f32>, tensor<f32>)
  return
}

// -----

func.func @grad_result_types(%dy: tensor<?x32xf32>, %x: tensor<?x64xf32>, %A: tensor<8x64xf32>, %B: tensor<32x8xf32>, %k: tensor<f32>, %s: tensor<f32>, %w: tensor<?x8xf32>, %st: tensor<?x4xf32>, %dx0: tensor<?x64xf32>) {
  // expected-error @+1 {{failed to verify that all of {A, dA} have same type}}
  %dx, %dA, %dB, %dk, %ds = hyp.adapter_grad %dy, %x, %A, %B, %k, %s, %w, %st, %dx0 {variant = #hyp.variant<hyplora>, scaling = 1.0 : f32}
      : (tensor<?x32xf32>, tensor<?x64xf32>, tensor<8x64xf32>, tensor<32x8xf32>, tensor<f32>, tensor<f32>, tensor<?x8xf32>, tensor<?x4xf32>, tensor<?x64xf32>)
      -> (tensor<?x64xf32>, tensor<8x64xf64>, tensor<32x8xf32>, tensor<f32>, tensor<f32>)
  return
}

// -----

func.func @row_sqnorm_rows(%x: tensor<4x64xf32>) -> tensor<3xf32> {
  // expected-error @+1 {{expects the result to have one row per row of x: got 3 vs 4}}
  %0 = hyp.row_sqnorm %x : tensor<4x64xf32> -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @row_sqnorm_result_type(%x: tensor<?x64xf32>) -> tensor<?xbf16> {
  // expected-error @+1 {{result #0 must be 1D tensor of 32-bit float or 64-bit float values}}
  %0 = hyp.row_sqnorm %x : tensor<?x64xf32> -> tensor<?xbf16>
  return %0 : tensor<?xbf16>
}

// -----

func.func @row_dot_shape(%a: tensor<?x8xf32>, %b: tensor<?x9xf32>) -> tensor<?xf32> {
  // expected-error @+1 {{expects a and b to have the same shape (dim 1): got 8 vs 9}}
  %0 = hyp.row_dot %a, %b : tensor<?x8xf32>, tensor<?x9xf32> -> tensor<?xf32>
  return %0 : tensor<?xf32>
}

// -----

func.func @row_dot_rows(%a: tensor<4x8xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{expects the result to have one row per row of a: got 2 vs 4}}
  %0 = hyp.row_dot %a, %a : tensor<4x8xf32>, tensor<4x8xf32> -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @matmul_t_inner(%x: tensor<?x64xf32>, %A: tensor<8x32xf32>) -> tensor<?x8xf32> {
  // expected-error @+1 {{expects b to have the inner dimension of a (a b^T): got 32 vs 64}}
  %0 = hyp.matmul_t %x, %A : tensor<?x64xf32>, tensor<8x32xf32> -> tensor<?x8xf32>
  return %0 : tensor<?x8xf32>
}

// -----

func.func @matmul_t_rows(%x: tensor<4x64xf32>, %A: tensor<8x64xf32>) -> tensor<5x8xf32> {
  // expected-error @+1 {{expects the result to have one row per row of a: got 5 vs 4}}
  %0 = hyp.matmul_t %x, %A : tensor<4x64xf32>, tensor<8x64xf32> -> tensor<5x8xf32>
  return %0 : tensor<5x8xf32>
}

// -----

func.func @matmul_t_cols(%x: tensor<?x64xf32>, %A: tensor<8x64xf32>) -> tensor<?x9xf32> {
  // expected-error @+1 {{expects the result to have one column per row of b: got 9 vs 8}}
  %0 = hyp.matmul_t %x, %A : tensor<?x64xf32>, tensor<8x64xf32> -> tensor<?x9xf32>
  return %0 : tensor<?x9xf32>
}

// -----

func.func @matmul_t_acc_type(%w: tensor<?x8xf32>, %B: tensor<32x8xf32>, %y0: tensor<?x32xf32>) -> tensor<?x32xbf16> {
  // expected-error @+1 {{expects acc to have the element type of the result: got 'tensor<?x32xf32>' vs 'tensor<?x32xbf16>'}}
  %0 = hyp.matmul_t %w, %B acc %y0 : tensor<?x8xf32>, tensor<32x8xf32>, tensor<?x32xf32> -> tensor<?x32xbf16>
  return %0 : tensor<?x32xbf16>
}

// -----

func.func @matmul_t_acc_shape(%w: tensor<4x8xf32>, %B: tensor<32x8xf32>, %y0: tensor<3x32xf32>) -> tensor<4x32xf32> {
  // expected-error @+1 {{expects acc to have the shape of the result (dim 0): got 3 vs 4}}
  %0 = hyp.matmul_t %w, %B acc %y0 : tensor<4x8xf32>, tensor<32x8xf32>, tensor<3x32xf32> -> tensor<4x32xf32>
  return %0 : tensor<4x32xf32>
}

// -----

func.func @matmul_inner(%a: tensor<?x8xf32>, %b: tensor<9x64xf32>) -> tensor<?x64xf32> {
  // expected-error @+1 {{expects b to have one row per column of a (a b): got 9 vs 8}}
  %0 = hyp.matmul %a, %b : tensor<?x8xf32>, tensor<9x64xf32> -> tensor<?x64xf32>
  return %0 : tensor<?x64xf32>
}

// -----

func.func @matmul_rows(%a: tensor<4x8xf32>, %b: tensor<8x64xf32>) -> tensor<5x64xf32> {
  // expected-error @+1 {{expects the result to have one row per row of a: got 5 vs 4}}
  %0 = hyp.matmul %a, %b : tensor<4x8xf32>, tensor<8x64xf32> -> tensor<5x64xf32>
  return %0 : tensor<5x64xf32>
}

// -----

func.func @matmul_cols(%a: tensor<?x8xf32>, %b: tensor<8x64xf32>) -> tensor<?x63xf32> {
  // expected-error @+1 {{expects the result to have the columns of b: got 63 vs 64}}
  %0 = hyp.matmul %a, %b : tensor<?x8xf32>, tensor<8x64xf32> -> tensor<?x63xf32>
  return %0 : tensor<?x63xf32>
}

// -----

func.func @matmul_tn_rows(%a: tensor<4x8xf32>, %b: tensor<5x8xf32>) -> tensor<8x8xf32> {
  // expected-error @+1 {{expects a and b to have the same row count (a^T b): got 5 vs 4}}
  %0 = hyp.matmul_tn %a, %b : tensor<4x8xf32>, tensor<5x8xf32> -> tensor<8x8xf32>
  return %0 : tensor<8x8xf32>
}

// -----

func.func @matmul_tn_result_rows(%a: tensor<?x8xf32>, %b: tensor<?x16xf32>) -> tensor<16x16xf32> {
  // expected-error @+1 {{expects the result to have one row per column of a: got 16 vs 8}}
  %0 = hyp.matmul_tn %a, %b : tensor<?x8xf32>, tensor<?x16xf32> -> tensor<16x16xf32>
  return %0 : tensor<16x16xf32>
}

// -----

func.func @matmul_tn_result_cols(%a: tensor<?x8xf32>, %b: tensor<?x16xf32>) -> tensor<8x8xf32> {
  // expected-error @+1 {{expects the result to have one column per column of b: got 8 vs 16}}
  %0 = hyp.matmul_tn %a, %b : tensor<?x8xf32>, tensor<?x16xf32> -> tensor<8x8xf32>
  return %0 : tensor<8x8xf32>
}

// -----

func.func @quad_form_square(%v: tensor<?x8xf32>, %G: tensor<8x9xf32>) -> tensor<?xf32> {
  // expected-error @+1 {{expects G to be square: got 9 vs 8}}
  %0 = hyp.quad_form %v, %G : tensor<?x8xf32>, tensor<8x9xf32> -> tensor<?xf32>
  return %0 : tensor<?xf32>
}

// -----

func.func @quad_form_dim(%v: tensor<?x8xf32>, %G: tensor<9x9xf32>) -> tensor<?xf32> {
  // expected-error @+1 {{expects G to have one row per column of v: got 9 vs 8}}
  %0 = hyp.quad_form %v, %G : tensor<?x8xf32>, tensor<9x9xf32> -> tensor<?xf32>
  return %0 : tensor<?xf32>
}

// -----

func.func @quad_form_rows(%v: tensor<4x8xf32>, %G: tensor<8x8xf32>) -> tensor<3xf32> {
  // expected-error @+1 {{expects the result to have one row per row of v: got 3 vs 4}}
  %0 = hyp.quad_form %v, %G : tensor<4x8xf32>, tensor<8x8xf32> -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @row_scale_rows(%x: tensor<4x8xf32>, %c: tensor<3xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{expects c to have one entry per row of x: got 3 vs 4}}
  %0 = hyp.row_scale %x, %c : tensor<4x8xf32>, tensor<3xf32> -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @row_scale_shape(%x: tensor<?x8xf32>, %c: tensor<?xf32>) -> tensor<?x9xf32> {
  // expected-error @+1 {{expects the result to have the shape of x (dim 1): got 9 vs 8}}
  %0 = hyp.row_scale %x, %c : tensor<?x8xf32>, tensor<?xf32> -> tensor<?x9xf32>
  return %0 : tensor<?x9xf32>
}

// -----

func.func @add_types(%a: tensor<?x8xf32>, %b: tensor<?x8xf64>) -> tensor<?x8xf32> {
  // expected-error @+1 {{requires the same type for all operands and results}}
  %0 = "hyp.add"(%a, %b) : (tensor<?x8xf32>, tensor<?x8xf64>) -> tensor<?x8xf32>
  return %0 : tensor<?x8xf32>
}

// -----

func.func @reduce_rows_type(%t: tensor<?xf32>) -> tensor<f64> {
  // expected-error @+1 {{expects the result element type to match the input: got 'f64' vs 'f32'}}
  %0 = hyp.reduce_rows %t : tensor<?xf32> -> tensor<f64>
  return %0 : tensor<f64>
}

// -----

func.func @pack_cols_empty() -> tensor<?x0xf32> {
  // expected-error @+1 {{expects at least one column}}
  %0 = "hyp.pack_cols"() : () -> tensor<?x0xf32>
  return %0 : tensor<?x0xf32>
}

// -----

func.func @pack_cols_count(%a: tensor<?xf32>) -> tensor<?x4xf32> {
  // expected-error @+1 {{expects the result to have one column per operand: got 4 vs 2}}
  %0 = hyp.pack_cols %a, %a : tensor<?xf32>, tensor<?xf32> -> tensor<?x4xf32>
  return %0 : tensor<?x4xf32>
}

// -----

func.func @pack_cols_rows(%a: tensor<4xf32>) -> tensor<5x1xf32> {
  // expected-error @+1 {{expects the result to have one row per row of every column: got 5 vs 4}}
  %0 = hyp.pack_cols %a : tensor<4xf32> -> tensor<5x1xf32>
  return %0 : tensor<5x1xf32>
}

// -----

func.func @extract_col_index(%st: tensor<?x4xf32>) -> tensor<?xf32> {
  // expected-error @+1 {{expects column index in [0, 4): got 4}}
  %0 = hyp.extract_col %st[4] : tensor<?x4xf32> -> tensor<?xf32>
  return %0 : tensor<?xf32>
}

// -----

func.func @extract_col_rows(%st: tensor<3x4xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{expects the result to have one row per row of the input: got 2 vs 3}}
  %0 = hyp.extract_col %st[1] : tensor<3x4xf32> -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @cast_shape(%x: tensor<?x8xf32>) -> tensor<?x9xbf16> {
  // expected-error @+1 {{expects the result to have the shape of the input (dim 1): got 9 vs 8}}
  %0 = hyp.cast %x : tensor<?x8xf32> to tensor<?x9xbf16>
  return %0 : tensor<?x9xbf16>
}

// -----

func.func @cast_rank(%x: tensor<?x8xf32>) -> tensor<?xf32> {
  // expected-error @+1 {{expects the result to have the shape of the input: got rank 1 vs 2}}
  %0 = hyp.cast %x : tensor<?x8xf32> to tensor<?xf32>
  return %0 : tensor<?xf32>
}

// -----

func.func @row_map_no_rows(%k: tensor<f32>) -> tensor<?xf32> {
  // expected-error @+1 {{expects at least one per-row operand (it gives the row count)}}
  %0 = "hyp.row_map"(%k) ({
  ^bb0(%a: f32):
    hyp.yield %a : f32
  }) {operandSegmentSizes = array<i32: 0, 1>} : (tensor<f32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}

// -----

func.func @row_map_operand_rows(%a: tensor<4xf32>, %b: tensor<5xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{expects every per-row operand to have the same row count: got 5 vs 4}}
  %0 = hyp.row_map (%a, %b : tensor<4xf32>, tensor<5xf32>) {
  ^bb0(%x: f32, %y: f32):
    hyp.yield %x : f32
  } -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @row_map_result_rows(%a: tensor<4xf32>) -> tensor<5xf32> {
  // expected-error @+1 {{expects every result to have the row count of the operands: got 5 vs 4}}
  %0 = hyp.row_map (%a : tensor<4xf32>) {
  ^bb0(%x: f32):
    hyp.yield %x : f32
  } -> tensor<5xf32>
  return %0 : tensor<5xf32>
}

// -----

func.func @row_map_arg_count(%a: tensor<?xf32>, %k: tensor<f32>) -> tensor<?xf32> {
  // expected-error @+1 {{expects the body to have one f32 argument per operand: got 1 vs 2}}
  %0 = hyp.row_map (%a : tensor<?xf32>) scalars(%k : tensor<f32>) {
  ^bb0(%x: f32):
    hyp.yield %x : f32
  } -> tensor<?xf32>
  return %0 : tensor<?xf32>
}

// -----

func.func @row_map_arg_type(%a: tensor<?xf32>) -> tensor<?xf32> {
  // expected-error @+1 {{expects body argument #0 to have the element type 'f32' of its operand: got 'f64'}}
  %0 = hyp.row_map (%a : tensor<?xf32>) {
  ^bb0(%x: f64):
    %t = arith.truncf %x : f64 to f32
    hyp.yield %t : f32
  } -> tensor<?xf32>
  return %0 : tensor<?xf32>
}

// -----

func.func @row_map_foreign_op(%a: tensor<?xf32>) -> tensor<?xf32> {
  %0 = hyp.row_map (%a : tensor<?xf32>) {
  ^bb0(%x: f32):
    // expected-error @+1 {{is not allowed in a hyp.row_map body (only arith/math scalar ops)}}
    %t = "test.foreign"(%x) : (f32) -> f32
    hyp.yield %t : f32
  } -> tensor<?xf32>
  return %0 : tensor<?xf32>
}

// -----

func.func @row_map_vector_value(%a: tensor<?xf32>) -> tensor<?xf32> {
  %0 = hyp.row_map (%a : tensor<?xf32>) {
  ^bb0(%x: f32):
    // expected-error @+1 {{in a hyp.row_map body must produce scalars: got 'vector<2xf32>'}}
    %v = arith.constant dense<1.0> : vector<2xf32>
    hyp.yield %x : f32
  } -> tensor<?xf32>
  return %0 : tensor<?xf32>
}

// -----

func.func @row_map_yield_count(%a: tensor<?xf32>) -> tensor<?xf32> {
  // expected-error @+1 {{expects the body to yield one scalar per result: got 2 vs 1}}
  %0 = hyp.row_map (%a : tensor<?xf32>) {
  ^bb0(%x: f32):
    hyp.yield %x, %x : f32, f32
  } -> tensor<?xf32>
  return %0 : tensor<?xf32>
}

// -----

func.func @row_map_yield_type(%a: tensor<?xf32>) -> tensor<?xf32> {
  // expected-error @+1 {{expects yielded value #0 to have the element type 'f32' of its result: got 'f64'}}
  %0 = hyp.row_map (%a : tensor<?xf32>) {
  ^bb0(%x: f32):
    %e = arith.extf %x : f32 to f64
    hyp.yield %e : f64
  } -> tensor<?xf32>
  return %0 : tensor<?xf32>
}

// -----

func.func @row_map_isolated(%a: tensor<?xf32>, %c: f32) -> tensor<?xf32> {
  // expected-note @+1 {{required by region isolation constraints}}
  %0 = hyp.row_map (%a : tensor<?xf32>) {
  ^bb0(%x: f32):
    // expected-error @+1 {{using value defined outside the region}}
    %t = arith.addf %x, %c : f32
    hyp.yield %t : f32
  } -> tensor<?xf32>
  return %0 : tensor<?xf32>
}

// -----

func.func @kernel_name(%B: tensor<32x8xf32>) -> tensor<8x8xf32> {
  // expected-error @+1 {{expects a non-empty kernel name}}
  %G = hyp.kernel "" ins(%B : tensor<32x8xf32>) {
  ^bb0(%b: tensor<32x8xf32>):
    %g = hyp.matmul_tn %b, %b : tensor<32x8xf32>, tensor<32x8xf32> -> tensor<8x8xf32>
    hyp.yield %g : tensor<8x8xf32>
  } -> tensor<8x8xf32>
  return %G : tensor<8x8xf32>
}

// -----

func.func @kernel_arg_count(%B: tensor<32x8xf32>) -> tensor<8x8xf32> {
  // expected-error @+1 {{expects the body to have one argument per input: got 2 vs 1}}
  %G = hyp.kernel "hyp_gram" ins(%B : tensor<32x8xf32>) {
  ^bb0(%b: tensor<32x8xf32>, %c: tensor<32x8xf32>):
    %g = hyp.matmul_tn %b, %c : tensor<32x8xf32>, tensor<32x8xf32> -> tensor<8x8xf32>
    hyp.yield %g : tensor<8x8xf32>
  } -> tensor<8x8xf32>
  return %G : tensor<8x8xf32>
}

// -----

func.func @kernel_arg_type(%B: tensor<32x8xf32>) -> tensor<8x8xf32> {
  // expected-error @+1 {{expects body argument #0 to have the type of its input: got 'tensor<?x8xf32>' vs 'tensor<32x8xf32>'}}
  %G = hyp.kernel "hyp_gram" ins(%B : tensor<32x8xf32>) {
  ^bb0(%b: tensor<?x8xf32>):
    %g = hyp.matmul_tn %b, %b : tensor<?x8xf32>, tensor<?x8xf32> -> tensor<8x8xf32>
    hyp.yield %g : tensor<8x8xf32>
  } -> tensor<8x8xf32>
  return %G : tensor<8x8xf32>
}

// -----

func.func @kernel_yield(%B: tensor<32x8xf32>) -> tensor<8x8xf32> {
  // expected-error @+1 {{expects the body to yield the result types}}
  %G = hyp.kernel "hyp_gram" ins(%B : tensor<32x8xf32>) {
  ^bb0(%b: tensor<32x8xf32>):
    hyp.yield %b : tensor<32x8xf32>
  } -> tensor<8x8xf32>
  return %G : tensor<8x8xf32>
}

// -----

func.func @kernel_isolated(%B: tensor<32x8xf32>) -> tensor<8x8xf32> {
  // expected-note @+1 {{required by region isolation constraints}}
  %G = hyp.kernel "hyp_gram" ins() {
    // expected-error @+1 {{using value defined outside the region}}
    %g = hyp.matmul_tn %B, %B : tensor<32x8xf32>, tensor<32x8xf32> -> tensor<8x8xf32>
    hyp.yield %g : tensor<8x8xf32>
  } -> tensor<8x8xf32>
  return %G : tensor<8x8xf32>
}

// -----

func.func @yield_parent() {
  // expected-error @+1 {{expects parent op to be one of 'hyp.row_map, hyp.kernel'}}
  hyp.yield
}
