// REQUIRES: nvrtc
// Every variant x convention x activation dtype, forward and backward kernels
// (one translation unit holds both programs), through the whole pipeline, then
// NVRTC to sm_90 CUBIN and PTX; the metadata's kernels must all be in the
// source. Odd and realistic shapes, r from 4 to 128 (the default SIMT
// skeletons; tensor cores: nvrtc-all-configs-tc.mlir).
// RUN: for cfg in "hyplora reference f32 13 7 4" "hyplora reference bf16 576 192 32" "hyplora reference f16 4096 14336 64" \
// RUN:            "hyplora lorentz f32 100 36 8" "hyplora lorentz bf16 3584 512 16" "hyplora lorentz f16 13 7 128" \
// RUN:            "hyplora_simplified reference f32 64 40 8" "hyplora_simplified reference bf16 1536 576 32" "hyplora_simplified reference f16 13 7 4" \
// RUN:            "hyplora_simplified lorentz f32 576 192 64" "hyplora_simplified lorentz bf16 13 7 4" "hyplora_simplified lorentz f16 4096 1024 32" \
// RUN:            "lora reference f32 13 7 4" "lora reference bf16 4096 1024 32" "lora reference f16 576 1536 16" \
// RUN:            "hyplora reference bf16 100 36 128" "lora reference bf16 24 40 8" \
// RUN:            ; do \
// RUN:   set -- $cfg; \
// RUN:   sed -e "s/VARIANT/$1/g" -e "s/CONV/$2/g" -e "s/ACT/$3/g" -e "s/KD/$4/g" -e "s/ND/$5/g" -e "s/RK/$6/g" %S/Inputs/adapter.mlir.in > %t.in.mlir && \
// RUN:   hyp-opt --hyp-pipeline %t.in.mlir -o %t.s3.mlir && \
// RUN:   hyp-translate --hyp-to-cuda %t.s3.mlir -o %t.cu && \
// RUN:   hyp-translate --hyp-to-kernel-metadata %t.s3.mlir -o %t.json && \
// RUN:   echo "config $cfg" && hyp-nvrtc-check --ptx %t.cu --metadata %t.json; \
// RUN: done 2>&1 | FileCheck %s

// CHECK-COUNT-17: nvrtc: all 1 compile(s) ok
// CHECK-NOT: FAILED
