"""Time the exact (four-point) delta: CUDA kernel via the JIT runtime vs torch GPU vs CPU.

    python -m hyplora.analysis.bench_delta --n 4096 --out results/analysis-delta.json

Points: rows of SmolLM2-135M's input-embedding matrix (``--points model``; a
random seeded choice of n rows), or Gaussian points (``--points random``);
``auto`` tries the model and falls back to Gaussian. Steps, each recorded in the
JSON (``null`` where it could not run, with the reason):
1. correctness: the kernel's exact and fixed-base deltas against the float64 CPU
   oracle on ``--check-n`` points;
2. CPU exact delta on ``--cpu-n`` points, extrapolated to n by (n / cpu_n)^4;
3. torch-GPU exact delta on ``--torch-n`` points, extrapolated likewise;
4. the kernel's exact delta on n points (skipped when a run on n/2 predicts more
   than ``--budget-s``), and delta_w for one base point.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import torch

from .delta import delta_hyperbolicity


def _points(kind: str, n: int, dim: int, seed: int):
    if kind in ("auto", "model"):
        try:
            from hyplora.models import load_model
            model, _ = load_model("smollm2-135m", dtype=torch.float32, device="cpu")
            emb = model.get_input_embeddings().weight.detach().float()
            gen = torch.Generator().manual_seed(seed)
            idx = torch.randperm(emb.shape[0], generator=gen)[:n]
            return emb[idx].contiguous(), "smollm2-135m input-embedding rows (random, seeded)"
        except Exception as e:  # the model is optional here
            if kind == "model":
                raise
            print(f"[bench_delta] model unavailable ({e}); using Gaussian points", file=sys.stderr)
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, dim, generator=gen), f"Gaussian N(0, I_{dim})"


def _timed(fn):
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    out = fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return out, time.perf_counter() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=4096, help="points for the GPU kernel run")
    ap.add_argument("--out", required=True, help="JSON file to write")
    ap.add_argument("--points", default="auto", choices=["auto", "model", "random"])
    ap.add_argument("--dim", type=int, default=576, help="dimension of Gaussian points")
    ap.add_argument("--cpu-n", type=int, default=192)
    ap.add_argument("--torch-n", type=int, default=768)
    ap.add_argument("--check-n", type=int, default=200)
    ap.add_argument("--budget-s", type=float, default=300.0, help="skip the n-point kernel run beyond this")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if args.n < 4:
        ap.error("--n must be at least 4")

    pts, source = _points(args.points, max(args.n, args.cpu_n, args.check_n, args.torch_n), args.dim, args.seed)
    report = {"n": args.n, "points": source, "dim": int(pts.shape[1]), "host": platform.node(),
              "torch": torch.__version__, "cpu_threads": torch.get_num_threads(),
              "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
              "definitions": "exact = four-point delta (max over all base points); fixed_base = delta_w, w = point 0; "
                             "relative = 2 delta / diameter"}

    # 2. CPU oracle time
    cpu_pts = pts[:args.cpu_n].double()
    r_cpu, t_cpu = _timed(lambda: delta_hyperbolicity(cpu_pts))
    report["cpu"] = {"n": args.cpu_n, "seconds": t_cpu, "delta": r_cpu.delta, "relative_delta": r_cpu.relative_delta,
                     "extrapolated_seconds_at_n": t_cpu * (args.n / args.cpu_n) ** 4}
    print(f"[bench_delta] CPU exact n={args.cpu_n}: {t_cpu:.2f}s (extrapolated to n={args.n}: "
          f"{report['cpu']['extrapolated_seconds_at_n']:.3g}s)")

    if not torch.cuda.is_available():
        report["gpu_skipped"] = "no CUDA device"
        return _write(args.out, report)

    from . import delta_cuda
    reason = delta_cuda.unavailable_reason()
    report["kernel_launcher"] = delta_cuda.launcher_name() if reason is None else None
    report["kernel_unavailable"] = reason

    # 1. correctness against the float64 CPU oracle
    if reason is None:
        chk = pts[:args.check_n]
        ref = delta_hyperbolicity(chk.double())
        got = delta_hyperbolicity(chk.cuda(), backend="jit")
        ref_w = delta_hyperbolicity(chk.double(), base_point=0)
        got_w = delta_hyperbolicity(chk.cuda(), base_point=0, backend="jit")
        report["check"] = {"n": args.check_n, "cpu_exact": ref.delta, "kernel_exact": got.delta,
                           "rel_err_exact": abs(got.delta - ref.delta) / max(ref.delta, 1e-30),
                           "cpu_fixed_base": ref_w.delta, "kernel_fixed_base": got_w.delta,
                           "rel_err_fixed_base": abs(got_w.delta - ref_w.delta) / max(ref_w.delta, 1e-30)}
        print(f"[bench_delta] check n={args.check_n}: rel err exact {report['check']['rel_err_exact']:.2e}, "
              f"fixed-base {report['check']['rel_err_fixed_base']:.2e}")

    # 3. torch on the GPU (the fallback and oracle)
    tp = pts[:args.torch_n].cuda()
    delta_hyperbolicity(tp[:64], backend="torch")                       # warm-up
    r_t, t_t = _timed(lambda: delta_hyperbolicity(tp, backend="torch"))
    report["torch_gpu"] = {"n": args.torch_n, "seconds": t_t, "delta": r_t.delta,
                           "extrapolated_seconds_at_n": t_t * (args.n / args.torch_n) ** 4}
    print(f"[bench_delta] torch GPU exact n={args.torch_n}: {t_t:.2f}s (extrapolated: "
          f"{report['torch_gpu']['extrapolated_seconds_at_n']:.3g}s)")

    # 4. the kernel at n
    if reason is None:
        gp = pts[:args.n].cuda()
        delta_hyperbolicity(gp[:64], backend="jit")                      # compile + warm-up
        half = gp[:max(4, args.n // 2)]
        # The first call at a new size autotunes (every candidate config runs a
        # whole launch, per base-window bucket): time it apart from a tuned call.
        _, t_h_first = _timed(lambda: delta_hyperbolicity(half, backend="jit"))
        r_h, t_h = _timed(lambda: delta_hyperbolicity(half, backend="jit"))
        report["kernel_half"] = {"n": half.shape[0], "seconds": t_h, "first_call_seconds": t_h_first,
                                 "delta": r_h.delta}
        predicted = t_h * (args.n / half.shape[0]) ** 4
        if predicted > args.budget_s:
            report["kernel"] = {"skipped": f"predicted {predicted:.0f}s > budget {args.budget_s:.0f}s"}
        else:
            r_k, t_k = _timed(lambda: delta_hyperbolicity(gp, backend="jit"))  # incl. tuning at n
            r_w, t_w = _timed(lambda: delta_hyperbolicity(gp, base_point=0, backend="jit"))
            r_tw, t_tw = _timed(lambda: delta_hyperbolicity(gp, base_point=0, backend="torch"))
            n = args.n
            report["kernel"] = {
                "n": n, "seconds": t_k, "seconds_include_tuning": True, "delta": r_k.delta, "relative_delta": r_k.relative_delta,
                "quadruple_terms_per_second": (n ** 4 / 8) / t_k,
                "speedup_vs_cpu_extrapolated": report["cpu"]["extrapolated_seconds_at_n"] / t_k,
                "speedup_vs_torch_gpu_extrapolated": report["torch_gpu"]["extrapolated_seconds_at_n"] / t_k,
                "fixed_base": {"seconds": t_w, "delta": r_w.delta, "relative_delta": r_w.relative_delta,
                               "torch_gpu_seconds": t_tw, "torch_gpu_delta": r_tw.delta},
            }
            print(f"[bench_delta] kernel exact n={n}: {t_k:.2f}s, delta {r_k.delta:.4f}, "
                  f"relative {r_k.relative_delta:.4f}; fixed base {t_w * 1e3:.1f} ms (torch {t_tw * 1e3:.1f} ms)")
    return _write(args.out, report)


def _write(path: str, report: dict) -> int:
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"[bench_delta] wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
