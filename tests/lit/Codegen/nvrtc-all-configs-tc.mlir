// REQUIRES: nvrtc
// Every tunable combination the metadata lists must compile (static_asserts in
// the skeletons check tile coverage and shared memory): each kernel's full
// cartesian product, that kernel compiled alone (-DHYP_ONLY_KERNEL).
// Here bf16 at r = 32 with --hyp-tensor-cores: the tensor-core skeletons
// (HypTensorCore.cuh, HypTensorCoreWide.cuh, HypTensorCoreDyPass.cuh) of the
// kernels beside hyp_gram, in both backwards (one pass over dY: grouped with
// dy-pass=1, as libhypc does at r <= 32 on tensor cores; and two: grouped
// without); nvrtc-all-configs.mlir covers the SIMT family.
// RUN: sed -e 's/VARIANT/hyplora/g' -e 's/CONV/reference/g' -e 's/ACT/bf16/g' -e 's/KD/576/g' -e 's/ND/192/g' -e 's/RK/32/g' %S/Inputs/adapter.mlir.in \
// RUN:   | hyp-opt --hyp-pipeline="dy-pass=1" -o %t.s3.mlir
// RUN: hyp-translate --hyp-to-cuda --hyp-tensor-cores %t.s3.mlir -o %t.cu
// RUN: hyp-translate --hyp-to-kernel-metadata --hyp-tensor-cores %t.s3.mlir -o %t.json
// RUN: hyp-nvrtc-check %t.cu --metadata %t.json --all-configs -j 2 | FileCheck %s

// CHECK-DAG: nvrtc defaults: 1 config(s) compiled for sm_90
// CHECK-DAG: nvrtc hyp_gram: 1 config(s) compiled for sm_90
// The row-reduces: BLOCK_M {8, 16, 32, 64}, hyp_fwd_down with THREADS {256,
// 512} (the check compiles the whole product; a constraint leaves the
// runtime one thread count per BLOCK_M).
// CHECK-DAG: nvrtc hyp_fwd_down: 8 config(s) compiled for sm_90
// ROWS of the column kernels is launch-only (the grid's business, not
// compiled in): one compile each.
// CHECK-DAG: nvrtc hyp_fwd_up: 1 config(s) compiled for sm_90
// CHECK-DAG: nvrtc hyp_fwd_up_store: 1 config(s) compiled for sm_90
// CHECK-DAG: nvrtc hyp_bwd_dy_pass: 1 config(s) compiled for sm_90
// hyp_bwd_rows: BLOCK_M {16, 32, 64}.
// CHECK-DAG: nvrtc hyp_bwd_rows: 3 config(s) compiled for sm_90
// CHECK-DAG: nvrtc hyp_bwd_db_gram: 1 config(s) compiled for sm_90
// CHECK-DAG: nvrtc hyp_bwd_dx: 1 config(s) compiled for sm_90
// CHECK: nvrtc: all 18 compile(s) ok

// The two-pass backward (the pipeline's default grouping).
// RUN: sed -e 's/VARIANT/hyplora/g' -e 's/CONV/reference/g' -e 's/ACT/bf16/g' -e 's/KD/576/g' -e 's/ND/192/g' -e 's/RK/32/g' %S/Inputs/adapter.mlir.in \
// RUN:   | hyp-opt --hyp-pipeline -o %t.two.mlir
// RUN: hyp-translate --hyp-to-cuda --hyp-tensor-cores %t.two.mlir -o %t.two.cu
// RUN: hyp-translate --hyp-to-kernel-metadata --hyp-tensor-cores %t.two.mlir -o %t.two.json
// RUN: hyp-nvrtc-check %t.two.cu --metadata %t.two.json --all-configs -j 2 | FileCheck %s --check-prefix=TWO
// TWO-DAG: nvrtc hyp_bwd_dy: 4 config(s) compiled for sm_90
// TWO-DAG: nvrtc hyp_bwd_db: 1 config(s) compiled for sm_90
// TWO: nvrtc: all 18 compile(s) ok

// The split-K row-reduces (64-column slices: 9 splits of K = 576, 3 of
// N = 192): their BLOCK_M {16, 32} and the meeting point's shared memory
// must compile too.
// RUN: hyp-translate --hyp-to-cuda --hyp-tensor-cores --hyp-row-split-cols=64 %t.two.mlir -o %t.split.cu
// RUN: hyp-translate --hyp-to-kernel-metadata --hyp-tensor-cores --hyp-row-split-cols=64 %t.two.mlir -o %t.split.json
// RUN: FileCheck %s --check-prefix=SPLITSRC < %t.split.cu
// RUN: hyp-nvrtc-check %t.split.cu --metadata %t.split.json --all-configs -j 2 | FileCheck %s --check-prefix=SPLIT
// SPLITSRC: hyp_tc_fwd_down_body<FWD_DOWN_BLOCK_M, HYP_R, FWD_DOWN_THREADS, HYP_K, true, 9>(
// SPLITSRC: hyp_tc_bwd_dy_body<BWD_DY_BLOCK_M, HYP_R, BWD_DY_THREADS, HYP_N, true, 3, true>(dY, BT,
// SPLIT-DAG: nvrtc hyp_fwd_down: 4 config(s) compiled for sm_90
// SPLIT-DAG: nvrtc hyp_bwd_dy: 2 config(s) compiled for sm_90
// SPLIT: nvrtc: all 12 compile(s) ok
