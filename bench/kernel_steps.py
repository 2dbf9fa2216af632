"""Runs training steps of one adapted projection for an outside profiler.

The first steps compile and tune (untouched by the profiler); then the CUDA
profiler range opens, so `ncu --profile-from-start off` sees only kernels of
tuned steps (scripts/gpu_session.sh, stage `ncu`).

    ncu --profile-from-start off -k regex:hyp_fwd_down python3 bench/kernel_steps.py --K 4096 --N 4096 --M 8192

With --time-reps N it also times N tuned steps (CUDA events, median) and
prints one JSON line; with --row-split-cols it compiles under that split-K
policy (HYP_ROW_SPLIT_COLS): scripts/gpu_session.sh stage `split` compares
the policies this way, with HYP_PRINT_AUTOTUNING=1 listing every kernel's
tuned candidates.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench.contenders import HyploraContender, standalone_setup  # noqa: E402
from bench.timing import time_steps  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--K", type=int, default=4096)
    p.add_argument("--N", type=int, default=4096)
    p.add_argument("--M", type=int, default=8192)
    p.add_argument("--r", type=int, default=32)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--variant", default="hyplora", choices=["hyplora", "lora"],
                   help="adapter variant (reference convention)")
    p.add_argument("--row-split-cols", default=None,
                   help="HYP_ROW_SPLIT_COLS for the compile (split-K policy; default: the compiler's)")
    p.add_argument("--time-reps", type=int, default=0,
                   help="then time this many tuned steps and print a JSON line")
    a = p.parse_args()
    if a.row_split_cols is not None:
        os.environ["HYP_ROW_SPLIT_COLS"] = a.row_split_cols
    if not torch.cuda.is_available():
        print("kernel_steps: needs a CUDA device (skipped)")
        return 0
    import hyplora
    ctx, data, xs, dys = standalone_setup(a.K, a.N, a.M, a.r, 2, torch.device("cuda"), hyplora)
    c = HyploraContender(a.variant, "reference", tensor_cores=True)
    c.available(ctx)
    step = c.build(data, ctx).make_step(xs, dys)
    for i in range(3):  # compile + tune outside the profiled range
        step(i % 2)
    torch.cuda.synchronize()
    torch.cuda.cudart().cudaProfilerStart()
    for i in range(a.steps):
        step(i % 2)
    torch.cuda.synchronize()
    torch.cuda.cudart().cudaProfilerStop()
    if a.time_reps > 0:
        t = time_steps(step, 2, a.time_reps, 5, True)
        print(json.dumps({"K": a.K, "N": a.N, "M": a.M, "r": a.r, "variant": a.variant,
                          "row_split_cols": a.row_split_cols or "auto",
                          "step_median_ms": t["median_ms"], "step_p10_ms": t["p10_ms"],
                          "step_p90_ms": t["p90_ms"], "reps": t["reps"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
