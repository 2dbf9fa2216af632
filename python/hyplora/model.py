"""Model-level API: inject adapters by module name, count what trains, merge.

Modeled on PEFT's LoRA: `inject` replaces every matching nn.Linear in place by
a HypLoRALinear (the config is kept on the model as `hyplora_config`) and
freezes everything else; `merge` folds plain-LoRA adapters into the base
weights and refuses hyperbolic ones, which are non-linear in x (HYPLORA.md
section 3, fact 2: the reference implementation's merge is silently wrong).
"""
from __future__ import annotations

from typing import Dict, List, Tuple

import torch
import torch.nn as nn

from .config import HypLoraConfig
from .modules import HypLoRALinear

CONFIG_ATTR = "hyplora_config"


def adapter_modules(model: nn.Module) -> Dict[str, HypLoRALinear]:
    """Module path -> HypLoRALinear, in model order."""
    return {name: m for name, m in model.named_modules() if isinstance(m, HypLoRALinear)}


def _set_submodule(model: nn.Module, name: str, module: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, child, module)


def inject(model: nn.Module, config: HypLoraConfig) -> List[str]:
    """Replaces the nn.Linear modules `config` targets by HypLoRALinear, freezes
    all other parameters, and returns the replaced module paths."""
    if not isinstance(config, HypLoraConfig):
        raise TypeError(f"hyplora.inject needs a HypLoraConfig, got {type(config).__name__}")
    if adapter_modules(model):
        raise ValueError("hyplora.inject: the model already has hyplora adapters; "
                         "inject once (or start from a fresh model)")
    targets = [(name, m) for name, m in model.named_modules()
               if name and config.matches(name) and isinstance(m, nn.Linear)]
    if not targets:
        wrong_type = [name for name, m in model.named_modules() if name and config.matches(name)]
        hint = (f" (matching modules that are not nn.Linear: {wrong_type[:5]})" if wrong_type
                else "")
        raise ValueError(f"hyplora.inject: no nn.Linear matches target_modules="
                         f"{config.target_modules!r}{hint}")
    for p in model.parameters():
        p.requires_grad_(False)
    for name, lin in targets:
        _set_submodule(model, name, HypLoRALinear(
            lin, config.r, config.alpha, curvature=config.curvature,
            convention=config.convention, variant=config.variant, dropout=config.dropout,
            use_rslora=config.use_rslora, max_sinh_arg=config.max_sinh_arg))
    setattr(model, CONFIG_ATTR, config)
    return [name for name, _ in targets]


def trainable_parameters(model: nn.Module) -> Tuple[int, List[str]]:
    """(number of trainable scalars, names of the trainable parameters)."""
    names, count = [], 0
    for name, p in model.named_parameters():
        if p.requires_grad:
            names.append(name)
            count += p.numel()
    return count, names


def merge(model: nn.Module) -> List[str]:
    """Folds plain-LoRA adapters into their base weights (W += scaling B A) and
    puts the base nn.Linear back. Hyperbolic adapters cannot be merged: the
    whole call is refused before anything changes."""
    mods = adapter_modules(model)
    hyperbolic = [n for n, m in mods.items() if m.variant != "lora"]
    if hyperbolic:
        raise ValueError(
            f"hyplora.merge: {len(hyperbolic)} adapter(s) are hyperbolic "
            f"(variant {mods[hyperbolic[0]].variant!r}, e.g. {hyperbolic[0]}): the adapter is "
            "non-linear in x (exp/log maps), so no weight matrix reproduces it. Keep the "
            "adapters unmerged (the reference implementation's merge applies B A as if it were "
            "plain LoRA, which is wrong).")
    for name, m in mods.items():
        base = m.base_layer
        with torch.no_grad():
            delta = (m.lora_B.double() @ m.lora_A.double()) * m.scaling
            base.weight.add_(delta.to(device=base.weight.device, dtype=base.weight.dtype))
        _set_submodule(model, name, base)
    if hasattr(model, CONFIG_ATTR):
        delattr(model, CONFIG_ATTR)
    return list(mods)
