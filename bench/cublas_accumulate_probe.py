"""What does cuBLAS charge for accumulating into an existing output (beta = 1)?

The adapter adds a rank-r term into the frozen layer's output y = x W^T and into
its input gradient dx = dY W. Adding it *after* cuBLAS costs a read and a write of
y (or dx) in our kernel; writing the term *first* and letting cuBLAS add the
product into it (``y.addmm_(x, W^T)``: beta = 1, C read in the GEMM epilogue,
overlapped with other tiles' main loops) costs only a write in our kernel. This
probe times, per shape, the plain GEMM against the accumulating one (forward
and backward orientation), a bare write of the output, an in-place read and
write of it (the floor of an accumulating kernel) and cuBLAS's own rank-32
accumulation into it (hyp_fwd_up's job with bf16 operands), on rotating inputs
(never zeros), CUDA events, median of ``--reps``:

    python3 bench/cublas_accumulate_probe.py --out probe.json
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench.timing import median_call_us as median_us  # noqa: E402

SHAPES = [(8192, 4096, 4096), (8192, 4096, 1024), (8192, 4096, 14336), (8192, 14336, 4096),
          (1024, 4096, 4096), (1024, 4096, 1024)]


def probe_shape(M: int, K: int, N: int, reps: int) -> dict:
    dev, dt = torch.device("cuda"), torch.bfloat16
    # Enough sets that one rotation moves well past the 50 MiB L2.
    per_set = (M * K + M * N) * 2
    sets = max(2, min(8, -(-3 * 50 * 2**20 // per_set)))
    W = torch.randn(N, K, device=dev, dtype=dt) / K**0.5
    xs = [torch.randn(M, K, device=dev, dtype=dt) for _ in range(sets)]
    dys = [torch.randn(M, N, device=dev, dtype=dt) for _ in range(sets)]
    ys = [torch.randn(M, N, device=dev, dtype=dt) for _ in range(sets)]
    dxs = [torch.randn(M, K, device=dev, dtype=dt) for _ in range(sets)]
    Wt = W.t()
    # A rank-32 update of y through cuBLAS (what hyp_fwd_up does, bf16 operands).
    ws = [torch.randn(M, 32, device=dev, dtype=dt) for _ in range(sets)]
    Bt = (torch.randn(N, 32, device=dev, dtype=dt) / 32**0.5).t()
    # Accumulation must match the plain product plus the start value.
    y0 = ys[0].clone()
    ys[0].addmm_(xs[0], Wt)
    err = (ys[0].float() - (y0.float() + xs[0].float() @ Wt.float())).abs().max().item()
    row = {
        "M": M, "K": K, "N": N,
        "fwd_mm_us": median_us(lambda i: torch.mm(xs[i], Wt), reps, sets),
        "fwd_addmm_beta1_us": median_us(lambda i: ys[i].addmm_(xs[i], Wt), reps, sets),
        "bwd_mm_us": median_us(lambda i: torch.mm(dys[i], W), reps, sets),
        "bwd_addmm_beta1_us": median_us(lambda i: dxs[i].addmm_(dys[i], W), reps, sets),
        "write_y_us": median_us(lambda i: ys[i].fill_(0.5), reps, sets),
        "read_write_y_us": median_us(lambda i: ys[i].mul_(0.5), reps, sets),
        "rank32_addmm_y_us": median_us(lambda i: ys[i].addmm_(ws[i], Bt), reps, sets),
        "write_dx_us": median_us(lambda i: dxs[i].fill_(0.5), reps, sets),
        "zeros_dx_us": median_us(lambda i: torch.zeros(M, K, device=dev, dtype=dt), reps, sets),
        "addmm_abs_err": err,
    }
    row["fwd_extra_us"] = row["fwd_addmm_beta1_us"] - row["fwd_mm_us"]
    row["bwd_extra_us"] = row["bwd_addmm_beta1_us"] - row["bwd_mm_us"]
    return row


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--reps", type=int, default=50)
    p.add_argument("--out", default="")
    a = p.parse_args()
    if not torch.cuda.is_available():
        print("cublas_accumulate_probe: needs a CUDA device (skipped)")
        return 0
    rows = []
    for M, K, N in SHAPES:
        row = probe_shape(M, K, N, a.reps)
        rows.append(row)
        print(json.dumps(row), flush=True)
        if row["addmm_abs_err"] > 0.5:
            print(f"cublas_accumulate_probe: addmm_ disagrees with mm + y0 by {row['addmm_abs_err']}",
                  file=sys.stderr)
            return 1
    report = {"card": torch.cuda.get_device_name(), "torch": torch.__version__, "rows": rows}
    if a.out:
        with open(a.out, "w") as f:
            json.dump(report, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
