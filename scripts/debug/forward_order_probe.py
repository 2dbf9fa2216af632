import os, sys, torch
sys.path.insert(0, os.getcwd())
import hyplora
from bench.contenders import HyploraContender, standalone_setup
from bench.timing import time_interleaved
for K, N, M in [(4096, 4096, 8192), (4096, 1024, 8192), (14336, 4096, 8192)]:
    for trial in range(2):
        hyplora.jit.clear_programs()
        ctx, data, xs, dys = standalone_setup(K, N, M, 32, 2, torch.device("cuda"), hyplora)
        c = HyploraContender("hyplora", "reference", tensor_cores=True); c.available(ctx)
        step = c.build(data, ctx).make_step(xs, dys)
        step(0); torch.cuda.synchronize()
        print(K, N, M, "trial", trial, [o for o in hyplora.jit.forward_orders()], flush=True)
    def under(v):
        def run(i):
            os.environ["HYP_FWD_UP_STORE"] = v
            return step(i)
        return run
    t = time_interleaved({"store": under("1"), "add": under("0")}, 2, 40, 3, True, 5)
    print(K, N, M, {k: round(v["median_ms"], 4) for k, v in t.items()}, flush=True)
    os.environ.pop("HYP_FWD_UP_STORE")
