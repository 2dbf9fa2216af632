// The full pipeline, then the emitter: one kernel per skeleton, the row math
// printed from the IR's hyp.row_map ops (reference convention: the 1/K time
// recompute and the th < 1.01 branch of HYPLORA.md section 3).
// RUN: sed -e 's/VARIANT/hyplora/g' -e 's/CONV/reference/g' -e 's/ACT/bf16/g' -e 's/KD/576/g' -e 's/ND/192/g' -e 's/RK/32/g' %S/Inputs/adapter.mlir.in > %t.mlir
// RUN: hyp-opt --hyp-pipeline %t.mlir -o %t.stage3.mlir
// RUN: hyp-translate --hyp-to-cuda %t.stage3.mlir | FileCheck %s
// RUN: hyp-translate --hyp-to-kernel-metadata %t.stage3.mlir | FileCheck %s --check-prefix=META
// Tensor cores when asked for (bf16, r % 8 == 0: HypTensorCore.cuh); the
// row-reduce has no VEC tunable there (16-byte loads whenever aligned), and
// y += w B^T on its MMA skeleton too (the SIMT alternative was retired).
// The two-pass backward (hyp_bwd_dy, hyp_bwd_db: --hyp-dy-pass=0; r > 32
// always); the default one pass over dY is emit-dy-pass.mlir's.
// RUN: hyp-translate --hyp-to-cuda --hyp-tensor-cores --hyp-dy-pass=0 %t.stage3.mlir | FileCheck %s --check-prefix=TC
// RUN: hyp-translate --hyp-to-kernel-metadata --hyp-tensor-cores --hyp-dy-pass=0 %t.stage3.mlir | FileCheck %s --check-prefix=TCMETA
// TCMETA: "BT": {
// TCMETA-NEXT: "doc": "B transposed (hyp_gram writes it, hyp_bwd_dy reads it)",
// TCMETA-NEXT: "elem": "f32",
// TCMETA-NEXT: "role": "scratch",
// TCMETA-NEXT: "shape": [
// TCMETA-NEXT: "r",
// TCMETA-NEXT: "N"
// TCMETA-LABEL: "name": "hyp_fwd_up"
// TCMETA: "launch_only": true,
// TCMETA-NEXT: "name": "FWD_UP_ROWS"
// TCMETA-LABEL: "name": "hyp_bwd_db"
// TCMETA: "launch_only": true,
// TCMETA-NEXT: "name": "BWD_DB_ROWS"
// TCMETA-LABEL: "name": "hyp_bwd_dx"
// dx is written, not updated: the frontend adds dY W with cuBLAS (beta = 1).
// TCMETA: "access": "write",
// TCMETA-NEXT: "elem": "bf16",
// TCMETA-NEXT: "kind": "ptr",
// TCMETA-NEXT: "name": "dx"
// TCMETA: "launch_only": true,
// TCMETA-NEXT: "name": "BWD_DX_ROWS"
// The gram writes B transposed on its way (BT, r x N), which hyp_bwd_dy
// reads in place of B, like hyp_fwd_down reads A.
// TC-LABEL: hyp_gram: G = B^T B
// TC: hyp_gram(const float *__restrict__ B, float *G, float *__restrict__ BT)
// TC-NEXT: hyp_gram_body<256, 32, HYP_R, HYP_N>(B, G, BT);
// TC-LABEL: hyp_fwd_down: row-reduce over x
// TC: #define FWD_DOWN_BLOCK_M 32
// TC-NOT: FWD_DOWN_VEC
// K = 576: one block per row block does the whole reduction (no split-K).
// TC: hyp_fwd_down(
// TC-NEXT: hyp_tc_fwd_down_body<FWD_DOWN_BLOCK_M, HYP_R, FWD_DOWN_THREADS, HYP_K, true, 1>(x, A, G, k, s, w, stats, M, scaling, nullptr, nullptr);
// TC-LABEL: hyp_fwd_up: row-update of y
// TC-NOT: FWD_UP_MMA
// ROWS is launch-only on tensor cores: no macro, the kernel takes its row
// chunk from the grid.
// TC-NOT: FWD_UP_ROWS
// r = 32: the wide skeleton (256 columns a block; emit-fwd-up-wide.mlir).
// TC: __launch_bounds__(FWD_UP_THREADS, 3) hyp_fwd_up(
// TC-NEXT: hyp_tc_fwd_up_wide_body<HYP_R, HYP_N, true>(w, B, y, M);
// TC-LABEL: hyp_bwd_dy: row-reduce over dY
// TC: hyp_bwd_dy(const hyp_act_t *__restrict__ dY, const float *__restrict__ BT,
// TC-NEXT: hyp_tc_bwd_dy_body<BWD_DY_BLOCK_M, HYP_R, BWD_DY_THREADS, HYP_N, true, 1, true>(dY, BT, w, stats, G, k, s, dH, beta, R, dk, ds, M, scaling, nullptr, nullptr);
// TC-LABEL: hyp_bwd_db: column-reduce over dY
// TC: __launch_bounds__(BWD_DB_THREADS) hyp_bwd_db(
// TC-NEXT: hyp_tc_bwd_db_body<64, BWD_DB_THREADS, HYP_R, HYP_N, true>(dY, w, B, R, dB, M);
// TC-LABEL: hyp_bwd_dx: the adapter's part of dx
// r = 32: four blocks an SM (the register cap of __launch_bounds__).
// TC: __launch_bounds__(BWD_DX_THREADS, 4) hyp_bwd_dx(
// TC-NEXT: hyp_tc_bwd_dx_body<64, BWD_DX_THREADS, HYP_R, HYP_K, true>(x, A, dH, beta, dx, dA, M);

// CHECK: // hyplora adapter kernels: variant=hyplora convention=(in the IR) act=bf16 K=576 N=192 r=32
// CHECK: #define HYP_K 576
// CHECK-NEXT: #define HYP_N 192
// CHECK-NEXT: #define HYP_R 32
// CHECK-NOT: #include
// CHECK: struct alignas(2) hyp_act_t { unsigned short bits; };
// CHECK: asm("cvt.rn.bf16.f32 %0, %1;" : "=h"(r.bits) : "f"(v));

// CHECK-LABEL: row-scalar program (from the IR's hyp.row_map ops)
// CHECK: void hyp_row_scalars(T n2, T z, T k, T s, float scaling, T *c_out, T *q_out, T *gs_out)
// The expmap0 factor c = S sinh(a) / n, then q = c^2 h^T G h, then logmap0.
// CHECK: hyp_sinh(
// CHECK: const T q_ = hyp_max([[C:v[0-9]+]] * [[C]] * z, 0.f);
// CHECK: hyp_acosh(
// CHECK: *c_out = [[C]];
// CHECK-NEXT: *q_out = q_;
// CHECK: *gs_out = scaling * v{{[0-9]+}};

// CHECK-LABEL: hyp_gram: G = B^T B
// CHECK: extern "C" __global__ void __launch_bounds__(256) hyp_gram(const float *__restrict__ B, float *G) {
// CHECK-NEXT: hyp_gram_body<256, 32, HYP_R, HYP_N>(B, G, nullptr);

// CHECK-LABEL: hyp_fwd_down: row-reduce over x
// CHECK: #define FWD_DOWN_BLOCK_M 16
// CHECK: #define FWD_DOWN_VEC 8
// CHECK: extern "C" __global__ void __launch_bounds__(FWD_DOWN_THREADS) hyp_fwd_down(const hyp_act_t *__restrict__ x, const float *__restrict__ A, const float *__restrict__ G, const float *__restrict__ k, const float *__restrict__ s, float *__restrict__ w, float *__restrict__ stats, long long M, float scaling) {
// CHECK-NEXT: hyp_fwd_down_body<FWD_DOWN_BLOCK_M, HYP_R, FWD_DOWN_THREADS, FWD_DOWN_VEC, HYP_K, true>(x, A, G, k, s, w, stats, M, scaling);

// CHECK-LABEL: hyp_fwd_up: row-update of y
// CHECK: hyp_fwd_up(const float *__restrict__ w, const float *__restrict__ B, hyp_act_t *__restrict__ y, long long M)
// CHECK-NEXT: hyp_fwd_up_body<128, FWD_UP_THREADS, FWD_UP_ROWS, HYP_R, HYP_N, true>(w, B, y, M);
// CHECK-LABEL: hyp_fwd_up_store: row-store of y
// CHECK: hyp_fwd_up_store(const float *__restrict__ w, const float *__restrict__ B, hyp_act_t *__restrict__ y, long long M)
// CHECK-NEXT: hyp_fwd_up_body<128, FWD_UP_THREADS, FWD_UP_ROWS, HYP_R, HYP_N, false>(w, B, y, M);

// CHECK-LABEL: hyp_bwd_dy: row-reduce over dY
// CHECK: hyp_bwd_dy(const hyp_act_t *__restrict__ dY, const float *__restrict__ B, const float *__restrict__ w, const float *__restrict__ stats, const float *__restrict__ G, const float *__restrict__ k, const float *__restrict__ s, float *__restrict__ dH, float *__restrict__ beta, float *R, float *dk, float *ds, long long M, float scaling)
// CHECK-NEXT: hyp_bwd_dy_body<BWD_DY_BLOCK_M, HYP_R, BWD_DY_THREADS, BWD_DY_VEC, HYP_N, true>(dY, B, w, stats, G, k, s, dH, beta, R, dk, ds, M, scaling);

// CHECK-LABEL: hyp_bwd_db: column-reduce over dY
// CHECK: __launch_bounds__(BWD_DB_THREADS) hyp_bwd_db(const hyp_act_t *__restrict__ dY, const float *__restrict__ w, const float *__restrict__ B, const float *__restrict__ R, float *dB, long long M)
// CHECK-NEXT: hyp_bwd_db_body<128, BWD_DB_THREADS, BWD_DB_ROWS, HYP_R, HYP_N, true>(dY, w, B, R, dB, M);

// CHECK-LABEL: hyp_bwd_dx: the adapter's part of dx
// CHECK: hyp_bwd_dx(const hyp_act_t *__restrict__ x, const float *__restrict__ A, const float *__restrict__ dH, const float *__restrict__ beta, hyp_act_t *__restrict__ dx, float *dA, long long M)
// CHECK-NEXT: hyp_bwd_dx_body<128, BWD_DX_THREADS, BWD_DX_ROWS, HYP_R, HYP_K, true>(x, A, dH, beta, dx, dA, M);

// llvm::json prints object keys sorted.
// META: "adapter": {
// META: "row_program": "ir"
// META: "buffers": {
// META: "G": {
// META: "columns": [
// META-NEXT: "xnorm2",
// META-NEXT: "unorm2",
// META-NEXT: "c",
// META-NEXT: "scaled_g"
// META: "kernels": [
// META: "extent": "M",
// META-NEXT: "tile": "FWD_DOWN_BLOCK_M"
// META: "name": "hyp_fwd_down"
// META: "name": "dA"
// META: "mlir_path_error": ""
// META: "programs": {
// META-NEXT: "backward": [
// META-NEXT: "hyp_gram",
// META-NEXT: "hyp_bwd_dy",
// META-NEXT: "hyp_bwd_db",
// META-NEXT: "hyp_bwd_dx"
// META-NEXT: ],
// META-NEXT: "forward": [
// META-NEXT: "hyp_gram",
// META-NEXT: "hyp_fwd_down",
// META-NEXT: "hyp_fwd_up"
// META-NEXT: ],
// META-NEXT: "forward_store": [
// META-NEXT: "hyp_gram",
// META-NEXT: "hyp_fwd_down",
// META-NEXT: "hyp_fwd_up_store"
// META: "schema": 1
