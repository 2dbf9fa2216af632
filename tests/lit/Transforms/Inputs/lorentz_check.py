#!/usr/bin/env python3
"""Evaluates the expanded textbook Lorentz ops (function @ops of
tests/lit/Transforms/expand-lorentz.mlir, f64) on fresh random inputs and
compares with numpy float64 formulas of HYPLORA.md §2. Prints 'ALL OK'."""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import hyp_eval  # noqa: E402


def main():
    funcs = hyp_eval.parse(open(sys.argv[1]).read())
    rng = np.random.default_rng()
    M, d, r, n = 16, 4, 8, 16
    K = np.float64(rng.uniform(0.5, 2.0))
    S = np.sqrt(K)
    v = rng.standard_normal((M, d))
    v[0] = 0.0  # the origin: limits of sinh(n)/n and arccosh/norm
    xs = rng.standard_normal((M, d))
    p = np.concatenate([np.sqrt(K + (xs ** 2).sum(1, keepdims=True)), xs], 1)
    A = rng.standard_normal((r, d))
    B = rng.standard_normal((n, r))
    inner, exp, log, proj, dist, low, roundtrip = hyp_eval.evaluate(funcs, 'ops', [v, p, K, A, B])

    nv = np.linalg.norm(v, axis=1, keepdims=True)
    safe = np.where(nv == 0, 1, nv)
    exp_ref = np.concatenate([S * np.cosh(nv / S), np.where(nv == 0, v, S * np.sinh(nv / S) * v / safe)], 1)
    nx = np.linalg.norm(xs, axis=1, keepdims=True)
    log_ref = S * np.arccosh(np.maximum(p[:, :1] / S, 1)) * xs / nx
    inner_ref = -p[:, 0] * p[:, 0] + (xs * xs).sum(1)
    u = xs @ A.T @ B.T
    low_ref = np.concatenate([np.sqrt((u ** 2).sum(1, keepdims=True) + 1 / max(K, 1e-6)), u], 1)
    checks = [('lorentz_inner', inner, inner_ref), ('expmap0', exp, exp_ref), ('logmap0', log, log_ref),
              ('project', proj, p), ('distance(p, p)', dist, np.zeros(M)),
              ('lorentz_lowrank', low, low_ref), ('logmap0(expmap0(v))', roundtrip, v)]
    ok = True
    for name, got, want in checks:
        err = np.linalg.norm(np.asarray(got) - want) / max(np.linalg.norm(want), 1.0)
        # distance(p, p) goes through arccosh near 1: sqrt-of-rounding error.
        tol = 1e-6 if name.startswith('distance') else 1e-12
        good = bool(np.all(np.isfinite(got))) and err < tol
        ok &= good
        print('%s: err %.3e %s' % (name, err, 'ok' if good else 'FAIL'))
    print('ALL OK' if ok else 'SOME FAILED')


if __name__ == '__main__':
    main()
