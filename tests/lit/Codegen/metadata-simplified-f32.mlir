// The simplified (Poincare) variant keeps the Gram kernel (its time
// coordinate needs |z|^2) and an f32 adapter reads f32 activations.
// RUN: sed -e 's/VARIANT/hyplora_simplified/g' -e 's/CONV/reference/g' -e 's/ACT/f32/g' -e 's/KD/13/g' -e 's/ND/7/g' -e 's/RK/4/g' %S/Inputs/adapter.mlir.in \
// RUN:   | hyp-opt --hyp-pipeline | hyp-translate --hyp-to-kernel-metadata | FileCheck %s

// CHECK: "act_dtype": "f32",
// CHECK: "variant": "hyplora_simplified"
// CHECK: "forward": [
// CHECK-NEXT: "hyp_gram",
