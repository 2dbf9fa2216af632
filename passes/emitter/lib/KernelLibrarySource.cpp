//===- KernelLibrarySource.cpp - the skeleton library, embedded ------------===//
//
// HypKernelLib.cuh (dual numbers, SIMT skeletons) followed by HypTensorCore.cuh
// (mma.sync skeletons for bf16 activations, which use HypKernelLib's helpers)
// HypTensorCoreWide.cuh (wide column strips, on HypTensorCore's helpers) and
// HypTensorCoreDyPass.cuh (the backward's one pass over dY, on both).
//
//===----------------------------------------------------------------------===//
#include "hyp/Emitter/AdapterProgram.h"

#include <string>

#include "HypKernelLib.inc"
#include "HypTensorCore.inc"
#include "HypTensorCoreWide.inc"
#include "HypTensorCoreDyPass.inc"

llvm::StringRef hyp::emitter::kernelLibrarySource() {
  static const std::string text = [] {
    std::string s;
    for (const char *chunk : hyp_kernel_lib_chunks)
      s += chunk;
    s += "\n";
    for (const char *chunk : hyp_tensor_core_chunks)
      s += chunk;
    s += "\n";
    for (const char *chunk : hyp_tensor_core_wide_chunks)
      s += chunk;
    s += "\n";
    for (const char *chunk : hyp_tensor_core_dy_pass_chunks)
      s += chunk;
    return s;
  }();
  return text;
}
