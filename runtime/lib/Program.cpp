//===- Program.cpp - load, compile, choose configs, launch ----------------===//
#include "ProgramImpl.h"
#include "hyp/Runtime/CacheKey.h"
#include "hyp/Runtime/Nvrtc.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/ThreadPool.h"
#include "llvm/Support/Threading.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

namespace hyp::rt {
namespace {
double msSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

ArgValue::Kind argKindFor(ParamKind k) {
  switch (k) {
  case ParamKind::Ptr: return ArgValue::Ptr;
  case ParamKind::I32: return ArgValue::I32;
  case ParamKind::I64: return ArgValue::I64;
  case ParamKind::F32: return ArgValue::F32;
  }
  return ArgValue::Ptr;
}
const char *argKindName(ArgValue::Kind k) {
  switch (k) {
  case ArgValue::Ptr: return "ptr";
  case ArgValue::I32: return "i32";
  case ArgValue::I64: return "i64";
  case ArgValue::F32: return "f32";
  }
  return "?";
}
int64_t intOf(const ArgValue &a) { return a.kind == ArgValue::I32 ? a.i32 : a.i64; }

Status deviceInfo(const CudaDriver &drv, CUcontext ctx, DeviceInfo *out) {
  CUdevice dev;
  HYP_CU_CHECK(drv, cuCtxGetDevice(&dev));
  int major = 0, minor = 0, sms = 0, maxBlock = 0, maxSM = 0, optin = 0;
  HYP_CU_CHECK(drv, cuDeviceGetAttribute(&major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev));
  HYP_CU_CHECK(drv, cuDeviceGetAttribute(&minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev));
  HYP_CU_CHECK(drv, cuDeviceGetAttribute(&sms, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, dev));
  HYP_CU_CHECK(drv, cuDeviceGetAttribute(&maxBlock, CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK, dev));
  HYP_CU_CHECK(drv, cuDeviceGetAttribute(&maxSM, CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_MULTIPROCESSOR, dev));
  HYP_CU_CHECK(drv, cuDeviceGetAttribute(&optin, CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN, dev));
  char name[256] = {0};
  HYP_CU_CHECK(drv, cuDeviceGetName(name, sizeof name - 1, dev));
  out->device = dev;
  out->arch = "sm_" + std::to_string(major) + std::to_string(minor);
  out->name = name;
  out->limits.smCount = sms;
  out->limits.maxThreadsPerBlock = maxBlock;
  out->limits.maxThreadsPerSM = maxSM;
  out->limits.maxSmemPerBlock = optin;
  out->smemOptinPerBlock = optin;
  return Status::success();
}

// The caller's current context (PyTorch makes the primary context current);
// without one, device 0's primary context is retained and made current.
Status currentContext(const CudaDriver &drv, CUcontext *ctx) {
  HYP_CU_CHECK(drv, cuCtxGetCurrent(ctx));
  if (*ctx)
    return Status::success();
  CUdevice dev;
  HYP_CU_CHECK(drv, cuDeviceGet(&dev, 0));
  HYP_CU_CHECK(drv, cuDevicePrimaryCtxRetain(ctx, dev)); // kept for the process
  HYP_CU_CHECK(drv, cuCtxSetCurrent(*ctx));
  return Status::success();
}
} // namespace

//===----------------------------------------------------------------------===//
// Program
//===----------------------------------------------------------------------===//
Program::Program(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Program::~Program() {
  // Modules stay loaded when no driver is left to unload them safely (process
  // exit); otherwise unload what this program loaded.
  const CudaDriver *drv = cudaDriver();
  if (!drv)
    return;
  for (auto &c : impl_->contexts)
    for (auto &[key, mod] : c->modules)
      drv->cuModuleUnload(mod);
}

const ProgramMetadata &Program::metadata() const { return impl_->md; }
const std::vector<std::string> &Program::slotNames() const { return impl_->slotNames; }
int Program::slotOf(const std::string &name) const {
  auto it = impl_->slotIndex.find(name);
  return it == impl_->slotIndex.end() ? -1 : it->second;
}
int Program::entryIndex(const std::string &entry) const {
  auto it = impl_->entryIndex.find(entry);
  return it == impl_->entryIndex.end() ? -1 : it->second;
}
std::string Program::cacheDir() const { return impl_->cache ? impl_->cache->root() : ""; }

ProgramStats Program::stats() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->stats;
}
std::vector<ChosenConfig> Program::chosenConfigs() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->chosen;
}

Status Program::compileKernel(const std::string &kernel,
                              const std::map<std::string, int64_t> &config,
                              const std::string &arch, CompileResult *out) {
  int k = impl_->md.kernelIndex(kernel);
  if (k < 0)
    return Status::error("compileKernel: program has no kernel '" + kernel + "'");
  TuningConfig c;
  HYP_RT_TRY(configFromMap(impl_->md.kernels[k], config, &c));
  Status st = impl_->compileVariant(k, c, arch, out);
  std::lock_guard<std::mutex> lock(impl_->mutex);
  if (st.ok && !out->memoryHit) {
    if (out->diskHit)
      impl_->stats.diskHits++;
    else {
      impl_->stats.compiles++;
      impl_->stats.compileMs += out->ms;
    }
  }
  return st;
}

Status loadProgram(const std::string &cudaSource, const std::string &metadataJson,
                   std::shared_ptr<Program> *out) {
  auto impl = std::make_unique<Program::Impl>();
  impl->source = cudaSource;
  if (cudaSource.empty())
    return Status::error("loadProgram: empty CUDA source");
  HYP_RT_TRY(parseMetadata(metadataJson, &impl->md));
  const ProgramMetadata &md = impl->md;

  for (const KernelInfo &k : md.kernels) {
    if (k.params.size() > size_t(kMaxKernelParams))
      return Status::error("loadProgram: kernel " + k.name + " has more than " +
                           std::to_string(kMaxKernelParams) + " parameters");
    // extern "C" names are what cuModuleGetFunction finds: catch a typo now.
    if (cudaSource.find(k.name) == std::string::npos)
      return Status::error("loadProgram: kernel '" + k.name +
                           "' of the metadata does not appear in the CUDA source");
  }
  for (const KernelInfo &k : md.kernels) {
    KernelPlan plan;
    plan.info = &k;
    for (const ParamInfo &p : k.params) {
      auto [it, inserted] = impl->slotIndex.emplace(p.name, int(impl->slotNames.size()));
      if (inserted) {
        impl->slotNames.push_back(p.name);
        impl->slotKinds.push_back(p.kind);
      }
      plan.paramSlots.push_back(it->second);
      if (p.kind == ParamKind::I32 || p.kind == ParamKind::I64) {
        if (plan.keySlots.size() == size_t(kMaxKeyInts))
          return Status::error("loadProgram: kernel " + k.name + " has more than " +
                               std::to_string(kMaxKeyInts) + " integer parameters");
        plan.keySlots.push_back(it->second);
        auto listed = [&](const std::vector<std::string> &names) {
          return std::find(names.begin(), names.end(), p.name) != names.end();
        };
        plan.keyBucketed.push_back(listed(md.bucketed));
        plan.keyUntuned.push_back(listed(md.untuned));
        bool isSize = false;
        for (const GridAxis &ax : k.grid)
          isSize |= !ax.isConst && ax.extent == p.name;
        for (const auto &[bufName, buf] : md.buffers)
          for (const std::string &d : buf.shape)
            isSize |= d == p.name;
        plan.keyIsSize.push_back(isSize);
      }
    }
    impl->kernels.push_back(std::move(plan));
  }
  for (const auto &[name, kernels] : md.programs) {
    impl->entryIndex[name] = int(impl->entries.size());
    impl->entries.push_back(kernels);
  }
  if (!md.constants.empty()) {
    impl->programIdentity = "constants:";
    for (const auto &[n, v] : md.constants)
      impl->programIdentity += n + "=" + std::to_string(v) + ",";
  } else {
    impl->programIdentity = "source:" + sha256Hex(cudaSource);
  }
  std::string dir = defaultCacheDir();
  Status st = KernelCache::open(dir, &impl->cache);
  if (!st.ok)
    return Status::error("loadProgram: kernel cache refused: " + st.message);
  out->reset(new Program(std::move(impl)));
  return Status::success();
}

//===----------------------------------------------------------------------===//
// Compiling and loading variants
//===----------------------------------------------------------------------===//
Status Program::Impl::compileVariant(int kernel, const TuningConfig &config,
                                     const std::string &arch, CompileResult *out) {
  auto t0 = std::chrono::steady_clock::now();
  const KernelInfo &k = md.kernels[kernel];
  std::string whyNot;
  if (!nvrtcAvailable(&whyNot))
    return Status::error("compile " + k.name + ": " + whyNot);
  CacheKeyInputs in;
  std::vector<std::string> defines;
  for (size_t i = 0; i < k.tunables.size(); ++i) {
    if (k.tunables[i].launchOnly) // the launch's business only
      continue;
    defines.push_back("-D" + k.tunables[i].name + "=" + std::to_string(config[i]));
    in.config.emplace_back(k.tunables[i].name, config[i]);
  }
  // The source holds every kernel of the layer; each is guarded by
  // HYP_ONLY_<name> (ProgramPrinter), so one compile builds one kernel. Without
  // these two macros each NVRTC run compiled all six (~6 s of CPU at 4096x4096,
  // r = 32, against 0.2-2 s for one), which made a new shape's cold start
  // 6-8 s. A source without the guards compiles whole, as before.
  defines.push_back("-DHYP_ONLY_KERNEL=1");
  defines.push_back("-DHYP_ONLY_" + k.name + "=1");
  defines.insert(defines.end(), md.nvrtcOptions.begin(), md.nvrtcOptions.end());
  in.source = source;
  in.options = nvrtcOptions(defines, arch);
  in.arch = arch;
  in.nvrtcVersion = nvrtcVersion();
  in.compilerVersion = md.compiler;
  in.runtimeVersion = runtimeVersion();
  *out = CompileResult();
  out->key = computeCacheKey(in);
  {
    std::lock_guard<std::mutex> lock(cubinMutex);
    auto it = cubins.find(out->key);
    if (it != cubins.end()) {
      out->cubin = it->second;
      out->memoryHit = true;
      out->ms = msSince(t0);
      return Status::success();
    }
  }
  bool hit = false;
  if (cache)
    HYP_RT_TRY(cache->lookup(out->key, arch, &out->cubin, &hit, &out->diskMissReason));
  if (hit) {
    out->diskHit = true;
  } else {
    HYP_RT_TRY(compileToCubin(source, k.name, defines, arch, &out->cubin));
    if (cache) {
      Status st = cache->store(out->key, arch, out->cubin);
      if (!st.ok) // a full disk must not stop the program: warn, carry on
        fprintf(stderr, "hyprt: warning: %s\n", st.message.c_str());
    }
  }
  {
    std::lock_guard<std::mutex> lock(cubinMutex);
    cubins.emplace(out->key, out->cubin);
  }
  out->ms = msSince(t0);
  return Status::success();
}

void Program::Impl::compileMany(const std::vector<std::pair<int, TuningConfig>> &work,
                                const std::string &arch, std::vector<CompileResult> *compiled,
                                std::vector<Status> *status) {
  compiled->assign(work.size(), CompileResult());
  status->assign(work.size(), Status::success());
  // Configs that differ only in launch-only tunables are one compile: the
  // first of them compiles, the others take its result as a memory hit.
  std::vector<size_t> firstOf(work.size());
  std::vector<size_t> unique;
  {
    std::map<std::pair<int, TuningConfig>, size_t> seen;
    for (size_t i = 0; i < work.size(); ++i) {
      auto ins = seen.emplace(std::make_pair(work[i].first, compileConfig(work[i].first,
                                                                          work[i].second)),
                              i);
      firstOf[i] = ins.first->second;
      if (ins.second)
        unique.push_back(i);
    }
  }
  {
    unsigned threads = std::min<unsigned>(unsigned(unique.size()),
                                          llvm::hardware_concurrency().compute_thread_count());
    llvm::DefaultThreadPool pool(llvm::hardware_concurrency(std::max(1u, threads)));
    for (size_t i : unique)
      pool.async([&, i] {
        (*status)[i] = compileVariant(work[i].first, work[i].second, arch, &(*compiled)[i]);
      });
    pool.wait();
  }
  for (size_t i = 0; i < work.size(); ++i) {
    if (firstOf[i] == i)
      continue;
    (*status)[i] = (*status)[firstOf[i]];
    (*compiled)[i] = (*compiled)[firstOf[i]];
    (*compiled)[i].memoryHit = true;
    (*compiled)[i].diskHit = false;
    (*compiled)[i].ms = 0;
  }
  for (size_t i = 0; i < work.size(); ++i) {
    if (!(*status)[i].ok || (*compiled)[i].memoryHit)
      continue;
    if ((*compiled)[i].diskHit) {
      stats.diskHits++;
    } else {
      stats.compiles++;
      stats.compileMs += (*compiled)[i].ms;
    }
  }
}

Status Program::Impl::makePlan(ContextState &ctx, int kernel, const TuningConfig &config,
                               const std::string &cubin, const std::string &key,
                               LaunchPlan *plan) {
  const CudaDriver &drv = *cudaDriver();
  const KernelInfo &k = md.kernels[kernel];
  CUmodule mod;
  auto it = ctx.modules.find(key);
  if (it != ctx.modules.end()) {
    mod = it->second;
  } else {
    HYP_CU_CHECK(drv, cuModuleLoadData(&mod, cubin.data()));
    ctx.modules.emplace(key, mod);
  }
  LaunchPlan p;
  HYP_CU_CHECK(drv, cuModuleGetFunction(&p.fn, mod, k.name.c_str()));
  int64_t threads = blockThreads(k, config);
  int maxThreads = 0;
  HYP_CU_CHECK(drv, cuFuncGetAttribute(&maxThreads, CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK, p.fn));
  if (threads < 1 || threads > maxThreads)
    return Status::error("kernel " + k.name + " [" + configToString(k, config) + "]: block of " +
                         std::to_string(threads) + " threads, but the compiled kernel allows " +
                         std::to_string(maxThreads) + " (registers)");
  int64_t smem = 0;
  HYP_RT_TRY(dynamicSmemBytes(k, config, &smem));
  if (smem > ctx.dev.smemOptinPerBlock)
    return Status::error("kernel " + k.name + " [" + configToString(k, config) + "]: " +
                         std::to_string(smem) + " bytes of dynamic shared memory, device allows " +
                         std::to_string(ctx.dev.smemOptinPerBlock));
  if (smem > 48 * 1024) {
    // Configs that differ only in a launch-only tunable share this function:
    // only ever raise its limit, or a smaller config's plan would break a
    // larger one's launches.
    int optedIn = 0;
    HYP_CU_CHECK(drv, cuFuncGetAttribute(&optedIn, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                                         p.fn));
    if (smem > optedIn)
      HYP_CU_CHECK(drv, cuFuncSetAttribute(p.fn, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                                           int(smem)));
  }
  p.block = unsigned(threads);
  p.smem = unsigned(smem);
  const KernelPlan &kp = kernels[kernel];
  for (int a = 0; a < 3; ++a) {
    const GridAxis &ax = k.grid[a];
    if (ax.isConst) {
      p.axes[a].extentSlot = -1;
      p.axes[a].constOrTile = ax.constBlocks(config);
    } else {
      p.axes[a].extentSlot = kp.paramSlots[ax.extentParam];
      p.axes[a].constOrTile = ax.tileTunable >= 0 ? config[ax.tileTunable] : 1;
    }
  }
  p.config = configToString(k, config);
  *plan = p;
  return Status::success();
}

/// The value integer argument i of a kernel contributes to its shape key:
/// exact, bucketed (next power of two) or, for "untuned" params, nothing.
int64_t keyValue(const KernelPlan &kp, size_t i, int64_t v) {
  if (kp.keyUntuned[i])
    return 0;
  return kp.keyBucketed[i] ? shapeBucket(v) : v;
}

Status gridFor(const LaunchPlan &plan, const ArgValue *slots, unsigned grid[3], bool *empty) {
  *empty = false;
  static const int64_t limit[3] = {2147483647, 65535, 65535};
  for (int a = 0; a < 3; ++a) {
    const AxisPlan &ax = plan.axes[a];
    int64_t g = ax.constOrTile;
    if (ax.extentSlot >= 0) {
      int64_t e = intOf(slots[ax.extentSlot]);
      if (e < 0)
        return Status::error("grid: negative extent " + std::to_string(e));
      g = (e + ax.constOrTile - 1) / ax.constOrTile;
    }
    if (g == 0)
      *empty = true;
    if (g > limit[a])
      return Status::error("grid: axis " + std::to_string(a) + " needs " + std::to_string(g) +
                           " blocks, more than the device's " + std::to_string(limit[a]));
    grid[a] = unsigned(g);
  }
  return Status::success();
}

//===----------------------------------------------------------------------===//
// Choosing a config for a shape bucket (cold path)
//===----------------------------------------------------------------------===//
Status Program::Impl::bufferBytes(const CudaDriver &drv, const ParamInfo &p,
                                  const ArgValue *slots, size_t *bytes) {
  auto b = md.buffers.find(p.name);
  if (b != md.buffers.end()) {
    int64_t n = 1;
    bool known = true;
    for (const std::string &d : b->second.shape) {
      int64_t v = -1;
      if (!d.empty() && std::isdigit((unsigned char)d[0]))
        v = std::stoll(d);
      else if (auto s = slotIndex.find(d);
               s != slotIndex.end() &&
               (slotKinds[s->second] == ParamKind::I32 || slotKinds[s->second] == ParamKind::I64))
        v = intOf(slots[s->second]);
      else if (auto c = md.constants.find(d); c != md.constants.end())
        v = c->second;
      if (v < 0) {
        known = false;
        break;
      }
      n *= v;
    }
    if (known) {
      ElemType e = b->second.elem != ElemType::None ? b->second.elem : p.elem;
      *bytes = size_t(n) * size_t(elemTypeBytes(e));
      return Status::success();
    }
  }
  // Shape not expressible from the arguments: save from the pointer to the
  // end of its allocation (covers the tensor; a little more at worst).
  CUdeviceptr base = 0;
  size_t size = 0;
  CUdeviceptr ptr = reinterpret_cast<CUdeviceptr>(slots[slotIndex[p.name]].ptr);
  HYP_CU_CHECK(drv, cuMemGetAddressRange(&base, &size, ptr));
  *bytes = size_t(base + size - ptr);
  return Status::success();
}

Status Program::Impl::decideShape(const CudaDriver &drv, ContextState &ctx, int kernel,
                                  const ArgValue *slots, CUstream stream, bool skipTuningFile,
                                  ShapeDecision *d) {
  const KernelPlan &kp = kernels[kernel];
  const KernelInfo &k = *kp.info;
  d->ints.clear();
  std::vector<std::pair<std::string, int64_t>> bucketed;
  for (size_t i = 0; i < kp.keySlots.size(); ++i) {
    int64_t v = intOf(slots[kp.keySlots[i]]);
    d->keyInts[i] = keyValue(kp, i, v);
    d->ints.emplace_back(slotNames[kp.keySlots[i]], v);
    bucketed.emplace_back(slotNames[kp.keySlots[i]], d->keyInts[i]);
  }
  d->key = tuningKey(k, programIdentity, ctx.dev.arch, bucketed);
  d->configs.clear();
  AutotuneMode mode = autotuneMode();
  if (mode == AutotuneMode::Off) {
    d->source = ShapeDecision::Default;
    d->configs.push_back(defaultConfig(k));
    return Status::success();
  }

  // 1. A choice persisted by an earlier process (validated against the space:
  //    a stale file naming a config the kernel no longer has is ignored).
  if (!skipTuningFile) {
    d->whyNoFile = "no disk cache";
    if (cache) {
      TuningRecord rec;
      bool found = false;
      HYP_RT_TRY(loadTuningRecord(cache->tuningDir(), d->key, &rec, &found, &d->whyNoFile));
      TuningConfig c;
      if (found) {
        Status valid = configFromMap(k, rec.config, &c);
        if (valid.ok) {
          d->source = ShapeDecision::TuningFile;
          d->configs.push_back(c);
          d->fileBestMs = rec.bestMs;
          return Status::success();
        }
        d->whyNoFile = "stale tuning file: " + valid.message;
      }
    }
  }

  // 2. Nothing to run (an extent is 0, e.g. M = 0): nothing to time either.
  //    The default serves; the bucket key (M -> 0) never covers real work.
  for (const GridAxis &ax : k.grid)
    if (!ax.isConst && intOf(slots[kp.paramSlots[ax.extentParam]]) == 0) {
      d->source = ShapeDecision::DefaultEmpty;
      d->configs.push_back(defaultConfig(k));
      return Status::success();
    }

  // 3. Under stream capture nothing may synchronise: take the default for now
  //    and tune at the first eager call.
  CUstreamCaptureStatus capture = CU_STREAM_CAPTURE_STATUS_NONE;
  HYP_CU_CHECK(drv, cuStreamIsCapturing(stream, &capture));
  if (capture != CU_STREAM_CAPTURE_STATUS_NONE) {
    d->source = ShapeDecision::DefaultCapturing;
    d->configs.push_back(defaultConfig(k));
    return Status::success();
  }

  // 4. Autotune: these candidates.
  d->source = ShapeDecision::Tune;
  return candidateConfigs(k, d->ints, ctx.dev.limits, mode, &d->configs);
}

Status Program::Impl::prepareShape(const CudaDriver &drv, ContextState &ctx, int kernel,
                                   const ArgValue *slots, CUstream stream, ShapeEntry *entry) {
  const KernelPlan &kp = kernels[kernel];
  const KernelInfo &k = *kp.info;
  ShapeDecision d;
  HYP_RT_TRY(decideShape(drv, ctx, kernel, slots, stream, /*skipTuningFile=*/false, &d));
  std::copy(d.keyInts, d.keyInts + kp.keySlots.size(), entry->ints);
  const std::string &key = d.key;
  ChosenConfig chosen;
  chosen.kernel = k.name;
  chosen.source = "default";

  auto planFor = [&](const TuningConfig &c, LaunchPlan *plan) -> Status {
    CompileResult cr;
    HYP_RT_TRY(compileVariant(kernel, c, ctx.dev.arch, &cr));
    if (!cr.memoryHit) {
      if (cr.diskHit) {
        stats.diskHits++;
      } else {
        stats.compiles++;
        stats.compileMs += cr.ms;
      }
    }
    return makePlan(ctx, kernel, c, cr.cubin, cr.key, plan);
  };
  auto finish = [&]() {
    chosen.config = entry->plan.config;
    this->chosen.push_back(chosen);
    return Status::success();
  };

  if (d.source == ShapeDecision::TuningFile) {
    Status valid = planFor(d.configs[0], &entry->plan);
    if (valid.ok) {
      stats.tuningFileHits++;
      chosen.source = "tuning-file";
      chosen.bestMs = d.fileBestMs;
      if (printAutotuning())
        fprintf(stderr, "hyprt: autotune %s [%s]: %s from the tuning file (%.4f ms then)\n",
                k.name.c_str(), ctx.dev.arch.c_str(), entry->plan.config.c_str(), d.fileBestMs);
      return finish();
    }
    // The file's config no longer compiles or loads: decide again without it.
    HYP_RT_TRY(decideShape(drv, ctx, kernel, slots, stream, /*skipTuningFile=*/true, &d));
    d.whyNoFile = "stale tuning file: " + valid.message;
  }
  if (d.source != ShapeDecision::Tune) {
    HYP_RT_TRY(planFor(d.configs[0], &entry->plan));
    if (d.source == ShapeDecision::DefaultEmpty)
      chosen.source = "default-empty";
    if (d.source == ShapeDecision::DefaultCapturing) {
      entry->provisional = true;
      chosen.source = "default-capturing";
    }
    return finish();
  }
  const std::string &whyNoFile = d.whyNoFile;

  // 4. Autotune on the real buffers.
  auto t0 = std::chrono::steady_clock::now();
  const std::vector<TuningConfig> &cands = d.configs;
  std::vector<TunedCandidate> results;
  std::vector<LaunchPlan> plans;
  int best = -1;
  Status bench = Status::success();
  if (cands.size() == 1) {
    // Nothing to choose: no timing, no buffer copies.
    LaunchPlan p;
    bench = planFor(cands[0], &p);
    TunedCandidate tc;
    tc.config = configToString(k, cands[0]);
    if (bench.ok) {
      plans.push_back(p);
      results.push_back(tc);
      best = 0;
    }
  } else {
    bench = benchmarkCandidates(*this, drv, ctx, kernel, cands, slots, stream, &results, &plans,
                                &best);
  }
  double tuneMs = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  stats.tunings++;
  stats.tuneMs += tuneMs;
  if (!bench.ok || best < 0) {
    // Tuning impossible (e.g. no memory to save outputs) or every candidate
    // failed: the default config decides; if it fails too, that error is it.
    std::string why = !bench.ok ? bench.message : "every candidate failed";
    if (printAutotuning())
      fprintf(stderr, "hyprt: autotune %s: %s; using the default config\n", k.name.c_str(),
              why.c_str());
    Status st = planFor(defaultConfig(k), &entry->plan);
    if (!st.ok) {
      std::string detail;
      for (const TunedCandidate &r : results)
        if (!r.error.empty())
          detail += "\n  " + r.config + ": " + r.error;
      return Status::error("kernel " + k.name + ": no config can run (" + why + "): " +
                           st.message + detail);
    }
    chosen.source = "default";
    return finish();
  }
  entry->plan = plans[best];
  chosen.source = "tuned";
  chosen.bestMs = results[best].ms;
  chosen.candidates = results;
  if (printAutotuning()) {
    fprintf(stderr, "hyprt: autotune %s [%s, %s] %zu candidates in %.1f ms (%s)\n", k.name.c_str(),
            ctx.dev.arch.c_str(), key.substr(key.find(";ints=") + 6).c_str(), cands.size(),
            tuneMs, whyNoFile.c_str());
    for (size_t i = 0; i < results.size(); ++i) {
      if (results[i].error.empty())
        fprintf(stderr, "hyprt:   %s%-40s %.4f ms\n", int(i) == best ? "* " : "  ",
                results[i].config.c_str(), results[i].ms);
      else
        fprintf(stderr, "hyprt:     %-40s failed: %s\n", results[i].config.c_str(),
                results[i].error.substr(0, 200).c_str());
    }
  }
  if (cache) {
    TuningRecord rec;
    rec.key = key;
    rec.kernel = k.name;
    rec.arch = ctx.dev.arch;
    for (size_t i = 0; i < k.tunables.size(); ++i)
      rec.config[k.tunables[i].name] = cands[best][i];
    rec.bestMs = results[best].ms;
    rec.candidates = results;
    Status st = storeTuningRecord(cache->tuningDir(), rec);
    if (!st.ok)
      fprintf(stderr, "hyprt: warning: %s\n", st.message.c_str());
  }
  return finish();
}

//===----------------------------------------------------------------------===//
// Launching (hot path)
//===----------------------------------------------------------------------===//
namespace {
Status contextStateFor(Program::Impl &impl, const CudaDriver &drv, ContextState **out) {
  CUcontext ctx = nullptr;
  HYP_RT_TRY(currentContext(drv, &ctx));
  if (impl.lastContext && impl.lastContext->ctx == ctx) {
    *out = impl.lastContext;
    return Status::success();
  }
  for (auto &c : impl.contexts)
    if (c->ctx == ctx) {
      impl.lastContext = c.get();
      *out = c.get();
      return Status::success();
    }
  auto state = std::make_unique<ContextState>();
  state->ctx = ctx;
  HYP_RT_TRY(deviceInfo(drv, ctx, &state->dev));
  state->shapes.resize(impl.kernels.size());
  impl.contexts.push_back(std::move(state));
  impl.lastContext = impl.contexts.back().get();
  *out = impl.lastContext;
  return Status::success();
}

/// Every argument of the kernel has the kind its parameter takes.
Status checkArgKinds(const KernelPlan &kp, const ArgValue *slots) {
  for (size_t i = 0; i < kp.paramSlots.size(); ++i) {
    const ArgValue &a = slots[kp.paramSlots[i]];
    ParamKind want = kp.info->params[i].kind;
    if (a.kind != argKindFor(want))
      return Status::error("kernel " + kp.info->name + ": argument '" + kp.info->params[i].name +
                           "' is " + argKindName(a.kind) + ", the kernel takes " +
                           paramKindName(want));
  }
  return Status::success();
}

/// The kernel's plan for these arguments' shape bucket, or null when that
/// bucket has none yet (or only a provisional one from stream capture and the
/// stream no longer captures: it is dropped, to be tuned now). A negative size
/// argument is an error here, before it sizes a grid or a copy.
Status findShape(Program::Impl &impl, const CudaDriver &drv, ContextState &ctx, int kernel,
                 const ArgValue *slots, CUstream stream, ShapeEntry **out) {
  const KernelPlan &kp = impl.kernels[kernel];
  int64_t key[kMaxKeyInts];
  size_t nk = kp.keySlots.size();
  for (size_t i = 0; i < nk; ++i) {
    int64_t v = intOf(slots[kp.keySlots[i]]);
    if (v < 0 && kp.keyIsSize[i])
      return Status::error("kernel " + kp.info->name + ": argument '" +
                           impl.slotNames[kp.keySlots[i]] + "' = " + std::to_string(v) +
                           " is negative");
    key[i] = keyValue(kp, i, v);
  }
  std::vector<ShapeEntry> &shapes = ctx.shapes[kernel];
  *out = nullptr;
  for (ShapeEntry &e : shapes)
    if (std::equal(key, key + nk, e.ints)) {
      *out = &e;
      break;
    }
  if (*out && (*out)->provisional) {
    CUstreamCaptureStatus cap = CU_STREAM_CAPTURE_STATUS_NONE;
    if (drv.cuStreamIsCapturing(stream, &cap) == CUDA_SUCCESS &&
        cap == CU_STREAM_CAPTURE_STATUS_NONE) {
      shapes.erase(shapes.begin() + (*out - shapes.data()));
      *out = nullptr;
    }
  }
  return Status::success();
}

/// Every integer the kernel's tuning key and grid read is in `slots` (an
/// entry's call fills only its own kernels' arguments; the rest keep the
/// default, a null pointer).
bool keyGivenBy(const KernelPlan &kp, const ArgValue *slots) {
  for (int s : kp.keySlots)
    if (slots[s].kind != ArgValue::I64 && slots[s].kind != ArgValue::I32)
      return false;
  for (const GridAxis &ax : kp.info->grid)
    if (!ax.isConst && slots[kp.paramSlots[ax.extentParam]].kind != ArgValue::I64 &&
        slots[kp.paramSlots[ax.extentParam]].kind != ArgValue::I32)
      return false;
  return true;
}

/// Before an entry's first launch at a new shape, compiles every config its
/// kernels will need (each kernel's tuning candidates, or the one config a
/// tuning file or the default names) in ONE pool. Kernel by kernel, each
/// tuning waited for its own compiles, so a new layer's cold start was the
/// sum of its kernels' slowest compiles. The pool also takes the kernels of
/// the program's other entries whose tuning key these arguments already give
/// (the backward's, at a training step's forward, keyed by M alone): their
/// compiles then overlap the forward's instead of forming a second wave.
/// `planned[i]`: the plan entry kernel i already has (null: none yet).
/// Failures are left for the launch that follows to report (it compiles again
/// and says why).
void precompileEntry(Program::Impl &impl, const CudaDriver &drv, ContextState &ctx, int entry,
                     const ArgValue *slots, CUstream stream, const ShapeEntry *const *planned) {
  std::vector<std::pair<int, TuningConfig>> work;
  auto addCandidates = [&](int k) {
    ShapeDecision d;
    if (!impl.decideShape(drv, ctx, k, slots, stream, /*skipTuningFile=*/false, &d).ok)
      return;
    for (TuningConfig &c : d.configs)
      work.emplace_back(k, std::move(c));
  };
  const std::vector<int> &kernels = impl.entries[entry];
  std::vector<char> seen(impl.kernels.size(), 0);
  for (size_t i = 0; i < kernels.size(); ++i) {
    seen[kernels[i]] = 1;
    if (!planned[i])
      addCandidates(kernels[i]);
  }
  for (int k = 0; k < int(impl.kernels.size()); ++k) {
    if (seen[k] || !keyGivenBy(impl.kernels[k], slots))
      continue;
    ShapeEntry *existing = nullptr;
    if (findShape(impl, drv, ctx, k, slots, stream, &existing).ok && !existing)
      addCandidates(k);
  }
  if (work.size() < 2)
    return;
  // Counted here: the tuner's own compiles of these are then memory hits.
  std::vector<CompileResult> compiled;
  std::vector<Status> status;
  const auto t0 = std::chrono::steady_clock::now();
  impl.compileMany(work, ctx.dev.arch, &compiled, &status);
  impl.stats.precompiled += work.size();
  if (printAutotuning()) {
    double sum = 0, longest = 0;
    size_t fresh = 0;
    for (const CompileResult &c : compiled)
      if (!c.memoryHit && !c.diskHit)
        sum += c.ms, longest = std::max(longest, c.ms), ++fresh;
    // Which NVRTC and how many threads, so a slow pool can be told apart from
    // a slow library or a small machine (the 5-9 s pools of 2026-11-26 were
    // whole-source compiles: see compileVariant).
    fprintf(stderr,
            "hyprt: precompiled %zu configs (%zu NVRTC runs) in %.0f ms: %.0f ms summed, "
            "longest %.0f ms; NVRTC %s %s, %u threads\n",
            work.size(), fresh, msSince(t0), sum, longest, nvrtcVersion().c_str(),
            nvrtcLibraryPath().c_str(), llvm::hardware_concurrency().compute_thread_count());
  }
}

/// The argument check and plan lookup of a launch (hot path: a few integer
/// compares); *entry is null when the shape bucket has no plan yet.
Status lookupLocked(Program::Impl &impl, const CudaDriver &drv, ContextState &ctx, int kernel,
                    const ArgValue *slots, CUstream stream, ShapeEntry **entry) {
  HYP_RT_TRY(checkArgKinds(impl.kernels[kernel], slots));
  return findShape(impl, drv, ctx, kernel, slots, stream, entry);
}

/// Launches `kernel` with the plan lookupLocked found; none: the first launch
/// of this shape bucket chooses one (prepareShape).
Status launchLocked(Program::Impl &impl, const CudaDriver &drv, ContextState &ctx, int kernel,
                    const ArgValue *slots, CUstream stream, ShapeEntry *entry) {
  const KernelPlan &kp = impl.kernels[kernel];
  void *params[kMaxKernelParams];
  for (size_t i = 0; i < kp.paramSlots.size(); ++i)
    params[i] = const_cast<void *>(static_cast<const void *>(&slots[kp.paramSlots[i]].ptr));
  if (!entry) // (an earlier kernel of the same entry may have planned it meanwhile)
    HYP_RT_TRY(findShape(impl, drv, ctx, kernel, slots, stream, &entry));
  std::vector<ShapeEntry> &shapes = ctx.shapes[kernel];
  if (!entry) {
    ShapeEntry fresh;
    HYP_RT_TRY(impl.prepareShape(drv, ctx, kernel, slots, stream, &fresh));
    shapes.push_back(fresh);
    entry = &shapes.back();
  }
  unsigned grid[3];
  bool empty = false;
  HYP_RT_TRY(gridFor(entry->plan, slots, grid, &empty));
  if (empty)
    return Status::success(); // zero rows: nothing to do, and CUDA rejects a 0 grid
  HYP_CU_CHECK(drv, cuLaunchKernel(entry->plan.fn, grid[0], grid[1], grid[2], entry->plan.block,
                                   1, 1, entry->plan.smem, stream, params, nullptr));
  return Status::success();
}

Status checkSlots(Program &p, size_t numSlots, const char *what) {
  if (numSlots != p.slotNames().size())
    return Status::error(std::string(what) + ": got " + std::to_string(numSlots) +
                         " argument slots, the program has " +
                         std::to_string(p.slotNames().size()));
  return Status::success();
}

// ArgMap -> slots, checking that every argument the kernels need is there and
// that no name is unknown (a typo would otherwise launch with garbage).
Status slotsFromMap(Program &p, const std::vector<int> &kernels, const ArgMap &args,
                    std::vector<ArgValue> *slots) {
  slots->assign(p.slotNames().size(), ArgValue());
  std::vector<char> set(slots->size(), 0);
  for (const auto &[name, value] : args) {
    int s = p.slotOf(name);
    if (s < 0)
      return Status::error("argument '" + name + "' is not a parameter of any kernel");
    (*slots)[s] = value;
    set[s] = 1;
  }
  for (int k : kernels)
    for (int s : p.impl().kernels[k].paramSlots)
      if (!set[s])
        return Status::error("kernel " + p.impl().kernels[k].info->name +
                             ": missing argument '" + p.slotNames()[s] + "'");
  return Status::success();
}
} // namespace

Status launchKernelSlots(Program &p, int kernel, const ArgValue *slots, size_t numSlots,
                         void *stream) {
  const CudaDriver *drv = cudaDriver();
  if (!drv)
    return noDriverStatus("launchKernel");
  HYP_RT_TRY(checkSlots(p, numSlots, "launchKernel"));
  Program::Impl &impl = p.impl();
  if (kernel < 0 || size_t(kernel) >= impl.kernels.size())
    return Status::error("launchKernel: kernel index " + std::to_string(kernel) + " out of range");
  std::lock_guard<std::mutex> lock(impl.mutex);
  ContextState *ctx = nullptr;
  HYP_RT_TRY(contextStateFor(impl, *drv, &ctx));
  ShapeEntry *entry = nullptr;
  HYP_RT_TRY(lookupLocked(impl, *drv, *ctx, kernel, slots, static_cast<CUstream>(stream), &entry));
  return launchLocked(impl, *drv, *ctx, kernel, slots, static_cast<CUstream>(stream), entry);
}

Status runEntrySlots(Program &p, int entry, const ArgValue *slots, size_t numSlots,
                     void *stream) {
  const CudaDriver *drv = cudaDriver();
  if (!drv)
    return noDriverStatus("runEntry");
  HYP_RT_TRY(checkSlots(p, numSlots, "runEntry"));
  Program::Impl &impl = p.impl();
  if (entry < 0 || size_t(entry) >= impl.entries.size())
    return Status::error("runEntry: entry index " + std::to_string(entry) + " out of range");
  std::lock_guard<std::mutex> lock(impl.mutex);
  ContextState *ctx = nullptr;
  HYP_RT_TRY(contextStateFor(impl, *drv, &ctx));
  // Every kernel's arguments and plan are looked up once, before any launch:
  // a kernel without a plan sends the whole entry through precompileEntry.
  const std::vector<int> &kernels = impl.entries[entry];
  const CUstream cs = static_cast<CUstream>(stream);
  llvm::SmallVector<ShapeEntry *, 8> planned(kernels.size(), nullptr);
  bool missing = false;
  for (size_t i = 0; i < kernels.size(); ++i) {
    HYP_RT_TRY(lookupLocked(impl, *drv, *ctx, kernels[i], slots, cs, &planned[i]));
    missing |= planned[i] == nullptr;
  }
  if (missing)
    precompileEntry(impl, *drv, *ctx, entry, slots, cs, planned.data());
  for (size_t i = 0; i < kernels.size(); ++i)
    HYP_RT_TRY(launchLocked(impl, *drv, *ctx, kernels[i], slots, cs, planned[i]));
  return Status::success();
}

Status runEntry(Program &p, const std::string &entry, const ArgMap &args, void *stream) {
  int e = p.entryIndex(entry);
  if (e < 0)
    return Status::error("runEntry: program has no entry '" + entry + "'");
  std::vector<ArgValue> slots;
  HYP_RT_TRY(slotsFromMap(p, p.impl().entries[e], args, &slots));
  if (!cudaDriver())
    return noDriverStatus("runEntry(" + entry + ")");
  return runEntrySlots(p, e, slots.data(), slots.size(), stream);
}

Status launchKernel(Program &p, const std::string &kernel, const ArgMap &args, void *stream) {
  int k = p.metadata().kernelIndex(kernel);
  if (k < 0)
    return Status::error("launchKernel: program has no kernel '" + kernel + "'");
  std::vector<ArgValue> slots;
  HYP_RT_TRY(slotsFromMap(p, {k}, args, &slots));
  if (!cudaDriver())
    return noDriverStatus("launchKernel(" + kernel + ")");
  return launchKernelSlots(p, k, slots.data(), slots.size(), stream);
}

Status currentDeviceArch(std::string *arch) {
  const CudaDriver *drv = cudaDriver();
  if (!drv)
    return noDriverStatus("currentDeviceArch");
  CUcontext ctx;
  HYP_RT_TRY(currentContext(*drv, &ctx));
  DeviceInfo info;
  HYP_RT_TRY(deviceInfo(*drv, ctx, &info));
  *arch = info.arch;
  return Status::success();
}

} // namespace hyp::rt
