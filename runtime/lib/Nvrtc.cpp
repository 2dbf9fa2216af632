//===- Nvrtc.cpp - dlopen'ed NVRTC: CUDA source -> CUBIN ------------------===//
#include "hyp/Runtime/Nvrtc.h"

#include <nvrtc.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <glob.h>
#include <mutex>
#include <sys/stat.h>

namespace hyp::rt {
namespace {

struct NvrtcApi {
  decltype(&::nvrtcVersion) version = nullptr;
  decltype(&::nvrtcGetErrorString) getErrorString = nullptr;
  decltype(&::nvrtcCreateProgram) createProgram = nullptr;
  decltype(&::nvrtcCompileProgram) compileProgram = nullptr;
  decltype(&::nvrtcDestroyProgram) destroyProgram = nullptr;
  decltype(&::nvrtcGetProgramLogSize) getProgramLogSize = nullptr;
  decltype(&::nvrtcGetProgramLog) getProgramLog = nullptr;
  decltype(&::nvrtcGetCUBINSize) getCUBINSize = nullptr;
  decltype(&::nvrtcGetCUBIN) getCUBIN = nullptr;
  decltype(&::nvrtcGetNumSupportedArchs) getNumSupportedArchs = nullptr;
  decltype(&::nvrtcGetSupportedArchs) getSupportedArchs = nullptr;
  bool ok = false;
  std::string whyNot, path, versionText, includeDir;
};

bool fileExists(const std::string &p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0;
}

std::vector<std::string> globAll(const std::string &pattern) {
  std::vector<std::string> out;
  glob_t g;
  if (glob(pattern.c_str(), 0, nullptr, &g) == 0) {
    for (size_t i = 0; i < g.gl_pathc; ++i)
      out.push_back(g.gl_pathv[i]);
    globfree(&g);
  }
  // Highest version first (glob sorts ascending).
  return std::vector<std::string>(out.rbegin(), out.rend());
}

// Where pip's nvidia-* wheels put their files, for every Python we can guess.
std::vector<std::string> wheelDirs(const char *sub) {
  std::vector<std::string> out;
  std::vector<std::string> roots = {"/usr/lib/python3*/site-packages", "/usr/lib/python3/dist-packages",
                                    "/usr/local/lib/python3*/dist-packages",
                                    "/usr/local/lib/python3*/site-packages"};
  if (const char *h = getenv("HOME"))
    roots.push_back(std::string(h) + "/.local/lib/python3*/site-packages");
  if (const char *v = getenv("VIRTUAL_ENV"))
    roots.push_back(std::string(v) + "/lib/python3*/site-packages");
  if (const char *c = getenv("CONDA_PREFIX"))
    roots.push_back(std::string(c) + "/lib/python3*/site-packages");
  for (const std::string &r : roots)
    for (const char *pkg : {"/nvidia/cu13/", "/nvidia/cuda_nvrtc/", "/nvidia/cuda_runtime/", "/nvidia/cu12/"})
      for (const std::string &d : globAll(r + pkg + sub))
        out.push_back(d);
  return out;
}

std::string findIncludeDir() {
  std::vector<std::string> cands;
  for (const char *env : {"CUDA_HOME", "CUDA_PATH"})
    if (const char *e = getenv(env); e && *e)
      cands.push_back(std::string(e) + "/include");
  cands.push_back("/usr/local/cuda/include");
  for (const std::string &d : globAll("/usr/local/cuda-*/include"))
    cands.push_back(d);
  for (const std::string &d : wheelDirs("include"))
    cands.push_back(d);
  for (const std::string &d : cands)
    if (fileExists(d + "/cuda_bf16.h"))
      return d;
  return "";
}

NvrtcApi loadNvrtc() {
  NvrtcApi api;
  std::vector<std::string> cands;
  if (const char *e = getenv("HYP_NVRTC_PATH"); e && *e)
    cands.push_back(e);
  // By soname first: a process that already loaded NVRTC (torch) reuses it.
  for (const char *n : {"libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so"})
    cands.push_back(n);
  for (const char *env : {"CUDA_HOME", "CUDA_PATH"})
    if (const char *e = getenv(env); e && *e)
      for (const char *n : {"/lib64/libnvrtc.so.13", "/lib64/libnvrtc.so.12", "/lib64/libnvrtc.so"})
        cands.push_back(std::string(e) + n);
  for (const char *n : {"libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so"})
    cands.push_back(std::string("/usr/local/cuda/lib64/") + n);
  for (const std::string &d : wheelDirs("lib"))
    for (const char *n : {"/libnvrtc.so.13", "/libnvrtc.so.12"})
      cands.push_back(d + n);

  void *lib = nullptr;
  std::string firstErr;
  for (const std::string &c : cands) {
    lib = dlopen(c.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (lib) {
      api.path = c;
      break;
    }
    if (firstErr.empty())
      if (const char *e = dlerror())
        firstErr = e;
  }
  if (!lib) {
    api.whyNot = "NVRTC not found (tried libnvrtc.so.13/.12, $CUDA_HOME/lib64, "
                 "/usr/local/cuda/lib64, nvidia wheels; set HYP_NVRTC_PATH): " + firstErr;
    return api;
  }
  Dl_info info;
  void *sym = dlsym(lib, "nvrtcVersion");
  if (sym && dladdr(sym, &info) && info.dli_fname)
    api.path = info.dli_fname;
#define HYP_NVRTC_SYM(member, name)                                            \
  api.member = reinterpret_cast<decltype(api.member)>(dlsym(lib, #name));      \
  if (!api.member) {                                                           \
    api.whyNot = "NVRTC at " + api.path + " lacks " #name;                     \
    return api;                                                                \
  }
  HYP_NVRTC_SYM(version, nvrtcVersion)
  HYP_NVRTC_SYM(getErrorString, nvrtcGetErrorString)
  HYP_NVRTC_SYM(createProgram, nvrtcCreateProgram)
  HYP_NVRTC_SYM(compileProgram, nvrtcCompileProgram)
  HYP_NVRTC_SYM(destroyProgram, nvrtcDestroyProgram)
  HYP_NVRTC_SYM(getProgramLogSize, nvrtcGetProgramLogSize)
  HYP_NVRTC_SYM(getProgramLog, nvrtcGetProgramLog)
  HYP_NVRTC_SYM(getCUBINSize, nvrtcGetCUBINSize)
  HYP_NVRTC_SYM(getCUBIN, nvrtcGetCUBIN)
  HYP_NVRTC_SYM(getNumSupportedArchs, nvrtcGetNumSupportedArchs)
  HYP_NVRTC_SYM(getSupportedArchs, nvrtcGetSupportedArchs)
#undef HYP_NVRTC_SYM
  int major = 0, minor = 0;
  api.version(&major, &minor);
  api.versionText = std::to_string(major) + "." + std::to_string(minor);
  api.includeDir = findIncludeDir();
  api.ok = true;
  return api;
}

const NvrtcApi &nvrtc() {
  static NvrtcApi *api = nullptr;
  static std::once_flag once;
  std::call_once(once, [] { api = new NvrtcApi(loadNvrtc()); });
  return *api;
}

} // namespace

bool nvrtcAvailable(std::string *whyNot) {
  if (!nvrtc().ok && whyNot)
    *whyNot = nvrtc().whyNot;
  return nvrtc().ok;
}
std::string nvrtcVersion() { return nvrtc().versionText; }
std::string nvrtcLibraryPath() { return nvrtc().path; }
std::string cudaIncludeDir() { return nvrtc().ok ? nvrtc().includeDir : findIncludeDir(); }

std::vector<int> nvrtcSupportedArchs() {
  const NvrtcApi &api = nvrtc();
  std::vector<int> out;
  int n = 0;
  if (!api.ok || api.getNumSupportedArchs(&n) != NVRTC_SUCCESS || n <= 0)
    return out;
  out.resize(size_t(n));
  if (api.getSupportedArchs(out.data()) != NVRTC_SUCCESS)
    out.clear();
  return out;
}

std::vector<std::string> nvrtcOptions(const std::vector<std::string> &extra,
                                      const std::string &arch) {
  std::vector<std::string> opts = {"--gpu-architecture=" + arch, "-std=c++17"};
  std::string inc = cudaIncludeDir();
  if (!inc.empty())
    opts.push_back("--include-path=" + inc);
  opts.insert(opts.end(), extra.begin(), extra.end());
  return opts;
}

Status compileToCubin(const std::string &source, const std::string &name,
                      const std::vector<std::string> &options, const std::string &arch,
                      std::string *cubin, std::string *logOut) {
  const NvrtcApi &api = nvrtc();
  if (!api.ok)
    return Status::error("NVRTC compile of " + name + ": " + api.whyNot);
  if (arch.rfind("sm_", 0) != 0)
    return Status::error("NVRTC compile of " + name + ": arch '" + arch +
                         "' is not of the form sm_XY");
  std::vector<int> archs = nvrtcSupportedArchs();
  int want = atoi(arch.c_str() + 3);
  if (!archs.empty() && std::find(archs.begin(), archs.end(), want) == archs.end())
    return Status::error("NVRTC " + api.versionText + " cannot target " + arch +
                         " (install a CUDA toolkit that supports this GPU)");

  nvrtcProgram prog = nullptr;
  nvrtcResult rc =
      api.createProgram(&prog, source.c_str(), (name + ".cu").c_str(), 0, nullptr, nullptr);
  if (rc != NVRTC_SUCCESS)
    return Status::error("nvrtcCreateProgram(" + name + ") failed: " + api.getErrorString(rc));
  std::vector<std::string> opts = nvrtcOptions(options, arch);
  std::vector<const char *> argv;
  for (const std::string &o : opts)
    argv.push_back(o.c_str());
  nvrtcResult crc = api.compileProgram(prog, int(argv.size()), argv.data());
  size_t logSize = 0;
  std::string log;
  if (api.getProgramLogSize(prog, &logSize) == NVRTC_SUCCESS && logSize > 1) {
    log.resize(logSize);
    api.getProgramLog(prog, &log[0]);
    log.resize(strnlen(log.c_str(), log.size()));
  }
  if (logOut)
    *logOut = log;
  if (crc != NVRTC_SUCCESS) {
    api.destroyProgram(&prog);
    std::string cmd;
    for (const std::string &o : opts)
      cmd += " " + o;
    return Status::error("NVRTC failed to compile " + name + " for " + arch + ": " +
                         api.getErrorString(crc) + "\noptions:" + cmd + "\nlog:\n" + log +
                         (api.includeDir.empty()
                              ? "\n(note: no CUDA include dir with cuda_bf16.h was found; "
                                "set CUDA_HOME)"
                              : ""));
  }
  size_t size = 0;
  rc = api.getCUBINSize(prog, &size);
  if (rc != NVRTC_SUCCESS || size == 0) {
    api.destroyProgram(&prog);
    return Status::error("nvrtcGetCUBINSize(" + name + ") failed: " + api.getErrorString(rc));
  }
  std::string out(size, '\0');
  rc = api.getCUBIN(prog, &out[0]);
  api.destroyProgram(&prog);
  if (rc != NVRTC_SUCCESS)
    return Status::error("nvrtcGetCUBIN(" + name + ") failed: " + api.getErrorString(rc));
  *cubin = std::move(out);
  return Status::success();
}

int cubinSmVersion(const std::string &c) {
  // ELF64, EM_CUDA (190). The SM number sits in e_flags: bits 8..15 for the
  // ABI version >= 8 (CUDA 12.8+ cubins), bits 0..7 before.
  if (c.size() < 64 || c.compare(0, 4, "\x7f" "ELF") != 0 || c[4] != 2)
    return -1;
  auto u16 = [&](size_t o) { return unsigned(uint8_t(c[o])) | unsigned(uint8_t(c[o + 1])) << 8; };
  auto u32 = [&](size_t o) { return u16(o) | u16(o + 2) << 16; };
  if (u16(18) != 190)
    return -1;
  unsigned flags = u32(48);
  unsigned abiVersion = uint8_t(c[8]);
  return int(abiVersion >= 8 ? (flags >> 8) & 0xff : flags & 0xff);
}

} // namespace hyp::rt
