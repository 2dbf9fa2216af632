//===- CudaDriver.h - libcuda.so.1 loaded with dlopen (internal) -*- C++ -*-===//
//
// Why the driver API and not the runtime API: we load cubins we compiled
// ourselves (cuModuleLoadData), launch with explicit parameter buffers on the
// caller's stream, and must not link libcudart/libcuda (a binary linked with
// -lcuda does not even start on a machine without a driver). The driver API
// interoperates with PyTorch: it uses the primary context, which torch makes
// current, and torch's CUstream handles are the driver's.
//
//===----------------------------------------------------------------------===//
#ifndef HYP_RUNTIME_LIB_CUDADRIVER_H
#define HYP_RUNTIME_LIB_CUDADRIVER_H

#include "hyp/Runtime/Status.h"

#include <cuda.h>
#include <cudaTypedefs.h>

#include <string>

namespace hyp::rt {

struct CudaDriver {
#define HYP_CU_ENTRY(name, version) PFN_##name##_v##version name = nullptr;
#include "CudaEntryPoints.def"
  int driverVersion = 0;
  int deviceCount = 0;
};

/// The process-wide driver table, loaded once. Null when there is no usable
/// driver; `whyNot` then starts with "no CUDA driver" (or "no CUDA device").
const CudaDriver *cudaDriver(std::string *whyNot = nullptr);

/// A Status for a driver call that is needed when there is no driver.
Status noDriverStatus(const std::string &what);

/// "cuLaunchKernel(...) failed: CUDA_ERROR_INVALID_VALUE (invalid argument) (Program.cpp:123)"
Status cuFailure(const CudaDriver &drv, const char *call, CUresult rc, const char *file,
                 int line);

} // namespace hyp::rt

/// The one checked-call macro: `HYP_CU_CHECK(drv, cuInit(0))` returns a Status
/// naming the call, cuGetErrorName/String, file and line on failure.
#define HYP_CU_CHECK(drv, call)                                                \
  do {                                                                         \
    CUresult hyp_cu_rc_ = (drv).call;                                          \
    if (hyp_cu_rc_ != CUDA_SUCCESS)                                            \
      return ::hyp::rt::cuFailure((drv), #call, hyp_cu_rc_, __FILE_NAME__,     \
                                  __LINE__);                                   \
  } while (0)

#endif // HYP_RUNTIME_LIB_CUDADRIVER_H
