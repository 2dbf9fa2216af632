// RUN: hyp-opt %s -split-input-file -verify-diagnostics --hyp-expand-adapter --hyp-derive-backward
// The row-math type is the element type of k and s: they must agree.

func.func @forward_mixed_scalars(%x: tensor<?x64xf32>, %A: tensor<8x64xf32>, %B: tensor<32x8xf32>, %k: tensor<f32>, %s: tensor<f64>, %y0: tensor<?x32xf32>) {
  // expected-error @+1 {{expects k and s to have the same element type (it is the row-math type)}}
  %y, %w, %st = hyp.adapter %x, %A, %B, %k, %s, %y0 {variant = #hyp.variant<hyplora>, scaling = 1.0 : f32}
      : (tensor<?x64xf32>, tensor<8x64xf32>, tensor<32x8xf32>, tensor<f32>, tensor<f64>, tensor<?x32xf32>) -> (tensor<?x32xf32>, tensor<?x8xf32>, tensor<?x4xf32>)
  return
}

// -----

func.func @backward_mixed_scalars(%dy: tensor<?x32xf32>, %x: tensor<?x64xf32>, %A: tensor<8x64xf32>, %B: tensor<32x8xf32>, %k: tensor<f64>, %s: tensor<f32>,
                                  %w: tensor<?x8xf32>, %st: tensor<?x4xf32>, %dx0: tensor<?x64xf32>) {
  // expected-error @+1 {{expects k and s to have the same element type (it is the row-math type)}}
  %dx, %dA, %dB, %dk, %ds = hyp.adapter_grad %dy, %x, %A, %B, %k, %s, %w, %st, %dx0 {variant = #hyp.variant<hyplora>, scaling = 1.0 : f32}
      : (tensor<?x32xf32>, tensor<?x64xf32>, tensor<8x64xf32>, tensor<32x8xf32>, tensor<f64>, tensor<f32>, tensor<?x8xf32>, tensor<?x4xf32>, tensor<?x64xf32>)
      -> (tensor<?x64xf32>, tensor<8x64xf32>, tensor<32x8xf32>, tensor<f64>, tensor<f32>)
  return
}
