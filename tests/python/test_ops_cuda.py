"""The hyplora ops on CUDA (JIT path when compiled in, else ATen on device)
against the float64 reference, plus JIT-specific checks. Skips without a GPU."""
import pytest
import torch

import hyplora
from conftest import TOL, VARIANT_CONVENTIONS, make_layer, reference_grads, rel_err, requires_cuda
from test_ops import (ROUND_TRIP_MEDIAN_BOUND, check_against_reference, median_round_trip_errors,
                      run_op)

pytestmark = requires_cuda
ops = torch.ops.hyplora


def to_cuda(L):
    return {k: v.cuda() for k, v in L.items()}


@pytest.mark.parametrize("variant,convention", VARIANT_CONVENTIONS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16, torch.float64],
                         ids=str)
# (70, 40, 2048, 16): N >= 2048 at r <= 32, where the tensor-core hyp_bwd_db
# takes w through its cp.async ring (HypTcDbRing W_RING).
@pytest.mark.parametrize("M,K,N,r", [(64, 96, 48, 8), (1, 13, 7, 3), (257, 200, 72, 32),
                                     (70, 40, 2048, 16)])
def test_cuda_matches_float64_reference(variant, convention, dtype, M, K, N, r):
    L = to_cuda(make_layer(M, K, N, r, dtype))
    check_against_reference(L, 2.0, variant, convention, dtype)


@pytest.mark.parametrize("variant,convention", VARIANT_CONVENTIONS)
def test_cuda_separate_adapter_input(variant, convention):
    L = to_cuda(make_layer(40, 64, 32, 8, torch.float32))
    xa = L["x"] * (torch.rand_like(L["x"]) > 0.3) / 0.7
    check_against_reference(L, 1.5, variant, convention, torch.float32, x_adapter=xa)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=str)
def test_cuda_edge_rows(dtype):
    scales = torch.tensor([0.0, 1e-9, 1e3, 3e4, 1.0, 0.01, 5.0, 0.0])
    L = to_cuda(make_layer(8, 40, 24, 8, dtype, row_scales=scales, b_scale=0.05))
    check_against_reference(L, 2.0, "hyplora", "reference", dtype)


def test_cuda_and_cpu_agree():
    """The CUDA and CPU paths on the same float32 inputs. dk and ds are sums
    over rows that cancel, so their own-size relative error says nothing (2.1e-3
    between two correct float32 sums on an H100, 2026-11-26): they are held to
    the scale of their terms (the float64 reference's sum of |per-row terms|), as
    check_against_reference holds them."""
    L = make_layer(100, 64, 48, 16, torch.float32)
    gy = torch.randn(100, 48)
    _, _, _, g_cpu = run_op(L, 2.0, "hyplora", "reference", gy)
    y_cpu = run_op(L, 2.0, "hyplora", "reference", gy)[0]
    Lc = to_cuda(L)
    y_gpu, _, _, g_gpu = run_op(Lc, 2.0, "hyplora", "reference", gy.cuda())
    assert rel_err(y_gpu, y_cpu) < TOL[torch.float32]
    ref = reference_grads(L, 2.0, "hyplora", "reference", gy)
    for a, b, name in zip(g_gpu, g_cpu, ["x", "xa", "A", "B", "k", "s"]):
        if not b.numel():
            continue
        if name in ("k", "s"):
            assert abs(a.item() - b.item()) <= TOL[torch.float32] * ref[name + "_scale"], name
        else:
            assert rel_err(a, b) < 1e-3, name


def test_cuda_opcheck():
    L = to_cuda(make_layer(9, 24, 12, 4, torch.float32))
    for n in ("x", "A", "B", "k", "s"):
        L[n].requires_grad_(True)
    torch.library.opcheck(ops.adapter_forward.default,
                          (L["x"], L["x"], L["weight"], L["bias"], L["A"], L["B"], L["k"], L["s"],
                           2.0, "hyplora", "reference", 12.0))


@pytest.mark.parametrize("variant,convention", VARIANT_CONVENTIONS)
@pytest.mark.parametrize("scalar_shape", [(), (1,)], ids=["0d", "1"])
def test_cuda_backward_gradients_have_their_parameters_shapes(variant, convention, scalar_shape):
    """The JIT builds dk and ds as views of its zeroed arena in the curvature's
    and norm scale's own shapes; torch.compile's generated code asserts every
    output's size and stride against the fake kernel's (a 0-d curvature once
    got a [1] gradient, which only the inductor test caught). Compared here
    with the registered fake kernel directly: opcheck's fake-tensor and schema
    tests also refuse outputs that share storage, and dA, dB, dk, ds are
    disjoint views of one arena by design (docs/KERNELS.md, weak points)."""
    from hyplora.ops import _adapter_backward_fake
    L = to_cuda(make_layer(33, 24, 12, 8, torch.bfloat16))
    k, s = L["k"].reshape(scalar_shape), L["s"].reshape(scalar_shape)
    y, w, stats = ops.adapter_forward(L["x"], L["x"], L["weight"], L["bias"], L["A"], L["B"], k, s,
                                      2.0, variant, convention, 12.0)
    backward_args = (torch.randn_like(y), L["x"], L["x"], L["weight"], L["A"], L["B"], k, s, w,
                     stats, 2.0, variant, convention, 12.0, [True, False])
    grads = ops.adapter_backward(*backward_args)
    fakes = _adapter_backward_fake(*backward_args)
    for name, g, f in zip(("x", "x_adapter", "A", "B", "k", "s"), grads, fakes):
        assert (g.shape, g.stride(), g.dtype) == (f.shape, f.stride(), f.dtype), name
        assert torch.isfinite(g).all(), name


def test_cuda_refuses_mixed_devices():
    L = make_layer(4, 8, 6, 3)
    with pytest.raises(RuntimeError, match="is on"):
        ops.adapter_forward(L["x"].cuda(), L["x"].cuda(), L["weight"].cuda(), None, L["A"],
                            L["B"].cuda(), L["k"].cuda(), L["s"].cuda(), 1.0, "hyplora",
                            "reference", 12.0)


def test_cuda_module_autocast_and_compile():
    mod = hyplora.HypLoRALinear(torch.nn.Linear(64, 32).cuda(), r=8, alpha=16)
    with torch.no_grad():
        mod.lora_B.normal_()
    x = torch.randn(4, 10, 64, device="cuda", requires_grad=True)
    with torch.autocast("cuda", dtype=torch.bfloat16):
        y = mod(x)
    assert y.dtype == torch.bfloat16
    y.float().sum().backward()
    assert mod.lora_A.grad.dtype == torch.float32 and torch.isfinite(mod.lora_A.grad).all()
    torch._dynamo.reset()
    f = torch.compile(lambda m, x: m(x).sum(), fullgraph=True)
    f(mod, x.detach()).backward()


@pytest.mark.parametrize("variant,convention", [("hyplora", "reference"), ("lora", "reference")])
def test_cuda_graph_replay_matches_the_eager_step(variant, convention):
    """A training step of a HypLoRALinear (forward + autograd.grad of x and
    every adapter parameter) captured in one CUDA graph, as the bench's
    *_graphed contender and torch.compile(mode="reduce-overhead") run it,
    replays the eager step's results on fresh inputs copied into its static
    ones. Fails if the JIT path syncs or allocates outside the graph's pool
    during capture (capture error), or bakes a host-side value of the captured
    call into a launch (replay then computes the capture's inputs, not these)."""
    torch.manual_seed(7)
    M, K, N, r = 96, 128, 80, 16
    lin = torch.nn.Linear(K, N, device="cuda", dtype=torch.bfloat16)
    mod = hyplora.HypLoRALinear(lin, r=r, alpha=2 * r, curvature=1.3, variant=variant,
                                convention=convention)
    with torch.no_grad():
        mod.lora_B.normal_()
    params = [p for p in mod.parameters() if p.requires_grad]
    names = ["y", "x"] + [n for n, p in mod.named_parameters() if p.requires_grad]

    def fresh():  # log-spread row norms: both regimes of the row math's clamps
        rows = torch.logspace(-2, 1, M, device="cuda")[torch.randperm(M, device="cuda")]
        x = (torch.randn(M, K, device="cuda") * rows[:, None]).bfloat16()
        return x, torch.randn(M, N, device="cuda", dtype=torch.bfloat16)

    def step(x, dy):
        y = mod(x)
        grads = torch.autograd.grad(y, [x, *params], dy, allow_unused=True)
        return [y, *grads]

    x_static, dy_static = fresh()
    x_static.requires_grad_(True)
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):  # compile, plan and tune outside the capture
        for _ in range(3):
            step(x_static, dy_static)
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        static_out = step(x_static, dy_static)
    for _ in range(2):
        x, dy = fresh()
        with torch.no_grad():
            x_static.copy_(x)
            dy_static.copy_(dy)
            for o in static_out:
                if o is not None:
                    o.fill_(float("nan"))  # replay must write every element
        graph.replay()
        eager = step(x.requires_grad_(True), dy)
        torch.cuda.synchronize()
        for name, got, want in zip(names, static_out, eager):
            if want is None:
                assert got is None, name
                continue
            assert torch.isfinite(got).all(), name
            # The same kernels and configs: only the order of the atomics that
            # sum dA / dB / dk / ds across blocks differs (the scalar sums
            # cancel between rows, so their own-size error is looser).
            assert rel_err(got, want) < (1e-3 if got.numel() == 1 else 1e-4), name


def test_cuda_make_graphed_callables_matches_eager():
    """torch.cuda.make_graphed_callables, PyTorch's way to graph one layer of a
    training loop (separate forward and backward graphs, the autograd
    connection kept), on a HypLoRALinear: outputs and every gradient on fresh
    inputs as the eager layer's, run after it on the same inputs."""
    torch.manual_seed(11)
    M, K, N, r = 64, 96, 112, 8
    lin = torch.nn.Linear(K, N, device="cuda", dtype=torch.bfloat16)
    mod = hyplora.HypLoRALinear(lin, r=r, alpha=2 * r, curvature=0.7)
    with torch.no_grad():
        mod.lora_B.normal_()
    sample = torch.randn(M, K, device="cuda", dtype=torch.bfloat16, requires_grad=True)
    graphed = torch.cuda.make_graphed_callables(mod, (sample,))
    params = [p for p in mod.parameters() if p.requires_grad]
    for _ in range(2):
        x = (torch.randn(M, K, device="cuda") * torch.logspace(-2, 1, M, device="cuda")[:, None])
        x = x.bfloat16()
        dy = torch.randn(M, N, device="cuda", dtype=torch.bfloat16)
        results = []
        for layer in (graphed, mod):
            xi = x.clone().requires_grad_(True)
            y = layer(xi)
            results.append([y.detach().clone(), *torch.autograd.grad(y, [xi, *params], dy)])
        for got, want in zip(*results):
            assert torch.isfinite(got).all()
            assert rel_err(got, want) < (1e-3 if got.numel() == 1 else 1e-4)


def test_jit_serves_cuda_calls_when_available():
    if not hyplora.jit.available():
        pytest.skip(f"JIT not in use: {hyplora.jit.unavailable_reason()}")
    before = hyplora.jit.counters()
    L = to_cuda(make_layer(32, 48, 24, 8, torch.bfloat16))
    run_op(L, 2.0, "hyplora", "reference", torch.randn(32, 24, device="cuda").bfloat16())
    after = hyplora.jit.counters()
    assert after["forward_calls"] == before["forward_calls"] + 1
    assert after["backward_calls"] == before["backward_calls"] + 1
    assert any("K48/N24/r8" in k for k in hyplora.jit.loaded_programs())


def test_jit_refuses_a_malformed_tensor_core_setting(monkeypatch):
    """HYP_TENSOR_CORES picks the bf16 kernel family; a value other than 0/1 is
    an error naming the variable, not a silent choice."""
    if not hyplora.jit.available():
        pytest.skip(f"JIT not in use: {hyplora.jit.unavailable_reason()}")
    monkeypatch.setenv("HYP_TENSOR_CORES", "yes")
    L = to_cuda(make_layer(16, 40, 24, 8, torch.bfloat16))
    with pytest.raises(RuntimeError, match="HYP_TENSOR_CORES must be 0 or 1, got 'yes'"):
        run_op(L, 2.0, "hyplora", "reference", torch.randn(16, 24, device="cuda").bfloat16())


def test_jit_row_split_override_matches_float64_and_refuses_bad_values(monkeypatch):
    """HYP_ROW_SPLIT_COLS=N overrides the compiler's split-K policy: 64 splits
    both row-reduces of a 200 -> 136 layer (3 and 2 parts; the bench's policy
    comparisons use this), and the result still matches float64; a bad value
    is an error naming the option, not a silent default."""
    if not hyplora.jit.available():
        pytest.skip(f"JIT not in use: {hyplora.jit.unavailable_reason()}")
    monkeypatch.setenv("HYP_ROW_SPLIT_COLS", "64")
    monkeypatch.setenv("HYP_DY_PASS", "0") # (hyp_bwd_dy: the two-pass backward's)
    L = to_cuda(make_layer(257, 200, 136, 16, torch.bfloat16))
    check_against_reference(L, 2.0, "hyplora", "reference", torch.bfloat16)
    assert any(k.endswith("/split64/dypass0") and "K200/N136/r16" in k
               for k in hyplora.jit.loaded_programs())
    monkeypatch.setenv("HYP_ROW_SPLIT_COLS", "-3")
    L = to_cuda(make_layer(16, 40, 24, 8, torch.bfloat16))
    with pytest.raises(RuntimeError, match="row-split-cols must be 'tuned' or an integer in \\[0, 2\\^30\\], got '-3'"):
        run_op(L, 2.0, "hyplora", "reference", torch.randn(16, 24, device="cuda").bfloat16())


@pytest.mark.parametrize("dy_pass", ["1", "0"])
@pytest.mark.parametrize("variant,convention", VARIANT_CONVENTIONS)
def test_jit_dy_passes_match_float64(monkeypatch, variant, convention, dy_pass):
    """The tensor-core backward at r <= 32 reads dY once (hyp_bwd_dy_pass,
    hyp_bwd_rows, hyp_bwd_db_gram) unless HYP_DY_PASS=0 (hyp_bwd_dy,
    hyp_bwd_db): both match float64, over 256-column blocks with a tail
    (N = 600) and row chunks with a tail (M = 1100); a bad value is an error
    naming the option."""
    if not hyplora.jit.available():
        pytest.skip(f"JIT not in use: {hyplora.jit.unavailable_reason()}")
    monkeypatch.setenv("HYP_DY_PASS", dy_pass)
    L = to_cuda(make_layer(1100, 136, 600, 32, torch.bfloat16))
    check_against_reference(L, 2.0, variant, convention, torch.bfloat16)
    assert any(k.endswith("/dypass" + dy_pass) and "K136/N600/r32" in k
               for k in hyplora.jit.loaded_programs())
    monkeypatch.setenv("HYP_DY_PASS", "on")
    L = to_cuda(make_layer(16, 40, 24, 8, torch.bfloat16))
    with pytest.raises(RuntimeError, match="dy-pass must be 0 or 1, got 'on'"):
        run_op(L, 2.0, variant, convention, torch.randn(16, 24, device="cuda").bfloat16())


# bf16 r = 32: the wide tensor-core update (256 columns, tails in N and M);
# bf16 r = 64: the 64-column one; f32 / f16: the SIMT strip.
@pytest.mark.parametrize("dtype,M,K,N,r", [(torch.bfloat16, 1100, 136, 600, 32),
                                           (torch.bfloat16, 300, 136, 200, 64),
                                           (torch.float32, 257, 200, 72, 32),
                                           (torch.float16, 70, 40, 130, 16)], ids=str)
@pytest.mark.parametrize("store", ["1", "0"])
@pytest.mark.parametrize("variant,convention", VARIANT_CONVENTIONS)
def test_jit_forward_without_bias_stores_then_adds_the_gemm(monkeypatch, variant, convention,
                                                             store, dtype, M, K, N, r):
    """HYP_FWD_UP_STORE=1: without a bias the forward writes y = B w
    (programs.forward_store) and cuBLAS adds x W^T into it (beta = 1);
    HYP_FWD_UP_STORE=0 or a bias keeps the frozen GEMM first and the adding
    update. All match float64; y's
    memory is NaN before the call (the caching allocator hands the freed
    block back), so an element the storing kernel skips shows."""
    if not hyplora.jit.available():
        pytest.skip(f"JIT not in use: {hyplora.jit.unavailable_reason()}")
    monkeypatch.setenv("HYP_FWD_UP_STORE", store)
    L = to_cuda(make_layer(M, K, N, r, dtype))
    L["bias"] = None
    torch.full((M, N), float("nan"), dtype=dtype, device="cuda")  # freed at once: y's block
    before = hyplora.jit.counters()
    check_against_reference(L, 2.0, variant, convention, dtype)
    after = hyplora.jit.counters()
    assert after["storing_forward_calls"] - before["storing_forward_calls"] == int(store)
    assert after["forward_calls"] - before["forward_calls"] == 1
    L = to_cuda(make_layer(M, K, N, r, dtype))  # with a bias: never the storing entry
    check_against_reference(L, 2.0, variant, convention, dtype)
    assert hyplora.jit.counters()["storing_forward_calls"] == after["storing_forward_calls"]


def test_jit_forward_order_is_tuned_once_per_bucket_and_refuses_bad_values(monkeypatch):
    """Unset, HYP_FWD_UP_STORE leaves the order around the frozen GEMM to the
    program's tuner: both orders timed on the first call of an M bucket, the
    choice (with its medians) listed and kept for later calls of that bucket;
    the result matches float64 either way. A bad value is an error naming it."""
    if not hyplora.jit.available():
        pytest.skip(f"JIT not in use: {hyplora.jit.unavailable_reason()}")
    monkeypatch.delenv("HYP_FWD_UP_STORE", raising=False)
    key = "K264/N520/r32"
    L = to_cuda(make_layer(700, 264, 520, 32, torch.bfloat16))
    L["bias"] = None
    before = hyplora.jit.counters()["storing_forward_calls"]
    check_against_reference(L, 2.0, "hyplora", "reference", torch.bfloat16)
    orders = [o for o in hyplora.jit.forward_orders() if key in o and " M1024 " in o]
    assert len(orders) == 1, hyplora.jit.forward_orders()
    stored = ": store (" in orders[0]
    assert stored or ": add (" in orders[0]
    L = to_cuda(make_layer(1000, 264, 520, 32, torch.bfloat16))  # same bucket: no new timing
    L["bias"] = None
    check_against_reference(L, 2.0, "hyplora", "reference", torch.bfloat16)
    assert hyplora.jit.counters()["storing_forward_calls"] - before == 2 * stored
    assert [o for o in hyplora.jit.forward_orders() if key in o and " M1024 " in o] == orders
    monkeypatch.setenv("HYP_FWD_UP_STORE", "yes")
    with pytest.raises(RuntimeError, match="HYP_FWD_UP_STORE must be 0, 1 or tuned, got 'yes'"):
        run_op(L, 2.0, "hyplora", "reference", torch.randn(1000, 520, device="cuda").bfloat16())


@pytest.mark.parametrize("convention", ["reference", "lorentz"])
def test_cuda_round_trip_rows_curvature_gradient(convention):
    # The kernels' backward row terms are double-precision duals
    # (hyp_bwd_row_terms): with float duals the generated row program lost
    # ~5e-4 of one such row's dK (CPU emulation of it), float64 duals ~1e-7.
    medians = median_round_trip_errors(convention, "cuda")
    assert max(medians.values()) <= ROUND_TRIP_MEDIAN_BOUND, medians
