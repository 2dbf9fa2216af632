"""Where the host time of one adapted-layer training step goes (GPU machine).

At M = 1024 the bench measured steps of 1.3-1.4 ms whose kernels (ours and
cuBLAS) take 0.4-0.6 ms: the GPU idles while the host prepares the next
launch. This profiles that step as the bench times it (forward + backward of
one HypLoRALinear, bf16, the default kernel family) under torch.profiler and
writes, per contender: the step's wall time, the device time of its kernels,
the idle gap, and the host operators ranked by self CPU time, so the next
optimisation of the host path starts from a measurement.

torch.profiler inflates every host event it records, so it ranks but does not
weigh. The `issue_us` breakdown weighs without it: the host time of one call
(time.perf_counter around it, the GPU synchronised before each, so nothing
waits on the launch queue), median of many, for the layer's forward, its
backward (autograd.grad) and, for ours, the two torch.ops called directly
(forward with and without autograd, backward): module + Python, the autograd
Function and the op's own C++ (checks, allocations, launches) apart. `b2b_us`
weighs the same parts issued back to back, as a training loop issues them
(b2b_breakdown), plus the backward of one retained graph (the engine alone).

    python3 bench/host_profile.py --out DIR [--K 4096 --N 1024 --M 1024 --r 32]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import torch
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench.contenders import (FrozenEager, HyploraContender, PeftLoraEager,  # noqa: E402
                              kernel_family, standalone_setup)


def profile_step(step, n_sets: int, steps: int, trace: str | None = None) -> dict:
    for i in range(10):  # compile, tune, warm the caching allocator
        step(i % n_sets)
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for i in range(steps):
        step(i % n_sets)
    torch.cuda.synchronize()
    wall_ms = (time.perf_counter() - t0) * 1e3 / steps
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        for i in range(steps):
            step(i % n_sets)
        torch.cuda.synchronize()
    if trace:  # every event with its thread and time: where a step's host time goes
        prof.export_chrome_trace(trace)
    events = prof.key_averages()
    device_us = sum(e.self_device_time_total for e in events if e.device_type.name == "CUDA")
    host = sorted((e for e in events if e.device_type.name == "CPU"),
                  key=lambda e: e.self_cpu_time_total, reverse=True)
    # The kernels too: at large M the step is device bound, and the GPU time
    # not spent in our kernels or the frozen GEMMs is what to look for.
    device = sorted((e for e in events if e.device_type.name == "CUDA"),
                    key=lambda e: e.self_device_time_total, reverse=True)
    return {
        "step_wall_ms": wall_ms,
        "kernels_ms_per_step": device_us / 1e3 / steps,
        "idle_ms_per_step": wall_ms - device_us / 1e3 / steps,
        "launches_per_step": sum(e.count for e in events if e.key in ("cudaLaunchKernel", "cuLaunchKernel",
                                                                         "cuLaunchKernelEx")) / steps,
        "host_ops": [{"op": e.key, "calls_per_step": e.count / steps,
                      "self_cpu_us_per_step": e.self_cpu_time_total / steps}
                     for e in host[:30]],
        "device_ops": [{"kernel": e.key[:160], "calls_per_step": e.count / steps,
                        "device_us_per_step": e.self_device_time_total / steps}
                       for e in device[:20]],
    }


def median_issue_us(call, n_sets: int, reps: int, before=None) -> float:
    """Host time of `call(i)` with an idle GPU, microseconds, median of reps.
    `before(i)` (untimed) prepares what the call needs, e.g. the forward
    whose graph a backward consumes."""
    times = []
    for i in range(reps):
        arg = before(i % n_sets) if before else i % n_sets
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        call(arg)
        times.append((time.perf_counter() - t0) * 1e6)
    torch.cuda.synchronize()
    times.sort()
    return times[len(times) // 2]


def back_to_back_us(call, n_sets: int, reps: int) -> float:
    """Host microseconds per call of `call(i)` issued back to back (no
    synchronisation between calls: the launch queue in a steady state, as in
    a training loop), the mean over reps calls after a few warm-up ones. A
    sync before every call (median_issue_us) also times the wake-up of the
    autograd engine's device thread and a cold CPU, which a training loop
    does not pay; this one does not see a call's own latency behind the
    queue. At small M the GPU work per call is far below its host time, so
    this is the host's rate."""
    for i in range(5):
        call(i % n_sets)
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for i in range(reps):
        call(i % n_sets)
    elapsed = time.perf_counter() - t0
    torch.cuda.synchronize()
    return elapsed * 1e6 / reps


class StepParts:
    """The calls the breakdowns time, on input set i: the layer's step and
    forward and, for ours, the two torch ops called directly."""

    def __init__(self, module, params: list, xs: list, dys: list):
        self.module, self.params, self.xs, self.dys = module, params, xs, dys

    def grads(self, y, i: int, **kw):
        return torch.autograd.grad(y, [self.xs[i], *self.params], self.dys[i], allow_unused=True,
                                   **kw)

    def forward(self, i: int):
        return self.module(self.xs[i])

    def step(self, i: int):
        return self.grads(self.forward(i), i)

    def op_args(self, i: int) -> tuple:
        m, base = self.module, self.module.base_layer
        return (self.xs[i], self.xs[i], base.weight, base.bias, m.lora_A, m.lora_B, m.lora_k,
                m.lora_norm_scale, float(m.scaling), m.variant, m.convention, float(m.max_sinh_arg))

    def op_forward(self, i: int):
        return torch.ops.hyplora.adapter_forward.default(*self.op_args(i))

    def op_times(self, timer, reps: int) -> dict:
        """Our two ops called directly, timed by timer(call, n_sets, reps)."""
        n = len(self.xs)
        out = {"op_forward_autograd": timer(self.op_forward, n, reps)}
        with torch.no_grad():
            out["op_forward_no_grad"] = timer(self.op_forward, n, reps)
            saved = [self.op_forward(i) for i in range(n)]
            a = self.op_args(0)
            bwd = torch.ops.hyplora.adapter_backward.default
            out["op_backward"] = timer(
                lambda i: bwd(self.dys[i], self.xs[i], self.xs[i], a[2], a[4], a[5], a[6], a[7],
                              saved[i][1], saved[i][2], a[8], a[9], a[10], a[11], [True, False]),
                n, reps)
        return out


def b2b_breakdown(parts: StepParts, ours: bool, reps: int) -> dict:
    """Back-to-back host microseconds per call (back_to_back_us) of the step,
    its forward alone, the backward of one retained graph again and again
    (the engine and the backward ops, no graph built or freed), the same on
    the calling thread, and for ours the step without the module and the two
    ops called directly."""
    n = len(parts.xs)
    ys = [parts.forward(i) for i in range(n)]
    retained = lambda i: parts.grads(ys[i], i, retain_graph=True)
    out = {"step": back_to_back_us(parts.step, n, reps),
           "forward": back_to_back_us(parts.forward, n, reps),
           "backward_retained_graph": back_to_back_us(retained, n, reps)}
    # Autograd runs CUDA nodes on a device thread of its own: two thread
    # hand-offs a backward, each a wake-up. Here it runs them on this thread.
    with torch.autograd.set_multithreading_enabled(False):
        out["step_calling_thread"] = back_to_back_us(parts.step, n, reps)
        out["backward_retained_graph_calling_thread"] = back_to_back_us(retained, n, reps)
    del ys
    if not ours:
        return out
    out["op_step"] = back_to_back_us(lambda i: parts.grads(parts.op_forward(i)[0], i), n, reps)
    return {**out, **parts.op_times(back_to_back_us, reps)}


def issue_breakdown(parts: StepParts, ours: bool, reps: int) -> dict:
    """Host microseconds per part of a step (see the module doc)."""
    n = len(parts.xs)
    out = {
        "forward": median_issue_us(parts.forward, n, reps),
        "backward": median_issue_us(lambda yi: parts.grads(*yi), n, reps,
                                    before=lambda i: (parts.forward(i), i)),
        "step": median_issue_us(parts.step, n, reps),
    }
    if not ours:
        return out
    return {**out, **parts.op_times(median_issue_us, reps)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True)
    p.add_argument("--K", type=int, default=4096)
    p.add_argument("--N", type=int, default=1024)
    p.add_argument("--M", type=int, default=1024)
    p.add_argument("--r", type=int, default=32)
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--trace", action="store_true", help="also write each contender's chrome trace")
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    if not torch.cuda.is_available():
        print("host_profile: needs a CUDA device (skipped)")
        return 0
    import hyplora
    n_sets = 4
    ctx, data, xs, dys = standalone_setup(a.K, a.N, a.M, a.r, n_sets, torch.device("cuda"), hyplora)
    report = {"shape": {"K": a.K, "N": a.N, "M": a.M, "r": a.r},
              "card": torch.cuda.get_device_name(), "torch": torch.__version__,
              "commit": os.environ.get("HYP_COMMIT", "unknown"),
              "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "contenders": {}}
    for c in (FrozenEager(), PeftLoraEager(), HyploraContender("hyplora", "reference", tensor_cores=True)):
        try:
            c.available(ctx)
            built = c.build(data, ctx)
            trace = os.path.join(a.out, f"trace-{c.name}.json") if a.trace else None
            report["contenders"][c.name] = profile_step(built.make_step(xs, dys), n_sets, a.steps,
                                                        trace)
            if c.name != "peft_lora_eager":  # (its steps are PEFT's, not ours to weigh)
                parts, ours = StepParts(built.module, built.params, xs, dys), c.ours
                with kernel_family(tensor_cores=True):
                    report["contenders"][c.name]["issue_us"] = issue_breakdown(
                        parts, ours, reps=max(a.steps, 100))
                    report["contenders"][c.name]["b2b_us"] = b2b_breakdown(
                        parts, ours, reps=max(a.steps, 300))
        except Exception as e:  # one contender failing must not hide the others
            report["contenders"][c.name] = {"error": f"{type(e).__name__}: {e}"}
        r = report["contenders"][c.name]
        print(c.name, {k: v for k, v in r.items() if k not in ("host_ops", "device_ops", "issue_us", "b2b_us")})
        for kind in ("issue_us", "b2b_us"):
            for part, us in r.get(kind, {}).items():
                print(f"   {kind[:-3]:5s} {part:24s} {us:8.1f} us")
        for op in r.get("host_ops", [])[:15]:
            print(f"   {op['self_cpu_us_per_step']:8.1f} us  x{op['calls_per_step']:5.1f}  {op['op']}")
        for op in r.get("device_ops", [])[:12]:
            print(f"   {op['device_us_per_step']:8.1f} us  x{op['calls_per_step']:5.1f}  (GPU) {op['kernel'][:100]}")
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "host-profile.json"), "w") as f:
        json.dump(report, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
