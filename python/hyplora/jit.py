"""Compiler and runtime controls (the JIT behind the CUDA ops).

Thin Python names over hyplora._C: compile an adapter or hyp IR with libhypc,
inspect/clear the kernel cache, set the autotuning mode, switch the JIT path
of the CUDA ops on/off. In a build without libhypc/libhyprt the compile and
cache functions raise RuntimeError saying so; `available()` is then False.
"""
from __future__ import annotations

from typing import Dict, List, Optional

from . import ops  # noqa: F401  (loads the native library)

try:
    from . import _C
except ImportError:  # only the op library was loadable
    _C = None


def _c():
    if _C is None:
        raise RuntimeError("hyplora._C is not built for this Python: the JIT controls are "
                           "unavailable (the ops still run through the op library)")
    return _C


def compiled_in() -> bool:
    """True when this build links the compiler and the runtime."""
    return _C is not None and _C.jit_compiled_in()


def unavailable_reason() -> str:
    """'' when CUDA calls go through the JIT, else why not."""
    if _C is None:
        return "hyplora._C is not built"
    return _C.jit_unavailable_reason()


def available() -> bool:
    return compiled_in() and unavailable_reason() == ""


def set_enabled(enabled: bool) -> None:
    """Route CUDA calls through the JIT (True) or the ATen reference (False)."""
    _c().set_jit_enabled(bool(enabled))


def loaded_programs() -> List[str]:
    return list(_c().jit_loaded_programs())


def forward_orders() -> List[str]:
    """Per program and M bucket, which side of the frozen GEMM the adapter took
    (tuned on the first call: 'add' after it, or 'store' before it so cuBLAS adds
    x W^T with beta = 1) and the median times it was chosen on."""
    return list(_c().jit_forward_orders())


def compile_options() -> str:
    """The libhypc options the JIT compiles layers with now, e.g. 'tensor-cores=1'
    (HYP_TENSOR_CORES, HYP_ROW_SPLIT_COLS, HYP_DY_PASS and their defaults)."""
    return str(_c().jit_compile_options())


def clear_programs() -> None:
    _c().jit_clear_programs()


def counters() -> Dict[str, int]:
    return dict(_c().jit_counters())


def compile_adapter(variant: str, convention: str, act_dtype: str, in_features: int,
                    out_features: int, rank: int, max_sinh_arg: float = 12.0,
                    options: Optional[str] = None) -> Dict[str, object]:
    """libhypc hypc_compile_adapter: dict(ok, error, cuda_source, metadata_json, input_ir)."""
    return _c().compile_adapter(variant, convention, act_dtype, in_features, out_features, rank,
                                max_sinh_arg, options)


def compile_ir(ir_text: str, options: Optional[str] = None) -> Dict[str, object]:
    """libhypc hypc_compile_ir on hyp IR text."""
    return _c().compile_ir(ir_text, options)


def compiler_version() -> str:
    return _c().compiler_version()


def cache_dir() -> str:
    return _c().cache_dir()


def cache_stats(directory: str = "") -> Dict[str, object]:
    return dict(_c().cache_stats(directory))


def clear_cache(directory: str = "") -> None:
    _c().clear_cache(directory)


def autotune_mode() -> str:
    return _c().autotune_mode()


def set_autotune_mode(mode: str) -> None:
    """'0' | '1' | 'exhaustive' (as HYP_AUTOTUNE)."""
    _c().set_autotune_mode(str(mode))


def set_print_autotuning(enabled: bool) -> None:
    _c().set_print_autotuning(bool(enabled))
