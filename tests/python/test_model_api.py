"""Model API: inject into a tiny LLaMA, trainable count, save/load, reference
import, merge; and (CUDA) a 20-step fine-tune through the CUDA path vs the CPU
reference path."""
import copy
import json
import os

import pytest
import torch
import torch.nn as nn

import hyplora
from conftest import requires_cuda

transformers = pytest.importorskip("transformers")

TARGETS = ["q_proj", "k_proj", "v_proj", "up_proj", "down_proj"]


def tiny_llama(seed=0):
    cfg = transformers.LlamaConfig(vocab_size=96, hidden_size=48, intermediate_size=80,
                                   num_hidden_layers=2, num_attention_heads=4,
                                   num_key_value_heads=2, max_position_embeddings=64)
    torch.manual_seed(seed)
    return transformers.LlamaForCausalLM(cfg).eval()


def hcfg(**kw):
    args = dict(r=4, alpha=16, target_modules=TARGETS)
    args.update(kw)
    return hyplora.HypLoraConfig(**args)


def randomize_adapters(model):
    with torch.no_grad():
        for m in hyplora.adapter_modules(model).values():
            m.lora_B.normal_(0, 0.2)
            if isinstance(m.lora_k, nn.Parameter):
                m.lora_k.add_(torch.randn(()) * 0.3)
            if isinstance(m.lora_norm_scale, nn.Parameter):
                m.lora_norm_scale.mul_(1 + 0.1 * torch.randn(()))


def test_inject_replaces_targets_and_counts_parameters():
    model = tiny_llama()
    ids = torch.randint(0, 96, (2, 9))
    before = model(ids).logits
    names = hyplora.inject(model, hcfg())
    assert len(names) == 2 * 5
    assert all(n.split(".")[-1] in TARGETS for n in names)
    assert isinstance(model.model.layers[0].self_attn.q_proj, hyplora.HypLoRALinear)
    assert isinstance(model.model.layers[0].self_attn.o_proj, nn.Linear)
    count, params = hyplora.trainable_parameters(model)
    expected = 0
    for m in hyplora.adapter_modules(model).values():
        expected += 4 * (m.in_features + m.out_features) + 2  # A, B, k, s
    assert count == expected
    assert all(".lora_" in p for p in params) and len(params) == 4 * 10
    # B = 0 at init: the model computes what it did before.
    assert torch.allclose(model(ids).logits, before, atol=1e-5)


def test_injected_model_trains_only_the_adapters():
    model = tiny_llama()
    hyplora.inject(model, hcfg(dropout=0.1))
    model.train()
    ids = torch.randint(0, 96, (2, 10))
    out = model(ids, labels=ids)
    assert torch.isfinite(out.loss)
    out.loss.backward()
    for n, p in model.named_parameters():
        if ".lora_" in n:
            assert p.grad is not None and torch.isfinite(p.grad).all(), n
        else:
            assert p.grad is None, n
    # lora_B gets a gradient at init; lora_A does not (B = 0), as in LoRA.
    q = model.model.layers[0].self_attn.q_proj
    assert q.lora_B.grad.abs().sum() > 0


def test_inject_errors():
    model = tiny_llama()
    with pytest.raises(ValueError, match="no nn.Linear matches"):
        hyplora.inject(model, hcfg(target_modules=["not_a_module"]))
    hyplora.inject(model, hcfg())
    with pytest.raises(ValueError, match="already has hyplora adapters"):
        hyplora.inject(model, hcfg())
    with pytest.raises(TypeError):
        hyplora.inject(tiny_llama(), {"r": 4})


def test_regex_target_modules():
    model = tiny_llama()
    names = hyplora.inject(model, hcfg(target_modules=r".*layers\.1\.self_attn\.(q|v)_proj"))
    assert names == ["model.layers.1.self_attn.q_proj", "model.layers.1.self_attn.v_proj"]


@pytest.mark.parametrize("variant", ["hyplora", "hyplora_simplified", "lora"])
def test_save_load_round_trip(tmp_path, variant):
    model = tiny_llama()
    hyplora.inject(model, hcfg(variant=variant, convention="lorentz"))
    randomize_adapters(model)
    ids = torch.randint(0, 96, (2, 8))
    want = model(ids).logits
    files = hyplora.save_adapter(model, str(tmp_path / "ad"))
    assert all(os.path.exists(f) for f in files)
    # Into a fresh model without adapters: injected from the file's config.
    fresh = tiny_llama()
    hyplora.load_adapter(fresh, str(tmp_path / "ad"))
    assert fresh.hyplora_config.variant == variant
    assert torch.equal(fresh(ids).logits, want)
    # Into a model injected with the same config.
    fresh2 = tiny_llama()
    hyplora.inject(fresh2, hcfg(variant=variant, convention="lorentz"))
    hyplora.load_adapter(fresh2, str(tmp_path / "ad"))
    assert torch.equal(fresh2(ids).logits, want)


def test_load_refuses_a_different_config(tmp_path):
    model = tiny_llama()
    hyplora.inject(model, hcfg())
    hyplora.save_adapter(model, str(tmp_path / "ad"))
    for kw, field in [(dict(r=8), "r:"), (dict(variant="lora"), "variant"),
                      (dict(convention="lorentz"), "convention"), (dict(alpha=3), "alpha")]:
        other = tiny_llama()
        hyplora.inject(other, hcfg(**kw))
        with pytest.raises(ValueError, match=field):
            hyplora.load_adapter(other, str(tmp_path / "ad"))
    other = tiny_llama()
    hyplora.inject(other, hcfg(target_modules=["q_proj"]))
    with pytest.raises(ValueError, match="adapted modules differ"):
        hyplora.load_adapter(other, str(tmp_path / "ad"))


def test_load_refuses_corrupt_files(tmp_path):
    model = tiny_llama()
    hyplora.inject(model, hcfg())
    d = tmp_path / "ad"
    hyplora.save_adapter(model, str(d))
    (d / "hyplora_config.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        hyplora.load_adapter(tiny_llama(), str(d))
    with pytest.raises(FileNotFoundError, match="no hyplora_config.json"):
        hyplora.load_adapter(tiny_llama(), str(tmp_path / "missing"))


def _write_reference_adapter(directory, model, lora_type, suffix, fmt, k=0.7):
    """An adapter laid out as the reference implementation (PEFT fork) saves it."""
    os.makedirs(directory, exist_ok=True)
    r = 4
    cfg = {"peft_type": "LORA", "r": r, "lora_alpha": 16, "lora_dropout": 0.05,
           "target_modules": ["q_proj", "v_proj"], "lora_type": lora_type, "use_rslora": False}
    with open(os.path.join(directory, "adapter_config.json"), "w") as f:
        json.dump(cfg, f)
    tensors = {}
    for name, mod in model.named_modules():
        if name.endswith(("q_proj", "v_proj")) and isinstance(mod, nn.Linear):
            pre = f"base_model.model.{name}"
            tensors[f"{pre}.lora_A{suffix}.weight"] = torch.randn(r, mod.in_features) * 0.1
            tensors[f"{pre}.lora_B{suffix}.weight"] = torch.randn(mod.out_features, r) * 0.1
            if lora_type.startswith("hyplora"):
                tensors[f"{pre}.lora_k{suffix}"] = torch.tensor(k)
            if lora_type.startswith("hyplora-"):
                tensors[f"{pre}.lora_norm_scale{suffix}"] = torch.tensor(5.0)
    if fmt == "safetensors":
        from safetensors.torch import save_file
        save_file(tensors, os.path.join(directory, "adapter_model.safetensors"))
    else:
        torch.save(tensors, os.path.join(directory, "adapter_model.bin"))
    return tensors


@pytest.mark.parametrize("lora_type,suffix,fmt", [
    ("hyplora-1.0", "", "safetensors"), ("hyplora-0.5", ".default", "bin"),
    ("hyplora_simplified-1.0", "", "safetensors"), ("std", ".default", "safetensors")])
def test_import_reference_adapter(tmp_path, lora_type, suffix, fmt):
    model = tiny_llama()
    tensors = _write_reference_adapter(str(tmp_path / "ref"), model, lora_type, suffix, fmt)
    names = hyplora.import_reference_adapter(model, str(tmp_path / "ref"))
    assert len(names) == 4
    cfg = model.hyplora_config
    assert cfg.r == 4 and cfg.alpha == 16 and cfg.dropout == 0.05
    assert cfg.variant == {"hyplora": "hyplora", "hyplora_simplified": "hyplora_simplified",
                           "std": "lora"}[lora_type.split("-")[0]]
    q = model.model.layers[1].self_attn.q_proj
    pre = "base_model.model.model.layers.1.self_attn.q_proj"
    assert torch.equal(q.lora_A, tensors[f"{pre}.lora_A{suffix}.weight"])
    assert torch.equal(q.lora_B, tensors[f"{pre}.lora_B{suffix}.weight"])
    if lora_type.startswith("hyplora"):
        assert q.lora_k.item() == pytest.approx(0.7)
    if lora_type.startswith("hyplora-"):
        assert q.lora_norm_scale.item() == 5.0
    assert torch.isfinite(model(torch.randint(0, 96, (1, 5))).logits).all()


def test_import_reference_adapter_refuses_missing_or_foreign_keys(tmp_path):
    model = tiny_llama()
    tensors = _write_reference_adapter(str(tmp_path / "ref"), model, "hyplora-1.0", "",
                                       "safetensors")
    from safetensors.torch import save_file
    dropped = {k: v for k, v in tensors.items() if "layers.0.self_attn.q_proj.lora_k" not in k}
    save_file(dropped, str(tmp_path / "ref" / "adapter_model.safetensors"))
    with pytest.raises(ValueError, match="lacks \\['lora_k'\\]"):
        hyplora.import_reference_adapter(tiny_llama(), str(tmp_path / "ref"))
    tensors["base_model.model.model.layers.0.mlp.gate_proj.lora_A.weight"] = torch.zeros(4, 48)
    save_file(tensors, str(tmp_path / "ref" / "adapter_model.safetensors"))
    with pytest.raises(ValueError, match="match no adapted module"):
        hyplora.import_reference_adapter(tiny_llama(), str(tmp_path / "ref"))


def test_merge_refuses_hyperbolic_and_merges_plain_lora():
    model = tiny_llama()
    hyplora.inject(model, hcfg())
    randomize_adapters(model)
    with pytest.raises(ValueError, match="non-linear"):
        hyplora.merge(model)
    assert hyplora.adapter_modules(model), "a refused merge must leave the model unchanged"

    model = tiny_llama()
    hyplora.inject(model, hcfg(variant="lora"))
    randomize_adapters(model)
    ids = torch.randint(0, 96, (2, 8))
    want = model(ids).logits
    merged = hyplora.merge(model)
    assert len(merged) == 10 and not hyplora.adapter_modules(model)
    assert isinstance(model.model.layers[0].self_attn.q_proj, nn.Linear)
    assert torch.allclose(model(ids).logits, want, atol=1e-4, rtol=1e-4)


def test_config_validation_and_reference_parsing():
    with pytest.raises(ValueError, match="variant"):
        hyplora.HypLoraConfig(variant="hyper")
    with pytest.raises(ValueError, match="r must be"):
        hyplora.HypLoraConfig(r=0)
    c = hyplora.HypLoraConfig.from_reference({"r": 32, "lora_alpha": 128, "lora_type": "hyplora-2.0",
                                              "target_modules": ["q_proj"]})
    assert (c.variant, c.curvature, c.scaling, c.lora_type) == ("hyplora", 2.0, 4.0, "hyplora-2.0")
    with pytest.raises(ValueError, match="lora_type"):
        hyplora.HypLoraConfig.from_reference({"lora_type": "dora-1"})
    assert hyplora.HypLoraConfig.from_dict(c.to_dict()) == c


def _fine_tune(model, device, steps, batches):
    model = model.to(device).train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=3e-3)
    losses = []
    for i in range(steps):
        ids = batches[i].to(device)
        loss = model(ids, labels=ids).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


@requires_cuda
@pytest.mark.parametrize("variant", ["hyplora", "lora"])
def test_cuda_fine_tune_matches_cpu_reference_loss_curve(variant):
    base = tiny_llama(seed=3)
    hyplora.inject(base, hcfg(variant=variant))
    randomize_adapters(base)
    cpu_model, gpu_model = copy.deepcopy(base), copy.deepcopy(base)
    batches = [torch.randint(0, 96, (4, 16)) for _ in range(20)]
    cpu = _fine_tune(cpu_model, "cpu", 20, batches)
    jit_before = hyplora.jit.counters() if hyplora.jit.available() else None
    gpu = _fine_tune(gpu_model, "cuda", 20, batches)
    if jit_before is not None:  # the curve must come from our kernels, not the ATen fallback
        assert hyplora.jit.counters()["backward_calls"] >= jit_before["backward_calls"] + 20
    assert cpu[-1] < cpu[0], "the CPU run did not learn: the test would prove nothing"
    for i, (a, b) in enumerate(zip(cpu, gpu)):
        assert abs(a - b) <= 2e-3 * max(1.0, abs(a)), f"step {i}: cpu {a} vs cuda {b}"
