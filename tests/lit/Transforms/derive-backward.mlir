// RUN: hyp-opt %s -split-input-file --hyp-derive-backward --canonicalize | FileCheck %s
// The r-space chain rule of HYPLORA.md §4; the values are checked by
// pipeline-numeric-*.mlir against torch autograd.

// CHECK-LABEL: func @hyplora
// CHECK-SAME: (%[[DY:[^:]*]]: tensor<?x32xbf16>, %[[X:[^:]*]]: tensor<?x64xbf16>, %[[A:[^:]*]]: tensor<8x64xf32>, %[[B:[^:]*]]: tensor<32x8xf32>, %[[K:[^:]*]]: tensor<f32>, %[[S:[^:]*]]: tensor<f32>, %[[W:[^:]*]]: tensor<?x8xf32>, %[[ST:[^:]*]]: tensor<?x4xf32>, %[[DX0:[^:]*]]: tensor<?x64xbf16>)
// CHECK-SAME: attributes {hyp.program = "backward"}
// CHECK-DAG: %[[P:.*]] = hyp.matmul %[[DY]], %[[B]] : tensor<?x32xbf16>, tensor<32x8xf32> -> tensor<?x8xf32>
// CHECK-DAG: %[[GS:.*]] = hyp.extract_col %[[ST]][3]
// CHECK-DAG: %[[DBW:.*]] = hyp.matmul_tn %[[DY]], %[[W]] : tensor<?x32xbf16>, tensor<?x8xf32> -> tensor<32x8xf32>
// CHECK-DAG: %[[N2:.*]] = hyp.extract_col %[[ST]][0]
// CHECK-DAG: %[[Q:.*]] = hyp.extract_col %[[ST]][1]
// CHECK-DAG: %[[C:.*]] = hyp.extract_col %[[ST]][2]
//   v = w / gs
// CHECK: %[[INV:.*]] = hyp.row_map(%[[GS]] : tensor<?xf32>)
// CHECK: %[[V:.*]] = hyp.row_scale %[[W]], %[[INV]]
// CHECK: %[[DGS:.*]] = hyp.row_dot %[[P]], %[[V]]
//   up-scale adjoint: replays acosh/sqrt-branch program, then reverse
// CHECK: %[[UP:.*]]:2 = hyp.row_map(%[[Q]], %[[DGS]] : tensor<?xf32>, tensor<?xf32>) scalars(%[[K]] : tensor<f32>)
// CHECK: math.acosh
// CHECK: hyp.yield
// CHECK: %[[G:.*]] = hyp.matmul_tn %[[B]], %[[B]] : tensor<32x8xf32>, tensor<32x8xf32> -> tensor<8x8xf32>
// CHECK: %[[GV:.*]] = hyp.matmul %[[V]], %[[G]]
// CHECK-DAG: %[[T1:.*]] = hyp.row_scale %[[P]], %[[GS]]
// CHECK-DAG: %[[T2:.*]] = hyp.row_scale %[[GV]], %[[UP]]#0
// CHECK: %[[DV:.*]] = hyp.add %[[T1]], %[[T2]]
// CHECK: %[[DVV:.*]] = hyp.row_dot %[[DV]], %[[V]]
//   down-scale adjoint
// CHECK: %[[DOWN:.*]]:3 = hyp.row_map(%[[N2]], %[[DVV]] : tensor<?xf32>, tensor<?xf32>) scalars(%[[K]], %[[S]] : tensor<f32>, tensor<f32>)
// CHECK: math.sinh
// CHECK: math.cosh
// CHECK: hyp.yield
// CHECK: %[[DKR:.*]] = hyp.add %[[DOWN]]#1, %[[UP]]#1
// CHECK: %[[DH:.*]] = hyp.row_scale %[[DV]], %[[C]]
// CHECK: %[[VQ:.*]] = hyp.row_scale %[[V]], %[[UP]]#0
// CHECK: %[[R2:.*]] = hyp.matmul_tn %[[VQ]], %[[V]] : tensor<?x8xf32>, tensor<?x8xf32> -> tensor<8x8xf32>
// CHECK: %[[BR:.*]] = hyp.matmul %[[B]], %[[R2]] : tensor<32x8xf32>, tensor<8x8xf32> -> tensor<32x8xf32>
// CHECK: %[[DB:.*]] = hyp.add %[[DBW]], %[[BR]] : tensor<32x8xf32>
// CHECK: %[[DA:.*]] = hyp.matmul_tn %[[DH]], %[[X]] : tensor<?x8xf32>, tensor<?x64xbf16> -> tensor<8x64xf32>
// CHECK: %[[DX0F:.*]] = hyp.cast %[[DX0]] : tensor<?x64xbf16> to tensor<?x64xf32>
// CHECK: %[[BX:.*]] = hyp.row_scale %[[X]], %[[DOWN]]#0 : tensor<?x64xbf16>, tensor<?xf32> -> tensor<?x64xf32>
// CHECK: %[[ACC:.*]] = hyp.add %[[DX0F]], %[[BX]]
// CHECK: %[[DXF:.*]] = hyp.matmul %[[DH]], %[[A]] acc %[[ACC]]
// CHECK: %[[DX:.*]] = hyp.cast %[[DXF]] : tensor<?x64xf32> to tensor<?x64xbf16>
// CHECK: %[[DK:.*]] = hyp.reduce_rows %[[DKR]]
// CHECK: %[[DS:.*]] = hyp.reduce_rows %[[DOWN]]#2
// CHECK: return %[[DX]], %[[DA]], %[[DB]], %[[DK]], %[[DS]]
func.func @hyplora(%dy: tensor<?x32xbf16>, %x: tensor<?x64xbf16>, %A: tensor<8x64xf32>, %B: tensor<32x8xf32>, %k: tensor<f32>, %s: tensor<f32>,
                   %w: tensor<?x8xf32>, %st: tensor<?x4xf32>, %dx0: tensor<?x64xbf16>)
    -> (tensor<?x64xbf16>, tensor<8x64xf32>, tensor<32x8xf32>, tensor<f32>, tensor<f32>) {
  %dx, %dA, %dB, %dk, %ds = hyp.adapter_grad %dy, %x, %A, %B, %k, %s, %w, %st, %dx0 {variant = #hyp.variant<hyplora>, scaling = 4.0 : f32}
      : (tensor<?x32xbf16>, tensor<?x64xbf16>, tensor<8x64xf32>, tensor<32x8xf32>, tensor<f32>, tensor<f32>, tensor<?x8xf32>, tensor<?x4xf32>, tensor<?x64xbf16>)
      -> (tensor<?x64xbf16>, tensor<8x64xf32>, tensor<32x8xf32>, tensor<f32>, tensor<f32>)
  return %dx, %dA, %dB, %dk, %ds : tensor<?x64xbf16>, tensor<8x64xf32>, tensor<32x8xf32>, tensor<f32>, tensor<f32>
}

// -----

// Derivative rules guard singular local derivatives (sqrt at 0, division):
// a zero adjoint gives an exact 0, never 0 * inf.
// CHECK-LABEL: func @guards
// CHECK: hyp.row_map
// CHECK: arith.cmpf oeq
// CHECK: arith.select
func.func @guards(%dy: tensor<?x32xf32>, %x: tensor<?x64xf32>, %A: tensor<8x64xf32>, %B: tensor<32x8xf32>, %k: tensor<f32>, %s: tensor<f32>,
                  %w: tensor<?x8xf32>, %st: tensor<?x4xf32>, %dx0: tensor<?x64xf32>)
    -> (tensor<?x64xf32>, tensor<8x64xf32>, tensor<32x8xf32>, tensor<f32>, tensor<f32>) {
  %dx, %dA, %dB, %dk, %ds = hyp.adapter_grad %dy, %x, %A, %B, %k, %s, %w, %st, %dx0 {variant = #hyp.variant<hyplora>, convention = #hyp.convention<lorentz>, scaling = 1.0 : f32}
      : (tensor<?x32xf32>, tensor<?x64xf32>, tensor<8x64xf32>, tensor<32x8xf32>, tensor<f32>, tensor<f32>, tensor<?x8xf32>, tensor<?x4xf32>, tensor<?x64xf32>)
      -> (tensor<?x64xf32>, tensor<8x64xf32>, tensor<32x8xf32>, tensor<f32>, tensor<f32>)
  return %dx, %dA, %dB, %dk, %ds : tensor<?x64xf32>, tensor<8x64xf32>, tensor<32x8xf32>, tensor<f32>, tensor<f32>
}

// -----

// LoRA: dH = scaling P, dB = dY^T w, no Gram matrix, no row programs to
// differentiate; dk = ds = 0.
// CHECK-LABEL: func @lora
// CHECK-NOT: hyp.quad_form
// CHECK-NOT: hyp.row_dot
// CHECK-DAG: %[[ZERO:.*]] = arith.constant dense<0.000000e+00> : tensor<f32>
// CHECK-DAG: %[[P:.*]] = hyp.matmul %{{.*}}, %{{.*}} : tensor<?x32xf32>, tensor<32x8xf32> -> tensor<?x8xf32>
// CHECK-DAG: %[[GS:.*]] = hyp.extract_col %{{.*}}[3]
// CHECK-DAG: %[[DB:.*]] = hyp.matmul_tn
// CHECK: %[[DH:.*]] = hyp.row_scale %[[P]], %[[GS]]
// CHECK: %[[DA:.*]] = hyp.matmul_tn %[[DH]]
// CHECK: %[[DX:.*]] = hyp.matmul %[[DH]], %{{.*}} acc %{{.*}}
// CHECK: return %[[DX]], %[[DA]], %[[DB]], %[[ZERO]], %[[ZERO]]
func.func @lora(%dy: tensor<?x32xf32>, %x: tensor<?x64xf32>, %A: tensor<8x64xf32>, %B: tensor<32x8xf32>, %k: tensor<f32>, %s: tensor<f32>,
                %w: tensor<?x8xf32>, %st: tensor<?x4xf32>, %dx0: tensor<?x64xf32>)
    -> (tensor<?x64xf32>, tensor<8x64xf32>, tensor<32x8xf32>, tensor<f32>, tensor<f32>) {
  %dx, %dA, %dB, %dk, %ds = hyp.adapter_grad %dy, %x, %A, %B, %k, %s, %w, %st, %dx0 {variant = #hyp.variant<lora>, scaling = 2.0 : f32}
      : (tensor<?x32xf32>, tensor<?x64xf32>, tensor<8x64xf32>, tensor<32x8xf32>, tensor<f32>, tensor<f32>, tensor<?x8xf32>, tensor<?x4xf32>, tensor<?x64xf32>)
      -> (tensor<?x64xf32>, tensor<8x64xf32>, tensor<32x8xf32>, tensor<f32>, tensor<f32>)
  return %dx, %dA, %dB, %dk, %ds : tensor<?x64xf32>, tensor<8x64xf32>, tensor<32x8xf32>, tensor<f32>, tensor<f32>
}
