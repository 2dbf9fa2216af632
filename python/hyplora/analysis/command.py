"""`hyplora analyze`: the paper's geometry checks on a model and a data set.

Wiring (in hyplora/cli.py):
    from hyplora.analysis.command import add_analyze_arguments, run_analyze
    p = subparsers.add_parser("analyze", help=...); add_analyze_arguments(p)
    ... return run_analyze(args)          # 0 on success

Writes ``<out>/analysis.json`` and PNG plots; ``analyze()`` is the same thing
for Python callers that already hold a model and tokenizer.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import torch

from . import plots
from .curvature import suggest_curvature
from .delta import delta_hyperbolicity
from .powerlaw_fit import fit_power_law
from .token_stats import DEFAULT_FIELDS, embedding_norms, norm_vs_frequency, token_counts, tokenize_records

DEFAULT_MODEL = "smollm2-135m"
DEFAULT_DATA = "mawps"


def _int_at_least(minimum: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not an integer") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value
    return parse


def add_analyze_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--model", default=DEFAULT_MODEL, help="model name or path (as for finetune)")
    parser.add_argument("--data", default=DEFAULT_DATA, help="data set name (data/<name>/) or JSON path")
    parser.add_argument("--split", default="test", help="which <split>.json of the data set")
    parser.add_argument("--out", default=None, help="output folder (default runs/analyze/<model>-<data>)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N")
    parser.add_argument("--fields", default=",".join(DEFAULT_FIELDS),
                        help="record fields whose text is tokenized (comma separated)")
    parser.add_argument("--limit", type=_int_at_least(0), default=0, help="use only the first N records (0: all)")
    parser.add_argument("--exact-n", type=_int_at_least(4), default=None,
                        help="points per subset for the exact delta of the distinct tokens "
                             "(default: all of them with the GPU kernel, 1024 with torch on a GPU, 256 on the CPU)")
    parser.add_argument("--exact-repeats", type=_int_at_least(1), default=5, help="random subsets when --exact-n < tokens")
    parser.add_argument("--prompt-exact-limit", type=_int_at_least(0), default=100,
                        help="prompts that also get the exact delta beside the fixed-base one")
    parser.add_argument("--delta-backend", default="auto", choices=["auto", "torch", "jit"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-plots", action="store_true", help="JSON only")
    return parser


def run_analyze(args: argparse.Namespace) -> int:
    """Entry point of `hyplora analyze`; returns a process exit code."""
    from hyplora.data import load_dataset        # data sets and model loading belong to the cli package
    from hyplora.models import load_model
    device = _pick_device(args.device)
    records = load_dataset(args.data, args.split)
    if args.limit and args.limit > 0:
        records = records[:args.limit]
    model, tokenizer = load_model(args.model, dtype=torch.float32, device="cpu")
    out = Path(args.out) if args.out else Path("runs") / "analyze" / f"{_slug(args.model)}-{_slug(args.data)}"
    try:
        result = analyze(model, tokenizer, records, out_dir=out, device=device,
                         fields=[f.strip() for f in args.fields.split(",") if f.strip()],
                         exact_n=args.exact_n, exact_repeats=args.exact_repeats,
                         prompt_exact_limit=args.prompt_exact_limit, delta_backend=args.delta_backend,
                         seed=args.seed, make_plots=not args.no_plots,
                         labels={"model": args.model, "data": args.data, "split": args.split})
    except (ValueError, RuntimeError) as err:       # bad input or an unusable backend: a message, not a trace
        print(f"hyplora analyze: error: {err}", file=sys.stderr)
        return 1
    print(summary_text(result))
    print(f"wrote {out / 'analysis.json'}")
    return 0


def _pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(name)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"--device {name}: no CUDA device is available")
    return dev


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in Path(str(text)).name)


def input_embedding_matrix(model) -> torch.Tensor:
    emb = model.get_input_embeddings() if hasattr(model, "get_input_embeddings") else None
    if emb is None or not hasattr(emb, "weight"):
        raise ValueError("the model has no input-embedding matrix (get_input_embeddings().weight)")
    return emb.weight.detach()


def analyze(model, tokenizer, records: Sequence[dict], out_dir: Optional[Path] = None,
            device: torch.device = torch.device("cpu"), fields: Sequence[str] = DEFAULT_FIELDS,
            exact_n: Optional[int] = None, exact_repeats: int = 5, prompt_exact_limit: int = 100,
            delta_backend: str = "auto", seed: int = 0, make_plots: bool = True,
            labels: Optional[dict] = None) -> dict:
    """All measurements of the paper's section on geometry; returns the JSON dict."""
    t_start = time.perf_counter()
    labels = dict(labels or {})
    token_lists = tokenize_records(records, tokenizer, fields)
    counts = token_counts(token_lists)
    emb = input_embedding_matrix(model).to(torch.float32)
    vocab = emb.shape[0]
    bad = [t for t in counts if t >= vocab]
    if bad:
        raise ValueError(f"tokenizer produced id {max(bad)} but the embedding matrix has {vocab} rows")

    # 1. frequencies and the power law
    freq_fit = fit_power_law(list(counts.values()))
    # 2. norm against frequency
    nvf = norm_vs_frequency(counts, embedding_norms(emb))
    # 3a. the paper's per-prompt protocol: fixed base = first token of the prompt
    emb_dev = emb.to(device)
    per_prompt, per_prompt_exact = [], []
    rng = np.random.default_rng(seed)
    exact_idx = set(rng.permutation(len(token_lists))[:max(0, prompt_exact_limit)].tolist())
    for i, ids in enumerate(token_lists):
        if len(ids) < 4:
            continue
        pts = emb_dev[torch.tensor(ids, device=device)]
        fixed = delta_hyperbolicity(pts, base_point=0, backend="torch")
        if fixed.diameter <= 0:
            continue
        per_prompt.append((len(ids), fixed.delta, fixed.relative_delta))
        if i in exact_idx:
            ex = delta_hyperbolicity(pts, backend=delta_backend)
            per_prompt_exact.append((fixed.relative_delta, ex.relative_delta))
    if not per_prompt:
        raise ValueError("no prompt has 4 or more tokens with distinct embeddings")
    rel = np.array([p[2] for p in per_prompt])
    protocol = {
        "what": "per prompt: its tokens' input embeddings, Euclidean distances, delta_w with w = the first "
                "token (the (max,min) product), relative = 2 delta_w / diameter; a lower bound on the "
                "prompt's exact delta, at least half of it",
        "prompts": len(per_prompt), "mean_tokens": float(np.mean([p[0] for p in per_prompt])),
        "relative_delta_mean": float(rel.mean()), "relative_delta_std": float(rel.std()),
        "relative_delta_median": float(np.median(rel)),
        "delta_mean": float(np.mean([p[1] for p in per_prompt])),
    }
    if per_prompt_exact:
        pe = np.array(per_prompt_exact)
        protocol["exact_on_subset"] = {
            "prompts": int(pe.shape[0]),
            "fixed_base_relative_mean": float(pe[:, 0].mean()),
            "exact_relative_mean": float(pe[:, 1].mean()), "exact_relative_std": float(pe[:, 1].std()),
            "ratio_exact_over_fixed_mean": float(np.mean(pe[:, 1] / np.maximum(pe[:, 0], 1e-30))),
        }
    # A yardstick for both protocols: the same numbers for points with no structure
    # beyond second order: Gaussian with the embedding matrix's mean and full
    # covariance (and, per prompt, random rows of the vocabulary).
    gen = torch.Generator().manual_seed(seed)
    sampler = _gaussian_like(emb, gen)

    def gaussian_like(k: int) -> torch.Tensor:
        return sampler(k).to(device)

    null_rel = np.array([delta_hyperbolicity(gaussian_like(p[0]), base_point=0, backend="torch").relative_delta
                         for p in per_prompt])
    rows_rel = np.array([delta_hyperbolicity(emb_dev[torch.randperm(vocab, generator=gen)[:p[0]].to(device)],
                                             base_point=0, backend="torch").relative_delta for p in per_prompt])
    protocol["null_gaussian"] = {
        "what": "same protocol on Gaussian points (embedding matrix's mean and full covariance, same token counts)",
        "relative_delta_mean": float(null_rel.mean()), "relative_delta_std": float(null_rel.std())}
    protocol["null_random_vocabulary_rows"] = {
        "what": "same protocol on random rows of the embedding matrix (same token counts)",
        "relative_delta_mean": float(rows_rel.mean()), "relative_delta_std": float(rows_rel.std())}

    # 3b. exact four-point delta of the distinct tokens the data uses
    distinct = torch.tensor(sorted(counts), device=device)
    points = emb_dev[distinct]
    n_distinct = points.shape[0]
    if exact_n is None:
        exact_n = min(256, n_distinct)                # CPU: ~10 s per subset on one core
        if device.type == "cuda":
            from .delta_cuda import unavailable_reason
            kernel_ok = delta_backend != "torch" and unavailable_reason() is None
            exact_n = n_distinct if kernel_ok else min(1024, n_distinct)
    exact_n = max(4, min(int(exact_n), n_distinct))
    if exact_n < n_distinct:
        ex = delta_hyperbolicity(points, sample=exact_n, repeats=exact_repeats, seed=seed, backend=delta_backend)
        base = delta_hyperbolicity(points, base_point=0, sample=exact_n, repeats=exact_repeats, seed=seed,
                                   backend="torch")
    else:
        ex = delta_hyperbolicity(points, backend=delta_backend)
        base = delta_hyperbolicity(points, base_point=0, backend="torch")
    exact = ex.to_dict()
    exact["fixed_base_same_points"] = {"delta": base.delta, "relative_delta": base.relative_delta,
                                       "kind": base.kind}
    exact["distinct_tokens"] = n_distinct
    null_exact = delta_hyperbolicity(gaussian_like(exact_n), backend=delta_backend)
    exact["null_gaussian"] = {"what": f"exact delta of {exact_n} Gaussian points (matched mean, covariance)",
                              "delta": null_exact.delta, "relative_delta": null_exact.relative_delta}
    # 4. curvature suggestions
    curvature = {"from_paper_protocol": suggest_curvature(protocol["relative_delta_mean"])}
    if ex.relative_delta > 0:
        curvature["from_exact_distinct_tokens"] = suggest_curvature(ex.relative_delta)

    freq = nvf.pop("_freq")
    norm = nvf.pop("_norm")
    nvf.pop("_ids")
    result = {
        "labels": labels,
        "device": str(device),
        "records": len(records),
        "fields": list(fields),
        "tokens": int(sum(counts.values())),
        "distinct_tokens": len(counts),
        "vocab": int(vocab),
        "power_law": freq_fit.to_dict(),
        "norm_vs_frequency": nvf,
        "delta_paper_protocol": protocol,
        "delta_exact_distinct_tokens": exact,
        "curvature": curvature,
        "paper_reference": {"gamma": 1.9, "relative_delta": [0.06, 0.12]},
        "seconds": time.perf_counter() - t_start,
    }
    if out_dir is not None:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        title = f"{labels.get('model', 'model')} on {labels.get('data', 'data')}"
        if make_plots:
            plots.rank_frequency(freq, out_dir / "rank_frequency.png", title)
            plots.frequency_count(freq, freq_fit.gamma, freq_fit.x_min, out_dir / "frequency_count.png", title)
            plots.norm_vs_frequency(freq, norm, nvf["bins"], nvf["spearman"]["rho"],
                                    out_dir / "norm_vs_frequency.png", title)
            plots.delta_histogram(rel, out_dir / "delta_per_prompt.png", title)
            result["plots"] = sorted(p.name for p in out_dir.glob("*.png"))
        (out_dir / "analysis.json").write_text(json.dumps(_jsonable(result), indent=2) + "\n")
    return result


def _gaussian_like(emb: torch.Tensor, gen: torch.Generator):
    """Sampler of Gaussian points with the rows' mean and covariance (jittered Cholesky)."""
    e = emb.detach().to(torch.float64).cpu()
    mu = e.mean(dim=0)
    cov = torch.cov(e.T) if e.shape[0] > 1 else torch.zeros(e.shape[1], e.shape[1], dtype=torch.float64)
    jitter = 1e-9 * float(torch.diagonal(cov).mean().clamp_min(1e-30))
    eye = torch.eye(e.shape[1], dtype=torch.float64)
    chol, info = torch.linalg.cholesky_ex(cov + jitter * eye)
    if int(info) != 0:                                  # singular: fall back to the diagonal
        chol = torch.diag(torch.sqrt(torch.diagonal(cov).clamp_min(0)))
    return lambda k: (mu + torch.randn(k, e.shape[1], generator=gen, dtype=torch.float64) @ chol.T).to(torch.float32)


def _jsonable(x):
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    if isinstance(x, (np.floating, np.integer)):
        return _jsonable(x.item())
    return x


def summary_text(r: dict) -> str:
    pl, nv, pp, ex = r["power_law"], r["norm_vs_frequency"], r["delta_paper_protocol"], r["delta_exact_distinct_tokens"]
    lines = [
        f"tokens {r['tokens']} ({r['distinct_tokens']} distinct) from {r['records']} records",
        f"power law: gamma = {pl['gamma']:.3f} +- {pl['sigma']:.3f}, x_min = {pl['x_min']:g}, "
        f"tail {pl['n_tail']}/{pl['n']} ({pl['method']}); paper: ~1.9",
    ]
    for alt, c in pl["comparisons"].items():
        lines.append(f"  vs {alt}: R = {c['R']:+.3f}, p = {c['p']:.3g} (R > 0 favours the power law)")
    sp = nv["spearman"]
    lines.append(f"norm vs frequency: Spearman rho = {sp['rho']:+.3f} (p = {sp['p']:.2g}, n = {sp['n']})")
    lines.append(f"relative delta, paper protocol (fixed base, per prompt): {pp['relative_delta_mean']:.4f} "
                 f"+- {pp['relative_delta_std']:.4f} over {pp['prompts']} prompts; paper: 0.06-0.12")
    lines.append(f"  same protocol on matched Gaussian points: {pp['null_gaussian']['relative_delta_mean']:.4f} "
                 f"+- {pp['null_gaussian']['relative_delta_std']:.4f}; on random vocabulary rows: "
                 f"{pp['null_random_vocabulary_rows']['relative_delta_mean']:.4f}")
    if "exact_on_subset" in pp:
        e = pp["exact_on_subset"]
        lines.append(f"  exact per prompt on {e['prompts']} prompts: {e['exact_relative_mean']:.4f} "
                     f"(fixed-base on the same: {e['fixed_base_relative_mean']:.4f})")
    ci = ex.get("relative_delta_ci95")
    extra = f", 95% CI [{ci[0]:.4f}, {ci[1]:.4f}]" if ci else ""
    if ex.get("subset_size"):
        extra += f" over {ex['repeats']} random subset(s) of {ex['subset_size']}"
    lines.append(f"relative delta, exact four-point, distinct tokens ({ex['kind']}, {ex['backend']}): "
                 f"{ex['relative_delta']:.4f}{extra}")
    lines.append(f"  exact on matched Gaussian points (n = {ex['subset_size'] or ex['n']}): "
                 f"{ex['null_gaussian']['relative_delta']:.4f}")
    cur = r["curvature"]["from_paper_protocol"]
    lines.append(f"suggested curvature (Khrulkov rule, heuristic): c = {cur['c']:.3g}, K = {cur['K']:.3g}, "
                 f"raw k = {cur['raw_k']:.3g}")
    return "\n".join(lines)
