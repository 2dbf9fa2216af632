"""Times every contender on every point (one adapted projection, fwd + bwd).

Per (shape, r) the layer data and the contenders are built once; per M the
input sets are made, each contender is checked and measured for peak memory,
then all of them are timed together in interleaved rounds
(timing.time_interleaved). Ratios are taken against the frozen layer timed at
the same point in the same rounds. The report dict is updated in place after every point
and ``on_point`` is called, so an interrupted run still leaves its results.
"""
from __future__ import annotations

import itertools
import time
import traceback
from dataclasses import dataclass
from typing import Callable

import torch

from bench import autotune_log, metrics, timing
from bench.checks import check_backward, check_forward
from bench.contenders import Contender, Ctx, LayerData, Unavailable, timed_build
from bench.shapes import Point


@dataclass
class Settings:
    reps: int
    warmup: int
    deadline: float                 # time.monotonic() after which nothing new starts
    l2_bytes: int
    profile_kernels: bool
    act_dtype: torch.dtype = torch.bfloat16
    copy_gbps: float | None = None   # the card's measured copy bandwidth
    rounds: int = 5                  # interleaved timing rounds (timing.time_interleaved)


def _skip(reason: str, status: str = "skipped") -> dict:
    return {"status": status, "reason": reason}


def _error(e: BaseException) -> dict:
    tb = traceback.format_exception(type(e), e, e.__traceback__)
    return {"status": "error", "reason": f"{type(e).__name__}: {e}"[:2000],
            "traceback": "".join(tb[-6:])[-3000:]}


def _make_inputs(M: int, K: int, N: int, n_sets: int, device, dtype, seed: int):
    g = torch.Generator(device=device).manual_seed(seed)
    xs, dys = [], []
    for _ in range(n_sets):
        # randn: never zeros, a realistic spread of row norms.
        xs.append(torch.randn(M, K, generator=g, device=device).to(dtype).requires_grad_(True))
        dys.append(torch.randn(M, N, generator=g, device=device).to(dtype))
    return xs, dys


def profile_our_kernels(step: Callable, n_sets: int, kernel_names: set, steps: int = 3) -> dict:
    """Device time per step of each kernel, split into ours and the rest.

    'Ours' = a kernel named in the autotune records or whose name starts
    with 'hyp' (the compiler's prefix, CONTRACTS.md section 2).
    """
    from torch.profiler import ProfilerActivity, profile
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        for i in range(steps):
            step(i % n_sets)
        torch.cuda.synchronize()
    per_kernel = {}
    for evt in prof.key_averages():
        t = getattr(evt, "self_device_time_total", None)
        if t is None:
            t = getattr(evt, "self_cuda_time_total", 0)
        if not t or getattr(evt, "device_type", None) is not None and "CUDA" not in str(evt.device_type):
            continue
        per_kernel[evt.key] = per_kernel.get(evt.key, 0.0) + t / steps
    ours = {k: v for k, v in per_kernel.items()
            if k in kernel_names or k.lower().startswith("hyp")}
    return {"ours_us": sum(ours.values()), "all_us": sum(per_kernel.values()),
            "kernels_us": dict(sorted(per_kernel.items(), key=lambda kv: -kv[1])[:16]),
            "ours": sorted(ours)}


def _measure(contender: Contender, built, data: LayerData, point: Point, xs, dys,
             ctx: Ctx, st: Settings, captures: list, oracle_cache: dict) -> dict:
    res: dict = {"status": "ok"}
    n_sets = len(xs)
    cap = autotune_log.capture_fds() if contender.ours else None
    cap_holder = cap.__enter__() if cap else None
    try:
        step = built.make_step(xs, dys)
        first, grads = timing.time_first_call(step, ctx.cuda)
        res["first_call_s"] = first
        if isinstance(grads, tuple):
            # Gradients that came back None: work this contender did not do.
            res["unused_grads"] = sum(1 for g in grads if g is None)
        del grads
        if contender.compiled:
            ctx.compile_spent_s += first
            ctx.compile_log.append({"contender": contender.name, "point": point.label,
                                    "first_call_s": first})
        # A graphed contender's module is the eager one another contender checks
        # (its replay: tests/python/test_ops_cuda.py); compiled ones have none.
        if built.module is not None and not contender.compiled and not contender.graphed:
            # All M rows: a slice would be a new M bucket for our JIT (another tune).
            try:
                res["check"] = check_forward(built.module, built.oracle, xs[0], data,
                                             rows=p_rows(point, ctx), cache=oracle_cache)
                if built.oracle != "frozen":
                    grad = check_backward(built.module, built.params, built.oracle, xs[0], dys[0],
                                          data, rows=p_rows(point, ctx))
                    res["check"]["grad"] = grad
                    if grad.get("ok") is False:
                        res["check"]["ok"] = False
            except Exception as e:  # the check itself failing is a finding, not a crash
                res["check"] = {"ok": False, "reason": f"check raised {type(e).__name__}: {e}"[:1000]}
    finally:
        if cap:
            cap.__exit__(None, None, None)
            if cap_holder.text:
                captures.append({"context": f"{contender.name} @ {point.label}", "text": cap_holder.text,
                                 "variant": getattr(contender, "variant", None),
                                 "convention": getattr(contender, "convention", None),
                                 "K": point.shape.K, "N": point.shape.N, "r": point.r})
    # A graph's buffers live in its private pool, allocated at capture: not comparable.
    res["peak_extra_bytes"] = (None if contender.graphed
                               else timing.peak_extra_bytes(step, ctx.cuda))
    res["n_input_sets"] = n_sets
    if built.notes:
        res["notes"] = built.notes
    return res, step


def _time_point(results: dict, steps: dict, contenders: list[Contender], point: Point,
                n_sets: int, ctx: Ctx, st: Settings, captures: list) -> None:
    """Times every contender that measured ok at this point, interleaved
    (timing.time_interleaved), then profiles our kernels: after the timing,
    so the profiler's own cost stays out of it."""
    try:
        timed = timing.time_interleaved(steps, n_sets, st.reps, st.warmup, ctx.cuda, st.rounds)
    except Exception as e:
        for name in steps:
            results[name] = _error(e)
        return
    for name, summary in timed.items():
        results[name].update(summary)
    # (a graphed contender replays the kernels its eager twin already profiled)
    ours = [c.name for c in contenders if c.ours and not c.graphed and c.name in steps]
    if not (ours and ctx.cuda and st.profile_kernels and point.r == 32):
        return
    names = None  # our kernels' names, from this point's autotuning logs (parsed once)
    for name in ours:
        try:
            if names is None:
                names = {r["kernel"] for cap in captures[-12:]
                         for r in autotune_log.parse_text(cap["text"])[0]}
            results[name]["kernel_profile"] = profile_our_kernels(steps[name], n_sets, names)
        except Exception as e:
            results[name]["kernel_profile"] = {"error": f"{type(e).__name__}: {e}"}


def _recheck_baseline(entry: dict, frozen, xs, dys, ctx: Ctx, st: Settings) -> None:
    """Time the frozen layer again after the contenders: clock or thermal drift
    during the point shows up as ``frozen_eager_drift`` far from 1.0."""
    before = entry["results"].get("frozen_eager", {})
    if not isinstance(frozen, tuple) or before.get("status") != "ok":
        return
    try:
        step = frozen[0].make_step(xs, dys)
        after = timing.time_steps(step, len(xs), st.reps, st.warmup, ctx.cuda)
        entry["frozen_eager_after_ms"] = after["median_ms"]
        entry["frozen_eager_drift"] = after["median_ms"] / before["median_ms"]
    except Exception as e:
        entry["frozen_eager_drift_error"] = f"{type(e).__name__}: {e}"[:500]


def p_rows(point: Point, ctx: Ctx) -> int:
    return point.M if ctx.cuda else min(point.M, 256)


def _derive(results: dict, point: Point, act_bytes: int, copy_gbps: float | None = None) -> None:
    """Ratios, TFLOP/s, memory over frozen, adapter bandwidth (in place)."""
    K, N, M, r = point.shape.K, point.shape.N, point.M, point.r
    fe = results.get("frozen_eager", {})
    fg = results.get("frozen_graphed", {})
    fe_ms = fe.get("median_ms") if fe.get("status") == "ok" else None
    fg_ms = fg.get("median_ms") if fg.get("status") == "ok" else None
    fe_mem = fe.get("peak_extra_bytes") if fe.get("status") == "ok" else None
    for name, res in results.items():
        if res.get("status") != "ok":
            continue
        t = res["median_ms"]
        res["ratio_vs_frozen_eager"] = metrics.ratio(t, fe_ms)
        res["ratio_vs_frozen_graphed"] = metrics.ratio(t, fg_ms)
        is_adapter = not name.startswith("frozen")
        flops = metrics.frozen_flops(M, K, N) + (metrics.adapter_flops(M, K, N, r) if is_adapter else 0)
        res["tflops"] = flops / (t * 1e-3) / 1e12 if t > 0 else None
        if res.get("peak_extra_bytes") is not None and fe_mem is not None:
            res["extra_mib_vs_frozen"] = (res["peak_extra_bytes"] - fe_mem) / 2**20
        if name.startswith("hyplora_"):
            nbytes = metrics.adapter_bytes(M, K, N, r, act_bytes)
            prof = res.get("kernel_profile") or {}
            if prof.get("ours_us"):
                res["adapter_ms"], res["adapter_ms_source"] = prof["ours_us"] / 1e3, "profiler (our kernels)"
            elif name.endswith(metrics.GRAPHED_SUFFIX) and fg_ms is not None and t > fg_ms:
                res["adapter_ms"], res["adapter_ms_source"] = t - fg_ms, "step - frozen graphed step"
            elif fe_ms is not None and t > fe_ms:
                res["adapter_ms"], res["adapter_ms_source"] = t - fe_ms, "step - frozen eager step"
            else:
                res["adapter_ms"], res["adapter_ms_source"] = None, "n/a"
            res["adapter_bytes"] = nbytes
            res["adapter_gbps"] = (nbytes / (res["adapter_ms"] * 1e-3) / 1e9
                                   if res["adapter_ms"] else None)
            if res["adapter_gbps"] and copy_gbps:
                res["adapter_bw_of_copy"] = res["adapter_gbps"] / copy_gbps


def fresh_dynamo_cache() -> None:
    """Forget earlier groups' compiled graphs and lift the recompile limit.

    Every (K, N, r) compiles the same forward code object again. Past
    dynamo's recompile limit (8 by default) it would silently run that code
    EAGER, and the 'compiled' numbers of later shapes would be eager numbers.
    Resetting per group also keeps guard checks from growing with the run.
    """
    import torch._dynamo as dynamo
    dynamo.reset()
    for name in ("recompile_limit", "cache_size_limit", "accumulated_recompile_limit",
                 "accumulated_cache_size_limit"):
        if hasattr(dynamo.config, name):
            try:
                setattr(dynamo.config, name, max(getattr(dynamo.config, name), 256))
            except Exception:
                pass


def run_layers(points: list[Point], contenders: list[Contender], ctx: Ctx, st: Settings,
               report: dict, captures: list, on_point: Callable[[], None], log=print) -> None:
    layers = report.setdefault("layers", [])
    act_bytes = torch.finfo(st.act_dtype).bits // 8
    groups = itertools.groupby(points, key=lambda p: (p.shape, p.r))
    seed = 1
    for (shape, r), grp in groups:
        grp = list(grp)
        if time.monotonic() > st.deadline:
            for p in grp:
                layers.append({**p.as_dict(), "results": {c.name: _skip("time budget spent before this point")
                                                          for c in contenders}})
            on_point()
            continue
        if ctx.compile_allowed and any(c.compiled for c in contenders):
            fresh_dynamo_cache()
        data = LayerData.random(shape.K, shape.N, r, ctx.device, st.act_dtype, seed=seed)
        built: dict = {}
        for c in contenders:
            try:
                built[c.name] = timed_build(c, data, ctx)
            except Unavailable as e:
                built[c.name] = _skip(e.reason, e.status)
            except Exception as e:  # a contender's bug must not stop the others
                built[c.name] = _error(e)
        for p in grp:
            seed += 1
            entry = {**p.as_dict(), "results": {}}
            layers.append(entry)
            per_set = (p.M * shape.K + p.M * shape.N) * act_bytes
            n_sets = timing.input_sets_for(per_set, st.l2_bytes, ctx.cuda)
            try:
                xs, dys = _make_inputs(p.M, shape.K, shape.N, n_sets, ctx.device, st.act_dtype, seed)
            except Exception as e:
                entry["results"] = {c.name: _error(e) for c in contenders}
                on_point()
                continue
            oracle_cache: dict = {}   # float64 references for xs[0], shared by the contenders
            steps: dict = {}          # contenders measured ok here: timed together below
            for c in contenders:
                b = built[c.name]
                if isinstance(b, dict):
                    entry["results"][c.name] = dict(b)
                    continue
                if time.monotonic() > st.deadline:
                    entry["results"][c.name] = _skip("time budget spent")
                    continue
                bobj, build_s = b
                try:
                    res, steps[c.name] = _measure(c, bobj, data, p, xs, dys, ctx, st, captures,
                                                  oracle_cache)
                    res["build_s"] = build_s
                except Unavailable as e:
                    res = _skip(e.reason, e.status)
                except Exception as e:
                    res = _error(e)
                    if ctx.cuda:
                        try:  # after a sticky CUDA error this raises too: keep reporting
                            torch.cuda.synchronize()
                            torch.cuda.empty_cache()
                        except Exception as e2:
                            res["cuda_state"] = f"{type(e2).__name__}: {e2}"[:500]
                entry["results"][c.name] = res
                if res["status"] == "error" and c.compiled:
                    # Do not pay a failing compile again at every M.
                    built[c.name] = {**res, "reason": "failed at an earlier M: " + res["reason"]}
            _time_point(entry["results"], steps, contenders, p, n_sets, ctx, st, captures)
            for c in contenders:
                if c.name in entry["results"]:
                    log(_one_line(c.name, p, entry["results"][c.name]))
            del steps
            _recheck_baseline(entry, built.get("frozen_eager"), xs, dys, ctx, st)
            _derive(entry["results"], p, act_bytes, st.copy_gbps)
            del xs, dys, oracle_cache
            on_point()
        del built, data
        if ctx.cuda:
            torch.cuda.empty_cache()


def _one_line(name: str, p: Point, res: dict) -> str:
    if res.get("status") != "ok":
        return f"  {p.label:40s} {name:28s} {res['status']}: {res.get('reason', '')[:120]}"
    chk = res.get("check", {})
    flag = "" if chk.get("ok") in (True, None) else "  CHECK FAILED"
    return (f"  {p.label:40s} {name:28s} {res['median_ms']:9.4f} ms "
            f"(p10 {res['p10_ms']:.4f}, p90 {res['p90_ms']:.4f}, first {res['first_call_s']:.2f} s){flag}")
