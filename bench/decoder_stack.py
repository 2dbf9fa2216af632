"""A whole decoder-layer-stack training step: hyplora injected vs PEFT vs frozen.

A transformers LlamaModel with a few decoder layers (SmolLM2 or LLaMA3-8B
sizes, random init, bf16) is fed ``inputs_embeds`` (B x T x d, the paper's
micro-batch 4 x 256 tokens) and run forward + backward; adapters sit on the
paper's target modules (q, k, v, up, down). One base model is built and
deep-copied per contender so all of them start from the same weights.
"""
from __future__ import annotations

import copy
import time

import torch
from torch import nn

from bench import timing
from bench.contenders import Ctx, Unavailable, b_scale
from bench.reference_hyplora import ReferenceHypLoRALinear

TARGETS = ["q_proj", "k_proj", "v_proj", "up_proj", "down_proj"]

STACKS = {
    "smollm2-135m": dict(hidden_size=576, intermediate_size=1536, num_attention_heads=9,
                         num_key_value_heads=3),
    "llama3-8b": dict(hidden_size=4096, intermediate_size=14336, num_attention_heads=32,
                      num_key_value_heads=8),
    "tiny": dict(hidden_size=64, intermediate_size=128, num_attention_heads=4, num_key_value_heads=2),
}


def build_base(size: str, layers: int, device, dtype):
    from transformers import LlamaConfig, LlamaModel
    cfg = LlamaConfig(vocab_size=256, num_hidden_layers=layers, max_position_embeddings=4096,
                      attn_implementation="sdpa", **STACKS[size])
    torch.manual_seed(0)
    with torch.device(device):  # init on the GPU: a 4-layer 8B-size stack is 0.9 G params
        model = LlamaModel(cfg)
    model = model.to(dtype)
    model.requires_grad_(False)
    return model


def _replace_linears(model: nn.Module, make) -> int:
    count = 0
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if name in TARGETS and isinstance(child, nn.Linear):
                setattr(parent, name, make(child))
                count += 1
    return count


def _randomize_b(model: nn.Module) -> None:
    # B = 0 at init makes every adapter output zero; time a trained-like state.
    params = dict(model.named_parameters())
    with torch.no_grad():
        for n, p in params.items():
            a = params.get(n.replace("lora_B", "lora_A"))
            if "lora_B" in n and p.dim() == 2 and a is not None and a.dim() == 2:
                # Same scale as LayerData.random (|u| near 1.2 for every shape).
                p.normal_(0.0, b_scale(a.shape[1], p.shape[0], p.shape[1]))


def adapt(kind: str, base: nn.Module, r: int, alpha: float, ctx: Ctx) -> nn.Module:
    model = copy.deepcopy(base)
    if kind == "frozen":
        return model
    if kind == "peft_lora_eager":
        import peft
        model = peft.get_peft_model(model, peft.LoraConfig(r=r, lora_alpha=alpha, lora_dropout=0.0,
                                                           target_modules=TARGETS, bias="none"))
        for n, p in model.named_parameters():
            if "lora_" in n and p.dtype != torch.float32:
                p.data = p.data.float()
    elif kind == "reference_hyplora_eager":
        _replace_linears(model, lambda lin: ReferenceHypLoRALinear(lin, r, alpha))
    elif kind.startswith("hyplora_"):
        hl = ctx.hyplora
        if hl is None:
            raise Unavailable(ctx.hyplora_reason)
        variant, convention = {"hyplora_lora": ("lora", "reference"),
                               "hyplora_hyplora_reference": ("hyplora", "reference"),
                               "hyplora_hyplora_lorentz": ("hyplora", "lorentz")}[kind]
        if not hasattr(hl, "inject") or not hasattr(hl, "HypLoraConfig"):
            raise Unavailable("hyplora has no inject/HypLoraConfig")
        cfg = hl.HypLoraConfig(r=r, alpha=alpha, target_modules=TARGETS, dropout=0.0, curvature=1.0,
                               convention=convention, variant=variant, use_rslora=False)
        out = hl.inject(model, cfg)
        model = out if isinstance(out, nn.Module) else model
    else:
        raise ValueError(kind)
    _randomize_b(model)
    return model


KINDS = ["frozen", "peft_lora_eager", "reference_hyplora_eager", "hyplora_lora",
         "hyplora_hyplora_reference", "hyplora_hyplora_lorentz"]


def run_stack(size: str, layers: int, batch: int, seq: int, r: int, ctx: Ctx, reps: int, warmup: int,
              l2_bytes: int, dtype=torch.bfloat16, deadline: float = float("inf"), log=print) -> dict:
    entry = {"size": size, "layers": layers, "batch": batch, "seq": seq, "M": batch * seq, "r": r,
             "targets": TARGETS, "results": {}}
    try:
        base = build_base(size, layers, ctx.device, dtype)
    except Exception as e:
        entry["error"] = f"could not build the LlamaModel: {type(e).__name__}: {e}"
        return entry
    d = base.config.hidden_size
    n_sets = timing.input_sets_for(2 * batch * seq * d * 2, l2_bytes, ctx.cuda)
    g = torch.Generator(device=ctx.device).manual_seed(7)
    xs = [torch.randn(batch, seq, d, generator=g, device=ctx.device).to(dtype).requires_grad_(True)
          for _ in range(n_sets)]
    dys = [torch.randn(batch, seq, d, generator=g, device=ctx.device).to(dtype) for _ in range(n_sets)]
    for kind in KINDS:
        if time.monotonic() > deadline:
            entry["results"][kind] = {"status": "skipped", "reason": "time budget spent"}
            continue
        try:
            t0 = time.perf_counter()
            model = adapt(kind, base, r, 4 * r, ctx)
            build_s = time.perf_counter() - t0
            params = [p for p in model.parameters() if p.requires_grad]

            def step(i, model=model, params=params):
                out = model(inputs_embeds=xs[i], use_cache=False).last_hidden_state
                return torch.autograd.grad(out, [xs[i], *params], dys[i], allow_unused=True)
            res = {"status": "ok", "build_s": build_s, "n_trainable": sum(p.numel() for p in params)}
            res["first_call_s"], grads = timing.time_first_call(step, ctx.cuda)
            res["unused_grads"] = sum(1 for g in grads if g is None)
            del grads
            res["peak_extra_bytes"] = timing.peak_extra_bytes(step, ctx.cuda)
            res.update(timing.time_steps(step, n_sets, reps, warmup, ctx.cuda))
            del model, params, step
        except Unavailable as e:
            res = {"status": e.status, "reason": e.reason}
        except Exception as e:
            res = {"status": "error", "reason": f"{type(e).__name__}: {e}"[:2000]}
        entry["results"][kind] = res
        msg = (f"{res['median_ms']:.3f} ms" if res["status"] == "ok"
               else f"{res['status']}: {res.get('reason', '')[:120]}")
        log(f"  stack {size} x{layers} M={batch * seq} {kind:28s} {msg}")
        if ctx.cuda:
            torch.cuda.empty_cache()
    fz = entry["results"].get("frozen", {})
    for kind, res in entry["results"].items():
        if res.get("status") == "ok" and fz.get("status") == "ok":
            res["ratio_vs_frozen"] = res["median_ms"] / fz["median_ms"]
            if res.get("peak_extra_bytes") is not None and fz.get("peak_extra_bytes") is not None:
                res["extra_mib_vs_frozen"] = (res["peak_extra_bytes"] - fz["peak_extra_bytes"]) / 2**20
    return entry
