//===- hyp-nvrtc-check.cpp - compile emitted CUDA with NVRTC (no GPU) -----===//
//
// Test tool: reads a CUDA translation unit (file or stdin, "-") and compiles
// it with NVRTC to CUBIN for --arch (default sm_90) and, with --ptx, to PTX
// for the matching compute_XX. With --metadata m.json --all-configs it
// compiles once per tunable configuration of every kernel (that kernel's
// values swept one combination at a time, the others at their defaults),
// exactly the -D macros the runtime passes. Prints the NVRTC log of any
// failure and exits non-zero; on success prints one summary line per kernel.
//
//===----------------------------------------------------------------------===//
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/ThreadPool.h"
#include "llvm/Support/raw_ostream.h"

#include <nvrtc.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace cl = llvm::cl;

static cl::opt<std::string> inputFile(cl::Positional, cl::desc("<cuda source, - for stdin>"),
                                      cl::init("-"));
static cl::opt<std::string> arch("arch", cl::desc("SM architecture (sm_XX)"), cl::init("sm_90"));
static cl::opt<bool> alsoPtx("ptx", cl::desc("Also compile to PTX for compute_XX"));
static cl::opt<std::string> metadataFile("metadata", cl::desc("kernel metadata JSON"),
                                         cl::init(""));
static cl::opt<bool> allConfigs("all-configs",
                                cl::desc("Compile every tunable combination of every kernel"));
static cl::list<std::string> defines("D", cl::desc("Extra macro NAME=VALUE"), cl::Prefix);
static cl::opt<std::string> includeDir("cuda-include", cl::desc("CUDA toolkit include dir"),
                                       cl::init(HYP_CUDA_INCLUDE_DIR));
static cl::opt<unsigned> jobs("j", cl::desc("Parallel compiles"), cl::init(2));
static cl::opt<bool> verbose("v", cl::desc("Print every compile and its log"));

namespace {
using Config = std::vector<std::pair<std::string, int64_t>>;

struct Result {
  bool ok = true;
  std::string log;
};

#define NVRTC_CHECK(call)                                                                \
  do {                                                                                   \
    nvrtcResult rc_ = (call);                                                            \
    if (rc_ != NVRTC_SUCCESS) {                                                          \
      res.ok = false;                                                                    \
      res.log += std::string(#call) + " failed: " + nvrtcGetErrorString(rc_) + "\n";     \
      return res;                                                                        \
    }                                                                                    \
  } while (0)

Result compileOnce(const std::string &source, const Config &config, const std::string &target,
                   bool ptx) {
  Result res;
  nvrtcProgram prog;
  NVRTC_CHECK(nvrtcCreateProgram(&prog, source.c_str(), "hyp_kernels.cu", 0, nullptr, nullptr));
  std::vector<std::string> opts = {"--gpu-architecture=" + target, "-std=c++17",
                                   "-I" + includeDir};
  for (const std::string &d : defines)
    opts.push_back("-D" + d);
  for (auto &[name, value] : config)
    opts.push_back("-D" + name + "=" + std::to_string(value));
  std::vector<const char *> argv;
  for (auto &o : opts)
    argv.push_back(o.c_str());
  nvrtcResult rc = nvrtcCompileProgram(prog, (int)argv.size(), argv.data());
  size_t logSize = 0;
  nvrtcGetProgramLogSize(prog, &logSize);
  std::string log(logSize, '\0');
  if (logSize)
    nvrtcGetProgramLog(prog, log.data());
  res.log = log;
  if (rc != NVRTC_SUCCESS) {
    res.ok = false;
    res.log = "nvrtcCompileProgram: " + std::string(nvrtcGetErrorString(rc)) + "\n" + log;
  } else {
    size_t size = 0;
    nvrtcResult r2 = ptx ? nvrtcGetPTXSize(prog, &size) : nvrtcGetCUBINSize(prog, &size);
    if (r2 != NVRTC_SUCCESS || size == 0) {
      res.ok = false;
      res.log += "no " + std::string(ptx ? "PTX" : "CUBIN") + " produced\n";
    }
  }
  nvrtcDestroyProgram(&prog);
  return res;
}

std::string describe(const Config &c) {
  std::string s;
  for (auto &[n, v] : c)
    s += (s.empty() ? "" : " ") + n + "=" + std::to_string(v);
  return s.empty() ? "defaults" : s;
}

/// Every combination of one kernel's compiled-in tunables (cartesian product;
/// launch-only ones set the grid only and share the compile).
std::vector<Config> kernelConfigs(const llvm::json::Object &kernel, std::string &error) {
  std::vector<Config> configs = {{}};
  const llvm::json::Array *tunables = kernel.getArray("tunables");
  if (!tunables)
    return configs;
  for (const llvm::json::Value &tv : *tunables) {
    const llvm::json::Object *t = tv.getAsObject();
    auto name = t ? t->getString("name") : std::nullopt;
    const llvm::json::Array *values = t ? t->getArray("values") : nullptr;
    if (!name || !values || values->empty()) {
      error = "malformed tunable in kernel metadata";
      return {};
    }
    if (t->getBoolean("launch_only").value_or(false)) // sets the grid only: not compiled in
      continue;
    std::vector<Config> next;
    for (const Config &c : configs)
      for (const llvm::json::Value &v : *values) {
        auto iv = v.getAsInteger();
        if (!iv) {
          error = "tunable " + name->str() + " has a non-integer value";
          return {};
        }
        Config n = c;
        n.push_back({name->str(), *iv});
        next.push_back(std::move(n));
      }
    configs = std::move(next);
  }
  return configs;
}
} // namespace

int main(int argc, char **argv) {
  cl::ParseCommandLineOptions(argc, argv, "compile hyplora CUDA with NVRTC\n");
  auto buf = llvm::MemoryBuffer::getFileOrSTDIN(inputFile);
  if (!buf) {
    llvm::errs() << "hyp-nvrtc-check: cannot read " << inputFile << ": "
                 << buf.getError().message() << "\n";
    return 2;
  }
  std::string source = (*buf)->getBuffer().str();
  if (source.find("__global__") == std::string::npos) {
    llvm::errs() << "hyp-nvrtc-check: input has no __global__ kernel\n";
    return 2;
  }
  std::string computeArch = arch;
  if (computeArch.rfind("sm_", 0) == 0)
    computeArch = "compute_" + computeArch.substr(3);

  // (label, config) pairs to compile.
  std::vector<std::pair<std::string, Config>> work = {{"defaults", {}}};
  if (!metadataFile.empty()) {
    auto mbuf = llvm::MemoryBuffer::getFile(metadataFile);
    if (!mbuf) {
      llvm::errs() << "hyp-nvrtc-check: cannot read " << metadataFile << "\n";
      return 2;
    }
    auto json = llvm::json::parse((*mbuf)->getBuffer());
    if (!json) {
      llvm::errs() << "hyp-nvrtc-check: malformed metadata: " << llvm::toString(json.takeError())
                   << "\n";
      return 2;
    }
    const llvm::json::Object *root = json->getAsObject();
    const llvm::json::Array *kernels = root ? root->getArray("kernels") : nullptr;
    if (!kernels) {
      llvm::errs() << "hyp-nvrtc-check: metadata has no \"kernels\" array\n";
      return 2;
    }
    for (const llvm::json::Value &kv : *kernels) {
      const llvm::json::Object *k = kv.getAsObject();
      auto name = k ? k->getString("name") : std::nullopt;
      if (!name) {
        llvm::errs() << "hyp-nvrtc-check: kernel without a name in metadata\n";
        return 2;
      }
      if (source.find((" " + *name + "(").str()) == std::string::npos) {
        llvm::errs() << "hyp-nvrtc-check: kernel " << *name << " of the metadata is not in the source\n";
        return 1;
      }
      if (!allConfigs)
        continue;
      std::string error;
      for (Config &c : kernelConfigs(*k, error))
        work.push_back({name->str(), std::move(c)});
      if (!error.empty()) {
        llvm::errs() << "hyp-nvrtc-check: " << error << "\n";
        return 2;
      }
    }
  }

  std::atomic<int> failures{0};
  std::mutex printMutex;
  std::map<std::string, int> perKernel;
  {
    llvm::DefaultThreadPool pool(llvm::hardware_concurrency(jobs));
    for (auto &item : work) {
      pool.async([&, item] {
        Config config = item.second;
        if (item.first != "defaults") // sweep one kernel: compile it alone
          config.insert(config.begin(), {{"HYP_ONLY_KERNEL", 1}, {"HYP_ONLY_" + item.first, 1}});
        auto t0 = std::chrono::steady_clock::now();
        Result r = compileOnce(source, config, arch, false);
        double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                        .count();
        if (r.ok && alsoPtx)
          r = compileOnce(source, config, computeArch, true);
        std::lock_guard<std::mutex> lock(printMutex);
        perKernel[item.first] += r.ok ? 1 : 0;
        if (!r.ok) {
          ++failures;
          llvm::errs() << "FAILED " << item.first << " [" << describe(item.second) << "]\n"
                       << r.log << "\n";
        } else if (verbose) {
          llvm::outs() << "ok " << item.first << " [" << describe(item.second) << "] "
                       << llvm::format("%.0f ms", ms) << "\n" << r.log;
        }
      });
    }
    pool.wait();
  }
  for (auto &[kernel, n] : perKernel)
    llvm::outs() << "nvrtc " << kernel << ": " << n << " config(s) compiled for " << arch
                 << (alsoPtx ? " + PTX" : "") << "\n";
  if (failures) {
    llvm::outs() << "nvrtc: " << failures << " of " << work.size() << " compile(s) FAILED\n";
    return 1;
  }
  llvm::outs() << "nvrtc: all " << work.size() << " compile(s) ok\n";
  return 0;
}
