"""How one contender's training step is timed.

A *step* is ``step(i)``: forward + backward of the adapted layer on input set
``i`` (the gradients of x and of every trainable parameter are computed and
returned, so nothing is skipped by autograd). The harness:

* warms up (the first call, which compiles/autotunes, is timed on its own
  as ``first_call_s``),
* runs ``reps`` steps back to back on the current stream with a CUDA event
  between consecutive steps, so each sample is the step-to-step interval of a
  steady training loop: host launch overhead shows up when the host is the
  bottleneck, exactly as in training,
* rotates through several input sets (``input_sets_for``) so activations are
  not L2-resident (weights of small shapes still are, as for the frozen layer).

On CPU (the dry run) the same loop runs with ``time.perf_counter``.
"""
from __future__ import annotations

import math
import statistics
import time
from typing import Callable

import torch


def input_sets_for(bytes_per_set: int, l2_bytes: int, cuda: bool) -> int:
    """Enough input sets that one rotation moves >= 3x the L2 cache (2..64)."""
    if not cuda:
        return 2
    need = math.ceil(3 * max(l2_bytes, 1) / max(bytes_per_set, 1))
    return max(2, min(64, need))


def summarize(samples_ms: list[float]) -> dict:
    """Median and spread of a list of per-step times (ms)."""
    s = sorted(samples_ms)
    n = len(s)

    def q(p: float) -> float:
        # Linear interpolation between closest ranks.
        pos = p * (n - 1)
        lo, hi = math.floor(pos), math.ceil(pos)
        return s[lo] + (s[hi] - s[lo]) * (pos - lo)

    return {
        "median_ms": statistics.median(s),
        "mean_ms": statistics.fmean(s),
        "min_ms": s[0],
        "max_ms": s[-1],
        "p10_ms": q(0.10),
        "p90_ms": q(0.90),
        "iqr_ms": q(0.75) - q(0.25),
        "reps": n,
    }


def sync(cuda: bool) -> None:
    if cuda:
        torch.cuda.synchronize()


def time_first_call(step: Callable[[int], object], cuda: bool) -> tuple[float, object]:
    """Wall seconds of the very first step (compile + autotune + run), and its result."""
    sync(cuda)
    t0 = time.perf_counter()
    out = step(0)
    sync(cuda)
    return time.perf_counter() - t0, out


def step_samples(step: Callable[[int], object], n_sets: int, reps: int, warmup: int,
                 cuda: bool, first_set: int = 0) -> list[float]:
    """Per-step times (ms) of ``reps`` back-to-back steps after ``warmup`` steps,
    on input sets first_set, first_set + 1, ... (mod n_sets).

    On CUDA the first event is recorded right behind the warm-up steps, with
    no synchronisation between: the timed steps find the queue as a training
    loop does. (A sync there made the first interval of each interleaved
    round a cold-queue one, which cost GPU-bound steps 2-3% in the median:
    `interleave_probe.py`, H100, 2026-11-26.)"""
    for i in range(warmup):
        step((first_set + i) % n_sets)
    if cuda:
        events = [torch.cuda.Event(enable_timing=True) for _ in range(reps + 1)]
        events[0].record()
        for i in range(reps):
            step((first_set + i) % n_sets)
            events[i + 1].record()
        torch.cuda.synchronize()
        return [events[i].elapsed_time(events[i + 1]) for i in range(reps)]
    samples = []
    for i in range(reps):
        t0 = time.perf_counter()
        step((first_set + i) % n_sets)
        samples.append((time.perf_counter() - t0) * 1e3)
    return samples


def time_steps(step: Callable[[int], object], n_sets: int, reps: int, warmup: int,
               cuda: bool) -> dict:
    """Per-step times (ms) of ``reps`` back-to-back steps after ``warmup`` steps."""
    return summarize(step_samples(step, n_sets, reps, warmup, cuda))


def time_interleaved(steps: dict[str, Callable[[int], object]], n_sets: int, reps: int,
                     warmup: int, cuda: bool, rounds: int) -> dict[str, dict]:
    """``reps`` steps of every contender, timed in ``rounds`` interleaved
    rounds (round i: each contender's next reps / rounds steps, after
    ``warmup`` untimed ones), summarised per contender over all its samples.

    The host of a lent VM has slow phases lasting seconds (bench-full a702d95:
    the same frozen step timed 0.108 ms at one point and 0.806 ms at a later
    one): timed one after the other, whichever contender ran in such a phase
    looked slow; interleaved, every contender samples every phase alike, so
    the ratios between them hold."""
    rounds = max(1, min(rounds, reps))
    per_round = [reps // rounds + (1 if i < reps % rounds else 0) for i in range(rounds)]
    samples: dict[str, list[float]] = {name: [] for name in steps}
    done = 0
    for n in per_round:
        for name, step in steps.items():
            samples[name] += step_samples(step, n_sets, n, warmup, cuda, first_set=done)
        done += n
    out = {}
    for name, s in samples.items():
        out[name] = summarize(s)
        out[name]["rounds"] = rounds
    return out


def median_call_us(fn: Callable[[int], object], reps: int, sets: int = 1) -> float:
    """Median us of back-to-back CUDA calls fn(i % sets), 3 warm-up calls:
    the probes' (bench/*_probe.py) single-kernel timing."""
    return time_steps(fn, sets, reps, warmup=3, cuda=True)["median_ms"] * 1000.0


def peak_extra_bytes(step: Callable[[int], object], cuda: bool) -> int | None:
    """Peak allocated bytes above what was allocated before one step.

    Everything the step keeps alive until it returns (activations saved for
    backward, fp32 copies, gradients) counts; memory held before the step
    (weights, input sets, a CUDA graph's private pool) does not.
    """
    if not cuda:
        return None
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    before = torch.cuda.memory_allocated()
    step(0)
    torch.cuda.synchronize()
    return torch.cuda.max_memory_allocated() - before


def measure_ceilings(reps: int = 10) -> dict:
    """The card's two ceilings as measured here (docs/BENCHMARKS.md: datasheet rates are
    only leads): a 1 GiB device-to-device copy (bytes read + written per second) and an
    8192^3 bf16 GEMM (cuBLAS). Our kernels' bandwidth is reported against the first."""
    def median_ms(fn) -> float:
        for _ in range(3):
            fn()
        events = [torch.cuda.Event(enable_timing=True) for _ in range(reps + 1)]
        events[0].record()
        for i in range(reps):
            fn()
            events[i + 1].record()
        torch.cuda.synchronize()
        return statistics.median(events[i].elapsed_time(events[i + 1]) for i in range(reps))

    n = 2**29  # bf16 elements: 1 GiB
    src = torch.randn(n, device="cuda", dtype=torch.float32).to(torch.bfloat16)
    dst = torch.empty_like(src)
    copy_ms = median_ms(lambda: dst.copy_(src))
    del src, dst
    a = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    gemm_ms = median_ms(lambda: a @ b)
    del a, b
    torch.cuda.empty_cache()
    return {"copy_gbps": 2 * 2 * n / (copy_ms * 1e-3) / 1e9, "copy_ms": copy_ms,
            "bf16_gemm_tflops": 2 * 8192**3 / (gemm_ms * 1e-3) / 1e12, "gemm_ms": gemm_ms}
