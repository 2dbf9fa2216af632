//===- OpRegistration.cpp - TORCH_LIBRARY(hyplora) and the input checks ---===//
//
// The schemas are docs/CONTRACTS.md section 5, verbatim. CPU runs the ATen
// reference (ReferenceKernels.cpp); CUDA runs the JIT (JitAdapter.cpp) and
// falls back to the same ATen code on the device when the JIT cannot serve a
// call. The autograd kernel is AdapterAutograd.cpp (Python and LibTorch share
// it); the fake kernels for torch.compile are registered from Python
// (hyplora/ops.py).
//
//===----------------------------------------------------------------------===//
#include "AdapterKernels.h"
#include "hyplora/AdapterOps.h"

#include <ATen/core/dispatch/Dispatcher.h>
#include <c10/core/impl/LocalDispatchKeySet.h>
#include <c10/util/string_view.h>
#include <torch/library.h>

#include <cmath>
#include <cstdlib>

namespace hyplora {
namespace {

// Formats without iostreams: on the GPU machine (g++ 13, torch 2.11) number
// formatting through an ostream inside this library crashed in the locale
// facets (seen 2026-11-25), so messages are built from std::to_string.
std::string shapeOf(const at::Tensor &t) {
  std::string out = "[";
  for (int64_t i = 0; i < t.dim(); ++i)
    out += (i ? ", " : "") + std::to_string(t.size(i));
  return out + "]";
}

bool isActivationDtype(at::ScalarType t) {
  return t == at::kHalf || t == at::kBFloat16 || t == at::kFloat || t == at::kDouble;
}

void checkSameDevice(const at::Tensor &ref, const at::Tensor &t, const char *name) {
  TORCH_CHECK(t.device() == ref.device(), "hyplora: ", name, " is on ", t.device(),
              " but x is on ", ref.device(), "; move the adapter to the input's device");
}

void checkScalarParam(const at::Tensor &t, const at::Tensor &x, const char *name) {
  TORCH_CHECK(t.numel() == 1, "hyplora: ", name, " must hold one value, got shape ", shapeOf(t));
  TORCH_CHECK(at::isFloatingType(t.scalar_type()), "hyplora: ", name,
              " must be a floating tensor, got ", t.scalar_type());
  checkSameDevice(x, t, name);
}

bool envFlag(const char *name) {
  const char *v = std::getenv(name);
  return v && *v && std::string(v) != "0";
}

} // namespace

AdapterConfig parseConfig(const std::string &variant, const std::string &convention,
                          double scaling, double maxSinhArg) {
  AdapterConfig cfg;
  cfg.variantName = variant;
  cfg.conventionName = convention;
  if (variant == "hyplora")
    cfg.variant = Variant::HypLoRA;
  else if (variant == "hyplora_simplified")
    cfg.variant = Variant::Simplified;
  else if (variant == "lora")
    cfg.variant = Variant::LoRA;
  else
    TORCH_CHECK(false, "hyplora: unknown variant '", variant,
                "' (expected hyplora, hyplora_simplified or lora)");
  if (convention == "reference")
    cfg.convention = Convention::Reference;
  else if (convention == "lorentz")
    cfg.convention = Convention::Lorentz;
  else
    TORCH_CHECK(false, "hyplora: unknown convention '", convention,
                "' (expected reference or lorentz)");
  TORCH_CHECK(std::isfinite(scaling), "hyplora: scaling must be finite, got ", scaling);
  TORCH_CHECK(std::isfinite(maxSinhArg) && maxSinhArg > 0, "hyplora: max_sinh_arg must be ",
              "finite and positive, got ", maxSinhArg);
  cfg.scaling = scaling;
  cfg.maxSinhArg = maxSinhArg;
  return cfg;
}

void checkForwardInputs(const at::Tensor &x, const at::Tensor &xAdapter, const at::Tensor &weight,
                        const std::optional<at::Tensor> &bias, const at::Tensor &loraA,
                        const at::Tensor &loraB, const at::Tensor &loraK,
                        const at::Tensor &normScale, bool checkCurvatureValues) {
  TORCH_CHECK(x.dim() == 2, "hyplora: x must be 2-D (tokens x in_features), got shape ",
              shapeOf(x), "; flatten leading dimensions first");
  TORCH_CHECK(isActivationDtype(x.scalar_type()),
              "hyplora: x must be float16, bfloat16, float32 or float64, got ", x.scalar_type());
  const int64_t K = x.size(1);
  TORCH_CHECK(xAdapter.sizes() == x.sizes(), "hyplora: x_adapter has shape ", shapeOf(xAdapter),
              " but x has shape ", shapeOf(x));
  TORCH_CHECK(xAdapter.scalar_type() == x.scalar_type(), "hyplora: x_adapter dtype ",
              xAdapter.scalar_type(), " differs from x dtype ", x.scalar_type());
  checkSameDevice(x, xAdapter, "x_adapter");
  TORCH_CHECK(weight.dim() == 2 && weight.size(1) == K, "hyplora: weight must be (out_features x ",
              K, "), got shape ", shapeOf(weight));
  TORCH_CHECK(weight.scalar_type() == x.scalar_type(), "hyplora: weight dtype ",
              weight.scalar_type(), " differs from x dtype ", x.scalar_type(),
              " (under autocast, cast x and the frozen weight to the autocast dtype)");
  checkSameDevice(x, weight, "weight");
  const int64_t N = weight.size(0);
  if (bias) {
    TORCH_CHECK(bias->dim() == 1 && bias->size(0) == N, "hyplora: bias must have shape [", N,
                "], got ", shapeOf(*bias));
    TORCH_CHECK(bias->scalar_type() == x.scalar_type(), "hyplora: bias dtype ",
                bias->scalar_type(), " differs from x dtype ", x.scalar_type());
    checkSameDevice(x, *bias, "bias");
  }
  TORCH_CHECK(loraA.dim() == 2 && loraA.size(1) == K && loraA.size(0) > 0,
              "hyplora: lora_A must be (r x ", K, "), got shape ", shapeOf(loraA));
  const int64_t r = loraA.size(0);
  TORCH_CHECK(loraB.dim() == 2 && loraB.size(0) == N && loraB.size(1) == r,
              "hyplora: lora_B must be (", N, " x ", r, "), got shape ", shapeOf(loraB));
  for (const auto *p : {&loraA, &loraB})
    TORCH_CHECK(p->scalar_type() == at::kFloat || p->scalar_type() == at::kDouble,
                "hyplora: adapter matrices must be float32 (or float64), got ",
                p->scalar_type(), "; keep adapter parameters in fp32 as PEFT does");
  checkSameDevice(x, loraA, "lora_A");
  checkSameDevice(x, loraB, "lora_B");
  checkScalarParam(loraK, x, "lora_k");
  checkScalarParam(normScale, x, "lora_norm_scale");
  if (checkCurvatureValues) {
    const double k = loraK.item<double>();
    TORCH_CHECK(std::isfinite(k), "hyplora: raw curvature lora_k is not finite (", k,
                "); the adapter state is corrupt (check the learning rate / loaded file)");
    const double s = normScale.item<double>();
    TORCH_CHECK(std::isfinite(s) && s != 0.0, "hyplora: lora_norm_scale must be finite and ",
                "non-zero, got ", s);
  }
}

void checkBackwardInputs(const at::Tensor &gradY, const at::Tensor &x, const at::Tensor &xAdapter,
                         const at::Tensor &weight, const at::Tensor &loraA,
                         const at::Tensor &loraB, const at::Tensor &loraK,
                         const at::Tensor &normScale, const at::Tensor &w,
                         const at::Tensor &stats) {
  checkForwardInputs(x, xAdapter, weight, std::nullopt, loraA, loraB, loraK, normScale, false);
  const int64_t M = x.size(0), N = weight.size(0), r = loraA.size(0);
  TORCH_CHECK(gradY.dim() == 2 && gradY.size(0) == M && gradY.size(1) == N,
              "hyplora: grad_y must be (", M, " x ", N, "), got shape ", shapeOf(gradY));
  TORCH_CHECK(gradY.scalar_type() == x.scalar_type(), "hyplora: grad_y dtype ",
              gradY.scalar_type(), " differs from x dtype ", x.scalar_type());
  checkSameDevice(x, gradY, "grad_y");
  TORCH_CHECK(w.dim() == 2 && w.size(0) == M && w.size(1) == r, "hyplora: saved w must be (", M,
              " x ", r, "), got shape ", shapeOf(w));
  TORCH_CHECK(stats.dim() == 2 && stats.size(0) == M && stats.size(1) == 4,
              "hyplora: saved stats must be (", M, " x 4), got shape ", shapeOf(stats));
  checkSameDevice(x, w, "w");
  checkSameDevice(x, stats, "stats");
}

namespace {

ForwardResult forwardImpl(const at::Tensor &x, const at::Tensor &xAdapter,
                          const at::Tensor &weight, const std::optional<at::Tensor> &bias,
                          const at::Tensor &loraA, const at::Tensor &loraB,
                          const at::Tensor &loraK, const at::Tensor &normScale, double scaling,
                          c10::string_view variant, c10::string_view convention,
                          double maxSinhArg) {
  // The ops fix their own precision (row math fp32/f64): autocast must not
  // re-cast the matmuls inside them (the op itself has no autocast kernel).
  c10::impl::ExcludeDispatchKeyGuard noAutocast(c10::autocast_dispatch_keyset);
  AdapterConfig cfg =
      parseConfig(std::string(variant), std::string(convention), scaling, maxSinhArg);
  const bool onCuda = x.is_cuda();
  checkForwardInputs(x, xAdapter, weight, bias, loraA, loraB, loraK, normScale,
                     !onCuda || envFlag("HYP_CHECK_INPUTS"));
  if (onCuda) {
    ForwardResult out;
    if (jitForward(x, xAdapter, weight, bias, loraA, loraB, loraK, normScale, cfg, &out))
      return out;
  }
  return referenceForward(x, xAdapter, weight, bias, loraA, loraB, loraK, normScale, cfg);
}

BackwardResult backwardImpl(const at::Tensor &gradY, const at::Tensor &x,
                            const at::Tensor &xAdapter, const at::Tensor &weight,
                            const at::Tensor &loraA, const at::Tensor &loraB,
                            const at::Tensor &loraK, const at::Tensor &normScale,
                            const at::Tensor &w, const at::Tensor &stats, double scaling,
                            c10::string_view variant, c10::string_view convention,
                            double maxSinhArg, std::array<bool, 2> xGrads) {
  c10::impl::ExcludeDispatchKeyGuard noAutocast(c10::autocast_dispatch_keyset);
  AdapterConfig cfg =
      parseConfig(std::string(variant), std::string(convention), scaling, maxSinhArg);
  checkBackwardInputs(gradY, x, xAdapter, weight, loraA, loraB, loraK, normScale, w, stats);
  if (x.is_cuda()) {
    BackwardResult out;
    if (jitBackward(gradY, x, xAdapter, weight, loraA, loraB, loraK, normScale, w, stats, cfg,
                    xGrads, &out))
      return out;
  }
  return referenceBackward(gradY, x, xAdapter, weight, loraA, loraB, loraK, normScale, w, stats,
                           cfg, xGrads);
}

} // namespace

std::tuple<at::Tensor, at::Tensor, at::Tensor>
adapterForward(const at::Tensor &x, const at::Tensor &xAdapter, const at::Tensor &weight,
               const std::optional<at::Tensor> &bias, const at::Tensor &loraA,
               const at::Tensor &loraB, const at::Tensor &loraK, const at::Tensor &normScale,
               double scaling, const std::string &variant, const std::string &convention,
               double maxSinhArg) {
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("hyplora::adapter_forward", "")
                       .typed<decltype(forwardImpl)>();
  return op.call(x, xAdapter, weight, bias, loraA, loraB, loraK, normScale, scaling, variant,
                 convention, maxSinhArg);
}

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor>
adapterBackward(const at::Tensor &gradY, const at::Tensor &x, const at::Tensor &xAdapter,
                const at::Tensor &weight, const at::Tensor &loraA, const at::Tensor &loraB,
                const at::Tensor &loraK, const at::Tensor &normScale, const at::Tensor &w,
                const at::Tensor &stats, double scaling, const std::string &variant,
                const std::string &convention, double maxSinhArg, std::array<bool, 2> xGrads) {
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("hyplora::adapter_backward", "")
                       .typed<decltype(backwardImpl)>();
  return op.call(gradY, x, xAdapter, weight, loraA, loraB, loraK, normScale, w, stats, scaling,
                 variant, convention, maxSinhArg, xGrads);
}

TORCH_LIBRARY(hyplora, m) {
  m.def("adapter_forward(Tensor x, Tensor x_adapter, Tensor weight, Tensor? bias, "
        "Tensor lora_A, Tensor lora_B, Tensor lora_k, Tensor lora_norm_scale, "
        "float scaling, str variant, str convention, float max_sinh_arg) "
        "-> (Tensor y, Tensor w, Tensor stats)");
  m.def("adapter_backward(Tensor grad_y, Tensor x, Tensor x_adapter, Tensor weight, "
        "Tensor lora_A, Tensor lora_B, Tensor lora_k, Tensor lora_norm_scale, "
        "Tensor w, Tensor stats, float scaling, str variant, str convention, "
        "float max_sinh_arg, bool[2] x_grads) -> (Tensor grad_x, Tensor grad_x_adapter, "
        "Tensor grad_A, Tensor grad_B, Tensor grad_k, Tensor grad_s)");
}

TORCH_LIBRARY_IMPL(hyplora, CPU, m) {
  m.impl("adapter_forward", &forwardImpl);
  m.impl("adapter_backward", &backwardImpl);
}

TORCH_LIBRARY_IMPL(hyplora, CUDA, m) {
  m.impl("adapter_forward", &forwardImpl);
  m.impl("adapter_backward", &backwardImpl);
}

} // namespace hyplora
