"""Same-machine A/B of adapter kernels: the compiler's source against a
textual edit of it, in one process, on one GPU.

A change to a kernel skeleton (passes/emitter/cuda/*.cuh) can be weighed
without a second build of libhypc and without the 3-4% spread between runs
and machines: for each shape, libhypc compiles the layer
(hyplora._C.compile_adapter); the edited source applies every --edit
'OLD=>NEW' (each OLD must occur exactly once; e.g. a constexpr switch that
turns a new code path off); both programs load into the runtime
(runtime_load_program: NVRTC, each autotuned on its first launch) and the
named kernels launch on the same random buffers (never zeros; every metadata
buffer a kernel takes, sized from its symbolic shape). Per kernel: the median
of --reps back-to-back launches, the two sides in turns over --rounds rounds,
the edited side's result compared with the compiler's (same inputs, outputs
zeroed first: they compute the same thing, up to atomics' order), and the
achieved bandwidth of the activation tensors it reads and writes.

    python3 bench/kernel_source_ab.py --out ab.json --kernels hyp_bwd_dx,hyp_bwd_db \\
        --edit 'DH_RING = BASE_BYTES + DH_BYTES <= 48 * 1024=>DH_RING = false'
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench.timing import median_call_us  # noqa: E402

# The M = 8192 LLaMA3-8B projections of the targets, r = 32.
DEFAULT_SHAPES = "4096x4096,4096x1024,4096x14336,14336x4096"
DTYPES = {"f32": torch.float32, "bf16": torch.bfloat16, "f16": torch.float16,
          "f64": torch.float64, "i32": torch.int32}
# Per-row activation buffers (their bytes make the achieved bandwidth).
ACTIVATIONS = ("x", "y", "dY", "dx")


def edited_source(source: str, edits: list[str]) -> str:
    for edit in edits:
        old, sep, new = edit.partition("=>")
        if not sep:
            raise SystemExit(f"kernel_source_ab: --edit '{edit}' is not OLD=>NEW")
        count = source.count(old)
        if count != 1:
            raise SystemExit(f"kernel_source_ab: --edit OLD '{old}' occurs {count} times, not once")
        source = source.replace(old, new)
    return source


def allocate(meta: dict, kernels: list[str], dims: dict, seed: int) -> dict:
    """Random (never zero) tensors for every pointer parameter of `kernels`."""
    g = torch.Generator(device="cuda").manual_seed(seed)
    bufs = {}
    for k in meta["kernels"]:
        if k["name"] not in kernels:
            continue
        for p in k["params"]:
            if p["kind"] != "ptr" or p["name"] in bufs:
                continue
            desc = meta["buffers"][p["name"]]
            shape = [dims[s] if s in dims else int(s) for s in desc["shape"]]
            dt = DTYPES[desc["elem"]]
            if dt == torch.int32:
                bufs[p["name"]] = torch.zeros(shape, device="cuda", dtype=dt)
            else:
                t = torch.randn(shape, device="cuda", dtype=torch.float32, generator=g)
                bufs[p["name"]] = (t / max(1, shape[-1]) ** 0.5 if p["name"] in ("A", "B") else t).to(dt)
    return bufs


def kernel_args(kernel: dict, bufs: dict, dims: dict) -> dict:
    args = {}
    for p in kernel["params"]:
        if p["kind"] == "ptr":
            args[p["name"]] = bufs[p["name"]].data_ptr()
        elif p["kind"] == "f32":
            args[p["name"]] = {"scaling": 4.0, "max_sinh_arg": 12.0}[p["name"]]
        else:
            args[p["name"]] = dims[p["name"]]
    return args


def written(kernel: dict) -> list[str]:
    return [p["name"] for p in kernel["params"] if p["kind"] == "ptr" and p.get("access") != "read"]


def run_shape(C, K: int, N: int, M: int, r: int, kernels: list[str], edits: list[str], reps: int,
              rounds: int, options: str) -> dict:
    out = C.compile_adapter("hyplora", "reference", "bf16", K, N, r, 12.0, options)
    if not out["ok"]:
        raise SystemExit(f"kernel_source_ab: libhypc: {out['error']}")
    meta = json.loads(out["metadata_json"])
    sides = {"compiler": C.runtime_load_program(out["cuda_source"], out["metadata_json"]),
             "edited": C.runtime_load_program(edited_source(out["cuda_source"], edits),
                                              out["metadata_json"])}
    dims = {"M": M, "K": K, "N": N, "r": r}
    bufs = allocate(meta, kernels, dims, seed=K * 7 + N)
    stream = torch.cuda.current_stream().cuda_stream
    row = {"K": K, "N": N, "M": M, "r": r, "kernels": {}}
    for kname in kernels:
        kernel = next((k for k in meta["kernels"] if k["name"] == kname), None)
        if kernel is None:
            raise SystemExit(f"kernel_source_ab: the program has no kernel {kname}")
        args = kernel_args(kernel, bufs, dims)
        launch = {s: (lambda i, p=p: C.runtime_launch_kernel(p, kname, args, stream))
                  for s, p in sides.items()}
        # The same inputs through both sides, outputs zeroed first (accumulate
        # targets must start at zero; write targets are overwritten anyway).
        results = {}
        for s in sides:
            for name in written(kernel):
                bufs[name].zero_()
            launch[s](0)  # (the first launch of a program tunes it)
            for name in written(kernel):
                bufs[name].zero_()
            launch[s](0)
            torch.cuda.synchronize()
            results[s] = {name: bufs[name].float().clone() for name in written(kernel)}
        diff = {name: ((results["edited"][name] - results["compiler"][name]).norm()
                       / results["compiler"][name].norm().clamp_min(1e-30)).item()
                for name in written(kernel)}
        times = {s: [] for s in sides}
        for _ in range(rounds):
            for s in sides:
                times[s].append(median_call_us(launch[s], reps))
        med = {s: sorted(v)[len(v) // 2] for s, v in times.items()}
        act_bytes = sum(bufs[p["name"]].numel() * bufs[p["name"]].element_size()
                        for p in kernel["params"] if p["kind"] == "ptr" and p["name"] in ACTIVATIONS)
        row["kernels"][kname] = {
            "us": med, "rounds_us": times, "edited_over_compiler": med["edited"] / med["compiler"],
            "activation_bytes": act_bytes,
            "activation_tb_s": {s: act_bytes / (us * 1e-6) / 1e12 for s, us in med.items()},
            "rel_diff_of_outputs": diff}
        print(f"{K}->{N} M={M} r={r} {kname}: compiler {med['compiler']:.1f} us, edited "
              f"{med['edited']:.1f} us (edited/compiler {med['edited'] / med['compiler']:.3f}; "
              f"outputs rel. diff {max(diff.values()):.1e})", flush=True)
    return row


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="JSON report path")
    p.add_argument("--kernels", required=True, help="comma-separated kernel names")
    p.add_argument("--edit", action="append", default=[], help="OLD=>NEW (repeatable)")
    p.add_argument("--shapes", default=DEFAULT_SHAPES, help="KxN,... (default: %(default)s)")
    p.add_argument("--M", type=int, default=8192)
    p.add_argument("--r", type=int, default=32)
    p.add_argument("--reps", type=int, default=30)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--options", default="tensor-cores=1", help="libhypc options")
    a = p.parse_args()
    if not a.edit:
        p.error("give at least one --edit")
    if not torch.cuda.is_available():
        print("kernel_source_ab: needs a CUDA device (skipped)")
        return 0
    import hyplora._C as C
    shapes = [tuple(int(v) for v in s.split("x")) for s in a.shapes.split(",")]
    report = {"card": torch.cuda.get_device_name(), "torch": torch.__version__,
              "commit": os.environ.get("HYP_COMMIT", "unknown"), "edits": a.edit,
              "options": a.options, "shapes": []}
    for K, N in shapes:
        report["shapes"].append(run_shape(C, K, N, a.M, a.r, a.kernels.split(","), a.edit, a.reps,
                                          a.rounds, a.options))
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out, "w") as f:
        json.dump(report, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
