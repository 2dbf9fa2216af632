//===- JitAdapter.cpp - the CUDA path of the ops through the JIT ----------===//
//
// forward:  y = x W^T + b (cuBLAS through ATen), then programs.forward of the
//           compiled adapter adds B w into y and writes w and stats.
// backward: dx = dY W (cuBLAS), then programs.backward adds the adapter's part
//           into dx and writes dA, dB, dk, ds.
// Every buffer the metadata lists that the frontend does not own (G, P, dH,
// R, ...) is allocated here from its symbolic shape and zeroed (the contract
// makes the caller zero `accumulate` buffers). Kernel parameter names are
// resolved through the metadata, never hard-coded beyond the contract's list
// (CONTRACTS.md section 3): x, y, A, B, k, s, w, stats, dY, dx, dA, dB, dk, ds,
// M, K, N, r, scaling, max_sinh_arg.
//
// Built without the compiler/runtime (no HYP_HAVE_JIT) every entry declines,
// and the ops run the ATen reference on the device.
//
//===----------------------------------------------------------------------===//
#include "JitAdapter.h"
#include "AdapterKernels.h"

#include <atomic>
#include <cstdlib>
#include <mutex>

#ifdef HYP_HAVE_JIT
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>

#include "hyp/Runtime/Runtime.h"
#include "hypc.h"

#include <map>
#include <memory>
#include <set>
#include <unordered_map>
#endif

namespace hyplora {
namespace {

std::atomic<int> gJitEnabled{-1}; // -1: not decided yet (read HYP_JIT once)
std::atomic<unsigned long long> gFwd{0}, gBwd{0}, gFallbacks{0};

bool jitEnabledByUser() {
  int v = gJitEnabled.load();
  if (v < 0) {
    const char *e = std::getenv("HYP_JIT");
    v = (e && std::string(e) == "0") ? 0 : 1;
    gJitEnabled.store(v);
  }
  return v == 1;
}

} // namespace

void setJitEnabled(bool enabled) { gJitEnabled.store(enabled ? 1 : 0); }

JitCounters jitCounters() {
  JitCounters c;
  c.forwardCalls = gFwd.load();
  c.backwardCalls = gBwd.load();
  c.fallbacks = gFallbacks.load();
  return c;
}

#ifndef HYP_HAVE_JIT

bool jitCompiledIn() { return false; }
std::string jitUnavailableReason() {
  return "this build of hyplora has no JIT (built without libhypc/libhyprt)";
}
std::vector<std::string> jitLoadedPrograms() { return {}; }
void jitClearPrograms() {}

bool jitForward(const at::Tensor &, const at::Tensor &, const at::Tensor &,
                const std::optional<at::Tensor> &, const at::Tensor &, const at::Tensor &,
                const at::Tensor &, const at::Tensor &, const AdapterConfig &, ForwardResult *) {
  ++gFallbacks;
  return false;
}
bool jitBackward(const at::Tensor &, const at::Tensor &, const at::Tensor &, const at::Tensor &,
                 const at::Tensor &, const at::Tensor &, const at::Tensor &, const at::Tensor &,
                 const at::Tensor &, const at::Tensor &, const AdapterConfig &,
                 std::array<bool, 2>, BackwardResult *) {
  ++gFallbacks;
  return false;
}

#else // HYP_HAVE_JIT

namespace {

const char *actDtypeName(at::ScalarType t) {
  switch (t) {
  case at::kFloat: return "f32";
  case at::kBFloat16: return "bf16";
  case at::kHalf: return "f16";
  default: return nullptr;
  }
}

at::ScalarType torchDtypeOf(hyp::rt::ElemType e) {
  switch (e) {
  case hyp::rt::ElemType::F32: return at::kFloat;
  case hyp::rt::ElemType::BF16: return at::kBFloat16;
  case hyp::rt::ElemType::F16: return at::kHalf;
  case hyp::rt::ElemType::F64: return at::kDouble;
  case hyp::rt::ElemType::I32: return at::kInt;
  default: return at::kFloat;
  }
}

/// A loaded program plus what the frontend needs on every call.
struct JitProgram {
  std::shared_ptr<hyp::rt::Program> program;
  int forwardEntry = -1, backwardEntry = -1;
  std::map<std::string, hyp::rt::ParamKind> paramKinds; // by name, over all kernels
  std::set<std::string> accumulated; // pointers some kernel atomically adds into
};

struct ProgramTable {
  std::mutex mutex;
  std::unordered_map<std::string, std::shared_ptr<JitProgram>> byKey;
};
ProgramTable &table() {
  static ProgramTable t;
  return t;
}

/// Which kernel family bf16 layers get: the tensor-core kernels (libhypc
/// option tensor-cores=1) or the SIMT ones. The policy lives here, not in
/// libhypc, which compiles what it is asked. Tensor cores by default since they
/// passed on a GPU (KernelGpuTests and the CUDA suite, H200, 2026-11-25) and
/// the bench measured them 1.4-1.6x faster than SIMT per adapted layer from
/// M = 4096 rows (bench/results). HYP_TENSOR_CORES=1/0 overrides the default
/// per call (the bench times both families in one process).
constexpr bool kTensorCoresByDefault = true;
bool tensorCoresRequested() {
  const char *e = std::getenv("HYP_TENSOR_CORES");
  if (!e || !*e)
    return kTensorCoresByDefault;
  const std::string value(e);
  TORCH_CHECK(value == "0" || value == "1", "hyplora JIT: HYP_TENSOR_CORES must be 0 or 1, got '",
              value, "'");
  return value == "1";
}

std::string layerKey(const AdapterConfig &cfg, const char *act, int64_t K, int64_t N, int64_t r) {
  return cfg.variantName + '/' + cfg.conventionName + '/' + act + "/K" + std::to_string(K) +
         "/N" + std::to_string(N) + "/r" + std::to_string(r) + "/amax" +
         std::to_string(cfg.maxSinhArg) + (tensorCoresRequested() ? "/tc" : "");
}

/// Compiles (libhypc) and loads (libhyprt) the program of one layer shape.
/// Errors are raised: a JIT that is on but cannot compile is a bug to see,
/// not something to hide behind the slow path (HYP_JIT=0 turns it off).
std::shared_ptr<JitProgram> programFor(const AdapterConfig &cfg, const char *act, int64_t K,
                                       int64_t N, int64_t r) {
  const std::string key = layerKey(cfg, act, K, N, r);
  ProgramTable &t = table();
  std::lock_guard<std::mutex> lock(t.mutex);
  auto it = t.byKey.find(key);
  if (it != t.byKey.end())
    return it->second;

  hypc_adapter_desc desc{};
  desc.variant = cfg.variantName.c_str();
  desc.convention = cfg.conventionName.c_str();
  desc.act_dtype = act;
  desc.in_features = K;
  desc.out_features = N;
  desc.rank = r;
  desc.max_sinh_arg = cfg.maxSinhArg;
  hypc_output *out = nullptr;
  const int rc =
      hypc_compile_adapter(&desc, tensorCoresRequested() ? "tensor-cores=1" : nullptr, &out);
  std::unique_ptr<hypc_output, void (*)(hypc_output *)> guard(out, hypc_output_free);
  TORCH_CHECK(rc == 0 && out, "hyplora JIT: compiling adapter ", key, " failed: ",
              out ? hypc_output_error(out) : "no output", " (set HYP_JIT=0 to use the ATen path)");
  auto jp = std::make_shared<JitProgram>();
  hyp::rt::Status st = hyp::rt::loadProgram(hypc_output_cuda_source(out),
                                            hypc_output_metadata_json(out), &jp->program);
  TORCH_CHECK(st.ok, "hyplora JIT: loading adapter program ", key, ": ", st.message);
  jp->forwardEntry = jp->program->entryIndex("forward");
  jp->backwardEntry = jp->program->entryIndex("backward");
  TORCH_CHECK(jp->forwardEntry >= 0 && jp->backwardEntry >= 0, "hyplora JIT: program ", key,
              " lacks programs.forward or programs.backward in its metadata");
  for (const auto &kernel : jp->program->metadata().kernels)
    for (const auto &p : kernel.params) {
      jp->paramKinds[p.name] = p.kind;
      if (p.access == hyp::rt::Access::Accumulate)
        jp->accumulated.insert(p.name);
    }
  t.byKey.emplace(key, jp);
  return jp;
}

/// Fills the argument slots of one entry point: named tensors and integers
/// from the caller, scratch buffers from the metadata. Every buffer the kernels
/// accumulate into (the caller's gradients and the scratch sums G, R) is a view
/// of ONE zero-filled fp32 allocation: one memset per call instead of one per
/// buffer (at M = 1024 the host, not the GPU, bounds a training step).
/// Write-only scratch (dH, beta) is left uninitialised: the kernels write all of it.
class SlotFiller {
public:
  SlotFiller(JitProgram &jp, const at::TensorOptions &deviceOpts,
             std::map<std::string, int64_t> dims)
      : jp_(jp), opts_(deviceOpts), dims_(std::move(dims)) {}

  void tensor(std::initializer_list<const char *> names, const at::Tensor &t) {
    for (const char *n : names)
      tensors_[n] = t;
  }
  void f32(const char *name, double v) { floats_[name] = v; }
  /// An fp32 output the kernels accumulate into, zero on entry; get() it after build().
  void zeroed(const char *name, std::vector<int64_t> shape) {
    zeroShapes_.emplace_back(name, std::move(shape));
  }
  const at::Tensor &get(const char *name) const { return tensors_.at(name); }

  std::vector<hyp::rt::ArgValue> build() {
    const auto &names = jp_.program->slotNames();
    std::vector<hyp::rt::ArgValue> slots(names.size());
    const auto &meta = jp_.program->metadata();
    for (const std::string &n : names) {
      if (jp_.paramKinds.at(n) != hyp::rt::ParamKind::Ptr || tensors_.count(n))
        continue;
      auto bIt = meta.buffers.find(n);
      TORCH_CHECK(bIt != meta.buffers.end(), "hyplora JIT: kernel parameter '", n,
                  "' is neither a frontend tensor nor a metadata buffer");
      const bool zero = jp_.accumulated.count(n) > 0;
      TORCH_CHECK(!zero || bIt->second.elem == hyp::rt::ElemType::F32, "hyplora JIT: buffer '",
                  n, "' is accumulated into but is not f32");
      if (zero)
        zeroShapes_.emplace_back(n, shapeOf(n, bIt->second));
      else
        tensors_.emplace(n, at::empty(shapeOf(n, bIt->second),
                                      opts_.dtype(torchDtypeOf(bIt->second.elem))));
    }
    allocateZeroed();
    for (size_t i = 0; i < names.size(); ++i) {
      const std::string &n = names[i];
      const hyp::rt::ParamKind kind = jp_.paramKinds.at(n);
      if (kind == hyp::rt::ParamKind::Ptr) {
        auto tIt = tensors_.find(n);
        slots[i] = hyp::rt::ArgValue::pointer(tIt->second.data_ptr());
      } else if (kind == hyp::rt::ParamKind::F32) {
        auto fIt = floats_.find(n);
        TORCH_CHECK(fIt != floats_.end(), "hyplora JIT: unknown float parameter '", n, "'");
        slots[i] = hyp::rt::ArgValue::float32(static_cast<float>(fIt->second));
      } else {
        auto dIt = dims_.find(n);
        TORCH_CHECK(dIt != dims_.end(), "hyplora JIT: unknown integer parameter '", n, "'");
        slots[i] = kind == hyp::rt::ParamKind::I64
                       ? hyp::rt::ArgValue::int64(dIt->second)
                       : hyp::rt::ArgValue::int32(static_cast<int32_t>(dIt->second));
      }
    }
    return slots;
  }

  /// The zeroed() outputs (and accumulated scratch found so far) as views of
  /// one zero-filled allocation.
  void allocateZeroed() {
    // Every view starts on a 64-byte boundary: torch.compile (inductor)
    // asserts 16-byte alignment of an op's outputs (dA, dB, ...).
    constexpr int64_t kAlignFloats = 16;
    auto padded = [](int64_t n) { return (n + kAlignFloats - 1) / kAlignFloats * kAlignFloats; };
    int64_t total = 0;
    for (const auto &[name, shape] : zeroShapes_)
      total += padded(c10::multiply_integers(shape));
    at::Tensor arena = at::zeros({total}, opts_.dtype(at::kFloat));
    int64_t offset = 0;
    for (const auto &[name, shape] : zeroShapes_) {
      const int64_t n = c10::multiply_integers(shape);
      tensors_[name] = arena.narrow(0, offset, n).view(shape);
      offset += padded(n);
    }
    zeroShapes_.clear();
  }

private:
  std::vector<int64_t> shapeOf(const std::string &name, const hyp::rt::BufferInfo &info) {
    std::vector<int64_t> shape;
    for (const std::string &sym : info.shape) {
      auto d = dims_.find(sym);
      if (d != dims_.end()) {
        shape.push_back(d->second);
        continue;
      }
      char *end = nullptr;
      const long long v = std::strtoll(sym.c_str(), &end, 10);
      TORCH_CHECK(end && *end == '\0' && !sym.empty(), "hyplora JIT: buffer '", name,
                  "' has shape symbol '", sym, "' the frontend does not know");
      shape.push_back(v);
    }
    return shape;
  }

  JitProgram &jp_;
  at::TensorOptions opts_;
  std::map<std::string, int64_t> dims_;
  std::map<std::string, at::Tensor> tensors_;
  std::map<std::string, double> floats_;
  std::vector<std::pair<std::string, std::vector<int64_t>>> zeroShapes_;
};

void run(JitProgram &jp, int entry, SlotFiller &filler, const char *what) {
  std::vector<hyp::rt::ArgValue> slots = filler.build();
  void *stream = at::cuda::getCurrentCUDAStream().stream();
  hyp::rt::Status st =
      hyp::rt::runEntrySlots(*jp.program, entry, slots.data(), slots.size(), stream);
  TORCH_CHECK(st.ok, "hyplora JIT: running ", what, ": ", st.message);
}

bool jitServes(const at::Tensor &x) {
  if (!jitEnabledByUser() || !actDtypeName(x.scalar_type())) {
    ++gFallbacks;
    return false;
  }
  return true;
}

at::Tensor f32Contig(const at::Tensor &t) { return t.to(at::kFloat).contiguous(); }

} // namespace

bool jitCompiledIn() { return true; }

std::string jitUnavailableReason() {
  if (!jitEnabledByUser())
    return "the JIT is turned off (HYP_JIT=0 or hyplora.jit.set_enabled(False))";
  std::string why;
  if (!hyp::rt::driverAvailable(&why))
    return why.empty() ? "no CUDA driver" : why;
  return "";
}

std::vector<std::string> jitLoadedPrograms() {
  ProgramTable &t = table();
  std::lock_guard<std::mutex> lock(t.mutex);
  std::vector<std::string> keys;
  for (const auto &kv : t.byKey)
    keys.push_back(kv.first);
  return keys;
}

void jitClearPrograms() {
  ProgramTable &t = table();
  std::lock_guard<std::mutex> lock(t.mutex);
  t.byKey.clear();
}

bool jitForward(const at::Tensor &x, const at::Tensor &xAdapter, const at::Tensor &weight,
                const std::optional<at::Tensor> &bias, const at::Tensor &loraA,
                const at::Tensor &loraB, const at::Tensor &loraK, const at::Tensor &normScale,
                const AdapterConfig &cfg, ForwardResult *out) {
  if (!jitServes(x))
    return false;
  c10::cuda::CUDAGuard deviceGuard(x.device());
  const int64_t M = x.size(0), K = x.size(1), N = weight.size(0), r = loraA.size(0);
  auto jp = programFor(cfg, actDtypeName(x.scalar_type()), K, N, r);
  at::Tensor xc = x.contiguous();
  at::Tensor y = bias ? at::addmm(*bias, xc, weight.t()) : at::mm(xc, weight.t());
  y = y.contiguous();
  at::Tensor w = at::empty({M, r}, x.options().dtype(at::kFloat));
  at::Tensor stats = at::empty({M, 4}, x.options().dtype(at::kFloat));
  if (M > 0) {
    SlotFiller f(*jp, x.options(), {{"M", M}, {"K", K}, {"N", N}, {"r", r}});
    f.tensor({"x"}, xAdapter.contiguous());
    f.tensor({"y"}, y);
    f.tensor({"A"}, f32Contig(loraA));
    f.tensor({"B"}, f32Contig(loraB));
    f.tensor({"k"}, f32Contig(loraK.reshape({1})));
    f.tensor({"s"}, f32Contig(normScale.reshape({1})));
    f.tensor({"w"}, w);
    f.tensor({"stats"}, stats);
    f.f32("scaling", cfg.scaling);
    f.f32("max_sinh_arg", cfg.maxSinhArg);
    run(*jp, jp->forwardEntry, f, "the adapter forward");
  }
  ++gFwd;
  *out = {y, w, stats};
  return true;
}

bool jitBackward(const at::Tensor &gradY, const at::Tensor &x, const at::Tensor &xAdapter,
                 const at::Tensor &weight, const at::Tensor &loraA, const at::Tensor &loraB,
                 const at::Tensor &loraK, const at::Tensor &normScale, const at::Tensor &w,
                 const at::Tensor &stats, const AdapterConfig &cfg, std::array<bool, 2> xGrads,
                 BackwardResult *out) {
  if (!jitServes(x))
    return false;
  c10::cuda::CUDAGuard deviceGuard(x.device());
  const int64_t M = x.size(0), K = x.size(1), N = weight.size(0), r = loraA.size(0);
  auto jp = programFor(cfg, actDtypeName(x.scalar_type()), K, N, r);
  at::Tensor dy = gradY.contiguous();
  const bool fold = xGrads[0] && !xGrads[1];
  at::Tensor empty = at::empty({0}, x.options());
  // The kernels add the adapter's input gradient into `dx`: start it at dY W
  // when folding, else at zero (and keep dY W separately for grad_x).
  at::Tensor baseDx = xGrads[0] ? at::mm(dy, weight) : empty;
  at::Tensor dx = fold ? baseDx.contiguous() : at::zeros({M, K}, x.options());
  SlotFiller f(*jp, x.options(), {{"M", M}, {"K", K}, {"N", N}, {"r", r}});
  f.zeroed("dA", {r, K});
  f.zeroed("dB", {N, r});
  f.zeroed("dk", {1});
  f.zeroed("ds", {1});
  if (M > 0) {
    f.tensor({"dY", "dy"}, dy);
    f.tensor({"x"}, xAdapter.contiguous());
    f.tensor({"A"}, f32Contig(loraA));
    f.tensor({"B"}, f32Contig(loraB));
    f.tensor({"k"}, f32Contig(loraK.reshape({1})));
    f.tensor({"s"}, f32Contig(normScale.reshape({1})));
    f.tensor({"w"}, w.contiguous());
    f.tensor({"stats"}, stats.contiguous());
    f.tensor({"dx"}, dx);
    f.f32("scaling", cfg.scaling);
    f.f32("max_sinh_arg", cfg.maxSinhArg);
    run(*jp, jp->backwardEntry, f, "the adapter backward");
  } else {
    f.allocateZeroed(); // M = 0: zero gradients, no launch
  }
  ++gBwd;
  const at::Tensor &dA = f.get("dA"), &dB = f.get("dB"), &dk = f.get("dk"), &ds = f.get("ds");
  // The kernels receive the raw curvature k, so their dk is already d/dk
  // (softplus factor included); the clip to [-0.01, 0.01] is autograd's.
  *out = {fold ? dx : baseDx,
          xGrads[1] ? dx : empty,
          dA.to(loraA.scalar_type()),
          dB.to(loraB.scalar_type()),
          dk.reshape(loraK.sizes()).to(loraK.scalar_type()),
          ds.reshape(normScale.sizes()).to(normScale.scalar_type())};
  return true;
}

#endif // HYP_HAVE_JIT

} // namespace hyplora
