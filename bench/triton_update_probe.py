"""How fast can y += w B^T (y bf16 M x N, w M x r, B N x r) go on this card?

hyp_fwd_up moves y's bytes at ~1.3 TB/s (H100, 4096 x 4096, M = 8192, r = 32)
where an in-place torch mul_ of y reaches ~2.75 TB/s. This probe times the
same update written in Triton over a grid of tile shapes (and, for the memory
pattern alone, an in-place tile copy y *= 1 with the same tiles), so the gap
can be placed: the tile shape, the access pattern, or our kernels.

    python3 bench/triton_update_probe.py --out probe.json
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench.timing import median_call_us as median_us  # noqa: E402

try:
    import triton
    import triton.language as tl
except ImportError:  # the dev machine's CPU torch has no Triton
    triton = None


if triton is not None:
    @triton.jit
    def _update(y_ptr, w_ptr, b_ptr, M, N, R: tl.constexpr, BM: tl.constexpr, BN: tl.constexpr,
                DOT: tl.constexpr):
        pid_m = tl.program_id(0)
        pid_n = tl.program_id(1)
        rows = pid_m * BM + tl.arange(0, BM)
        cols = pid_n * BN + tl.arange(0, BN)
        ks = tl.arange(0, R)
        mask = (rows[:, None] < M) & (cols[None, :] < N)
        y = tl.load(y_ptr + rows[:, None] * N + cols[None, :], mask=mask, other=0.0)
        if DOT:
            w = tl.load(w_ptr + rows[:, None] * R + ks[None, :], mask=rows[:, None] < M, other=0.0)
            b = tl.load(b_ptr + cols[None, :] * R + ks[:, None], mask=cols[None, :] < N, other=0.0)
            acc = tl.dot(w, b) + y.to(tl.float32)
        else:
            acc = y.to(tl.float32)
        tl.store(y_ptr + rows[:, None] * N + cols[None, :], acc.to(tl.bfloat16), mask=mask)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--M", type=int, default=8192)
    p.add_argument("--N", type=int, nargs="+", default=[4096, 14336])
    p.add_argument("--r", type=int, default=32)
    p.add_argument("--reps", type=int, default=30)
    p.add_argument("--out", default="")
    p.add_argument("--only", default="",
                   help="one tile BMxBNxWARPS (e.g. 32x256x4) with the dot: for a profiler")
    a = p.parse_args()
    if triton is None or not torch.cuda.is_available():
        print("triton_update_probe: needs Triton and a CUDA device (skipped)")
        return 0
    dev = torch.device("cuda")
    rows = []
    for N in a.N:
        ys = [torch.randn(a.M, N, device=dev, dtype=torch.bfloat16) for _ in range(2)]
        w = torch.randn(a.M, a.r, device=dev, dtype=torch.bfloat16)
        B = torch.randn(N, a.r, device=dev, dtype=torch.bfloat16)
        mul = median_us(lambda i: ys[0].mul_(1.0), a.reps)
        ref = ys[1].float() + w.float() @ B.float().t()
        ys[1].copy_(ys[1])
        tiles = [tuple(int(v) for v in a.only.split("x")) + (1,)] if a.only else None
        for dot in ((True,) if a.only else (True, False)):
            for BM, BN, warps, stages in tiles or ((64, 64, 4, 1), (64, 128, 4, 1), (128, 64, 4, 1),
                                          (128, 128, 4, 1), (128, 128, 8, 1), (32, 256, 4, 1),
                                          (64, 256, 8, 1), (16, 512, 4, 1), (256, 64, 8, 1)):
                grid = (triton.cdiv(a.M, BM), triton.cdiv(N, BN))
                fn = lambda i: _update[grid](ys[0], w, B, a.M, N, a.r, BM, BN, dot,  # noqa: E731
                                           num_warps=warps, num_stages=stages)
                try:
                    us = median_us(fn, a.reps)
                except Exception as e:  # a config that does not compile is a row, not a stop
                    rows.append({"N": N, "BM": BM, "BN": BN, "warps": warps, "dot": dot,
                                 "error": f"{type(e).__name__}: {e}"[:200]})
                    continue
                row = {"N": N, "BM": BM, "BN": BN, "warps": warps, "dot": dot, "us": us,
                       "tb_s": 2 * a.M * N * 2 / us / 1e6, "mul_us": mul}
                rows.append(row)
                print(json.dumps(row), flush=True)
        # One correctness check of the update (fresh y, one launch).
        y = ys[1].clone()
        y0 = y.float().clone()
        _update[(triton.cdiv(a.M, 64), triton.cdiv(N, 64))](y, w, B, a.M, N, a.r, 64, 64, True)
        err = ((y.float() - (y0 + w.float() @ B.float().t())).abs().max() / ref.abs().max()).item()
        print(json.dumps({"N": N, "check_rel_err": err}), flush=True)
    if a.out:
        with open(a.out, "w") as f:
            json.dump({"card": torch.cuda.get_device_name(), "rows": rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
