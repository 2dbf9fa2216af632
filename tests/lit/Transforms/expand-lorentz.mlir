// RUN: hyp-opt %s --hyp-expand-adapter | FileCheck %s
// RUN: hyp-opt %s --hyp-expand-adapter --mlir-print-op-generic -o %t
// RUN: %if torch-python %{ %hyp_python %S/Inputs/lorentz_check.py %t | FileCheck %s --check-prefix=NUM %}
// The textbook ops of HYPLORA.md §2 expand into the same primitives, with
// tensor.extract_slice / tensor.concat for the time column; the values are
// checked in float64 (Inputs/lorentz_check.py) including the origin v = 0.

// CHECK-LABEL: func @ops
// CHECK-NOT: hyp.lorentz_inner
// CHECK-NOT: hyp.expmap0
// CHECK-NOT: hyp.logmap0
// CHECK-NOT: hyp.project
// CHECK-NOT: hyp.distance
// CHECK-NOT: hyp.lorentz_lowrank
// CHECK-DAG: tensor.extract_slice %{{.*}}[0, 1] [%{{.*}}, 4] [1, 1] : tensor<?x5xf64> to tensor<?x4xf64>
// CHECK-DAG: math.cosh
// CHECK-DAG: math.acosh
// CHECK-DAG: tensor.concat dim(1) %{{.*}}, %{{.*}} : (tensor<?x1xf64>, tensor<?x4xf64>) -> tensor<?x5xf64>
// CHECK-DAG: tensor.concat dim(1) %{{.*}}, %{{.*}} : (tensor<?x1xf64>, tensor<?x16xf64>) -> tensor<?x17xf64>
// NUM-NOT: FAIL
// NUM: ALL OK
func.func @ops(%v: tensor<?x4xf64>, %p: tensor<?x5xf64>, %K: tensor<f64>, %A: tensor<8x4xf64>, %B: tensor<16x8xf64>)
    -> (tensor<?xf64>, tensor<?x5xf64>, tensor<?x4xf64>, tensor<?x5xf64>, tensor<?xf64>, tensor<?x17xf64>, tensor<?x4xf64>) {
  %0 = hyp.lorentz_inner %p, %p : tensor<?x5xf64> -> tensor<?xf64>
  %1 = hyp.expmap0 %v, %K : tensor<?x4xf64>, tensor<f64> -> tensor<?x5xf64>
  %2 = hyp.logmap0 %p, %K : tensor<?x5xf64>, tensor<f64> -> tensor<?x4xf64>
  %3 = hyp.project %p, %K : tensor<?x5xf64>, tensor<f64>
  %4 = hyp.distance %p, %p, %K : tensor<?x5xf64>, tensor<f64> -> tensor<?xf64>
  %5 = hyp.lorentz_lowrank %p, %A, %B, %K {convention = #hyp.convention<reference>}
      : (tensor<?x5xf64>, tensor<8x4xf64>, tensor<16x8xf64>, tensor<f64>) -> tensor<?x17xf64>
  // Expanded (not folded: no canonicalize here), so the round trip is computed.
  %6 = hyp.logmap0 %1, %K : tensor<?x5xf64>, tensor<f64> -> tensor<?x4xf64>
  return %0, %1, %2, %3, %4, %5, %6 : tensor<?xf64>, tensor<?x5xf64>, tensor<?x4xf64>, tensor<?x5xf64>, tensor<?xf64>, tensor<?x17xf64>, tensor<?x4xf64>
}
