"""Adapter files: hyplora's own format and the reference implementation's.

hyplora format (a directory):
  hyplora_config.json       {"format": "hyplora-adapter", "version": 1, "config": {...},
                             "modules": [module paths]}
  adapter_model.safetensors  "<module path>.lora_A" / ".lora_B" / ".lora_k" /
                             ".lora_norm_scale" (fp32), only the learned tensors
Loading checks the saved config against the model's (refuses any difference
that changes the adapter's function or shapes) before touching a weight.

Reference format (the paper's PEFT fork): adapter_config.json with lora_type
"hyplora-<k>" and adapter_model.safetensors or .bin with keys like
base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight (or with an
adapter-name segment, e.g. lora_A.default.weight, lora_k.default).
"""
from __future__ import annotations

import json
import os
import re
from typing import Dict, List

import torch
import torch.nn as nn

from .config import HypLoraConfig
from .model import CONFIG_ATTR, adapter_modules, inject
from .modules import HypLoRALinear

FORMAT = "hyplora-adapter"
VERSION = 1
CONFIG_FILE = "hyplora_config.json"
WEIGHTS_FILE = "adapter_model.safetensors"
ADAPTER_TENSORS = ("lora_A", "lora_B", "lora_k", "lora_norm_scale")


def _learned_tensors(m: HypLoRALinear) -> Dict[str, torch.Tensor]:
    params = dict(m.named_parameters(recurse=False))
    return {n: params[n] for n in ADAPTER_TENSORS if n in params}


def _model_config(model: nn.Module) -> HypLoraConfig:
    cfg = getattr(model, CONFIG_ATTR, None)
    if cfg is None:
        raise ValueError("hyplora: this model has no hyplora adapters (call hyplora.inject first)")
    return cfg


def save_adapter(model: nn.Module, directory: str) -> List[str]:
    """Writes the adapters of `model` to `directory`; returns the file paths."""
    from safetensors.torch import save_file
    cfg = _model_config(model)
    mods = adapter_modules(model)
    tensors = {}
    for name, m in mods.items():
        for pname, t in _learned_tensors(m).items():
            tensors[f"{name}.{pname}"] = t.detach().to("cpu", torch.float32).contiguous()
    os.makedirs(directory, exist_ok=True)
    weights = os.path.join(directory, WEIGHTS_FILE)
    config = os.path.join(directory, CONFIG_FILE)
    save_file(tensors, weights, metadata={"format": FORMAT, "version": str(VERSION)})
    with open(config, "w") as f:
        json.dump({"format": FORMAT, "version": VERSION, "config": cfg.to_dict(),
                   "modules": list(mods)}, f, indent=2)
    return [config, weights]


def _copy_into(m: HypLoRALinear, name: str, pname: str, value: torch.Tensor) -> None:
    target = getattr(m, pname)
    if tuple(value.shape) != tuple(target.shape):
        raise ValueError(f"hyplora: {name}.{pname} has shape {tuple(value.shape)} in the file, "
                         f"the model expects {tuple(target.shape)}")
    if not torch.isfinite(value).all():
        raise ValueError(f"hyplora: {name}.{pname} in the file holds NaN/Inf: corrupt adapter")
    with torch.no_grad():
        target.copy_(value.to(device=target.device, dtype=target.dtype))


def load_adapter(model: nn.Module, directory: str) -> List[str]:
    """Loads adapters saved by save_adapter. A model without adapters is
    injected with the saved config first; a model injected with a different
    config is refused. Returns the loaded module paths."""
    from safetensors.torch import load_file
    cfg_path = os.path.join(directory, CONFIG_FILE)
    if not os.path.exists(cfg_path):
        hint = (" (this looks like a reference-implementation adapter: use "
                "hyplora.import_reference_adapter)"
                if os.path.exists(os.path.join(directory, "adapter_config.json")) else "")
        raise FileNotFoundError(f"hyplora: no {CONFIG_FILE} in {directory}{hint}")
    with open(cfg_path) as f:
        try:
            meta = json.load(f)
        except json.JSONDecodeError as e:
            raise ValueError(f"hyplora: {cfg_path} is not valid JSON: {e}") from None
    if meta.get("format") != FORMAT or meta.get("version") != VERSION:
        raise ValueError(f"hyplora: {cfg_path} is not a hyplora adapter of version {VERSION} "
                         f"(format={meta.get('format')!r}, version={meta.get('version')!r})")
    saved = HypLoraConfig.from_dict(meta["config"])
    current = getattr(model, CONFIG_ATTR, None)
    if current is None:
        inject(model, saved)
    else:
        diff = current.differences(saved)
        if diff:
            desc = ", ".join(f"{k}: model {a!r} vs file {b!r}" for k, (a, b) in diff.items())
            raise ValueError(f"hyplora: refusing to load {directory}: its adapter config differs "
                             f"from the model's ({desc})")
    mods = adapter_modules(model)
    saved_modules = list(meta.get("modules", []))
    if set(saved_modules) != set(mods):
        missing = sorted(set(saved_modules) - set(mods))[:5]
        extra = sorted(set(mods) - set(saved_modules))[:5]
        raise ValueError(f"hyplora: refusing to load {directory}: adapted modules differ "
                         f"(in file only: {missing}, in model only: {extra})")
    tensors = load_file(os.path.join(directory, WEIGHTS_FILE))
    expected = {f"{n}.{p}" for n, m in mods.items() for p in _learned_tensors(m)}
    if set(tensors) != expected:
        raise ValueError(f"hyplora: {directory}: tensor names differ from the model's adapters "
                         f"(missing {sorted(expected - set(tensors))[:5]}, "
                         f"unexpected {sorted(set(tensors) - expected)[:5]})")
    for key, value in tensors.items():
        name, _, pname = key.rpartition(".")
        _copy_into(mods[name], name, pname, value)
    return list(mods)


_REF_KEY = re.compile(
    r"^(?:base_model\.model\.)?(?P<module>.+)\.(?P<param>lora_A|lora_B|lora_k|lora_norm_scale)"
    r"(?:\.(?P<adapter>[A-Za-z0-9_]+))?(?:\.weight)?$")


def _read_reference_weights(path: str) -> Dict[str, torch.Tensor]:
    if path.endswith(".safetensors"):
        from safetensors.torch import load_file
        return load_file(path)
    return torch.load(path, map_location="cpu", weights_only=True)


def import_reference_adapter(model: nn.Module, path: str) -> List[str]:
    """Loads an adapter trained by the reference implementation (PEFT fork).
    `path` is its directory (adapter_config.json + adapter_model.safetensors or
    adapter_model.bin) or the weights file inside it. The model is injected
    from adapter_config.json when it has no adapters yet."""
    directory = path if os.path.isdir(path) else os.path.dirname(path)
    if os.path.isdir(path):
        for fname in ("adapter_model.safetensors", "adapter_model.bin"):
            if os.path.exists(os.path.join(path, fname)):
                weights_path = os.path.join(path, fname)
                break
        else:
            raise FileNotFoundError(f"hyplora: no adapter_model.safetensors or .bin in {path}")
    else:
        weights_path = path
    cfg_path = os.path.join(directory, "adapter_config.json")
    if not os.path.exists(cfg_path):
        raise FileNotFoundError(f"hyplora: no adapter_config.json next to {weights_path}")
    with open(cfg_path) as f:
        ref_cfg = HypLoraConfig.from_reference(json.load(f))
    current = getattr(model, CONFIG_ATTR, None)
    if current is None:
        inject(model, ref_cfg)
    else:
        diff = current.differences(ref_cfg, fields=("r", "alpha", "variant", "use_rslora"))
        if diff:
            desc = ", ".join(f"{k}: model {a!r} vs file {b!r}" for k, (a, b) in diff.items())
            raise ValueError(f"hyplora: refusing to import {path}: config differs ({desc})")
    mods = adapter_modules(model)
    tensors = _read_reference_weights(weights_path)
    found: Dict[str, Dict[str, torch.Tensor]] = {}
    unknown = []
    for key, value in tensors.items():
        mt = _REF_KEY.match(key)
        if not mt or mt.group("module") not in mods:
            unknown.append(key)
            continue
        found.setdefault(mt.group("module"), {})[mt.group("param")] = value
    if unknown:
        raise ValueError(f"hyplora: {weights_path} has {len(unknown)} key(s) that match no adapted "
                         f"module of this model, e.g. {unknown[:3]}")
    for name, m in mods.items():
        want = set(_learned_tensors(m))
        have = set(found.get(name, {}))
        if not want <= have:
            raise ValueError(f"hyplora: {weights_path} lacks {sorted(want - have)} for {name}")
    for name, m in mods.items():
        for pname, value in found[name].items():
            target = getattr(m, pname)
            # The reference stores k and s as 0-d tensors; accept [1] as well.
            if pname in ("lora_k", "lora_norm_scale") and value.numel() == 1:
                value = value.reshape(target.shape)
            _copy_into(m, name, pname, value.float())
    return list(mods)
