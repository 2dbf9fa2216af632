// Modules the emitter cannot translate: each gets a diagnostic on the
// offending op, never a crash or a silently wrong kernel.
// RUN: hyp-translate --hyp-to-cuda --split-input-file --verify-diagnostics %s

// A row_map body may hold only ops the row-scalar printer knows.
func.func @adapter_forward(%x: tensor<?x13xf32>, %A: tensor<4x13xf32>, %B: tensor<7x4xf32>, %k: tensor<f32>, %s: tensor<f32>, %y0: tensor<?x7xf32>) -> tensor<?x4xf32> {
  %n2 = hyp.row_sqnorm %x : tensor<?x13xf32> -> tensor<?xf32>
  %c = hyp.row_map (%n2 : tensor<?xf32>) scalars(%k : tensor<f32>) {
  ^bb0(%a: f32, %kk: f32):
    // expected-error @+1 {{hyp-to-cuda: unsupported op 'math.atan' in a hyp.row_map body}}
    %t = math.atan %a : f32
    hyp.yield %t : f32
  } -> tensor<?xf32>
  %stats = hyp.pack_cols %n2, %c, %c, %c : tensor<?xf32>, tensor<?xf32>, tensor<?xf32>, tensor<?xf32> -> tensor<?x4xf32>
  return %stats : tensor<?x4xf32>
}

// -----

// A stage-3 kernel whose body has no anchor op has no loop skeleton.
func.func @adapter_forward(%x: tensor<?x13xf32>, %A: tensor<4x13xf32>, %B: tensor<7x4xf32>, %k: tensor<f32>, %s: tensor<f32>, %y0: tensor<?x7xf32>) -> tensor<?x4xf32> {
  %n2 = hyp.row_sqnorm %x : tensor<?x13xf32> -> tensor<?xf32>
  %c = hyp.row_map (%n2 : tensor<?xf32>) scalars(%k : tensor<f32>) {
  ^bb0(%a: f32, %kk: f32):
    %t = arith.mulf %a, %kk : f32
    hyp.yield %t : f32
  } -> tensor<?xf32>
  // expected-error @+1 {{hyp-to-cuda: hyp.kernel 'hyp_no_anchor' has no anchor op}}
  %d = hyp.kernel "hyp_no_anchor" ins(%c : tensor<?xf32>) {
  ^bb0(%a: tensor<?xf32>):
    %b = hyp.add %a, %a : tensor<?xf32>
    hyp.yield %b : tensor<?xf32>
  } -> tensor<?xf32>
  %stats = hyp.pack_cols %n2, %c, %c, %c : tensor<?xf32>, tensor<?xf32>, tensor<?xf32>, tensor<?xf32> -> tensor<?x4xf32>
  return %stats : tensor<?x4xf32>
}

// -----

// Activations must be f32, bf16 or f16.
// expected-error @+1 {{hyp-to-cuda: unsupported activation element type 'f64'}}
func.func @adapter_forward(%x: tensor<?x13xf64>, %A: tensor<4x13xf32>, %B: tensor<7x4xf32>, %k: tensor<f32>, %s: tensor<f32>, %y0: tensor<?x7xf64>) -> tensor<?x4xf32> {
  %n2 = hyp.row_sqnorm %x : tensor<?x13xf64> -> tensor<?xf32>
  %stats = hyp.pack_cols %n2, %n2, %n2, %n2 : tensor<?xf32>, tensor<?xf32>, tensor<?xf32>, tensor<?xf32> -> tensor<?x4xf32>
  return %stats : tensor<?x4xf32>
}

// -----

// The forward program's signature is (x, A, B, k, s, y0).
// expected-error @+1 {{hyp-to-cuda: the forward program must take (x, A, B, k, s, y0), got 2 arguments}}
func.func @adapter_forward(%x: tensor<?x13xf32>, %k: tensor<f32>) -> tensor<?x4xf32> {
  %n2 = hyp.row_sqnorm %x : tensor<?x13xf32> -> tensor<?xf32>
  %stats = hyp.pack_cols %n2, %n2, %n2, %n2 : tensor<?xf32>, tensor<?xf32>, tensor<?xf32>, tensor<?xf32> -> tensor<?x4xf32>
  return %stats : tensor<?x4xf32>
}

// -----

// Stage 0 has to go through the pipeline first.
// expected-error @+1 {{hyp-to-cuda: the module is still at stage 0 (hyp.adapter); run the pipeline first}}
module {
  func.func @f(%x: tensor<?x13xf32>, %A: tensor<4x13xf32>, %B: tensor<7x4xf32>, %k: tensor<f32>, %s: tensor<f32>, %y0: tensor<?x7xf32>) -> (tensor<?x7xf32>, tensor<?x4xf32>, tensor<?x4xf32>) {
    %y, %w, %stats = hyp.adapter %x, %A, %B, %k, %s, %y0 {variant = #hyp.variant<hyplora>, scaling = 1.0 : f32} : (tensor<?x13xf32>, tensor<4x13xf32>, tensor<7x4xf32>, tensor<f32>, tensor<f32>, tensor<?x7xf32>) -> (tensor<?x7xf32>, tensor<?x4xf32>, tensor<?x4xf32>)
    return %y, %w, %stats : tensor<?x7xf32>, tensor<?x4xf32>, tensor<?x4xf32>
  }
}
