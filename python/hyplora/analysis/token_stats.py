"""Token frequencies on a data set, and embedding norm against frequency.

The texts are the prompts a model sees (the record's ``instruction`` and, when
not empty, ``input``); ``fields`` widens that (e.g. add ``output``). Tokens come
from the model's own tokenizer without special tokens, so BOS/EOS do not
dominate the counts.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Iterable, Sequence

import numpy as np
import torch

DEFAULT_FIELDS = ("instruction", "input")


def record_text(record: dict, fields: Sequence[str] = DEFAULT_FIELDS) -> str:
    parts = []
    for f in fields:
        value = record.get(f, "")
        if value is None:
            continue
        if not isinstance(value, str):
            value = str(value)
        if value.strip():
            parts.append(value)
    return "\n".join(parts)


def tokenize_records(records: Iterable[dict], tokenizer, fields: Sequence[str] = DEFAULT_FIELDS) -> list:
    """One list of token ids per record (records whose text is empty are skipped)."""
    out = []
    for r in records:
        text = record_text(r, fields)
        if not text:
            continue
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        if ids:
            out.append([int(i) for i in ids])
    if not out:
        raise ValueError(f"no record has text in the fields {list(fields)}")
    return out


def token_counts(token_lists: Iterable[Sequence[int]]) -> Counter:
    c = Counter()
    for ids in token_lists:
        c.update(ids)
    return c


def rankdata(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n with ties given their average rank (as scipy.stats.rankdata)."""
    x = np.asarray(x, dtype=np.float64)
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(x.size, dtype=np.float64)
    sorted_x = x[order]
    boundaries = np.flatnonzero(np.diff(sorted_x)) + 1
    starts = np.concatenate(([0], boundaries))
    ends = np.concatenate((boundaries, [x.size]))
    for s, e in zip(starts, ends):
        ranks[order[s:e]] = 0.5 * (s + e - 1) + 1.0
    return ranks


def spearman(x, y) -> dict:
    """Spearman rank correlation rho and a two-sided p value.

    rho is the Pearson correlation of the (tie-averaged) ranks. p uses
    t = rho sqrt((n-2)/(1-rho^2)) with n-2 degrees of freedom (scipy's
    approximation) when scipy is installed, else the normal approximation
    z = rho sqrt(n-1), which differs negligibly for the n of a vocabulary.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"spearman: need two 1-D arrays of one length, got {x.shape} and {y.shape}")
    n = x.size
    if n < 3:
        raise ValueError(f"spearman: need at least 3 pairs, got {n}")
    rx, ry = rankdata(x), rankdata(y)
    rx -= rx.mean()
    ry -= ry.mean()
    denom = math.sqrt(float(np.sum(rx * rx) * np.sum(ry * ry)))
    if denom == 0.0:
        return {"rho": float("nan"), "p": float("nan"), "n": n}
    rho = float(np.sum(rx * ry) / denom)
    rho = max(-1.0, min(1.0, rho))
    try:
        from scipy.stats import t as student_t
        if abs(rho) >= 1.0:
            p = 0.0
        else:
            tstat = rho * math.sqrt((n - 2) / (1.0 - rho * rho))
            p = float(2.0 * student_t.sf(abs(tstat), n - 2))
    except ImportError:
        p = math.erfc(abs(rho) * math.sqrt(n - 1) / math.sqrt(2.0))
    return {"rho": rho, "p": p, "n": n}


def embedding_norms(embedding: torch.Tensor) -> np.ndarray:
    """L2 norm of every row of the input-embedding matrix (float64)."""
    if embedding.dim() != 2:
        raise ValueError(f"embedding matrix must be 2-D (vocab x hidden), got {tuple(embedding.shape)}")
    return torch.linalg.vector_norm(embedding.detach().to(torch.float64), dim=1).cpu().numpy()


def norm_vs_frequency(counts: Counter, norms: np.ndarray, bins_per_decade: int = 4) -> dict:
    """Per-token (frequency, norm) pairs, Spearman rho, and log-binned summaries.

    Bins are log-spaced in frequency; each bin reports the count of distinct
    tokens, the mean, std, median and quartiles of their embedding norms.
    Also the mean norm of the vocabulary the data never uses, for contrast.
    """
    ids = np.array(sorted(counts), dtype=np.int64)
    if ids.size and (ids.max() >= norms.size or ids.min() < 0):
        raise ValueError(f"token id {int(ids.max())} outside the embedding matrix ({norms.size} rows)")
    freq = np.array([counts[i] for i in ids], dtype=np.float64)
    norm = norms[ids]
    corr = spearman(freq, norm)
    top = max(1.0, float(freq.max()))
    edges = 10.0 ** np.arange(0.0, math.log10(top) + 1.0 / bins_per_decade + 1e-9, 1.0 / bins_per_decade)
    edges[-1] = max(edges[-1], top * 1.000001)
    bins = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = (freq >= lo) & (freq < hi)
        if not sel.any():
            continue
        v = norm[sel]
        q1, med, q3 = np.percentile(v, [25, 50, 75])
        bins.append({"freq_lo": float(lo), "freq_hi": float(hi), "tokens": int(sel.sum()),
                     "mean_freq": float(freq[sel].mean()), "mean_norm": float(v.mean()),
                     "std_norm": float(v.std()), "median_norm": float(med),
                     "q1_norm": float(q1), "q3_norm": float(q3)})
    unused = np.ones(norms.size, dtype=bool)
    unused[ids] = False
    return {
        "spearman": corr,
        "bins": bins,
        "distinct_tokens": int(ids.size),
        "mean_norm_used": float(norm.mean()),
        "mean_norm_unused": float(norms[unused].mean()) if unused.any() else None,
        "mean_norm_top100": float(norm[np.argsort(-freq, kind="stable")[:100]].mean()),
        "mean_norm_singletons": float(norm[freq == 1].mean()) if (freq == 1).any() else None,
        "_freq": freq, "_norm": norm, "_ids": ids,   # for plots; dropped from the JSON
    }
