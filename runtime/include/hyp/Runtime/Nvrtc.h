//===- Nvrtc.h - CUDA source to CUBIN through a dlopen'ed NVRTC --*- C++ -*-===//
//
// NVRTC is loaded at run time (libnvrtc.so.13, .12, unversioned; then from
// $CUDA_HOME/lib64, /usr/local/cuda/lib64 and the `nvidia` Python wheels), so
// libhyprt links no CUDA library and loads on a machine without CUDA. The
// toolkit include directory (for cuda_bf16.h) is found the same way.
// NVRTC is thread-safe: the autotuner compiles its candidates in parallel.
//
//===----------------------------------------------------------------------===//
#ifndef HYP_RUNTIME_NVRTC_H
#define HYP_RUNTIME_NVRTC_H

#include "hyp/Runtime/Status.h"

#include <string>
#include <vector>

namespace hyp::rt {

/// True when an NVRTC library could be loaded; `whyNot` says why not.
HYP_RT_API bool nvrtcAvailable(std::string *whyNot = nullptr);
/// "13.0" (major.minor of the loaded NVRTC); "" when unavailable.
HYP_RT_API std::string nvrtcVersion();
/// The path NVRTC was loaded from ("" when unavailable).
HYP_RT_API std::string nvrtcLibraryPath();
/// A CUDA include directory holding cuda_bf16.h ("" when none was found).
HYP_RT_API std::string cudaIncludeDir();
/// Archs the loaded NVRTC can target (e.g. 75, 80, 90, 100, ...).
HYP_RT_API std::vector<int> nvrtcSupportedArchs();

/// Compiles one translation unit to a CUBIN for `arch` ("sm_90"). `options`
/// are extra NVRTC options (-D...); the arch and include dir are added here.
/// On failure the Status carries NVRTC's full log. `log` gets the log in all
/// cases (warnings).
HYP_RT_API Status compileToCubin(const std::string &source, const std::string &name,
                                 const std::vector<std::string> &options,
                                 const std::string &arch, std::string *cubin,
                                 std::string *log = nullptr);

/// The full NVRTC option list compileToCubin uses (what goes into the key).
HYP_RT_API std::vector<std::string> nvrtcOptions(const std::vector<std::string> &extra,
                                                 const std::string &arch);

/// Reads the SM version from a CUBIN's ELF header (e.g. 90), or -1.
HYP_RT_API int cubinSmVersion(const std::string &cubin);

} // namespace hyp::rt

#endif // HYP_RUNTIME_NVRTC_H
