"""Derived numbers: FLOPs, the adapter's minimum memory traffic, ratios, targets.

The FLOP and byte counts are models (stated here once, used everywhere):

* frozen layer step  = forward GEMM + dX GEMM          = 4 M K N flops
  (W is frozen, so there is no dW GEMM);
* adapter step       = forward (A x, B w) + backward (P = dY B, dA, dB, dH A)
                     = 6 M r (K + N) flops (row math is O(M r), ignored);
* adapter bytes      = the least traffic a fused implementation can have on
  top of the frozen GEMMs: read x and dY, read+write y and dX, the M x r
  fp32 side buffers (w and the 4 stats columns, written then read) and the
  parameters with their gradients:
      act * (4 M K + 3 M N) + 8 M r + 32 M + 12 r (K + N).
  "Achieved bandwidth" = those bytes / the adapter's time, where the
  adapter's time is the profiled time of our kernels when available and
  otherwise (step time - frozen eager step time).
"""
from __future__ import annotations


def frozen_flops(M: int, K: int, N: int) -> float:
    return 4.0 * M * K * N


def adapter_flops(M: int, K: int, N: int, r: int) -> float:
    return 6.0 * M * r * (K + N)


def adapter_bytes(M: int, K: int, N: int, r: int, act_bytes: int = 2) -> float:
    return (act_bytes * (4.0 * M * K + 3.0 * M * N) + 8.0 * M * r + 32.0 * M
            + 12.0 * r * (K + N))


def ratio(t: float | None, base: float | None) -> float | None:
    if t is None or base is None or base <= 0:
        return None
    return t / base


# Targets from the issue "Hyperbolic adaptation at the cost of the frozen layer"
# (H100, bf16, r = 32). Each is (shape K, N) -> max ratio.
GRAPHED_TARGETS_M8192 = {(4096, 4096): 1.25, (4096, 1024): 1.45,
                         (4096, 14336): 1.08, (14336, 4096): 1.10}
EAGER_TARGET_M1024 = 1.35
OURS_MAIN = "hyplora_hyplora_reference"   # the default variant/convention
OURS_LORA = "hyplora_lora"
TC_SUFFIX = "_tc"   # the same contenders pinned to the tensor-core kernels (the JIT default)
# The default one again, its whole step replayed from CUDA graphs as frozen_graphed's is:
# judged on the frozen-layer targets only (graph against graph at M = 8192; at M = 1024
# against the eager frozen layer, where graph-friendliness is the issue's own lever). The
# PEFT, reference and memory targets compare eager steps.
GRAPHED_SUFFIX = "_graphed"
COLD_FIRST_CALL_MAX_S = 3.0
WARM_LOAD_MAX_S = 1.0


def _res(layer: dict, name: str) -> dict | None:
    r = layer["results"].get(name)
    return r if r and r.get("status") == "ok" else None


def evaluate_targets(report: dict) -> list[dict]:
    """Every target of the issue that the measured points let us judge.

    ``passed`` is True/False, or None when a number it needs is missing (a
    contender skipped or unavailable): a missing number never counts as a pass.
    """
    out: list[dict] = []
    # Targets are stated for an H100: a CPU (dry) run computes the values, to
    # exercise this code, but judges nothing.
    judged = bool(report.get("meta", {}).get("cuda_available")) and report.get("mode") != "dry-run"

    def add(name, value, limit, cmp, detail=""):
        passed = None if value is None else (value <= limit if cmp == "<=" else value >= limit)
        if not judged:
            passed, detail = None, ("not judged: CPU/dry run. " + detail).strip()
        out.append({"target": name, "value": value, "limit": limit, "cmp": cmp,
                    "passed": passed, "detail": detail})

    layers = report.get("layers", [])
    present = report.get("contenders", {})
    mains = [OURS_MAIN] + [n for n in (OURS_MAIN + TC_SUFFIX,) if n in present]
    loras = [OURS_LORA] + [n for n in (OURS_LORA + TC_SUFFIX,) if n in present]
    graphed = [n for n in (OURS_MAIN + TC_SUFFIX + GRAPHED_SUFFIX,) if n in present]
    for main in mains + graphed:
        for L in layers:
            K, N, M, r = L["shape"]["K"], L["shape"]["N"], L["M"], L["r"]
            if r != 32 or L["shape"]["model"] != "llama3-8b":
                continue
            ours = _res(L, main)
            if M == 8192 and (K, N) in GRAPHED_TARGETS_M8192:
                add(f"M=8192 {K}->{N}: {main} / frozen graphed",
                    ours and ours.get("ratio_vs_frozen_graphed"), GRAPHED_TARGETS_M8192[(K, N)], "<=")
            if M == 1024:
                add(f"M=1024 {K}->{N}: {main} / frozen eager",
                    ours and ours.get("ratio_vs_frozen_eager"), EAGER_TARGET_M1024, "<=")

    # "Faster than PEFT's LoRA (eager and compiled) on every shape; >= 4x faster
    # than reference HypLoRA eager; extra peak memory no more than PEFT LoRA's;
    # plain lora through the same machinery faster than PEFT LoRA."
    def every_point(ours_name, other, what, fn, limit, cmp):
        vals, missing = [], 0
        for L in layers:
            a, b = _res(L, ours_name), _res(L, other)
            v = fn(a, b) if a and b else None
            if v is None:
                missing += 1
            else:
                vals.append((v, L))
        if not vals:
            add(what, None, limit, cmp, "no point had both numbers")
            return
        worst_v, worst_L = (max if cmp == "<=" else min)(vals, key=lambda t: t[0])
        detail = (f"worst at {worst_L['shape']['K']}->{worst_L['shape']['N']} M={worst_L['M']} "
                  f"r={worst_L['r']}; {len(vals)} points" + (f", {missing} without data" if missing else ""))
        add(what, worst_v, limit, cmp, detail)

    t = lambda a, b: a["median_ms"] / b["median_ms"]
    for peft_name in ("peft_lora_eager", "peft_lora_compiled"):
        for ours_name in mains + loras:
            every_point(ours_name, peft_name, f"{ours_name} time / {peft_name} time (every point)", t, 1.0, "<=")
    for main in mains:
        every_point(main, "reference_hyplora_eager",
                    f"reference_hyplora_eager time / {main} time (every point)",
                    lambda a, b: b["median_ms"] / a["median_ms"], 4.0, ">=")

    def mem(a, b):
        if a.get("peak_extra_bytes") is None or b.get("peak_extra_bytes") is None:
            return None
        # Bytes beyond PEFT's, in MiB; <= 0 means no more than PEFT.
        return (a["peak_extra_bytes"] - b["peak_extra_bytes"]) / 2**20
    # Every variant of ours that ran (the tensor-core one is the JIT default;
    # judged on the plain name alone, this read "no data" whenever the SIMT
    # contenders were left out, as in every bench-full since 2026-11-26).
    for main in mains:
        every_point(main, "peft_lora_eager", f"{main} extra peak memory - PEFT LoRA's (MiB)",
                    mem, 0.0, "<=")

    cs = report.get("cold_start") or {}
    first = (cs.get("first_call") or {}).get("first_call_s")
    warm = (cs.get("warm_load") or {}).get("time_to_first_result_s")
    add("cold start: first call of a new layer shape (s)", first, COLD_FIRST_CALL_MAX_S, "<=")
    add("warm process: 30-layer model's kernels to first result (s)", warm, WARM_LOAD_MAX_S, "<=")
    return out
