"""Parent side of the fresh-process measurements (see bench/child.py).

Each child gets its own HYP_CACHE_DIR: an empty one for the cold first call
(which then serves, warm, the 30-layer load), another empty one with
HYP_AUTOTUNE=0 for the untuned comparison. Children print their autotune
lines too (HYP_PRINT_AUTOTUNING=1); those are kept with the result, with the
runtime's compile pools parsed out of them, and the host's CPU time split
(/proc/stat) over the child's life: on the GPU machine the same pool of ~20
NVRTC compiles took 1.2 s or 6-9 s from run to run (docs/KERNELS.md), and
steal time is the first suspect.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

from bench import autotune_log
from bench.child import MARK
from bench.shapes import LLAMA3_8B, SMOLLM2_135M

CHILD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "child.py")


def _dir_bytes(path: str) -> tuple[int, int]:
    files = total = 0
    for root, _, names in os.walk(path):
        for n in names:
            try:
                total += os.path.getsize(os.path.join(root, n))
                files += 1
            except OSError:
                pass
    return files, total


_POOL_RE = re.compile(r"hyprt: precompiled (\d+) configs \((\d+) NVRTC runs\) in ([0-9.]+) ms: "
                      r"([0-9.]+) ms summed, longest ([0-9.]+) ms"
                      r"(?:; NVRTC (\S+) (\S+), (\d+) threads)?")


def parse_compile_pools(lines: list[str]) -> list[dict]:
    """The runtime's precompile pools that compiled something (HYP_PRINT_AUTOTUNING)."""
    pools = []
    for line in lines:
        m = _POOL_RE.search(line)
        if m and int(m.group(2)) > 0:
            pool = {"configs": int(m.group(1)), "nvrtc_runs": int(m.group(2)),
                    "wall_ms": float(m.group(3)), "summed_ms": float(m.group(4)),
                    "longest_ms": float(m.group(5))}
            if m.group(6):  # which NVRTC library, how many pool threads
                pool.update(nvrtc=m.group(6), nvrtc_path=m.group(7), threads=int(m.group(8)))
            pools.append(pool)
    return pools


def cpu_times(stat_path: str = "/proc/stat") -> list[int] | None:
    """The host's cumulative CPU times (user nice system idle iowait irq softirq
    steal), or None where /proc/stat is not there."""
    try:
        with open(stat_path) as f:
            fields = f.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu":
        return None
    return [int(v) for v in fields[1:9]] + [0] * max(0, 8 - len(fields[1:9]))


def cpu_split(before: list[int] | None, after: list[int] | None) -> dict | None:
    """Percent of all CPUs' time between two cpu_times() samples: busy, idle, steal."""
    if not before or not after:
        return None
    d = [b - a for a, b in zip(before, after)]
    total = sum(d)
    if total <= 0:
        return None
    idle = d[3] + d[4]
    return {"busy_pct": 100.0 * (total - idle - d[7]) / total, "idle_pct": 100.0 * idle / total,
            "steal_pct": 100.0 * d[7] / total}


def run_child(mode: str, payload: dict, env_extra: dict, timeout_s: float) -> dict:
    env = dict(os.environ)
    env.update(env_extra)
    t0 = time.perf_counter()
    cpu0 = cpu_times()
    try:
        proc = subprocess.run([sys.executable, CHILD, mode, json.dumps(payload)], env=env,
                              capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return {"status": "error", "reason": f"child {mode!r} ran over {timeout_s:.0f} s"}
    wall = time.perf_counter() - t0
    result = None
    for line in proc.stdout.splitlines():
        if line.startswith(MARK):
            result = json.loads(line[len(MARK):])
    if result is None:
        tail = (proc.stderr or proc.stdout)[-1500:]
        result = {"status": "error", "reason": f"child {mode!r} exited {proc.returncode} without a result: {tail}"}
    result["process_wall_s"] = wall
    other = [l for l in (proc.stdout + "\n" + proc.stderr).splitlines()
             if l.strip() and not l.startswith(MARK)]
    result["autotune_lines"] = [l for l in other if autotune_log.mentions_tuning(l)]
    result["output_tail"] = [l for l in other if not autotune_log.mentions_tuning(l)][-40:]
    result["compile_pools"] = parse_compile_pools(other)
    result["host_cpu"] = cpu_split(cpu0, cpu_times())
    return result


def run_cold_start(r: int = 32, warm_layers: int = 30, batch: int = 4, seq: int = 256,
                   timeout_s: float = 240.0, tiny: bool = False) -> dict:
    cache = tempfile.mkdtemp(prefix="hyp-bench-cold-")
    os.chmod(cache, 0o700)
    env = {"HYP_CACHE_DIR": cache, "HYP_PRINT_AUTOTUNING": "1"}
    M = batch * seq
    if tiny:
        shapes = [[72, 72, 8, 16]]
        stack = dict(size="tiny", layers=2, batch=2, seq=8, r=8)
    else:
        first = LLAMA3_8B[0]
        # The LLaMA shape is the timed "new shape"; the SmolLM2 shapes after
        # it fill the cache that the warm-load process then reads.
        shapes = [[first.K, first.N, r, 1024]] + [[s.K, s.N, r, M] for s in SMOLLM2_135M]
        stack = dict(size="smollm2-135m", layers=warm_layers, batch=batch, seq=seq, r=r)
    try:
        cold = run_child("first-call", {"shapes": shapes, "variant": "hyplora",
                                        "convention": "reference"}, env, timeout_s)
        files_after_cold = _dir_bytes(cache)
        warm = run_child("warm-load", stack, env, timeout_s)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    return {"first_call": cold, "warm_load": warm,
            "cache_after_cold": {"files": files_after_cold[0], "bytes": files_after_cold[1]}}


def run_untuned(points: list[list[int]], reps: int, warmup: int, l2_bytes: int,
                timeout_s: float = 240.0) -> dict:
    cache = tempfile.mkdtemp(prefix="hyp-bench-untuned-")
    os.chmod(cache, 0o700)
    try:
        return run_child("untuned", {"points": points, "variant": "hyplora", "convention": "reference",
                                     "reps": reps, "warmup": warmup, "l2_bytes": l2_bytes},
                         {"HYP_CACHE_DIR": cache, "HYP_AUTOTUNE": "0"}, timeout_s)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
