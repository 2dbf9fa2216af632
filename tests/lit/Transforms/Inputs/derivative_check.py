#!/usr/bin/env python3
"""Compares the derivative row maps (hyp-test-row-map-derivative) with central
finite differences of the original row maps, in float64, on fresh random
inputs. usage: derivative_check.py <original generic IR> <derivative generic IR>"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import hyp_eval  # noqa: E402


def main():
    orig = hyp_eval.parse(open(sys.argv[1]).read())
    diff = hyp_eval.parse(open(sys.argv[2]).read())
    rng = np.random.default_rng()
    a = rng.uniform(0.5, 2.0, 32)
    b = rng.uniform(0.5, 2.0, 32)
    k = np.float64(rng.uniform(0.3, 1.0))
    h = 1e-6
    got = hyp_eval.evaluate(diff, 'f', [a, b, k])
    plus = hyp_eval.evaluate(orig, 'f', [a + h, b, k])
    minus = hyp_eval.evaluate(orig, 'f', [a - h, b, k])
    ok = True
    for i, (g, p, m) in enumerate(zip(got, plus, minus)):
        fd = (p - m) / (2 * h)
        err = float(np.max(np.abs(g - fd) / (1 + np.abs(fd))))
        good = bool(np.all(np.isfinite(g))) and err < 1e-6
        ok &= good
        print('program %d: max err %.2e %s' % (i, err, 'ok' if good else 'FAIL'))
    print('ALL OK' if ok else 'SOME FAILED')


if __name__ == '__main__':
    main()
