"""Markdown table of `hyplora analyze` results, for docs/ANALYSIS.md.

    python -m hyplora.analysis.report docs/analysis/*/analysis.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

COLUMNS = ["data", "tokens (distinct)", "gamma +- se (x_min)", "R, p vs lognormal", "R, p vs exponential",
           "Spearman(norm, freq)", "rel. delta, paper protocol (fixed base)", "same on Gaussian / random vocab rows",
           "rel. delta, exact per prompt", "rel. delta, exact, distinct tokens", "same on Gaussian"]


def row(r: dict) -> list:
    pl, nv, pp, ex = r["power_law"], r["norm_vs_frequency"], r["delta_paper_protocol"], r["delta_exact_distinct_tokens"]
    cmp = pl.get("comparisons", {})

    def lr(alt):
        c = cmp.get(alt)
        return f"{c['R']:+.2f}, {c['p']:.2g}" if c else "-"

    ci = ex.get("relative_delta_ci95")
    exact = f"{ex['relative_delta']:.3f}"
    if ci:
        exact += f" [{ci[0]:.3f}, {ci[1]:.3f}]"
    if ex.get("subset_size"):
        exact += f" ({ex['repeats']} x {ex['subset_size']} of {ex['distinct_tokens']})"
    else:
        exact += f" (all {ex['n']})"
    per_prompt = pp.get("exact_on_subset")
    null_pp = pp.get("null_gaussian")
    null_ex = ex.get("null_gaussian")
    return [
        r.get("labels", {}).get("data", "?"),
        f"{r['tokens']} ({r['distinct_tokens']})",
        f"{pl['gamma']:.2f} +- {pl['sigma']:.2f} ({pl['x_min']:g})",
        lr("lognormal"), lr("exponential"),
        f"{nv['spearman']['rho']:+.3f} (p {nv['spearman']['p']:.2g})",
        f"{pp['relative_delta_mean']:.3f} +- {pp['relative_delta_std']:.3f} ({pp['prompts']} prompts)",
        (f"{null_pp['relative_delta_mean']:.3f} +- {null_pp['relative_delta_std']:.3f} / "
         f"{pp['null_random_vocabulary_rows']['relative_delta_mean']:.3f}") if null_pp else "-",
        f"{per_prompt['exact_relative_mean']:.3f} +- {per_prompt['exact_relative_std']:.3f} "
        f"({per_prompt['prompts']} prompts)" if per_prompt else "-",
        exact,
        f"{null_ex['relative_delta']:.3f}" if null_ex else "-",
    ]


def markdown(paths) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for p in paths:
        lines.append("| " + " | ".join(row(json.loads(Path(p).read_text()))) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    paths = (argv if argv is not None else sys.argv[1:])
    if not paths:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    print(markdown(paths))
    return 0


if __name__ == "__main__":
    sys.exit(main())
