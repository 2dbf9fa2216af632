""""tiny-random-llama": a randomly initialised 2-layer LLaMA with a byte-level tokenizer.

For tests and smoke runs of the command line on machines where even the 135M
model is too slow: it exercises every code path (injection into q/k/v/up/down,
training, saving, generation) in seconds, and needs no files. It learns nothing
useful, so its accuracies are meaningless. Deterministic: weights from a fixed seed.
"""
TINY_MODEL_NAME = "tiny-random-llama"
_SPECIAL_TOKENS = ("<pad>", "<eos>")


def tiny_tokenizer():
    """Byte-level BPE without merges: every byte is a token, plus <pad> and <eos>."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    alphabet = pre_tokenizers.ByteLevel.alphabet()
    vocab = {token: index for index, token in enumerate(_SPECIAL_TOKENS)}
    for symbol in sorted(alphabet):
        vocab[symbol] = len(vocab)
    backend = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    return PreTrainedTokenizerFast(tokenizer_object=backend, pad_token="<pad>", eos_token="<eos>")


def tiny_llama(vocab_size: int, hidden: int = 32, layers: int = 2, seed: int = 0):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(vocab_size=vocab_size, hidden_size=hidden, intermediate_size=2 * hidden + 8,
                         num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=2,
                         max_position_embeddings=512, pad_token_id=0, eos_token_id=1, bos_token_id=None,
                         tie_word_embeddings=False)
    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        model = LlamaForCausalLM(config)
    finally:
        torch.random.set_rng_state(state)
    return model


def load_tiny(dtype=None, device=None):
    tokenizer = tiny_tokenizer()
    model = tiny_llama(len(tokenizer))
    return model, tokenizer
