"""PNG plots of an analysis run (matplotlib, headless Agg backend)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _pyplot():
    import matplotlib
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    return plt


def rank_frequency(freq: np.ndarray, path: Path, title: str) -> None:
    plt = _pyplot()
    f = np.sort(freq)[::-1]
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.loglog(np.arange(1, f.size + 1), f, ".", ms=3)
    ax.set_xlabel("rank")
    ax.set_ylabel("token frequency")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _power_law_ccdf(f: np.ndarray, gamma: float, x_min: float) -> np.ndarray:
    """P(F >= f | F >= x_min) = zeta(gamma, f) / zeta(gamma, x_min)."""
    try:
        from scipy.special import zeta
        return zeta(gamma, f) / zeta(gamma, x_min)
    except ImportError:
        k = np.arange(x_min, x_min + 10**6)
        tail = np.cumsum((k ** -gamma)[::-1])[::-1]
        return tail[(f - x_min).astype(int)] / tail[0]


def frequency_count(freq: np.ndarray, gamma: float, x_min: float, path: Path, title: str) -> None:
    """Left: how many distinct tokens have each frequency (p(f)); right: the CCDF
    P(F >= f), the view Clauset et al. recommend (no binning, no noisy tail);
    both with the fitted discrete power law above x_min."""
    plt = _pyplot()
    values, counts = np.unique(freq, return_counts=True)
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(9, 4))
    ax.loglog(values, counts / freq.size, "o", ms=3, label="data p(f)")
    ccdf = 1.0 - np.concatenate(([0.0], np.cumsum(counts)[:-1])) / freq.size
    bx.loglog(values, ccdf, "o", ms=3, label="data P(F >= f)")
    tail = values[values >= x_min]
    if tail.size and np.isfinite(gamma) and gamma > 1:
        share = np.sum(freq >= x_min) / freq.size
        fitted = share * _power_law_ccdf(tail, gamma, x_min)
        label = f"fit gamma={gamma:.2f}, x_min={x_min:g}"
        ax.loglog(tail, share * (fitted / share - _power_law_ccdf(tail + 1, gamma, x_min)), "-", label=label)
        bx.loglog(tail, fitted, "-", label=label)
    ax.set_xlabel("frequency f")
    ax.set_ylabel("fraction of distinct tokens")
    bx.set_xlabel("frequency f")
    bx.set_ylabel("P(F >= f)")
    for a in (ax, bx):
        a.legend()
        a.grid(True, which="both", alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def norm_vs_frequency(freq: np.ndarray, norm: np.ndarray, bins: list, rho: float, path: Path, title: str) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.scatter(freq, norm, s=3, alpha=0.25, label="tokens")
    if bins:
        x = [b["mean_freq"] for b in bins]
        ax.errorbar(x, [b["mean_norm"] for b in bins], yerr=[b["std_norm"] for b in bins],
                    fmt="o-", color="C3", capsize=3, label="binned mean +- std")
    ax.set_xscale("log")
    ax.set_xlabel("token frequency in the data")
    ax.set_ylabel("input-embedding norm")
    ax.set_title(f"{title} (Spearman rho={rho:.3f})")
    ax.legend()
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def delta_histogram(values: np.ndarray, path: Path, title: str) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.hist(values, bins=40)
    ax.axvline(float(np.mean(values)), color="C3", label=f"mean {np.mean(values):.3f} +- {np.std(values):.3f}")
    ax.set_xlabel("relative delta 2 delta_w / diam (base = first token)")
    ax.set_ylabel("prompts")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
