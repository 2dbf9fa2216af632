"""Fresh-process measurements (run by bench/cold_start.py, one mode per process).

  first-call  with an empty HYP_CACHE_DIR: wall time of the first training
              step of each new layer shape (compile + autotune + run);
              this also fills the cache for warm-load.
  warm-load   with that cache: time from `import hyplora` to the first
              result of a 30-layer SmolLM2-size model with adapters injected.
  untuned     with HYP_AUTOTUNE=0: step times with the default configs, to
              give the end-to-end speedup that tuning buys.

CUDA, cuBLAS and the frozen model are warmed up *before* the clock starts,
so the numbers are what hyplora adds, not what any first CUDA use costs.
Prints one line "BENCH_CHILD_RESULT <json>" on stdout (last line wins).
"""
from __future__ import annotations

import json
import os
import sys
import time

T_PROCESS = time.perf_counter()
_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, _REPO)
sys.path.append(os.path.join(_REPO, "python"))

MARK = "BENCH_CHILD_RESULT "


def emit(obj: dict) -> None:
    sys.stdout.write(MARK + json.dumps(obj, default=str) + "\n")
    sys.stdout.flush()


def _sync(cuda: bool) -> None:
    import torch
    if cuda:
        torch.cuda.synchronize()


def _device():
    import torch
    cuda = torch.cuda.is_available()
    return torch.device("cuda" if cuda else "cpu"), cuda


def _warm_frozen(K, N, M, device, dtype, cuda):
    import torch
    lin = torch.nn.Linear(K, N, bias=False, device=device, dtype=dtype).requires_grad_(False)
    x = torch.randn(M, K, device=device, dtype=dtype, requires_grad=True)
    for _ in range(2):
        torch.autograd.grad(lin(x), x, torch.randn(M, N, device=device, dtype=dtype))
    _sync(cuda)


def first_call(args: dict) -> dict:
    import torch
    from bench.contenders import LayerData
    t_torch = time.perf_counter() - T_PROCESS
    device, cuda = _device()
    dtype = torch.bfloat16
    for K, N, r, M in args["shapes"]:
        _warm_frozen(K, N, M, device, dtype, cuda)
    t0 = time.perf_counter()
    try:
        import hyplora
    except Exception as e:
        return {"status": "unavailable", "reason": f"import hyplora failed: {type(e).__name__}: {e}"}
    t_import = time.perf_counter() - t0
    shapes = []
    for K, N, r, M in args["shapes"]:
        data = LayerData.random(K, N, r, device, dtype)
        x = torch.randn(M, K, device=device, dtype=dtype, requires_grad=True)
        dy = torch.randn(M, N, device=device, dtype=dtype)
        times = []
        for _ in range(2):
            _sync(cuda)
            t = time.perf_counter()
            if not times:
                m = hyplora.HypLoRALinear(data.frozen_linear(), r, data.alpha, curvature=1.0,
                                          convention=args["convention"], variant=args["variant"])
                m = m.to(device)
                params = [p for p in m.parameters() if p.requires_grad]
            torch.autograd.grad(m(x), [x, *params], dy)
            _sync(cuda)
            times.append(time.perf_counter() - t)
        shapes.append({"K": K, "N": N, "r": r, "M": M, "first_call_s": times[0], "second_call_s": times[1]})
    return {"status": "ok", "cuda": cuda, "import_torch_s": t_torch, "import_hyplora_s": t_import,
            "first_call_s": shapes[0]["first_call_s"], "shapes": shapes,
            "variant": args["variant"], "convention": args["convention"]}


def warm_load(args: dict) -> dict:
    import torch
    from bench.decoder_stack import TARGETS, build_base
    t_torch = time.perf_counter() - T_PROCESS
    device, cuda = _device()
    dtype = torch.bfloat16
    model = build_base(args["size"], args["layers"], device, dtype)
    d = model.config.hidden_size
    x = torch.randn(args["batch"], args["seq"], d, device=device, dtype=dtype, requires_grad=True)
    dy = torch.randn_like(x)

    def step():
        params = [p for p in model.parameters() if p.requires_grad]
        out = model(inputs_embeds=x, use_cache=False).last_hidden_state
        torch.autograd.grad(out, [x, *params], dy)
        _sync(cuda)
    step(); step()  # CUDA, cuBLAS, attention kernels: paid before the clock
    t0 = time.perf_counter()
    try:
        import hyplora
        cfg = hyplora.HypLoraConfig(r=args["r"], alpha=4 * args["r"], target_modules=TARGETS,
                                    dropout=0.0, curvature=1.0, convention="reference",
                                    variant="hyplora", use_rslora=False)
        t1 = time.perf_counter()
        out = hyplora.inject(model, cfg)
        if isinstance(out, torch.nn.Module):
            model = out
    except Exception as e:
        return {"status": "unavailable", "reason": f"hyplora import/inject failed: {type(e).__name__}: {e}"}
    t2 = time.perf_counter()
    step()
    t3 = time.perf_counter()
    step()
    t4 = time.perf_counter()
    n_adapted = sum(1 for m in model.modules() if hasattr(m, "lora_A"))
    return {"status": "ok", "cuda": cuda, "import_torch_s": t_torch, "import_hyplora_s": t1 - t0,
            "inject_s": t2 - t1, "first_step_s": t3 - t2, "time_to_first_result_s": t3 - t0,
            "second_step_s": t4 - t3, "adapted_layers": n_adapted, "model_layers": args["layers"],
            "size": args["size"], "M": args["batch"] * args["seq"]}


def untuned(args: dict) -> dict:
    import torch
    from bench import timing
    from bench.contenders import Ctx, HyploraContender, LayerData, import_hyplora
    device, cuda = _device()
    mod, reason = import_hyplora()
    if mod is None:
        return {"status": "unavailable", "reason": reason}
    ctx = Ctx(device, cuda, False, mod, reason, False, 0.0)
    c = HyploraContender(args["variant"], args["convention"])
    out = []
    for K, N, r, M in args["points"]:
        data = LayerData.random(K, N, r, device, torch.bfloat16)
        built = c.build(data, ctx)
        n_sets = timing.input_sets_for((M * K + M * N) * 2, args["l2_bytes"], cuda)
        xs = [torch.randn(M, K, device=device, dtype=torch.bfloat16, requires_grad=True) for _ in range(n_sets)]
        dys = [torch.randn(M, N, device=device, dtype=torch.bfloat16) for _ in range(n_sets)]
        step = built.make_step(xs, dys)
        first, _ = timing.time_first_call(step, cuda)
        res = timing.time_steps(step, n_sets, args["reps"], args["warmup"], cuda)
        out.append({"K": K, "N": N, "r": r, "M": M, "first_call_s": first, **res})
        del xs, dys, step, built
    return {"status": "ok", "contender": c.name, "points": out,
            "HYP_AUTOTUNE": os.environ.get("HYP_AUTOTUNE")}


MODES = {"first-call": first_call, "warm-load": warm_load, "untuned": untuned}

if __name__ == "__main__":
    mode, payload = sys.argv[1], json.loads(sys.argv[2])
    try:
        result = MODES[mode](payload)
    except Exception as e:  # report, never a bare traceback only
        import traceback
        traceback.print_exc()
        result = {"status": "error", "reason": f"{type(e).__name__}: {e}"}
    emit(result)
