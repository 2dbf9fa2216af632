"""Does timing contenders in interleaved rounds change their step times?

bench-full 063a746 (interleaved rounds) timed every host-bound contender
1.5-1.8x slower than bench-full a702d95 (one block of 30 steps each) on
another H100 of the same kind. This times the same contenders both ways in
one process, alternating the two methods three times, so the machine is the
same for both: "sequential" = timing.time_steps per contender (the old
method), "interleaved" = timing.time_interleaved (the bench's now). One JSON
line per (method, repeat, contender, point).

    python3 bench/interleave_probe.py --points "4096 4096 1024;4096 4096 8192"
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench import timing  # noqa: E402
from bench.contenders import (FrozenEager, HyploraContender, PeftLoraEager,  # noqa: E402
                              standalone_setup)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--points", default="4096 4096 1024;4096 4096 8192", help="'K N M;...'")
    p.add_argument("--reps", type=int, default=30)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--repeats", type=int, default=3)
    a = p.parse_args()
    if not torch.cuda.is_available():
        print("interleave_probe: needs a CUDA device (skipped)")
        return 0
    import hyplora
    for point in a.points.split(";"):
        K, N, M = (int(v) for v in point.split())
        ctx, data, xs, dys = standalone_setup(K, N, M, 32, 4, torch.device("cuda"), hyplora)
        steps = {}
        for c in (FrozenEager(), PeftLoraEager(), HyploraContender("hyplora", "reference", True)):
            c.available(ctx)
            steps[c.name] = c.build(data, ctx).make_step(xs, dys)
            timing.time_first_call(steps[c.name], True)
        for rep in range(a.repeats):
            seq = {n: timing.time_steps(s, len(xs), a.reps, a.warmup, True) for n, s in steps.items()}
            inter = timing.time_interleaved(steps, len(xs), a.reps, a.warmup, True, a.rounds)
            for method, res in (("sequential", seq), ("interleaved", inter)):
                for name, r in res.items():
                    print(json.dumps({"K": K, "N": N, "M": M, "method": method, "repeat": rep,
                                      "contender": name, "median_ms": r["median_ms"],
                                      "p10_ms": r["p10_ms"], "p90_ms": r["p90_ms"]}), flush=True)
        del steps, data, xs, dys
        torch.cuda.empty_cache()
    return 0


if __name__ == "__main__":
    sys.exit(main())
