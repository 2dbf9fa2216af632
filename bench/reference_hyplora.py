"""The reference HypLoRA layer, written the way the reference PEFT fork runs it.

This is the *contender* "reference HypLoRA": a plain PyTorch transcription of
HYPLORA.md section 3, evaluated in fp32 on a bf16 model, with every M x d_out
intermediate materialised (u = B (A xs), its norm, the log map), because that
is what the paper's code does and what the hyplora kernels must beat. It is
kept separate from python/hyplora/reference.py (the torch engineer's float64
test oracle) on purpose: the bench must time the original algorithm, not our
rewrite of it, and must keep working when the package is not built.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def _clip_k_grad(grad: torch.Tensor) -> torch.Tensor:
    # The reference clips the raw curvature's gradient to [-0.01, 0.01].
    return grad.clamp(-0.01, 0.01)


class ReferenceHypLoRALinear(nn.Module):
    """y = W x + b + scaling * logmap0(B A expmap0(x)) with the reference's clamps."""

    def __init__(self, base: nn.Linear, r: int, alpha: float, curvature: float = 1.0,
                 dropout: float = 0.0, max_sinh_arg: float = 12.0):
        super().__init__()
        self.base = base
        for p in self.base.parameters():
            p.requires_grad_(False)
        dev = base.weight.device
        k_in, n_out = base.in_features, base.out_features
        # Adapter parameters are fp32 whatever the model dtype (as PEFT keeps them).
        self.lora_A = nn.Parameter(torch.empty(r, k_in, device=dev, dtype=torch.float32))
        self.lora_B = nn.Parameter(torch.zeros(n_out, r, device=dev, dtype=torch.float32))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))
        self.lora_k = nn.Parameter(torch.tensor(float(curvature), device=dev))
        self.lora_norm_scale = nn.Parameter(torch.tensor(math.sqrt(k_in), device=dev))
        self.lora_k.register_hook(_clip_k_grad)
        self.scaling = alpha / r
        self.max_sinh_arg = max_sinh_arg
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        result = self.base(x)
        xa = self.dropout(x).to(torch.float32)
        n = xa.norm(dim=-1, keepdim=True).clamp_min(1e-7)
        K = F.softplus(self.lora_k) + 1e-6
        S = K.sqrt()
        a = (n / self.lora_norm_scale / S).clamp_max(self.max_sinh_arg)
        xs = S * torch.sinh(a) * xa / n                                   # expmap0
        u = F.linear(F.linear(xs, self.lora_A), self.lora_B)              # B (A xs)
        t = torch.sqrt((u * u).sum(dim=-1, keepdim=True) + 1.0 / K.clamp_min(1e-6))
        th = t / S
        ac = torch.where(th < 1.01,
                         torch.sqrt(2.0 * (th - 1.0).clamp_min(1e-6)),
                         torch.acosh(th.clamp_min(1.0 + 1e-7)))
        out = S * ac * u / u.norm(dim=-1, keepdim=True).clamp_min(1e-7)   # logmap0
        return result + (self.scaling * out).to(result.dtype)


def reference_forward_f64(x, weight, bias, A, B, k, s, scaling, max_sinh_arg=12.0):
    """The same formula in float64 on plain tensors: the dry-run self-check oracle."""
    x = x.double()
    n = x.norm(dim=-1, keepdim=True).clamp_min(1e-7)
    K = F.softplus(k.double()) + 1e-6
    S = K.sqrt()
    a = (n / s.double() / S).clamp_max(max_sinh_arg)
    u = (S * torch.sinh(a) * x / n) @ A.double().t() @ B.double().t()
    th = torch.sqrt((u * u).sum(-1, keepdim=True) + 1.0 / K.clamp_min(1e-6)) / S
    ac = torch.where(th < 1.01, torch.sqrt(2.0 * (th - 1.0).clamp_min(1e-6)),
                     torch.acosh(th.clamp_min(1.0 + 1e-7)))
    y = x @ weight.double().t()
    if bias is not None:
        y = y + bias.double()
    return y + scaling * S * ac * u / u.norm(dim=-1, keepdim=True).clamp_min(1e-7)
