"""Where a host-bound step's wall time goes between operators (chrome trace).

`bench/host_profile.py --trace` writes torch.profiler chrome traces of a
contender's steps. This reads one and reports, per step (a step starts at
each call of the marker operator, default: the first top-level operator of
the trace's busiest thread), the time some thread ran a top-level operator
and the time no thread did: the hand-offs between Python, the calling thread
and autograd's device thread, and Python itself. With a single autograd node
per step (one adapted layer) the hand-offs are charged to that layer; in a
model they are paid once per step.

    python3 bench/trace_gaps.py TRACE.json [--marker NAME]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys


def top_level(events: list[dict]) -> list[dict]:
    """The operators not nested in another one of the same thread."""
    out = []
    for tid in {e["tid"] for e in events}:
        end = -1.0
        for e in sorted((e for e in events if e["tid"] == tid), key=lambda e: (e["ts"], -e["dur"])):
            if e["ts"] >= end:
                out.append(e)
                end = e["ts"] + e["dur"]
    return sorted(out, key=lambda e: e["ts"])


def step_breakdown(trace: dict, marker: str | None) -> list[dict]:
    ops = [e for e in trace["traceEvents"]
           if e.get("ph") == "X" and e.get("cat") in ("cpu_op", "cuda_runtime", "cuda_driver")]
    tops = top_level(ops)
    if not tops:
        return []
    if marker is None:
        marker = tops[0]["name"]
    starts = [e["ts"] for e in tops if e["name"] == marker]
    steps = []
    for t0, t1 in zip(starts, starts[1:]):
        inside = [e for e in tops if t0 <= e["ts"] < t1]
        busy, cursor, per_thread = 0.0, t0, {}
        for e in inside:  # the union of the threads' operator intervals
            s, f = max(e["ts"], cursor), min(e["ts"] + e["dur"], t1)
            if f > s:
                busy += f - s
                cursor = f
            per_thread[e["tid"]] = per_thread.get(e["tid"], 0.0) + e["dur"]
        steps.append({"wall_us": t1 - t0, "some_thread_busy_us": busy, "no_thread_busy_us": t1 - t0 - busy,
                      "threads": len(per_thread)})
    return steps


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("trace")
    p.add_argument("--marker", help="operator whose calls start the steps")
    a = p.parse_args()
    with open(a.trace) as f:
        steps = step_breakdown(json.load(f), a.marker)
    if not steps:
        print("trace_gaps: no steps found")
        return 1
    med = lambda k: statistics.median(s[k] for s in steps)
    print(f"{len(steps)} steps (profiled: every operator is inflated by the profiler), median us: "
          f"wall {med('wall_us'):.1f}, some thread in an operator {med('some_thread_busy_us'):.1f}, "
          f"no thread in one {med('no_thread_busy_us'):.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
