// RUN: rm -rf %t && env HYP_DUMP_DIR=%t hyp-opt %s --hyp-pipeline -o %t.out
// RUN: ls %t | FileCheck %s --check-prefix=FILES
// The first dump replays the compile: same output as the original run.
// RUN: hyp-opt %t/00-input.mlir --hyp-pipeline -o %t.replay
// RUN: diff %t.out %t.replay
// The last stage dump is the pipeline's output.
// RUN: hyp-opt %t/03-hyp-group-kernels.mlir | FileCheck %s --check-prefix=LAST
// An explicit option wins over the environment.
// RUN: rm -rf %t.opt && hyp-opt %s --hyp-pipeline="dump-dir=%t.opt group-kernels=false" -o /dev/null
// RUN: ls %t.opt | FileCheck %s --check-prefix=OPT
// A directory that cannot be created is an error, not a crash.
// RUN: not hyp-opt %s --hyp-pipeline="dump-dir=/dev/null/sub" -o /dev/null 2>&1 | FileCheck %s --check-prefix=ERR

// FILES: 00-input.mlir
// FILES-NEXT: 01-hyp-expand-adapter.mlir
// FILES-NEXT: 02-hyp-hoist-gram.mlir
// FILES-NEXT: 03-hyp-group-kernels.mlir
// LAST: hyp.kernel "hyp_fwd_up"
// OPT: 00-input.mlir
// OPT-NEXT: 01-hyp-expand-adapter.mlir
// OPT-NEXT: 02-hyp-hoist-gram.mlir
// OPT-NOT: 03-
// ERR: cannot create dump directory '/dev/null/sub'

func.func @adapter_forward(%x: tensor<?x64xf32>, %A: tensor<8x64xf32>, %B: tensor<32x8xf32>,
                           %k: tensor<f32>, %s: tensor<f32>, %y0: tensor<?x32xf32>)
    -> (tensor<?x32xf32>, tensor<?x8xf32>, tensor<?x4xf32>) {
  %y, %w, %st = hyp.adapter %x, %A, %B, %k, %s, %y0 {variant = #hyp.variant<hyplora>, scaling = 1.0 : f32}
      : (tensor<?x64xf32>, tensor<8x64xf32>, tensor<32x8xf32>, tensor<f32>, tensor<f32>, tensor<?x32xf32>)
      -> (tensor<?x32xf32>, tensor<?x8xf32>, tensor<?x4xf32>)
  return %y, %w, %st : tensor<?x32xf32>, tensor<?x8xf32>, tensor<?x4xf32>
}
