"""A transformers model on this machine, answering batches of chat conversations.

Speed comes from doing the obvious things in bulk: all prompts are tokenised in one call,
sorted by length and cut into batches under a token budget (length bucketing, so almost no
compute goes to padding), and each batch is decoded greedily in one `generate` call with a
KV cache. Per-example Python work is limited to slicing out the answer.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from adaptlab.models.base import (
    DEFAULT_MAX_BATCH_SIZE,
    Backend,
    Conversation,
    Generation,
    ProgressCallback,
)

DEFAULT_MAX_BATCH_TOKENS = 8192


class LocalBackend(Backend):
    """Greedy decoding with a local Hugging Face causal LM.

    >>> backend = LocalBackend(Path("~/.cache/adaptlab/models/smollm2-135m-..."), model_id="smollm2-135m")
    >>> backend.generate([[{"role": "user", "content": "Say hi"}]], max_new_tokens=8)[0].text
    """

    def __init__(
        self,
        directory: Path,
        *,
        model_id: str,
        fingerprint: str = "",
        device: str | None = None,
        max_batch_tokens: int = DEFAULT_MAX_BATCH_TOKENS,
        max_batch_size: int = DEFAULT_MAX_BATCH_SIZE,
    ) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from transformers.utils import logging as hf_logging

        self.model_id = model_id
        self.fingerprint = fingerprint
        self.directory = directory
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        dtype = torch.bfloat16 if self.device.type == "cuda" else torch.float32
        self.tokenizer = AutoTokenizer.from_pretrained(directory, local_files_only=True)
        # A sub-second load needs no progress bar on the user's console.
        hf_logging.disable_progress_bar()
        try:
            # safetensors only: a user-supplied directory must never get to run pickled code.
            self.model = AutoModelForCausalLM.from_pretrained(
                directory, local_files_only=True, use_safetensors=True, dtype=dtype
            ).to(self.device)
        finally:
            hf_logging.enable_progress_bar()
        self.model.eval()
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.max_batch_tokens = max_batch_tokens
        self.max_batch_size = max_batch_size
        self.has_chat_template = bool(self.tokenizer.chat_template)
        self._stop_ids = _stop_token_ids(self.tokenizer, self.model.generation_config)

    # -- Backend -----------------------------------------------------------------------------

    def render(self, conversation: Conversation) -> str:
        if self.has_chat_template:
            return self.tokenizer.apply_chat_template(
                list(conversation), tokenize=False, add_generation_prompt=True
            )
        return plain_prompt(conversation)

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def encode_prompts(self, conversations: Sequence[Conversation]) -> list[list[int]]:
        """Token ids of each rendered prompt. A chat template already writes its special tokens,
        so the tokenizer must not add them again."""
        texts = [self.render(conversation) for conversation in conversations]
        encoded = self.tokenizer(texts, add_special_tokens=not self.has_chat_template)
        return [list(ids) for ids in encoded["input_ids"]]

    def generate(
        self,
        conversations: Sequence[Conversation],
        *,
        max_new_tokens: int,
        on_progress: ProgressCallback | None = None,
    ) -> list[Generation]:
        prompts = self.encode_prompts(conversations)
        results: list[Generation | None] = [None] * len(prompts)
        for batch in length_buckets([len(p) for p in prompts], self.max_batch_tokens, self.max_batch_size):
            started = time.perf_counter()
            answers = self._generate_batch([prompts[i] for i in batch], max_new_tokens)
            elapsed = time.perf_counter() - started
            for index, (text, n_out) in zip(batch, answers, strict=True):
                results[index] = Generation(
                    text=text, prompt_tokens=len(prompts[index]), output_tokens=n_out, latency_s=elapsed
                )
            if on_progress is not None:
                on_progress(len(batch))
        return [r for r in results if r is not None]

    def describe(self) -> dict[str, Any]:
        return {
            "model_id": self.model_id,
            "fingerprint": self.fingerprint,
            "backend": "local",
            "architecture": type(self.model).__name__,
            "parameters": sum(p.numel() for p in self.model.parameters()),
            "dtype": str(self.model.dtype).removeprefix("torch."),
            "device": str(self.device),
            "chat_template": self.has_chat_template,
            "path": str(self.directory),
        }

    # -- internals ---------------------------------------------------------------------------

    def _generate_batch(self, prompts: list[list[int]], max_new_tokens: int) -> list[tuple[str, int]]:
        input_ids, attention_mask = left_pad(prompts, self.tokenizer.pad_token_id)
        with torch.inference_mode():
            output = self.model.generate(
                input_ids=input_ids.to(self.device),
                attention_mask=attention_mask.to(self.device),
                max_new_tokens=max_new_tokens,
                do_sample=False,
                temperature=None,
                top_p=None,
                top_k=None,
                pad_token_id=self.tokenizer.pad_token_id,
                eos_token_id=self._stop_ids,
            )
        new_tokens = output[:, input_ids.shape[1] :].tolist()
        return [self._decode_answer(tokens) for tokens in new_tokens]

    def _decode_answer(self, tokens: list[int]) -> tuple[str, int]:
        """Text before the first stop token, and the number of tokens the model produced
        (the stop token included: it costs a decoding step like any other)."""
        stop = next((i for i, t in enumerate(tokens) if t in self._stop_ids), None)
        produced = tokens if stop is None else tokens[: stop + 1]
        answer = tokens if stop is None else tokens[:stop]
        return self.tokenizer.decode(answer, skip_special_tokens=True).strip(), len(produced)


def plain_prompt(conversation: Conversation) -> str:
    """Prompt text for a model without a chat template (a base model): the messages' contents
    separated by blank lines, ending with an ``Answer:`` cue the model can complete."""
    parts = [message["content"] for message in conversation if message["role"] != "assistant"]
    return "\n\n".join(parts) + "\nAnswer:"


def length_buckets(lengths: Sequence[int], max_batch_tokens: int, max_batch_size: int) -> list[list[int]]:
    """Group indices into batches of similar length, each under a padded-token budget.

    Sorting by length first means each batch pads to a length close to its members', so the
    budget `batch size x longest member` is spent on real tokens. Longest batches come first:
    a memory problem shows up at once rather than at the end of a long run.
    """
    order = sorted(range(len(lengths)), key=lambda i: lengths[i], reverse=True)
    batches: list[list[int]] = []
    current: list[int] = []
    for index in order:
        longest = lengths[current[0]] if current else lengths[index]
        if current and (len(current) >= max_batch_size or longest * (len(current) + 1) > max_batch_tokens):
            batches.append(current)
            current = []
        current.append(index)
    if current:
        batches.append(current)
    return batches


def left_pad(prompts: list[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Left-pad so every prompt ends at the same position and generation continues each one."""
    width = max(len(p) for p in prompts)
    input_ids = torch.full((len(prompts), width), pad_id, dtype=torch.long)
    attention_mask = torch.zeros((len(prompts), width), dtype=torch.long)
    for row, prompt in enumerate(prompts):
        if prompt:
            input_ids[row, width - len(prompt) :] = torch.tensor(prompt, dtype=torch.long)
            attention_mask[row, width - len(prompt) :] = 1
    return input_ids, attention_mask


def _stop_token_ids(tokenizer: Any, generation_config: Any) -> list[int]:
    """Every token that ends an answer: the tokenizer's EOS and the model's configured EOS ids
    (chat models often end turns with a different token than the one ending documents)."""
    ids: set[int] = set()
    configured = getattr(generation_config, "eos_token_id", None)
    if isinstance(configured, int):
        ids.add(configured)
    elif configured:
        ids.update(configured)
    if tokenizer.eos_token_id is not None:
        ids.add(tokenizer.eos_token_id)
    return sorted(ids)
