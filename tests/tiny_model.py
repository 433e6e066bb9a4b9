"""A tiny randomly initialised chat model, built from a config in about a second.

Tests run the real code paths (tokenizer, chat template, `generate`, safetensors loading)
against it; only the weights are random. The tokenizer is a byte-level BPE trained on a few
sentences, with ChatML special tokens and template like SmolLM2's.
"""

from __future__ import annotations

from pathlib import Path

CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

_CORPUS = [
    "Classify the sentiment of the tweet as negative, neutral or positive.",
    "Answer with exactly one of: negative, neutral, positive.",
    "Input: @united my flight was delayed again and nobody told us anything",
    "the crew was lovely, great service, thank you so much",
    "what time does the gate open for the flight to Boston?",
    "system user assistant answer label output question",
    "0123456789 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ .,;:!?'\"()-_/@#&",
]


def build_tiny_model(
    directory: Path, *, seed: int = 0, layers: int = 2, hidden: int = 32, init_std: float = 0.02
) -> Path:
    """Write a loadable HF model directory (config, safetensors weights, tokenizer) to `directory`.

    At the default `init_std` the layers barely move the residual stream, so greedy decoding
    repeats the prompt's last token (a newline) whatever the prompt; ``init_std=0.2`` gives a
    model whose answers vary with the prompt, for tests that compare generated text.
    """
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    bpe = Tokenizer(models.BPE(unk_token=None))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    bpe.train_from_iterator(_CORPUS * 4, trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        bos_token="<|im_start|>",
        eos_token="<|im_end|>",
        pad_token="<|im_end|>",
        unk_token="<|endoftext|>",
    )
    tokenizer.chat_template = CHATML_TEMPLATE

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        intermediate_size=hidden * 2,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
        initializer_range=init_std,
    )
    model = LlamaForCausalLM(config)
    directory.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory
