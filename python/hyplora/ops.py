"""The hyplora torch ops seen from Python: loading, fake kernels, the functional entry.

The C++ library (frontend/torch) defines `torch.ops.hyplora.adapter_forward`
and `adapter_backward` (schemas: docs/CONTRACTS.md section 5) with a CPU
reference and a CUDA JIT path, and the autograd kernel of adapter_forward
(frontend/torch/src/AdapterAutograd.cpp: the backward op, the raw-curvature
gradient clipped to [-0.01, 0.01] as the reference implementation's hook
does; in C++ so no Python runs per layer step). Here we register the fake
kernels, so torch.compile / meta tensors know output shapes.
`adapted_linear` is the functional entry the modules use: it flattens leading
dimensions, applies autocast's dtype to the frozen part and keeps the adapter
parameters in fp32.
"""
from __future__ import annotations

import os
from typing import Optional

import torch

_HERE = os.path.dirname(os.path.abspath(__file__))


def _load_library() -> None:
    """Registers the ops: through hyplora._C (which links the op library), or,
    without the pybind11 module, by loading lib/libhyplora_torch.so directly."""
    if hasattr(torch.ops.hyplora, "adapter_forward"):
        return
    errors = []
    try:
        from . import _C  # noqa: F401  (importing registers the ops)
        return
    except ImportError as e:  # not built, or built for another Python
        errors.append(f"hyplora._C: {e}")
    lib = os.path.join(_HERE, "lib", "libhyplora_torch.so")
    if os.path.exists(lib):
        try:
            torch.ops.load_library(lib)
            return
        except OSError as e:
            errors.append(f"{lib}: {e}")
    else:
        errors.append(f"{lib}: not found")
    raise ImportError(
        "hyplora: the native op library is not built for this Python/torch ("
        + "; ".join(errors)
        + "). Build it with scripts/build.sh (source tree, PYTHONPATH=python) or `pip install .`.")


_load_library()

adapter_forward = torch.ops.hyplora.adapter_forward.default
adapter_backward = torch.ops.hyplora.adapter_backward.default


def compute_dtype(act: torch.dtype) -> torch.dtype:
    return torch.float64 if act == torch.float64 else torch.float32


@torch.library.register_fake("hyplora::adapter_forward")
def _adapter_forward_fake(x, x_adapter, weight, bias, lora_A, lora_B, lora_k, lora_norm_scale,
                          scaling, variant, convention, max_sinh_arg):
    torch._check(x.dim() == 2, lambda: "hyplora: x must be 2-D")
    torch._check(weight.shape[1] == x.shape[1], lambda: "hyplora: weight/x in_features differ")
    torch._check(lora_A.shape[1] == x.shape[1], lambda: "hyplora: lora_A/x in_features differ")
    M, N, r = x.shape[0], weight.shape[0], lora_A.shape[0]
    ct = compute_dtype(x.dtype)
    return (x.new_empty((M, N)), x.new_empty((M, r), dtype=ct), x.new_empty((M, 4), dtype=ct))


@torch.library.register_fake("hyplora::adapter_backward")
def _adapter_backward_fake(grad_y, x, x_adapter, weight, lora_A, lora_B, lora_k, lora_norm_scale,
                           w, stats, scaling, variant, convention, max_sinh_arg, x_grads):
    gx = x.new_empty(x.shape) if x_grads[0] else x.new_empty((0,))
    gxa = x.new_empty(x.shape) if x_grads[1] else x.new_empty((0,))
    return (gx, gxa, torch.empty_like(lora_A), torch.empty_like(lora_B),
            torch.empty_like(lora_k), torch.empty_like(lora_norm_scale))


def adapted_linear(x: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor],
                   lora_A: torch.Tensor, lora_B: torch.Tensor, lora_k: torch.Tensor,
                   lora_norm_scale: torch.Tensor, scaling: float, variant: str = "hyplora",
                   convention: str = "reference", max_sinh_arg: float = 12.0,
                   x_adapter: Optional[torch.Tensor] = None) -> torch.Tensor:
    """y = x W^T + b + scaling * adapter(x_adapter) for x of shape (..., in_features).

    `x_adapter` is the adapter's (dropped-out) input; None means x itself.
    Under torch.autocast the frozen GEMM runs in the autocast dtype (as HF
    Trainer's fp16/bf16 runs do) and the adapter's row math stays fp32."""
    if x.dim() == 0:
        raise ValueError("hyplora: x must have at least one dimension (..., in_features)")
    in_features = weight.shape[1]
    if x.shape[-1] != in_features:
        raise ValueError(f"hyplora: x has last dimension {x.shape[-1]}, the layer expects "
                         f"{in_features} (x shape {tuple(x.shape)})")
    same = x_adapter is None or x_adapter is x
    lead = x.shape[:-1]
    dev = x.device.type
    if torch.is_autocast_enabled(dev):
        dt = torch.get_autocast_dtype(dev)
    elif x.dtype != weight.dtype:
        dt = weight.dtype
    else:
        dt = None
    # A 2-D x goes in as it is: a reshape, even a no-op one, is a dispatcher
    # call now and an autograd node in the backward, per layer and step.
    flat = x.dim() == 2
    x2 = x if flat else x.reshape(-1, in_features)
    xa2 = x2 if same else (x_adapter if flat else x_adapter.reshape(-1, in_features))
    if dt is not None:
        x2 = x2.to(dt)
        xa2 = x2 if same else xa2.to(dt)
        weight = weight.to(dt)
        bias = None if bias is None else bias.to(dt)
    y, _, _ = adapter_forward(x2, xa2, weight, bias, lora_A, lora_B, lora_k, lora_norm_scale,
                              float(scaling), variant, convention, float(max_sinh_arg))
    return y if flat else y.reshape(*lead, weight.shape[0])
