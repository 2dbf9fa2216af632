// Plain LoRA through the same machinery: no Gram matrix (no hyperbolic row
// scalars need |u|), so neither program launches hyp_gram.
// RUN: sed -e 's/VARIANT/lora/g' -e 's/CONV/reference/g' -e 's/ACT/f16/g' -e 's/KD/4096/g' -e 's/ND/1024/g' -e 's/RK/16/g' %S/Inputs/adapter.mlir.in \
// RUN:   | hyp-opt --hyp-pipeline | hyp-translate --hyp-to-kernel-metadata | FileCheck %s

// CHECK: "programs": {
// CHECK-NEXT: "backward": [
// CHECK-NOT: hyp_gram
// CHECK: "hyp_bwd_dx"
// CHECK: "forward": [
// CHECK-NOT: hyp_gram
// CHECK: "hyp_fwd_up"
