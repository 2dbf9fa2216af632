// RUN: hyp-opt %s -split-input-file --canonicalize | FileCheck %s

// CHECK-LABEL: func @logmap_of_expmap
// CHECK-SAME: (%[[V:.*]]: tensor<?x4xf32>, %{{.*}}: tensor<f32>)
// CHECK-NEXT: return %[[V]]
func.func @logmap_of_expmap(%v: tensor<?x4xf32>, %K: tensor<f32>) -> tensor<?x4xf32> {
  %p = hyp.expmap0 %v, %K : tensor<?x4xf32>, tensor<f32> -> tensor<?x5xf32>
  %w = hyp.logmap0 %p, %K : tensor<?x5xf32>, tensor<f32> -> tensor<?x4xf32>
  return %w : tensor<?x4xf32>
}

// -----

// Different curvature SSA values (even if equal at run time): no fold.
// CHECK-LABEL: func @logmap_of_expmap_other_curvature
// CHECK: hyp.expmap0
// CHECK: hyp.logmap0
func.func @logmap_of_expmap_other_curvature(%v: tensor<?x4xf32>, %K: tensor<f32>, %K2: tensor<f32>) -> tensor<?x4xf32> {
  %p = hyp.expmap0 %v, %K : tensor<?x4xf32>, tensor<f32> -> tensor<?x5xf32>
  %w = hyp.logmap0 %p, %K2 : tensor<?x5xf32>, tensor<f32> -> tensor<?x4xf32>
  return %w : tensor<?x4xf32>
}

// -----

// expmap0(logmap0(x)) is not x for points off the hyperboloid: no fold.
// CHECK-LABEL: func @expmap_of_logmap
// CHECK: hyp.logmap0
// CHECK: hyp.expmap0
func.func @expmap_of_logmap(%x: tensor<?x5xf32>, %K: tensor<f32>) -> tensor<?x5xf32> {
  %v = hyp.logmap0 %x, %K : tensor<?x5xf32>, tensor<f32> -> tensor<?x4xf32>
  %p = hyp.expmap0 %v, %K : tensor<?x4xf32>, tensor<f32> -> tensor<?x5xf32>
  return %p : tensor<?x5xf32>
}

// -----

// CHECK-LABEL: func @project_twice
// CHECK: %[[P:.*]] = hyp.project
// CHECK-NEXT: return %[[P]]
func.func @project_twice(%x: tensor<?x5xf32>, %K: tensor<f32>) -> tensor<?x5xf32> {
  %p = hyp.project %x, %K : tensor<?x5xf32>, tensor<f32>
  %q = hyp.project %p, %K : tensor<?x5xf32>, tensor<f32>
  return %q : tensor<?x5xf32>
}

// -----

// CHECK-LABEL: func @project_other_curvature
// CHECK: hyp.project
// CHECK: hyp.project
func.func @project_other_curvature(%x: tensor<?x5xf32>, %K: tensor<f32>, %K2: tensor<f32>) -> tensor<?x5xf32> {
  %p = hyp.project %x, %K : tensor<?x5xf32>, tensor<f32>
  %q = hyp.project %p, %K2 : tensor<?x5xf32>, tensor<f32>
  return %q : tensor<?x5xf32>
}

// -----

// CHECK-LABEL: func @row_scale_by_one
// CHECK-SAME: (%[[X:.*]]: tensor<4x8xf32>)
// CHECK-NEXT: return %[[X]]
func.func @row_scale_by_one(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %one = arith.constant dense<1.0> : tensor<4xf32>
  %y = hyp.row_scale %x, %one : tensor<4x8xf32>, tensor<4xf32> -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

// A row_map that yields 1.0 for every row (LoRA's c) is a scale by one.
// CHECK-LABEL: func @row_scale_by_row_map_one
// CHECK-SAME: (%[[X:.*]]: tensor<?x8xf32>, %{{.*}}: tensor<?xf32>)
// CHECK-NEXT: return %[[X]]
func.func @row_scale_by_row_map_one(%x: tensor<?x8xf32>, %n: tensor<?xf32>) -> tensor<?x8xf32> {
  %c = hyp.row_map (%n : tensor<?xf32>) {
  ^bb0(%a: f32):
    %one = arith.constant 1.0 : f32
    hyp.yield %one : f32
  } -> tensor<?xf32>
  %y = hyp.row_scale %x, %c : tensor<?x8xf32>, tensor<?xf32> -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

// -----

// Scale by 2: no fold. Scale by 1 into another element type: a conversion
// remains, no fold either.
// CHECK-LABEL: func @row_scale_no_fold
// CHECK: hyp.row_scale
// CHECK: hyp.row_scale
func.func @row_scale_no_fold(%x: tensor<4x8xf32>, %b: tensor<4x8xbf16>) -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  %two = arith.constant dense<2.0> : tensor<4xf32>
  %one = arith.constant dense<1.0> : tensor<4xf32>
  %y = hyp.row_scale %x, %two : tensor<4x8xf32>, tensor<4xf32> -> tensor<4x8xf32>
  %z = hyp.row_scale %b, %one : tensor<4x8xbf16>, tensor<4xf32> -> tensor<4x8xf32>
  return %y, %z : tensor<4x8xf32>, tensor<4x8xf32>
}

// -----

// CHECK-LABEL: func @cast_same_type
// CHECK-SAME: (%[[X:.*]]: tensor<?x8xf32>)
// CHECK-NEXT: %[[C:.*]] = hyp.cast %[[X]] : tensor<?x8xf32> to tensor<?x8xbf16>
// CHECK-NEXT: return %[[X]], %[[C]]
func.func @cast_same_type(%x: tensor<?x8xf32>) -> (tensor<?x8xf32>, tensor<?x8xbf16>) {
  %same = hyp.cast %x : tensor<?x8xf32> to tensor<?x8xf32>
  %other = hyp.cast %x : tensor<?x8xf32> to tensor<?x8xbf16>
  return %same, %other : tensor<?x8xf32>, tensor<?x8xbf16>
}

// -----

// CHECK-LABEL: func @add_zero
// CHECK-SAME: (%[[A:.*]]: tensor<8x8xf32>)
// CHECK-NEXT: return %[[A]], %[[A]]
func.func @add_zero(%a: tensor<8x8xf32>) -> (tensor<8x8xf32>, tensor<8x8xf32>) {
  %z = arith.constant dense<0.0> : tensor<8x8xf32>
  %r = hyp.add %a, %z : tensor<8x8xf32>
  %l = hyp.add %z, %a : tensor<8x8xf32>
  return %r, %l : tensor<8x8xf32>, tensor<8x8xf32>
}

// -----

// CHECK-LABEL: func @add_nonzero
// CHECK: hyp.add
func.func @add_nonzero(%a: tensor<8x8xf32>) -> tensor<8x8xf32> {
  %z = arith.constant dense<-0.5> : tensor<8x8xf32>
  %r = hyp.add %a, %z : tensor<8x8xf32>
  return %r : tensor<8x8xf32>
}

// -----

// CHECK-LABEL: func @extract_of_pack
// CHECK-SAME: (%[[A:.*]]: tensor<?xf32>, %[[B:.*]]: tensor<?xf32>)
// CHECK-NEXT: return %[[B]]
func.func @extract_of_pack(%a: tensor<?xf32>, %b: tensor<?xf32>) -> tensor<?xf32> {
  %m = hyp.pack_cols %a, %b : tensor<?xf32>, tensor<?xf32> -> tensor<?x2xf32>
  %c = hyp.extract_col %m[1] : tensor<?x2xf32> -> tensor<?xf32>
  return %c : tensor<?xf32>
}

// -----

// CHECK-LABEL: func @extract_of_argument
// CHECK: hyp.extract_col
func.func @extract_of_argument(%m: tensor<?x2xf32>) -> tensor<?xf32> {
  %c = hyp.extract_col %m[1] : tensor<?x2xf32> -> tensor<?xf32>
  return %c : tensor<?xf32>
}

// -----

// Unused results and unread operands of a row_map are dropped.
// CHECK-LABEL: func @row_map_simplify
// CHECK-SAME: (%[[A:.*]]: tensor<?xf32>, %[[B:.*]]: tensor<?xf32>, %[[K:.*]]: tensor<f32>)
// CHECK-NEXT: %[[R:.*]] = hyp.row_map(%[[B]] : tensor<?xf32>) {
// CHECK-NEXT: ^bb0(%[[b:.*]]: f32):
// CHECK-NEXT: %[[S:.*]] = math.sqrt %[[b]] : f32
// CHECK-NEXT: hyp.yield %[[S]] : f32
// CHECK-NEXT: } -> tensor<?xf32>
// CHECK-NEXT: return %[[R]]
func.func @row_map_simplify(%a: tensor<?xf32>, %b: tensor<?xf32>, %k: tensor<f32>) -> tensor<?xf32> {
  %r:2 = hyp.row_map (%a, %b : tensor<?xf32>, tensor<?xf32>) scalars(%k : tensor<f32>) {
  ^bb0(%x: f32, %y: f32, %kk: f32):
    %m = arith.mulf %x, %kk : f32
    %s = math.sqrt %y : f32
    hyp.yield %m, %s : f32, f32
  } -> tensor<?xf32>, tensor<?xf32>
  return %r#1 : tensor<?xf32>
}

// -----

// A row_map with no result used is erased; one that reads only scalars keeps
// its first per-row operand (it gives the row count).
// CHECK-LABEL: func @row_map_keep_rows
// CHECK-NEXT: hyp.row_map(%{{.*}} : tensor<?xf32>) scalars(%{{.*}} : tensor<f32>) {
// CHECK-NOT: hyp.row_map
func.func @row_map_keep_rows(%a: tensor<?xf32>, %k: tensor<f32>) -> tensor<?xf32> {
  %dead = hyp.row_map (%a : tensor<?xf32>) {
  ^bb0(%x: f32):
    hyp.yield %x : f32
  } -> tensor<?xf32>
  %r = hyp.row_map (%a : tensor<?xf32>) scalars(%k : tensor<f32>) {
  ^bb0(%x: f32, %kk: f32):
    %e = math.exp %kk : f32
    hyp.yield %e : f32
  } -> tensor<?xf32>
  return %r : tensor<?xf32>
}
