// The other variants and conventions: the differences come from the IR's row
// maps (lorentz: asinh, no 1/K; simplified: the Poincare maps, no norm scale;
// LoRA: constants, no Gram matrix), the kernels' parameters follow.
// RUN: sed -e 's/VARIANT/hyplora/g' -e 's/CONV/lorentz/g' -e 's/ACT/f32/g' -e 's/KD/13/g' -e 's/ND/7/g' -e 's/RK/4/g' %S/Inputs/adapter.mlir.in \
// RUN:   | hyp-opt --hyp-pipeline | hyp-translate --hyp-to-cuda | FileCheck %s --check-prefix=LORENTZ
// RUN: sed -e 's/VARIANT/hyplora_simplified/g' -e 's/CONV/reference/g' -e 's/ACT/f16/g' -e 's/KD/64/g' -e 's/ND/40/g' -e 's/RK/8/g' %S/Inputs/adapter.mlir.in \
// RUN:   | hyp-opt --hyp-pipeline | hyp-translate --hyp-to-cuda --hyp-tensor-cores | FileCheck %s --check-prefix=SIMPLIFIED
// RUN: sed -e 's/VARIANT/lora/g' -e 's/CONV/reference/g' -e 's/ACT/bf16/g' -e 's/KD/13/g' -e 's/ND/7/g' -e 's/RK/4/g' %S/Inputs/adapter.mlir.in \
// RUN:   | hyp-opt --hyp-pipeline | hyp-translate --hyp-to-cuda --hyp-tensor-cores | FileCheck %s --check-prefix=LORA

// LORENTZ: typedef float hyp_act_t;
// LORENTZ-LABEL: void hyp_row_scalars(
// LORENTZ: hyp_sinh(
// LORENTZ: hyp_asinh(
// LORENTZ-NOT: hyp_acosh(
// LORENTZ: *gs_out = scaling *
// LORENTZ-LABEL: hyp_fwd_down: row-reduce over x
// LORENTZ: const float *__restrict__ G, const float *__restrict__ k, const float *__restrict__ s,

// SIMPLIFIED-NOT: #include
// SIMPLIFIED: struct alignas(2) hyp_act_t { unsigned short bits; };
// SIMPLIFIED: asm("cvt.rn.f16.f32 %0, %1;" : "=h"(r.bits) : "f"(v));
// SIMPLIFIED-LABEL: void hyp_row_scalars(
// SIMPLIFIED-NOT: hyp_sinh(
// SIMPLIFIED: *gs_out = scaling *
// SIMPLIFIED-LABEL: hyp_fwd_down: row-reduce over x
// SIMPLIFIED: const float *__restrict__ G, const float *__restrict__ k, float *__restrict__ w,
// SIMPLIFIED-LABEL: hyp_fwd_up: row-update of y
// Tensor cores requested, but fp16 activations keep the SIMT skeletons (no
// safe fp16 hi/lo split).
// SIMPLIFIED: hyp_fwd_up_body<128, FWD_UP_THREADS, FWD_UP_ROWS, HYP_R, HYP_N, true>(w, B, y, M);
// SIMPLIFIED-LABEL: hyp_bwd_dy: row-reduce over dY
// SIMPLIFIED: float *R, float *dk, long long M, float scaling)
// SIMPLIFIED-LABEL: hyp_bwd_db: column-reduce over dY
// SIMPLIFIED: hyp_bwd_db_body<128, BWD_DB_THREADS, BWD_DB_ROWS, HYP_R, HYP_N, true>

// LORA-LABEL: void hyp_row_scalars(
// LORA-NOT: hyp_sqrt(
// LORA: *gs_out = scaling *
// LORA-NOT: hyp_gram
// LORA-LABEL: hyp_fwd_down: row-reduce over x
// LORA: hyp_fwd_down(const hyp_act_t *__restrict__ x, const float *__restrict__ A, float *__restrict__ w, float *__restrict__ stats, long long M, float scaling)
// LORA-NEXT: hyp_fwd_down_body<FWD_DOWN_BLOCK_M, HYP_R, FWD_DOWN_THREADS, FWD_DOWN_VEC, HYP_K, false>(x, A, nullptr, nullptr, nullptr, w, stats, M, scaling);
// LORA-LABEL: hyp_bwd_dx: the adapter's part of dx
// LORA: hyp_bwd_dx(const hyp_act_t *__restrict__ x, const float *__restrict__ A, const float *__restrict__ dH, hyp_act_t *__restrict__ dx, float *dA, long long M)
// Tensor cores requested, bf16, but r = 4 (not a multiple of 8): SIMT.
// LORA-NEXT: hyp_bwd_dx_body<128, BWD_DX_THREADS, BWD_DX_ROWS, HYP_R, HYP_K, false>(x, A, dH, nullptr, dx, dA, M);
