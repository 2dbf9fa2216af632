// REQUIRES: nvrtc
// hyp-nvrtc-check itself must fail loudly: a compile error prints NVRTC's log
// and exits non-zero; a metadata kernel missing from the source is reported.
// RUN: printf 'extern "C" __global__ void k(float *p) { p[0] = undeclared; }\n' > %t.cu
// RUN: not hyp-nvrtc-check %t.cu 2>&1 | FileCheck %s --check-prefix=COMPILE
// RUN: printf '{"kernels": [{"name": "hyp_missing", "tunables": []}]}' > %t.json
// RUN: printf 'extern "C" __global__ void k(float *p) { p[0] = 1.f; }\n' > %t2.cu
// RUN: not hyp-nvrtc-check %t2.cu --metadata %t.json 2>&1 | FileCheck %s --check-prefix=MISSING
// COMPILE: FAILED defaults
// COMPILE: identifier "undeclared" is undefined
// COMPILE: nvrtc: 1 of 1 compile(s) FAILED
// MISSING: kernel hyp_missing of the metadata is not in the source
