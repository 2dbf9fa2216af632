"""Reads a LLaMA-architecture GGUF file into a transformers LlamaConfig + state dict.

Why a hand-written reader: the conversion has exactly one subtle step, and we want
it visible and tested on its own. llama.cpp's converter permutes the rows of
q_proj and k_proj: per head, HF's "rotate-half" RoPE layout (first half / second
half of the head dim) becomes llama.cpp's interleaved pairs. `unpermute_qk` inverts
it; a missed or wrong inversion still loads, but the model's perplexity is garbage
(tests/python/test_gguf_loader.py checks both on synthetic and real files).
Quantized tensors (Q4_1 for the embedded SmolLM2) are dequantized to float32 with
the `gguf` package.
"""
import numpy as np
import torch

# GGUF tensor name (after "blk.{i}.") -> HF LLaMA parameter name
_LAYER_TENSORS = {
    "attn_norm.weight": "input_layernorm.weight",
    "attn_q.weight": "self_attn.q_proj.weight",
    "attn_k.weight": "self_attn.k_proj.weight",
    "attn_v.weight": "self_attn.v_proj.weight",
    "attn_output.weight": "self_attn.o_proj.weight",
    "ffn_norm.weight": "post_attention_layernorm.weight",
    "ffn_gate.weight": "mlp.gate_proj.weight",
    "ffn_up.weight": "mlp.up_proj.weight",
    "ffn_down.weight": "mlp.down_proj.weight",
}
_GLOBAL_TENSORS = {
    "token_embd.weight": "model.embed_tokens.weight",
    "output_norm.weight": "model.norm.weight",
    "output.weight": "lm_head.weight",
}


class GGUFError(ValueError):
    """A GGUF file this loader cannot turn into a LLaMA model (the message says why)."""


def permute_qk(weight: np.ndarray, n_head: int) -> np.ndarray:
    """What llama.cpp's convert_hf_to_gguf does to q/k rows (HF layout -> GGUF layout).
    Here for tests and for writing files; loading uses `unpermute_qk`."""
    rows = weight.shape[0]
    return (weight.reshape(n_head, 2, rows // n_head // 2, *weight.shape[1:])
            .swapaxes(1, 2).reshape(weight.shape))


def unpermute_qk(weight: np.ndarray, n_head: int) -> np.ndarray:
    """Inverse of `permute_qk`: GGUF q/k rows -> HF rotate-half layout."""
    rows = weight.shape[0]
    if rows % (2 * n_head):
        raise GGUFError(f"q/k weight with {rows} rows cannot be split into {n_head} heads of even size")
    return (weight.reshape(n_head, rows // n_head // 2, 2, *weight.shape[1:])
            .swapaxes(1, 2).reshape(weight.shape))


def _field_value(reader, key, default=None):
    field = reader.fields.get(key)
    if field is None:
        return default
    if hasattr(field, "contents"):
        return field.contents()
    # Older gguf: scalar in parts[data[0]]; strings are uint8 arrays.
    parts = [field.parts[index] for index in field.data]
    if len(parts) == 1:
        value = parts[0]
        if value.dtype == np.uint8 and len(field.types) and field.types[0].name == "STRING":
            return bytes(value).decode("utf-8")
        return value.tolist()[0] if value.size == 1 else value.tolist()
    return [bytes(p).decode("utf-8") if p.dtype == np.uint8 else p.tolist()[0] for p in parts]


def _require(reader, key):
    value = _field_value(reader, key)
    if value is None:
        raise GGUFError(f"GGUF metadata lacks '{key}'")
    return value


def read_config(reader) -> dict:
    """LlamaConfig keyword arguments from the file's llama.* metadata."""
    arch = _field_value(reader, "general.architecture")
    if arch != "llama":
        raise GGUFError(f"GGUF architecture is '{arch}', only 'llama' is supported")
    hidden = int(_require(reader, "llama.embedding_length"))
    heads = int(_require(reader, "llama.attention.head_count"))
    kv_heads = int(_field_value(reader, "llama.attention.head_count_kv", heads))
    tokens = _field_value(reader, "tokenizer.ggml.tokens")
    vocab = _field_value(reader, "llama.vocab_size", len(tokens) if tokens else None)
    if vocab is None:
        embd = [t for t in reader.tensors if t.name == "token_embd.weight"]
        vocab = int(embd[0].shape[1]) if embd else None
    if vocab is None:
        raise GGUFError("cannot tell the vocabulary size (no llama.vocab_size, tokens or token_embd)")
    config = dict(
        vocab_size=int(vocab),
        hidden_size=hidden,
        intermediate_size=int(_require(reader, "llama.feed_forward_length")),
        num_hidden_layers=int(_require(reader, "llama.block_count")),
        num_attention_heads=heads,
        num_key_value_heads=kv_heads,
        head_dim=int(_field_value(reader, "llama.attention.key_length", hidden // heads)),
        max_position_embeddings=int(_field_value(reader, "llama.context_length", 2048)),
        rms_norm_eps=float(_field_value(reader, "llama.attention.layer_norm_rms_epsilon", 1e-5)),
        rope_theta=float(_field_value(reader, "llama.rope.freq_base", 10000.0)),
        tie_word_embeddings=not any(t.name == "output.weight" for t in reader.tensors),
    )
    for key, name in (("tokenizer.ggml.bos_token_id", "bos_token_id"),
                      ("tokenizer.ggml.eos_token_id", "eos_token_id"),
                      ("tokenizer.ggml.padding_token_id", "pad_token_id")):
        value = _field_value(reader, key)
        if value is not None:
            config[name] = int(value)
    return config


def _dequantize(tensor) -> np.ndarray:
    from gguf.quants import dequantize
    shape = tuple(int(d) for d in reversed(list(tensor.shape)))  # ggml lists dims fastest first
    values = dequantize(tensor.data, tensor.tensor_type)
    return np.asarray(values, dtype=np.float32).reshape(shape)


def hf_name(gguf_name: str) -> str:
    if gguf_name in _GLOBAL_TENSORS:
        return _GLOBAL_TENSORS[gguf_name]
    parts = gguf_name.split(".", 2)
    if len(parts) == 3 and parts[0] == "blk" and parts[1].isdigit() and parts[2] in _LAYER_TENSORS:
        return f"model.layers.{parts[1]}.{_LAYER_TENSORS[parts[2]]}"
    raise GGUFError(f"GGUF tensor '{gguf_name}' has no LLaMA counterpart (unsupported model variant)")


def read_gguf_llama(path) -> tuple:
    """(LlamaConfig kwargs, {HF name: float32 tensor}) for a LLaMA GGUF file."""
    try:
        from gguf import GGUFReader
        reader = GGUFReader(str(path))
    except (OSError, ValueError, KeyError, IndexError) as err:
        raise GGUFError(f"cannot read GGUF file {path}: {err}") from err
    config = read_config(reader)
    state = {}
    for tensor in reader.tensors:
        name = hf_name(tensor.name)
        weight = _dequantize(tensor)
        if tensor.name.endswith("attn_q.weight"):
            weight = unpermute_qk(weight, config["num_attention_heads"])
        elif tensor.name.endswith("attn_k.weight"):
            weight = unpermute_qk(weight, config["num_key_value_heads"])
        state[name] = torch.from_numpy(np.array(weight, dtype=np.float32, order="C", copy=True))
    _check_complete(config, state)
    return config, state


def _check_complete(config: dict, state: dict) -> None:
    expected = {"model.embed_tokens.weight", "model.norm.weight"}
    for layer in range(config["num_hidden_layers"]):
        expected |= {f"model.layers.{layer}.{name}" for name in _LAYER_TENSORS.values()}
    missing = sorted(expected - set(state))
    if missing:
        raise GGUFError(f"GGUF file lacks {len(missing)} tensor(s), e.g. {missing[0]}")
    rows = state["model.embed_tokens.weight"].shape
    if tuple(rows) != (config["vocab_size"], config["hidden_size"]):
        raise GGUFError(f"token_embd has shape {tuple(rows)}, metadata says "
                        f"({config['vocab_size']}, {config['hidden_size']})")
