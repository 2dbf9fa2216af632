#!/usr/bin/env python3
"""Adds up lit's and pytest's result counts into the one closing line CI reads.

Exit status is non-zero if anything failed or if no test ran at all, so a
broken build that silently runs nothing can never look green.
"""
import re
import sys


def lit_counts(text):
    counts = {"passed": 0, "failed": 0, "skipped": 0}
    for label, n in re.findall(r"^\s*(Passed|Failed|Unsupported|Skipped|Excluded|Expectedly Failed|Unexpectedly Passed|Unresolved|Timed Out)\s*:\s*(\d+)", text, re.M):
        n = int(n)
        if label in ("Passed", "Expectedly Failed"):
            counts["passed"] += n
        elif label in ("Unsupported", "Skipped", "Excluded"):
            counts["skipped"] += n
        else:
            counts["failed"] += n
    return counts


def pytest_counts(text):
    counts = {"passed": 0, "failed": 0, "skipped": 0}
    tail = [l for l in text.splitlines() if re.search(r"\b(passed|failed|error|skipped|no tests ran)\b", l)]
    if not tail:
        return counts, False
    last = tail[-1]
    for n, what in re.findall(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed)", last):
        n = int(n)
        if what in ("passed", "xfailed"):
            counts["passed"] += n
        elif what in ("skipped",):
            counts["skipped"] += n
        else:
            counts["failed"] += n
    return counts, True


def main():
    lit_text = open(sys.argv[1]).read()
    py_text = open(sys.argv[2]).read()
    total = lit_counts(lit_text)
    py, ok = pytest_counts(py_text)
    if not ok:
        print("pytest printed no summary: counting it as a failure")
        total["failed"] += 1
    for k in total:
        total[k] += py[k]
    print(f"lit: {lit_counts(lit_text)}  pytest: {py}")
    print(f"{total['passed']} passed, {total['failed']} failed, {total['skipped']} skipped")
    if total["failed"] or total["passed"] == 0:
        sys.exit(1)


if __name__ == "__main__":
    main()
