"""HypLoRALinear: a frozen nn.Linear plus a hyperbolic (or plain) low-rank adapter."""
from __future__ import annotations

import math

import torch
import torch.nn as nn

from . import ops
from .config import CONVENTIONS, VARIANTS


class HypLoRALinear(nn.Module):
    """y = base(x) + scaling * adapter(dropout(x)), computed by the hyplora ops.

    Parameters follow HYPLORA.md section 3 and the reference implementation:
    `lora_A` (r x in, kaiming-uniform a=sqrt(5) as PEFT), `lora_B` (out x r,
    zeros), `lora_k` (raw curvature, scalar), `lora_norm_scale` (scalar,
    sqrt(in_features)); all fp32 on the base's device. A variant registers as
    parameters only what it learns (PEFT's trainable count): plain "lora" has
    k and s as fixed buffers, "hyplora_simplified" has no learned norm scale.
    The base layer is frozen and kept as `base_layer` (PEFT's name).
    """

    def __init__(self, base: nn.Linear, r: int, alpha: float, curvature: float = 1.0,
                 convention: str = "reference", variant: str = "hyplora", dropout: float = 0.0,
                 use_rslora: bool = False, max_sinh_arg: float = 12.0):
        super().__init__()
        if not isinstance(base, nn.Linear):
            raise TypeError(f"HypLoRALinear wraps an nn.Linear, got {type(base).__name__}")
        if not isinstance(r, int) or r <= 0:
            raise ValueError(f"HypLoRALinear: r must be a positive int, got {r!r}")
        if variant not in VARIANTS:
            raise ValueError(f"HypLoRALinear: variant must be one of {VARIANTS}, got {variant!r}")
        if convention not in CONVENTIONS:
            raise ValueError(f"HypLoRALinear: convention must be one of {CONVENTIONS}, "
                             f"got {convention!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"HypLoRALinear: dropout must be in [0, 1), got {dropout!r}")
        if not math.isfinite(curvature):
            raise ValueError(f"HypLoRALinear: curvature must be finite, got {curvature!r}")
        self.base_layer = base
        for p in base.parameters():
            p.requires_grad_(False)
        self.in_features, self.out_features = base.in_features, base.out_features
        self.r, self.alpha, self.variant, self.convention = r, float(alpha), variant, convention
        self.use_rslora, self.max_sinh_arg = bool(use_rslora), float(max_sinh_arg)
        self.dropout_p = float(dropout)
        self.scaling = self.alpha / (math.sqrt(r) if use_rslora else r)
        self.lora_dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

        dev = base.weight.device
        f32 = dict(device=dev, dtype=torch.float32)
        self.lora_A = nn.Parameter(torch.empty(r, self.in_features, **f32))
        self.lora_B = nn.Parameter(torch.zeros(self.out_features, r, **f32))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))
        k = torch.tensor(float(curvature), **f32)
        s = torch.tensor(math.sqrt(self.in_features), **f32)
        if variant == "lora":
            self.register_buffer("lora_k", k)
            self.register_buffer("lora_norm_scale", s)
        elif variant == "hyplora_simplified":
            self.lora_k = nn.Parameter(k)
            self.register_buffer("lora_norm_scale", s)
        else:
            self.lora_k = nn.Parameter(k)
            self.lora_norm_scale = nn.Parameter(s)

    @property
    def base(self) -> nn.Linear:
        return self.base_layer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xa = self.lora_dropout(x)
        return ops.adapted_linear(
            x, self.base_layer.weight, self.base_layer.bias, self.lora_A, self.lora_B,
            self.lora_k, self.lora_norm_scale, self.scaling, self.variant, self.convention,
            self.max_sinh_arg, x_adapter=None if xa is x else xa)

    def extra_repr(self) -> str:
        return (f"in={self.in_features}, out={self.out_features}, r={self.r}, alpha={self.alpha}, "
                f"variant={self.variant}, convention={self.convention}, "
                f"dropout={self.dropout_p}, scaling={self.scaling:g}")
