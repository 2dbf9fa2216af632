"""What the same-process comparisons of one layer share (bench/policy_ab.py,
bench/graph_probe.py): their command-line arguments, one tuned-to-be hyplora
step per "K N M" case on rotating buffers, each hyp_ kernel's profiled time,
and the JSON report. Comparing inside one process keeps the machine-to-machine
spread (the host, the card's clocks) out of the difference."""
from __future__ import annotations

import argparse
import json
import os
from typing import Callable, Iterator

import torch

from bench.contenders import HyploraContender, standalone_setup


def add_case_arguments(p: argparse.ArgumentParser, cases: str, profile_steps: int) -> None:
    p.add_argument("--cases", default=cases, help="';'-separated 'K N M' layer shapes")
    p.add_argument("--r", type=int, default=32)
    p.add_argument("--reps", type=int, default=60)
    p.add_argument("--rounds", type=int, default=6)
    p.add_argument("--profile-steps", type=int, default=profile_steps)
    p.add_argument("--out", default=None)


def hyplora_steps(cases: str, r: int, variant: str = "hyplora"
                  ) -> Iterator[tuple[int, int, int, Callable[[int], object]]]:
    """(K, N, M, step) per case: the bench's eager fwd + bwd step of the layer on
    two rotating input sets (step(i) runs set i % 2), reference convention on
    tensor cores; its buffers are freed before the next case is built."""
    import hyplora
    for case in cases.split(";"):
        K, N, M = (int(v) for v in case.split())
        ctx, data, xs, dys = standalone_setup(K, N, M, r, 2, torch.device("cuda"), hyplora)
        c = HyploraContender(variant, "reference", tensor_cores=True)
        c.available(ctx)
        yield K, N, M, c.build(data, ctx).make_step(xs, dys)
        del ctx, data, xs, dys, c
        torch.cuda.empty_cache()


def kernels_per_step(step: Callable[[int], object], steps: int) -> dict[str, dict[str, float]]:
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


def write_report(path: str | None, results: list) -> None:
    if path:
        with open(path, "w") as f:
            json.dump({"device": torch.cuda.get_device_name(),
                       "commit": os.environ.get("HYP_COMMIT", "unknown"),
                       "torch": torch.__version__, "results": results}, f, indent=1)
