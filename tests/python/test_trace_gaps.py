"""bench/trace_gaps.py on a made-up chrome trace whose gaps are known."""
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, REPO)

from bench.trace_gaps import step_breakdown  # noqa: E402


def op(name, tid, ts, dur):
    return {"ph": "X", "cat": "cpu_op", "name": name, "tid": tid, "ts": ts, "dur": dur}


def test_gaps_between_threads_are_counted_once_per_step():
    # Two steps of 100 us: the forward on thread 1 (0-30, with a nested op that
    # must not count twice), the backward on thread 2 (50-80, overlapping a
    # late thread-1 op 70-85), then nothing until the next forward at 100.
    events = []
    for t0 in (0, 100, 200):
        events += [op("fwd", 1, t0, 30), op("inner", 1, t0 + 5, 10),
                   op("bwd", 2, t0 + 50, 30), op("late", 1, t0 + 70, 15)]
    events.append({"ph": "i", "name": "marker without duration", "ts": 10})
    steps = step_breakdown({"traceEvents": events}, "fwd")
    assert len(steps) == 2
    for s in steps:
        assert s["wall_us"] == 100
        assert s["some_thread_busy_us"] == 30 + 35   # 0-30 and 50-85
        assert s["no_thread_busy_us"] == 35
        assert s["threads"] == 2
