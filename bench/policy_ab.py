"""Two programs (or entries) of one layer shape side by side, in one process.

An environment switch the JIT reads per call picks what runs: HYP_DY_PASS
(the backward's one pass over dY, `one`, against its two passes, `two`; the
JIT keys programs by it) or HYP_FWD_UP_STORE (the forward writing y = B w and
letting cuBLAS add x W^T after, `store`, against cuBLAS first and the adapter
adding into y, `add`; both entries are in every program). Per "K N M" case it
reports the tuned fwd + bwd step of each policy (CUDA events, interleaved
rounds, median, the same buffers; the frozen GEMMs are in every step) and each
kernel's device time per step (torch.profiler), so the difference is seen
kernel by kernel.

    python3 bench/policy_ab.py --switch dy-pass --cases "4096 4096 8192" --out ab.json
    python3 bench/policy_ab.py --switch fwd-up-store --out ab.json
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench.same_process import add_case_arguments, hyplora_steps, kernels_per_step, write_report  # noqa: E402
from bench.timing import time_interleaved  # noqa: E402

# switch -> (environment variable, {policy name: value}); the first policy
# is the default's.
SWITCHES = {"dy-pass": ("HYP_DY_PASS", {"one": "1", "two": "0"}),
            "fwd-up-store": ("HYP_FWD_UP_STORE", {"store": "1", "add": "0"})}


def policy_steps(step, switch: str = "dy-pass") -> dict:
    """One step callable per policy: each sets the switch's variable before it
    runs, so the JIT looks up (and on first use compiles and tunes) that
    program or entry."""
    var, policies = SWITCHES[switch]

    def under(policy: str):
        def run(i: int):
            os.environ[var] = policies[policy]
            return step(i)
        return run
    return {name: under(name) for name in policies}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--switch", default="dy-pass", choices=sorted(SWITCHES))
    p.add_argument("--variant", default="hyplora", choices=["hyplora", "lora"])
    add_case_arguments(p, "4096 4096 8192;4096 14336 8192;14336 4096 8192;4096 1024 8192;4096 4096 1024",
                       profile_steps=5)
    a = p.parse_args()
    if not torch.cuda.is_available():
        print("policy_ab: needs a CUDA device (skipped)")
        return 0
    results = []
    for K, N, M, step in hyplora_steps(a.cases, a.r, a.variant):
        steps = policy_steps(step, a.switch)
        for name, s in steps.items():  # compile + tune each program
            for i in range(3):
                s(i % 2)
        times = time_interleaved(steps, 2, a.reps, 3, True, a.rounds)
        kernels = {name: {k: v["us"] for k, v in kernels_per_step(s, a.profile_steps).items()}
                   for name, s in steps.items()}
        row = {"switch": a.switch, "K": K, "N": N, "M": M, "r": a.r, "variant": a.variant,
               "step_median_ms": {n: t["median_ms"] for n, t in times.items()},
               "step_p10_ms": {n: t["p10_ms"] for n, t in times.items()},
               "step_p90_ms": {n: t["p90_ms"] for n, t in times.items()},
               "kernel_us_per_step": kernels,
               "ours_us_per_step": {n: round(sum(k.values()), 1) for n, k in kernels.items()}}
        results.append(row)
        print(json.dumps(row), flush=True)
        del step, steps  # (the case's buffers go before the next case is built)
    os.environ.pop(SWITCHES[a.switch][0], None)
    write_report(a.out, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
