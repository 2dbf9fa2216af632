"""Our training step eager and replayed from CUDA graphs, in one process: per kernel.

The bench-full at eac30b4 profiled more of our kernels' device time in the graphed
step than in the eager one (M = 8192: 268 vs 235 us at 4096x4096, 703 vs 514 at
4096 -> 14336), although the graphs are captured after eager steps have tuned every
kernel and the forward order. This probe builds both steps of one layer on the same
buffers (the graphed one exactly as the bench's `*_graphed` contenders:
bench.contenders.graphed_step), times them interleaved, and reports each hyp_ kernel's
device time and launch count per step under torch.profiler, so a difference shows
which kernel it is in (a different tuned config, a different forward entry, an extra
launch) or that none differs (the profiler's attribution, or the timing).

    python3 bench/graph_probe.py --cases "4096 4096 8192;4096 14336 8192" --out probe.json
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench.contenders import HyploraContender, graphed_step, standalone_setup  # noqa: E402
from bench.timing import time_interleaved  # noqa: E402


def kernels_per_step(step, steps: int) -> dict[str, dict[str, float]]:
    """Device us and launches per step of each hyp_ kernel (torch.profiler)."""
    from torch.profiler import ProfilerActivity, profile
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        for i in range(steps):
            step(i % 2)
        torch.cuda.synchronize()
    out = {}
    for e in prof.key_averages():
        if e.device_type.name == "CUDA" and e.key.startswith("hyp_"):
            out[e.key] = {"us": round(e.self_device_time_total / steps, 2),
                          "launches": round(e.count / steps, 2)}
    return dict(sorted(out.items()))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cases", default="4096 4096 8192;4096 14336 8192;4096 4096 1024")
    p.add_argument("--r", type=int, default=32)
    p.add_argument("--reps", type=int, default=60)
    p.add_argument("--rounds", type=int, default=6)
    p.add_argument("--profile-steps", type=int, default=6)
    p.add_argument("--out", default=None)
    a = p.parse_args()
    if not torch.cuda.is_available():
        print("graph_probe: needs a CUDA device (skipped)")
        return 0
    import hyplora
    results = []
    for case in a.cases.split(";"):
        K, N, M = (int(v) for v in case.split())
        ctx, data, xs, dys = standalone_setup(K, N, M, a.r, 2, torch.device("cuda"), hyplora)
        c = HyploraContender("hyplora", "reference", tensor_cores=True)
        c.available(ctx)
        eager = c.build(data, ctx).make_step(xs, dys)
        for i in range(3):  # compile, tune the kernels and the forward order
            eager(i % 2)
        # Captured after the eager steps, as in the bench (which runs its eager
        # contender of the same shape first in the same process).
        steps = {"eager": eager, "graphed": graphed_step(eager, len(xs))}
        times = time_interleaved(steps, 2, a.reps, 3, True, a.rounds)
        kernels = {name: kernels_per_step(s, a.profile_steps) for name, s in steps.items()}
        row = {"K": K, "N": N, "M": M, "r": a.r,
               "step_median_ms": {n: t["median_ms"] for n, t in times.items()},
               "kernels_per_step": kernels,
               "ours_us_per_step": {n: round(sum(v["us"] for v in k.values()), 1)
                                    for n, k in kernels.items()},
               "forward_orders": hyplora.jit.forward_orders()}
        results.append(row)
        print(json.dumps(row), flush=True)
        del steps, eager, xs, dys, data
        torch.cuda.empty_cache()
    if a.out:
        with open(a.out, "w") as f:
            json.dump({"device": torch.cuda.get_device_name(), "commit": os.environ.get("HYP_COMMIT", "unknown"),
                       "torch": torch.__version__, "results": results}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
