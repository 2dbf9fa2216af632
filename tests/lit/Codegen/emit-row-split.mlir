// Split-K of the tensor-core row-reduces: a reduction of >= 2 x N columns is
// cut into ~N-column slices, one block each along grid.y
// (AdapterProgram.cpp rowSplit), which meet in hyp_tc_row_split_meet through
// two scratch buffers. Off by default (AdapterSpec::rowSplitCols: it lost on
// every shape measured); 1024-column slices of 4096 give 4 splits.
// RUN: sed -e 's/VARIANT/hyplora/g' -e 's/CONV/lorentz/g' -e 's/ACT/bf16/g' -e 's/KD/4096/g' -e 's/ND/4096/g' -e 's/RK/32/g' %S/Inputs/adapter.mlir.in \
// RUN:   | hyp-opt --hyp-pipeline -o %t.s3.mlir
// RUN: hyp-translate --hyp-to-cuda --hyp-tensor-cores %t.s3.mlir | FileCheck %s --check-prefix=OFF
// RUN: hyp-translate --hyp-to-cuda --hyp-tensor-cores --hyp-row-split-cols=0 %t.s3.mlir | FileCheck %s --check-prefix=OFF
// An explicit slice width (libhypc row-split-cols=N) splits both; a negative
// width is an error.
// RUN: hyp-translate --hyp-to-cuda --hyp-tensor-cores --hyp-row-split-cols=1024 %t.s3.mlir | FileCheck %s --check-prefix=BOTH
// RUN: hyp-translate --hyp-to-kernel-metadata --hyp-tensor-cores --hyp-row-split-cols=1024 %t.s3.mlir | FileCheck %s --check-prefix=META
// RUN: not hyp-translate --hyp-to-cuda --hyp-tensor-cores --hyp-row-split-cols=-3 %t.s3.mlir 2>&1 | FileCheck %s --check-prefix=BAD

// BOTH-LABEL: hyp_fwd_down: row-reduce over x
// BOTH: hyp_tc_fwd_down_body<FWD_DOWN_BLOCK_M, HYP_R, FWD_DOWN_THREADS, HYP_K, true, 4>(x, A, G, k, s, w, stats, M, scaling, down_parts, down_tickets);
// BOTH-LABEL: hyp_bwd_dy: row-reduce over dY
// BOTH: hyp_tc_bwd_dy_body<BWD_DY_BLOCK_M, HYP_R, BWD_DY_THREADS, HYP_N, true, 4>(

// OFF-LABEL: hyp_fwd_down: row-reduce over x
// OFF-NOT: down_parts
// OFF: hyp_tc_fwd_down_body<FWD_DOWN_BLOCK_M, HYP_R, FWD_DOWN_THREADS, HYP_K, true, 1>({{.*}}, scaling, nullptr, nullptr);
// OFF-LABEL: hyp_bwd_dy: row-reduce over dY
// OFF-NOT: dy_parts
// OFF: hyp_tc_bwd_dy_body<BWD_DY_BLOCK_M, HYP_R, BWD_DY_THREADS, HYP_N, true, 1>({{.*}}, scaling, nullptr, nullptr);

// BAD: error: hyp-to-cuda: --hyp-row-split-cols must be >= 0

// Scratch: M rows of 4 splits x (r + 1) partial sums, and the arrival
// tickets (accumulate: zeroed by the caller before each program), per kernel.
// META: "down_parts": {
// META: "shape": [
// META-NEXT: "M",
// META-NEXT: 132
// META: "down_tickets": {
// META: "dy_parts": {
// META: "shape": [
// META-NEXT: "M",
// META-NEXT: 132
// META: "dy_tickets": {
// A kernel's grid is printed before its name: grid.y = 4 for both
// row-reduces, whose BLOCK_M come from {16, 32, 64}.
// META-LABEL: "name": "hyp_gram"
// META: "tile": "FWD_DOWN_BLOCK_M"
// META-NEXT: },
// META-NEXT: {
// META-NEXT: "const": 4
// META-LABEL: "name": "hyp_fwd_down"
// META: "name": "down_tickets"
// META: "name": "FWD_DOWN_BLOCK_M",
// META-NEXT: "values": [
// META-NEXT: 16,
// META-NEXT: 32,
// META-NEXT: 64
// META-LABEL: "name": "hyp_fwd_up"
// META: "tile": "BWD_DY_BLOCK_M"
// META-NEXT: },
// META-NEXT: {
// META-NEXT: "const": 4
// META-LABEL: "name": "hyp_bwd_dy"
// META: "name": "dy_tickets"
// META: "name": "BWD_DY_BLOCK_M",
// META-NEXT: "values": [
// META-NEXT: 16,
// META-NEXT: 32,
// META-NEXT: 64
// META-LABEL: "name": "hyp_bwd_db"
