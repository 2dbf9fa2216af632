// RUN: hyp-opt %s --hyp-expand-adapter | FileCheck %s
// Float64 reference programs: with f64 k and s every per-row value and every
// scalar op is f64 (the float64 checks rely on it).

// CHECK-LABEL: func @f64
// CHECK: hyp.row_sqnorm %{{.*}} : tensor<?x64xf64> -> tensor<?xf64>
// CHECK: hyp.row_map(%{{.*}} : tensor<?xf64>) scalars(%{{.*}}, %{{.*}} : tensor<f64>, tensor<f64>) {
// CHECK-NEXT: ^bb0(%{{.*}}: f64, %{{.*}}: f64, %{{.*}}: f64):
// CHECK-NOT: f32
// CHECK: hyp.pack_cols {{.*}} -> tensor<?x4xf64>
func.func @f64(%x: tensor<?x64xf64>, %A: tensor<8x64xf64>, %B: tensor<32x8xf64>, %k: tensor<f64>, %s: tensor<f64>, %y0: tensor<?x32xf64>)
    -> (tensor<?x32xf64>, tensor<?x8xf64>, tensor<?x4xf64>) {
  %y, %w, %st = hyp.adapter %x, %A, %B, %k, %s, %y0 {variant = #hyp.variant<hyplora>, scaling = 1.0 : f32}
      : (tensor<?x64xf64>, tensor<8x64xf64>, tensor<32x8xf64>, tensor<f64>, tensor<f64>, tensor<?x32xf64>) -> (tensor<?x32xf64>, tensor<?x8xf64>, tensor<?x4xf64>)
  return %y, %w, %st : tensor<?x32xf64>, tensor<?x8xf64>, tensor<?x4xf64>
}
