"""Where a kernel's instructions and stalls go, from Nsight Compute's per-SASS
source page (`ncu -i REPORT --page source --csv --print-source sass`, written by
scripts/gpu_session.sh stage `ncu-source`).

For each kernel: warp instructions executed, the opcode mix (executed and
stall-sampled), the stall reasons, and the "loop levels": groups of SASS
instructions that ran the same number of times, largest first. A main loop
shows up as one level whose count is (warps x iterations); its instruction
count per iteration against its HMMA count is the overhead to cut. This is how
the row-reduce's ~150 overhead instructions per warp and chunk were found
(docs/KERNELS.md, 2026-11-26).

    python3 bench/ncu_sass_summary.py ncu-source-sass.log [--json out.json]
"""
from __future__ import annotations

import argparse
import collections
import csv
import json
import sys


def _num(text: str) -> float:
    try:
        return float(text.replace(",", ""))
    except ValueError:
        return 0.0


def read_kernels(lines) -> dict[str, list[dict]]:
    """{kernel: [row per SASS instruction]} from the CSV (one header per kernel)."""
    kernels: dict[str, list[dict]] = {}
    current, header = None, None
    for row in csv.reader(lines):
        if not row:
            continue
        if row[0] == "Kernel Name":
            current, header = row[1], None
            kernels.setdefault(current, [])
        elif row[0] == "Address":
            header = row
        elif current is not None and header is not None:
            kernels[current].append(dict(zip(header, row)))
    return kernels


def _opcode(source: str) -> str:
    words = source.split()
    if words and words[0].startswith("@"):  # predicate
        words = words[1:]
    return words[0].split(".")[0] if words else "?"


def summarize(rows: list[dict], top: int = 12) -> dict:
    executed = collections.Counter()
    sampled = collections.Counter()
    stalls = collections.Counter()
    levels: dict[int, int] = collections.Counter()
    for r in rows:
        op = _opcode(r.get("Source", ""))
        n = _num(r.get("Instructions Executed", "0"))
        executed[op] += n
        sampled[op] += _num(r.get("Warp Stall Sampling (All Samples)", "0"))
        if n > 0:
            levels[int(n)] += 1
        for col, val in r.items():
            if col.startswith("stall_") and "Not Issued" not in col:
                stalls[col[len("stall_"):]] += _num(val)
    total = sum(executed.values()) or 1.0
    samples = sum(sampled.values()) or 1.0
    stall_total = sum(stalls.values()) or 1.0
    by_weight = sorted(levels.items(), key=lambda kv: kv[0] * kv[1], reverse=True)
    return {
        "sass_instructions": len(rows),
        "warp_instructions_executed": sum(executed.values()),
        "stall_samples": sum(sampled.values()),
        "executed_share": {op: v / total for op, v in executed.most_common(top)},
        "stall_sample_share": {op: v / samples for op, v in sampled.most_common(top)},
        "stall_reasons": {k: v / stall_total for k, v in stalls.most_common(top)},
        # (times each ran, how many SASS instructions ran that often), heaviest first
        "loop_levels": [{"count": c, "instructions": k, "warp_instructions": c * k}
                        for c, k in by_weight[:6]],
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("csv", help="ncu --page source --csv --print-source sass output")
    p.add_argument("--json", help="also write the summaries here")
    a = p.parse_args(argv)
    with open(a.csv, newline="") as f:
        kernels = read_kernels(f)
    if not kernels:
        print(f"ncu_sass_summary: no 'Kernel Name' sections in {a.csv}", file=sys.stderr)
        return 1
    out = {name: summarize(rows) for name, rows in kernels.items()}
    for name, s in out.items():
        print(f"== {name}: {s['sass_instructions']} SASS, "
              f"{s['warp_instructions_executed'] / 1e6:.2f} M warp instructions, "
              f"{s['stall_samples']:.0f} stall samples")
        print("   executed: " + ", ".join(f"{k} {v:.1%}" for k, v in s["executed_share"].items()))
        print("   stalls:   " + ", ".join(f"{k} {v:.1%}" for k, v in s["stall_reasons"].items()))
        print("   levels:   " + ", ".join(f"{lv['instructions']} x {lv['count']}"
                                          for lv in s["loop_levels"]))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
