//===- HypLoRALinear.h - hyperbolic low-rank adapter for LibTorch -*- C++ -*-===//
//
// A torch::nn::Module that wraps a frozen torch::nn::Linear and adds a
// HypLoRA (or plain LoRA) adapter computed by the hyplora ops: the C++ twin
// of Python's hyplora.HypLoRALinear, with the same parameter names, init and
// autograd (raw-curvature gradient clipped to [-0.01, 0.01]).
//
//   auto base = torch::nn::Linear(576, 192);
//   hyplora::HypLoRALinear layer(base, hyplora::HypLoRALinearOptions(32, 128));
//   auto y = layer->forward(x);          // x: (..., 576) -> (..., 192)
//   y.sum().backward();                  // grads in lora_A, lora_B, lora_k, lora_norm_scale
//
//===----------------------------------------------------------------------===//
#pragma once

#include <torch/arg.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <string>

namespace hyplora {

struct HypLoRALinearOptions {
  HypLoRALinearOptions(int64_t r, double alpha) : r_(r), alpha_(alpha) {}
  TORCH_ARG(int64_t, r);
  TORCH_ARG(double, alpha);
  /// Raw curvature k at init ("hyplora-1.0" means 1.0); K = softplus(k) + 1e-6.
  TORCH_ARG(double, curvature) = 1.0;
  /// "reference" (the paper's code, 1/K time recompute) or "lorentz".
  TORCH_ARG(std::string, convention) = "reference";
  /// "hyplora", "hyplora_simplified" or "lora".
  TORCH_ARG(std::string, variant) = "hyplora";
  /// Dropout probability on the adapter's input (the base sees undropped x).
  TORCH_ARG(double, dropout) = 0.0;
  /// scaling = alpha / sqrt(r) instead of alpha / r.
  TORCH_ARG(bool, use_rslora) = false;
  TORCH_ARG(double, max_sinh_arg) = 12.0;
};

class HypLoRALinearImpl : public torch::nn::Module {
public:
  HypLoRALinearImpl(torch::nn::Linear base, HypLoRALinearOptions options);

  /// x: (..., in_features) in the base layer's dtype (or any float dtype under
  /// autocast, which casts the base part); returns (..., out_features).
  torch::Tensor forward(const torch::Tensor &x);

  double scaling() const { return scaling_; }
  const HypLoRALinearOptions &options() const { return options_; }

  torch::nn::Linear base{nullptr};
  torch::Tensor lora_A, lora_B, lora_k, lora_norm_scale;

private:
  HypLoRALinearOptions options_;
  double scaling_ = 1.0;
};
TORCH_MODULE(HypLoRALinear);

} // namespace hyplora
