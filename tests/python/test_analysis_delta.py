"""Gromov delta: exact (four-point), fixed-base, sampled; CPU oracle and the GPU kernel."""

import itertools
import math
import os

import pytest
import torch

from hyplora.analysis import delta_hyperbolicity
from hyplora.analysis.delta import pairwise_distances


def brute_force_four_point(points: torch.Tensor) -> float:
    """O(n^4) reference straight from the definition: max over quadruples of (S1 - S2) / 2."""
    d = pairwise_distances(points.to(torch.float64)).tolist()
    best = 0.0
    for x, y, z, w in itertools.combinations(range(len(d)), 4):
        s = sorted((d[x][y] + d[z][w], d[x][z] + d[y][w], d[x][w] + d[y][z]), reverse=True)
        best = max(best, (s[0] - s[1]) / 2)
    return best


def brute_force_fixed_base(points: torch.Tensor, w: int) -> float:
    """delta_w from the Gromov-product definition, triple loop."""
    d = pairwise_distances(points.to(torch.float64)).tolist()
    n = len(d)
    g = [[(d[i][w] + d[j][w] - d[i][j]) / 2 for j in range(n)] for i in range(n)]
    return max(min(g[i][k], g[k][j]) - g[i][j] for i in range(n) for j in range(n) for k in range(n))


def test_collinear_points_are_a_tree():
    # Points on a line: the metric is a path (a tree), so every quadruple has S1 == S2.
    t = torch.rand(12, dtype=torch.float64) * 10
    direction = torch.randn(5, dtype=torch.float64)
    points = t[:, None] * direction[None, :] + torch.randn(5, dtype=torch.float64)
    delta, rel = delta_hyperbolicity(points)
    # Not exactly zero: the distances come from the squared-norm expansion, whose error in
    # d(i,j) is about eps |x|^2 / d(i,j), largest for the closest pair (a CI seed once gave
    # rel = 1.15e-12). delta moves by at most 2 such errors, rel = 2 delta / diam by 4 / diam;
    # 3000 seeds stayed under 0.38 of that bound, so 4x the bound still catches any real tree
    # violation (which is of the order of the distances).
    d = pairwise_distances(points)
    closest = float(d[~torch.eye(len(d), dtype=torch.bool)].min())
    distance_error = torch.finfo(torch.float64).eps * float(points.norm(dim=1).max()) ** 2 / closest
    diameter = float(d.max())
    assert abs(delta) < 4 * 2 * distance_error
    assert abs(rel) < 4 * 4 * distance_error / diameter


def test_four_points_on_a_circle():
    # Square inscribed in a circle of radius r: sides s = r sqrt2, diagonals 2r.
    # Pair sums: two opposite-side pairs give 2s each, the diagonals give 4r.
    # S1 = 4r, S2 = S3 = 2 sqrt2 r, so delta = (4 - 2 sqrt2) r / 2 = (2 - sqrt2) r
    # and the relative delta is 2 delta / (2r) = 2 - sqrt2.
    r = 1.7
    angles = torch.tensor([0.0, 0.5, 1.0, 1.5], dtype=torch.float64) * math.pi
    points = r * torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)
    delta, rel = delta_hyperbolicity(points)
    assert delta == pytest.approx((2 - math.sqrt(2)) * r, rel=1e-12)
    assert rel == pytest.approx(2 - math.sqrt(2), rel=1e-12)


@pytest.mark.parametrize("n,dim", [(5, 2), (9, 3), (16, 8)])
def test_exact_matches_brute_force(n, dim):
    points = torch.randn(n, dim, dtype=torch.float64) * torch.rand(1, dtype=torch.float64) * 5
    result = delta_hyperbolicity(points)
    assert result.kind == "exact"
    assert result.delta == pytest.approx(brute_force_four_point(points), rel=1e-10, abs=1e-12)


def test_fixed_base_matches_definition_and_brackets_exact():
    points = torch.randn(14, 4, dtype=torch.float64)
    exact = delta_hyperbolicity(points).delta
    assert exact > 0
    for w in range(points.shape[0]):
        fixed = delta_hyperbolicity(points, base_point=w)
        assert fixed.kind == "fixed_base" and fixed.base_point == w
        assert fixed.delta == pytest.approx(brute_force_fixed_base(points, w), rel=1e-10, abs=1e-12)
        # Gromov: delta_w <= delta <= 2 delta_w, i.e. delta_w in [delta / 2, delta].
        assert exact / 2 - 1e-12 <= fixed.delta <= exact + 1e-12


def test_relative_delta_is_scale_invariant_and_in_range():
    points = torch.randn(20, 6, dtype=torch.float64)
    d1, r1 = delta_hyperbolicity(points)
    d2, r2 = delta_hyperbolicity(points * 7.5)
    assert d2 == pytest.approx(7.5 * d1, rel=1e-10)
    assert r2 == pytest.approx(r1, rel=1e-10)
    assert 0 < r1 <= 1


def test_sampled_reports_subsets_and_interval():
    points = torch.randn(40, 5, dtype=torch.float64)
    exact = delta_hyperbolicity(points).delta
    s = delta_hyperbolicity(points, sample=12, repeats=6, seed=3)
    assert s.kind == "sampled_exact" and s.subset_size == 12 and s.repeats == 6 and len(s.samples) == 6
    lo, hi = s.relative_delta_ci95
    assert lo <= s.relative_delta <= hi
    # Delta is monotone under taking subsets: each subset's delta is a lower bound.
    assert s.delta <= exact + 1e-12
    again = delta_hyperbolicity(points, sample=12, repeats=6, seed=3)
    assert again.samples == s.samples


def test_float32_points_agree_with_float64():
    points = torch.randn(24, 16)
    d32 = delta_hyperbolicity(points).delta
    d64 = delta_hyperbolicity(points.double()).delta
    assert d32 == pytest.approx(d64, rel=1e-12)   # distances are computed in float64 on the CPU


@pytest.mark.parametrize("bad,match", [
    (torch.randn(5), "n x d"),
    (torch.tensor([[0.0, 1.0], [float("nan"), 0.0]]), "NaN"),
    (torch.zeros(0, 3), "at least one point"),
])
def test_bad_points_are_rejected(bad, match):
    with pytest.raises(ValueError, match=match):
        delta_hyperbolicity(bad)


def test_bad_arguments_are_rejected():
    points = torch.randn(6, 2)
    with pytest.raises(ValueError, match="base_point"):
        delta_hyperbolicity(points, base_point=6)
    with pytest.raises(ValueError, match="sample size"):
        delta_hyperbolicity(points, sample=7)
    with pytest.raises(ValueError, match="backend"):
        delta_hyperbolicity(points, backend="magic")
    with pytest.raises(RuntimeError, match="CUDA"):
        delta_hyperbolicity(points, backend="jit")


# ------------------------------------------------------------------ GPU

def _gpu_or_skip():
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device: the GPU delta kernel and torch-GPU path are tested on the GPU machine")


def test_torch_gpu_path_matches_cpu_oracle():
    _gpu_or_skip()
    points = torch.randn(70, 32, dtype=torch.float64)
    cpu = delta_hyperbolicity(points).delta
    gpu = delta_hyperbolicity(points.float().cuda(), backend="torch")
    assert gpu.backend == "torch-cuda"
    assert gpu.delta == pytest.approx(cpu, rel=2e-5)


@pytest.mark.parametrize("n", [4, 5, 63, 64, 65, 130, 301])
def test_jit_kernel_matches_cpu_oracle(n):
    _gpu_or_skip()
    from hyplora.analysis import delta_cuda
    reason = delta_cuda.unavailable_reason()
    if reason is not None:
        pytest.skip(f"delta kernel cannot be launched here: {reason}")
    points = torch.randn(n, 48, dtype=torch.float64) * 3
    cpu = delta_hyperbolicity(points)
    gpu = delta_hyperbolicity(points.float().cuda(), backend="jit")
    assert gpu.backend.startswith("jit-")
    # float32 distances (|d| ~ 30, eps 6e-8) against the float64 oracle.
    assert gpu.delta == pytest.approx(cpu.delta, rel=1e-4, abs=1e-4)
    for w in (0, n // 2, n - 1):
        cpu_w = delta_hyperbolicity(points, base_point=w).delta
        gpu_w = delta_hyperbolicity(points.float().cuda(), base_point=w, backend="jit").delta
        assert gpu_w == pytest.approx(cpu_w, rel=1e-4, abs=1e-4)


def test_kernel_metadata_follows_the_contract():
    from hyplora.analysis import delta_cuda
    meta = delta_cuda.kernel_metadata()
    assert meta["schema"] == 1
    (kernel,) = meta["kernels"]
    assert kernel["name"] == delta_cuda.KERNEL_NAME and f"void __launch_bounds__(THREADS)\nhyp_four_point_delta(" \
        in delta_cuda.kernel_source().replace("extern \"C\" __global__ ", "")
    names = [p["name"] for p in kernel["params"]]
    for axis in kernel["grid"]:
        assert axis["extent"] in names
    assert kernel["block"] in [t["name"] for t in kernel["tunables"]]
    assert meta["programs"]["delta"] == [kernel["name"]]
    # the caller must zero an "accumulate" buffer: that is what the atomicMax relies on
    assert {p["name"]: p.get("access") for p in kernel["params"]}["out_bits"] == "accumulate"


def test_runtime_accepts_the_kernel_metadata():
    # The runtime's own parser (no GPU needed): the "untuned" window params and
    # the kernel list must come through, and a launch naming an unknown
    # parameter is refused by name before anything reaches the driver.
    import json
    from hyplora.analysis import delta_cuda
    try:
        from hyplora import _C
        program = _C.runtime_load_program(delta_cuda.kernel_source(), json.dumps(delta_cuda.kernel_metadata()))
    except (ImportError, RuntimeError, AttributeError) as e:
        pytest.skip(f"hyplora._C without the runtime: {e}")
    assert program.kernels == [delta_cuda.KERNEL_NAME]
    assert set(delta_cuda.kernel_metadata()["untuned"]) == {"w_begin", "w_count", "extent"}
    args = dict(D=0, n=8, w_begin=0, w_count=1, after_base=1, extent=7, out_bits=0, bogus=1)
    with pytest.raises(ValueError, match="no parameter 'bogus'"):
        _C.runtime_launch_kernel(program, delta_cuda.KERNEL_NAME, args, 0)
    del args["bogus"], args["n"]
    with pytest.raises(ValueError, match="missing argument 'n'"):
        _C.runtime_launch_kernel(program, delta_cuda.KERNEL_NAME, args, 0)


def _compile_or_skip(tunables=None):
    from hyplora.analysis import delta_cuda
    try:
        return delta_cuda.compile_cubin("sm_90", tunables)
    except RuntimeError as e:
        if "cannot load" in str(e):
            pytest.skip(f"no NVRTC library here: {e}")
        raise


def test_kernel_compiles_with_nvrtc_for_sm90():
    # The configuration the launcher uses (the metadata's defaults); no GPU needed.
    assert _compile_or_skip()[:4] == b"\x7fELF"


@pytest.mark.skipif(not os.environ.get("HYP_SLOW_TESTS"),
                    reason="compiles all 18 tunable combinations (seconds each): set HYP_SLOW_TESTS=1")
def test_kernel_compiles_for_every_tunable_combination():
    import itertools as it
    from hyplora.analysis import delta_cuda
    (kernel,) = delta_cuda.kernel_metadata()["kernels"]
    tunables = {t["name"]: t["values"] for t in kernel["tunables"]}
    for values in it.product(*tunables.values()):
        assert _compile_or_skip(dict(zip(tunables, values)))[:4] == b"\x7fELF"


class _EmulatedKernel:
    """The kernel's contract in torch (CPU): per base point w, atomicMax of the excess over
    the points after w (after_base=1) or all points (after_base=0) into out_bits[w]."""

    name = "emulated"

    def __init__(self):
        self.launches = []

    def launch(self, args, device):
        from hyplora.analysis.delta import max_min_excess
        d, n = args["D"], int(args["n"])
        assert args["out_bits"].dtype == torch.int32 and d.dtype == torch.float32
        self.launches.append((int(args["w_begin"]), int(args["w_count"]), int(args["extent"])))
        out = args["out_bits"].view(torch.float32)
        for w in range(int(args["w_begin"]), int(args["w_begin"]) + int(args["w_count"])):
            lo = w + 1 if args["after_base"] else 0
            g = 0.5 * (d[w, lo:][:, None] + d[w, lo:][None, :] - d[lo:, lo:])
            out[w] = torch.maximum(out[w], max_min_excess(g.double()).float())


def test_kernel_orchestration_against_an_emulated_kernel(monkeypatch):
    # Checks the host side of the GPU path (chunking over base points, the zeroed
    # int32 buffer viewed as float, extents, fixed-base mode) without a GPU.
    from hyplora.analysis import delta_cuda
    from hyplora.analysis.delta import pairwise_distances
    emulated = _EmulatedKernel()
    monkeypatch.setattr(delta_cuda, "_launcher", emulated)
    monkeypatch.setattr(delta_cuda, "_BASES_PER_LAUNCH", 7)
    points = torch.randn(23, 5, dtype=torch.float64)
    d = pairwise_distances(points, torch.float32)
    per_base = delta_cuda.four_point_partial_maxima(d)
    # First a one-base-point launch (the one the runtime tunes on), then the windows.
    assert [(l[0], l[1]) for l in emulated.launches[:1]] == [(0, 1)]
    windows = emulated.launches[1:]
    assert [l[0] for l in windows] == [0, 7, 14]
    assert sum(l[1] for l in windows) == 23 - 3
    assert all(l[2] == 23 - l[0] - 1 for l in emulated.launches)
    assert float(per_base.max()) == pytest.approx(brute_force_four_point(points), rel=1e-5)
    fixed = delta_cuda.four_point_partial_maxima(d, only_base=4)
    assert fixed.shape == (1,)
    assert float(fixed[0]) == pytest.approx(brute_force_fixed_base(points, 4), rel=1e-5)


@pytest.mark.parametrize("block_elements", [1, 7, 40, 10**6])
def test_blocking_does_not_change_the_result(block_elements):
    # Small blocks force several row blocks (where only columns j >= i0 are
    # computed, by symmetry) and several k blocks; compare with one dense product.
    from hyplora.analysis.delta import gromov_products, max_min_excess
    points = torch.randn(19, 3, dtype=torch.float64)
    g = gromov_products(pairwise_distances(points), 5)
    dense = (torch.minimum(g[:, :, None], g[None, :, :]).amax(dim=1) - g).max()
    assert float(max_min_excess(g, block_elements)) == pytest.approx(float(dense), rel=1e-14, abs=1e-15)
