//===- HypLoRALinear.cpp - the C++ module ---------------------------------===//
//
// The LibTorch counterpart of hyplora.HypLoRALinear. Its forward calls the op
// through the dispatcher, whose Autograd kernel (AdapterAutograd.cpp) is the
// same backward Python uses.
//
//===----------------------------------------------------------------------===//
#include "hyplora/HypLoRALinear.h"
#include "hyplora/AdapterOps.h"

#include <ATen/autocast_mode.h>
#include <torch/nn/functional/dropout.h>
#include <torch/nn/init.h>

#include <cmath>

namespace hyplora {
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
  std::optional<torch::Tensor> b;
  if (bias.defined())
    b = bias;
  torch::Tensor y = std::get<0>(adapterForward(x, xAdapter, weight, b, lora_A, lora_B, lora_k,
                                               lora_norm_scale, scaling_, options_.variant(),
                                               options_.convention(), options_.max_sinh_arg()));
  return y.reshape(outShape);
}

} // namespace hyplora
