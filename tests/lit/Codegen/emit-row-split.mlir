// Split-K of the tensor-core row-reduces: a reduction of >= 2 x N columns is
// cut into ~N-column slices, one block each along grid.y
// (AdapterProgram.cpp rowSplit), which meet in hyp_tc_row_split_meet through
// two scratch buffers. By default the split count is a tunable, {1, S} with
// 1024-column slices (4 of 4096 columns), and grid.y its value: the autotuner
// picks it per shape bucket (it wins at M = 1024, loses at 8192). hyp_bwd_dy
// runs in the two-pass backward only (--hyp-dy-pass=0; the default at r <= 32
// reads dY once, emit-dy-pass.mlir).
// RUN: sed -e 's/VARIANT/hyplora/g' -e 's/CONV/lorentz/g' -e 's/ACT/bf16/g' -e 's/KD/4096/g' -e 's/ND/4096/g' -e 's/RK/32/g' %S/Inputs/adapter.mlir.in \
// RUN:   | hyp-opt --hyp-pipeline -o %t.s3.mlir
// RUN: hyp-translate --hyp-to-cuda --hyp-tensor-cores --hyp-dy-pass=0 %t.s3.mlir | FileCheck %s --check-prefix=TUNED
// RUN: hyp-translate --hyp-to-kernel-metadata --hyp-tensor-cores --hyp-dy-pass=0 %t.s3.mlir | FileCheck %s --check-prefix=META-TUNED
// 0 turns it off; an explicit slice width (libhypc row-split-cols=N) forces
// the split in both; any other negative width is an error.
// RUN: hyp-translate --hyp-to-cuda --hyp-tensor-cores --hyp-dy-pass=0 --hyp-row-split-cols=0 %t.s3.mlir | FileCheck %s --check-prefix=OFF
// RUN: hyp-translate --hyp-to-cuda --hyp-tensor-cores --hyp-dy-pass=0 --hyp-row-split-cols=1024 %t.s3.mlir | FileCheck %s --check-prefix=BOTH
// RUN: hyp-translate --hyp-to-kernel-metadata --hyp-tensor-cores --hyp-dy-pass=0 --hyp-row-split-cols=1024 %t.s3.mlir | FileCheck %s --check-prefix=META
// RUN: not hyp-translate --hyp-to-cuda --hyp-tensor-cores --hyp-dy-pass=0 --hyp-row-split-cols=-3 %t.s3.mlir 2>&1 | FileCheck %s --check-prefix=BAD
// Reductions shorter than two slices (K = N = 1536) get no SPLIT tunable.
// RUN: sed -e 's/VARIANT/hyplora/g' -e 's/CONV/lorentz/g' -e 's/ACT/bf16/g' -e 's/KD/1536/g' -e 's/ND/1536/g' -e 's/RK/32/g' %S/Inputs/adapter.mlir.in \
// RUN:   | hyp-opt --hyp-pipeline | hyp-translate --hyp-to-kernel-metadata --hyp-tensor-cores --hyp-dy-pass=0 | FileCheck %s --check-prefix=SHORT

// TUNED-LABEL: hyp_fwd_down: row-reduce over x
// TUNED: #define FWD_DOWN_SPLIT 1
// TUNED: hyp_tc_fwd_down_body<FWD_DOWN_BLOCK_M, HYP_R, FWD_DOWN_THREADS, HYP_K, true, FWD_DOWN_SPLIT>({{.*}}, scaling, down_parts, down_tickets);
// TUNED-LABEL: hyp_bwd_dy: row-reduce over dY
// TUNED: #define BWD_DY_SPLIT 1
// TUNED: hyp_tc_bwd_dy_body<BWD_DY_BLOCK_M, HYP_R, BWD_DY_THREADS, HYP_N, true, BWD_DY_SPLIT, true>({{.*}}, scaling, dy_parts, dy_tickets);

// The scratch is sized for the largest split; grid.y is {"tunable": ...};
// BLOCK_M takes {8, 16, 32, 64} unsplit and {16, 32} split, by a
// constraint; hyp_fwd_down runs 512 threads from 32 rows, by another; the
// dynamic shared memory is exact per BLOCK_M (128-column chunks here).
// META-TUNED: "down_parts": {
// META-TUNED: "shape": [
// META-TUNED-NEXT: "M",
// META-TUNED-NEXT: 132
// META-TUNED-LABEL: "name": "hyp_gram"
// META-TUNED: "constraints": [
// META-TUNED-NEXT: "FWD_DOWN_THREADS == 256 + 256 * (FWD_DOWN_BLOCK_M >= 32)",
// META-TUNED-NEXT: "FWD_DOWN_SPLIT == 1 || (FWD_DOWN_BLOCK_M >= 16 && FWD_DOWN_BLOCK_M <= 32)"
// META-TUNED-NEXT: ],
// META-TUNED-NEXT: "dynamic_smem": "(FWD_DOWN_BLOCK_M == 8) * 62848 + (FWD_DOWN_BLOCK_M == 16) * 70400 + (FWD_DOWN_BLOCK_M == 32) * 85504 + (FWD_DOWN_BLOCK_M == 64) * 115712",
// META-TUNED: "tile": "FWD_DOWN_BLOCK_M"
// META-TUNED-NEXT: },
// META-TUNED-NEXT: {
// META-TUNED-NEXT: "tunable": "FWD_DOWN_SPLIT"
// META-TUNED-LABEL: "name": "hyp_fwd_down"
// META-TUNED: "name": "FWD_DOWN_BLOCK_M",
// META-TUNED-NEXT: "values": [
// META-TUNED-NEXT: 8,
// META-TUNED-NEXT: 16,
// META-TUNED-NEXT: 32,
// META-TUNED-NEXT: 64
// META-TUNED: "default": 512,
// META-TUNED-NEXT: "name": "FWD_DOWN_THREADS",
// META-TUNED-NEXT: "values": [
// META-TUNED-NEXT: 256,
// META-TUNED-NEXT: 512
// META-TUNED: "default": 1,
// META-TUNED-NEXT: "name": "FWD_DOWN_SPLIT",
// META-TUNED-NEXT: "values": [
// META-TUNED-NEXT: 1,
// META-TUNED-NEXT: 4
// META-TUNED-LABEL: "name": "hyp_fwd_up"
// META-TUNED: "constraints": [
// META-TUNED-NEXT: "BWD_DY_SPLIT == 1 || (BWD_DY_BLOCK_M >= 16 && BWD_DY_BLOCK_M <= 32)"
// META-TUNED: "tunable": "BWD_DY_SPLIT"
// META-TUNED-LABEL: "name": "hyp_bwd_dy"

// SHORT-NOT: SPLIT
// SHORT-NOT: _parts

// BOTH-LABEL: hyp_fwd_down: row-reduce over x
// BOTH: hyp_tc_fwd_down_body<FWD_DOWN_BLOCK_M, HYP_R, FWD_DOWN_THREADS, HYP_K, true, 4>(x, A, G, k, s, w, stats, M, scaling, down_parts, down_tickets);
// BOTH-LABEL: hyp_bwd_dy: row-reduce over dY
// BOTH: hyp_tc_bwd_dy_body<BWD_DY_BLOCK_M, HYP_R, BWD_DY_THREADS, HYP_N, true, 4, true>(

// OFF-LABEL: hyp_fwd_down: row-reduce over x
// OFF-NOT: down_parts
// OFF: hyp_tc_fwd_down_body<FWD_DOWN_BLOCK_M, HYP_R, FWD_DOWN_THREADS, HYP_K, true, 1>({{.*}}, scaling, nullptr, nullptr);
// OFF-LABEL: hyp_bwd_dy: row-reduce over dY
// OFF-NOT: dy_parts
// OFF: hyp_tc_bwd_dy_body<BWD_DY_BLOCK_M, HYP_R, BWD_DY_THREADS, HYP_N, true, 1, true>({{.*}}, scaling, nullptr, nullptr);

// BAD: error: hyp-to-cuda: --hyp-row-split-cols must be >= 0, or -1 (tuned)

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
// row-reduces, whose BLOCK_M come from {16, 32}.
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
// META-NEXT: 32
// META-NEXT: ]
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
// META-NEXT: 32
// META-NEXT: ]
// META-LABEL: "name": "hyp_bwd_db"
