// RUN: hyp-opt %s -split-input-file --hyp-expand-adapter | FileCheck %s
// The scalar programs must be HYPLORA.md §3 line by line, per variant and
// convention (the numerical pipeline-numeric-*.mlir tests check the values).

// CHECK-LABEL: func @reference
// CHECK-SAME: attributes {hyp.program = "forward"}
// CHECK: %[[N2:.*]] = hyp.row_sqnorm %[[X:.*]] : tensor<?x64xbf16> -> tensor<?xf32>
// CHECK: %[[C:.*]] = hyp.row_map(%[[N2]] : tensor<?xf32>) scalars(%[[K:.*]], %[[S:.*]] : tensor<f32>, tensor<f32>) {
// CHECK-NEXT: ^bb0(%[[n2:.*]]: f32, %[[k:.*]]: f32, %[[s:.*]]: f32):
//   n = max(|x|, 1e-7)
// CHECK-NEXT: %[[EPS:.*]] = arith.constant 1.000000e-07 : f32
// CHECK-NEXT: %[[NORM:.*]] = math.sqrt %[[n2]] : f32
// CHECK-NEXT: %[[N:.*]] = arith.maximumf %[[NORM]], %[[EPS]] : f32
//   K = softplus(k) + 1e-6 (torch's threshold 20)
// CHECK-NEXT: %[[E:.*]] = math.exp %[[k]] : f32
// CHECK-NEXT: %[[L:.*]] = math.log1p %[[E]] : f32
// CHECK-NEXT: %[[T20:.*]] = arith.constant 2.000000e+01 : f32
// CHECK-NEXT: %[[BIG:.*]] = arith.cmpf ogt, %[[k]], %[[T20]] : f32
// CHECK-NEXT: %[[SP:.*]] = arith.select %[[BIG]], %[[k]], %[[L]] : f32
// CHECK-NEXT: %[[CE:.*]] = arith.constant 9.99999997E-7 : f32
// CHECK-NEXT: %[[KK:.*]] = arith.addf %[[SP]], %[[CE]] : f32
// CHECK-NEXT: %[[SS:.*]] = math.sqrt %[[KK]] : f32
//   a = min(n / s / S, 12)
// CHECK-NEXT: %[[MAXA:.*]] = arith.constant 1.200000e+01 : f32
// CHECK-NEXT: %[[NS:.*]] = arith.divf %[[N]], %[[s]] : f32
// CHECK-NEXT: %[[NSS:.*]] = arith.divf %[[NS]], %[[SS]] : f32
// CHECK-NEXT: %[[A:.*]] = arith.minimumf %[[NSS]], %[[MAXA]] : f32
//   c = S sinh(a) / n
// CHECK-NEXT: %[[SH:.*]] = math.sinh %[[A]] : f32
// CHECK-NEXT: %[[SSH:.*]] = arith.mulf %[[SS]], %[[SH]] : f32
// CHECK-NEXT: %[[CC:.*]] = arith.divf %[[SSH]], %[[N]] : f32
// CHECK-NEXT: hyp.yield %[[CC]] : f32
// CHECK: %[[XS:.*]] = hyp.row_scale %[[X]], %[[C]] : tensor<?x64xbf16>, tensor<?xf32> -> tensor<?x64xf32>
// CHECK: %[[V:.*]] = hyp.matmul_t %[[XS]], %{{.*}} : tensor<?x64xf32>, tensor<8x64xf32> -> tensor<?x8xf32>
// CHECK: %[[U:.*]] = hyp.matmul_t %[[V]], %[[B:.*]] : tensor<?x8xf32>, tensor<32x8xf32> -> tensor<?x32xf32>
// CHECK: %[[Q:.*]] = hyp.row_sqnorm %[[U]]
// CHECK: %[[GS:.*]] = hyp.row_map(%[[Q]] : tensor<?xf32>) scalars(%[[K]] : tensor<f32>) {
// CHECK-NEXT: ^bb0(%[[q:.*]]: f32, %[[k2:.*]]: f32):
// CHECK-NEXT: %[[SCALING:.*]] = arith.constant 4.000000e+00 : f32
// CHECK-COUNT-6: {{arith|math}}.
// CHECK-NEXT: %[[K2:.*]] = arith.addf
// CHECK-NEXT: %[[S2:.*]] = math.sqrt %[[K2]] : f32
// CHECK-NEXT: %[[UN:.*]] = math.sqrt %[[q]] : f32
//   t = sqrt(|u|^2 + 1 / max(K, 1e-6)); th = t / S
// CHECK-NEXT: %[[TE:.*]] = arith.constant 9.99999997E-7 : f32
// CHECK-NEXT: %[[KM:.*]] = arith.maximumf %[[K2]], %[[TE]] : f32
// CHECK-NEXT: %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-NEXT: %[[INV:.*]] = arith.divf %[[ONE]], %[[KM]] : f32
// CHECK-NEXT: %[[T2:.*]] = arith.addf %[[q]], %[[INV]] : f32
// CHECK-NEXT: %[[T:.*]] = math.sqrt %[[T2]] : f32
// CHECK-NEXT: %[[TH:.*]] = arith.divf %[[T]], %[[S2]] : f32
//   small branch sqrt(2 max(th - 1, 1e-6))
// CHECK-NEXT: %[[SE:.*]] = arith.constant 9.99999997E-7 : f32
// CHECK-NEXT: %[[ONE2:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-NEXT: %[[THM1:.*]] = arith.subf %[[TH]], %[[ONE2]] : f32
// CHECK-NEXT: %[[CL:.*]] = arith.maximumf %[[THM1]], %[[SE]] : f32
// CHECK-NEXT: %[[TWO:.*]] = arith.constant 2.000000e+00 : f32
// CHECK-NEXT: %[[TW:.*]] = arith.mulf %[[TWO]], %[[CL]] : f32
// CHECK-NEXT: %[[SMALL:.*]] = math.sqrt %[[TW]] : f32
//   large branch arccosh(max(th, 1 + 1e-7))
// CHECK-NEXT: %[[AE:.*]] = arith.constant 1.00000012 : f32
// CHECK-NEXT: %[[THC:.*]] = arith.maximumf %[[TH]], %[[AE]] : f32
// CHECK-NEXT: %[[LARGE:.*]] = math.acosh %[[THC]] : f32
// CHECK-NEXT: %[[B101:.*]] = arith.constant 1.010000e+00 : f32
// CHECK-NEXT: %[[ISSMALL:.*]] = arith.cmpf olt, %[[TH]], %[[B101]] : f32
// CHECK-NEXT: %[[AC:.*]] = arith.select %[[ISSMALL]], %[[SMALL]], %[[LARGE]] : f32
//   g = S ac / max(|u|, 1e-7), times the scaling
// CHECK-NEXT: %[[OE:.*]] = arith.constant 1.000000e-07 : f32
// CHECK-NEXT: %[[UM:.*]] = arith.maximumf %[[UN]], %[[OE]] : f32
// CHECK-NEXT: %[[SAC:.*]] = arith.mulf %[[S2]], %[[AC]] : f32
// CHECK-NEXT: %[[G:.*]] = arith.divf %[[SAC]], %[[UM]] : f32
// CHECK-NEXT: %[[GSV:.*]] = arith.mulf %[[SCALING]], %[[G]] : f32
// CHECK-NEXT: hyp.yield %[[GSV]] : f32
// CHECK: %[[W:.*]] = hyp.row_scale %[[V]], %[[GS]] : tensor<?x8xf32>, tensor<?xf32> -> tensor<?x8xf32>
// CHECK: %[[Y:.*]] = hyp.matmul_t %[[W]], %[[B]] acc %{{.*}} : tensor<?x8xf32>, tensor<32x8xf32>, tensor<?x32xbf16> -> tensor<?x32xbf16>
// CHECK: %[[ST:.*]] = hyp.pack_cols %[[N2]], %[[Q]], %[[C]], %[[GS]]
// CHECK: return %[[Y]], %[[W]], %[[ST]]
func.func @reference(%x: tensor<?x64xbf16>, %A: tensor<8x64xf32>, %B: tensor<32x8xf32>, %k: tensor<f32>, %s: tensor<f32>, %y0: tensor<?x32xbf16>)
    -> (tensor<?x32xbf16>, tensor<?x8xf32>, tensor<?x4xf32>) {
  %y, %w, %st = hyp.adapter %x, %A, %B, %k, %s, %y0 {variant = #hyp.variant<hyplora>, scaling = 4.0 : f32}
      : (tensor<?x64xbf16>, tensor<8x64xf32>, tensor<32x8xf32>, tensor<f32>, tensor<f32>, tensor<?x32xbf16>) -> (tensor<?x32xbf16>, tensor<?x8xf32>, tensor<?x4xf32>)
  return %y, %w, %st : tensor<?x32xbf16>, tensor<?x8xf32>, tensor<?x4xf32>
}

// -----

// The lorentz convention: time sqrt(K + |u|^2), so arccosh(time/S) =
// asinh(|u|/S); no 1/K, no th < 1.01 branch. |u| is clamped before the asinh
// too (g -> 1 as u -> 0, see passes/README.md).
// CHECK-LABEL: func @lorentz
// CHECK: hyp.row_map(%{{.*}} : tensor<?xf32>) scalars(%{{.*}} : tensor<f32>) {
// CHECK: %[[S:.*]] = math.sqrt %{{.*}} : f32
// CHECK-NEXT: %[[UN:.*]] = math.sqrt %[[q:.*]] : f32
// CHECK-NEXT: %[[OE:.*]] = arith.constant 1.000000e-07 : f32
// CHECK-NEXT: %[[M:.*]] = arith.maximumf %[[UN]], %[[OE]] : f32
// CHECK-NEXT: %[[R:.*]] = arith.divf %[[M]], %[[S]] : f32
// CHECK-NEXT: %[[AC:.*]] = math.asinh %[[R]] : f32
// CHECK-NEXT: %[[SAC:.*]] = arith.mulf %[[S]], %[[AC]] : f32
// CHECK-NEXT: %[[G:.*]] = arith.divf %[[SAC]], %[[M]] : f32
// CHECK-NEXT: %[[GS:.*]] = arith.mulf %{{.*}}, %[[G]] : f32
// CHECK-NEXT: hyp.yield %[[GS]] : f32
// CHECK-NOT: math.acosh
// CHECK: return
func.func @lorentz(%x: tensor<?x64xf32>, %A: tensor<8x64xf32>, %B: tensor<32x8xf32>, %k: tensor<f32>, %s: tensor<f32>, %y0: tensor<?x32xf32>)
    -> (tensor<?x32xf32>, tensor<?x8xf32>, tensor<?x4xf32>) {
  %y, %w, %st = hyp.adapter %x, %A, %B, %k, %s, %y0 {variant = #hyp.variant<hyplora>, convention = #hyp.convention<lorentz>, scaling = 2.0 : f32}
      : (tensor<?x64xf32>, tensor<8x64xf32>, tensor<32x8xf32>, tensor<f32>, tensor<f32>, tensor<?x32xf32>) -> (tensor<?x32xf32>, tensor<?x8xf32>, tensor<?x4xf32>)
  return %y, %w, %st : tensor<?x32xf32>, tensor<?x8xf32>, tensor<?x4xf32>
}

// -----

// hyplora_simplified: c = 2 / (1 + K |x|^2), g = 1 / (1 + S sqrt(|z|^2 + K)),
// with K = softplus(k) + 1e-6 (CONTRACTS.md §3) and no norm scale.
// CHECK-LABEL: func @simplified
// CHECK: hyp.row_map(%{{.*}} : tensor<?xf32>) scalars(%{{.*}}, %{{.*}} : tensor<f32>, tensor<f32>) {
// CHECK-NEXT: ^bb0(%[[n2:.*]]: f32, %{{.*}}: f32, %{{.*}}: f32):
// CHECK-COUNT-6: {{arith|math}}.
// CHECK-NEXT: %[[K:.*]] = arith.addf
// CHECK-DAG: %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-DAG: %[[KN:.*]] = arith.mulf %[[K]], %[[n2]] : f32
// CHECK: %[[D:.*]] = arith.addf %[[ONE]], %[[KN]] : f32
// CHECK: %[[TWO:.*]] = arith.constant 2.000000e+00 : f32
// CHECK-NEXT: %[[C:.*]] = arith.divf %[[TWO]], %[[D]] : f32
// CHECK-NEXT: hyp.yield %[[C]] : f32
// CHECK: hyp.row_map(%[[Q:.*]] : tensor<?xf32>) scalars(%{{.*}} : tensor<f32>) {
// CHECK-NEXT: ^bb0(%[[q:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT: %[[SC:.*]] = arith.constant 3.000000e+00 : f32
// CHECK-COUNT-6: {{arith|math}}.
// CHECK-NEXT: %[[K2:.*]] = arith.addf
// CHECK-NEXT: %[[S:.*]] = math.sqrt %[[K2]] : f32
// CHECK-NEXT: %[[T2:.*]] = arith.addf %[[q]], %[[K2]] : f32
// CHECK-NEXT: %[[T:.*]] = math.sqrt %[[T2]] : f32
// CHECK: %[[ST:.*]] = arith.mulf %[[S]], %[[T]] : f32
// CHECK: %[[D2:.*]] = arith.addf %{{.*}}, %[[ST]] : f32
// CHECK: %[[G:.*]] = arith.divf %{{.*}}, %[[D2]] : f32
// CHECK-NEXT: %[[GS:.*]] = arith.mulf %[[SC]], %[[G]] : f32
// CHECK-NEXT: hyp.yield %[[GS]] : f32
func.func @simplified(%x: tensor<?x64xf32>, %A: tensor<8x64xf32>, %B: tensor<32x8xf32>, %k: tensor<f32>, %s: tensor<f32>, %y0: tensor<?x32xf32>)
    -> (tensor<?x32xf32>, tensor<?x8xf32>, tensor<?x4xf32>) {
  %y, %w, %st = hyp.adapter %x, %A, %B, %k, %s, %y0 {variant = #hyp.variant<hyplora_simplified>, scaling = 3.0 : f32}
      : (tensor<?x64xf32>, tensor<8x64xf32>, tensor<32x8xf32>, tensor<f32>, tensor<f32>, tensor<?x32xf32>) -> (tensor<?x32xf32>, tensor<?x8xf32>, tensor<?x4xf32>)
  return %y, %w, %st : tensor<?x32xf32>, tensor<?x8xf32>, tensor<?x4xf32>
}

// -----

// LoRA: c = 1, no u and no |u|^2 (stats column 1 is 0), gs = scaling.
// CHECK-LABEL: func @lora
// CHECK: hyp.row_map
// CHECK: %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-NEXT: hyp.yield %[[ONE]] : f32
// CHECK: hyp.matmul_t
// CHECK-NOT: hyp.row_sqnorm
// CHECK: hyp.row_map
// CHECK-NEXT: ^bb0(%{{.*}}: f32):
// CHECK-NEXT: %[[Z:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT: %[[SC:.*]] = arith.constant 5.000000e-01 : f32
// CHECK-NEXT: hyp.yield %[[Z]], %[[SC]] : f32, f32
// CHECK-NOT: math.
// CHECK: return
func.func @lora(%x: tensor<?x64xf32>, %A: tensor<8x64xf32>, %B: tensor<32x8xf32>, %k: tensor<f32>, %s: tensor<f32>, %y0: tensor<?x32xf32>)
    -> (tensor<?x32xf32>, tensor<?x8xf32>, tensor<?x4xf32>) {
  %y, %w, %st = hyp.adapter %x, %A, %B, %k, %s, %y0 {variant = #hyp.variant<lora>, scaling = 0.5 : f32}
      : (tensor<?x64xf32>, tensor<8x64xf32>, tensor<32x8xf32>, tensor<f32>, tensor<f32>, tensor<?x32xf32>) -> (tensor<?x32xf32>, tensor<?x8xf32>, tensor<?x4xf32>)
  return %y, %w, %st : tensor<?x32xf32>, tensor<?x8xf32>, tensor<?x4xf32>
}

// -----

// Non-default clamps reach the scalar program.
// CHECK-LABEL: func @custom_clamps
// CHECK: arith.constant 5.000000e+00 : f32
// CHECK: arith.minimumf
// CHECK: arith.constant 1.020000e+00 : f32
// CHECK-NEXT: arith.cmpf olt
func.func @custom_clamps(%x: tensor<?x64xf32>, %A: tensor<8x64xf32>, %B: tensor<32x8xf32>, %k: tensor<f32>, %s: tensor<f32>, %y0: tensor<?x32xf32>)
    -> (tensor<?x32xf32>, tensor<?x8xf32>, tensor<?x4xf32>) {
  %y, %w, %st = hyp.adapter %x, %A, %B, %k, %s, %y0 {variant = #hyp.variant<hyplora>, scaling = 1.0 : f32, max_sinh_arg = 5.0 : f32, small_th = 1.02 : f32}
      : (tensor<?x64xf32>, tensor<8x64xf32>, tensor<32x8xf32>, tensor<f32>, tensor<f32>, tensor<?x32xf32>) -> (tensor<?x32xf32>, tensor<?x8xf32>, tensor<?x4xf32>)
  return %y, %w, %st : tensor<?x32xf32>, tensor<?x8xf32>, tensor<?x4xf32>
}
