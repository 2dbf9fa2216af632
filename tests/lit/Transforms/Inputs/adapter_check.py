#!/usr/bin/env python3
"""Runs the compiled hyp IR of one adapter (forward and backward, f64) on
fresh random inputs and compares with a torch float64 evaluation of
HYPLORA.md §3 (autograd for the backward). Prints one line per quantity and
'ALL OK' when every relative error is below 1e-9.

usage: adapter_check.py <ir-file> <variant> <convention> <scaling> <M> <K> <N> <r>
"""
import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
import hyp_eval  # noqa: E402


def reference(x, A, B, k, s, y0, variant, convention, scaling):
    K = torch.nn.functional.softplus(k) + 1e-6
    if variant == 'lora':
        return y0 + scaling * (x @ A.T) @ B.T
    if variant == 'hyplora_simplified':
        n2 = (x * x).sum(-1, keepdim=True)
        yp = 2 * x / (1 + K * n2)
        z = (yp @ A.T) @ B.T
        t = torch.sqrt((z * z).sum(-1, keepdim=True) + K)
        return y0 + scaling * z / (1 + torch.sqrt(K) * t)
    S = torch.sqrt(K)
    n = torch.clamp(x.norm(dim=-1, keepdim=True), min=1e-7)
    a = torch.clamp(n / s / S, max=12.0)
    xs = S * torch.sinh(a) * x / n
    u = (xs @ A.T) @ B.T
    unorm = u.norm(dim=-1, keepdim=True)
    if convention == 'reference':
        t = torch.sqrt((u * u).sum(-1, keepdim=True) + 1 / torch.clamp(K, min=1e-6))
        th = t / S
        ac = torch.where(th < 1.01, torch.sqrt(2 * torch.clamp(th - 1, min=1e-6)),
                         torch.acosh(torch.clamp(th, min=1 + 1e-7)))
        out = S * ac * u / torch.clamp(unorm, min=1e-7)
    else:  # lorentz, as documented in passes/README.md
        m = torch.clamp(unorm, min=1e-7)
        out = S * torch.asinh(m / S) * u / m
    return y0 + scaling * out


def rel(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300))


def main():
    path, variant, convention = sys.argv[1:4]
    scaling = float(sys.argv[4])
    M, K, N, r = map(int, sys.argv[5:9])
    rng = np.random.default_rng()  # fresh inputs every run
    # Row norms spread over decades so that both branches of th < 1.01 are
    # taken (K > 1 below: th = 1/K < 1 at u = 0).
    x = rng.standard_normal((M, K)) * np.logspace(-3, 1, M)[:, None]
    x[1] *= 50.0        # huge row: sinh argument clamped at 12
    A = rng.standard_normal((r, K)) / math.sqrt(K)
    B = rng.standard_normal((N, r)) * rng.uniform(0.05, 1.0, size=(1, r))
    k = np.array(rng.uniform(0.6, 1.5))
    s = np.array(math.sqrt(K) * rng.uniform(0.5, 2.0))
    y0 = rng.standard_normal((M, N))
    dy = rng.standard_normal((M, N))
    dx0 = rng.standard_normal((M, K))

    funcs = hyp_eval.parse(open(path).read())
    y, w, stats = hyp_eval.evaluate(funcs, 'adapter_forward', [x, A, B, k, s, y0])
    dx, dA, dB, dk, ds = hyp_eval.evaluate(
        funcs, 'adapter_backward', [dy, x, A, B, k, s, w, stats, dx0])

    t = {n: torch.tensor(v, dtype=torch.float64, requires_grad=True)
         for n, v in dict(x=x, A=A, B=B, k=k, s=s).items()}
    y_ref = reference(t['x'], t['A'], t['B'], t['k'], t['s'], torch.tensor(y0),
                      variant, convention, scaling)
    y_ref.backward(torch.tensor(dy))
    checks = [('y', y, y_ref.detach().numpy()),
              ('dx', dx, dx0 + t['x'].grad.numpy()),
              ('dA', dA, t['A'].grad.numpy()),
              ('dB', dB, t['B'].grad.numpy())]
    # dk, ds are sums over rows that can cancel: scale by the sum of |terms|
    # (HYPLORA.md §5) through the norm of the gradient of each row.
    grad_k = t['k'].grad
    checks.append(('dk', dk, grad_k.numpy() if grad_k is not None else np.float64(0.0)))
    if variant == 'hyplora':
        checks.append(('ds', ds, t['s'].grad.numpy()))
    else:
        checks.append(('ds', ds, np.float64(0.0)))
    ok = True
    if variant == 'hyplora' and convention == 'reference':
        # Both branches of th < 1.01 must be exercised for the check to mean much.
        Kc = math.log1p(math.exp(float(k))) + 1e-6
        th = np.sqrt(np.asarray(stats)[:, 1] + 1 / Kc) / math.sqrt(Kc)
        both = bool((th < 1.01).any() and (th >= 1.01).any())
        print('both th branches taken: %s' % both)
        ok &= both
    for name, got, want in checks:
        got = np.asarray(got)
        if not np.all(np.isfinite(got)):
            print('%s: NOT FINITE' % name)
            ok = False
            continue
        scale = max(float(np.linalg.norm(want)), 1e-12)
        err = float(np.linalg.norm(got - want)) / scale
        good = err < 1e-9
        ok &= good
        print('%s: rel err %.3e %s' % (name, err, 'ok' if good else 'FAIL'))
    # The zero row must give finite outputs (clamps, guarded derivatives).
    x0 = x.copy(); x0[2] = 0.0
    y0b, w0, st0 = hyp_eval.evaluate(funcs, 'adapter_forward', [x0, A, B, k, s, y0])
    grads0 = hyp_eval.evaluate(funcs, 'adapter_backward', [dy, x0, A, B, k, s, w0, st0, dx0])
    finite = all(np.all(np.isfinite(np.asarray(v))) for v in [y0b, w0, st0] + list(grads0))
    print('zero row finite: %s' % finite)
    ok &= finite
    print('ALL OK' if ok else 'SOME FAILED')


if __name__ == '__main__':
    main()
