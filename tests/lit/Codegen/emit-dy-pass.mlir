// The tensor-core backward at r <= 32 reads dY once (HypTensorCoreDyPass.cuh):
// hyp_bwd_dy_pass makes P = dY B (atomics into the zeroed scratch P, one
// partial per 256-column block: N = 600 is 3 of them) and dB = dY^T w, then
// hyp_bwd_rows runs the row chain rule over complete rows of P and
// hyp_bwd_db_gram adds 2 B R. No hyp_bwd_dy, no hyp_bwd_db, no BT.
// The IR's grouping decides (hyp-group-kernels dy-pass=1, which libhypc sets
// when the program will read dY once), so hyp-opt shows the kernels that run.
// RUN: sed -e 's/VARIANT/hyplora/g' -e 's/CONV/lorentz/g' -e 's/ACT/bf16/g' -e 's/KD/576/g' -e 's/ND/600/g' -e 's/RK/32/g' %S/Inputs/adapter.mlir.in \
// RUN:   | hyp-opt --hyp-pipeline="dy-pass=1" -o %t.r32.mlir
// RUN: FileCheck %s --check-prefix=IR < %t.r32.mlir
// RUN: hyp-translate --hyp-to-cuda --hyp-tensor-cores %t.r32.mlir | FileCheck %s
// RUN: hyp-translate --hyp-to-kernel-metadata --hyp-tensor-cores %t.r32.mlir | FileCheck %s --check-prefix=META
// RUN: hyp-translate --hyp-to-kernel-metadata --hyp-tensor-cores --hyp-dy-pass=1 %t.r32.mlir | FileCheck %s --check-prefix=META
// LoRA: no G, so no hyp_bwd_db_gram, and the row kernel gets no G, k, s, beta, R.
// RUN: sed -e 's/VARIANT/lora/g' -e 's/CONV/reference/g' -e 's/ACT/bf16/g' -e 's/KD/576/g' -e 's/ND/600/g' -e 's/RK/16/g' %S/Inputs/adapter.mlir.in \
// RUN:   | hyp-opt --hyp-pipeline="dy-pass=1" | hyp-translate --hyp-to-kernel-metadata --hyp-tensor-cores | FileCheck %s --check-prefix=LORA
// Negative cases: grouped without dy-pass (the pipeline's default), the
// backward reads dY twice (hyp_bwd_dy, hyp_bwd_db) on tensor cores too, and at
// r = 64.
// RUN: sed -e 's/VARIANT/hyplora/g' -e 's/CONV/lorentz/g' -e 's/ACT/bf16/g' -e 's/KD/576/g' -e 's/ND/600/g' -e 's/RK/32/g' %S/Inputs/adapter.mlir.in \
// RUN:   | hyp-opt --hyp-pipeline -o %t.two.mlir
// RUN: FileCheck %s --check-prefix=IRTWO < %t.two.mlir
// RUN: hyp-translate --hyp-to-kernel-metadata --hyp-tensor-cores %t.two.mlir | FileCheck %s --check-prefix=TWO
// RUN: hyp-translate --hyp-to-kernel-metadata --hyp-tensor-cores --hyp-dy-pass=0 %t.two.mlir | FileCheck %s --check-prefix=TWO
// RUN: hyp-translate --hyp-to-kernel-metadata %t.two.mlir | FileCheck %s --check-prefix=TWO
// RUN: sed -e 's/VARIANT/hyplora/g' -e 's/CONV/lorentz/g' -e 's/ACT/bf16/g' -e 's/KD/576/g' -e 's/ND/600/g' -e 's/RK/64/g' %S/Inputs/adapter.mlir.in \
// RUN:   | hyp-opt --hyp-pipeline | hyp-translate --hyp-to-kernel-metadata --hyp-tensor-cores | FileCheck %s --check-prefix=TWO
// Errors: a flag that disagrees with the IR's grouping, and an IR grouped for
// one pass that the program cannot run that way (no tensor cores; r = 64).
// RUN: not hyp-translate --hyp-to-kernel-metadata --hyp-tensor-cores --hyp-dy-pass=0 %t.r32.mlir 2>&1 | FileCheck %s --check-prefix=FLAG0
// RUN: not hyp-translate --hyp-to-kernel-metadata --hyp-tensor-cores --hyp-dy-pass=1 %t.two.mlir 2>&1 | FileCheck %s --check-prefix=FLAG1
// RUN: not hyp-translate --hyp-to-kernel-metadata %t.r32.mlir 2>&1 | FileCheck %s --check-prefix=SIMT
// RUN: sed -e 's/VARIANT/hyplora/g' -e 's/CONV/lorentz/g' -e 's/ACT/bf16/g' -e 's/KD/576/g' -e 's/ND/600/g' -e 's/RK/64/g' %S/Inputs/adapter.mlir.in \
// RUN:   | hyp-opt --hyp-pipeline="dy-pass=1" | not hyp-translate --hyp-to-kernel-metadata --hyp-tensor-cores 2>&1 | FileCheck %s --check-prefix=R64

// IR-LABEL: func.func @adapter_backward
// IR-SAME: hyp.kernels = ["hyp_bwd_gram", "hyp_bwd_dy_pass", "hyp_bwd_rows", "hyp_bwd_db_gram", "hyp_bwd_dx"]
// IRTWO-LABEL: func.func @adapter_backward
// IRTWO-SAME: hyp.kernels = ["hyp_bwd_gram", "hyp_bwd_dy", "hyp_bwd_db", "hyp_bwd_dx"]

// FLAG0: error: hyp-to-cuda: --hyp-dy-pass=0 disagrees with the IR, whose backward reads dY once (grouped with hyp-group-kernels dy-pass=1): drop the flag or regroup
// FLAG1: error: hyp-to-cuda: --hyp-dy-pass=1 disagrees with the IR, whose backward reads dY twice (grouped without dy-pass): drop the flag or regroup
// SIMT: error: hyp-to-cuda: the IR's backward reads dY once (hyp_bwd_dy_pass: hyp-group-kernels dy-pass=1), which runs on tensor cores only (bf16, r % 8 == 0, r <= 32; here no tensor cores, bf16, r = 32): group it without dy-pass
// R64: error: hyp-to-cuda: the IR's backward reads dY once {{.*}} (bf16, r % 8 == 0, r <= 32; here tensor cores, bf16, r = 64): group it without dy-pass

// CHECK-LABEL: hyp_gram: G = B^T B
// CHECK: hyp_gram_body<256, 32, HYP_R, HYP_N>(B, G, nullptr);
// CHECK-LABEL: hyp_bwd_dy_pass: one pass over dY
// Two blocks an SM (98 KiB of dynamic shared memory each).
// CHECK: __launch_bounds__(BWD_DY_PASS_THREADS, 2) hyp_bwd_dy_pass(const hyp_act_t *__restrict__ dY, const float *__restrict__ B, const float *__restrict__ w, float *P, float *dB, long long M)
// CHECK-NEXT: hyp_tc_bwd_dy_pass_body<HYP_R, HYP_N>(dY, B, w, P, dB, M);
// CHECK-LABEL: hyp_bwd_rows: row chain rule
// CHECK: hyp_tc_bwd_rows_body<BWD_ROWS_BLOCK_M, HYP_R, 256, true>(P, w, stats, G, k, s, dH, beta, R, dk, ds, M, scaling);
// CHECK-LABEL: hyp_bwd_db_gram: dB += 2 B R
// CHECK: hyp_bwd_db_gram(const float *__restrict__ B, const float *__restrict__ R, float *dB)
// CHECK-NEXT: hyp_bwd_db_gram_body<HYP_R, HYP_N>(B, R, dB);
// CHECK-LABEL: hyp_bwd_dx: the adapter's part of dx
// CHECK-NOT: hyp_bwd_dy(
// CHECK-NOT: hyp_bwd_db(

// META-LABEL: "buffers": {
// META-NOT: "BT": {
// META: "P": {
// META-NEXT: "doc": "P = dY B, summed over hyp_bwd_dy_pass's column blocks (accumulate: zero before each program)",
// META-NEXT: "elem": "f32",
// META-NEXT: "role": "scratch",
// META-LABEL: "block": "BWD_DY_PASS_THREADS",
// META-NEXT: "dynamic_smem": 100352,
// META-NEXT: "grid": [
// META-NEXT: {
// META-NEXT: "const": 3
// META: "tile": "BWD_DY_PASS_ROWS"
// META-LABEL: "name": "hyp_bwd_dy_pass"
// META: "access": "accumulate",
// META-NEXT: "elem": "f32",
// META-NEXT: "kind": "ptr",
// META-NEXT: "name": "P"
// META: "launch_only": true,
// META-NEXT: "name": "BWD_DY_PASS_ROWS"
// N * r / 256 = 75 blocks, one thread an element of dB.
// META: "const": 75
// META-LABEL: "name": "hyp_bwd_db_gram"
// META-LABEL: "programs": {
// META-NEXT: "backward": [
// META-NEXT: "hyp_gram",
// META-NEXT: "hyp_bwd_dy_pass",
// META-NEXT: "hyp_bwd_rows",
// META-NEXT: "hyp_bwd_db_gram",
// META-NEXT: "hyp_bwd_dx"
// META-NEXT: ],

// LORA-LABEL: "name": "hyp_bwd_rows"
// LORA-NOT: "name": "G"
// LORA-NOT: "name": "beta"
// LORA: "name": "dH"
// LORA-LABEL: "programs": {
// LORA-NEXT: "backward": [
// LORA-NEXT: "hyp_bwd_dy_pass",
// LORA-NEXT: "hyp_bwd_rows",
// LORA-NEXT: "hyp_bwd_dx"
// LORA-NEXT: ],

// TWO-NOT: "P": {
// TWO-LABEL: "programs": {
// TWO-NEXT: "backward": [
// TWO-NEXT: "hyp_gram",
// TWO-NEXT: "hyp_bwd_dy",
// TWO-NEXT: "hyp_bwd_db",
// TWO-NEXT: "hyp_bwd_dx"
// TWO-NEXT: ],
