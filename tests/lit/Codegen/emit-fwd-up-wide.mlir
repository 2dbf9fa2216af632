// y += w B^T on tensor cores (and y = w B^T, hyp_fwd_up_store, on the same
// skeletons: the caller adds W x afterwards): r <= 32 takes the wide skeleton
// (HypTensorCoreWide.cuh: 256 columns a block, B in registers, ROWS up to
// 1024), a larger rank the 64-column one (its B slice would not fit the
// registers). N = 600: ceil(600 / 256) = 3 column blocks, ceil(600 / 64) = 10.
// (The r = 32 backward is grouped as libhypc groups it there: dy-pass=1.)
// RUN: sed -e 's/VARIANT/hyplora/g' -e 's/CONV/lorentz/g' -e 's/ACT/bf16/g' -e 's/KD/576/g' -e 's/ND/600/g' -e 's/RK/32/g' %S/Inputs/adapter.mlir.in \
// RUN:   | hyp-opt --hyp-pipeline="dy-pass=1" -o %t.r32.mlir
// RUN: hyp-translate --hyp-to-cuda --hyp-tensor-cores %t.r32.mlir | FileCheck %s --check-prefix=WIDE
// RUN: hyp-translate --hyp-to-kernel-metadata --hyp-tensor-cores %t.r32.mlir | FileCheck %s --check-prefix=WIDEMETA
// RUN: sed -e 's/VARIANT/hyplora/g' -e 's/CONV/lorentz/g' -e 's/ACT/bf16/g' -e 's/KD/576/g' -e 's/ND/600/g' -e 's/RK/64/g' %S/Inputs/adapter.mlir.in \
// RUN:   | hyp-opt --hyp-pipeline -o %t.r64.mlir
// RUN: hyp-translate --hyp-to-cuda --hyp-tensor-cores %t.r64.mlir | FileCheck %s --check-prefix=NARROW
// RUN: hyp-translate --hyp-to-kernel-metadata --hyp-tensor-cores %t.r64.mlir | FileCheck %s --check-prefix=NARROWMETA

// WIDE-LABEL: hyp_fwd_up: row-update of y
// WIDE: __launch_bounds__(FWD_UP_THREADS, 3) hyp_fwd_up(
// WIDE-NEXT: hyp_tc_fwd_up_wide_body<HYP_R, HYP_N, true>(w, B, y, M);
// WIDE-LABEL: hyp_fwd_up_store: row-store of y: y = w B^T
// WIDE: __launch_bounds__(FWD_UP_THREADS, 4) hyp_fwd_up_store(
// WIDE-NEXT: hyp_tc_fwd_up_wide_body<HYP_R, HYP_N, false>(w, B, y, M);
// WIDE-LABEL: hyp_bwd_dy_pass: one pass over dY
// WIDE-NOT: hyp_tc_fwd_up_body<

// (Keys are sorted: hyp_fwd_up's grid follows hyp_fwd_down's name.)
// WIDEMETA-LABEL: "name": "hyp_fwd_down"
// WIDEMETA: "const": 3
// WIDEMETA-NEXT: },
// WIDEMETA-NEXT: {
// WIDEMETA-NEXT: "extent": "M",
// WIDEMETA-NEXT: "tile": "FWD_UP_ROWS"
// WIDEMETA-LABEL: "name": "hyp_fwd_up"
// WIDEMETA: "name": "FWD_UP_ROWS",
// WIDEMETA-NEXT: "values": [
// WIDEMETA: 512,
// WIDEMETA-NEXT: 1024

// NARROW-LABEL: hyp_fwd_up: row-update of y
// NARROW-NOT: hyp_tc_fwd_up_wide_body<
// NARROW: hyp_tc_fwd_up_body<64, FWD_UP_THREADS, HYP_R, HYP_N, true>(w, B, y, M);
// NARROW-LABEL: hyp_fwd_up_store: row-store of y
// NARROW-NOT: hyp_tc_fwd_up_wide_body<
// NARROW: hyp_tc_fwd_up_body<64, FWD_UP_THREADS, HYP_R, HYP_N, false>(w, B, y, M);
// NARROW-LABEL: hyp_bwd_dy: row-reduce over dY

// (Keys are sorted: hyp_fwd_up's grid follows hyp_fwd_down's name.)
// NARROWMETA-LABEL: "name": "hyp_fwd_down"
// NARROWMETA: "const": 10
// NARROWMETA-NEXT: },
// NARROWMETA-NEXT: {
// NARROWMETA-NEXT: "extent": "M",
// NARROWMETA-NEXT: "tile": "FWD_UP_ROWS"
// NARROWMETA-LABEL: "name": "hyp_fwd_up"
// NARROWMETA: "name": "FWD_UP_ROWS",
// NARROWMETA-NEXT: "values": [
// NARROWMETA: 512
// NARROWMETA-NEXT: ]
