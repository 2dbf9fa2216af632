//===- DeviceMemory.cpp - device memory helpers for tests and tools -------===//
#include "hyp/Runtime/DeviceMemory.h"
#include "CudaDriver.h"

namespace hyp::rt {
namespace {
// Makes a context current (device 0's primary one when there is none).
Status ready(const CudaDriver **out, const char *what) {
  const CudaDriver *drv = cudaDriver();
  if (!drv)
    return noDriverStatus(what);
  CUcontext ctx = nullptr;
  HYP_CU_CHECK(*drv, cuCtxGetCurrent(&ctx));
  if (!ctx) {
    CUdevice dev;
    HYP_CU_CHECK(*drv, cuDeviceGet(&dev, 0));
    HYP_CU_CHECK(*drv, cuDevicePrimaryCtxRetain(&ctx, dev));
    HYP_CU_CHECK(*drv, cuCtxSetCurrent(ctx));
  }
  *out = drv;
  return Status::success();
}
CUdeviceptr dptr(const void *p) { return reinterpret_cast<CUdeviceptr>(p); }
} // namespace

Status deviceAlloc(size_t bytes, void **ptr) {
  const CudaDriver *d = nullptr;
  HYP_RT_TRY(ready(&d, "deviceAlloc"));
  CUdeviceptr p = 0;
  HYP_CU_CHECK(*d, cuMemAlloc(&p, bytes ? bytes : 1));
  *ptr = reinterpret_cast<void *>(p);
  return Status::success();
}
Status deviceFree(void *ptr) {
  const CudaDriver *d = nullptr;
  HYP_RT_TRY(ready(&d, "deviceFree"));
  HYP_CU_CHECK(*d, cuMemFree(dptr(ptr)));
  return Status::success();
}
Status copyToDevice(void *dst, const void *src, size_t bytes) {
  const CudaDriver *d = nullptr;
  HYP_RT_TRY(ready(&d, "copyToDevice"));
  HYP_CU_CHECK(*d, cuMemcpyHtoD(dptr(dst), src, bytes));
  return Status::success();
}
Status copyToHost(void *dst, const void *src, size_t bytes) {
  const CudaDriver *d = nullptr;
  HYP_RT_TRY(ready(&d, "copyToHost"));
  HYP_CU_CHECK(*d, cuMemcpyDtoH(dst, dptr(src), bytes));
  return Status::success();
}
Status deviceMemset(void *dst, unsigned char value, size_t bytes, void *stream) {
  const CudaDriver *d = nullptr;
  HYP_RT_TRY(ready(&d, "deviceMemset"));
  HYP_CU_CHECK(*d, cuMemsetD8Async(dptr(dst), value, bytes, static_cast<CUstream>(stream)));
  return Status::success();
}
Status streamCreate(void **stream) {
  const CudaDriver *d = nullptr;
  HYP_RT_TRY(ready(&d, "streamCreate"));
  CUstream s = nullptr;
  HYP_CU_CHECK(*d, cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
  *stream = s;
  return Status::success();
}
Status streamDestroy(void *stream) {
  const CudaDriver *d = nullptr;
  HYP_RT_TRY(ready(&d, "streamDestroy"));
  HYP_CU_CHECK(*d, cuStreamDestroy(static_cast<CUstream>(stream)));
  return Status::success();
}
Status streamSynchronize(void *stream) {
  const CudaDriver *d = nullptr;
  HYP_RT_TRY(ready(&d, "streamSynchronize"));
  HYP_CU_CHECK(*d, cuStreamSynchronize(static_cast<CUstream>(stream)));
  return Status::success();
}

} // namespace hyp::rt
