"""hyplora: hyperbolic low-rank fine-tuning (HypLoRA) with JIT-compiled kernels.

    import hyplora
    cfg = hyplora.HypLoraConfig(r=32, alpha=128, target_modules=["q_proj", "v_proj"])
    hyplora.inject(model, cfg)                 # nn.Linear -> HypLoRALinear, rest frozen
    count, names = hyplora.trainable_parameters(model)
    ... train ...
    hyplora.save_adapter(model, "out/adapter")
    hyplora.load_adapter(fresh_model, "out/adapter")

Importing loads the native op library (hyplora._C); on a machine without a GPU
the ops run their CPU reference. See docs/CONTRACTS.md for the op schemas.
"""
from . import reference
from .config import HypLoraConfig

try:
    from . import ops
except ImportError as _e:  # native library not built: pure-Python parts stay importable
    _NATIVE_ERROR = _e
else:
    _NATIVE_ERROR = None
    from . import jit
    from .adapter_io import import_reference_adapter, load_adapter, save_adapter
    from .model import adapter_modules, inject, merge, trainable_parameters
    from .modules import HypLoRALinear
    from .ops import adapted_linear

__all__ = [
    "HypLoraConfig", "HypLoRALinear", "adapted_linear", "adapter_modules", "import_reference_adapter",
    "inject", "jit", "load_adapter", "merge", "ops", "reference", "save_adapter",
    "trainable_parameters",
]


def __getattr__(name):
    if _NATIVE_ERROR is not None and name in __all__:
        raise ImportError(f"hyplora.{name} needs the native op library: {_NATIVE_ERROR}")
    raise AttributeError(f"module 'hyplora' has no attribute {name!r}")
