//===- AdapterKernels.h - backends of the hyplora ops -----------*- C++ -*-===//
//
// What every backend of adapter_forward/adapter_backward shares: the parsed
// layer configuration, the input checks (one place, so the CPU and CUDA paths
// refuse the same inputs with the same words) and the backend entry points.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <ATen/ATen.h>

#include <array>
#include <optional>
#include <string>
#include <tuple>

namespace hyplora {

enum class Variant { HypLoRA, Simplified, LoRA };
enum class Convention { Reference, Lorentz };

struct AdapterConfig {
  Variant variant = Variant::HypLoRA;
  Convention convention = Convention::Reference;
  double scaling = 1.0;
  double maxSinhArg = 12.0;
  std::string variantName, conventionName; // as the user spelled them (JIT key, messages)
};

using ForwardResult = std::tuple<at::Tensor, at::Tensor, at::Tensor>;
using BackwardResult =
    std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor>;

/// Validates the strings and numbers of an op call (TORCH_CHECK on failure).
AdapterConfig parseConfig(const std::string &variant, const std::string &convention,
                          double scaling, double maxSinhArg);

/// Shape/dtype/device checks of the forward inputs. `checkCurvatureValues`
/// reads k and s on the host (a device sync on CUDA, so the CUDA path only does
/// it when HYP_CHECK_INPUTS=1).
void checkForwardInputs(const at::Tensor &x, const at::Tensor &xAdapter, const at::Tensor &weight,
                        const std::optional<at::Tensor> &bias, const at::Tensor &loraA,
                        const at::Tensor &loraB, const at::Tensor &loraK,
                        const at::Tensor &normScale, bool checkCurvatureValues);
void checkBackwardInputs(const at::Tensor &gradY, const at::Tensor &x, const at::Tensor &xAdapter,
                         const at::Tensor &weight, const at::Tensor &loraA,
                         const at::Tensor &loraB, const at::Tensor &loraK,
                         const at::Tensor &normScale, const at::Tensor &w,
                         const at::Tensor &stats);

/// The dtype the row math runs in: float64 for float64 activations, else float32.
at::ScalarType computeDtype(at::ScalarType activation);

/// Device-generic ATen implementation of HYPLORA.md section 3 with the
/// analytic backward through the row scalars. It is the CPU kernel, the
/// oracle of the CUDA tests, and the CUDA fallback when the JIT is absent.
ForwardResult referenceForward(const at::Tensor &x, const at::Tensor &xAdapter,
                               const at::Tensor &weight, const std::optional<at::Tensor> &bias,
                               const at::Tensor &loraA, const at::Tensor &loraB,
                               const at::Tensor &loraK, const at::Tensor &normScale,
                               const AdapterConfig &cfg);
BackwardResult referenceBackward(const at::Tensor &gradY, const at::Tensor &x,
                                 const at::Tensor &xAdapter, const at::Tensor &weight,
                                 const at::Tensor &loraA, const at::Tensor &loraB,
                                 const at::Tensor &loraK, const at::Tensor &normScale,
                                 const at::Tensor &w, const at::Tensor &stats,
                                 const AdapterConfig &cfg, std::array<bool, 2> xGrads);

/// CUDA through the JIT (JitAdapter.cpp). Returns false (and leaves the
/// outputs alone) when the JIT cannot serve this call, e.g. no compiler/
/// runtime in this build, HYP_JIT=0, or float64 activations; the caller then
/// uses the reference path on the device.
bool jitForward(const at::Tensor &x, const at::Tensor &xAdapter, const at::Tensor &weight,
                const std::optional<at::Tensor> &bias, const at::Tensor &loraA,
                const at::Tensor &loraB, const at::Tensor &loraK, const at::Tensor &normScale,
                const AdapterConfig &cfg, ForwardResult *out);
bool jitBackward(const at::Tensor &gradY, const at::Tensor &x, const at::Tensor &xAdapter,
                 const at::Tensor &weight, const at::Tensor &loraA, const at::Tensor &loraB,
                 const at::Tensor &loraK, const at::Tensor &normScale, const at::Tensor &w,
                 const at::Tensor &stats, const AdapterConfig &cfg, std::array<bool, 2> xGrads,
                 BackwardResult *out);

} // namespace hyplora
