//===- Passes.td - hyp transformation passes ---------------*- tablegen -*-===//
//
// The pipeline (Pipeline.h) runs them in this order:
//   stage 0 -> 1: hyp-expand-adapter, hyp-derive-backward
//   stage 1 -> 2: hyp-hoist-row-scale, hyp-gram-norm
//   stage 2 -> 3: hyp-group-kernels
// with canonicalize + cse between stages.
//
//===----------------------------------------------------------------------===//
#ifndef HYP_TRANSFORMS_PASSES_TD
#define HYP_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def HypExpandAdapter : Pass<"hyp-expand-adapter", "func::FuncOp"> {
  let summary = "Expand hyp.adapter and the Lorentz-model ops into row-scalar form";
  let description = [{
    Rewrites `hyp.adapter` into primitive ops following HYPLORA.md §3 exactly,
    for each variant and convention. The per-row scalar chain goes into
    `hyp.row_map` bodies; the matrix work stays in matmuls, in the order the
    formula has it (the exp map scales x *before* the down-projection, |u| is
    the norm of the N-wide u): the later passes make it fast.

    Before:
    ```mlir
    %y, %w, %st = hyp.adapter %x, %A, %B, %k, %s, %y0 {variant = #hyp.variant<hyplora>, scaling = 4.0 : f32} : ...
    ```
    After (scalar bodies elided):
    ```mlir
    %n2 = hyp.row_sqnorm %x
    %c = hyp.row_map (%n2) scalars(%k, %s) { n, K, S, a = min(n/s/S, 12), c = S sinh(a)/n }
    %xs = hyp.row_scale %x, %c
    %v = hyp.matmul_t %xs, %A
    %u = hyp.matmul_t %v, %B
    %q = hyp.row_sqnorm %u
    %gs = hyp.row_map (%q) scalars(%k) { t, th, ac, scaling * S ac / max(|u|, eps) }
    %w = hyp.row_scale %v, %gs
    %y = hyp.matmul_t %w, %B acc %y0
    %st = hyp.pack_cols %n2, %q, %c, %gs
    ```
    The textbook ops (`hyp.expmap0`, `hyp.logmap0`, `hyp.project`) expand to
    `tensor.extract_slice`/`tensor.concat` around the same primitives.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::tensor::TensorDialect"];
}

def HypDeriveBackward : Pass<"hyp-derive-backward", "func::FuncOp"> {
  let summary = "Expand hyp.adapter_grad by reverse-mode differentiation of the forward row programs";
  let description = [{
    Rebuilds the forward's scalar programs (the same builder as
    hyp-expand-adapter), differentiates them op by op in reverse (one rule per
    arith/math op), and emits the r-space chain rule of HYPLORA.md §4:

    ```mlir
    %dx, %dA, %dB, %dk, %ds = hyp.adapter_grad %dy, %x, %A, %B, %k, %s, %w, %st, %dx0 {...}
    ```
    becomes
    ```mlir
    %G    = hyp.matmul_tn %B, %B                  // r x r
    %P    = hyp.matmul %dy, %B                    // dw = dY B
    %v    = hyp.row_scale %w, (1 / gs)            // v = c A x
    %dgs  = hyp.row_dot %P, %v
    %dq, %dk2 = hyp.row_map (%q, %dgs) scalars(%k) { forward replay; reverse sweep }
    %dv   = gs P + 2 dq (v G)
    %dn2, %dk1, %ds1 = hyp.row_map (%n2, <dv, v>) scalars(%k, %s) { ... }
    %dH   = hyp.row_scale %dv, %c                  // dH = c dv
    %R2   = hyp.matmul_tn (2 dq v), %v             // 2 V^T diag(dq) V
    %dB   = hyp.add (hyp.matmul_tn %dy, %w), (hyp.matmul %B, %R2)
    %dA   = hyp.matmul_tn %dH, %x
    %dx   = hyp.matmul %dH, %A acc (dx0 + 2 dn2 x)
    %dk   = hyp.reduce_rows (dk1 + dk2) ; %ds = hyp.reduce_rows %ds1
    ```
    dk is w.r.t. the raw curvature k (through the softplus), unclipped.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect"];
}

def HypHoistRowScale : Pass<"hyp-hoist-row-scale", "func::FuncOp"> {
  let summary = "matmul_t(row_scale(x, c), A) -> row_scale(matmul_t(x, A), c)";
  let description = [{
    A (c x) = c (A x) for a per-row c: the exp map's scale moves after the
    down-projection, so the kernel reads x once and scales r values per row
    instead of K.
    ```mlir
    %xs = hyp.row_scale %x, %c : tensor<?x576xbf16>, tensor<?xf32> -> tensor<?x576xf32>
    %v = hyp.matmul_t %xs, %A : tensor<?x576xf32>, tensor<32x576xf32> -> tensor<?x32xf32>
    ```
    becomes
    ```mlir
    %h = hyp.matmul_t %x, %A : tensor<?x576xbf16>, tensor<32x576xf32> -> tensor<?x32xf32>
    %v = hyp.row_scale %h, %c : tensor<?x32xf32>, tensor<?xf32> -> tensor<?x32xf32>
    ```
    Not applied with an `acc` operand (c would scale the accumulator too), nor
    when the product is not narrower than x (an up-projection r -> N: more
    values to scale, and |B v|^2 would be hidden from hyp-gram-norm).
  }];
}

def HypGramNorm : Pass<"hyp-gram-norm", "func::FuncOp"> {
  let summary = "row_sqnorm(matmul_t(v, B)) -> quad_form(v, matmul_tn(B, B)) when rank < width";
  let description = [{
    |B v|^2 = v^T (B^T B) v: the N-wide u need not exist to get its norm. Only
    when the inner dimension r is smaller than the width N (else the direct
    norm is cheaper), and only for a matmul_t without `acc`.
    ```mlir
    %u = hyp.matmul_t %v, %B : tensor<?x32xf32>, tensor<192x32xf32> -> tensor<?x192xf32>
    %q = hyp.row_sqnorm %u : tensor<?x192xf32> -> tensor<?xf32>
    ```
    becomes
    ```mlir
    %G = hyp.matmul_tn %B, %B : tensor<192x32xf32>, tensor<192x32xf32> -> tensor<32x32xf32>
    %q = hyp.quad_form %v, %G : tensor<?x32xf32>, tensor<32x32xf32> -> tensor<?xf32>
    ```
  }];
}

def HypGroupKernels : Pass<"hyp-group-kernels", "func::FuncOp"> {
  let summary = "Group primitive ops into hyp.kernel regions (one CUDA kernel each)";
  let description = [{
    Each kernel is one loop skeleton (docs/IR.md stage 3: weight, row,
    update, colsum) and is named `<prefix>_<program>_<role>`, the program
    from the function's `hyp.program` ("forward" -> fwd, "backward" -> bwd):
    `hyp_fwd_gram` (G = B^T B), `hyp_fwd_down` (one read of x: row_sqnorm,
    matmul_t x A^T, row maps, quad_form, row_scale -> w, stats), `hyp_fwd_up`
    (y = y0 + w B^T), `hyp_bwd_gram`, `hyp_bwd_dy` (one read of dY: P = dY B,
    the backward row maps, dH, beta, the dk/ds row sums and R), `hyp_bwd_db`
    (dB = dY^T w + B R), `hyp_bwd_dx` (one read of x: dx = dx0 + dH A + beta x
    and dA = dH^T x). Row work after a sum over all rows goes to a later
    kernel. The function gets `hyp.kernels = [...]`, the launch order.

    With `dy-pass=1` the backward reads dY once, as the tensor-core emitter
    runs it at r <= 32 (libhypc sets the option exactly when it will):
    `hyp_bwd_dy_pass` (the products of the wide dY, P = dY B and dY^T w),
    `hyp_bwd_rows` (the row chain rule on complete rows of P, with R, dk,
    ds), `hyp_bwd_db_gram` (dB = dY^T w + B R, after R is complete) and
    `hyp_bwd_dx` as before.
    ```mlir
    %G = hyp.matmul_tn %B, %B : ...
    ```
    becomes
    ```mlir
    %G = hyp.kernel "hyp_fwd_gram" ins(%B : tensor<192x32xf32>) {
    ^bb0(%b: tensor<192x32xf32>):
      %g = hyp.matmul_tn %b, %b : ...
      hyp.yield %g : tensor<32x32xf32>
    } -> tensor<32x32xf32>
    ```
  }];
  let options = [
    Option<"prefix", "prefix", "std::string", "\"hyp\"",
           "Kernel name prefix: <prefix>_<program>_<role>">,
    Option<"dyPass", "dy-pass", "bool", "false",
           "One kernel for both products of a wide argument read by a column sum "
           "(the backward's one pass over dY), then the rows kernel">
  ];
}

def HypDumpStage : Pass<"hyp-dump-stage", "ModuleOp"> {
  let summary = "Write the module to <dir>/<name>.mlir (pipeline stage dumps)";
  let description = [{
    The pipeline inserts one after each stage when HYP_DUMP_DIR is set, so
    `hyp-opt --hyp-pipeline <dir>/00-input.mlir` reproduces a compile.
  }];
  let options = [
    Option<"dir", "dir", "std::string", "\"\"", "Output directory">,
    Option<"stageName", "name", "std::string", "\"stage\"", "File name without .mlir">
  ];
}

def HypTestRowMapDerivative : Pass<"hyp-test-row-map-derivative", "func::FuncOp"> {
  let summary = "Test only: replace each single-result hyp.row_map by its derivative w.r.t. its first operand";
  let description = [{
    Exercises the derivative rules of hyp-derive-backward (ScalarAD) on
    hand-written scalar programs, so every rule can be compared with finite
    differences (tests/lit/Transforms/row-map-derivative.mlir), including
    rules no adapter program uses yet.
  }];
}

#endif // HYP_TRANSFORMS_PASSES_TD
