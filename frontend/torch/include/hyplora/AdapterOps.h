//===- AdapterOps.h - the hyplora torch ops, callable from C++ -*- C++ -*-===//
//
// The two operators of docs/CONTRACTS.md section 5, registered under the
// `hyplora` namespace (TORCH_LIBRARY). These wrappers call them through the
// dispatcher, so a C++ caller gets the CPU reference or the CUDA JIT path by
// the device of its tensors, exactly as Python's torch.ops.hyplora.* does.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <ATen/ATen.h>

#include <array>
#include <optional>
#include <string>
#include <tuple>

namespace hyplora {

/// y = x W^T + b + scaling * adapter(x_adapter); also returns the saved
/// per-row tensors w (M x r) and stats (M x 4) the backward needs.
std::tuple<at::Tensor, at::Tensor, at::Tensor>
adapterForward(const at::Tensor &x, const at::Tensor &xAdapter, const at::Tensor &weight,
               const std::optional<at::Tensor> &bias, const at::Tensor &loraA,
               const at::Tensor &loraB, const at::Tensor &loraK, const at::Tensor &normScale,
               double scaling, const std::string &variant, const std::string &convention,
               double maxSinhArg);

/// Gradients (x, x_adapter, A, B, raw k, norm scale). The k gradient is NOT
/// clipped here (autograd does it). xGrads = {want grad_x, want grad_x_adapter};
/// with {true, false} the adapter's input gradient is folded into grad_x (the
/// caller promises x_adapter is x); an unwanted gradient comes back empty.
std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor>
adapterBackward(const at::Tensor &gradY, const at::Tensor &x, const at::Tensor &xAdapter,
                const at::Tensor &weight, const at::Tensor &loraA, const at::Tensor &loraB,
                const at::Tensor &loraK, const at::Tensor &normScale, const at::Tensor &w,
                const at::Tensor &stats, double scaling, const std::string &variant,
                const std::string &convention, double maxSinhArg, std::array<bool, 2> xGrads);

} // namespace hyplora
