#!/usr/bin/env python3
"""Run the hyplora benchmark suite and write <out>/<date>-<card>-<commit>.{json,md,png}.

    python bench/run.py --out DIR            # full suite (GPU, ~6 min)
    python bench/run.py --out DIR --quick    # LLaMA shapes, M in {1024, 8192}, r = 32 (~2-3 min)
    python bench/run.py --out DIR --dry-run  # CPU, tiny shapes: tests the harness itself

See docs/BENCHMARKS.md for the method and bench/README.md for the design.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
# The source-tree package (PYTHONPATH=python) if it is not installed.
sys.path.append(os.path.join(REPO, "python"))

SCHEMA = "hyplora-bench/1"
# Per mode: reps, warm-up steps (per interleaved timing round), timing rounds
# (timing.time_interleaved), time budget, torch.compile budget, and the part of the
# time budget kept for the decoder stack and the fresh-process measurements (seconds).
MODE_DEFAULTS = {
    "full": dict(reps=30, warmup=5, rounds=5, time_budget_s=360, compile_budget_s=120, reserve_s=100),
    "quick": dict(reps=30, warmup=5, rounds=5, time_budget_s=170, compile_budget_s=60, reserve_s=70),
    # The dry run tests the harness: it must run every part, however loaded the CPU.
    "dry-run": dict(reps=2, warmup=1, rounds=2, time_budget_s=600, compile_budget_s=0, reserve_s=0),
}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="directory for the JSON, markdown and PNG")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--quick", action="store_true", help="LLaMA3-8B shapes at M=1024 and 8192, r=32")
    g.add_argument("--dry-run", action="store_true",
                   help="CPU, tiny shapes, few reps; CUDA-only contenders reported as skipped")
    p.add_argument("--reps", type=int, help="timed steps per measurement (default 30; >= 30 for results)")
    p.add_argument("--warmup", type=int, help="untimed steps before timing (default 5)")
    p.add_argument("--time-budget-s", type=float, help="stop starting new measurements after this")
    p.add_argument("--compile-budget-s", type=float,
                   help="total torch.compile warm-up allowed; compiled contenders are skipped beyond it")
    p.add_argument("--no-compile", action="store_true", help="skip the torch.compile contenders")
    p.add_argument("--compile-dynamic", action="store_true",
                   help="torch.compile(dynamic=True): fewer compiles, possibly slower compiled baselines")
    p.add_argument("--contenders", help="comma-separated subset of contender names")
    p.add_argument("--compiled-ranks", default="32",
                   help="ranks at which compiled contenders run in the full suite (default 32; 'all')")
    p.add_argument("--no-stack", action="store_true", help="skip the decoder-layer-stack step")
    p.add_argument("--cold-start", choices=["auto", "on", "off"], default="auto",
                   help="fresh-process cold/warm start and untuned runs (auto: only with CUDA)")
    p.add_argument("--no-profile", action="store_true", help="do not profile our kernels' device time")
    p.add_argument("--cache-dir", help="HYP_CACHE_DIR for this process (default: a fresh empty one)")
    p.add_argument("--shard", type=_shard, default=(0, 1), metavar="I/N",
                   help="time only every N-th (shape, r) group, from the I-th (one process per GPU; "
                        "shard 0 also runs the decoder stack and the fresh processes; join the "
                        "reports with bench/report.py --merge)")
    return p.parse_args(argv)


def _shard(text: str) -> tuple[int, int]:
    # The syntax and messages of `hyplora compare --shard`. Importing the package
    # this early is safe: the runtime reads HYP_* variables on first use, after
    # main() has set them.
    from hyplora.compare import parse_shard
    return parse_shard(text)


def _atomic_write(path: str, text: str) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


class Run:
    """One bench run: its settings, context, report dict, and how to save it."""

    def __init__(self, args, mode: str, cfg: dict):
        import torch
        from bench import env_info, timing
        from bench.contenders import Ctx, all_contenders, hyplora_ops_status, import_hyplora

        self.args, self.mode, self.cfg = args, mode, cfg
        self.t_start = time.monotonic()
        self.deadline = self.t_start + cfg["time_budget_s"]
        meta = env_info.collect()
        self.cuda = meta["cuda_available"] and mode != "dry-run"
        if mode == "dry-run" and meta["cuda_available"]:
            meta["note"] = "dry run: CUDA present but not used"
        if not self.cuda:
            meta["card"] = "cpu"
            if mode == "dry-run":
                torch.set_num_threads(1)  # tiny ops: threads only add contention
        if self.cuda:
            try:
                meta["ceilings"] = timing.measure_ceilings()
            except Exception as e:
                meta["ceilings"] = {"error": f"{type(e).__name__}: {e}"}
        self.hyp, reason = import_hyplora()
        try:  # the env var is read lazily, but say it explicitly where the API exists
            self.hyp._C.set_print_autotuning(True)
        except Exception:
            pass
        meta["hyplora"] = {"available": self.hyp is not None, "reason": reason or None,
                           "version": getattr(self.hyp, "__version__", None) if self.hyp else None,
                           "ops": hyplora_ops_status(), "HYP_CACHE_DIR": os.environ["HYP_CACHE_DIR"],
                           "HYP_AUTOTUNE": os.environ.get("HYP_AUTOTUNE", "(default)")}
        self.ctx = Ctx(torch.device("cuda" if self.cuda else "cpu"), self.cuda, mode == "dry-run",
                       self.hyp, reason, self.cuda and not args.no_compile, cfg["compile_budget_s"],
                       compile_dynamic=args.compile_dynamic)
        self.contenders = all_contenders()
        if args.contenders:
            wanted = set(args.contenders.split(","))
            unknown = wanted - {c.name for c in self.contenders}
            if unknown:
                raise SystemExit(f"unknown contender(s): {', '.join(sorted(unknown))}; "
                                 f"known: {', '.join(c.name for c in self.contenders)}")
            self.contenders = [c for c in self.contenders if c.name in wanted]
        self.compiled_ranks = (None if mode != "full" or args.compiled_ranks == "all"
                               else sorted({int(x) for x in args.compiled_ranks.split(",")}))
        self.l2_bytes = meta.get("l2_bytes", 0)
        self.shard = args.shard
        self.stem = env_info.result_stem(meta) + (f"-shard{self.shard[0]}of{self.shard[1]}"
                                                  if self.shard[1] > 1 else "")
        self.json_path = os.path.join(args.out, self.stem + ".json")
        self.captures: list = []  # what the runtime printed around our first calls
        self.report: dict = {
            "schema": SCHEMA, "mode": mode, "meta": meta,
            "settings": {"reps": cfg["reps"], "warmup": cfg["warmup"], "rounds": cfg["rounds"],
                         "time_budget_s": cfg["time_budget_s"], "compile_budget_s": cfg["compile_budget_s"],
                         "compile_dynamic": args.compile_dynamic, "act_dtype": "bf16", "adapter_dtype": "fp32",
                         "alpha": "4 r (the paper's HypLoRA r = 32, alpha = 128)",
                         "compiled_ranks": self.compiled_ranks or "all", "shard": list(self.shard)},
            "contenders": {c.name: {"description": c.description, "ours": c.ours, "compiled": c.compiled}
                           for c in self.contenders},
            "layers": [], "decoder_stack": [], "autotune": {}, "cold_start": None, "untuned": None,
            "compile_times": self.ctx.compile_log, "targets": [], "wall": {},
        }

    def save(self) -> None:
        _atomic_write(self.json_path, json.dumps(self.report, indent=1, default=str))

    # --- the parts, in order -------------------------------------------------

    def layers(self) -> None:
        """One adapted projection, every contender, every point."""
        from bench.layer_suite import Settings, run_layers
        from bench.shapes import points_for, shard_points
        st = Settings(reps=self.cfg["reps"], warmup=self.cfg["warmup"], rounds=self.cfg["rounds"],
                      deadline=self.deadline - self.cfg["reserve_s"],
                      l2_bytes=self.l2_bytes, profile_kernels=self.cuda and not self.args.no_profile,
                      copy_gbps=(self.report["meta"].get("ceilings") or {}).get("copy_gbps"))
        points = shard_points(points_for(self.mode), *self.shard)
        t0 = time.monotonic()
        ranks = self.compiled_ranks
        if ranks is None:
            run_layers(points, self.contenders, self.ctx, st, self.report, self.captures, self.save)
        else:
            # Compiled contenders only at the ranks asked for (their warm-up is slow).
            run_layers([p for p in points if p.r in ranks], self.contenders, self.ctx, st, self.report,
                       self.captures, self.save)
            run_layers([p for p in points if p.r not in ranks], [c for c in self.contenders if not c.compiled],
                       self.ctx, st, self.report, self.captures, self.save)
            for L in self.report["layers"]:
                for c in self.contenders:
                    if c.compiled and L["r"] not in ranks:
                        L["results"].setdefault(c.name, {"status": "skipped",
                                                         "reason": f"compiled contenders run at r in {ranks} only"})
        self.report["wall"]["layers_s"] = time.monotonic() - t0
        self.save()

    def stacks(self) -> None:
        """A decoder-layer stack step (4 LlamaDecoderLayers) with adapters injected."""
        from bench import decoder_stack
        t0 = time.monotonic()
        todo = ([("tiny", 1, 2, 16, 8)] if self.mode == "dry-run" else
                [("smollm2-135m", 4, 4, 256, 32)] + ([("llama3-8b", 4, 4, 256, 32)] if self.mode == "full" else []))
        for size, layers, batch, seq, r in todo:
            if time.monotonic() > self.deadline:
                self.report["decoder_stack"].append({"size": size, "skipped": "time budget spent"})
                continue
            self.report["decoder_stack"].append(decoder_stack.run_stack(
                size, layers, batch, seq, r, self.ctx, self.cfg["reps"], self.cfg["warmup"], self.l2_bytes,
                deadline=self.deadline))
            self.save()
        self.report["wall"]["stack_s"] = time.monotonic() - t0

    def _children_allowed(self) -> bool:
        """Whether the fresh-process measurements run (else the reason is recorded)."""
        want = self.args.cold_start == "on" or (self.args.cold_start == "auto" and self.cuda)
        if not want:
            self.report["cold_start"] = {"skipped": "needs CUDA (use --cold-start on to force)"
                                         if not self.cuda else "disabled (--cold-start off)"}
            return False
        if self.hyp is None:
            self.report["cold_start"] = {"skipped": f"hyplora unavailable: {self.ctx.hyplora_reason}"}
            return False
        return True

    def _child_timeout(self) -> float:
        # Children may overrun the budget a little, never by minutes.
        return max(60.0, min(180.0, self.deadline + 60.0 - time.monotonic()))

    def cold_start(self) -> None:
        """Cold first call and warm 30-layer load, each in a new process (two targets)."""
        from bench import cold_start
        if not self._children_allowed():
            return
        t0 = time.monotonic()
        self.report["cold_start"] = cold_start.run_cold_start(tiny=self.mode == "dry-run",
                                                              timeout_s=self._child_timeout())
        self.report["wall"]["cold_start_s"] = time.monotonic() - t0
        self.save()

    def untuned(self) -> None:
        """The quick points with the default configs (HYP_AUTOTUNE=0), in a new process."""
        from bench import cold_start
        from bench.shapes import points_for
        if self.mode == "dry-run" or not self._children_allowed():
            return
        if time.monotonic() >= self.deadline + 30.0:
            self.report["untuned"] = {"status": "skipped", "reason": "time budget spent"}
            return
        t0 = time.monotonic()
        pts = [[p.shape.K, p.shape.N, p.r, p.M] for p in points_for("quick")]
        self.report["untuned"] = cold_start.run_untuned(pts, self.cfg["reps"], self.cfg["warmup"],
                                                        self.l2_bytes, timeout_s=self._child_timeout())
        _attach_untuned(self.report)
        self.report["wall"]["untuned_s"] = time.monotonic() - t0
        self.save()

    def autotuning(self) -> None:
        """Configs tried, times, winners, speedup over default, from the runtime's output."""
        from bench import autotune_log
        records, unparsed = [], []
        defaults_cache: dict = {}
        for cap in self.captures:
            recs, bad = autotune_log.parse_text(cap["text"])
            for r in recs:
                r["context"] = cap["context"]
            autotune_log.mark_defaults(recs, _kernel_defaults(self.hyp, cap, defaults_cache))
            records += recs
            unparsed += bad
        for sub in ("first_call", "warm_load"):
            child = (self.report.get("cold_start") or {}).get(sub) or {}
            recs, bad = autotune_log.parse_text("\n".join(child.get("autotune_lines") or []))
            for r in recs:
                r["context"] = f"{sub} child process"
            records += recs
            unparsed += bad
        api_src, api_recs = autotune_log.api_records(self.hyp)
        chosen = api_recs or records
        self._attach_configs(autotune_log.summarize(records))
        self.report["autotune"] = {
            "source": api_src or ("HYP_PRINT_AUTOTUNING output" if records else "n/a"),
            "kernels": autotune_log.summarize(chosen),
            "n_records": len(chosen),
            "unparsed_lines": unparsed[:200],
            # What the runtime printed, verbatim (bounded), for formats we could not read.
            "captured": [{"context": c["context"], "text": c["text"][:4000]} for c in self.captures[:40]],
            "note": None if chosen else
            "no autotuning lines were printed (hyplora unavailable, CPU path, or tuning cached)",
            # The forward's side of the frozen GEMM, tuned per program and M bucket.
            "forward_orders": (list(self.hyp.jit.forward_orders())
                               if self.hyp is not None and hasattr(self.hyp.jit, "forward_orders")
                               else []),
        }

    def _attach_configs(self, kernels: list) -> None:
        """Each of our results gets the configs chosen at its point, and the tuning time."""
        by_context: dict = {}
        for k in kernels:
            by_context.setdefault(k.get("context"), []).append(
                {key: k.get(key) for key in ("kernel", "winner", "winner_time_us", "source",
                                             "n_tried", "tuning_ms")})
        for L in self.report["layers"]:
            label = f"{L['shape']['model']} {L['shape']['K']}->{L['shape']['N']} M={L['M']} r={L['r']}"
            for name, res in L["results"].items():
                if name.startswith("hyplora_") and res.get("status") == "ok":
                    chosen = by_context.get(f"{name} @ {label}")
                    res["autotune"] = chosen if chosen else "n/a"
                    if chosen:
                        res["tuning_ms"] = sum(c["tuning_ms"] or 0.0 for c in chosen)

    def finish(self) -> tuple[str, str | None]:
        from bench import metrics, report as report_mod
        self.report["targets"] = metrics.evaluate_targets(self.report)
        self.report["wall"]["total_s"] = time.monotonic() - self.t_start
        self.save()
        return report_mod.write_all(self.report, self.args.out, self.stem)


def _kernel_defaults(hyp_mod, cap: dict, cache: dict) -> dict:
    """{kernel: default config} for the layer a capture came from, via libhypc."""
    key = (cap.get("variant"), cap.get("convention"), cap.get("K"), cap.get("N"), cap.get("r"))
    if key in cache:
        return cache[key]
    cache[key] = {}
    compile_adapter = getattr(getattr(hyp_mod, "_C", None), "compile_adapter", None)
    if compile_adapter is None or key[0] is None:
        return cache[key]
    try:
        from bench import autotune_log
        out = compile_adapter(key[0], key[1], "bf16", key[2], key[3], key[4])
        if out.get("ok"):
            cache[key] = autotune_log.defaults_from_metadata(out["metadata_json"])
    except Exception:
        pass  # no compiler here: the report then has no default-config times
    return cache[key]


def _attach_untuned(report: dict) -> None:
    """Speedup of tuned over default configs, end to end, per point."""
    un = report.get("untuned") or {}
    if un.get("status") != "ok":
        return
    tuned = {}
    for L in report["layers"]:
        r = L["results"].get("hyplora_hyplora_reference", {})
        if r.get("status") == "ok":
            tuned[(L["shape"]["K"], L["shape"]["N"], L["r"], L["M"])] = r["median_ms"]
    for p in un.get("points", []):
        t = tuned.get((p["K"], p["N"], p["r"], p["M"]))
        p["tuned_median_ms"] = t
        p["speedup_tuned_vs_default"] = p["median_ms"] / t if t else None


def main(argv=None) -> int:
    args = parse_args(argv)
    mode = "dry-run" if args.dry_run else "quick" if args.quick else "full"
    cfg = dict(MODE_DEFAULTS[mode])
    for key in ("reps", "warmup", "time_budget_s", "compile_budget_s"):
        if getattr(args, key) is not None:
            cfg[key] = getattr(args, key)
    os.makedirs(args.out, exist_ok=True)
    # The runtime reads these when hyplora is first used: set them before import.
    own_cache = None
    if args.cache_dir:
        os.environ["HYP_CACHE_DIR"] = args.cache_dir
    else:
        own_cache = tempfile.mkdtemp(prefix="hyp-bench-cache-")
        os.environ["HYP_CACHE_DIR"] = own_cache
    os.environ.setdefault("HYP_PRINT_AUTOTUNING", "1")
    try:
        run = Run(args, mode, cfg)
        m = run.report["meta"]
        print(f"hyplora bench: mode={mode} device={m['card']} torch={m['torch']} commit={m['commit']} "
              f"hyplora={'yes' if run.hyp else 'no (' + str(run.ctx.hyplora_reason) + ')'}")
        if not run.cuda:
            print("  CPU run: CUDA-only contenders are reported as skipped; times are not GPU results")
        # One copy of the per-run parts (shard 0). The fresh-process measurements
        # (cold start, warm load: two targets, ~30 s) go first: after the layers
        # and the stack a call's budget ran out before them (2026-11-26).
        if args.shard[0] == 0:
            run.cold_start()
        run.layers()
        if args.shard[0] == 0:
            if not args.no_stack:
                run.stacks()
            run.untuned()
        run.autotuning()
        md_path, png_path = run.finish()
        from bench.report import summary_text
        print(summary_text(run.report))
        print(f"wrote {run.json_path}\n      {md_path}\n      {png_path or '(no PNG: matplotlib unavailable)'}")
    finally:
        if own_cache:
            shutil.rmtree(own_cache, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
