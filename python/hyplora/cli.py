"""The `hyplora` command line: finetune, eval, compare, analyze, compile.

Argument problems exit with status 2 and a one-line message naming the argument
(argparse's convention); problems found while running (missing data set, model,
adapter, a diverging loss) exit with status 1 and "hyplora: error: ...".
Heavy imports (torch, transformers) happen inside the commands, so `--help` and
argument errors are instant.
"""
import argparse
import math
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path

from . import data as datasets
from .finetune import PAPER_TARGET_MODULES, AdapterSettings, FinetuneError, TrainSettings

VARIANTS = ("hyplora", "hyplora_simplified", "lora")
CONVENTIONS = ("reference", "lorentz")
PAPER_ALPHA = {"hyplora": 128.0, "hyplora_simplified": 128.0, "lora": 64.0}
SET_GROUPS = {"math": ("mawps", "SVAMP", "gsm8k", "AQuA"),
              "commonsense": datasets.COMMONSENSE_TEST_SETS}


class UsageError(Exception):
    """A bad argument combination found after parsing (exits 2 like argparse's own)."""


# ---------------------------------------------------------------- shared arguments

def _int_at_least(minimum):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not an integer")
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {value}")
        return value
    return parse


_positive_int = _int_at_least(1)
_nonnegative_int = _int_at_least(0)


def _finite_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number")
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be finite, got {text}")
    return value


def _positive_float(text):
    value = _finite_float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def _probability(text):
    value = _finite_float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {text}")
    return value


def _name_list(text):
    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names:
        raise argparse.ArgumentTypeError("empty list")
    return names


def _int_list(text):
    try:
        return [int(part) for part in _name_list(text)]
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a comma-separated list of integers")


def _add_model_arguments(parser):
    parser.add_argument("--model", default="smollm2-135m",
                        help="registry name (smollm2-135m: embedded SmolLM2-135M-Instruct) or a "
                             "transformers model directory (default: %(default)s)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"),
                        help="default: cuda when available")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument("--run-label", default=None,
                        help="label stored in the outputs (e.g. cpu-reduced)")


def _add_adapter_arguments(parser):
    group = parser.add_argument_group("adapter (paper defaults, HYPLORA.md section 1)")
    group.add_argument("--variant", default="hyplora", choices=VARIANTS)
    group.add_argument("--convention", default="reference", choices=CONVENTIONS,
                       help="reference: the paper's code (1/K time recompute); lorentz: textbook")
    group.add_argument("--r", "--rank", dest="r", type=_positive_int, default=32)
    group.add_argument("--alpha", type=_positive_float, default=None,
                       help="default 128 (hyplora), 64 (lora)")
    group.add_argument("--curvature", type=_finite_float, default=1.0,
                       help="raw curvature k (K = softplus(k)); default %(default)s")
    group.add_argument("--dropout", type=_probability, default=0.05)
    group.add_argument("--target-modules", type=_name_list, default=list(PAPER_TARGET_MODULES),
                       help="comma-separated module names (default: %(default)s)")
    group.add_argument("--use-rslora", action="store_true", help="scaling alpha/sqrt(r)")


def _add_train_arguments(parser):
    group = parser.add_argument_group("training")
    group.add_argument("--lr", "--learning-rate", dest="lr", type=_positive_float, default=3e-4)
    group.add_argument("--epochs", type=_positive_float, default=3.0)
    group.add_argument("--steps", type=_nonnegative_int, default=0,
                       help="optimizer steps (overrides --epochs when > 0)")
    group.add_argument("--batch-size", type=_positive_int, default=16, help="examples per step")
    group.add_argument("--micro-batch-size", type=_positive_int, default=4,
                       help="examples per forward/backward (batch-size must be a multiple)")
    group.add_argument("--cutoff-len", type=_positive_int, default=256)
    group.add_argument("--warmup-steps", type=int, default=-1, help="-1: min(100, 10%% of steps)")
    group.add_argument("--seed", type=int, default=42)
    group.add_argument("--precision", default="auto", choices=("auto", "fp32", "bf16", "fp16"),
                       help="auto: bf16 autocast on CUDA, fp32 on CPU")
    group.add_argument("--trainer", default="hyplora", choices=("hyplora", "hf"),
                       help="hyplora: our loop; hf: transformers.Trainer")
    group.add_argument("--log-every", type=_positive_int, default=1)


def _adapter_settings(args) -> AdapterSettings:
    alpha = args.alpha if args.alpha is not None else PAPER_ALPHA[args.variant]
    return AdapterSettings(variant=args.variant, convention=args.convention, r=args.r, alpha=alpha,
                           curvature=args.curvature, dropout=args.dropout,
                           target_modules=list(args.target_modules), use_rslora=args.use_rslora)


def _train_settings(args) -> TrainSettings:
    if args.batch_size % args.micro_batch_size:
        raise UsageError(f"--batch-size {args.batch_size} is not a multiple of "
                         f"--micro-batch-size {args.micro_batch_size}")
    if args.cutoff_len < 8:
        raise UsageError(f"--cutoff-len must be >= 8, got {args.cutoff_len}")
    if args.warmup_steps < -1:
        raise UsageError(f"--warmup-steps must be >= -1, got {args.warmup_steps}")
    return TrainSettings(learning_rate=args.lr, epochs=args.epochs, max_steps=args.steps,
                         batch_size=args.batch_size, micro_batch_size=args.micro_batch_size,
                         cutoff_len=args.cutoff_len, warmup_steps=args.warmup_steps, seed=args.seed,
                         precision=args.precision, trainer=args.trainer, log_every=args.log_every,
                         progress=not args.no_progress)


def _device(args):
    import torch
    if args.device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if args.device == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda: torch sees no CUDA device")
    return args.device


def base_dtype(precision: str):
    """The frozen base model's dtype for a --precision (None: load_model's default,
    bf16 on CUDA / fp32 on CPU). Adapter parameters are fp32 whatever this is."""
    return {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}.get(precision)


def expand_sets(names) -> list:
    """Set names with groups (math, commonsense) expanded and names made canonical."""
    result = []
    for name in names:
        group = SET_GROUPS.get(name.lower())
        for member in group or (name,):
            canonical = datasets.set_name_of(member)
            if canonical not in result:
                result.append(canonical)
    return result


def _check_sets(names):
    try:
        return expand_sets(names)
    except datasets.DataError as err:
        raise UsageError(str(err))


# ---------------------------------------------------------------- finetune

def add_finetune_arguments(parser):
    _add_model_arguments(parser)
    parser.add_argument("--data", default="mawps",
                        help="data set name, mixture (math) or .json path (default: %(default)s)")
    parser.add_argument("--split", default="train", help="split of a named set (default: %(default)s)")
    parser.add_argument("--max-examples", type=_positive_int, default=None,
                        help="use only the first N training records")
    parser.add_argument("--output-dir", default="runs/finetune",
                        help="adapter, finetune.json, train_log.jsonl (default: %(default)s)")
    _add_adapter_arguments(parser)
    _add_train_arguments(parser)


def run_finetune(args) -> int:
    from .finetune import finetune
    from .models import load_model

    adapter, train = _adapter_settings(args), _train_settings(args)
    records = datasets.load_dataset(args.data, args.split)
    if args.max_examples:
        records = records[:args.max_examples]
    device = _device(args)
    if args.precision in ("bf16", "fp16") and device == "cpu":
        raise UsageError(f"--precision {args.precision} needs a CUDA device (the CPU path is fp32)")
    label = f" [{args.run_label}]" if args.run_label else ""
    print(f"[hyplora] finetune{label}: model {args.model}, data {args.data}/{args.split} "
          f"({len(records)} records), {adapter.variant}/{adapter.convention} r={adapter.r} "
          f"alpha={adapter.alpha}, device {device}", flush=True)
    model, tokenizer = load_model(args.model, dtype=base_dtype(args.precision), device=device)
    info = finetune(model, tokenizer, records, adapter, train, args.output_dir,
                    extra_info={"model": args.model, "data": args.data, "split": args.split,
                                "run_label": args.run_label})
    s = info["summary"]
    print(f"[hyplora] finetune{label} done: {s['steps']} steps, loss {s['first_loss']} -> "
          f"{s['last_loss']}, {s['tokens_per_s']} tokens/s, {s['train_wall_s']} s; "
          f"adapter in {args.output_dir}", flush=True)
    return 0


# ---------------------------------------------------------------- eval

def add_eval_arguments(parser):
    _add_model_arguments(parser)
    parser.add_argument("--adapter", default=None,
                        help="a `hyplora finetune` output directory (default: the base model alone)")
    parser.add_argument("--sets", type=_name_list, default=["mawps"],
                        help="comma-separated sets or groups (math, commonsense) (default: mawps)")
    parser.add_argument("--limit", type=_positive_int, default=None,
                        help="evaluate only the first N questions of each set")
    parser.add_argument("--batch-size", type=_positive_int, default=16)
    parser.add_argument("--max-new-tokens", type=_positive_int, default=None,
                        help="default 256 for math sets, 32 for commonsense")
    parser.add_argument("--output", default=None,
                        help="directory (or .json path) for eval.json + eval.md "
                             "(default: <adapter>/eval, or runs/eval)")


def run_eval(args) -> int:
    from .evaluate import evaluate_set, results_table, write_results
    from .finetune import attach_adapter, read_run_info
    from .models import load_model

    sets = _check_sets(args.sets)
    if args.adapter is not None:
        read_run_info(args.adapter)  # fail before loading the model if it is not an adapter dir
    output = args.output or (str(Path(args.adapter) / "eval") if args.adapter else "runs/eval")
    device = _device(args)
    label = f" [{args.run_label}]" if args.run_label else ""
    model, tokenizer = load_model(args.model, device=device)
    run_info = attach_adapter(model, args.adapter) if args.adapter else None
    results = []
    for name in sets:
        records = datasets.load_dataset(name, "test")[:args.limit]
        results.append(evaluate_set(model, tokenizer, name, records, args.batch_size,
                                    args.max_new_tokens, progress=not args.no_progress))
        print(f"[hyplora] eval{label} {name}: {results[-1]['correct']}/{results[-1]['total']} "
              f"= {100 * results[-1]['accuracy']:.1f}%", flush=True)
    title = f"{args.model}" + (f" + adapter {args.adapter}" if args.adapter else " (no adapter)") + label
    header = {"title": title, "model": args.model, "adapter": args.adapter, "limit": args.limit,
              "device": device, "run_label": args.run_label,
              "adapter_settings": run_info["adapter"] if run_info else None}
    json_path, md_path = write_results(output, results, header)
    print(results_table(results, title))
    print(f"[hyplora] wrote {json_path} and {md_path}")
    return 0


# ---------------------------------------------------------------- compare, analyze

def run_compare(args) -> int:
    from .compare import run_compare as run
    return run(args)


def _analysis_entry_points():
    """(add_arguments, run) of `analyze` (hyplora.analysis); if that package cannot be
    imported, a stand-in whose run reports why, so the command never silently vanishes."""
    try:
        from .analysis import add_analyze_arguments, run_analyze  # owned by the analysis engineer
    except ImportError as err:
        reason = f"hyplora analyze is unavailable: {err}"

        def unavailable(args):
            raise ValueError(reason)
        return (lambda parser: parser.add_argument("rest", nargs=argparse.REMAINDER)), unavailable
    return add_analyze_arguments, run_analyze


# ---------------------------------------------------------------- main

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hyplora", description="Hyperbolic low-rank fine-tuning (HypLoRA) of LLMs.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    add_finetune_arguments(commands.add_parser(
        "finetune", help="train an adapter on instruction data"))
    add_eval_arguments(commands.add_parser(
        "eval", help="accuracy of a model (+ adapter) on reasoning sets"))
    from .compare import add_compare_arguments as add_compare
    add_compare(commands.add_parser(
        "compare", help="LoRA vs HypLoRA (reference, lorentz) over seeds: report JSON + markdown"))
    _analysis_entry_points()[0](commands.add_parser(
        "analyze", help="power law, norms and delta-hyperbolicity of a model's embeddings"))
    from .compile_command import add_compile_arguments
    add_compile_arguments(commands.add_parser(
        "compile", help="the kernels the JIT compiles for one layer shape (no GPU needed)"))
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    sub = parser._subparsers._group_actions[0].choices[args.command]
    from .compile_command import run_compile
    runners = {"finetune": run_finetune, "eval": run_eval, "compare": run_compare,
               "analyze": _analysis_entry_points()[1], "compile": run_compile}
    from .evaluate import EvalError
    from .models import ModelError
    try:
        return int(runners[args.command](args) or 0)
    except UsageError as err:
        sub.error(str(err))  # exits 2
    except (datasets.DataError, FinetuneError, EvalError, ModelError, ValueError, OSError) as err:
        # Our errors (all ValueError subclasses) and the core's (ValueError, FileNotFoundError)
        # carry a message meant for the user; HYP_DEBUG=1 shows the traceback instead.
        if os.environ.get("HYP_DEBUG") == "1":
            raise
        print(f"hyplora: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("hyplora: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
