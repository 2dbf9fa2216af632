// hyp_fwd_down's experimental bulk-copy rings are a source switch: --hyp-row-bulk=N
// (libhypc row-bulk=N) defines HYP_TC_ROW_BULK ahead of the kernel library, whose
// #ifndef keeps 0 (the cp.async ring) otherwise; the metadata does not change.
// RUN: sed -e 's/VARIANT/hyplora/g' -e 's/CONV/reference/g' -e 's/ACT/bf16/g' -e 's/KD/576/g' -e 's/ND/192/g' -e 's/RK/32/g' %S/Inputs/adapter.mlir.in \
// RUN:   | hyp-opt --hyp-pipeline="dy-pass=1" -o %t.mlir
// RUN: hyp-translate --hyp-to-cuda --hyp-tensor-cores --hyp-row-bulk=2 %t.mlir | FileCheck %s --check-prefix=BULK
// RUN: hyp-translate --hyp-to-cuda --hyp-tensor-cores %t.mlir | FileCheck %s --check-prefix=PLAIN
// RUN: hyp-translate --hyp-to-kernel-metadata --hyp-tensor-cores --hyp-row-bulk=1 %t.mlir > %t.bulk.json
// RUN: hyp-translate --hyp-to-kernel-metadata --hyp-tensor-cores %t.mlir > %t.plain.json
// RUN: diff %t.bulk.json %t.plain.json
// Negative: a mode that does not exist.
// RUN: not hyp-translate --hyp-to-cuda --hyp-tensor-cores --hyp-row-bulk=3 %t.mlir 2>&1 | FileCheck %s --check-prefix=ERR

// BULK: #define HYP_R 32
// BULK-NEXT: #define HYP_TC_ROW_BULK 2
// BULK: #ifndef HYP_TC_ROW_BULK
// BULK-NEXT: #define HYP_TC_ROW_BULK 0

// PLAIN: #define HYP_R 32
// PLAIN-NOT: #define HYP_TC_ROW_BULK {{[12]}}
// PLAIN: #ifndef HYP_TC_ROW_BULK
// PLAIN-NEXT: #define HYP_TC_ROW_BULK 0

// ERR: error: hyp-to-cuda: --hyp-row-bulk must be 0, 1 or 2
