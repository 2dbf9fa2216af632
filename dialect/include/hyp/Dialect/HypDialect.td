//===- HypDialect.td - the hyp dialect ---------------------*- tablegen -*-===//
//
// The hyp dialect describes hyperbolic low-rank adapters (HypLoRA) at three
// levels: textbook Lorentz-model ops and the fused adapter ops (stage 0), a
// row-scalar form of matmuls and per-row scalar programs (stages 1-2), and
// `hyp.kernel` groups, one per CUDA kernel (stage 3). See docs/IR.md.
//
//===----------------------------------------------------------------------===//
#ifndef HYP_DIALECT_TD
#define HYP_DIALECT_TD

include "mlir/IR/OpBase.td"

def Hyp_Dialect : Dialect {
  let name = "hyp";
  let cppNamespace = "::mlir::hyp";
  let summary = "Hyperbolic (Lorentz model) low-rank adaptation ops";
  let description = [{
    Ops on row-major tensors of token rows (dim 0 = rows, may be dynamic).
    Row math is f32; activations may be bf16/f16/f32. Scalars shared by all
    rows (raw curvature `k`, norm scale `s`) are rank-0 tensors; per-row
    scalars are rank-1 tensors with the row count of their matrix.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect"];
  let useDefaultAttributePrinterParser = 1;
}

class Hyp_Op<string mnemonic, list<Trait> traits = []>
    : Op<Hyp_Dialect, mnemonic, traits>;

//===----------------------------------------------------------------------===//
// Type constraints
//===----------------------------------------------------------------------===//

// Element types of activations and parameters (f64 for float64 reference tests).
def Hyp_Float : AnyTypeOf<[F32, BF16, F16, F64]>;
// Element types in which row math is done.
def Hyp_RowFloat : AnyTypeOf<[F32, F64]>;

def Hyp_Matrix : 2DTensorOf<[F32, BF16, F16, F64]>;
def Hyp_RowVector : 1DTensorOf<[F32, F64]>;
def Hyp_Scalar : 0DTensorOf<[F32, F64]>;

#endif // HYP_DIALECT_TD
