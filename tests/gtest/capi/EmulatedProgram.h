//===- EmulatedProgram.h - emitted kernels, built for the CPU ----*- C++ -*-===//
//
// Takes libhypc's output (CUDA source + metadata), compiles the source with
// the host C++ compiler through CudaEmulation.h into a shared library, and
// launches programs.forward / programs.backward the way the runtime does:
// buffers by metadata name, grid from the metadata's extents and the
// configuration's tunables, accumulate buffers zeroed by the caller.
//
//===----------------------------------------------------------------------===//
#ifndef HYP_TESTS_EMULATEDPROGRAM_H
#define HYP_TESTS_EMULATEDPROGRAM_H

#include "llvm/Support/JSON.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace hyp::test {

/// A host buffer holding one metadata buffer (f32, bf16 or f16 elements).
struct HostBuffer {
  std::string elem;
  int64_t count = 0;
  int64_t offsetElems = 0; // > 0 makes the data pointer deliberately unaligned
  std::vector<unsigned char> bytes;

  void allocate(const std::string &elemType, int64_t n, int64_t offset = 0);
  int elemSize() const { return elem == "f32" ? 4 : 2; }
  void *data() { return bytes.data() + offsetElems * elemSize(); }
  double get(int64_t i) const;
  void set(int64_t i, double v); // rounds to the element type
  std::vector<double> toDoubles() const;
  void fill(double v);
};

class EmulatedProgram {
public:
  ~EmulatedProgram();
  /// Compiles `source` for the host; returns "" on success, else why it could not
  /// (missing compiler = skip, compile error = failure, told apart by *isSkip).
  std::string build(const std::string &source, const std::string &metadataJson,
                    const std::map<std::string, int64_t> &config, bool *isSkip);
  /// Runs every kernel of programs.<entry> in order.
  std::string run(const std::string &entry, std::map<std::string, HostBuffer> &buffers,
                  int64_t M, float scaling);
  const llvm::json::Object &metadata() const { return *metadata_.getAsObject(); }
  /// Allocates every metadata buffer for M rows (names in `unaligned` get
  /// their data pointer shifted by one element).
  std::map<std::string, HostBuffer> allocateBuffers(int64_t M,
                                                    const std::vector<std::string> &unaligned) const;
  /// Buffers with access `accumulate` in some kernel of `entry`.
  std::vector<std::string> accumulateBuffers(const std::string &entry) const;

private:
  llvm::json::Value metadata_ = nullptr;
  std::map<std::string, int64_t> config_;
  void *handle_ = nullptr;
  std::string dir_;
};

} // namespace hyp::test

#endif // HYP_TESTS_EMULATEDPROGRAM_H
