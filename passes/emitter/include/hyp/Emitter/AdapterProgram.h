//===- AdapterProgram.h - adapter kernels from a spec ------------*- C++ -*-===//
//
// The emitter's core: given the adapted layer (AdapterSpec) and the per-row
// scalar program (C++ text of hyp_row_scalars<T>, emitted op by op from the
// IR's hyp.row_map, see RowScalarEmitter.h), lay out the kernels of the
// forward and backward programs on the loop skeletons of HypKernelLib.cuh and
// print the CUDA translation unit and its metadata JSON (CONTRACTS.md s. 2).
//
//===----------------------------------------------------------------------===//
#ifndef HYP_EMITTER_ADAPTERPROGRAM_H
#define HYP_EMITTER_ADAPTERPROGRAM_H

#include "hyp/Emitter/KernelSpec.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

namespace hyp::emitter {

/// Checks the shape key: K, N >= 1, 1 <= r <= kMaxRank, finite clamps.
llvm::Error validateSpec(const AdapterSpec &spec);

/// Whether the backward reads dY once (hyp_bwd_dy_pass, hyp_bwd_rows,
/// hyp_bwd_db_gram): spec.dyPass on tensor cores at r <= 32. libhypc groups
/// the IR's backward the same way (hyp-group-kernels dy-pass).
bool backwardReadsDyOnce(const AdapterSpec &spec);

/// Kernels, launch order and buffers of the adapter's two programs.
llvm::Expected<ProgramDef> buildAdapterProgram(const AdapterSpec &spec,
                                               std::string rowScalarsSource);

/// One CUDA translation unit with every kernel of the program.
std::string printCudaSource(const ProgramDef &program, llvm::StringRef compilerVersion);
/// The metadata JSON of docs/CONTRACTS.md section 2 (pretty-printed).
std::string printMetadataJson(const ProgramDef &program, llvm::StringRef compilerVersion);

/// The verbatim text of HypKernelLib.cuh (embedded at build time).
llvm::StringRef kernelLibrarySource();

} // namespace hyp::emitter

#endif // HYP_EMITTER_ADAPTERPROGRAM_H
