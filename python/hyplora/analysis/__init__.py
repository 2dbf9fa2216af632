"""Geometry analysis of a model's token embeddings (the paper's motivation, measurable).

Public API:
  delta_hyperbolicity(points, base_point=None, sample=None) -> DeltaResult (unpacks as delta, relative_delta)
  fit_power_law(counts) -> PowerLawFit (unpacks as gamma, x_min)
  spearman(x, y), suggest_curvature(relative_delta), analyze(model, tokenizer, records, ...)
The `hyplora analyze` command: add_analyze_arguments(parser), run_analyze(args) -> exit code.
"""

from .command import add_analyze_arguments, analyze, run_analyze
from .curvature import suggest_curvature
from .delta import DeltaResult, delta_hyperbolicity
from .powerlaw_fit import PowerLawFit, fit_power_law
from .token_stats import spearman

__all__ = ["DeltaResult", "PowerLawFit", "add_analyze_arguments", "analyze", "delta_hyperbolicity",
           "fit_power_law", "run_analyze", "spearman", "suggest_curvature"]
