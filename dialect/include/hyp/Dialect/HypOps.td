//===- HypOps.td - hyp dialect ops -------------------------*- tablegen -*-===//
//
// Stage 0: textbook Lorentz-model ops and the fused adapter ops.
// Stages 1-2: primitive row-scalar ops (names fixed: the emitter matches them).
// Stage 3: hyp.kernel, one CUDA kernel each.
//
//===----------------------------------------------------------------------===//
#ifndef HYP_OPS_TD
#define HYP_OPS_TD

include "hyp/Dialect/HypDialect.td"
include "hyp/Dialect/HypAttrs.td"
include "mlir/IR/OpBase.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/ControlFlowInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"

//===----------------------------------------------------------------------===//
// Stage 0: Lorentz model (HYPLORA.md §2). Points carry the time in column 0,
// so a point with a d-dim space part is `tensor<Mx(d+1)>`. %K is the
// curvature value K > 0 (not the raw parameter).
//===----------------------------------------------------------------------===//

def Hyp_LorentzInnerOp : Hyp_Op<"lorentz_inner",
    [Pure, AllTypesMatch<["x", "y"]>]> {
  let summary = "per-row Lorentz inner product -x0 y0 + xs . ys";
  let description = [{
    ```mlir
    %p = hyp.lorentz_inner %x, %y : tensor<?x5xf32> -> tensor<?xf32>
    ```
  }];
  let arguments = (ins Hyp_Matrix:$x, Hyp_Matrix:$y);
  let results = (outs Hyp_RowVector:$result);
  let assemblyFormat = "$x `,` $y attr-dict `:` type($x) `->` type($result)";
  let hasVerifier = 1;
}

def Hyp_ExpMap0Op : Hyp_Op<"expmap0", [Pure]> {
  let summary = "exponential map at the origin: tangent space part -> point";
  let description = [{
    Maps rows v (the space part of a tangent vector at o = (sqrt(K), 0)) to
    points (sqrt(K) cosh(|v|/sqrt(K)), sqrt(K) sinh(|v|/sqrt(K)) v/|v|).
    ```mlir
    %p = hyp.expmap0 %v, %K : tensor<?x4xf32>, tensor<f32> -> tensor<?x5xf32>
    ```
  }];
  let arguments = (ins Hyp_Matrix:$v, Hyp_Scalar:$curvature);
  let results = (outs Hyp_Matrix:$result);
  let assemblyFormat = [{
    $v `,` $curvature attr-dict `:` type($v) `,` type($curvature) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Hyp_LogMap0Op : Hyp_Op<"logmap0", [Pure]> {
  let summary = "logarithmic map at the origin: point -> tangent space part";
  let description = [{
    Maps points x to sqrt(K) arccosh(x0/sqrt(K)) xs/|xs| (the space part).
    Folds `logmap0(expmap0(v, K), K)` to `v` (same curvature SSA value).
    ```mlir
    %v = hyp.logmap0 %p, %K : tensor<?x5xf32>, tensor<f32> -> tensor<?x4xf32>
    ```
  }];
  let arguments = (ins Hyp_Matrix:$x, Hyp_Scalar:$curvature);
  let results = (outs Hyp_Matrix:$result);
  let assemblyFormat = [{
    $x `,` $curvature attr-dict `:` type($x) `,` type($curvature) `->` type($result)
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Hyp_ProjectOp : Hyp_Op<"project",
    [Pure, AllTypesMatch<["x", "result"]>]> {
  let summary = "projection onto the hyperboloid (time recompute)";
  let description = [{
    Keeps the space part and sets x0 = sqrt(K + |xs|^2). Idempotent: folds
    `project(project(x, K), K)` to the inner projection.
    ```mlir
    %p = hyp.project %x, %K : tensor<?x5xf32>, tensor<f32>
    ```
  }];
  let arguments = (ins Hyp_Matrix:$x, Hyp_Scalar:$curvature);
  let results = (outs Hyp_Matrix:$result);
  let assemblyFormat = "$x `,` $curvature attr-dict `:` type($x) `,` type($curvature)";
  let hasFolder = 1;
}

def Hyp_DistanceOp : Hyp_Op<"distance", [Pure, AllTypesMatch<["x", "y"]>]> {
  let summary = "per-row geodesic distance sqrt(K) arccosh(-<x,y>_L / K)";
  let description = [{
    ```mlir
    %d = hyp.distance %x, %y, %K : tensor<?x5xf32>, tensor<f32> -> tensor<?xf32>
    ```
  }];
  let arguments = (ins Hyp_Matrix:$x, Hyp_Matrix:$y, Hyp_Scalar:$curvature);
  let results = (outs Hyp_RowVector:$result);
  let assemblyFormat = [{
    $x `,` $y `,` $curvature attr-dict `:` type($x) `,` type($curvature) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Hyp_LorentzLowRankOp : Hyp_Op<"lorentz_lowrank", [Pure]> {
  let summary = "direct Lorentz low-rank transformation of points";
  let description = [{
    u = B (A xs) on the space part, then the time is recomputed:
    sqrt(K + |u|^2) (`lorentz`) or sqrt(|u|^2 + 1/max(K, 1e-6)) (`reference`).
    ```mlir
    %q = hyp.lorentz_lowrank %p, %A, %B, %K {convention = #hyp.convention<lorentz>}
        : (tensor<?x65xf32>, tensor<8x64xf32>, tensor<32x8xf32>, tensor<f32>) -> tensor<?x33xf32>
    ```
  }];
  let arguments = (ins Hyp_Matrix:$x, Hyp_Matrix:$A, Hyp_Matrix:$B,
                   Hyp_Scalar:$curvature,
                   DefaultValuedAttr<Hyp_ConventionAttr,
                     "::mlir::hyp::Convention::lorentz">:$convention);
  let results = (outs Hyp_Matrix:$result);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Stage 0: the fused adapter (HYPLORA.md §3, CONTRACTS.md §3).
//===----------------------------------------------------------------------===//

// Attributes shared by hyp.adapter and hyp.adapter_grad: the variant, the
// convention, the scaling (alpha/r) and every clamp of HYPLORA.md §3.
defvar Hyp_AdapterAttrs = (ins
  Hyp_VariantAttr:$variant,
  DefaultValuedAttr<Hyp_ConventionAttr,
                    "::mlir::hyp::Convention::reference">:$convention,
  F32Attr:$scaling,
  DefaultValuedAttr<F32Attr, "12.0">:$max_sinh_arg,
  // n = max(|x|, norm_eps)
  DefaultValuedAttr<F32Attr, "1e-7">:$norm_eps,
  // K = softplus(k) + curvature_eps
  DefaultValuedAttr<F32Attr, "1e-6">:$curvature_eps,
  // reference time: sqrt(|u|^2 + 1 / max(K, time_eps))
  DefaultValuedAttr<F32Attr, "1e-6">:$time_eps,
  // th < small_th: ac = sqrt(2 max(th - 1, small_th_eps))
  DefaultValuedAttr<F32Attr, "1.01">:$small_th,
  DefaultValuedAttr<F32Attr, "1e-6">:$small_th_eps,
  // else ac = arccosh(max(th, 1 + acosh_eps))
  DefaultValuedAttr<F32Attr, "1e-7">:$acosh_eps,
  // out = S ac u / max(|u|, out_norm_eps)
  DefaultValuedAttr<F32Attr, "1e-7">:$out_norm_eps
);

def Hyp_AdapterOp : Hyp_Op<"adapter", [Pure, AllTypesMatch<["y0", "y"]>]> {
  let summary = "HypLoRA adapter forward: y = y0 + adapter(x)";
  let description = [{
    `x` (M x K activations), `A` (r x K), `B` (N x r), raw curvature `k` and
    norm scale `s` (rank-0), `y0` = W x + b (M x N). Results: `y`, `w`
    (M x r f32, the vector that multiplies B: y = y0 + w B^T) and `stats`
    (M x 4 f32 per-row scalars saved for the backward; columns
    [|x|^2, |u|^2, c, scaling*g], see docs/IR.md).
    ```mlir
    %y, %w, %stats = hyp.adapter %x, %A, %B, %k, %s, %y0
        {variant = #hyp.variant<hyplora>, convention = #hyp.convention<reference>,
         scaling = 4.0 : f32}
        : (tensor<?x576xbf16>, tensor<32x576xf32>, tensor<192x32xf32>, tensor<f32>,
           tensor<f32>, tensor<?x192xbf16>)
        -> (tensor<?x192xbf16>, tensor<?x32xf32>, tensor<?x4xf32>)
    ```
  }];
  let arguments = !con((ins Hyp_Matrix:$x, Hyp_Matrix:$A, Hyp_Matrix:$B,
                            Hyp_Scalar:$k, Hyp_Scalar:$s, Hyp_Matrix:$y0),
                       Hyp_AdapterAttrs);
  let results = (outs Hyp_Matrix:$y, Hyp_Matrix:$w, Hyp_Matrix:$stats);
  let assemblyFormat = [{
    $x `,` $A `,` $B `,` $k `,` $s `,` $y0 attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Hyp_AdapterGradOp : Hyp_Op<"adapter_grad",
    [Pure, AllTypesMatch<["dx0", "dx"]>, AllTypesMatch<["A", "dA"]>,
     AllTypesMatch<["B", "dB"]>, AllTypesMatch<["k", "dk"]>,
     AllTypesMatch<["s", "ds"]>]> {
  let summary = "HypLoRA adapter backward";
  let description = [{
    Given `dy` (M x N), the forward's inputs and its saved `w`, `stats`, and
    `dx0` = dY W: dx = dx0 + dH A + beta x, dA, dB, dk (w.r.t. the raw
    curvature, unclipped) and ds. Same attributes as `hyp.adapter`.
    ```mlir
    %dx, %dA, %dB, %dk, %ds = hyp.adapter_grad %dy, %x, %A, %B, %k, %s, %w, %stats, %dx0
        {variant = #hyp.variant<hyplora>, scaling = 4.0 : f32}
        : (tensor<?x192xbf16>, tensor<?x576xbf16>, tensor<32x576xf32>, tensor<192x32xf32>,
           tensor<f32>, tensor<f32>, tensor<?x32xf32>, tensor<?x4xf32>, tensor<?x576xbf16>)
        -> (tensor<?x576xbf16>, tensor<32x576xf32>, tensor<192x32xf32>, tensor<f32>, tensor<f32>)
    ```
  }];
  let arguments = !con((ins Hyp_Matrix:$dy, Hyp_Matrix:$x, Hyp_Matrix:$A,
                            Hyp_Matrix:$B, Hyp_Scalar:$k, Hyp_Scalar:$s,
                            Hyp_Matrix:$w, Hyp_Matrix:$stats, Hyp_Matrix:$dx0),
                       Hyp_AdapterAttrs);
  let results = (outs Hyp_Matrix:$dx, Hyp_Matrix:$dA, Hyp_Matrix:$dB,
                      Hyp_Scalar:$dk, Hyp_Scalar:$ds);
  let assemblyFormat = [{
    $dy `,` $x `,` $A `,` $B `,` $k `,` $s `,` $w `,` $stats `,` $dx0 attr-dict
    `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Stages 1-2: primitive row-scalar ops. Reductions accumulate in f32 (or f64
// when the operands are f64) whatever the operand element type.
//===----------------------------------------------------------------------===//

def Hyp_RowSqNormOp : Hyp_Op<"row_sqnorm", [Pure]> {
  let summary = "per-row sum of squares";
  let description = [{
    ```mlir
    %n2 = hyp.row_sqnorm %x : tensor<?x576xbf16> -> tensor<?xf32>
    ```
  }];
  let arguments = (ins Hyp_Matrix:$x);
  let results = (outs Hyp_RowVector:$result);
  let assemblyFormat = "$x attr-dict `:` type($x) `->` type($result)";
  let hasVerifier = 1;
}

def Hyp_RowDotOp : Hyp_Op<"row_dot", [Pure]> {
  let summary = "per-row inner product of two matrices of the same shape";
  let description = [{
    result[i] = sum_j a[i,j] b[i,j]. The backward uses it for <P, v>.
    ```mlir
    %d = hyp.row_dot %a, %b : tensor<?x32xf32>, tensor<?x32xf32> -> tensor<?xf32>
    ```
  }];
  let arguments = (ins Hyp_Matrix:$a, Hyp_Matrix:$b);
  let results = (outs Hyp_RowVector:$result);
  let assemblyFormat = [{
    $a `,` $b attr-dict `:` type($a) `,` type($b) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Hyp_MatmulTOp : Hyp_Op<"matmul_t", [Pure]> {
  let summary = "a b^T (+ acc): reduce over the shared last dim";
  let description = [{
    `a` is M x K, `b` is R x K, the result M x R. With `acc`, the result is
    acc + a b^T (the row-update form the emitter turns into `y += w B^T`).
    ```mlir
    %h = hyp.matmul_t %x, %A : tensor<?x576xbf16>, tensor<32x576xf32> -> tensor<?x32xf32>
    %y = hyp.matmul_t %w, %B acc %y0 : tensor<?x32xf32>, tensor<192x32xf32>, tensor<?x192xbf16>
        -> tensor<?x192xbf16>
    ```
  }];
  let arguments = (ins Hyp_Matrix:$a, Hyp_Matrix:$b, Optional<Hyp_Matrix>:$acc);
  let results = (outs Hyp_Matrix:$result);
  let assemblyFormat = [{
    $a `,` $b (`acc` $acc^)? attr-dict `:` type($a) `,` type($b) (`,` type($acc)^)? `->` type($result)
  }];
  let hasVerifier = 1;
}

def Hyp_MatmulOp : Hyp_Op<"matmul", [Pure]> {
  let summary = "a b (+ acc)";
  let description = [{
    `a` is M x R, `b` is R x K, the result M x K.
    ```mlir
    %dx = hyp.matmul %dH, %A acc %dx0 : tensor<?x32xf32>, tensor<32x576xf32>, tensor<?x576xbf16>
        -> tensor<?x576xbf16>
    ```
  }];
  let arguments = (ins Hyp_Matrix:$a, Hyp_Matrix:$b, Optional<Hyp_Matrix>:$acc);
  let results = (outs Hyp_Matrix:$result);
  let assemblyFormat = [{
    $a `,` $b (`acc` $acc^)? attr-dict `:` type($a) `,` type($b) (`,` type($acc)^)? `->` type($result)
  }];
  let hasVerifier = 1;
}

def Hyp_MatmulTNOp : Hyp_Op<"matmul_tn", [Pure]> {
  let summary = "a^T b: reduce over rows";
  let description = [{
    `a` is M x P, `b` is M x Q, the result P x Q (e.g. the Gram matrix B^T B,
    dA = dH^T x).
    ```mlir
    %G = hyp.matmul_tn %B, %B : tensor<192x32xf32>, tensor<192x32xf32> -> tensor<32x32xf32>
    ```
  }];
  let arguments = (ins Hyp_Matrix:$a, Hyp_Matrix:$b);
  let results = (outs Hyp_Matrix:$result);
  let assemblyFormat = [{
    $a `,` $b attr-dict `:` type($a) `,` type($b) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Hyp_QuadFormOp : Hyp_Op<"quad_form", [Pure]> {
  let summary = "per-row quadratic form v^T G v";
  let description = [{
    ```mlir
    %q = hyp.quad_form %v, %G : tensor<?x32xf32>, tensor<32x32xf32> -> tensor<?xf32>
    ```
  }];
  let arguments = (ins Hyp_Matrix:$v, Hyp_Matrix:$G);
  let results = (outs Hyp_RowVector:$result);
  let assemblyFormat = [{
    $v `,` $G attr-dict `:` type($v) `,` type($G) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Hyp_RowScaleOp : Hyp_Op<"row_scale", [Pure]> {
  let summary = "x[i,:] * c[i]";
  let description = [{
    The result may have another element type than `x` (computed in f32, then
    converted). Folds to `x` when c is 1 (a splat constant, or a `hyp.row_map`
    result that yields the constant 1.0) and the types match.
    ```mlir
    %xs = hyp.row_scale %x, %c : tensor<?x576xbf16>, tensor<?xf32> -> tensor<?x576xf32>
    ```
  }];
  let arguments = (ins Hyp_Matrix:$x, Hyp_RowVector:$c);
  let results = (outs Hyp_Matrix:$result);
  let assemblyFormat = [{
    $x `,` $c attr-dict `:` type($x) `,` type($c) `->` type($result)
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Hyp_AddOp : Hyp_Op<"add", [Pure, Commutative, SameOperandsAndResultType]> {
  let summary = "elementwise sum of two tensors of the same type";
  let description = [{
    Folds `add(a, 0)` to `a` when one side is a splat zero constant.
    ```mlir
    %s = hyp.add %a, %b : tensor<?x32xf32>
    ```
  }];
  let arguments = (ins AnyTypeOf<[Hyp_Matrix, Hyp_RowVector, Hyp_Scalar]>:$lhs,
                       AnyTypeOf<[Hyp_Matrix, Hyp_RowVector, Hyp_Scalar]>:$rhs);
  let results = (outs AnyTypeOf<[Hyp_Matrix, Hyp_RowVector, Hyp_Scalar]>:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` type($result)";
  let hasFolder = 1;
}

def Hyp_ReduceRowsOp : Hyp_Op<"reduce_rows", [Pure]> {
  let summary = "sum of a per-row vector over all rows";
  let description = [{
    ```mlir
    %dk = hyp.reduce_rows %t : tensor<?xf32> -> tensor<f32>
    ```
  }];
  let arguments = (ins Hyp_RowVector:$input);
  let results = (outs Hyp_Scalar:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def Hyp_PackColsOp : Hyp_Op<"pack_cols", [Pure]> {
  let summary = "per-row vectors -> the columns of an M x n matrix";
  let description = [{
    Builds the saved `stats` of the forward.
    ```mlir
    %st = hyp.pack_cols %a, %b, %c, %d : tensor<?xf32>, tensor<?xf32>, tensor<?xf32>,
                                         tensor<?xf32> -> tensor<?x4xf32>
    ```
  }];
  let arguments = (ins Variadic<Hyp_RowVector>:$columns);
  let results = (outs Hyp_Matrix:$result);
  let assemblyFormat = "$columns attr-dict `:` type($columns) `->` type($result)";
  let hasVerifier = 1;
}

def Hyp_ExtractColOp : Hyp_Op<"extract_col", [Pure]> {
  let summary = "one column of an M x n matrix as a per-row vector";
  let description = [{
    Folds `extract_col(pack_cols(a, b, ...), i)` to the i-th packed vector.
    ```mlir
    %q = hyp.extract_col %stats[1] : tensor<?x4xf32> -> tensor<?xf32>
    ```
  }];
  let arguments = (ins Hyp_Matrix:$input, I64Attr:$column);
  let results = (outs Hyp_RowVector:$result);
  let assemblyFormat = [{
    $input `[` $column `]` attr-dict `:` type($input) `->` type($result)
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Hyp_CastOp : Hyp_Op<"cast", [Pure]> {
  let summary = "element type conversion of a tensor (same shape)";
  let description = [{
    Folds to its operand when the types are equal.
    ```mlir
    %y = hyp.cast %x : tensor<?x192xf32> to tensor<?x192xbf16>
    ```
  }];
  let arguments = (ins AnyTypeOf<[Hyp_Matrix, Hyp_RowVector, Hyp_Scalar]>:$input);
  let results = (outs AnyTypeOf<[Hyp_Matrix, Hyp_RowVector, Hyp_Scalar]>:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `to` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Hyp_RowMapOp : Hyp_Op<"row_map",
    [RecursiveMemoryEffects, AttrSizedOperandSegments, IsolatedFromAbove,
     SingleBlockImplicitTerminator<"YieldOp">]> {
  let summary = "straight-line scalar program applied to every row";
  let description = [{
    The body receives one scalar per `rows` operand (the row's element), then
    one per `scalars` operand (shared by all rows), and yields one scalar per
    result. The body holds `arith`/`math` ops only, no control flow, so the
    backward pass can differentiate it op by op.
    ```mlir
    %c = hyp.row_map (%n2 : tensor<?xf32>) scalars(%s : tensor<f32>) {
    ^bb0(%a: f32, %b: f32):
      %r = arith.divf %a, %b : f32
      hyp.yield %r : f32
    } -> tensor<?xf32>
    ```
  }];
  let arguments = (ins Variadic<Hyp_RowVector>:$rows,
                       Variadic<Hyp_Scalar>:$scalars);
  let results = (outs Variadic<Hyp_RowVector>:$results);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    `(` $rows `:` type($rows) `)` (`scalars` `(` $scalars^ `:` type($scalars) `)`)?
    $body attr-dict-with-keyword `->` type($results)
  }];
  let hasVerifier = 1;
  let hasRegionVerifier = 1;
  let hasCanonicalizer = 1;
  let extraClassDeclaration = [{
    /// The body's terminator.
    YieldOp getYield();
  }];
}

def Hyp_KernelOp : Hyp_Op<"kernel",
    [RecursiveMemoryEffects, IsolatedFromAbove,
     SingleBlockImplicitTerminator<"YieldOp">]> {
  let summary = "a group of primitive ops that becomes one CUDA kernel";
  let description = [{
    Isolated from above: the body sees only its `ins` (as block arguments, in
    order) and yields the kernel's outputs. `sym_name` is the kernel's
    `extern "C"` name. The launch order per program is in the enclosing
    function's `hyp.programs` attribute (docs/IR.md stage 3).
    ```mlir
    %G = hyp.kernel "hyp_gram" ins(%B : tensor<192x32xf32>) {
    ^bb0(%b: tensor<192x32xf32>):
      %g = hyp.matmul_tn %b, %b : tensor<192x32xf32>, tensor<192x32xf32> -> tensor<32x32xf32>
      hyp.yield %g : tensor<32x32xf32>
    } -> tensor<32x32xf32>
    ```
  }];
  let arguments = (ins StrAttr:$sym_name, Variadic<AnyRankedTensor>:$inputs);
  let results = (outs Variadic<AnyRankedTensor>:$results);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    $sym_name `ins` `(` ($inputs^ `:` type($inputs))? `)` $body attr-dict-with-keyword
    `->` type($results)
  }];
  let hasRegionVerifier = 1;
  let extraClassDeclaration = [{
    /// The body's terminator.
    YieldOp getYield();
  }];
}

def Hyp_YieldOp : Hyp_Op<"yield",
    [Pure, Terminator, ReturnLike, HasParent<"RowMapOp, KernelOp">]> {
  let summary = "terminator of hyp.row_map and hyp.kernel bodies";
  let description = [{
    ```mlir
    hyp.yield %a, %b : f32, f32
    ```
  }];
  let arguments = (ins Variadic<AnyType>:$values);
  let builders = [OpBuilder<(ins), [{ build($_builder, $_state, {}); }]>];
  let assemblyFormat = "($values^ `:` type($values))? attr-dict";
}

#endif // HYP_OPS_TD
