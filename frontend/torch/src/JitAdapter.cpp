//===- JitAdapter.cpp - the CUDA path of the ops through the JIT ----------===//
//
// forward:  y = x W^T + b (cuBLAS through ATen), then programs.forward of the
//           compiled adapter adds B w into y and writes w and stats; or,
//           without a bias and where the first call timed it faster
//           (ForwardOrder.h), programs.forward_store writes y = B w (and w,
//           stats) and cuBLAS adds x W^T into it (beta = 1), so the adapter
//           moves |y| of bytes instead of 2 |y|.
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
#include "ForwardOrder.h"

#include <atomic>
#include <cstdlib>
#include <mutex>

#ifdef HYP_HAVE_JIT
#include <ATen/cuda/CUDAContext.h>
#include <ATen/cuda/CUDAEvent.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <cuda_runtime_api.h>

#include "hyp/Runtime/Runtime.h"
#include "hypc.h"

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <unordered_map>
#endif

namespace hyplora {
namespace {

std::atomic<int> gJitEnabled{-1}; // -1: not decided yet (read HYP_JIT once)
std::atomic<unsigned long long> gFwd{0}, gBwd{0}, gFallbacks{0}, gFwdStore{0};

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
  c.storingForwardCalls = gFwdStore.load();
  return c;
}

#ifndef HYP_HAVE_JIT

bool jitCompiledIn() { return false; }
std::string jitUnavailableReason() {
  return "this build of hyplora has no JIT (built without libhypc/libhyprt)";
}
std::vector<std::string> jitLoadedPrograms() { return {}; }
std::vector<std::string> jitForwardOrders() { return {}; }
std::string jitCompileOptions() { return ""; }
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

/// The contract's frontend-owned arguments (CONTRACTS.md section 3).
enum FrontendArg { kArgX, kArgY, kArgA, kArgB, kArgK, kArgS, kArgW, kArgStats, kArgDY, kArgDX,
                   kNumFrontendArgs };
enum FrontendScalar { kScaling, kMaxSinhArg, kNumScalars };
enum FrontendDim { kDimM, kDimK, kDimN, kDimR, kNumDims };

int frontendArgOf(const std::string &n) {
  static const std::map<std::string, int> names = {
      {"x", kArgX}, {"y", kArgY},         {"A", kArgA},   {"B", kArgB},  {"k", kArgK},
      {"s", kArgS}, {"w", kArgW}, {"stats", kArgStats}, {"dY", kArgDY}, {"dy", kArgDY},
      {"dx", kArgDX}};
  auto it = names.find(n);
  return it == names.end() ? -1 : it->second;
}

/// Where every argument slot of one entry comes from, worked out once per
/// program so that a call fills its slots by index (at M = 1024 the host,
/// not the GPU, bounds a training step: no name lookups, no per-buffer
/// allocations on that path).
struct EntryPlan {
  struct Scratch {
    std::string name;
    int slot = -1;
    std::vector<int> dims;    // per shape entry: a FrontendDim, or -1 for a literal
    std::vector<int64_t> lit; // the literal extents
  };
  std::vector<std::pair<int, int>> tensors; // slot, FrontendArg
  std::vector<std::pair<int, int>> scalars; // slot, FrontendScalar
  struct Dim {
    int slot, dim;
    bool i64;
  };
  std::vector<Dim> dims;
  std::vector<Scratch> zeroed;    // accumulated into: one zero-filled fp32 arena
  std::vector<Scratch> writeOnly; // written in full by the kernels: another, not zeroed
};

/// A loaded program plus what the frontend needs on every call.
struct JitProgram {
  std::shared_ptr<hyp::rt::Program> program;
  int forwardEntry = -1, forwardStoreEntry = -1, backwardEntry = -1;
  EntryPlan forwardPlan, forwardStorePlan, backwardPlan;
  ForwardOrderTuner forwardOrders;
};

EntryPlan planEntry(const hyp::rt::Program &program, const std::string &entry) {
  const auto &meta = program.metadata();
  auto pIt = meta.programs.find(entry);
  TORCH_CHECK(pIt != meta.programs.end(), "hyplora JIT: the program has no entry '", entry, "'");
  static const std::map<std::string, int> dimNames = {
      {"M", kDimM}, {"K", kDimK}, {"N", kDimN}, {"r", kDimR}};
  EntryPlan plan;
  std::set<std::string> seen;
  for (int ki : pIt->second)
    for (const auto &p : meta.kernels[ki].params) {
      if (!seen.insert(p.name).second)
        continue;
      const int slot = program.slotOf(p.name);
      if (p.kind == hyp::rt::ParamKind::F32) {
        TORCH_CHECK(p.name == "scaling" || p.name == "max_sinh_arg",
                    "hyplora JIT: unknown float parameter '", p.name, "'");
        plan.scalars.emplace_back(slot, p.name == "scaling" ? kScaling : kMaxSinhArg);
        continue;
      }
      if (p.kind != hyp::rt::ParamKind::Ptr) {
        auto d = dimNames.find(p.name);
        TORCH_CHECK(d != dimNames.end(), "hyplora JIT: unknown integer parameter '", p.name, "'");
        plan.dims.push_back({slot, d->second, p.kind == hyp::rt::ParamKind::I64});
        continue;
      }
      if (int a = frontendArgOf(p.name); a >= 0) {
        plan.tensors.emplace_back(slot, a);
        continue;
      }
      auto bIt = meta.buffers.find(p.name);
      TORCH_CHECK(bIt != meta.buffers.end(), "hyplora JIT: kernel parameter '", p.name,
                  "' is neither a frontend tensor nor a metadata buffer");
      TORCH_CHECK(bIt->second.elem == hyp::rt::ElemType::F32, "hyplora JIT: buffer '", p.name,
                  "' is not f32 (the scratch arenas are)");
      EntryPlan::Scratch sc;
      sc.name = p.name;
      sc.slot = slot;
      for (const std::string &sym : bIt->second.shape) {
        auto d = dimNames.find(sym);
        char *end = nullptr;
        const long long v = d != dimNames.end() ? 0 : std::strtoll(sym.c_str(), &end, 10);
        TORCH_CHECK(d != dimNames.end() || (end && *end == '\0' && !sym.empty()),
                    "hyplora JIT: buffer '", p.name, "' has shape symbol '", sym,
                    "' the frontend does not know");
        sc.dims.push_back(d != dimNames.end() ? d->second : -1);
        sc.lit.push_back(v);
      }
      // Accumulate targets are zero on entry (the contract: the caller zeroes them).
      (p.access == hyp::rt::Access::Accumulate ? plan.zeroed : plan.writeOnly).push_back(sc);
    }
  // A buffer accumulated by one kernel and written by another is zeroed once.
  for (const auto &z : plan.zeroed)
    plan.writeOnly.erase(std::remove_if(plan.writeOnly.begin(), plan.writeOnly.end(),
                                        [&](const EntryPlan::Scratch &w) {
                                          return w.name == z.name;
                                        }),
                         plan.writeOnly.end());
  return plan;
}

/// The backward hands autograd dA, dB, dk and ds; a gradient no kernel of the
/// program produces (lora has no dk, ds) is zero. It gets a slice of the
/// zeroed arena, bound to no kernel parameter, rather than an at::zeros of its
/// own: at M = 1024 a step is bound by the host, and each at::zeros is three
/// dispatcher calls and a fill kernel.
void addZeroGradients(EntryPlan *plan) {
  struct Grad {
    const char *name;
    std::vector<int> dims;
  };
  const Grad grads[] = {{"dA", {kDimR, kDimK}}, {"dB", {kDimN, kDimR}}, {"dk", {-1}}, {"ds", {-1}}};
  for (const Grad &g : grads) {
    auto produced = [&](const EntryPlan::Scratch &sc) { return sc.name == g.name; };
    if (std::any_of(plan->zeroed.begin(), plan->zeroed.end(), produced) ||
        std::any_of(plan->writeOnly.begin(), plan->writeOnly.end(), produced))
      continue;
    EntryPlan::Scratch sc;
    sc.name = g.name;
    sc.dims = g.dims;
    sc.lit.assign(g.dims.size(), 1); // the scalar gradients' one element
    plan->zeroed.push_back(sc);
  }
}

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

/// Split-K of the row-reduce kernels (libhypc row-split-cols=tuned|N): unset
/// leaves the compiler's default, tuned (the autotuner picks it per shape
/// bucket; docs/KERNELS.md); HYP_ROW_SPLIT_COLS=N overrides it per call, like
/// HYP_TENSOR_CORES, so the bench can time the policies side by side. libhypc
/// validates the value and names it in its error.
std::string rowSplitColsRequested() {
  const char *e = std::getenv("HYP_ROW_SPLIT_COLS");
  return e ? std::string(e) : std::string();
}

/// The backward's passes over dY (libhypc dy-pass=0|1): unset leaves the
/// compiler's default (one pass at r <= 32 on tensor cores); HYP_DY_PASS=0
/// keeps the two-pass kernels, per call, for side-by-side timing.
std::string dyPassRequested() {
  const char *e = std::getenv("HYP_DY_PASS");
  return e ? std::string(e) : std::string();
}

/// The libhypc options string of the policies above.
std::string compileOptions() {
  std::string opts = tensorCoresRequested() ? "tensor-cores=1" : "";
  auto add = [&](const char *name, const std::string &value) {
    if (!value.empty())
      opts += (opts.empty() ? "" : " ") + std::string(name) + "=" + value;
  };
  add("row-split-cols", rowSplitColsRequested());
  add("dy-pass", dyPassRequested());
  return opts;
}

std::string layerKey(const AdapterConfig &cfg, const char *act, int64_t K, int64_t N, int64_t r) {
  const std::string split = rowSplitColsRequested(), dyPass = dyPassRequested();
  return cfg.variantName + '/' + cfg.conventionName + '/' + act + "/K" + std::to_string(K) +
         "/N" + std::to_string(N) + "/r" + std::to_string(r) + "/amax" +
         std::to_string(cfg.maxSinhArg) + (tensorCoresRequested() ? "/tc" : "") +
         (split.empty() ? "" : "/split" + split) + (dyPass.empty() ? "" : "/dypass" + dyPass);
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
  const std::string options = compileOptions();
  const int rc = hypc_compile_adapter(&desc, options.c_str(), &out);
  std::unique_ptr<hypc_output, void (*)(hypc_output *)> guard(out, hypc_output_free);
  TORCH_CHECK(rc == 0 && out, "hyplora JIT: compiling adapter ", key, " failed: ",
              out ? hypc_output_error(out) : "no output", " (libhypc options '", options,
              "' from HYP_TENSOR_CORES / HYP_ROW_SPLIT_COLS / HYP_DY_PASS; set HYP_JIT=0 to use the ATen path)");
  auto jp = std::make_shared<JitProgram>();
  hyp::rt::Status st = hyp::rt::loadProgram(hypc_output_cuda_source(out),
                                            hypc_output_metadata_json(out), &jp->program);
  TORCH_CHECK(st.ok, "hyplora JIT: loading adapter program ", key, ": ", st.message);
  jp->forwardEntry = jp->program->entryIndex("forward");
  jp->forwardStoreEntry = jp->program->entryIndex("forward_store");
  jp->backwardEntry = jp->program->entryIndex("backward");
  TORCH_CHECK(jp->forwardEntry >= 0 && jp->forwardStoreEntry >= 0 && jp->backwardEntry >= 0,
              "hyplora JIT: program ", key,
              " lacks programs.forward, programs.forward_store or programs.backward in its "
              "metadata");
  jp->forwardPlan = planEntry(*jp->program, "forward");
  jp->forwardStorePlan = planEntry(*jp->program, "forward_store");
  jp->backwardPlan = planEntry(*jp->program, "backward");
  addZeroGradients(&jp->backwardPlan);
  t.byKey.emplace(key, jp);
  return jp;
}

/// One call's arguments: the frontend's tensors, scalars and sizes.
struct CallArgs {
  const at::Tensor *tensors[kNumFrontendArgs] = {};
  double scalars[kNumScalars] = {};
  int64_t dims[kNumDims] = {};
};

/// Scratch buffers of one call, as slices of two fp32 arenas (one allocation
/// each; the zeroed one cleared by one memset on the stream).
struct CallScratch {
  struct Placed {
    const std::string *name; // the plan's
    bool zeroed;             // which arena
    int64_t offset;
    std::vector<int64_t> shape;
  };
  at::Tensor zeroedArena, writeArena;
  std::vector<Placed> placed; // in the plan's order

  /// A scratch buffer as a tensor (the gradients handed back to autograd), or
  /// an undefined tensor when the entry has no such buffer. `shape`, when
  /// given, is the tensor's (same element count): the parameter's own shape
  /// (a 0-d curvature), in the one view rather than a reshape after it.
  at::Tensor view(const char *name, std::optional<at::IntArrayRef> shape = std::nullopt) const {
    for (const Placed &p : placed) {
      if (*p.name != name)
        continue;
      const at::IntArrayRef sizes = shape ? *shape : at::IntArrayRef(p.shape); // ({}: 0-d)
      std::vector<int64_t> strides(sizes.size(), 1);
      for (int i = int(sizes.size()) - 2; i >= 0; --i)
        strides[i] = strides[i + 1] * sizes[i + 1];
      return (p.zeroed ? zeroedArena : writeArena).as_strided(sizes, strides, p.offset);
    }
    return at::Tensor();
  }
};

/// Fills one entry's slots (frontend tensors by index, scratch from the
/// arenas) and runs it on the current stream. Every scratch view starts on a
/// 64-byte boundary: torch.compile (inductor) asserts 16-byte alignment of an
/// op's outputs (dA, dB, ...).
CallScratch runPlanned(JitProgram &jp, int entry, const EntryPlan &plan, const CallArgs &a,
                       const at::TensorOptions &opts, const char *what) {
  cudaStream_t stream = at::cuda::getCurrentCUDAStream().stream();
  std::vector<hyp::rt::ArgValue> slots(jp.program->slotNames().size());
  CallScratch scratch;
  constexpr int64_t kAlignFloats = 16;
  auto place = [&](const std::vector<EntryPlan::Scratch> &list, bool zero, at::Tensor *arena) {
    std::vector<std::pair<int64_t, std::vector<int64_t>>> where(list.size()); // offset, shape
    int64_t total = 0;
    for (size_t i = 0; i < list.size(); ++i) {
      const EntryPlan::Scratch &sc = list[i];
      int64_t n = 1;
      for (size_t d = 0; d < sc.dims.size(); ++d) {
        where[i].second.push_back(sc.dims[d] >= 0 ? a.dims[sc.dims[d]] : sc.lit[d]);
        n *= where[i].second.back();
      }
      where[i].first = total;
      total += (n + kAlignFloats - 1) / kAlignFloats * kAlignFloats;
    }
    *arena = at::empty({std::max<int64_t>(total, 1)}, opts.dtype(at::kFloat));
    float *base = arena->data_ptr<float>();
    if (zero)
      C10_CUDA_CHECK(cudaMemsetAsync(base, 0, size_t(total) * sizeof(float), stream));
    for (size_t i = 0; i < list.size(); ++i) {
      if (list[i].slot >= 0) // (a zero gradient is bound to no parameter)
        slots[list[i].slot] = hyp::rt::ArgValue::pointer(base + where[i].first);
      scratch.placed.push_back({&list[i].name, zero, where[i].first, std::move(where[i].second)});
    }
  };
  place(plan.zeroed, true, &scratch.zeroedArena);
  if (!plan.writeOnly.empty())
    place(plan.writeOnly, false, &scratch.writeArena);
  for (const auto &[slot, arg] : plan.tensors) {
    TORCH_CHECK(a.tensors[arg], "hyplora JIT: the program needs a frontend tensor the call "
                                "did not give (", jp.program->slotNames()[slot], ")");
    slots[slot] = hyp::rt::ArgValue::pointer(a.tensors[arg]->data_ptr());
  }
  for (const auto &[slot, which] : plan.scalars)
    slots[slot] = hyp::rt::ArgValue::float32(static_cast<float>(a.scalars[which]));
  for (const EntryPlan::Dim &d : plan.dims)
    slots[d.slot] = d.i64 ? hyp::rt::ArgValue::int64(a.dims[d.dim])
                          : hyp::rt::ArgValue::int32(static_cast<int32_t>(a.dims[d.dim]));
  hyp::rt::Status st =
      hyp::rt::runEntrySlots(*jp.program, entry, slots.data(), slots.size(), stream);
  TORCH_CHECK(st.ok, "hyplora JIT: running ", what, ": ", st.message);
  return scratch;
}

/// fp32 and contiguous, without a dispatcher round trip when it already is
/// (the adapter's parameters normally are).
at::Tensor f32Contig(const at::Tensor &t) {
  if (t.scalar_type() == at::kFloat && t.is_contiguous())
    return t;
  return t.to(at::kFloat).contiguous();
}
/// `t` as dtype `d`, without a dispatcher round trip when it already is.
at::Tensor asDtype(const at::Tensor &t, at::ScalarType d) {
  return t.scalar_type() == d ? t : t.to(d);
}

/// What both entries take: the adapter's input and parameters (fp32,
/// contiguous), the scalars and the sizes. Holds the tensors `args` points to.
struct AdapterInputs {
  at::Tensor xa, A, B, k, s;
  AdapterInputs(const at::Tensor &xAdapter, const at::Tensor &loraA, const at::Tensor &loraB,
                const at::Tensor &loraK, const at::Tensor &normScale)
      : xa(xAdapter.contiguous()), A(f32Contig(loraA)), B(f32Contig(loraB)), k(f32Contig(loraK)),
        s(f32Contig(normScale)) {}
  void fill(CallArgs *a, const AdapterConfig &cfg, int64_t M, int64_t K, int64_t N,
            int64_t r) const {
    a->tensors[kArgX] = &xa;
    a->tensors[kArgA] = &A;
    a->tensors[kArgB] = &B;
    a->tensors[kArgK] = &k;
    a->tensors[kArgS] = &s;
    a->scalars[kScaling] = cfg.scaling;
    a->scalars[kMaxSinhArg] = cfg.maxSinhArg;
    a->dims[kDimM] = M, a->dims[kDimK] = K, a->dims[kDimN] = N, a->dims[kDimR] = r;
  }
};

/// The forward's order around the frozen GEMM (ForwardOrder.h): with a bias
/// (no place for it in the storing entry) or M = 0, the GEMM first; else
/// HYP_FWD_UP_STORE=1 / 0 forces storing / adding (per call, for
/// side-by-side timing: both entries are in every program, so it is not part
/// of the layer key) and, unset, the program's tuner decides per M bucket.
template <typename ForwardIn>
ForwardOrder forwardOrderFor(JitProgram &jp, bool hasBias, int64_t M, int device,
                             const ForwardIn &forwardIn) {
  if (hasBias || M == 0)
    return ForwardOrder::AddAfterGemm;
  if (const char *e = std::getenv("HYP_FWD_UP_STORE")) {
    const std::string v(e);
    TORCH_CHECK(v == "0" || v == "1" || v == "tuned",
                "hyplora JIT: HYP_FWD_UP_STORE must be 0, 1 or tuned, got '", v, "'");
    if (v != "tuned")
      return v == "1" ? ForwardOrder::StoreBeforeGemm : ForwardOrder::AddAfterGemm;
  }
  ForwardOrder kept;
  if (jp.forwardOrders.lookup(device, M, &kept))
    return kept;
  const cudaStream_t stream = at::cuda::getCurrentCUDAStream();
  cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
  C10_CUDA_CHECK(cudaStreamIsCapturing(stream, &capture));
  auto time = [&](const std::vector<ForwardOrder> &orders) {
    std::vector<at::cuda::CUDAEvent> marks;
    marks.reserve(orders.size() + 1);
    for (size_t i = 0; i <= orders.size(); ++i)
      marks.emplace_back(cudaEventDefault); // (the default flags disable timing)
    marks[0].record();
    for (size_t i = 0; i < orders.size(); ++i) {
      forwardIn(orders[i]);
      marks[i + 1].record();
    }
    marks.back().synchronize();
    std::vector<double> ms;
    for (size_t i = 0; i < orders.size(); ++i)
      ms.push_back(marks[i].elapsed_time(marks[i + 1]));
    return ms;
  };
  return jp.forwardOrders.choose(device, M, capture != cudaStreamCaptureStatusNone, time);
}

bool jitServes(const at::Tensor &x) {
  if (!jitEnabledByUser() || !actDtypeName(x.scalar_type())) {
    ++gFallbacks;
    return false;
  }
  return true;
}

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

std::string jitCompileOptions() { return compileOptions(); }

std::vector<std::string> jitForwardOrders() {
  ProgramTable &t = table();
  std::lock_guard<std::mutex> lock(t.mutex);
  std::vector<std::string> out;
  for (const auto &kv : t.byKey)
    for (const std::string &d : kv.second->forwardOrders.describe())
      out.push_back(kv.first + " " + d);
  return out;
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
  const at::Tensor xc = x.contiguous();
  const bool hasBias = bias && bias->defined();
  at::Tensor w = at::empty({M, r}, x.options().dtype(at::kFloat));
  at::Tensor stats = at::empty({M, 4}, x.options().dtype(at::kFloat));
  const AdapterInputs in(xAdapter, loraA, loraB, loraK, normScale);
  // One whole forward in `order` (ForwardOrder.h); w and stats are rewritten
  // by every run, so the tuner's runs leave them as the last one wrote them.
  auto forwardIn = [&](ForwardOrder order) {
    const bool store = order == ForwardOrder::StoreBeforeGemm;
    at::Tensor y = store ? at::empty({M, N}, xc.options()) // every element written below
                         : (hasBias ? at::addmm(*bias, xc, weight.t()) : at::mm(xc, weight.t()))
                               .contiguous();
    if (M > 0) {
      CallArgs a;
      in.fill(&a, cfg, M, K, N, r);
      a.tensors[kArgY] = &y;
      a.tensors[kArgW] = &w;
      a.tensors[kArgStats] = &stats;
      if (store)
        runPlanned(*jp, jp->forwardStoreEntry, jp->forwardStorePlan, a, x.options(),
                   "the adapter forward (storing y)");
      else
        runPlanned(*jp, jp->forwardEntry, jp->forwardPlan, a, x.options(), "the adapter forward");
    }
    if (store)
      y.addmm_(xc, weight.t()); // y = B w + x W^T: cuBLAS with beta = 1
    return y;
  };
  const ForwardOrder order = forwardOrderFor(*jp, hasBias, M, x.get_device(), forwardIn);
  at::Tensor y = forwardIn(order);
  if (order == ForwardOrder::StoreBeforeGemm)
    ++gFwdStore;
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
  // The kernels write the adapter's input gradient into `dx` (every element;
  // they do not read it). Folded (no dropout: x is the adapter's input),
  // cuBLAS then adds dY W into it (beta = 1) below.
  at::Tensor dx = at::empty({M, K}, x.options());
  at::Tensor dA, dB, dk, ds;
  if (M > 0) {
    const AdapterInputs in(xAdapter, loraA, loraB, loraK, normScale);
    const at::Tensor wc = w.contiguous(), statsc = stats.contiguous();
    CallArgs a;
    in.fill(&a, cfg, M, K, N, r);
    a.tensors[kArgDY] = &dy;
    a.tensors[kArgW] = &wc;
    a.tensors[kArgStats] = &statsc;
    a.tensors[kArgDX] = &dx;
    const CallScratch scratch = runPlanned(*jp, jp->backwardEntry, jp->backwardPlan, a,
                                           x.options(), "the adapter backward");
    // Every gradient is a view of the zeroed arena: the ones no kernel
    // produces (addZeroGradients) stay zero, as they are for M = 0.
    dA = scratch.view("dA"), dB = scratch.view("dB"), dk = scratch.view("dk", loraK.sizes()),
    ds = scratch.view("ds", normScale.sizes());
    TORCH_CHECK(dA.defined() && dB.defined() && dk.defined() && ds.defined(),
                "hyplora JIT: the backward's zeroed arena lacks a gradient slice");
  } else { // M = 0: zero gradients, no launch
    at::Tensor zeros = at::zeros({r * K + N * r + 2}, x.options().dtype(at::kFloat));
    dA = zeros.narrow(0, 0, r * K).view({r, K});
    dB = zeros.narrow(0, r * K, N * r).view({N, r});
    dk = zeros.narrow(0, r * K + N * r, 1).view(loraK.sizes());
    ds = zeros.narrow(0, r * K + N * r + 1, 1).view(normScale.sizes());
  }
  ++gBwd;
  // A gradient not asked for is an empty tensor (the schema returns Tensor).
  auto none = [&] { return at::empty({0}, x.options()); };
  at::Tensor gradX, gradXAdapter;
  if (fold) {
    gradX = dx.addmm_(dy, weight);
    gradXAdapter = none();
  } else {
    gradX = xGrads[0] ? at::mm(dy, weight) : none();
    gradXAdapter = xGrads[1] ? dx : none();
  }
  // The kernels receive the raw curvature k, so their dk is already d/dk
  // (softplus factor included); the clip to [-0.01, 0.01] is autograd's.
  *out = {gradX,
          gradXAdapter,
          asDtype(dA, loraA.scalar_type()),
          asDtype(dB, loraB.scalar_type()),
          asDtype(dk, loraK.scalar_type()),
          asDtype(ds, normScale.scalar_type())};
  return true;
}

#endif // HYP_HAVE_JIT

} // namespace hyplora
