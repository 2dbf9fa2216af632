// RUN: hyp-opt %s | hyp-opt | FileCheck %s
// Enum attributes round-trip; attributes equal to their default are elided,
// others are printed.

// CHECK-LABEL: func @defaults
// CHECK: hyp.adapter
// CHECK-SAME: {scaling = 1.000000e+00 : f32, variant = #hyp.variant<hyplora>}
// CHECK-LABEL: func @all_attrs
// CHECK: hyp.adapter
// CHECK-SAME: acosh_eps = 2.000000e-07 : f32
// CHECK-SAME: convention = #hyp.convention<lorentz>
// CHECK-SAME: curvature_eps = 9.99999974E-6 : f32
// CHECK-SAME: max_sinh_arg = 8.000000e+00 : f32
// CHECK-SAME: norm_eps = 9.99999997E-7 : f32
// CHECK-SAME: out_norm_eps = 9.99999997E-7 : f32
// CHECK-SAME: small_th = 1.050000e+00 : f32
// CHECK-SAME: small_th_eps = 9.99999974E-6 : f32
// CHECK-SAME: time_eps = 9.99999974E-6 : f32
// CHECK-SAME: variant = #hyp.variant<hyplora_simplified>
// CHECK-LABEL: func @enum_attrs
// CHECK-SAME: conventions = [#hyp.convention<reference>, #hyp.convention<lorentz>]
// CHECK-SAME: variants = [#hyp.variant<hyplora>, #hyp.variant<hyplora_simplified>, #hyp.variant<lora>]

func.func @defaults(%x: tensor<?x64xf32>, %A: tensor<8x64xf32>, %B: tensor<32x8xf32>, %k: tensor<f32>, %s: tensor<f32>, %y0: tensor<?x32xf32>) {
  %y, %w, %st = hyp.adapter %x, %A, %B, %k, %s, %y0
      {variant = #hyp.variant<hyplora>, convention = #hyp.convention<reference>, scaling = 1.0 : f32,
       max_sinh_arg = 12.0 : f32, small_th = 1.01 : f32}
      : (tensor<?x64xf32>, tensor<8x64xf32>, tensor<32x8xf32>, tensor<f32>, tensor<f32>, tensor<?x32xf32>) -> (tensor<?x32xf32>, tensor<?x8xf32>, tensor<?x4xf32>)
  return
}

func.func @all_attrs(%x: tensor<?x64xf32>, %A: tensor<8x64xf32>, %B: tensor<32x8xf32>, %k: tensor<f32>, %s: tensor<f32>, %y0: tensor<?x32xf32>) {
  %y, %w, %st = hyp.adapter %x, %A, %B, %k, %s, %y0
      {variant = #hyp.variant<hyplora_simplified>, convention = #hyp.convention<lorentz>, scaling = 1.0 : f32,
       max_sinh_arg = 8.0 : f32, norm_eps = 1.0e-6 : f32, curvature_eps = 1.0e-5 : f32, time_eps = 1.0e-5 : f32,
       small_th = 1.05 : f32, small_th_eps = 1.0e-5 : f32, acosh_eps = 2.0e-7 : f32, out_norm_eps = 1.0e-6 : f32}
      : (tensor<?x64xf32>, tensor<8x64xf32>, tensor<32x8xf32>, tensor<f32>, tensor<f32>, tensor<?x32xf32>) -> (tensor<?x32xf32>, tensor<?x8xf32>, tensor<?x4xf32>)
  return
}

func.func @enum_attrs() attributes {
    variants = [#hyp.variant<hyplora>, #hyp.variant<hyplora_simplified>, #hyp.variant<lora>],
    conventions = [#hyp.convention<reference>, #hyp.convention<lorentz>]} {
  return
}
