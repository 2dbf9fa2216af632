//===- CudaDriver.cpp - dlopen libcuda.so.1 and resolve the table ---------===//
#include "CudaDriver.h"
#include "hyp/Runtime/Runtime.h"

#include <dlfcn.h>
#include <mutex>

namespace hyp::rt {
namespace {

struct LoadedDriver {
  CudaDriver table;
  bool ok = false;
  std::string whyNot;
};

const char *errName(const CudaDriver &drv, CUresult rc) {
  const char *name = nullptr;
  if (drv.cuGetErrorName && drv.cuGetErrorName(rc, &name) == CUDA_SUCCESS && name)
    return name;
  return "unknown CUresult";
}

LoadedDriver loadDriver() {
  LoadedDriver out;
  // Nothing is ever dlclose'd: kernels and contexts outlive any scope here.
  void *lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char *err = dlerror();
    out.whyNot = std::string("no CUDA driver: libcuda.so.1 could not be loaded (") +
                 (err ? err : "unknown dlopen error") + ")";
    return out;
  }
  auto getProc = reinterpret_cast<PFN_cuGetProcAddress_v12000>(
      dlsym(lib, "cuGetProcAddress_v2"));
  if (!getProc) {
    out.whyNot = "no CUDA driver: libcuda.so.1 has no cuGetProcAddress_v2 "
                 "(driver older than CUDA 12.0; update the NVIDIA driver)";
    return out;
  }
  CudaDriver &t = out.table;
#define HYP_CU_ENTRY(name, version)                                            \
  {                                                                            \
    void *fn = nullptr;                                                        \
    CUdriverProcAddressQueryResult found = CU_GET_PROC_ADDRESS_SUCCESS;        \
    CUresult rc = getProc(#name, &fn, version, CU_GET_PROC_ADDRESS_DEFAULT,    \
                          &found);                                             \
    if (rc != CUDA_SUCCESS || !fn) {                                           \
      out.whyNot = "no CUDA driver: entry point " #name " (ABI " #version      \
                   ") not found in libcuda.so.1";                              \
      return out;                                                              \
    }                                                                          \
    t.name = reinterpret_cast<decltype(t.name)>(fn);                           \
  }
#include "CudaEntryPoints.def"

  CUresult rc = t.cuInit(0);
  if (rc != CUDA_SUCCESS) {
    out.whyNot = std::string("no CUDA driver: cuInit failed: ") + errName(t, rc);
    if (rc == CUDA_ERROR_NO_DEVICE)
      out.whyNot = "no CUDA device: cuInit reports CUDA_ERROR_NO_DEVICE";
    return out;
  }
  t.cuDriverGetVersion(&t.driverVersion);
  if (t.driverVersion < 12000) {
    out.whyNot = "no CUDA driver: driver supports CUDA " +
                 std::to_string(t.driverVersion / 1000) + "." +
                 std::to_string(t.driverVersion % 1000 / 10) + ", need >= 12.0";
    return out;
  }
  rc = t.cuDeviceGetCount(&t.deviceCount);
  if (rc != CUDA_SUCCESS || t.deviceCount == 0) {
    out.whyNot = "no CUDA device: the driver sees no GPU";
    return out;
  }
  out.ok = true;
  return out;
}

const LoadedDriver &theDriver() {
  static LoadedDriver *loaded = nullptr;
  static std::once_flag once;
  std::call_once(once, [] { loaded = new LoadedDriver(loadDriver()); });
  return *loaded;
}

} // namespace

const CudaDriver *cudaDriver(std::string *whyNot) {
  const LoadedDriver &d = theDriver();
  if (!d.ok) {
    if (whyNot)
      *whyNot = d.whyNot;
    return nullptr;
  }
  return &d.table;
}

Status noDriverStatus(const std::string &what) {
  std::string why;
  cudaDriver(&why);
  return Status::error(what + ": " + why);
}

Status cuFailure(const CudaDriver &drv, const char *call, CUresult rc, const char *file,
                 int line) {
  const char *desc = nullptr;
  if (drv.cuGetErrorString)
    drv.cuGetErrorString(rc, &desc);
  return Status::error(std::string(call) + " failed: " + errName(drv, rc) + " (" +
                       (desc ? desc : "no description") + ") (" + file + ":" +
                       std::to_string(line) + ")");
}

bool driverAvailable(std::string *whyNot) { return cudaDriver(whyNot) != nullptr; }

} // namespace hyp::rt
