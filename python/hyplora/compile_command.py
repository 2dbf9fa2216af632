"""`hyplora compile`: what the JIT compiles for one adapted layer, without a GPU.

The CUDA ops compile each layer shape with libhypc on first use; this command runs
the same compile (the same options: HYP_TENSOR_CORES, HYP_ROW_SPLIT_COLS, HYP_DY_PASS
and their defaults, unless --options says otherwise) and prints the programs' kernels
in launch order with their tunables. --dump DIR writes what libhypc's HYP_DUMP_DIR
writes: every pipeline stage's IR, the CUDA source, the metadata JSON and replay.sh,
the hyp-opt / hyp-translate command lines that redo the compile.
"""
from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from .cli import CONVENTIONS, VARIANTS, _positive_int

DTYPES = ("bf16", "f16", "f32")


def add_compile_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--variant", choices=VARIANTS, default="hyplora")
    parser.add_argument("--convention", choices=CONVENTIONS, default="reference")
    parser.add_argument("--dtype", choices=DTYPES, default="bf16",
                        help="activation dtype (bf16 runs on tensor cores by default)")
    parser.add_argument("--in-features", type=_positive_int, required=True, help="K")
    parser.add_argument("--out-features", type=_positive_int, required=True, help="N")
    parser.add_argument("--rank", type=_positive_int, required=True, help="r")
    parser.add_argument("--max-sinh-arg", type=float, default=12.0)
    parser.add_argument("--options", default=None,
                        help="libhypc options (default: what the JIT uses now, from "
                             "HYP_TENSOR_CORES / HYP_ROW_SPLIT_COLS / HYP_DY_PASS)")
    parser.add_argument("--dump", type=Path, default=None, metavar="DIR",
                        help="write the stages' IR, the CUDA, the metadata and replay.sh here")


def _tunables(kernel: dict) -> str:
    parts = []
    for t in kernel.get("tunables", []):
        values = ",".join(str(v) for v in t["values"])
        parts.append(f"{t['name']}={{{values}}}" + (f" (default {t['default']})"
                                                     if len(t["values"]) > 1 else ""))
    return "; ".join(parts) if parts else "no tunables"


def describe(metadata: dict, options: str) -> str:
    """The compile's programs and kernels, one line each."""
    a = metadata["adapter"]
    lines = [f"{a['variant']}/{a['convention']} {a['act_dtype']}, K={a['K']} N={a['N']} r={a['r']} "
             f"({metadata.get('compiler', '?')}, options '{options}')"]
    width = max(len(p) for p in metadata["programs"])
    for program, kernels in sorted(metadata["programs"].items()):
        lines.append(f"{program + ':':<{width + 1}} {', '.join(kernels)}")
    lines.append("kernels:")
    for k in metadata["kernels"]:
        smem = k.get("dynamic_smem")
        lines.append(f"  {k['name']}: {_tunables(k)}"
                     + (f"; dynamic smem {smem}" if isinstance(smem, int) and smem else ""))
    return "\n".join(lines)


def run_compile(args) -> int:
    from . import jit
    if not jit.compiled_in():
        raise ValueError("this build of hyplora has no compiler (libhypc): nothing to compile")
    options = jit.compile_options() if args.options is None else args.options
    previous = os.environ.get("HYP_DUMP_DIR")
    if args.dump is not None:
        args.dump.mkdir(parents=True, exist_ok=True)
        os.environ["HYP_DUMP_DIR"] = str(args.dump)  # libhypc reads it at compile time
    try:
        out = jit.compile_adapter(args.variant, args.convention, args.dtype, args.in_features,
                                  args.out_features, args.rank, args.max_sinh_arg,
                                  options=options or None)
    finally:
        if args.dump is not None:
            if previous is None:
                os.environ.pop("HYP_DUMP_DIR", None)
            else:
                os.environ["HYP_DUMP_DIR"] = previous
    if not out["ok"]:
        raise ValueError(f"libhypc could not compile this layer: {out['error']}")
    print(describe(json.loads(out["metadata_json"]), options))
    if args.dump is not None:
        files = sorted(p.name for p in args.dump.iterdir())
        print(f"dump: {args.dump} ({', '.join(files)}); sh replay.sh there redoes the compile "
              "with hyp-opt / hyp-translate")
    return 0
