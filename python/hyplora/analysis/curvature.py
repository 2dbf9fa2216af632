"""A curvature suggestion from the relative delta: a heuristic, stated as one.

Rule (Khrulkov, Mirvakhabova, Ustinova, Oseledets, Lempitsky, "Hyperbolic Image
Embeddings", CVPR 2020, section 3): for a data set with relative delta
delta_rel = 2 delta / diam, use the Poincare ball of curvature -c with

    c = (0.144 / delta_rel)^2,

where 0.144 is the relative delta they measured for points of the standard
(c = 1) Poincare disk. It only matches one scale-free number of the data to
that of a reference hyperbolic point cloud; it is not derived from a fit of
distances, and HGCN (Chami et al. 2019) uses delta only to rank data sets by
hyperbolicity, not to set the curvature (it learns it). Treat the result as a
starting value for the sweep, not as an answer.

HypLoRA writes the curvature as -1/K with K = softplus(k) + 1e-6 for the raw
adapter parameter k (HYPLORA.md section 3). So K = 1/c and k = softplus^-1(K).
For reference: the four-point delta of the hyperbolic plane of curvature -1/K is
sqrt(K) log 2 (Nica & Spakula 2016), which a data set's absolute delta can be
compared with once the data's distance scale is fixed.
"""

from __future__ import annotations

import math

KHRULKOV_REFERENCE_RELATIVE_DELTA = 0.144


def inverse_softplus(y: float) -> float:
    if y <= 0:
        raise ValueError(f"inverse_softplus: needs y > 0, got {y}")
    return y + math.log(-math.expm1(-y))       # log(exp(y) - 1), stable for large y


def suggest_curvature(relative_delta: float) -> dict:
    """c, K and the raw HypLoRA k suggested by relative delta (see module doc)."""
    if not (relative_delta > 0 and math.isfinite(relative_delta)):
        raise ValueError(f"suggest_curvature: relative delta must be a positive number, got {relative_delta}")
    c = (KHRULKOV_REFERENCE_RELATIVE_DELTA / relative_delta) ** 2
    K = 1.0 / c
    raw_k = inverse_softplus(K - 1e-6) if K > 1e-6 else float("-inf")
    return {
        "rule": "Khrulkov et al. 2020: c = (0.144 / delta_rel)^2; curvature -c = -1/K; K = softplus(k) + 1e-6",
        "relative_delta": relative_delta,
        "c": c,
        "K": K,
        "raw_k": raw_k,
        "caveat": "heuristic matching of one scale-free statistic; use as a starting point of a curvature sweep",
    }
