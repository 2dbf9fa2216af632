//===- FakeCuda.cpp - a fake libcuda.so.1 for testing the GPU paths on CPU ---===//
//
// The dev machine has no GPU, yet the runtime's launcher, autotuner (events,
// save/restore of clobbered buffers, failing candidates), tuning files and
// second-process reuse are mostly host logic. This library stands in for
// libcuda.so.1 (RuntimeTests runs RuntimeGpuTests with LD_LIBRARY_PATH
// pointing here): "device" memory is host memory, modules must be real CUDA
// ELF images (NVRTC output) containing the kernel's name, and launches of
// the test kernels are emulated on the host from the packed parameters,
// so wrong argument packing or an unrestored buffer shows up as a wrong
// result. Times are synthetic (a clock advanced per launch, depending on the
// block size). HYP_FAKE_CUDA_FAIL_BLOCK=<n> makes launches with n threads
// fail with CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES.
// It proves the host logic only; the real GPU run is scripts/gpu_runtime_tests.sh.
//
//===----------------------------------------------------------------------===//
#include <cuda.h>
#include <cudaTypedefs.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>

namespace {
std::mutex gMutex;
std::map<uintptr_t, size_t> gAllocations;
double gClockMs = 0;
int gCapturing = 0; // hyp_fake_cuda_set_capturing: pretend every stream is capturing
CUcontext gCurrent = nullptr;
int gContextStorage = 0;

struct FakeModule { std::string image; };
struct FakeFunction { std::string name; };
struct FakeEvent { double t = 0; };

float fromBf16(uint16_t h) {
  uint32_t b = uint32_t(h) << 16;
  float f;
  memcpy(&f, &b, 4);
  return f;
}
uint16_t toBf16(float f) {
  uint32_t b;
  memcpy(&b, &f, 4);
  if ((b & 0x7fffffffu) > 0x7f800000u)
    return 0x7fc0;
  b += 0x7fffu + ((b >> 16) & 1u);
  return uint16_t(b >> 16);
}

template <typename T> T arg(void **params, int i) {
  T v;
  memcpy(&v, params[i], sizeof(T));
  return v;
}

size_t elfSize(const char *image) {
  uint64_t shoff;
  uint16_t shentsize, shnum;
  memcpy(&shoff, image + 40, 8);
  memcpy(&shentsize, image + 58, 2);
  memcpy(&shnum, image + 60, 2);
  return size_t(shoff + uint64_t(shentsize) * shnum);
}

CUresult cuGetErrorName_(CUresult e, const char **s) {
  switch (e) {
  case CUDA_SUCCESS: *s = "CUDA_SUCCESS"; break;
  case CUDA_ERROR_INVALID_VALUE: *s = "CUDA_ERROR_INVALID_VALUE"; break;
  case CUDA_ERROR_INVALID_IMAGE: *s = "CUDA_ERROR_INVALID_IMAGE"; break;
  case CUDA_ERROR_NOT_FOUND: *s = "CUDA_ERROR_NOT_FOUND"; break;
  case CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES: *s = "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES"; break;
  default: *s = "CUDA_ERROR_UNKNOWN"; break;
  }
  return CUDA_SUCCESS;
}
CUresult cuGetErrorString_(CUresult e, const char **s) {
  *s = e == CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES ? "too many resources requested for launch (fake)"
                                               : "fake driver error";
  return CUDA_SUCCESS;
}
CUresult cuInit_(unsigned) { return CUDA_SUCCESS; }
CUresult cuDriverGetVersion_(int *v) { *v = 13000; return CUDA_SUCCESS; }
CUresult cuDeviceGet_(CUdevice *d, int ordinal) {
  if (ordinal != 0) return CUDA_ERROR_INVALID_VALUE;
  *d = 0;
  return CUDA_SUCCESS;
}
CUresult cuDeviceGetCount_(int *n) { *n = 1; return CUDA_SUCCESS; }
CUresult cuDeviceGetAttribute_(int *v, CUdevice_attribute a, CUdevice) {
  switch (a) {
  case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR: *v = 9; break;
  case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR: *v = 0; break;
  case CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT: *v = 132; break;
  case CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK: *v = 1024; break;
  case CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_MULTIPROCESSOR: *v = 2048; break;
  case CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN: *v = 227 * 1024; break;
  default: *v = 0; break;
  }
  return CUDA_SUCCESS;
}
CUresult cuDeviceGetName_(char *name, int len, CUdevice) {
  snprintf(name, size_t(len), "Fake H100 (hyprt test driver)");
  return CUDA_SUCCESS;
}
CUresult cuDevicePrimaryCtxRetain_(CUcontext *c, CUdevice) {
  *c = reinterpret_cast<CUcontext>(&gContextStorage);
  return CUDA_SUCCESS;
}
CUresult cuDevicePrimaryCtxRelease_(CUdevice) { return CUDA_SUCCESS; }
CUresult cuCtxGetCurrent_(CUcontext *c) { *c = gCurrent; return CUDA_SUCCESS; }
CUresult cuCtxSetCurrent_(CUcontext c) { gCurrent = c; return CUDA_SUCCESS; }
CUresult cuCtxGetDevice_(CUdevice *d) {
  if (!gCurrent) return CUDA_ERROR_INVALID_CONTEXT;
  *d = 0;
  return CUDA_SUCCESS;
}
CUresult cuCtxSynchronize_() { return CUDA_SUCCESS; }
CUresult cuModuleLoadData_(CUmodule *m, const void *image) {
  const char *p = static_cast<const char *>(image);
  if (!p || memcmp(p, "\x7f" "ELF", 4) != 0 || uint8_t(p[18]) != 190)
    return CUDA_ERROR_INVALID_IMAGE;
  auto *mod = new FakeModule{std::string(p, elfSize(p))};
  *m = reinterpret_cast<CUmodule>(mod);
  return CUDA_SUCCESS;
}
CUresult cuModuleUnload_(CUmodule m) {
  delete reinterpret_cast<FakeModule *>(m);
  return CUDA_SUCCESS;
}
CUresult cuModuleGetFunction_(CUfunction *f, CUmodule m, const char *name) {
  auto *mod = reinterpret_cast<FakeModule *>(m);
  if (mod->image.find(name) == std::string::npos)
    return CUDA_ERROR_NOT_FOUND;
  *f = reinterpret_cast<CUfunction>(new FakeFunction{name}); // leaked: test process only
  return CUDA_SUCCESS;
}
CUresult cuFuncGetAttribute_(int *v, CUfunction_attribute a, CUfunction) {
  *v = a == CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK ? 1024 : 0;
  return CUDA_SUCCESS;
}
CUresult cuFuncSetAttribute_(CUfunction, CUfunction_attribute, int) { return CUDA_SUCCESS; }

CUresult cuLaunchKernel_(CUfunction f, unsigned gx, unsigned gy, unsigned gz, unsigned bx,
                         unsigned by, unsigned bz, unsigned smem, CUstream, void **params,
                         void **extra) {
  if (!f || gx == 0 || gy == 0 || gz == 0 || bx == 0 || bx > 1024 || by != 1 || bz != 1)
    return CUDA_ERROR_INVALID_VALUE;
  if (const char *fail = getenv("HYP_FAKE_CUDA_FAIL_BLOCK"); fail && unsigned(atoi(fail)) == bx)
    return CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES;
  const std::string &name = reinterpret_cast<FakeFunction *>(f)->name;
  {
    std::lock_guard<std::mutex> lock(gMutex);
    gClockMs += 0.001 * (1.0 + std::fabs(std::log2(bx / 128.0))) + 1e-6 * gx;
  }
  if (name == "hyp_test_rownorm") {
    auto *x = arg<const uint16_t *>(params, 0);
    auto *nrm = arg<float *>(params, 1);
    int64_t M = arg<int64_t>(params, 2), K = arg<int64_t>(params, 3);
    // One block per row: rows beyond the grid are not computed, as on a GPU.
    for (int64_t i = 0; i < M && i < int64_t(gx); ++i) {
      float acc = 0;
      for (int64_t j = 0; j < K; ++j) {
        float v = fromBf16(x[i * K + j]);
        acc += v * v;
      }
      nrm[i] = std::sqrt(acc);
    }
  } else if (name == "hyp_test_blockcount") { // GpuTests: counts blocks whose gridDim.y == PARTS
    *arg<float *>(params, 0) += float(gx) * float(gy) * float(gz);
  } else if (name == "hyp_test_rowscale") {
    auto *x = arg<const uint16_t *>(params, 0);
    auto *s = arg<const float *>(params, 1);
    auto *y = arg<uint16_t *>(params, 2);
    auto *total = arg<float *>(params, 3);
    int64_t M = arg<int64_t>(params, 4), K = arg<int64_t>(params, 5);
    float alpha = arg<float>(params, 6);
    float sum = 0;
    for (int64_t i = 0; i < M; ++i) {
      float scale = alpha * s[i];
      for (int64_t j = 0; j < K; ++j) {
        float add = scale * fromBf16(x[i * K + j]);
        y[i * K + j] = toBf16(fromBf16(y[i * K + j]) + add);
        sum += add;
      }
    }
    *total += sum;
  }
  return CUDA_SUCCESS;
}

CUresult cuEventCreate_(CUevent *e, unsigned) {
  *e = reinterpret_cast<CUevent>(new FakeEvent);
  return CUDA_SUCCESS;
}
CUresult cuEventRecord_(CUevent e, CUstream) {
  std::lock_guard<std::mutex> lock(gMutex);
  reinterpret_cast<FakeEvent *>(e)->t = gClockMs;
  return CUDA_SUCCESS;
}
CUresult cuEventSynchronize_(CUevent) { return CUDA_SUCCESS; }
CUresult cuEventElapsedTime_(float *ms, CUevent a, CUevent b) {
  *ms = float(reinterpret_cast<FakeEvent *>(b)->t - reinterpret_cast<FakeEvent *>(a)->t);
  return CUDA_SUCCESS;
}
CUresult cuEventDestroy_(CUevent e) {
  delete reinterpret_cast<FakeEvent *>(e);
  return CUDA_SUCCESS;
}
CUresult cuMemAlloc_(CUdeviceptr *p, size_t n) {
  void *m = calloc(1, n ? n : 1);
  if (!m) return CUDA_ERROR_OUT_OF_MEMORY;
  std::lock_guard<std::mutex> lock(gMutex);
  gAllocations[uintptr_t(m)] = n;
  *p = CUdeviceptr(uintptr_t(m));
  return CUDA_SUCCESS;
}
CUresult cuMemFree_(CUdeviceptr p) {
  std::lock_guard<std::mutex> lock(gMutex);
  auto it = gAllocations.find(uintptr_t(p));
  if (it == gAllocations.end()) return CUDA_ERROR_INVALID_VALUE;
  free(reinterpret_cast<void *>(p));
  gAllocations.erase(it);
  return CUDA_SUCCESS;
}
CUresult cuMemcpyHtoD_(CUdeviceptr d, const void *s, size_t n) {
  memcpy(reinterpret_cast<void *>(d), s, n);
  return CUDA_SUCCESS;
}
CUresult cuMemcpyDtoH_(void *d, CUdeviceptr s, size_t n) {
  memcpy(d, reinterpret_cast<void *>(s), n);
  return CUDA_SUCCESS;
}
CUresult cuMemcpyDtoDAsync_(CUdeviceptr d, CUdeviceptr s, size_t n, CUstream) {
  memcpy(reinterpret_cast<void *>(d), reinterpret_cast<void *>(s), n);
  return CUDA_SUCCESS;
}
CUresult cuMemsetD8Async_(CUdeviceptr d, unsigned char v, size_t n, CUstream) {
  memset(reinterpret_cast<void *>(d), v, n);
  return CUDA_SUCCESS;
}
CUresult cuMemGetAddressRange_(CUdeviceptr *base, size_t *size, CUdeviceptr p) {
  std::lock_guard<std::mutex> lock(gMutex);
  auto it = gAllocations.upper_bound(uintptr_t(p));
  if (it == gAllocations.begin()) return CUDA_ERROR_NOT_FOUND;
  --it;
  if (uintptr_t(p) >= it->first + it->second) return CUDA_ERROR_NOT_FOUND;
  if (base) *base = CUdeviceptr(it->first);
  if (size) *size = it->second;
  return CUDA_SUCCESS;
}
CUresult cuStreamCreate_(CUstream *s, unsigned) {
  *s = reinterpret_cast<CUstream>(new int(0));
  return CUDA_SUCCESS;
}
CUresult cuStreamDestroy_(CUstream s) {
  delete reinterpret_cast<int *>(s);
  return CUDA_SUCCESS;
}
CUresult cuStreamSynchronize_(CUstream) { return CUDA_SUCCESS; }
CUresult cuStreamIsCapturing_(CUstream, CUstreamCaptureStatus *s) {
  *s = gCapturing ? CU_STREAM_CAPTURE_STATUS_ACTIVE : CU_STREAM_CAPTURE_STATUS_NONE;
  return CUDA_SUCCESS;
}

const std::map<std::string, void *> &table() {
  static const std::map<std::string, void *> t = {
#define FAKE(name) {#name, reinterpret_cast<void *>(&name##_)}
      FAKE(cuGetErrorName),       FAKE(cuGetErrorString),     FAKE(cuInit),
      FAKE(cuDriverGetVersion),   FAKE(cuDeviceGet),          FAKE(cuDeviceGetCount),
      FAKE(cuDeviceGetAttribute), FAKE(cuDeviceGetName),      FAKE(cuDevicePrimaryCtxRetain),
      FAKE(cuDevicePrimaryCtxRelease), FAKE(cuCtxGetCurrent), FAKE(cuCtxSetCurrent),
      FAKE(cuCtxGetDevice),       FAKE(cuCtxSynchronize),     FAKE(cuModuleLoadData),
      FAKE(cuModuleUnload),       FAKE(cuModuleGetFunction),  FAKE(cuFuncGetAttribute),
      FAKE(cuFuncSetAttribute),   FAKE(cuLaunchKernel),       FAKE(cuEventCreate),
      FAKE(cuEventRecord),        FAKE(cuEventSynchronize),   FAKE(cuEventElapsedTime),
      FAKE(cuEventDestroy),       FAKE(cuMemAlloc),           FAKE(cuMemFree),
      FAKE(cuMemcpyHtoD),         FAKE(cuMemcpyDtoH),         FAKE(cuMemcpyDtoDAsync),
      FAKE(cuMemsetD8Async),      FAKE(cuMemGetAddressRange), FAKE(cuStreamCreate),
      FAKE(cuStreamDestroy),      FAKE(cuStreamSynchronize),  FAKE(cuStreamIsCapturing),
#undef FAKE
  };
  return t;
}
} // namespace

extern "C" __attribute__((visibility("default"))) CUresult
cuGetProcAddress_v2(const char *symbol, void **pfn, int, cuuint64_t,
                    CUdriverProcAddressQueryResult *status) {
  auto it = table().find(symbol);
  if (it == table().end()) {
    *pfn = nullptr;
    if (status) *status = CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND;
    return CUDA_ERROR_NOT_FOUND;
  }
  *pfn = it->second;
  if (status) *status = CU_GET_PROC_ADDRESS_SUCCESS;
  return CUDA_SUCCESS;
}

// Test hook (found with dlsym by GpuTests.cpp; only the fake has it).
extern "C" __attribute__((visibility("default"))) void hyp_fake_cuda_set_capturing(int on) {
  gCapturing = on;
}
