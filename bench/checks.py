"""Before a contender is timed, check it computes what it claims.

Its forward output on a slice of real input rows is compared with a float64
evaluation of its formula (HYPLORA.md section 5: relative Frobenius error,
2e-2 for bf16 activations). The adapter part (y - W x - b) is also compared
on its own, since W x dominates y and could hide a wrong adapter; its bound
is looser (5e-2, or more when y's own bf16 rounding, measured against the
smaller adapter norm, explains more than that).
A timing of a contender that fails its check is still reported, flagged.

The backward is checked the same way (check_backward): the adapter's part of
dx (dx - dY W) and the gradients of A and B against float64 autograd of the
adapter term alone (no f64 GEMM with W: it stays cheap at every M).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from bench.reference_hyplora import reference_forward_f64

Y_TOL = {torch.float32: 3e-4, torch.float64: 1e-9}
Y_TOL_HALF = 2e-2
ADAPTER_TOL_HALF = 5e-2
ROWS = 256


def _lorentz_f64(x, W, b, A, B, k, s, scaling, max_sinh_arg=12.0):
    x = x.double()
    n = x.norm(dim=-1, keepdim=True).clamp_min(1e-7)
    K = F.softplus(torch.tensor(k, dtype=torch.float64, device=x.device)) + 1e-6
    S = K.sqrt()
    a = (n / s / S).clamp_max(max_sinh_arg)
    u = (S * torch.sinh(a) * x / n) @ A.double().t() @ B.double().t()
    un = u.norm(dim=-1, keepdim=True)
    out = S * torch.asinh(un / S) * u / un.clamp_min(1e-7)   # time = sqrt(K + |u|^2)
    y = x @ W.double().t() + (b.double() if b is not None else 0.0)
    return y + scaling * out


def oracle_f64(kind: str, x: torch.Tensor, data) -> torch.Tensor | None:
    W, b = data.W, data.b
    base = x.double() @ W.double().t() + (b.double() if b is not None else 0.0)
    if kind == "frozen":
        return base
    if kind == "lora":
        return base + data.scaling * (x.double() @ data.A.double().t() @ data.B.double().t())
    if kind == "hyp_reference":
        dev = x.device
        return reference_forward_f64(x, W, b, data.A, data.B,
                                     torch.tensor(data.k, device=dev), torch.tensor(data.s, device=dev),
                                     data.scaling)
    if kind == "hyp_lorentz":
        return _lorentz_f64(x, W, b, data.A, data.B, data.k, data.s, data.scaling)
    return None


def check_forward(module, kind: str, x: torch.Tensor, data, rows: int = ROWS,
                  cache: dict | None = None) -> dict:
    """{'ok', 'rel_err_y', 'rel_err_adapter', 'tol_y', 'tol_adapter', 'rows'} or a reason.

    ``cache`` (one dict per x) keeps the float64 results between contenders
    that share an oracle: on the GPU they are the costly part (f64 GEMMs).
    """
    rows = x[:rows].detach()
    cache = {} if cache is None else cache
    if "frozen" not in cache:
        cache["frozen"] = oracle_f64("frozen", rows, data)
    if kind not in cache:
        cache[kind] = oracle_f64(kind, rows, data)
    ref, base = cache[kind], cache["frozen"]
    if ref is None:
        return {"ok": None, "reason": f"no float64 oracle for {kind!r}"}
    with torch.no_grad():
        y = module(rows).double()
    err_y = ((y - ref).norm() / ref.norm().clamp_min(1e-30)).item()
    half = x.dtype in (torch.bfloat16, torch.float16)
    tol_y = Y_TOL_HALF if half else Y_TOL.get(x.dtype, 3e-4)
    out = {"rows": int(rows.shape[0]), "rel_err_y": err_y, "tol_y": tol_y,
           "finite": bool(torch.isfinite(y).all().item())}
    ok = err_y <= tol_y and out["finite"]
    if kind != "frozen":
        ad_ref = ref - base
        err_a = ((y - base - ad_ref).norm() / ad_ref.norm().clamp_min(1e-30)).item()
        if half:
            # y is stored in bf16/fp16, rounded twice (the GEMM's output, then
            # y + adapter): rms error about sqrt(2) eps / sqrt(12) = 0.41 eps
            # of |y|. The adapter part cannot beat that, so never ask for less
            # than 3x it (1.25 eps) measured against the adapter's norm. On
            # shapes where |y| >> |adapter| (N = 14336, 18944) the check is
            # therefore weak; the small shapes carry it.
            eps = torch.finfo(x.dtype).eps
            floor = 1.25 * eps * (ref.norm() / ad_ref.norm().clamp_min(1e-30)).item()
            tol_a = max(ADAPTER_TOL_HALF, floor)
        else:
            tol_a = tol_y
        out.update(rel_err_adapter=err_a, tol_adapter=tol_a)
        ok = ok and err_a <= tol_a
    out["ok"] = bool(ok)
    return out


GRAD_TOL_HALF = 5e-2


def _adapter_f64(kind: str, x, A, B, data):
    """scaling * (adapter term) in float64, differentiable in x, A, B; None: no oracle."""
    # A zero 1 x K weight makes the oracles' base term a broadcast (M, 1)
    # zero: the same formulas without their M x K x N GEMM.
    zero_w = torch.zeros(1, x.shape[1], dtype=torch.float64, device=x.device)
    if kind == "lora":
        return data.scaling * (x @ A.t() @ B.t())
    if kind == "hyp_reference":
        dev = x.device
        return reference_forward_f64(x, zero_w, None, A, B, torch.tensor(data.k, device=dev),
                                     torch.tensor(data.s, device=dev), data.scaling)
    if kind == "hyp_lorentz":
        return _lorentz_f64(x, zero_w, None, A, B, data.k, data.s, data.scaling)
    return None


def _rel(got, want) -> float:
    return ((got.double() - want).norm() / want.norm().clamp_min(1e-30)).item()


def check_backward(module, params: list, kind: str, x: torch.Tensor, dy: torch.Tensor, data,
                   rows: int = ROWS) -> dict:
    """{'ok', 'rel_err_dx_adapter', 'rel_err_dA', 'rel_err_dB', 'tol_dx', 'tol_grad'} or a reason.

    The contender's gradients come from one autograd pass on the first
    ``rows`` rows with the bench's own dY; its A and B are the parameters of
    shape (r, K) and (N, r) (PEFT and ours keep A as r x K, B as N x r).
    """
    K, N, r = data.K, data.N, data.r
    a_params = [p for p in params if tuple(p.shape) == (r, K)]
    b_params = [p for p in params if tuple(p.shape) == (N, r)]
    if len(a_params) != 1 or len(b_params) != 1:
        return {"ok": None, "reason": "cannot tell lora_A / lora_B apart by shape"}
    xr = x[:rows].detach().clone().requires_grad_(True)
    dyr = dy[:rows].detach()
    y = module(xr)
    gx, gA, gB = torch.autograd.grad(y, [xr, a_params[0], b_params[0]], dyr)
    x64 = xr.detach().double().requires_grad_(True)
    A64 = data.A.detach().double().requires_grad_(True)
    B64 = data.B.detach().double().requires_grad_(True)
    ad = _adapter_f64(kind, x64, A64, B64, data)
    if ad is None:
        return {"ok": None, "reason": f"no float64 oracle for {kind!r}"}
    rx, rA, rB = torch.autograd.grad(ad, [x64, A64, B64], dyr.double())
    base_dx = (dyr.float() @ data.W.float()).double()   # dY W: the frozen part of dx
    out = {"rel_err_dx_adapter": _rel(gx.double() - base_dx, rx),
           "rel_err_dA": _rel(gA, rA), "rel_err_dB": _rel(gB, rB)}
    half = x.dtype in (torch.bfloat16, torch.float16)
    if half:
        # dx is stored in bf16/fp16 like y: the same floor as the forward's
        # adapter check, measured against the adapter part's norm.
        eps = torch.finfo(x.dtype).eps
        floor = 1.25 * eps * ((base_dx + rx).norm() / rx.norm().clamp_min(1e-30)).item()
        tol_dx, tol_g = max(GRAD_TOL_HALF, floor), GRAD_TOL_HALF
    else:
        tol_dx = tol_g = Y_TOL.get(x.dtype, 3e-4) * 10
    out.update(tol_dx=tol_dx, tol_grad=tol_g,
               finite_grads=bool(all(torch.isfinite(g).all().item() for g in (gx, gA, gB))))
    out["ok"] = bool(out["finite_grads"] and out["rel_err_dx_adapter"] <= tol_dx
                     and out["rel_err_dA"] <= tol_g and out["rel_err_dB"] <= tol_g)
    return out
