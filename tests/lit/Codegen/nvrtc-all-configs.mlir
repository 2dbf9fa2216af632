// REQUIRES: nvrtc
// Every tunable combination the metadata lists must compile (static_asserts in
// the skeletons check tile coverage and shared memory): each kernel's full
// cartesian product, that kernel compiled alone (-DHYP_ONLY_KERNEL). SIMT
// skeletons (the tensor-core ones: nvrtc-all-configs-tc.mlir).
// RUN: sed -e 's/VARIANT/hyplora/g' -e 's/CONV/reference/g' -e 's/ACT/f16/g' -e 's/KD/576/g' -e 's/ND/192/g' -e 's/RK/32/g' %S/Inputs/adapter.mlir.in \
// RUN:   | hyp-opt --hyp-pipeline -o %t.s3.mlir
// RUN: hyp-translate --hyp-to-cuda %t.s3.mlir -o %t.cu
// RUN: hyp-translate --hyp-to-kernel-metadata %t.s3.mlir -o %t.json
// RUN: hyp-nvrtc-check %t.cu --metadata %t.json --all-configs -j 2 | FileCheck %s

// CHECK-DAG: nvrtc defaults: 1 config(s) compiled for sm_90
// CHECK-DAG: nvrtc hyp_gram: 1 config(s) compiled for sm_90
// CHECK-DAG: nvrtc hyp_fwd_down: 48 config(s) compiled for sm_90
// CHECK-DAG: nvrtc hyp_fwd_up: 8 config(s) compiled for sm_90
// CHECK-DAG: nvrtc hyp_fwd_up_store: 8 config(s) compiled for sm_90
// CHECK-DAG: nvrtc hyp_bwd_dy: 48 config(s) compiled for sm_90
// CHECK-DAG: nvrtc hyp_bwd_db: 8 config(s) compiled for sm_90
// CHECK-DAG: nvrtc hyp_bwd_dx: 8 config(s) compiled for sm_90
// CHECK: nvrtc: all 130 compile(s) ok
