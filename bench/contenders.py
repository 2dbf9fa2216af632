"""The contenders: every way of running one adapted projection's training step.

Each contender turns a ``LayerData`` (the frozen weight and one set of
adapter values, shared by all contenders so they compute the same function)
into a ``Built`` object, once per (shape, r); ``Built.make_step(xs, dys)``
then gives the timed step for one token count M. A contender that cannot run
raises ``Unavailable`` with the reason, which the report prints instead of a
number ("unavailable: <reason>" or "skipped: <reason>").
"""
from __future__ import annotations

import importlib
import math
import os
import time
from dataclasses import dataclass, field
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from bench.metrics import GRAPHED_SUFFIX
from bench.reference_hyplora import ReferenceHypLoRALinear


class Unavailable(Exception):
    """The contender cannot run here; ``status`` is 'unavailable' or 'skipped'."""

    def __init__(self, reason: str, status: str = "unavailable"):
        super().__init__(reason)
        self.reason = reason
        self.status = status


def b_scale(K: int, N: int, r: int) -> float:
    """Std of random B entries that puts |u| = |B A xs| near 1.2 for any shape.

    For randn rows |xs| is about 1.1 (expmap0 with s = sqrt(K)), and with A
    uniform in +-1/sqrt(K), |A xs| is about |xs| sqrt(r / 3K); so |u| is about
    std * sqrt(N) * 1.1 * sqrt(r / 3K). |u| near 1.2 is past the reference's
    dead zone (th < 1.01 when |u| < 0.76) for most rows, as after some
    training; the adapter part of y is large enough for the forward check to
    see, and the two conventions differ there by ~20% (at |u| = 3 they agree
    within 1%), so the check tells them apart.
    """
    return 1.2 / (math.sqrt(N) * 1.1 * math.sqrt(r / (3.0 * K)))


@dataclass
class LayerData:
    """One frozen layer plus adapter values, on the bench device."""
    K: int
    N: int
    r: int
    alpha: float
    W: torch.Tensor            # N x K, activation dtype, frozen
    b: torch.Tensor | None     # N
    A: torch.Tensor            # r x K fp32
    B: torch.Tensor            # N x r fp32 (random, not zero: a realistic |u|)
    k: float = 1.0             # raw curvature
    s: float = 0.0             # norm scale (sqrt(K) at init)

    @property
    def scaling(self) -> float:
        return self.alpha / self.r

    @staticmethod
    def random(K: int, N: int, r: int, device, dtype, alpha: float | None = None, bias: bool = False,
               seed: int = 0) -> "LayerData":
        # alpha = 4 r: the paper's HypLoRA setting (r = 32, alpha = 128).
        alpha = float(4 * r) if alpha is None else alpha
        # Generated on the bench device: CPU randn of a 18944 x 3584 weight
        # would cost the GPU run seconds per shape.
        g = torch.Generator(device=device).manual_seed(seed)
        u = lambda *shape: torch.rand(*shape, generator=g, device=device) * 2 - 1
        W = (u(N, K) / math.sqrt(K)).to(dtype)
        b = (u(N) / math.sqrt(K)).to(dtype) if bias else None
        A = u(r, K) / math.sqrt(K)
        B = torch.randn(N, r, generator=g, device=device) * b_scale(K, N, r)
        return LayerData(K, N, r, alpha, W, b, A, B, 1.0, math.sqrt(K))

    def frozen_linear(self) -> nn.Linear:
        """An nn.Linear sharing (not copying) the frozen weight."""
        lin = nn.Linear(self.K, self.N, bias=self.b is not None, device="meta")
        lin.weight = nn.Parameter(self.W, requires_grad=False)
        if self.b is not None:
            lin.bias = nn.Parameter(self.b, requires_grad=False)
        return lin


@dataclass
class Ctx:
    """What the contenders need to know about this run."""
    device: torch.device
    cuda: bool
    dry_run: bool
    hyplora: object | None          # the imported package, or None
    hyplora_reason: str             # why it is None
    compile_allowed: bool
    compile_budget_s: float
    compile_spent_s: float = 0.0
    compile_dynamic: bool = False   # torch.compile(dynamic=True): one graph for all shapes
    compile_log: list = field(default_factory=list)

    def compile_left(self) -> float:
        return self.compile_budget_s - self.compile_spent_s


def standalone_setup(K: int, N: int, M: int, r: int, n_sets: int, device: torch.device,
                     hyplora=None) -> tuple[Ctx, "LayerData", list, list]:
    """The context, layer and n_sets rotating (x, dY) bf16 input sets of one
    shape for the bench's single-purpose GPU scripts (kernel_steps under
    Nsight Compute, host_profile under torch.profiler): no compile budget."""
    ctx = Ctx(device, device.type == "cuda", False, hyplora, "" if hyplora else "not imported",
              False, 0.0)
    data = LayerData.random(K, N, r, device, torch.bfloat16)
    xs = [torch.randn(M, K, device=device, dtype=torch.bfloat16).requires_grad_()
          for _ in range(n_sets)]
    dys = [torch.randn(M, N, device=device, dtype=torch.bfloat16) for _ in range(n_sets)]
    return ctx, data, xs, dys


@dataclass
class Built:
    module: nn.Module | None
    params: list                     # trainable parameters whose grads the step computes
    oracle: str                      # 'frozen' | 'lora' | 'hyp_reference' | 'hyp_lorentz'
    make_step: Callable | None = None
    notes: dict = field(default_factory=dict)


def autograd_step(module: nn.Module, params: list, xs: list, dys: list) -> Callable[[int], tuple]:
    """fwd + bwd through the whole adapted layer; returns grads of x and params."""
    def step(i: int):
        x = xs[i]
        y = module(x)
        # allow_unused: a parameter a variant does not use (e.g. k for lora)
        # must not abort the bench; the first call reports how many were unused.
        return torch.autograd.grad(y, [x, *params], dys[i], allow_unused=True)
    return step


def _trainable(module: nn.Module) -> list:
    return [p for p in module.parameters() if p.requires_grad]


def _mark_m_dynamic(xs: list) -> None:
    # One compile per (K, N, r) serves every M: a recompile per M would make
    # torch.compile's warm-up dominate the suite's GPU time.
    for x in xs:
        torch._dynamo.maybe_mark_dynamic(x, 0)


class Contender:
    name = "?"
    description = ""
    needs_cuda = False
    compiled = False
    graphed = False       # the step replays CUDA graphs (no eager check, no peak memory)
    ours = False          # one of hyplora's own paths (autotune capture, bandwidth)
    adapter = True        # computes an adapter (False for the frozen baselines)

    def available(self, ctx: Ctx) -> None:
        """Raise Unavailable if this contender cannot run in this context at all."""
        if self.needs_cuda and not ctx.cuda:
            raise Unavailable("needs a CUDA device", "skipped")
        if self.compiled and not ctx.compile_allowed:
            raise Unavailable("torch.compile disabled for this run (--no-compile or dry run)", "skipped")

    def build(self, data: LayerData, ctx: Ctx) -> Built:
        raise NotImplementedError

    def wrap_compiled(self, built: Built, ctx: Ctx) -> Built:
        """torch.compile the module; the first call of each step is the compile."""
        if ctx.compile_left() <= 0:
            raise Unavailable(f"torch.compile budget of {ctx.compile_budget_s:.0f} s spent", "skipped")
        compiled = torch.compile(built.module, dynamic=True if ctx.compile_dynamic else None)
        eager_params = built.params

        def make_step(xs, dys):
            _mark_m_dynamic(xs)
            return autograd_step(compiled, eager_params, xs, dys)
        built.make_step = make_step
        return built


class FrozenEager(Contender):
    name = "frozen_eager"
    description = "frozen nn.Linear (cuBLAS), eager: forward GEMM + dX GEMM"
    adapter = False

    def build(self, data, ctx):
        lin = data.frozen_linear()
        b = Built(lin, [], "frozen")
        b.make_step = lambda xs, dys: autograd_step(lin, [], xs, dys)
        return b


class FrozenGraphed(Contender):
    name = "frozen_graphed"
    description = "frozen nn.Linear, fwd+bwd captured in a CUDA graph (one graph per input set)"
    needs_cuda = True
    graphed = True
    adapter = False

    def build(self, data, ctx):
        lin = data.frozen_linear()
        b = Built(lin, [], "frozen")

        b.make_step = lambda xs, dys: graphed_step(autograd_step(lin, [], xs, dys), len(xs))
        b.notes["memory"] = GRAPH_MEMORY_NOTE
        return b


GRAPH_MEMORY_NOTE = "graph outputs live in the graph's private pool (not counted)"


def graphed_step(eager: Callable[[int], object], n_sets: int) -> Callable[[int], object]:
    """`eager` (a whole fwd + bwd step on input set i) captured once per input
    set into CUDA graphs sharing one memory pool; the step replays graph i.
    Three eager steps on a side stream first: cuBLAS handles, and our JIT's
    compile and autotuning, must happen outside the capture."""
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for i in range(3):
            eager(i % n_sets)
    torch.cuda.current_stream().wait_stream(side)
    graphs, pool = [], None
    for i in range(n_sets):
        g = torch.cuda.CUDAGraph()
        with torch.cuda.graph(g, pool=pool):
            eager(i)
        pool = g.pool()
        graphs.append(g)
    return lambda i: graphs[i].replay()


class _OneLayer(nn.Module):
    """The smallest model PEFT can wrap: one projection named 'proj'."""

    def __init__(self, lin: nn.Linear):
        super().__init__()
        self.proj = lin

    def forward(self, x):
        return self.proj(x)


class PeftLoraEager(Contender):
    name = "peft_lora_eager"
    description = "HF PEFT LoRA (installed peft, LoraConfig + get_peft_model), fp32 adapters, eager"

    def build(self, data, ctx):
        try:
            import peft
        except Exception as e:
            raise Unavailable(f"import peft failed: {type(e).__name__}: {e}")
        model = peft.get_peft_model(
            _OneLayer(data.frozen_linear()),
            peft.LoraConfig(r=data.r, lora_alpha=data.alpha, lora_dropout=0.0,
                            target_modules=["proj"], bias="none"))
        with torch.no_grad():
            for n, p in model.named_parameters():
                if "lora_" not in n:
                    continue
                if p.dtype != torch.float32 or p.device != data.A.device:
                    # fp32 adapters as PEFT keeps them with autocast_adapter_dtype.
                    p.data = p.data.to(device=data.A.device, dtype=torch.float32)
                if "lora_A" in n:
                    p.copy_(data.A)
                elif "lora_B" in n:
                    p.copy_(data.B)
        params = _trainable(model)
        if len(params) != 2:
            raise Unavailable(f"expected 2 trainable PEFT parameters, found {len(params)}")
        b = Built(model, params, "lora", notes={"peft": getattr(peft, "__version__", "?"),
                                                 "adapter_dtype": str(params[0].dtype)})
        b.make_step = lambda xs, dys: autograd_step(model, params, xs, dys)
        return b


class PeftLoraCompiled(PeftLoraEager):
    name = "peft_lora_compiled"
    description = "the same PEFT LoRA model under torch.compile (default mode, M dynamic)"
    compiled = True

    def build(self, data, ctx):
        return self.wrap_compiled(super().build(data, ctx), ctx)


class _HandLoraBf16(nn.Module):
    def __init__(self, data: LayerData):
        super().__init__()
        self.base = data.frozen_linear()
        dt = data.W.dtype
        self.lora_A = nn.Parameter(data.A.to(dt).clone())
        self.lora_B = nn.Parameter(data.B.to(dt).clone())
        self.scaling = data.scaling

    def forward(self, x):
        return self.base(x) + F.linear(F.linear(x, self.lora_A), self.lora_B) * self.scaling


class LoraBf16Eager(Contender):
    name = "lora_bf16_eager"
    description = "LoRA by hand with bf16 adapters (no fp32 copy of x), eager: the cheapest plain PyTorch LoRA"

    def build(self, data, ctx):
        m = _HandLoraBf16(data)
        params = _trainable(m)
        b = Built(m, params, "lora")
        b.make_step = lambda xs, dys: autograd_step(m, params, xs, dys)
        return b


class ReferenceHypLoraEager(Contender):
    name = "reference_hyplora_eager"
    description = "reference HypLoRA (HYPLORA.md section 3 as the reference PEFT fork computes it), fp32, eager"

    def build(self, data, ctx):
        m = ReferenceHypLoRALinear(data.frozen_linear(), data.r, data.alpha)
        with torch.no_grad():
            m.lora_A.copy_(data.A)
            m.lora_B.copy_(data.B)
            m.lora_k.fill_(data.k)
            m.lora_norm_scale.fill_(data.s)
        params = _trainable(m)
        b = Built(m, params, "hyp_reference")
        b.make_step = lambda xs, dys: autograd_step(m, params, xs, dys)
        return b


class ReferenceHypLoraCompiled(ReferenceHypLoraEager):
    name = "reference_hyplora_compiled"
    description = "the same reference HypLoRA under torch.compile (default mode, M dynamic)"
    compiled = True

    def build(self, data, ctx):
        return self.wrap_compiled(super().build(data, ctx), ctx)


class HyploraContender(Contender):
    """hyplora.HypLoRALinear: the JIT-compiled kernels (CPU reference off-GPU)."""
    ours = True
    variant = "hyplora"
    convention = "reference"

    def __init__(self, variant: str, convention: str, tensor_cores: bool = False,
                 graphed: bool = False):
        self.variant, self.convention, self.tensor_cores = variant, convention, tensor_cores
        self.graphed = graphed
        self.needs_cuda = graphed
        self.name = (f"hyplora_{variant}" + ("" if variant != "hyplora" else f"_{convention}")
                     + (TENSOR_CORE_SUFFIX if tensor_cores else "")
                     + (GRAPHED_SUFFIX if graphed else ""))
        self.description = (f"hyplora.HypLoRALinear(variant={variant!r}"
                            + (f", convention={convention!r}" if variant == "hyplora" else "")
                            + "): fused kernels through torch.ops.hyplora"
                            + (" (HYP_TENSOR_CORES=1: bf16 kernels on mma.sync)" if tensor_cores
                               else " (HYP_TENSOR_CORES=0: SIMT kernels)")
                            + ("; fwd+bwd captured in a CUDA graph (one graph per input set), as "
                               "frozen_graphed" if graphed else ""))

    def available(self, ctx):
        super().available(ctx)
        if ctx.hyplora is None:
            raise Unavailable(ctx.hyplora_reason)
        if not hasattr(ctx.hyplora, "HypLoRALinear"):
            raise Unavailable("hyplora has no HypLoRALinear")

    def build(self, data, ctx):
        try:
            m = ctx.hyplora.HypLoRALinear(data.frozen_linear(), data.r, data.alpha, curvature=data.k,
                                          convention=self.convention, variant=self.variant,
                                          dropout=0.0, use_rslora=False)
        except Exception as e:
            raise Unavailable(f"HypLoRALinear(...) failed: {type(e).__name__}: {e}")
        m = m.to(data.A.device)
        with torch.no_grad():
            for pname, value in (("lora_A", data.A), ("lora_B", data.B)):
                p = getattr(m, pname, None)
                if p is None:
                    raise Unavailable(f"HypLoRALinear has no {pname}")
                p.copy_(value)
            for pname, value in (("lora_k", data.k), ("lora_norm_scale", data.s)):
                p = getattr(m, pname, None)
                if isinstance(p, torch.Tensor):
                    p.fill_(value)
        params = _trainable(m)
        oracle = "lora" if self.variant == "lora" else (
            "hyp_lorentz" if self.convention == "lorentz" else "hyp_reference")
        if self.variant == "hyplora_simplified":
            oracle = "none"
        b = Built(m, params, oracle, notes={"path": "CUDA JIT" if ctx.cuda else "CPU reference op",
                                            "tensor_cores": self.tensor_cores})
        eager = lambda xs, dys: _with_kernel_family(autograd_step(m, params, xs, dys),
                                                    self.tensor_cores)
        if self.graphed:
            b.make_step = lambda xs, dys: graphed_step(eager(xs, dys), len(xs))
            b.notes["memory"] = GRAPH_MEMORY_NOTE
        else:
            b.make_step = eager
        return b


TENSOR_CORE_SUFFIX = "_tc"


def _with_kernel_family(step: Callable[[int], tuple], tensor_cores: bool) -> Callable[[int], tuple]:
    """The JIT reads HYP_TENSOR_CORES on every call (it keys its programs by it),
    so setting it around the step pins this contender's kernel family (tensor-core
    or SIMT) whatever the JIT's default is."""
    def family_step(i: int):
        with kernel_family(tensor_cores):
            return step(i)
    return family_step


class kernel_family:
    """HYP_TENSOR_CORES set for the calls inside, restored after. A class, not
    a generator context manager: it runs inside our contenders' timed steps."""

    def __init__(self, tensor_cores: bool):
        self.value = "1" if tensor_cores else "0"

    def __enter__(self):
        self.before = os.environ.get("HYP_TENSOR_CORES")
        os.environ["HYP_TENSOR_CORES"] = self.value

    def __exit__(self, *exc):
        if self.before is None:
            del os.environ["HYP_TENSOR_CORES"]
        else:
            os.environ["HYP_TENSOR_CORES"] = self.before


def all_contenders() -> list[Contender]:
    """In timing order: the baselines first (their times make the ratios)."""
    return [
        FrozenEager(), FrozenGraphed(),
        PeftLoraEager(), PeftLoraCompiled(), LoraBf16Eager(),
        ReferenceHypLoraEager(), ReferenceHypLoraCompiled(),
        HyploraContender("lora", "reference"),
        HyploraContender("hyplora", "reference"),
        HyploraContender("hyplora", "lorentz"),
        HyploraContender("lora", "reference", tensor_cores=True),
        HyploraContender("hyplora", "reference", tensor_cores=True),
        HyploraContender("hyplora", "lorentz", tensor_cores=True),
        HyploraContender("hyplora", "reference", tensor_cores=True, graphed=True),
    ]


def import_hyplora() -> tuple[object | None, str]:
    """(module, '') or (None, reason). Env vars must be set before this runs."""
    try:
        mod = importlib.import_module("hyplora")
    except Exception as e:
        return None, f"import hyplora failed: {type(e).__name__}: {e}"
    try:
        # The package may raise ImportError lazily, naming what is not built.
        getattr(mod, "HypLoRALinear")
    except Exception as e:
        return None, f"hyplora.HypLoRALinear unavailable: {type(e).__name__}: {e}"
    return mod, ""


def hyplora_ops_status() -> str:
    """Whether torch.ops.hyplora.adapter_forward is registered (informational)."""
    try:
        torch.ops.hyplora.adapter_forward  # noqa: B018  (attribute lookup raises if absent)
        return "registered"
    except Exception as e:
        return f"not registered: {type(e).__name__}: {e}"


def timed_build(contender: Contender, data: LayerData, ctx: Ctx) -> tuple[Built, float]:
    contender.available(ctx)
    t0 = time.perf_counter()
    built = contender.build(data, ctx)
    return built, time.perf_counter() - t0
