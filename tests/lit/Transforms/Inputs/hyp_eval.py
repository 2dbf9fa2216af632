#!/usr/bin/env python3
"""Evaluates hyp IR (stage 1, 2 or 3) in float64 with numpy, to check the
expanded forward and the derived backward against a torch float64 reference.

Reads the generic form (`hyp-opt --mlir-print-op-generic`): one op per line,
regions opened by `({` and closed by `})`. Only what the hyp pipeline emits
is supported; anything else raises, so a test cannot pass by skipping ops.
"""
import re
import numpy as np

OP_RE = re.compile(r'^\s*(?:(?P<res>%[\w]+(?::\d+)?(?:, %[\w]+)*) = )?"(?P<name>[\w.]+)"\((?P<args>[^)]*)\)(?P<rest>.*)$')
BLOCK_RE = re.compile(r'^\s*\^bb\d+\((?P<args>.*)\):\s*$')


class Op:
    def __init__(self, name, results, operands, rest):
        self.name, self.results, self.operands, self.rest = name, results, operands, rest
        self.blocks = []  # list of (arg names, ops)

    def attr(self, key):
        m = re.search(key + r' = ([^,}>]+(?:>)?)', self.rest)
        return m.group(1).strip() if m else None


def _results(res):
    if not res:
        return []
    if ':' in res:  # %0:2
        base, n = res.split(':')
        return ['%s#%d' % (base, i) for i in range(int(n))]
    return [r.strip() for r in res.split(',')]


def _operands(args):
    return [a.strip() for a in args.split(',') if a.strip()]


def parse(text):
    """Returns {function name: (arg names, ops)} for every func.func."""
    lines = text.splitlines()

    def parse_block(i):
        ops = []
        while i < len(lines):
            line = lines[i]
            if line.strip().startswith('})'):
                return ops, i
            m = OP_RE.match(line)
            if m:
                op = Op(m['name'], _results(m['res']), _operands(m['args']), m['rest'])
                ops.append(op)
                if line.rstrip().endswith('({'):
                    i += 1
                    bm = BLOCK_RE.match(lines[i])
                    args = []
                    if bm:
                        args = [a.split(':')[0].strip() for a in bm['args'].split(', ')]
                        i += 1
                    body, i = parse_block(i)
                    op.blocks.append((args, body))
                    op.rest += lines[i]
            i += 1
        return ops, i

    top, _ = parse_block(0)
    funcs = {}

    def collect(ops):
        for op in ops:
            if op.name == 'func.func':
                name = re.search(r'sym_name = "(\w+)"', op.rest).group(1)
                funcs[name] = op.blocks[0]
            for _, body in op.blocks:
                collect(body)
    collect(top)
    return funcs


CMPF = {1: np.equal, 2: np.greater, 3: np.greater_equal, 4: np.less, 5: np.less_equal, 6: np.not_equal}


def _const(op):
    v = op.attr('value')
    if v.endswith(': index'):
        return int(v.split(':')[0])
    if v.startswith('dense<'):
        v = v[len('dense<'):].rstrip('>')
    return np.float64(float(v.split(':')[0]))


def run_ops(ops, env):
    with np.errstate(all='ignore'):
        for op in ops:
            a = [env[o] for o in op.operands]
            n = op.name
            if n in ('func.return', 'hyp.yield'):
                return a
            if n == 'arith.constant':
                out = [_const(op)]
            elif n == 'arith.addf': out = [a[0] + a[1]]
            elif n == 'arith.subf': out = [a[0] - a[1]]
            elif n == 'arith.mulf': out = [a[0] * a[1]]
            elif n == 'arith.divf': out = [np.divide(a[0], a[1])]
            elif n == 'arith.negf': out = [-a[0]]
            elif n in ('arith.maximumf', 'arith.maxnumf'): out = [np.maximum(a[0], a[1])]
            elif n in ('arith.minimumf', 'arith.minnumf'): out = [np.minimum(a[0], a[1])]
            elif n == 'arith.select': out = [np.where(a[0], a[1], a[2])]
            elif n == 'arith.cmpf': out = [CMPF[int(op.attr('predicate').split(':')[0])](a[0], a[1])]
            elif n == 'arith.extf' or n == 'arith.truncf': out = [a[0]]
            elif n.startswith('math.'):
                f = {'sqrt': np.sqrt, 'exp': np.exp, 'log': np.log, 'log1p': np.log1p, 'sinh': np.sinh,
                     'cosh': np.cosh, 'acosh': np.arccosh, 'asinh': np.arcsinh, 'tanh': np.tanh,
                     'absf': np.abs, 'rsqrt': lambda t: 1 / np.sqrt(t)}[n[5:]]
                out = [f(a[0])]
            elif n == 'tensor.dim':
                out = [a[0].shape[int(a[1])]]
            elif n == 'tensor.extract_slice':
                offs = [int(t) for t in re.search(r'static_offsets = array<i64: ([^>]*)>', op.rest).group(1).split(',')]
                sizes = [int(t) for t in re.search(r'static_sizes = array<i64: ([^>]*)>', op.rest).group(1).split(',')]
                idx = tuple(slice(o, None if sz < 0 else o + sz) for o, sz in zip(offs, sizes))
                out = [a[0][idx]]
            elif n == 'tensor.concat':
                out = [np.concatenate(a, axis=int(op.attr('dim').split(':')[0]))]
            elif n == 'hyp.row_sqnorm': out = [(a[0] ** 2).sum(1)]
            elif n == 'hyp.row_dot': out = [(a[0] * a[1]).sum(1)]
            elif n == 'hyp.matmul_t': out = [a[0] @ a[1].T + (a[2] if len(a) > 2 else 0)]
            elif n == 'hyp.matmul': out = [a[0] @ a[1] + (a[2] if len(a) > 2 else 0)]
            elif n == 'hyp.matmul_tn': out = [a[0].T @ a[1]]
            elif n == 'hyp.quad_form': out = [np.einsum('ij,jk,ik->i', a[0], a[1], a[0])]
            elif n == 'hyp.row_scale': out = [a[0] * a[1][:, None]]
            elif n == 'hyp.add': out = [a[0] + a[1]]
            elif n == 'hyp.reduce_rows': out = [np.float64(a[0].sum())]
            elif n == 'hyp.pack_cols': out = [np.stack(a, 1)]
            elif n == 'hyp.extract_col': out = [a[0][:, int(op.attr('column').split(':')[0])]]
            elif n == 'hyp.cast': out = [a[0]]
            elif n == 'hyp.row_map':
                args, body = op.blocks[0]
                out = run_ops(body, dict(zip(args, a)))
                rows = a[0].shape[0]
                out = [np.broadcast_to(np.asarray(o, dtype=np.float64), (rows,)).copy() for o in out]
            elif n == 'hyp.kernel':
                args, body = op.blocks[0]
                out = run_ops(body, dict(zip(args, a)))
            else:
                raise NotImplementedError('hyp_eval: no semantics for ' + n)
            assert len(out) == len(op.results), (n, len(out), op.results)
            env.update(zip(op.results, out))
    raise ValueError('block without terminator')


def evaluate(funcs, name, inputs):
    args, ops = funcs[name]
    return run_ops(ops, dict(zip(args, inputs)))
