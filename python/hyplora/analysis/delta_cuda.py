"""The four-point delta on the GPU: a CUDA kernel launched through the JIT runtime.

The kernel (kernels/four_point_delta.cu) and its metadata (kernels/four_point_delta.json,
schema of docs/CONTRACTS.md section 2) are shipped as files; the runtime compiles
them with NVRTC, caches and autotunes them like compiler-emitted kernels.

Launch paths, in order of preference (``launcher_name()`` says which one ran):
1. ``runtime``: the hyplora runtime's Python binding (``hyplora._C``), the
   intended path. All knowledge of that binding's names lives in
   ``_RuntimeLauncher`` so adapting to it is a one-function change.
2. ``nvrtc``: a minimal direct NVRTC + driver launcher (ctypes), so the kernel
   can be checked and timed on a GPU machine where the runtime binding is not
   built. It uses the metadata's default tunables, no autotuning, no cache.
Tuning: every integer kernel parameter is part of the runtime's tuning key
unless the metadata says otherwise. The base window (w_begin, w_count, extent)
moves on every launch, so it is "untuned" (one tuning per n bucket) and the
first launch at a new n is a one-base-point launch, since the tuner times
every candidate config on the launch it is given (on the H100 a full first
window made n = 2048 take 40 s, mostly tuning).

If neither works, callers use the torch implementation in delta.py (also the
oracle the GPU tests compare the kernel against).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import os
from pathlib import Path
from typing import Optional

import torch

_KERNEL_DIR = Path(__file__).resolve().parent / "kernels"
KERNEL_NAME = "hyp_four_point_delta"
# Base points per launch: bounds one launch's duration (n = 4096: ~1/16 of the work).
_BASES_PER_LAUNCH = 256


def kernel_source() -> str:
    return (_KERNEL_DIR / "four_point_delta.cu").read_text()


def kernel_metadata() -> dict:
    return json.loads((_KERNEL_DIR / "four_point_delta.json").read_text())


def _tunable_defaults() -> dict:
    (kernel,) = kernel_metadata()["kernels"]
    return {t["name"]: int(t["default"]) for t in kernel["tunables"]}


class _RuntimeLauncher:
    """Adapter to the runtime's pybind11 binding.

    Expected (docs/CONTRACTS.md section 4, as exposed to Python):
      program = hyplora._C.runtime_load_program(cuda_source: str, metadata_json: str)
      hyplora._C.runtime_launch_kernel(program, kernel: str, args: dict, stream: int)
    where args maps metadata param names to tensors (ptr) or Python numbers.
    """

    name = "runtime"

    def __init__(self):
        from hyplora import _C  # noqa: F401  (ImportError -> unavailable)
        self._C = _C
        load = getattr(_C, "runtime_load_program", None)
        self._launch = getattr(_C, "runtime_launch_kernel", None) or getattr(_C, "runtime_launch", None)
        if load is None or self._launch is None:
            raise RuntimeError("hyplora._C has no runtime_load_program/runtime_launch_kernel")
        self._program = load(kernel_source(), json.dumps(kernel_metadata()))

    def launch(self, args: dict, device: torch.device) -> None:
        stream = torch.cuda.current_stream(device).cuda_stream
        plain = {k: (v.data_ptr() if isinstance(v, torch.Tensor) else v) for k, v in args.items()}
        self._launch(self._program, KERNEL_NAME, plain, stream)


def compile_cubin(arch: str = "sm_90", tunables: Optional[dict] = None) -> bytes:
    """NVRTC-compile the kernel for ``arch`` with the given tunables (default: the
    metadata defaults). Needs libnvrtc only, no GPU: the tests compile every
    tunable combination this way on the build machine."""
    nv = _load_library(["nvrtc"], ["libnvrtc.so", "libnvrtc.so.13", "libnvrtc.so.12"])
    nv.nvrtcGetErrorString.restype = ctypes.c_char_p

    def check(rc: int, what: str) -> None:
        if rc != 0:
            raise RuntimeError(f"{what} failed: {nv.nvrtcGetErrorString(rc).decode()}")

    tunables = _tunable_defaults() if tunables is None else tunables
    prog = ctypes.c_void_p()
    check(nv.nvrtcCreateProgram(ctypes.byref(prog), kernel_source().encode(), b"four_point_delta.cu",
                                0, None, None), "nvrtcCreateProgram")
    try:
        opts = [f"--gpu-architecture={arch}".encode(), b"-default-device", b"--std=c++17"]
        opts += [f"-D{k}={v}".encode() for k, v in tunables.items()]
        rc = nv.nvrtcCompileProgram(prog, len(opts), (ctypes.c_char_p * len(opts))(*opts))
        if rc != 0:
            size = ctypes.c_size_t()
            nv.nvrtcGetProgramLogSize(prog, ctypes.byref(size))
            log = ctypes.create_string_buffer(size.value)
            nv.nvrtcGetProgramLog(prog, log)
            raise RuntimeError(f"NVRTC failed to compile four_point_delta.cu with {tunables}: "
                               f"{log.value.decode(errors='replace')}")
        size = ctypes.c_size_t()
        check(nv.nvrtcGetCUBINSize(prog, ctypes.byref(size)), "nvrtcGetCUBINSize")
        cubin = ctypes.create_string_buffer(size.value)
        check(nv.nvrtcGetCUBIN(prog, cubin), "nvrtcGetCUBIN")
        return cubin.raw
    finally:
        nv.nvrtcDestroyProgram(ctypes.byref(prog))


class _NvrtcLauncher:
    """Direct NVRTC + CUDA driver launch (fallback when the runtime binding is absent)."""

    name = "nvrtc"

    def __init__(self, device: torch.device):
        self._cuda = _load_library(["cuda"], ["libcuda.so.1", "libcuda.so"])
        torch.zeros(1, device=device)                  # makes torch's primary context current
        major, minor = torch.cuda.get_device_capability(device)
        self.tunables = _tunable_defaults()
        cubin = compile_cubin(f"sm_{major}{minor}", self.tunables)
        module = ctypes.c_void_p()
        self._check_cu(self._cuda.cuModuleLoadData(ctypes.byref(module), cubin), "cuModuleLoadData")
        self._function = ctypes.c_void_p()
        self._check_cu(self._cuda.cuModuleGetFunction(ctypes.byref(self._function), module,
                                                      KERNEL_NAME.encode()), "cuModuleGetFunction")
        self._module = module

    def _check_cu(self, rc: int, what: str) -> None:
        if rc != 0:
            msg = ctypes.c_char_p()
            self._cuda.cuGetErrorString(rc, ctypes.byref(msg))
            raise RuntimeError(f"{what} failed: CUDA error {rc} ({(msg.value or b'?').decode()})")

    def launch(self, args: dict, device: torch.device) -> None:
        (kernel,) = kernel_metadata()["kernels"]
        holders = []
        for p in kernel["params"]:
            value = args[p["name"]]
            if p["kind"] == "ptr":
                holders.append(ctypes.c_void_p(value.data_ptr()))
            elif p["kind"] == "i64":
                holders.append(ctypes.c_int64(int(value)))
            elif p["kind"] == "i32":
                holders.append(ctypes.c_int32(int(value)))
            else:
                holders.append(ctypes.c_float(float(value)))
        params = (ctypes.c_void_p * len(holders))(*[ctypes.cast(ctypes.pointer(h), ctypes.c_void_p) for h in holders])
        tile, threads = self.tunables["TILE"], self.tunables["THREADS"]
        blocks = (int(args["extent"]) + tile - 1) // tile
        stream = ctypes.c_void_p(torch.cuda.current_stream(device).cuda_stream)
        self._check_cu(self._cuda.cuLaunchKernel(self._function, ctypes.c_uint(blocks), ctypes.c_uint(blocks),
                                                 ctypes.c_uint(int(args["w_count"])), ctypes.c_uint(threads),
                                                 ctypes.c_uint(1), ctypes.c_uint(1), ctypes.c_uint(0), stream,
                                                 params, None), "cuLaunchKernel")


def _load_library(names, sonames):
    candidates = list(sonames)
    for n in names:
        found = ctypes.util.find_library(n)
        if found:
            candidates.append(found)
    cuda_home = os.environ.get("CUDA_HOME", "/usr/local/cuda")
    candidates += [os.path.join(cuda_home, "lib64", s) for s in sonames]
    errors = []
    for c in candidates:
        try:
            return ctypes.CDLL(c)
        except OSError as e:
            errors.append(str(e))
    raise RuntimeError(f"cannot load {sonames[0]}: {'; '.join(errors[-2:])}")


_launcher = None
_launcher_error: Optional[str] = None


def _get_launcher():
    global _launcher, _launcher_error
    if _launcher is not None or _launcher_error is not None:
        return _launcher
    if not torch.cuda.is_available():
        _launcher_error = "no CUDA device visible to torch"
        return None
    wanted = os.environ.get("HYP_DELTA_LAUNCHER", "auto")   # auto | runtime | nvrtc
    errors = []
    for cls in (_RuntimeLauncher, _NvrtcLauncher):
        if wanted not in ("auto", cls.name):
            continue
        try:
            _launcher = cls() if cls is _RuntimeLauncher else cls(torch.device("cuda"))
            return _launcher
        except Exception as e:  # any failure means: use the next path
            errors.append(f"{cls.name}: {e}")
    _launcher_error = "; ".join(errors) or f"HYP_DELTA_LAUNCHER={wanted} names no launcher"
    return None


def unavailable_reason() -> Optional[str]:
    """None when the kernel can run, else why not (for logs and skip messages)."""
    _get_launcher()
    return None if _launcher is not None else _launcher_error


def launcher_name() -> str:
    return _launcher.name if _launcher is not None else "none"


def four_point_partial_maxima(distances: torch.Tensor, only_base: Optional[int] = None) -> torch.Tensor:
    """Per-base-point maxima from the kernel (float32, on the distances' device).

    only_base=None: entry w is the max over quadruples whose smallest index is
    w, so the max of the result is the exact delta. only_base=w: a one-element
    tensor holding delta_w over all points.
    """
    launcher = _get_launcher()
    if launcher is None:
        raise RuntimeError(f"four-point delta kernel unavailable: {_launcher_error}")
    if distances.dim() != 2 or distances.shape[0] != distances.shape[1]:
        raise ValueError(f"distance matrix must be square, got {tuple(distances.shape)}")
    d = distances.to(torch.float32).contiguous()
    n = d.shape[0]
    device = d.device
    if only_base is not None:
        out = torch.zeros(n, dtype=torch.int32, device=device)
        launcher.launch(dict(D=d, n=n, w_begin=int(only_base), w_count=1, after_base=0, extent=n,
                             out_bits=out), device)
        return out.view(torch.float32)[int(only_base):int(only_base) + 1]
    out = torch.zeros(n, dtype=torch.int32, device=device)
    if n > 3:  # the tuned launch: one base point (its result is part of the answer anyway)
        launcher.launch(dict(D=d, n=n, w_begin=0, w_count=1, after_base=1, extent=n - 1,
                             out_bits=out), device)
    for w0 in range(0, max(0, n - 3), _BASES_PER_LAUNCH):
        count = min(_BASES_PER_LAUNCH, n - 3 - w0)
        launcher.launch(dict(D=d, n=n, w_begin=w0, w_count=count, after_base=1, extent=n - w0 - 1,
                             out_bits=out), device)
    return out.view(torch.float32)
