//===- HypLoRALinear.cpp - the C++ module and its autograd function -------===//
//
// Python registers autograd for the ops with torch.library; a LibTorch
// program has no Python, so the C++ module carries its own
// torch::autograd::Function around the same two ops.
//
//===----------------------------------------------------------------------===//
#include "hyplora/HypLoRALinear.h"
#include "hyplora/AdapterOps.h"

#include <ATen/autocast_mode.h>
#include <torch/csrc/autograd/custom_function.h>
#include <torch/nn/functional/dropout.h>
#include <torch/nn/init.h>

#include <cmath>

namespace hyplora {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

constexpr double kCurvatureGradClip = 0.01; // HYPLORA.md section 3

struct AdapterFunction : public torch::autograd::Function<AdapterFunction> {
  static torch::Tensor forward(AutogradContext *ctx, torch::Tensor x, torch::Tensor xAdapter,
                               torch::Tensor weight, torch::Tensor bias, torch::Tensor A,
                               torch::Tensor B, torch::Tensor k, torch::Tensor s, double scaling,
                               std::string variant, std::string convention, double maxSinhArg,
                               bool adapterIsInput) {
    std::optional<torch::Tensor> b;
    if (bias.defined())
      b = bias;
    auto [y, w, stats] = adapterForward(x, xAdapter, weight, b, A, B, k, s, scaling, variant,
                                        convention, maxSinhArg);
    ctx->save_for_backward({x, xAdapter, weight, A, B, k, s, w, stats});
    ctx->saved_data["scaling"] = scaling;
    ctx->saved_data["variant"] = variant;
    ctx->saved_data["convention"] = convention;
    ctx->saved_data["max_sinh_arg"] = maxSinhArg;
    ctx->saved_data["adapter_is_input"] = adapterIsInput;
    ctx->saved_data["has_bias"] = bias.defined();
    return y;
  }

  static variable_list backward(AutogradContext *ctx, variable_list gradOutputs) {
    auto saved = ctx->get_saved_variables();
    const bool adapterIsInput = ctx->saved_data["adapter_is_input"].toBool();
    const bool wantX = ctx->needs_input_grad(0);
    const bool wantXa = !adapterIsInput && ctx->needs_input_grad(1);
    auto [gx, gxa, gA, gB, gk, gs] = adapterBackward(
        gradOutputs[0].contiguous(), saved[0], saved[1], saved[2], saved[3], saved[4], saved[5],
        saved[6], saved[7], saved[8], ctx->saved_data["scaling"].toDouble(),
        ctx->saved_data["variant"].toStringRef(), ctx->saved_data["convention"].toStringRef(),
        ctx->saved_data["max_sinh_arg"].toDouble(), {wantX, wantXa});
    variable_list grads(13);
    if (wantX)
      grads[0] = gx;
    if (wantXa)
      grads[1] = gxa;
    grads[4] = gA;
    grads[5] = gB;
    grads[6] = gk.clamp(-kCurvatureGradClip, kCurvatureGradClip);
    grads[7] = gs;
    return grads;
  }
};

} // namespace

HypLoRALinearImpl::HypLoRALinearImpl(torch::nn::Linear baseLayer, HypLoRALinearOptions options)
    : options_(std::move(options)) {
  TORCH_CHECK(baseLayer, "hyplora::HypLoRALinear: the base Linear is empty");
  TORCH_CHECK(options_.r() > 0, "hyplora::HypLoRALinear: r must be positive, got ",
              options_.r());
  TORCH_CHECK(options_.dropout() >= 0.0 && options_.dropout() < 1.0,
              "hyplora::HypLoRALinear: dropout must be in [0, 1), got ", options_.dropout());
  TORCH_CHECK(std::isfinite(options_.curvature()),
              "hyplora::HypLoRALinear: curvature must be finite");
  const std::string &v = options_.variant();
  TORCH_CHECK(v == "hyplora" || v == "hyplora_simplified" || v == "lora",
              "hyplora::HypLoRALinear: unknown variant '", v, "'");
  TORCH_CHECK(options_.convention() == "reference" || options_.convention() == "lorentz",
              "hyplora::HypLoRALinear: unknown convention '", options_.convention(), "'");
  base = register_module("base", baseLayer);
  for (auto &p : base->parameters())
    p.set_requires_grad(false);

  const int64_t in = base->weight.size(1), out = base->weight.size(0), r = options_.r();
  auto opts = torch::TensorOptions().dtype(torch::kFloat).device(base->weight.device());
  lora_A = register_parameter("lora_A", torch::empty({r, in}, opts));
  lora_B = register_parameter("lora_B", torch::zeros({out, r}, opts));
  {
    torch::NoGradGuard noGrad;
    torch::nn::init::kaiming_uniform_(lora_A, std::sqrt(5.0)); // as PEFT / nn.Linear
  }
  torch::Tensor k = torch::full({}, options_.curvature(), opts);
  torch::Tensor s = torch::full({}, std::sqrt(static_cast<double>(in)), opts);
  // Parameters only where the variant learns them (PEFT's trainable count).
  if (v == "lora") {
    lora_k = register_buffer("lora_k", k);
    lora_norm_scale = register_buffer("lora_norm_scale", s);
  } else if (v == "hyplora_simplified") {
    lora_k = register_parameter("lora_k", k);
    lora_norm_scale = register_buffer("lora_norm_scale", s);
  } else {
    lora_k = register_parameter("lora_k", k);
    lora_norm_scale = register_parameter("lora_norm_scale", s);
  }
  scaling_ = options_.use_rslora() ? options_.alpha() / std::sqrt(static_cast<double>(r))
                                   : options_.alpha() / static_cast<double>(r);
}

torch::Tensor HypLoRALinearImpl::forward(const torch::Tensor &input) {
  const int64_t in = base->weight.size(1);
  TORCH_CHECK(input.dim() >= 1 && input.size(-1) == in, "hyplora::HypLoRALinear: input's last ",
              "dimension must be ", in, ", got shape ", input.sizes());
  auto outShape = input.sizes().vec();
  outShape.back() = base->weight.size(0);
  torch::Tensor x = input.reshape({-1, in});
  torch::Tensor weight = base->weight;
  torch::Tensor bias = base->bias.defined() ? base->bias : torch::Tensor();
  // Under autocast the frozen GEMM runs in the autocast dtype; the adapter's
  // row math stays fp32 inside the op whatever x's dtype is.
  const auto devType = x.device().type();
  if (at::autocast::is_autocast_enabled(devType)) {
    const auto dt = at::autocast::get_autocast_dtype(devType);
    x = x.to(dt);
    weight = weight.to(dt);
    if (bias.defined())
      bias = bias.to(dt);
  } else if (x.scalar_type() != weight.scalar_type()) {
    x = x.to(weight.scalar_type());
  }
  const bool dropping = options_.dropout() > 0.0 && is_training();
  torch::Tensor xAdapter =
      dropping ? torch::dropout(x, options_.dropout(), /*train=*/true) : x;
  torch::Tensor y = AdapterFunction::apply(x, xAdapter, weight, bias, lora_A, lora_B, lora_k,
                                           lora_norm_scale, scaling_, options_.variant(),
                                           options_.convention(), options_.max_sinh_arg(),
                                           /*adapterIsInput=*/!dropping);
  return y.reshape(outShape);
}

} // namespace hyplora
