//===- AdapterAutograd.cpp - the one autograd kernel of hyplora::adapter_forward ===//
//
// Registered at the dispatcher's Autograd key, so Python (torch.ops.hyplora,
// the modules, torch.compile) and LibTorch programs (HypLoRALinear.cpp) share
// one backward. It used to live in Python (torch.library.register_autograd)
// beside a C++ copy for LibTorch: the Python one cost ~200-370 us of host
// time per layer step on the dev machine (torch.profiler, tiny CPU shapes),
// and at M = 1024 a GPU step is bound by the host.
// torch.compile traces through it like any C++ autograd kernel (torchvision's
// ops are registered the same way); the fake kernels stay in hyplora/ops.py.
//
//===----------------------------------------------------------------------===//
#include "hyplora/AdapterOps.h"

#include <ATen/core/dispatch/Dispatcher.h>
#include <c10/util/string_view.h>
#include <torch/csrc/autograd/custom_function.h>
#include <torch/library.h>

namespace hyplora {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

constexpr double kCurvatureGradClip = 0.01; // HYPLORA.md section 3: the reference's hook

// Inputs of adapter_forward, in schema order (the backward returns one
// gradient slot per input, non-tensors included).
enum Input { kX, kXAdapter, kWeight, kBias, kA, kB, kK, kS, kNumTensorInputs };
constexpr int kNumInputs = kNumTensorInputs + 4; // + scaling, variant, convention, max_sinh_arg

struct AdapterFunction : public torch::autograd::Function<AdapterFunction> {
  static variable_list forward(AutogradContext *ctx, const at::Tensor &x,
                               const at::Tensor &xAdapter, const at::Tensor &weight,
                               const std::optional<at::Tensor> &bias, const at::Tensor &A,
                               const at::Tensor &B,
                               const at::Tensor &k, const at::Tensor &s, double scaling,
                               std::string variant, std::string convention, double maxSinhArg) {
    at::AutoDispatchBelowADInplaceOrView belowAutograd;
    auto [y, w, stats] = adapterForward(x, xAdapter, weight, bias, A, B, k, s, scaling, variant,
                                        convention, maxSinhArg);
    ctx->save_for_backward({x, xAdapter, weight, A, B, k, s, w, stats});
    ctx->saved_data["scaling"] = scaling;
    ctx->saved_data["variant"] = variant;
    ctx->saved_data["convention"] = convention;
    ctx->saved_data["max_sinh_arg"] = maxSinhArg;
    // Without dropout the caller passes x twice: the kernels then fold the
    // adapter's input gradient into grad_x (one M x K tensor less).
    ctx->saved_data["adapter_is_input"] = x.is_same(xAdapter);
    ctx->saved_data["has_bias"] = bias.has_value() && bias->defined();
    ctx->mark_non_differentiable({w, stats});
    // w and stats never get a gradient; materialised, each would cost an
    // at::zeros (allocation, fill kernel) per layer and step, and at M = 1024
    // a step is bound by the host. backward() handles an undefined dY itself.
    ctx->set_materialize_grads(false);
    return {y, w, stats};
  }

  static variable_list backward(AutogradContext *ctx, variable_list gradOutputs) {
    auto saved = ctx->get_saved_variables();
    const at::Tensor &x = saved[0], &weight = saved[2];
    at::Tensor gradY = gradOutputs[0];
    if (!gradY.defined()) // only w or stats were used: y's gradient is zero
      gradY = at::zeros({x.size(0), weight.size(0)}, x.options());
    const bool adapterIsInput = ctx->saved_data["adapter_is_input"].toBool();
    // needs_input_grad counts graph edges, one per tensor argument that was
    // given: an absent bias has none, so the later inputs' edges shift by one.
    const bool hasBias = ctx->saved_data["has_bias"].toBool();
    auto needs = [&](Input i) {
      if (i == kBias && !hasBias)
        return false;
      return ctx->needs_input_grad(i > kBias && !hasBias ? i - 1 : i);
    };
    const bool wantX = needs(kX) || (adapterIsInput && needs(kXAdapter));
    const bool wantXa = !adapterIsInput && needs(kXAdapter);
    auto [gx, gxa, gA, gB, gk, gs] = adapterBackward(
        gradY.contiguous(), x, saved[1], weight, saved[3], saved[4], saved[5], saved[6], saved[7],
        saved[8], ctx->saved_data["scaling"].toDouble(),
        ctx->saved_data["variant"].toStringRef(), ctx->saved_data["convention"].toStringRef(),
        ctx->saved_data["max_sinh_arg"].toDouble(), {wantX, wantXa});
    variable_list grads(kNumInputs);
    if (wantX)
      grads[kX] = gx;
    if (wantXa)
      grads[kXAdapter] = gxa;
    // The frozen base normally needs no gradient; if a caller unfroze it,
    // give the exact one rather than silently dropping it.
    if (needs(kWeight))
      grads[kWeight] = gradY.t().mm(x);
    if (needs(kBias))
      grads[kBias] = gradY.sum(0);
    if (needs(kA))
      grads[kA] = gA;
    if (needs(kB))
      grads[kB] = gB;
    if (needs(kK))
      // gk is this call's own view of the JIT's arena (or a fresh tensor): clipped in place.
      grads[kK] = gk.clamp_(-kCurvatureGradClip, kCurvatureGradClip);
    if (needs(kS))
      grads[kS] = gs;
    return grads;
  }
};

std::tuple<at::Tensor, at::Tensor, at::Tensor>
forwardAutograd(const at::Tensor &x, const at::Tensor &xAdapter, const at::Tensor &weight,
                const std::optional<at::Tensor> &bias, const at::Tensor &A, const at::Tensor &B,
                const at::Tensor &k, const at::Tensor &s, double scaling,
                c10::string_view variant, c10::string_view convention, double maxSinhArg) {
  // bias stays an optional: autograd::Function records the device of every
  // tensor argument, and an undefined one has none.
  variable_list out = AdapterFunction::apply(x, xAdapter, weight, bias, A, B, k, s, scaling,
                                             std::string(variant), std::string(convention),
                                             maxSinhArg);
  return {out[0], out[1], out[2]};
}

} // namespace

TORCH_LIBRARY_IMPL(hyplora, Autograd, m) { m.impl("adapter_forward", &forwardAutograd); }

} // namespace hyplora
