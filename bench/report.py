#!/usr/bin/env python3
"""Bench JSON -> markdown tables (for README/docs) and a PNG.

    python bench/report.py RESULT.json [--out DIR]
    python bench/report.py --merge SHARD.json... --out DIR   # join run.py --shard reports

run.py calls ``write_all`` itself; this CLI re-renders a saved result.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

ORDER = ["frozen_eager", "frozen_graphed", "peft_lora_eager", "peft_lora_compiled", "lora_bf16_eager",
         "reference_hyplora_eager", "reference_hyplora_compiled", "hyplora_lora",
         "hyplora_hyplora_reference", "hyplora_hyplora_lorentz",
         "hyplora_lora_tc", "hyplora_hyplora_reference_tc", "hyplora_hyplora_lorentz_tc",
         "hyplora_hyplora_reference_tc_graphed"]
SHORT = {"frozen_eager": "frozen", "frozen_graphed": "frozen graph", "peft_lora_eager": "PEFT",
         "peft_lora_compiled": "PEFT comp", "lora_bf16_eager": "LoRA bf16",
         "reference_hyplora_eager": "ref Hyp", "reference_hyplora_compiled": "ref Hyp comp",
         "hyplora_lora": "ours lora", "hyplora_hyplora_reference": "ours hyp",
         "hyplora_hyplora_lorentz": "ours lorentz", "hyplora_lora_tc": "ours lora TC",
         "hyplora_hyplora_reference_tc": "ours hyp TC", "hyplora_hyplora_lorentz_tc": "ours lorentz TC",
         "hyplora_hyplora_reference_tc_graphed": "ours hyp TC graph"}
OURS = ["hyplora_lora", "hyplora_hyplora_reference", "hyplora_hyplora_lorentz",
        "hyplora_lora_tc", "hyplora_hyplora_reference_tc", "hyplora_hyplora_lorentz_tc",
        "hyplora_hyplora_reference_tc_graphed"]


def _names(report: dict) -> list[str]:
    present = set(report.get("contenders", {}))
    for L in report.get("layers", []):
        present |= set(L["results"])
    return [n for n in ORDER if n in present] + sorted(present - set(ORDER))


def _ceilings(c: dict | None) -> str:
    if not c:
        return "n/a (CPU run)"
    if "error" in c:
        return f"n/a ({c['error']})"
    return f"copy {c['copy_gbps']:.0f} GB/s (read + write), bf16 GEMM {c['bf16_gemm_tflops']:.0f} TFLOP/s"


def _f(v, fmt="{:.3f}", none="-"):
    return none if v is None else fmt.format(v)


def _cell(res: dict | None, with_ratio=True) -> str:
    if not res:
        return "-"
    st = res.get("status")
    if st != "ok":
        return {"skipped": "skip", "unavailable": "n/a", "error": "ERR"}.get(st, st or "?")
    s = f"{res['median_ms']:.3f}"
    if with_ratio and res.get("ratio_vs_frozen_eager") is not None:
        s += f" ({res['ratio_vs_frozen_eager']:.2f}x)"
    chk = res.get("check") or {}
    if chk.get("ok") is False:
        s += " **CHECK FAILED**"
    return s


def _grad_err(chk: dict) -> str:
    """The backward check's worst relative error (dx's adapter part, dA, dB)."""
    g = chk.get("grad") or {}
    errs = [g[k] for k in ("rel_err_dx_adapter", "rel_err_dA", "rel_err_dB") if g.get(k) is not None]
    return f"{max(errs):.1e}" if errs else "-"


def _table(header: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def _pt(L: dict) -> list[str]:
    return [L["shape"]["model"], f"{L['shape']['K']}->{L['shape']['N']}", str(L["M"]), str(L["r"])]


def markdown(report: dict) -> str:
    m = report.get("meta", {})
    s = report.get("settings", {})
    lines = [f"# hyplora bench: {report.get('mode')} run",
             "",
             f"- card: **{m.get('card')}** (driver {m.get('driver')}, {m.get('sm', '')}), "
             f"torch {m.get('torch')} (CUDA {m.get('torch_cuda')}), peft {m.get('peft')}, "
             f"transformers {m.get('transformers')}",
             f"- commit `{m.get('commit')}`, date {m.get('date')}, host {m.get('host')}",
             f"- bf16 activations, fp32 adapter params, alpha {s.get('alpha')}; fwd + bwd (grads of x and "
             f"all adapter params); median of {s.get('reps')} steps in {s.get('rounds', 1)} interleaved rounds "
             f"({s.get('warmup')} warm-up steps each), "
             + ("CUDA events between back-to-back steps" if m.get("card") != "cpu" else "perf_counter per step (CPU)")
             + ", rotating input sets",
             f"- measured ceilings: {_ceilings(m.get('ceilings'))}",
             f"- hyplora: {'available' if (m.get('hyplora') or {}).get('available') else 'UNAVAILABLE: ' + str((m.get('hyplora') or {}).get('reason'))}",
             f"- wall: {json.dumps({k: round(v, 1) for k, v in (report.get('wall') or {}).items()})}",
             ""]
    tg = report.get("targets") or []
    if tg:
        lines += ["## Targets", "",
                  _table(["target", "value", "limit", "pass", "detail"],
                         [[t["target"], _f(t["value"]), f"{t['cmp']} {t['limit']}",
                           _verdict(t, "**FAIL**"),
                           t.get("detail", "")] for t in tg]), ""]
    names = _names(report)
    layers = report.get("layers", [])
    if layers:
        lines += ["## One adapted projection: median ms per step (ratio to frozen eager)", "",
                  "drift = frozen eager re-timed after all contenders / before (far from 1: noisy point)", "",
                  _table(["model", "K->N", "M", "r"] + [SHORT.get(n, n) for n in names] + ["drift"],
                         [_pt(L) + [_cell(L["results"].get(n), n != "frozen_eager") for n in names]
                          + [_f(L.get("frozen_eager_drift"), "{:.2f}")] for L in layers]), ""]
        rows = []
        for L in layers:
            for n in OURS:
                r = L["results"].get(n)
                if not r or r.get("status") != "ok":
                    continue
                chk = r.get("check") or {}
                rows.append(_pt(L) + [SHORT[n], _f(r.get("ratio_vs_frozen_eager"), "{:.3f}"),
                                      _f(r.get("ratio_vs_frozen_graphed"), "{:.3f}"),
                                      _f(r.get("extra_mib_vs_frozen"), "{:.1f}"),
                                      _f(r.get("tflops"), "{:.1f}"), _f(r.get("adapter_ms"), "{:.4f}"),
                                      _f(r.get("adapter_gbps"), "{:.0f}")
                                      + (f" ({r['adapter_bw_of_copy']:.0%})" if r.get("adapter_bw_of_copy") else ""),
                                      _f(chk.get("rel_err_adapter"), "{:.1e}"), _grad_err(chk),
                                      _f(r.get("first_call_s"), "{:.2f}"), _f(r.get("tuning_ms"), "{:.0f}")])
        if rows:
            lines += ["## Our kernels in detail", "",
                      "adapter ms = profiled device time of our kernels (else step - frozen eager); "
                      "GB/s = the adapter's minimum bytes (bench/metrics.py) / adapter ms (in brackets: of the measured copy bandwidth); "
                      "rel err vs float64: the adapter part of y, and the worst of dx's adapter part, dA, dB "
                      "(bench/checks.py; '-' in runs before the backward check existed).", "",
                      _table(["model", "K->N", "M", "r", "contender", "/ frozen eager", "/ frozen graphed",
                              "extra MiB vs frozen", "TFLOP/s", "adapter ms", "adapter GB/s",
                              "adapter rel err", "grad rel err", "first call s", "tuning ms"], rows), ""]
        # A graph's memory is its private pool's (not measured).
        from bench.metrics import GRAPHED_SUFFIX
        mem_names = [n for n in names if not n.endswith(GRAPHED_SUFFIX)]
        mem_rows = [_pt(L) + [_f((L["results"].get(n) or {}).get("extra_mib_vs_frozen"), "{:.0f}")
                              for n in mem_names] for L in layers]
        lines += ["## Extra peak memory over the frozen layer (MiB)", "",
                  _table(["model", "K->N", "M", "r"] + [SHORT.get(n, n) for n in mem_names],
                         mem_rows), ""]
    for st_ in report.get("decoder_stack") or []:
        if "results" not in st_:
            lines += [f"## Decoder stack {st_.get('size')}: {st_.get('skipped') or st_.get('error')}", ""]
            continue
        lines += [f"## Decoder stack: {st_['layers']} x LlamaDecoderLayer ({st_['size']}), M = {st_['M']} "
                  f"tokens, r = {st_['r']}, adapters on {', '.join(st_['targets'])}", ""]
        if st_.get("error"):
            lines += [f"error: {st_['error']}", ""]
        rows = []
        for k, r in st_["results"].items():
            if r.get("status") == "ok":
                rows.append([k, f"{r['median_ms']:.3f}", _f(r.get("ratio_vs_frozen"), "{:.2f}x"),
                             _f(r.get("extra_mib_vs_frozen"), "{:.0f}"), _f(r.get("first_call_s"), "{:.2f}")])
            else:
                rows.append([k, f"{r.get('status')}: {r.get('reason', '')[:100]}", "", "", ""])
        lines += [_table(["contender", "median ms", "/ frozen", "extra MiB", "first call s"], rows), ""]
    at = report.get("autotune") or {}
    lines += ["## Autotuning", "", f"source: {at.get('source', 'n/a')}"
              + (f" ({at['note']})" if at.get("note") else ""), ""]
    kernels = at.get("kernels") or []
    if kernels:
        limit = 80
        lines += [_table(["kernel", "where", "source", "tried", "failed", "winner", "winner us", "default us",
                          "tuned speedup", "tuning ms"],
                         [[k["kernel"], k.get("context") or k.get("bucket") or "", k.get("source") or "",
                           k["n_tried"], k["n_failed"],
                           json.dumps(k["winner"]) if k["winner"] is not None else "-",
                           _f(k["winner_time_us"], "{:.1f}"), _f(k["default_time_us"], "{:.1f}"),
                           _f(k["speedup_vs_default"], "{:.2f}x"), _f(k.get("tuning_ms"), "{:.0f}")]
                          for k in kernels[:limit]]), ""]
        if len(kernels) > limit:
            lines += [f"({len(kernels) - limit} more tuned kernels in the JSON, `autotune.kernels`)", ""]
        sp = [k["speedup_vs_default"] for k in kernels if k.get("speedup_vs_default")]
        tm = [k["tuning_ms"] for k in kernels if k.get("tuning_ms")]
        if sp:
            lines += [f"tuned over default, per kernel: median {sorted(sp)[len(sp) // 2]:.2f}x, "
                      f"max {max(sp):.2f}x over {len(sp)} kernels with a default-config time", ""]
        if tm:
            lines += [f"tuning time: {sum(tm) / 1e3:.2f} s in all, {max(tm):.0f} ms at most per kernel "
                      f"and shape bucket", ""]
    un = report.get("untuned") or {}
    if un.get("status") == "ok":
        lines += ["End to end, tuned vs HYP_AUTOTUNE=0 (default configs), " + un.get("contender", ""), "",
                  _table(["K->N", "M", "r", "default-config ms", "tuned ms", "speedup"],
                         [[f"{p['K']}->{p['N']}", p["M"], p["r"], f"{p['median_ms']:.3f}",
                           _f(p.get("tuned_median_ms")), _f(p.get("speedup_tuned_vs_default"), "{:.2f}x")]
                          for p in un["points"]]), ""]
    elif un:
        lines += [f"untuned run: {un.get('status')}: {un.get('reason', '')[:300]}", ""]
    cs = report.get("cold_start") or {}
    lines += ["## Cold start", ""]
    if "skipped" in cs:
        lines += [f"skipped: {cs['skipped']}", ""]
    else:
        fc, wl = cs.get("first_call") or {}, cs.get("warm_load") or {}
        if fc.get("status") == "ok":
            lines += [f"- empty cache, first call of a new layer shape: **{fc['first_call_s']:.2f} s** "
                      f"(import hyplora {fc['import_hyplora_s']:.2f} s, not included)"]
            lines += [f"  - {s['K']}->{s['N']} r={s['r']} M={s['M']}: first {s['first_call_s']:.3f} s, "
                      f"second {s['second_call_s'] * 1e3:.1f} ms" for s in fc["shapes"]]
        else:
            lines += [f"- first call: {fc.get('status')}: {str(fc.get('reason', ''))[:300]}"]
        if wl.get("status") == "ok":
            lines += [f"- warm cache, {wl['model_layers']}-layer {wl['size']} ({wl['adapted_layers']} adapted "
                      f"projections), import + inject + first fwd/bwd: **{wl['time_to_first_result_s']:.2f} s** "
                      f"(import {wl['import_hyplora_s']:.2f}, inject {wl['inject_s']:.2f}, first step "
                      f"{wl['first_step_s']:.2f}, second step {wl['second_step_s'] * 1e3:.1f} ms)"]
        else:
            lines += [f"- warm load: {wl.get('status')}: {str(wl.get('reason', ''))[:300]}"]
        lines += [""]
    ct = report.get("compile_times") or []
    if ct:
        lines += ["## torch.compile warm-up (first call per point, s)", "",
                  _table(["contender", "point", "s"], [[c["contender"], c["point"], f"{c['first_call_s']:.1f}"]
                                                       for c in ct]), ""]
    reasons = {}
    for L in layers:
        for n, r in L["results"].items():
            if r.get("status") != "ok":
                reasons.setdefault((n, r.get("status"), str(r.get("reason", ""))[:200]), 0)
                reasons[(n, r.get("status"), str(r.get("reason", ""))[:200])] += 1
    if reasons:
        lines += ["## Not measured", "", _table(["contender", "status", "reason", "points"],
                                                 [[n, st, rs.replace("|", "/"), c] for (n, st, rs), c in reasons.items()]), ""]
    return "\n".join(lines) + "\n"


def plot(report: dict, path: str) -> str | None:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except Exception:
        return None
    layers = [L for L in report.get("layers", []) if L["r"] == 32] or report.get("layers", [])
    models = list(dict.fromkeys(L["shape"]["model"] for L in layers))
    names = [n for n in _names(report) if n != "frozen_eager"]
    stacks = [s for s in report.get("decoder_stack") or [] if "results" in s]
    n_ax = max(1, len(models) + (1 if stacks else 0))
    fig, axes = plt.subplots(n_ax, 1, figsize=(max(10, 1.2 * max([len([L for L in layers if L["shape"]["model"] == mo]) for mo in models] or [4])), 4 * n_ax),
                             squeeze=False)
    colors = plt.get_cmap("tab10")
    def color(n):  # one color per contender, the same in every panel and run
        return colors(ORDER.index(n) % 10) if n in ORDER else "gray"

    for ax, mo in zip(axes[:, 0], models):
        pts = [L for L in layers if L["shape"]["model"] == mo]
        shown = [n for n in names if any((L["results"].get(n) or {}).get("status") == "ok" for L in pts)]
        width = 0.8 / max(1, len(shown))
        for j, n in enumerate(shown):
            xs, ys = [], []
            for i, L in enumerate(pts):
                r = L["results"].get(n) or {}
                if r.get("status") == "ok" and r.get("ratio_vs_frozen_eager"):
                    xs.append(i + (j - len(shown) / 2 + 0.5) * width)
                    ys.append(r["ratio_vs_frozen_eager"])
            ax.bar(xs, ys, width, label=SHORT.get(n, n), color=color(n),
                   edgecolor="black" if n in OURS else None, hatch="//" if n in OURS else None)
        ax.axhline(1.0, color="black", lw=0.8)
        ax.set_yscale("log")
        ax.set_xticks(range(len(pts)))
        ax.set_xticklabels([f"{L['shape']['K']}->{L['shape']['N']}\nM={L['M']} r={L['r']}" for L in pts],
                           fontsize=8)
        ax.set_ylabel("step time / frozen eager (log)")
        ax.set_title(f"{mo}: fwd+bwd of one adapted projection ({report.get('meta', {}).get('card')})")
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    if stacks:
        ax = axes[len(models), 0]
        kinds = list(dict.fromkeys(k for s in stacks for k in s["results"]))
        width = 0.8 / max(1, len(kinds))
        for j, k in enumerate(kinds):
            xs, ys = [], []
            for i, s in enumerate(stacks):
                r = s["results"].get(k) or {}
                if r.get("status") == "ok" and r.get("ratio_vs_frozen"):
                    xs.append(i + (j - len(kinds) / 2 + 0.5) * width)
                    ys.append(r["ratio_vs_frozen"])
            ax.bar(xs, ys, width, label=k, color=color(k if k != "frozen" else "frozen_eager"),
                   hatch="//" if k in OURS else None, edgecolor="black" if k in OURS else None)
        ax.axhline(1.0, color="black", lw=0.8)
        ax.set_xticks(range(len(stacks)))
        ax.set_xticklabels([f"{s['layers']}x {s['size']} M={s['M']}" for s in stacks])
        ax.set_ylabel("step time / frozen stack")
        ax.set_title("decoder-layer stack, fwd+bwd")
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_all(report: dict, out_dir: str, stem: str) -> tuple[str, str | None]:
    md_path = os.path.join(out_dir, stem + ".md")
    with open(md_path, "w") as f:
        f.write(markdown(report))
    return md_path, plot(report, os.path.join(out_dir, stem + ".png"))


def _verdict(t: dict, fail: str) -> str:
    if t["passed"] is None:
        return "not judged" if str(t.get("detail", "")).startswith("not judged") else "no data"
    return "PASS" if t["passed"] else fail


def summary_text(report: dict) -> str:
    """A few lines for the console: the targets and anything that failed."""
    out = ["targets:"]
    for t in report.get("targets") or []:
        verdict = _verdict(t, "FAIL")
        out.append(f"  [{verdict:10s}] {t['target']}: {_f(t['value'])} ({t['cmp']} {t['limit']}) {t.get('detail', '')}")
    bad = sum(1 for L in report.get("layers", []) for r in L["results"].values()
              if (r.get("check") or {}).get("ok") is False)
    errs = sum(1 for L in report.get("layers", []) for r in L["results"].values() if r.get("status") == "error")
    out.append(f"correctness checks failed: {bad}; contender errors: {errs}")
    return "\n".join(out)


SHARD_SUFFIX = re.compile(r"-shard\d+of\d+$")


def merge(reports: list[dict]) -> dict:
    """One report from the shards of one run (bench/run.py --shard I/N, same N).

    The shards must come from the same commit, card and mode and cover every
    shard index once: a merged table that silently mixed runs or lacked a shard
    would be read as the full suite. Points keep the suite's order; the
    per-run parts (decoder stack, fresh processes) come from shard 0; the
    targets are judged again over all points.
    """
    from bench import metrics
    from bench.shapes import points_for

    if not reports:
        raise ValueError("nothing to merge")
    first = reports[0]
    for key in ("commit", "card"):
        values = {r["meta"].get(key) for r in reports}
        if len(values) > 1:
            raise ValueError(f"shards differ in {key}: {sorted(map(str, values))}")
    if len({r["mode"] for r in reports}) > 1:
        raise ValueError(f"shards differ in mode: {sorted({r['mode'] for r in reports})}")
    shards = sorted(tuple(r["settings"].get("shard") or (0, 1)) for r in reports)
    count = shards[0][1]
    if shards != [(i, count) for i in range(count)]:
        raise ValueError(f"need shards 0..{count - 1} of {count} once each, got {shards}")
    order = {(p.shape.K, p.shape.N, p.M, p.r): i for i, p in enumerate(points_for(first["mode"]))}
    base = next(r for r in reports if tuple(r["settings"]["shard"]) == (0, count))
    merged = json.loads(json.dumps(base))
    merged["settings"]["shard"] = f"merged {count} shards (wall: the slowest shard, run side by side)"
    merged["layers"] = sorted((L for r in reports for L in r["layers"]),
                              key=lambda L: order.get((L["shape"]["K"], L["shape"]["N"], L["M"], L["r"]),
                                                      len(order)))
    for r in reports:
        merged["contenders"].update(r["contenders"])
        if r is not base:
            merged["compile_times"] = (merged.get("compile_times") or []) + (r.get("compile_times") or [])
            tuned = (r.get("autotune") or {}).get("kernels") or []
            merged.setdefault("autotune", {}).setdefault("kernels", []).extend(tuned)
            merged["autotune"].setdefault("forward_orders", []).extend(
                (r.get("autotune") or {}).get("forward_orders") or [])
    merged["wall"] = {k: max((r.get("wall") or {}).get(k, 0.0) for r in reports)
                      for k in set().union(*((r.get("wall") or {}) for r in reports))}
    merged["targets"] = metrics.evaluate_targets(merged)
    return merged


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("result", nargs="?", help="a JSON written by bench/run.py")
    p.add_argument("--merge", nargs="+", metavar="SHARD_JSON", help="join the shards of one run")
    p.add_argument("--out", help="output directory (default: next to the JSON)")
    p.add_argument("--rejudge", action="store_true",
                   help="recompute the targets with this checkout's bench/metrics.py and write "
                        "them back into the JSON (marked targets_rejudged_by); the timings are untouched")
    a = p.parse_args(argv)
    if bool(a.result) == bool(a.merge):
        p.error("give one result JSON, or --merge with the shards' JSONs")
    if a.merge:
        reports = []
        for path in a.merge:
            with open(path) as f:
                reports.append(json.load(f))
        try:
            report = merge(reports)
        except ValueError as err:
            p.error(f"--merge: {err}")
        stem = SHARD_SUFFIX.sub("", os.path.splitext(os.path.basename(a.merge[0]))[0])
        out_dir = a.out or os.path.dirname(os.path.abspath(a.merge[0]))
        with open(os.path.join(out_dir, stem + ".json"), "w") as f:
            json.dump(report, f, indent=1, default=str)
        md, png = write_all(report, out_dir, stem)
        print(summary_text(report))
        print(f"wrote {os.path.join(out_dir, stem + '.json')}, {md}" + (f" and {png}" if png else ""))
        return 0
    with open(a.result) as f:
        report = json.load(f)
    if a.rejudge:
        from bench import metrics
        report["targets"] = metrics.evaluate_targets(report)
        report["targets_rejudged_by"] = "bench/metrics.py at " + os.environ.get("HYP_COMMIT", "HEAD")
        with open(a.result, "w") as f:
            json.dump(report, f, indent=1, default=str)
    stem = os.path.splitext(os.path.basename(a.result))[0]
    md, png = write_all(report, a.out or os.path.dirname(os.path.abspath(a.result)), stem)
    print(f"wrote {md}" + (f" and {png}" if png else " (no PNG: matplotlib unavailable)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
