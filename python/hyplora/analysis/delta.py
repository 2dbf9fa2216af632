"""Gromov delta-hyperbolicity of a finite point set (Euclidean distances).

Definitions used everywhere in this package (see docs/ANALYSIS.md):

* Gromov product with base point w:  (x|y)_w = (d(x,w) + d(y,w) - d(x,y)) / 2.
* Fixed-base delta:  delta_w = max_{x,y,z} [ min((x|z)_w, (z|y)_w) - (x|y)_w ]
  = max_{i,j} [ (G_w (max,min) G_w)_{ij} - (G_w)_{ij} ], with G_w the Gromov
  product matrix and (max,min) the tropical matrix product.  This is what the
  HypLoRA reference code (after Khrulkov et al. 2020) computes with w = the
  first point.
* Exact delta (the four-point definition):  delta = max_w delta_w
  = max over quadruples of (S1 - S2) / 2, S1 >= S2 >= S3 the three pair sums
  d(x,y)+d(z,w), d(x,z)+d(y,w), d(x,w)+d(y,z).
* For every base point:  delta_w <= delta <= 2 delta_w  (Gromov's base change
  lemma), so a fixed-base number is a lower bound, and twice it an upper one.
* Relative delta:  2 delta / diam(X)  (0 for a tree metric; 1 is the worst case).

Every quadruple contains a smallest index, so the exact delta only needs, for
base point w, the points with index > w: n^4 / 4 work instead of n^4.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Iterator, Optional

import torch

# CPU blocks materialise a (rows x n x n) tensor; keep it near this many elements.
_CPU_BLOCK_ELEMENTS = 1 << 22
_GPU_BLOCK_ELEMENTS = 1 << 27


@dataclass
class DeltaResult:
    """One delta measurement; unpacks as ``delta, relative_delta``.

    ``kind`` says which quantity this is: ``"exact"`` (four-point delta of the
    whole set), ``"fixed_base"`` (delta_w for ``base_point``: a lower bound on
    the exact one, at least half of it) or ``"sampled_exact"`` (mean of the
    exact delta over random subsets of ``subset_size`` points; each subset value
    is a lower bound on the full set's delta).
    """

    delta: float
    relative_delta: float
    diameter: float
    n: int
    kind: str
    backend: str
    seconds: float
    base_point: Optional[int] = None
    subset_size: Optional[int] = None
    repeats: Optional[int] = None
    delta_std: Optional[float] = None
    relative_delta_std: Optional[float] = None
    relative_delta_ci95: Optional[tuple] = None
    samples: list = field(default_factory=list)

    def __iter__(self) -> Iterator[float]:
        yield self.delta
        yield self.relative_delta

    def to_dict(self) -> dict:
        return asdict(self)


def _check_points(points) -> torch.Tensor:
    if not isinstance(points, torch.Tensor):
        points = torch.as_tensor(points)
    if points.dim() != 2:
        raise ValueError(f"delta_hyperbolicity: points must be an (n x d) matrix, got shape {tuple(points.shape)}")
    if points.shape[0] < 1 or points.shape[1] < 1:
        raise ValueError(f"delta_hyperbolicity: need at least one point of dimension >= 1, got shape {tuple(points.shape)}")
    if not (points.is_floating_point() or points.dtype in (torch.int32, torch.int64)):
        raise ValueError(f"delta_hyperbolicity: points must be real numbers, got dtype {points.dtype}")
    if not torch.isfinite(points.float() if points.dtype in (torch.bfloat16, torch.float16) else points).all():
        raise ValueError("delta_hyperbolicity: points contain NaN or Inf")
    return points


def pairwise_distances(points: torch.Tensor, dtype: Optional[torch.dtype] = None) -> torch.Tensor:
    """Euclidean distance matrix with an exact zero diagonal and exact symmetry.

    Always computed in float64 (the squared-norm expansion loses digits in
    float32), then returned as float64 on the CPU (the oracle) or float32 on a
    GPU (what the kernel reads) unless ``dtype`` says otherwise.
    """
    if dtype is None:
        dtype = torch.float64 if points.device.type == "cpu" else torch.float32
    x = points.to(torch.float64)
    d = torch.cdist(x, x, compute_mode="use_mm_for_euclid_dist")
    d = 0.5 * (d + d.T)
    d.fill_diagonal_(0.0)
    return d.to(dtype)


def gromov_products(distances: torch.Tensor, base_point: int) -> torch.Tensor:
    """G_w[i, j] = (d(i,w) + d(j,w) - d(i,j)) / 2 for the base point w."""
    to_base = distances[base_point]
    return 0.5 * (to_base[:, None] + to_base[None, :] - distances)


def max_min_excess(g: torch.Tensor, block_elements: int = _CPU_BLOCK_ELEMENTS) -> torch.Tensor:
    """max_{i,j} [ max_k min(g[i,k], g[k,j]) - g[i,j] ]  (a 0-dim tensor, >= 0).

    Blocked over rows i and over k so at most ``block_elements`` intermediate
    values exist at once. In exact arithmetic the term k = i is
    min(g_ii, g_ij) = g_ij, so the excess is >= 0; the result is clamped at 0 so
    that rounding in a degenerate triangle cannot make it negative.
    """
    n = g.shape[0]
    if n == 0:
        return g.new_zeros(())
    k_block = n if n * n <= block_elements else max(1, block_elements // n)
    row_block = max(1, block_elements // (n * k_block))
    best = g.new_zeros(())
    for i0 in range(0, n, row_block):
        gi = g[i0:i0 + row_block]                      # rows x n
        # The excess is symmetric in (i, j): columns before i0 were covered by
        # earlier row blocks, so only j >= i0 (half the work on average).
        g_right = g[:, i0:]
        maxmin = None
        for k0 in range(0, n, k_block):
            part = torch.minimum(gi[:, k0:k0 + k_block, None], g_right[None, k0:k0 + k_block, :]).amax(dim=1)
            maxmin = part if maxmin is None else torch.maximum(maxmin, part)
        best = torch.maximum(best, (maxmin - gi[:, i0:]).max())
    return best


def fixed_base_delta_from_distances(distances: torch.Tensor, base_point: int = 0,
                                    block_elements: Optional[int] = None) -> torch.Tensor:
    """delta_w of a distance matrix (a 0-dim tensor)."""
    if block_elements is None:
        block_elements = _CPU_BLOCK_ELEMENTS if distances.device.type == "cpu" else _GPU_BLOCK_ELEMENTS
    return max_min_excess(gromov_products(distances, base_point), block_elements)


def exact_delta_from_distances(distances: torch.Tensor, block_elements: Optional[int] = None,
                               per_base: bool = False):
    """Four-point delta = max_w delta_w, each quadruple visited once (base = its smallest index).

    With ``per_base`` also returns the tensor of the partial maxima per base
    point (those are delta_w restricted to points after w, NOT delta_w).
    """
    if block_elements is None:
        block_elements = _CPU_BLOCK_ELEMENTS if distances.device.type == "cpu" else _GPU_BLOCK_ELEMENTS
    n = distances.shape[0]
    partial = distances.new_zeros(max(n, 1))
    for w in range(max(0, n - 3)):                        # fewer than 3 later points: no quadruple
        rest = distances[w + 1:, w + 1:]
        to_base = distances[w, w + 1:]
        g = 0.5 * (to_base[:, None] + to_base[None, :] - rest)
        partial[w] = max_min_excess(g, block_elements)
    best = partial.max() if n else distances.new_zeros(())
    return (best, partial) if per_base else best


def _resolve_device(points: torch.Tensor, device) -> torch.device:
    if device is None or device == "auto":
        return points.device if points.device.type != "cpu" else torch.device("cpu")
    return torch.device(device)


def delta_hyperbolicity(points, base_point: Optional[int] = None, sample: Optional[int] = None,
                        repeats: int = 10, seed: int = 0, device=None, backend: str = "auto") -> DeltaResult:
    """Gromov delta of the rows of ``points`` (n x d) under Euclidean distance.

    * ``base_point=None, sample=None``: the exact (four-point) delta, O(n^4 / 4).
    * ``base_point=w``: delta_w, O(n^3); exact delta lies in [delta_w, 2 delta_w].
    * ``sample=m``: the exact delta of ``repeats`` random subsets of m points
      (the protocol of Khrulkov et al. 2020); mean, std and a 95% interval of
      the mean are reported. Combine with ``base_point`` to sample delta_w instead
      (then the base point is the first point of each subset).
    ``backend``: "auto" (the CUDA kernel through the JIT runtime when the
    points are on a GPU and the runtime is available, else torch), "torch", or
    "jit". Returns a DeltaResult that unpacks as (delta, relative_delta).
    """
    points = _check_points(points)
    n = points.shape[0]
    if base_point is not None and not (0 <= int(base_point) < n):
        raise ValueError(f"delta_hyperbolicity: base_point {base_point} out of range for {n} points")
    if sample is not None:
        if int(sample) < 1 or int(sample) > n:
            raise ValueError(f"delta_hyperbolicity: sample size {sample} must be in [1, {n}]")
        if repeats < 1:
            raise ValueError(f"delta_hyperbolicity: repeats must be >= 1, got {repeats}")
    if backend not in ("auto", "torch", "jit"):
        raise ValueError(f"delta_hyperbolicity: unknown backend {backend!r} (auto, torch, jit)")
    dev = _resolve_device(points, device)
    points = points.to(dev)

    if sample is None:
        return _delta_of_set(points, base_point, backend)

    gen = torch.Generator().manual_seed(seed)
    t0 = time.perf_counter()
    runs = []
    for _ in range(repeats):
        idx = torch.randperm(n, generator=gen)[:int(sample)].to(dev)
        runs.append(_delta_of_set(points[idx], 0 if base_point is not None else None, backend))
    deltas = torch.tensor([r.delta for r in runs], dtype=torch.float64)
    rels = torch.tensor([r.relative_delta for r in runs], dtype=torch.float64)
    std = float(deltas.std()) if repeats > 1 else 0.0
    rel_std = float(rels.std()) if repeats > 1 else 0.0
    half = 1.96 * rel_std / math.sqrt(repeats)
    return DeltaResult(
        delta=float(deltas.mean()), relative_delta=float(rels.mean()),
        diameter=float(torch.tensor([r.diameter for r in runs]).mean()), n=n,
        kind="sampled_fixed_base" if base_point is not None else "sampled_exact",
        backend=runs[0].backend, seconds=time.perf_counter() - t0,
        base_point=None, subset_size=int(sample), repeats=repeats,
        delta_std=std, relative_delta_std=rel_std,
        relative_delta_ci95=(float(rels.mean()) - half, float(rels.mean()) + half) if repeats > 1 else None,
        samples=[float(r) for r in rels])


def _delta_of_set(points: torch.Tensor, base_point: Optional[int], backend: str) -> DeltaResult:
    t0 = time.perf_counter()
    n = points.shape[0]
    used = "torch-" + points.device.type
    if backend in ("auto", "jit") and points.device.type == "cuda":
        from . import delta_cuda
        reason = delta_cuda.unavailable_reason()
        if reason is None:
            distances = pairwise_distances(points, torch.float32)
            per_base = delta_cuda.four_point_partial_maxima(
                distances, only_base=base_point)
            delta_t = per_base.max()
            used = "jit-" + delta_cuda.launcher_name()
        elif backend == "jit":
            raise RuntimeError(f"delta_hyperbolicity: backend 'jit' unavailable: {reason}")
    elif backend == "jit":
        raise RuntimeError("delta_hyperbolicity: backend 'jit' needs the points on a CUDA device")
    if not used.startswith("jit"):
        distances = pairwise_distances(points)
        if base_point is None:
            delta_t = exact_delta_from_distances(distances)
        else:
            delta_t = fixed_base_delta_from_distances(distances, int(base_point))
    if points.device.type == "cuda":
        torch.cuda.synchronize(points.device)
    diameter = float(distances.max()) if n > 1 else 0.0
    delta = float(delta_t)
    rel = 2.0 * delta / diameter if diameter > 0 else 0.0
    return DeltaResult(delta=delta, relative_delta=rel, diameter=diameter, n=n,
                       kind="exact" if base_point is None else "fixed_base", backend=used,
                       seconds=time.perf_counter() - t0, base_point=base_point)
