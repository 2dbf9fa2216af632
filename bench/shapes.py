"""The layer shapes the suite times, and how --quick / --dry-run pick among them.

A shape is one projection of a real model (in_features K -> out_features N);
a point is a shape at a token count M and adapter rank r. Points are ordered
so the ones the targets are judged on (LLaMA, r = 32) run first: if the time
budget runs out, what is missing is the least important part.
"""
from __future__ import annotations

from dataclasses import dataclass, asdict


@dataclass(frozen=True)
class Shape:
    model: str
    proj: str
    K: int  # in_features
    N: int  # out_features

    @property
    def label(self) -> str:
        return f"{self.K}->{self.N}"


@dataclass(frozen=True)
class Point:
    shape: Shape
    M: int
    r: int

    def as_dict(self) -> dict:
        return {"shape": asdict(self.shape), "M": self.M, "r": self.r}

    @property
    def label(self) -> str:
        return f"{self.shape.model} {self.shape.label} M={self.M} r={self.r}"


LLAMA3_8B = [
    Shape("llama3-8b", "q_proj", 4096, 4096),
    Shape("llama3-8b", "k_proj", 4096, 1024),
    Shape("llama3-8b", "up_proj", 4096, 14336),
    Shape("llama3-8b", "down_proj", 14336, 4096),
]
QWEN25_7B = [
    Shape("qwen2.5-7b", "q_proj", 3584, 3584),
    Shape("qwen2.5-7b", "k_proj", 3584, 512),
    Shape("qwen2.5-7b", "up_proj", 3584, 18944),
    Shape("qwen2.5-7b", "down_proj", 18944, 3584),
]
SMOLLM2_135M = [
    Shape("smollm2-135m", "q_proj", 576, 576),
    Shape("smollm2-135m", "k_proj", 576, 192),
    Shape("smollm2-135m", "up_proj", 576, 1536),
    Shape("smollm2-135m", "down_proj", 1536, 576),
]
# Tiny shapes for the CPU dry run: odd sizes on purpose (K % 8 != 0).
DRY_RUN = [
    Shape("tiny", "q_proj", 72, 72),
    Shape("tiny", "k_proj", 72, 24),
]


def _priority(p: Point) -> tuple:
    model_rank = {"llama3-8b": 0, "qwen2.5-7b": 1, "smollm2-135m": 2}.get(p.shape.model, 3)
    return (p.r != 32, model_rank, p.shape.K, p.shape.N, p.r, p.M)


def points_for(mode: str) -> list[Point]:
    """All points of a mode ('full', 'quick' or 'dry-run'), most important first.

    r = 32 comes first (the targets are stated at r = 32), then LLaMA, Qwen,
    SmolLM2. The points of one (shape, r) are adjacent, so the layer and its
    compiled contenders (compiled once per K, N, r with M dynamic) are built
    once and timed at every M.
    """
    if mode == "dry-run":
        return [Point(DRY_RUN[0], 16, 8), Point(DRY_RUN[0], 33, 8), Point(DRY_RUN[1], 16, 8)]
    if mode == "quick":
        return [Point(s, m, 32) for s in LLAMA3_8B for m in (1024, 8192)]
    if mode != "full":
        raise ValueError(f"unknown mode {mode!r} (expected full, quick or dry-run)")
    pts = [Point(s, m, r) for s in LLAMA3_8B + QWEN25_7B + SMOLLM2_135M
           for r in (16, 32, 64) for m in (1024, 4096, 8192)]
    return sorted(pts, key=_priority)


def shard_points(points: list[Point], index: int, count: int) -> list[Point]:
    """The points of shard index/count: every count-th (shape, r) group, in order.

    One process per GPU runs one shard (bench/run.py --shard); a group stays
    whole so its compiled contenders are built once. bench/report.py --merge
    joins the shards' reports.
    """
    groups: list[list[Point]] = []
    for p in points:
        if groups and (groups[-1][0].shape, groups[-1][0].r) == (p.shape, p.r):
            groups[-1].append(p)
        else:
            groups.append([p])
    return [p for i, group in enumerate(groups) if i % count == index for p in group]
