//===- KernelLibrarySource.cpp - HypKernelLib.cuh, embedded ----------------===//
#include "hyp/Emitter/AdapterProgram.h"

#include <string>

#include "HypKernelLib.inc"

llvm::StringRef hyp::emitter::kernelLibrarySource() {
  static const std::string text = [] {
    std::string s;
    for (const char *chunk : hyp_kernel_lib_chunks)
      s += chunk;
    return s;
  }();
  return text;
}
