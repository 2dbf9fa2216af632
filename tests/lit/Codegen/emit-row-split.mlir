// Split-K of the tensor-core row-reduces: a reduction of >= 2048 columns is
// cut into ~1024-column slices, one block each along grid.y
// (AdapterProgram.cpp rowSplit), which meet in hyp_tc_row_split_meet through
// two scratch buffers. K = 4096: hyp_fwd_down splits in 4; N = 1024:
// hyp_bwd_dy does not split (no grid.y, no scratch).
// RUN: sed -e 's/VARIANT/hyplora/g' -e 's/CONV/lorentz/g' -e 's/ACT/bf16/g' -e 's/KD/4096/g' -e 's/ND/1024/g' -e 's/RK/32/g' %S/Inputs/adapter.mlir.in \
// RUN:   | hyp-opt --hyp-pipeline -o %t.s3.mlir
// RUN: hyp-translate --hyp-to-cuda --hyp-tensor-cores %t.s3.mlir | FileCheck %s
// RUN: hyp-translate --hyp-to-kernel-metadata --hyp-tensor-cores %t.s3.mlir | FileCheck %s --check-prefix=META
// The slice width is an option (libhypc row-split-cols=N): 0 turns the
// split off, a negative width is an error.
// RUN: hyp-translate --hyp-to-cuda --hyp-tensor-cores --hyp-row-split-cols=0 %t.s3.mlir | FileCheck %s --check-prefix=OFF
// RUN: not hyp-translate --hyp-to-cuda --hyp-tensor-cores --hyp-row-split-cols=-3 %t.s3.mlir 2>&1 | FileCheck %s --check-prefix=BAD
// OFF-LABEL: hyp_fwd_down: row-reduce over x
// OFF-NOT: down_parts
// OFF: hyp_tc_fwd_down_body<FWD_DOWN_BLOCK_M, HYP_R, FWD_DOWN_THREADS, HYP_K, true, 1>({{.*}}, scaling, nullptr, nullptr);
// BAD: error: hyp-to-cuda: --hyp-row-split-cols must be >= 0

// CHECK-LABEL: hyp_fwd_down: row-reduce over x
// CHECK: float scaling, float *__restrict__ down_parts, float *down_tickets) {
// CHECK-NEXT: hyp_tc_fwd_down_body<FWD_DOWN_BLOCK_M, HYP_R, FWD_DOWN_THREADS, HYP_K, true, 4>(x, A, G, k, s, w, stats, M, scaling, down_parts, down_tickets);
// CHECK-LABEL: hyp_bwd_dy: row-reduce over dY
// CHECK-NOT: dy_parts
// CHECK: hyp_tc_bwd_dy_body<BWD_DY_BLOCK_M, HYP_R, BWD_DY_THREADS, HYP_N, true, 1>({{.*}}, M, scaling, nullptr, nullptr);

// Scratch: M rows of 4 splits x (r + 1) partial sums, and the arrival
// tickets (accumulate: zeroed by the caller before each program).
// META: "down_parts": {
// META: "shape": [
// META-NEXT: "M",
// META-NEXT: 132
// META: "down_tickets": {
// META-NOT: "dy_parts"
// A kernel's grid is printed before its name: grid.y = 4 for hyp_fwd_down.
// META-LABEL: "name": "hyp_gram"
// META: "tile": "FWD_DOWN_BLOCK_M"
// META-NEXT: },
// META-NEXT: {
// META-NEXT: "const": 4
// META-LABEL: "name": "hyp_fwd_down"
// META: "access": "accumulate",
// META-NEXT: "elem": "f32",
// META-NEXT: "kind": "ptr",
// META-NEXT: "name": "down_tickets"
// META-LABEL: "name": "hyp_fwd_up"
// META: "tile": "BWD_DY_BLOCK_M"
// META-NEXT: },
// META-NEXT: {
// META-NEXT: "const": 1
// META-LABEL: "name": "hyp_bwd_dy"
// META-NOT: "dy_tickets"
// META-LABEL: "name": "hyp_bwd_db"
