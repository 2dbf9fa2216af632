"""`hyplora compare`: LoRA vs HypLoRA (reference) vs HypLoRA (lorentz), same budget.

Every (seed, variant) run starts from the same freshly loaded base model, trains
the same number of optimizer steps on the same data order (the seed fixes both
the adapter init and the shuffling), then evaluates on the same test questions.
The report (compare.json + compare.md in --output-dir) is rewritten after every
run, so a run cut short by a time limit still leaves its finished part.
Defaults are sized for about 8 minutes on one H100 (SmolLM2-135M, 3 x 3 runs):
shorten --steps / --eval-limit for smaller budgets. On a machine of several GPUs,
start one process per GPU with --shard I/N (and CUDA_VISIBLE_DEVICES): they share
the output dir and merge their runs into one report under a file lock.
"""
import fcntl
import json
import os
import statistics
import time
from dataclasses import asdict
from pathlib import Path

# name -> (variant, convention, alpha): alphas as the paper (LoRA baseline 64)
COMPARE_VARIANTS = {
    "lora": ("lora", "reference", 64.0),
    "hyplora-reference": ("hyplora", "reference", 128.0),
    "hyplora-lorentz": ("hyplora", "lorentz", 128.0),
}


def add_compare_arguments(parser):
    from .cli import _add_model_arguments, _int_list, _name_list, _positive_int, _positive_float
    _add_model_arguments(parser)
    parser.add_argument("--output-dir", required=True, help="where compare.json / compare.md go")
    parser.add_argument("--variants", type=_name_list, default=list(COMPARE_VARIANTS),
                        help=f"comma-separated, from {', '.join(COMPARE_VARIANTS)}")
    parser.add_argument("--seeds", type=_int_list, default=[0, 1, 2])
    parser.add_argument("--train-data", default="math", help="default: math (MAWPS train)")
    parser.add_argument("--steps", type=_positive_int, default=100, help="optimizer steps per run")
    parser.add_argument("--batch-size", type=_positive_int, default=16)
    parser.add_argument("--micro-batch-size", type=_positive_int, default=16)
    parser.add_argument("--lr", type=_positive_float, default=3e-4)
    parser.add_argument("--r", type=_positive_int, default=32)
    parser.add_argument("--cutoff-len", type=_positive_int, default=256)
    parser.add_argument("--precision", default="auto", choices=("auto", "fp32", "bf16", "fp16"))
    parser.add_argument("--eval-sets", type=_name_list, default=["mawps", "SVAMP", "gsm8k"])
    parser.add_argument("--eval-limit", type=_positive_int, default=100,
                        help="questions per set (default: %(default)s)")
    parser.add_argument("--eval-batch-size", type=_positive_int, default=100)
    parser.add_argument("--max-new-tokens", type=_positive_int, default=64)
    parser.add_argument("--shard", type=parse_shard, default=(0, 1), metavar="I/N",
                        help="run only every N-th planned run, starting at the I-th (0-based), "
                             "merging into the shared report; one process per GPU (default: 0/1)")
    parser.add_argument("--budget-s", type=float, default=480.0,
                        help="start no run that would end past this many seconds (mean run time "
                             "so far as the estimate); 0 = no limit (default: %(default)s)")


def parse_shard(text):
    """'I/N' -> (I, N), 0 <= I < N: one process per GPU (also bench/run.py --shard)."""
    import argparse
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not I/N (e.g. 0/2)")
    if not 0 <= index < count:
        raise argparse.ArgumentTypeError(f"shard '{text}': need 0 <= I < N")
    return index, count


def _mean_std(values):
    values = [v for v in values if v is not None]
    if not values:
        return None, None
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def aggregate(runs, variants, sets) -> dict:
    table = {}
    for name in variants:
        mine = [r for r in runs if r["variant"] == name]
        if not mine:
            continue
        row = {"runs": len(mine), "seeds": [r["seed"] for r in mine]}
        for set_name in sets:
            row[set_name] = _mean_std([r["accuracy"].get(set_name) for r in mine])
        row["average"] = _mean_std([statistics.fmean(r["accuracy"].values()) for r in mine])
        for key in ("train_wall_s", "tokens_per_s", "steady_tokens_per_s", "eval_wall_s", "last_loss"):
            row[key] = _mean_std([r.get(key) for r in mine])
        table[name] = row
    return table


def markdown(report) -> str:
    sets = report["settings"]["eval_sets"]
    lines = [f"### {report['title']}", "",
             "| variant | runs | " + " | ".join(sets)
             + " | average | train s | tokens/s | steady tokens/s | final loss |",
             "|---|---:|" + "---:|" * (len(sets) + 5)]

    def cell(pair, scale=1.0, digits=1):
        mean, std = pair
        return "-" if mean is None else f"{scale * mean:.{digits}f} ± {scale * std:.{digits}f}"
    for name, row in report["summary"].items():
        lines.append(f"| {name} | {row['runs']} | " + " | ".join(cell(row[s], 100) for s in sets)
                     + f" | {cell(row['average'], 100)} | {cell(row['train_wall_s'])} | "
                     f"{cell(row['tokens_per_s'], digits=0)} | "
                     f"{cell(row.get('steady_tokens_per_s', (None, None)), digits=0)} | "
                     f"{cell(row['last_loss'], digits=3)} |")
    settings = report["settings"]
    lines += ["", f"Accuracy % (mean ± std over seeds {settings['seeds']}), first {settings['eval_limit']} "
              f"questions of each test set, greedy decoding, max {settings['max_new_tokens']} new tokens. "
              f"Training: {settings['steps']} steps x {settings['batch_size']} examples of "
              f"{settings['train_data']}, lr {settings['lr']}, r {settings['r']}, device "
              f"{report['device']}. Wall-clock and tokens/s are of the training loop only; "
              "steady tokens/s is the median step rate of the second half of the steps (the first "
              "steps of a process also compile and autotune the kernels of each layer shape)."]
    if report.get("stopped_early"):
        lines += ["", f"Stopped early ({report['stopped_early']}): variants may have fewer seeds."]
    if report.get("missing"):
        lines += ["", "Not run (yet): " + ", ".join(f"{v} seed {s}" for s, v in report["missing"]) + "."]
    return "\n".join(lines) + "\n"


def _one_run(args, name, seed, device, train_records, test_records, run_dir) -> dict:
    """Fine-tunes one variant from a fresh base model and evaluates it; the report row."""
    import torch

    from .cli import base_dtype
    from .evaluate import evaluate_set
    from .finetune import AdapterSettings, TrainSettings, finetune
    from .models import load_model

    variant, convention, alpha = COMPARE_VARIANTS[name]
    print(f"[hyplora] compare: {name} seed {seed}", flush=True)
    model, tokenizer = load_model(args.model, dtype=base_dtype(args.precision), device=device)
    adapter = AdapterSettings(variant=variant, convention=convention, r=args.r, alpha=alpha)
    train = TrainSettings(learning_rate=args.lr, max_steps=args.steps, batch_size=args.batch_size,
                          micro_batch_size=args.micro_batch_size, cutoff_len=args.cutoff_len,
                          seed=seed, precision=args.precision, progress=not args.no_progress)
    info = finetune(model, tokenizer, train_records, adapter, train, run_dir,
                    extra_info={"model": args.model})
    eval_start = time.perf_counter()
    accuracy = {}
    for set_name, records in test_records.items():
        result = evaluate_set(model, tokenizer, set_name, records, args.eval_batch_size,
                              args.max_new_tokens, progress=not args.no_progress)
        accuracy[set_name] = result["accuracy"]
    summary = info["summary"]
    print(f"[hyplora] compare: {name} seed {seed}: "
          + ", ".join(f"{k} {100 * v:.1f}%" for k, v in accuracy.items())
          + f", {summary['tokens_per_s']} tokens/s", flush=True)
    del model
    if device == "cuda":
        torch.cuda.empty_cache()
    return {"variant": name, "seed": seed, "adapter": asdict(adapter), "accuracy": accuracy,
            "train_wall_s": summary["train_wall_s"], "tokens_per_s": summary["tokens_per_s"],
            "steady_tokens_per_s": summary.get("steady_tokens_per_s"),
            "first_loss": summary["first_loss"], "last_loss": summary["last_loss"],
            "eval_wall_s": round(time.perf_counter() - eval_start, 3)}


def _finished_runs(path: Path, settings: dict, device: str) -> list:
    """Runs an earlier, cut-short invocation wrote to the same output dir.

    A device session may stop a comparison part-way (its report is rewritten
    after every run); calling again with the same settings continues it. Other
    settings or another device in that file are refused: the table would mix
    budgets.
    """
    from .cli import UsageError

    if not path.exists():
        return []
    try:
        old = json.loads(path.read_text())
        old_settings, runs = old["settings"], old["runs"]
    except (ValueError, KeyError, TypeError) as err:
        raise UsageError(f"{path} exists but is not a compare report ({err}): use another --output-dir")
    differing = sorted(k for k in set(settings) | set(old_settings)
                       if k not in ("seeds", "variants") and settings.get(k) != old_settings.get(k))
    if old.get("device") != device:
        differing.append(f"device ({old.get('device')} vs {device})")
    if differing:
        raise UsageError(f"{path} holds runs with other settings ({', '.join(differing)}): "
                         "use another --output-dir, or the same settings to continue it")
    return list(runs)


def _merge_and_write(output: Path, report: dict, mine: list, everything: list, sets: list) -> None:
    """Rewrites compare.json/.md with this process's runs merged into what the file holds.

    Shards on other GPUs write the same report, so the read-merge-write runs under
    an exclusive lock, and each file is replaced atomically: a reader (or a call
    cut short by its time limit) never sees half a report.
    """
    with open(output / ".compare.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        runs = {(r["seed"], r["variant"]): r
                for r in _finished_runs(output / "compare.json", report["settings"], report["device"])}
        for run in mine:
            runs.setdefault((run["seed"], run["variant"]), run)
        order = {key: i for i, key in enumerate(everything)}
        report["runs"] = sorted(runs.values(),
                                key=lambda r: order.get((r["seed"], r["variant"]), len(order)))
        report["summary"] = aggregate(report["runs"], report["settings"]["variants"], sets)
        report["missing"] = [[seed, name] for seed, name in everything if (seed, name) not in runs]
        for name, text in (("compare.json", json.dumps(report, indent=2) + "\n"),
                           ("compare.md", markdown(report))):
            partial = output / f".{name}.partial"
            partial.write_text(text)
            os.replace(partial, output / name)


def run_compare(args) -> int:
    import torch

    from . import data as datasets
    from .cli import UsageError, _device, expand_sets

    unknown = [v for v in args.variants if v not in COMPARE_VARIANTS]
    if unknown:
        raise UsageError(f"unknown variant(s) {', '.join(unknown)} (use {', '.join(COMPARE_VARIANTS)})")
    if args.batch_size % args.micro_batch_size:
        raise UsageError(f"--batch-size {args.batch_size} is not a multiple of "
                         f"--micro-batch-size {args.micro_batch_size}")
    try:
        sets = expand_sets(args.eval_sets)
    except datasets.DataError as err:
        raise UsageError(str(err))
    device = _device(args)
    output = Path(args.output_dir)
    output.mkdir(parents=True, exist_ok=True)
    train_records = datasets.load_dataset(args.train_data, "train")
    test_records = {name: datasets.load_dataset(name, "test")[:args.eval_limit] for name in sets}
    gpu = torch.cuda.get_device_name(0) if device == "cuda" else "cpu"
    settings = {"model": args.model, "train_data": args.train_data, "train_records": len(train_records),
                "steps": args.steps, "batch_size": args.batch_size,
                "micro_batch_size": args.micro_batch_size, "lr": args.lr, "r": args.r,
                "cutoff_len": args.cutoff_len, "precision": args.precision, "seeds": args.seeds,
                "variants": args.variants, "eval_sets": sets, "eval_limit": args.eval_limit,
                "max_new_tokens": args.max_new_tokens}
    report = {"title": f"LoRA vs HypLoRA on {args.model}" +
              (f" [{args.run_label}]" if args.run_label else ""),
              "device": gpu, "run_label": args.run_label, "settings": settings, "runs": []}
    report_path = output / "compare.json"
    done = {(r["seed"], r["variant"]) for r in _finished_runs(report_path, settings, gpu)}
    if done:
        print(f"[hyplora] compare: resuming, {len(done)} run(s) already in {report_path}", flush=True)
    everything = [(seed, name) for seed in args.seeds for name in args.variants]
    shard, shards = args.shard
    planned = [key for i, key in enumerate(everything) if i % shards == shard and key not in done]
    mine = []
    started = time.perf_counter()
    last_run_s = 0.0
    for index, (seed, name) in enumerate(planned):
        elapsed = time.perf_counter() - started
        if index and args.budget_s > 0 and elapsed + last_run_s > args.budget_s:
            report["stopped_early"] = (f"budget {args.budget_s:.0f} s: {index} of {len(planned)} runs "
                                       f"done in {elapsed:.0f} s" + (f" (shard {shard}/{shards})"
                                                                     if shards > 1 else ""))
            print(f"[hyplora] compare: stopping, {report['stopped_early']}", flush=True)
            break
        run_start = time.perf_counter()
        mine.append(_one_run(args, name, seed, device, train_records, test_records,
                             output / "runs" / f"{name}-seed{seed}"))
        last_run_s = time.perf_counter() - run_start
        report["total_wall_s"] = round(time.perf_counter() - started, 1)
        _merge_and_write(output, report, mine, everything, sets)
    report["total_wall_s"] = round(time.perf_counter() - started, 1)
    _merge_and_write(output, report, mine, everything, sets)
    print(markdown(report))
    print(f"[hyplora] compare: wrote {output / 'compare.json'} and {output / 'compare.md'} "
          f"({report['total_wall_s']} s)")
    return 0
