"""Pure-PyTorch transcription of HYPLORA.md section 3: the test oracle.

Every function here is written op by op from the formulas (no fusion identity,
no hand-written gradient) so that autograd, run in float64, gives the exact
gradients the compiled and C++ kernels are checked against. It follows the
reference implementation's clamps literally, including its `1/K` time
recompute (convention "reference"); convention "lorentz" uses the textbook
time sqrt(K + |u|^2), whose log map is exactly asinh(|u| / sqrt(K)).

The gradient clip of the raw curvature is *not* applied here (it is a property
of training, not of the function); `clip_k_grad` gives it when wanted.
"""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F

VARIANTS = ("hyplora", "hyplora_simplified", "lora")
CONVENTIONS = ("reference", "lorentz")


def curvature(k: torch.Tensor) -> torch.Tensor:
    """K = softplus(k) + 1e-6: the positive curvature magnitude from the raw parameter."""
    return F.softplus(k) + 1e-6


def hyplora_delta(x: torch.Tensor, A: torch.Tensor, B: torch.Tensor, k: torch.Tensor,
                  s: torch.Tensor, convention: str = "reference",
                  max_sinh_arg: float = 12.0) -> torch.Tensor:
    """The adapter's output `out` (before scaling) for variant hyplora, per row of x."""
    n = torch.linalg.vector_norm(x, dim=-1, keepdim=True).clamp(min=1e-7)
    K = curvature(k)
    S = torch.sqrt(K)
    a = torch.clamp(n / s / S, max=max_sinh_arg)
    xs = S * torch.sinh(a) * (x / n)                       # expmap0, space part
    u = (xs @ A.t()) @ B.t()                               # low-rank transform
    if convention == "lorentz":
        # time sqrt(K + |u|^2): arccosh(time / S) = asinh(|u| / S), no dead zone;
        # the norm is clamped before the asinh too, so g -> 1 as u -> 0 (as the
        # compiler's passes/lib/AdapterPrograms.cpp does).
        m = torch.linalg.vector_norm(u, dim=-1, keepdim=True).clamp(min=1e-7)
        return S * torch.asinh(m / S) * u / m
    if convention == "reference":
        t = (u.pow(2).sum(-1, keepdim=True) + 1.0 / K.clamp(min=1e-6)).sqrt()
    else:
        raise ValueError(f"unknown convention {convention!r}")
    u_norm = torch.linalg.vector_norm(u, dim=-1, keepdim=True).clamp(min=1e-7)
    th = t / S
    eps = torch.clamp(th - 1.0, min=1e-6)
    ac = torch.where(th < 1.01, torch.sqrt(2.0 * eps),
                     torch.arccosh(torch.clamp(th, min=1.0 + 1e-7)))
    return S * ac * u / u_norm                             # logmap0, space part


def hyplora_simplified_delta(x: torch.Tensor, A: torch.Tensor, B: torch.Tensor,
                             k: torch.Tensor) -> torch.Tensor:
    """Variant hyplora_simplified (CONTRACTS.md section 3: K = softplus(k) + 1e-6)."""
    K = curvature(k)
    n2 = x.pow(2).sum(-1, keepdim=True)
    y_scaled = 2.0 * x / (1.0 + K * n2)                    # Poincare -> hyperboloid, space part
    z = (y_scaled @ A.t()) @ B.t()
    z0 = (z.pow(2).sum(-1, keepdim=True) + K).sqrt()       # time recompute
    return z / (1.0 + torch.sqrt(K) * z0)                  # hyperboloid -> Poincare


def lora_delta(x: torch.Tensor, A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
    return (x @ A.t()) @ B.t()


def adapted_linear(x: torch.Tensor, x_adapter: torch.Tensor, weight: torch.Tensor,
                   bias: Optional[torch.Tensor], A: torch.Tensor, B: torch.Tensor,
                   k: torch.Tensor, s: torch.Tensor, scaling: float, variant: str = "hyplora",
                   convention: str = "reference", max_sinh_arg: float = 12.0) -> torch.Tensor:
    """y = x W^T + b + scaling * delta(x_adapter), all in the dtype of the inputs."""
    y = x @ weight.t()
    if bias is not None:
        y = y + bias
    if variant == "hyplora":
        d = hyplora_delta(x_adapter, A, B, k, s, convention, max_sinh_arg)
    elif variant == "hyplora_simplified":
        d = hyplora_simplified_delta(x_adapter, A, B, k)
    elif variant == "lora":
        d = lora_delta(x_adapter, A, B)
    else:
        raise ValueError(f"unknown variant {variant!r}")
    return y + scaling * d


class _ClipGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx, t, bound):
        ctx.bound = bound
        return t.view_as(t)

    @staticmethod
    def backward(ctx, g):
        return g.clamp(-ctx.bound, ctx.bound), None


def clip_k_grad(k: torch.Tensor, bound: float = 0.01) -> torch.Tensor:
    """Identity whose gradient is clamped to [-bound, bound] (the reference's hook on lora_k)."""
    return _ClipGrad.apply(k, bound)
