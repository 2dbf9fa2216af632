//===- JitAdapter.h - layer key -> compiled adapter program -----*- C++ -*-===//
//
// The CUDA path of the ops: one program per (variant, convention, activation
// dtype, K, N, r, max_sinh_arg), compiled by libhypc and loaded by libhyprt
// on first use, then kept for the life of the process. Controls for Python.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <string>
#include <vector>

namespace hyplora {

/// True when this build has the compiler and runtime linked in.
bool jitCompiledIn();
/// Why the JIT is not used for CUDA calls right now ("" when it is):
/// not compiled in, HYP_JIT=0, or the runtime's driverAvailable() reason.
std::string jitUnavailableReason();
/// Turn the JIT on/off for this process (off: CUDA calls use the ATen path).
void setJitEnabled(bool enabled);
/// Layer keys of the programs loaded so far ("hyplora/reference/bf16/K576/N192/r32/...").
std::vector<std::string> jitLoadedPrograms();
/// The tuned forward orders around the frozen GEMM (ForwardOrder.h), one line
/// per program and M bucket: "<layer key> M<bucket> dev<d>: store (add .., store ..)".
std::vector<std::string> jitForwardOrders();
/// The libhypc options a compile would get now (HYP_TENSOR_CORES,
/// HYP_ROW_SPLIT_COLS, HYP_DY_PASS and their defaults), e.g. "tensor-cores=1".
std::string jitCompileOptions();
/// Forget the loaded programs (the disk cache is the runtime's; see _C.clear_cache).
void jitClearPrograms();
/// Number of forward/backward calls the JIT served / declined since start.
struct JitCounters {
  unsigned long long forwardCalls = 0, backwardCalls = 0, fallbacks = 0;
  /// Forward calls that ran programs.forward_store (y written, W x added after).
  unsigned long long storingForwardCalls = 0;
};
JitCounters jitCounters();

} // namespace hyplora
