//===- DeviceMemory.h - minimal device memory for tests and tools -*- C++ -*-===//
//
// In production PyTorch owns every buffer; these few calls exist so the
// runtime's own GPU tests and the `--source/--metadata` checker can run
// without linking libcuda or libcudart. All act on the current context
// (device 0's primary context when there is none) and return a Status naming
// "no CUDA driver" on a machine without one.
//
//===----------------------------------------------------------------------===//
#ifndef HYP_RUNTIME_DEVICEMEMORY_H
#define HYP_RUNTIME_DEVICEMEMORY_H

#include "hyp/Runtime/Status.h"

#include <cstddef>

namespace hyp::rt {

HYP_RT_API Status deviceAlloc(size_t bytes, void **ptr);
HYP_RT_API Status deviceFree(void *ptr);
HYP_RT_API Status copyToDevice(void *dst, const void *src, size_t bytes);
HYP_RT_API Status copyToHost(void *dst, const void *src, size_t bytes);
/// Fills `bytes` bytes with `value` on `stream` (async).
HYP_RT_API Status deviceMemset(void *dst, unsigned char value, size_t bytes, void *stream);
HYP_RT_API Status streamCreate(void **stream);
HYP_RT_API Status streamDestroy(void *stream);
HYP_RT_API Status streamSynchronize(void *stream);

} // namespace hyp::rt

#endif // HYP_RUNTIME_DEVICEMEMORY_H
