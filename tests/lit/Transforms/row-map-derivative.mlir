// RUN: hyp-opt %s --hyp-test-row-map-derivative | FileCheck %s
// RUN: hyp-opt %s --mlir-print-op-generic -o %t.orig
// RUN: hyp-opt %s --hyp-test-row-map-derivative --mlir-print-op-generic -o %t.diff
// RUN: %if torch-python %{ %hyp_python %S/Inputs/derivative_check.py %t.orig %t.diff | FileCheck %s --check-prefix=NUM %}
// Every derivative rule of ScalarAD (the reverse sweep of hyp-derive-backward)
// against central finite differences in float64, including rules the
// adapter programs do not use yet, and the guard of a clamped sqrt at 0.

// The derivative of program 0 w.r.t. %a: d(a*b - a/b - a) = b - 1/b - 1.
// CHECK-LABEL: func @f
// CHECK: hyp.row_map
// CHECK: arith.mulf
// CHECK: arith.divf
// CHECK: arith.negf
// CHECK: hyp.yield
// NUM-COUNT-8: ok
// NUM-NOT: FAIL
// NUM: ALL OK
func.func @f(%a: tensor<?xf64>, %b: tensor<?xf64>, %k: tensor<f64>)
    -> (tensor<?xf64>, tensor<?xf64>, tensor<?xf64>, tensor<?xf64>, tensor<?xf64>, tensor<?xf64>, tensor<?xf64>, tensor<?xf64>) {
  // addf, subf, mulf, divf, negf
  %0 = hyp.row_map (%a, %b : tensor<?xf64>, tensor<?xf64>) {
  ^bb0(%x: f64, %y: f64):
    %m = arith.mulf %x, %y : f64
    %d = arith.divf %x, %y : f64
    %s = arith.subf %m, %d : f64
    %n = arith.negf %x : f64
    %r = arith.addf %s, %n : f64
    hyp.yield %r : f64
  } -> tensor<?xf64>
  // maximumf, minimumf, maxnumf, minnumf
  %1 = hyp.row_map (%a, %b : tensor<?xf64>, tensor<?xf64>) {
  ^bb0(%x: f64, %y: f64):
    %half = arith.constant 0.5 : f64
    %one = arith.constant 1.0 : f64
    %c12 = arith.constant 1.2 : f64
    %hy = arith.mulf %half, %y : f64
    %m1 = arith.maximumf %x, %y : f64
    %m2 = arith.minimumf %x, %hy : f64
    %m3 = arith.maxnumf %x, %one : f64
    %m4 = arith.minnumf %x, %c12 : f64
    %s1 = arith.addf %m1, %m2 : f64
    %s2 = arith.addf %m3, %m4 : f64
    %r = arith.addf %s1, %s2 : f64
    hyp.yield %r : f64
  } -> tensor<?xf64>
  // cmpf + select
  %2 = hyp.row_map (%a, %b : tensor<?xf64>, tensor<?xf64>) scalars(%k : tensor<f64>) {
  ^bb0(%x: f64, %y: f64, %kk: f64):
    %c = arith.cmpf ogt, %x, %y : f64
    %xx = arith.mulf %x, %x : f64
    %xy = arith.mulf %x, %y : f64
    %xyk = arith.mulf %xy, %kk : f64
    %r = arith.select %c, %xx, %xyk : f64
    hyp.yield %r : f64
  } -> tensor<?xf64>
  // sqrt, exp, log, log1p
  %3 = hyp.row_map (%a : tensor<?xf64>) scalars(%k : tensor<f64>) {
  ^bb0(%x: f64, %kk: f64):
    %s = math.sqrt %x : f64
    %xk = arith.mulf %x, %kk : f64
    %e = math.exp %xk : f64
    %l = math.log %x : f64
    %l1 = math.log1p %x : f64
    %t1 = arith.addf %s, %e : f64
    %t2 = arith.addf %l, %l1 : f64
    %r = arith.addf %t1, %t2 : f64
    hyp.yield %r : f64
  } -> tensor<?xf64>
  // sinh, cosh, tanh
  %4 = hyp.row_map (%a : tensor<?xf64>) scalars(%k : tensor<f64>) {
  ^bb0(%x: f64, %kk: f64):
    %s = math.sinh %x : f64
    %c = math.cosh %x : f64
    %xk = arith.mulf %x, %kk : f64
    %t = math.tanh %xk : f64
    %t1 = arith.addf %s, %c : f64
    %r = arith.addf %t1, %t : f64
    hyp.yield %r : f64
  } -> tensor<?xf64>
  // acosh, asinh
  %5 = hyp.row_map (%a, %b : tensor<?xf64>, tensor<?xf64>) {
  ^bb0(%x: f64, %y: f64):
    %one = arith.constant 1.0 : f64
    %x1 = arith.addf %x, %one : f64
    %ac = math.acosh %x1 : f64
    %xy = arith.mulf %x, %y : f64
    %as = math.asinh %xy : f64
    %r = arith.addf %ac, %as : f64
    hyp.yield %r : f64
  } -> tensor<?xf64>
  // rsqrt, absf
  %6 = hyp.row_map (%a : tensor<?xf64>) {
  ^bb0(%x: f64):
    %one = arith.constant 1.0 : f64
    %rs = math.rsqrt %x : f64
    %xm = arith.subf %x, %one : f64
    %ab = math.absf %xm : f64
    %r = arith.addf %rs, %ab : f64
    hyp.yield %r : f64
  } -> tensor<?xf64>
  // Guard: max(sqrt(x - x), eps) * y; sqrt at 0 gets a zero adjoint, so the
  // derivative is exactly 0, not 0 * inf = NaN.
  %7 = hyp.row_map (%a, %b : tensor<?xf64>, tensor<?xf64>) {
  ^bb0(%x: f64, %y: f64):
    %eps = arith.constant 1.0e-3 : f64
    %z = arith.subf %x, %x : f64
    %s = math.sqrt %z : f64
    %m = arith.maximumf %s, %eps : f64
    %r = arith.mulf %m, %y : f64
    hyp.yield %r : f64
  } -> tensor<?xf64>
  return %0, %1, %2, %3, %4, %5, %6, %7 : tensor<?xf64>, tensor<?xf64>, tensor<?xf64>, tensor<?xf64>, tensor<?xf64>, tensor<?xf64>, tensor<?xf64>, tensor<?xf64>
}
