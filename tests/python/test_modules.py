"""hyplora.HypLoRALinear: init, parameters, dropout, autocast, checkpointing."""
import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import hyplora
from hyplora import reference
from conftest import TOL, rel_err


def make_module(K=24, N=16, r=4, variant="hyplora", bias=True, **kw):
    m = hyplora.HypLoRALinear(nn.Linear(K, N, bias=bias), r=r, alpha=8, variant=variant, **kw)
    with torch.no_grad():
        m.lora_B.normal_()
    return m


def reference_forward(m, x, x_adapter=None):
    xa = x if x_adapter is None else x_adapter
    b = m.base_layer.bias
    return reference.adapted_linear(
        x.double(), xa.double(), m.base_layer.weight.double(),
        None if b is None else b.double(), m.lora_A.double(), m.lora_B.double(),
        m.lora_k.double(), m.lora_norm_scale.double(), m.scaling, m.variant, m.convention)


def test_init_follows_the_reference():
    base = nn.Linear(64, 32)
    m = hyplora.HypLoRALinear(base, r=8, alpha=16, curvature=0.5)
    assert m.lora_A.shape == (8, 64) and m.lora_B.shape == (32, 8)
    assert torch.count_nonzero(m.lora_B) == 0
    bound = 1 / math.sqrt(64)  # kaiming_uniform(a=sqrt(5)) on fan_in 64
    assert m.lora_A.abs().max() <= bound and m.lora_A.abs().max() > 0.5 * bound
    assert m.lora_k.item() == 0.5 and m.lora_k.dim() == 0
    assert m.lora_norm_scale.item() == pytest.approx(8.0)
    assert all(p.dtype == torch.float32 for p in (m.lora_A, m.lora_B, m.lora_k, m.lora_norm_scale))
    assert not base.weight.requires_grad and not base.bias.requires_grad
    assert m.scaling == 2.0
    assert hyplora.HypLoRALinear(nn.Linear(4, 4), r=4, alpha=8, use_rslora=True).scaling == 4.0
    # B = 0: the adapted layer is the base layer.
    x = torch.randn(5, 64)
    assert torch.equal(m(x), base(x))


@pytest.mark.parametrize("variant,names", [
    ("hyplora", {"lora_A", "lora_B", "lora_k", "lora_norm_scale"}),
    ("hyplora_simplified", {"lora_A", "lora_B", "lora_k"}),
    ("lora", {"lora_A", "lora_B"})])
def test_trainable_parameters_per_variant(variant, names):
    m = make_module(variant=variant)
    assert {n for n, p in m.named_parameters() if p.requires_grad} == names


@pytest.mark.parametrize("variant", ["hyplora", "hyplora_simplified", "lora"])
@pytest.mark.parametrize("convention", ["reference", "lorentz"])
def test_module_forward_backward_matches_reference(variant, convention):
    m = make_module(variant=variant, convention=convention).double()
    x = torch.randn(2, 7, 24, dtype=torch.float64, requires_grad=True)
    y = m(x)
    assert y.shape == (2, 7, 16)
    ref = reference_forward(m, x)
    assert rel_err(y, ref) < 1e-9
    gy = torch.randn_like(y)
    (y * gy).sum().backward()
    params = [p for p in (m.lora_A, m.lora_B, m.lora_k, m.lora_norm_scale) if p.requires_grad]
    gref = torch.autograd.grad((ref * gy).sum(), [x] + params, allow_unused=True)
    assert rel_err(x.grad, gref[0]) < 1e-9
    for p, g in zip(params, gref[1:]):
        g = torch.zeros_like(p) if g is None else g
        if p is m.lora_k:
            g = g.clamp(-0.01, 0.01)
        assert rel_err(p.grad, g) < 1e-8 or (p.grad - g).abs().max() < 1e-12


def test_dropout_only_on_the_adapter_input():
    m = make_module(dropout=0.5).double()
    m.train()
    x = torch.randn(12, 24, dtype=torch.float64)
    torch.manual_seed(1234)
    y = m(x)
    torch.manual_seed(1234)
    mask_x = F.dropout(x, 0.5, training=True)  # same RNG draw as the module's dropout
    assert rel_err(y, reference_forward(m, x, mask_x)) < 1e-9
    assert rel_err(y, reference_forward(m, x)) > 1e-3  # dropout did something
    # With B = 0 the output is exactly the base on the undropped x.
    with torch.no_grad():
        m.lora_B.zero_()
    assert torch.allclose(m(x), m.base_layer(x), rtol=0, atol=1e-12)
    m.eval()
    with torch.no_grad():
        m.lora_B.normal_()
    assert rel_err(m(x), reference_forward(m, x)) < 1e-9


def test_dropout_gradients_flow_to_x_through_both_paths():
    m = make_module(dropout=0.3).double()
    x = torch.randn(10, 24, dtype=torch.float64, requires_grad=True)
    torch.manual_seed(7)
    m(x).sum().backward()
    torch.manual_seed(7)
    x2 = x.detach().clone().requires_grad_(True)
    xa = F.dropout(x2, 0.3, training=True)
    reference_forward(m, x2, xa).sum().backward()
    assert rel_err(x.grad, x2.grad) < 1e-9


@pytest.mark.parametrize("amp_dtype", [torch.bfloat16, torch.float16], ids=str)
def test_autocast_keeps_adapter_math_fp32(amp_dtype):
    m = make_module(K=32, N=24, r=8)
    x = torch.randn(4, 6, 32, requires_grad=True)
    with torch.autocast("cpu", dtype=amp_dtype):
        y = m(x)
    assert y.dtype == amp_dtype
    # Reference on what the op saw: x and W rounded to the autocast dtype.
    xr = x.detach().to(amp_dtype).double()
    b = m.base_layer.bias.to(amp_dtype).double()
    ref = reference.adapted_linear(xr, xr, m.base_layer.weight.to(amp_dtype).double(), b,
                                   m.lora_A.double(), m.lora_B.double(), m.lora_k.double(),
                                   m.lora_norm_scale.double(), m.scaling)
    assert rel_err(y, ref) < TOL[amp_dtype]
    y.float().sum().backward()
    assert m.lora_A.grad.dtype == torch.float32 and torch.isfinite(m.lora_A.grad).all()
    assert x.grad.dtype == torch.float32 and torch.isfinite(x.grad).all()
    assert m.lora_A.dtype == torch.float32 and m.base_layer.weight.dtype == torch.float32


def test_activation_checkpointing_gives_the_same_gradients():
    from torch.utils.checkpoint import checkpoint
    m = make_module()
    x = torch.randn(5, 24, requires_grad=True)
    m(x).pow(2).sum().backward()
    plain = [t.grad.clone() for t in (x, m.lora_A, m.lora_B, m.lora_k, m.lora_norm_scale)]
    for t in (x, m.lora_A, m.lora_B, m.lora_k, m.lora_norm_scale):
        t.grad = None
    for reentrant in (False, True):
        checkpoint(m, x, use_reentrant=reentrant).pow(2).sum().backward()
        got = [t.grad for t in (x, m.lora_A, m.lora_B, m.lora_k, m.lora_norm_scale)]
        for a, b in zip(got, plain):
            assert torch.allclose(a, b, rtol=1e-6, atol=1e-9)
        for t in (x, m.lora_A, m.lora_B, m.lora_k, m.lora_norm_scale):
            t.grad = None


def test_input_of_another_dtype_is_cast_to_the_base_dtype():
    m = make_module()
    y = m(torch.randn(3, 24, dtype=torch.float64))
    assert y.dtype == torch.float32


@pytest.mark.parametrize("kwargs,match", [
    (dict(r=0), "r must be a positive int"), (dict(variant="dora"), "variant must be one of"),
    (dict(convention="klein"), "convention must be one of"), (dict(dropout=1.0), "dropout"),
    (dict(curvature=float("nan")), "curvature must be finite")])
def test_bad_module_arguments(kwargs, match):
    args = dict(r=4, alpha=8)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        hyplora.HypLoRALinear(nn.Linear(8, 8), **args)


def test_wrong_input_width_is_refused():
    with pytest.raises(ValueError, match="last dimension 7"):
        make_module()(torch.randn(2, 7))
