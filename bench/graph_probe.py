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
from bench.contenders import graphed_step  # noqa: E402
from bench.same_process import add_case_arguments, hyplora_steps, kernels_per_step, write_report  # noqa: E402
from bench.timing import time_interleaved  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_case_arguments(p, "4096 4096 8192;4096 14336 8192;4096 4096 1024", profile_steps=6)
    a = p.parse_args()
    if not torch.cuda.is_available():
        print("graph_probe: needs a CUDA device (skipped)")
        return 0
    import hyplora
    results = []
    for K, N, M, eager in hyplora_steps(a.cases, a.r):
        for i in range(3):  # compile, tune the kernels and the forward order
            eager(i % 2)
        # Captured after the eager steps, as in the bench (which runs its eager
        # contender of the same shape first in the same process).
        steps = {"eager": eager, "graphed": graphed_step(eager, 2)}
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
        del steps, eager  # (the case's buffers go before the next case is built)
    write_report(a.out, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
