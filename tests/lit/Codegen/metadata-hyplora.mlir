// The metadata the runtime reads (docs/CONTRACTS.md section 2) for a hyperbolic
// adapter: launch order of both programs, the saved stats columns, and that
// the IR path (not the formula fallback) produced it.
// RUN: sed -e 's/VARIANT/hyplora/g' -e 's/CONV/reference/g' -e 's/ACT/bf16/g' -e 's/KD/576/g' -e 's/ND/192/g' -e 's/RK/32/g' %S/Inputs/adapter.mlir.in \
// RUN:   | hyp-opt --hyp-pipeline | hyp-translate --hyp-to-kernel-metadata | FileCheck %s

// CHECK: "stats": {
// CHECK-NEXT: "columns": [
// CHECK-NEXT: "xnorm2",
// CHECK-NEXT: "unorm2",
// CHECK-NEXT: "c",
// CHECK-NEXT: "scaled_g"
// CHECK: "role": "saved"
// CHECK: "mlir_path_error": "",
// CHECK: "programs": {
// CHECK-NEXT: "backward": [
// CHECK-NEXT: "hyp_gram",
// CHECK-NEXT: "hyp_bwd_dy",
// CHECK-NEXT: "hyp_bwd_db",
// CHECK-NEXT: "hyp_bwd_dx"
// CHECK: "forward": [
// CHECK-NEXT: "hyp_gram",
// CHECK-NEXT: "hyp_fwd_down",
// CHECK-NEXT: "hyp_fwd_up"
// CHECK: "schema": 1
