// RUN: hyp-opt %s | hyp-opt | FileCheck %s
// Round trip of every hyp op (custom assembly in, custom assembly out, parse again).

// CHECK-LABEL: func @lorentz_ops
func.func @lorentz_ops(%v: tensor<?x4xf32>, %p: tensor<?x5xf32>, %K: tensor<f32>,
                       %A: tensor<8x4xf32>, %B: tensor<16x8xf32>)
    -> (tensor<?xf32>, tensor<?x5xf32>, tensor<?x4xf32>, tensor<?x5xf32>, tensor<?xf32>, tensor<?x17xf32>) {
  // CHECK: hyp.lorentz_inner %{{.*}}, %{{.*}} : tensor<?x5xf32> -> tensor<?xf32>
  %0 = hyp.lorentz_inner %p, %p : tensor<?x5xf32> -> tensor<?xf32>
  // CHECK: hyp.expmap0 %{{.*}}, %{{.*}} : tensor<?x4xf32>, tensor<f32> -> tensor<?x5xf32>
  %1 = hyp.expmap0 %v, %K : tensor<?x4xf32>, tensor<f32> -> tensor<?x5xf32>
  // CHECK: hyp.logmap0 %{{.*}}, %{{.*}} : tensor<?x5xf32>, tensor<f32> -> tensor<?x4xf32>
  %2 = hyp.logmap0 %p, %K : tensor<?x5xf32>, tensor<f32> -> tensor<?x4xf32>
  // CHECK: hyp.project %{{.*}}, %{{.*}} : tensor<?x5xf32>, tensor<f32>
  %3 = hyp.project %p, %K : tensor<?x5xf32>, tensor<f32>
  // CHECK: hyp.distance %{{.*}}, %{{.*}}, %{{.*}} : tensor<?x5xf32>, tensor<f32> -> tensor<?xf32>
  %4 = hyp.distance %p, %p, %K : tensor<?x5xf32>, tensor<f32> -> tensor<?xf32>
  // CHECK: hyp.lorentz_lowrank {{.*}} {convention = #hyp.convention<reference>}
  %5 = hyp.lorentz_lowrank %p, %A, %B, %K {convention = #hyp.convention<reference>}
      : (tensor<?x5xf32>, tensor<8x4xf32>, tensor<16x8xf32>, tensor<f32>) -> tensor<?x17xf32>
  return %0, %1, %2, %3, %4, %5 : tensor<?xf32>, tensor<?x5xf32>, tensor<?x4xf32>, tensor<?x5xf32>, tensor<?xf32>, tensor<?x17xf32>
}

// CHECK-LABEL: func @adapter_ops
func.func @adapter_ops(%x: tensor<?x64xbf16>, %A: tensor<8x64xf32>, %B: tensor<32x8xf32>,
                       %k: tensor<f32>, %s: tensor<f32>, %y0: tensor<?x32xbf16>, %dy: tensor<?x32xbf16>,
                       %dx0: tensor<?x64xbf16>) {
  // CHECK: hyp.adapter {{.*}} {convention = #hyp.convention<lorentz>, max_sinh_arg = 1.000000e+01 : f32, scaling = 4.000000e+00 : f32, variant = #hyp.variant<hyplora>}
  %y, %w, %st = hyp.adapter %x, %A, %B, %k, %s, %y0
      {variant = #hyp.variant<hyplora>, convention = #hyp.convention<lorentz>,
       scaling = 4.0 : f32, max_sinh_arg = 10.0 : f32}
      : (tensor<?x64xbf16>, tensor<8x64xf32>, tensor<32x8xf32>, tensor<f32>, tensor<f32>, tensor<?x32xbf16>)
      -> (tensor<?x32xbf16>, tensor<?x8xf32>, tensor<?x4xf32>)
  // CHECK: hyp.adapter_grad {{.*}} {scaling = 2.000000e+00 : f32, variant = #hyp.variant<hyplora_simplified>}
  %dx, %dA, %dB, %dk, %ds = hyp.adapter_grad %dy, %x, %A, %B, %k, %s, %w, %st, %dx0
      {variant = #hyp.variant<hyplora_simplified>, scaling = 2.0 : f32}
      : (tensor<?x32xbf16>, tensor<?x64xbf16>, tensor<8x64xf32>, tensor<32x8xf32>, tensor<f32>, tensor<f32>,
         tensor<?x8xf32>, tensor<?x4xf32>, tensor<?x64xbf16>)
      -> (tensor<?x64xbf16>, tensor<8x64xf32>, tensor<32x8xf32>, tensor<f32>, tensor<f32>)
  // CHECK: variant = #hyp.variant<lora>
  %y2, %w2, %st2 = hyp.adapter %x, %A, %B, %k, %s, %y0 {variant = #hyp.variant<lora>, scaling = 1.0 : f32}
      : (tensor<?x64xbf16>, tensor<8x64xf32>, tensor<32x8xf32>, tensor<f32>, tensor<f32>, tensor<?x32xbf16>)
      -> (tensor<?x32xbf16>, tensor<?x8xf32>, tensor<?x4xf32>)
  return
}

// CHECK-LABEL: func @primitive_ops
func.func @primitive_ops(%x: tensor<?x64xbf16>, %A: tensor<8x64xf32>, %B: tensor<32x8xf32>,
                         %y0: tensor<?x32xbf16>, %k: tensor<f32>)
    -> (tensor<f32>, tensor<?xf32>, tensor<?x32xbf16>, tensor<?x64xbf16>) {
  // CHECK: hyp.row_sqnorm %{{.*}} : tensor<?x64xbf16> -> tensor<?xf32>
  %n2 = hyp.row_sqnorm %x : tensor<?x64xbf16> -> tensor<?xf32>
  // CHECK: hyp.matmul_t %{{.*}}, %{{.*}} : tensor<?x64xbf16>, tensor<8x64xf32> -> tensor<?x8xf32>
  %h = hyp.matmul_t %x, %A : tensor<?x64xbf16>, tensor<8x64xf32> -> tensor<?x8xf32>
  // CHECK: hyp.row_scale %{{.*}}, %{{.*}} : tensor<?x8xf32>, tensor<?xf32> -> tensor<?x8xf32>
  %v = hyp.row_scale %h, %n2 : tensor<?x8xf32>, tensor<?xf32> -> tensor<?x8xf32>
  // CHECK: hyp.matmul_tn %{{.*}}, %{{.*}} : tensor<32x8xf32>, tensor<32x8xf32> -> tensor<8x8xf32>
  %G = hyp.matmul_tn %B, %B : tensor<32x8xf32>, tensor<32x8xf32> -> tensor<8x8xf32>
  // CHECK: hyp.quad_form %{{.*}}, %{{.*}} : tensor<?x8xf32>, tensor<8x8xf32> -> tensor<?xf32>
  %q = hyp.quad_form %v, %G : tensor<?x8xf32>, tensor<8x8xf32> -> tensor<?xf32>
  // CHECK: hyp.row_dot %{{.*}}, %{{.*}} : tensor<?x8xf32>, tensor<?x8xf32> -> tensor<?xf32>
  %d = hyp.row_dot %v, %h : tensor<?x8xf32>, tensor<?x8xf32> -> tensor<?xf32>
  // CHECK: hyp.row_map(%{{.*}}, %{{.*}} : tensor<?xf32>, tensor<?xf32>) scalars(%{{.*}} : tensor<f32>) {
  // CHECK-NEXT: ^bb0(%{{.*}}: f32, %{{.*}}: f32, %{{.*}}: f32):
  // CHECK: math.sqrt
  // CHECK: hyp.yield %{{.*}}, %{{.*}} : f32, f32
  // CHECK-NEXT: } -> tensor<?xf32>, tensor<?xf32>
  %c, %g = hyp.row_map (%n2, %q : tensor<?xf32>, tensor<?xf32>) scalars(%k : tensor<f32>) {
  ^bb0(%a: f32, %b: f32, %kk: f32):
    %r = math.sqrt %a : f32
    %t = arith.mulf %r, %kk : f32
    hyp.yield %r, %t : f32, f32
  } -> tensor<?xf32>, tensor<?xf32>
  // CHECK: hyp.add %{{.*}}, %{{.*}} : tensor<?xf32>
  %sum = hyp.add %c, %g : tensor<?xf32>
  // CHECK: hyp.reduce_rows %{{.*}} : tensor<?xf32> -> tensor<f32>
  %tot = hyp.reduce_rows %sum : tensor<?xf32> -> tensor<f32>
  // CHECK: hyp.pack_cols {{.*}} : tensor<?xf32>, tensor<?xf32>, tensor<?xf32>, tensor<?xf32> -> tensor<?x4xf32>
  %st = hyp.pack_cols %n2, %q, %c, %g : tensor<?xf32>, tensor<?xf32>, tensor<?xf32>, tensor<?xf32> -> tensor<?x4xf32>
  // CHECK: hyp.extract_col %{{.*}}[2] : tensor<?x4xf32> -> tensor<?xf32>
  %col = hyp.extract_col %st[2] : tensor<?x4xf32> -> tensor<?xf32>
  // CHECK: hyp.matmul_t %{{.*}}, %{{.*}} acc %{{.*}} : tensor<?x8xf32>, tensor<32x8xf32>, tensor<?x32xbf16> -> tensor<?x32xbf16>
  %y = hyp.matmul_t %v, %B acc %y0 : tensor<?x8xf32>, tensor<32x8xf32>, tensor<?x32xbf16> -> tensor<?x32xbf16>
  // CHECK: hyp.matmul %{{.*}}, %{{.*}} : tensor<?x8xf32>, tensor<8x64xf32> -> tensor<?x64xf32>
  %m = hyp.matmul %v, %A : tensor<?x8xf32>, tensor<8x64xf32> -> tensor<?x64xf32>
  // CHECK: hyp.matmul %{{.*}}, %{{.*}} acc %{{.*}} : tensor<?x8xf32>, tensor<8x64xf32>, tensor<?x64xf32> -> tensor<?x64xf32>
  %m2 = hyp.matmul %v, %A acc %m : tensor<?x8xf32>, tensor<8x64xf32>, tensor<?x64xf32> -> tensor<?x64xf32>
  // CHECK: hyp.cast %{{.*}} : tensor<?x64xf32> to tensor<?x64xbf16>
  %cast = hyp.cast %m2 : tensor<?x64xf32> to tensor<?x64xbf16>
  return %tot, %col, %y, %cast : tensor<f32>, tensor<?xf32>, tensor<?x32xbf16>, tensor<?x64xbf16>
}

// CHECK-LABEL: func @kernel_op
func.func @kernel_op(%B: tensor<32x8xf32>) -> tensor<8x8xf32> {
  // CHECK: hyp.kernel "hyp_gram" ins(%{{.*}} : tensor<32x8xf32>) {
  // CHECK-NEXT: ^bb0(%[[B:.*]]: tensor<32x8xf32>):
  // CHECK-NEXT: hyp.matmul_tn %[[B]], %[[B]]
  // CHECK-NEXT: hyp.yield %{{.*}} : tensor<8x8xf32>
  // CHECK-NEXT: } -> tensor<8x8xf32>
  %G = hyp.kernel "hyp_gram" ins(%B : tensor<32x8xf32>) {
  ^bb0(%b: tensor<32x8xf32>):
    %g = hyp.matmul_tn %b, %b : tensor<32x8xf32>, tensor<32x8xf32> -> tensor<8x8xf32>
    hyp.yield %g : tensor<8x8xf32>
  } -> tensor<8x8xf32>
  return %G : tensor<8x8xf32>
}
