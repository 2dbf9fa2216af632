"""What would a single pass over dY pay to reduce its partial sums across blocks?

hyp_bwd_dy (P = dY B, row-reduce) and hyp_bwd_db (dB = dY^T w, column-reduce)
each read dY once. One kernel could read it once for both, but whichever way
it tiles dY, one of the two products is split across blocks: a block owning
BM rows x BN columns holds a partial of P's BM x r rows (summed over BN
columns) and of dB's BN x r rows (summed over BM rows). This probe times that
reduction alone, at the sizes of the layer (M = 8192, r = 32), in Triton:

- `atomic`: every block adds its partial tiles into one fp32 M x r buffer with
  atomics (`tl.atomic_add`, relaxed), `adds` partials per element;
- `store`: every block stores its partials into their own slots (adds x M x r
  fp32: the reduction then needs another read of them).

Each program walks `steps` row tiles (as a streaming kernel would) so
scheduling does not dominate. Compare with reading dY itself: M x N bf16 at
the card's copy rate (64 MiB, ~22 us on an H100 at N = 4096).

    python3 bench/atomic_probe.py --out atomics.json
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


LAUNCHES = 20

if triton is not None:
    @triton.jit
    def _partials(dst_ptr, M, R: tl.constexpr, BM: tl.constexpr, STEPS: tl.constexpr,
                  ATOMIC: tl.constexpr):
        part = tl.program_id(0)  # which of the `adds` partials of an element
        chunk = tl.program_id(1)  # which run of STEPS row tiles
        ks = tl.arange(0, R)
        val = tl.full((BM, R), 1.0, tl.float32) + part
        for s in range(STEPS):
            rows = (chunk * STEPS + s) * BM + tl.arange(0, BM)
            mask = rows[:, None] < M
            if ATOMIC:
                tl.atomic_add(dst_ptr + rows[:, None] * R + ks[None, :], val, mask=mask,
                              sem="relaxed")
            else:
                tl.store(dst_ptr + part * M * R + rows[:, None] * R + ks[None, :], val, mask=mask)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--M", type=int, default=8192)
    p.add_argument("--r", type=int, default=32)
    p.add_argument("--adds", type=int, nargs="+", default=[8, 16, 64],
                   help="partials per element (N / BN for P; M / BM for dB)")
    p.add_argument("--reps", type=int, default=30)
    p.add_argument("--out", default="")
    a = p.parse_args()
    if triton is None or not torch.cuda.is_available():
        print("atomic_probe: needs Triton and a CUDA device (skipped)")
        return 0
    dev = torch.device("cuda")
    rows = []
    for adds in a.adds:
        for atomic in (True, False):
            for BM, steps, warps in ((32, 8, 4), (64, 8, 4), (64, 32, 4), (128, 8, 8)):
                chunks = triton.cdiv(a.M, BM * steps)
                dst = torch.zeros((1 if atomic else adds) * a.M * a.r, device=dev, dtype=torch.float32)
                grid = (adds, chunks)
                fn = lambda i: _partials[grid](dst, a.M, a.r, BM, steps, atomic,  # noqa: E731
                                               num_warps=warps)
                try:
                    # Launched from Python each kernel costs ~30 us of host time, more
                    # than its GPU time: time LAUNCHES launches replayed as one graph.
                    fn(0)
                    graph = torch.cuda.CUDAGraph()
                    with torch.cuda.graph(graph):
                        for _ in range(LAUNCHES):
                            fn(0)
                    us = median_us(lambda i: graph.replay(), a.reps) / LAUNCHES
                except Exception as e:  # a config that does not compile is a row, not a stop
                    rows.append({"adds": adds, "atomic": atomic, "BM": BM, "steps": steps,
                                 "error": f"{type(e).__name__}: {e}"[:200]})
                    continue
                elems = adds * a.M * a.r
                row = {"adds": adds, "atomic": atomic, "BM": BM, "steps": steps, "warps": warps,
                       "us": us, "elements": elems, "g_elements_per_s": elems / us / 1e3}
                # Checked once per row: every element got `adds` partials 1 .. adds.
                dst.zero_()
                fn(0)
                torch.cuda.synchronize()
                want = adds * (adds + 1) / 2
                got = dst.view(-1, a.M * a.r) if not atomic else dst.view(1, -1)
                row["check_ok"] = bool(torch.allclose(
                    got.sum(0) if not atomic else got[0], torch.full_like(got[0], want)))
                rows.append(row)
                print(json.dumps(row), flush=True)
    if a.out:
        with open(a.out, "w") as f:
            json.dump({"card": torch.cuda.get_device_name(), "M": a.M, "r": a.r, "rows": rows}, f,
                      indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
