"""A transformers model on this machine, answering batches of chat conversations.

Speed comes from doing the obvious things in bulk: all prompts are tokenised in one call,
sorted by length and cut into batches under a token budget (length bucketing, so almost no
compute goes to padding), and each batch is decoded greedily in one `generate` call with a
KV cache. Per-example Python work is limited to slicing out the answer.

Two more savings matter for prompt-ladder work, where every prompt of a rung starts with the
same instruction and demonstrations:

* **Shared-prefix KV cache.** The longest token prefix common to a batch (system prompt,
  instruction, demos) is run through the model once, kept in a small memo keyed by its token
  ids, and its keys/values are reused for every row of every batch that starts with it. Only
  each prompt's own suffix is computed. Rows are padded *between* prefix and suffix, and
  position ids come from the attention mask, so each row sees exactly the positions it would
  see unpadded.
* **Label scoring.** For a closed label set, one forward over the prompt suffixes, then one
  forward over every candidate answer for every row (reusing the prompt's cache), gives each
  label's log-likelihood: no decoding loop and no parsing.
"""

from __future__ import annotations

import contextlib
import time
import warnings
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import torch

from adaptlab.models.base import (
    DEFAULT_MAX_BATCH_SIZE,
    Backend,
    Conversation,
    Generation,
    LabelScores,
    ProgressCallback,
    cut_at_stop,
)

DEFAULT_MAX_BATCH_TOKENS = 8192
MIN_SHARED_PREFIX_TOKENS = 16
"""Shorter common prefixes are not worth a separate forward pass."""
PREFIX_MEMO_SIZE = 8

KeyValues = tuple[tuple[torch.Tensor, torch.Tensor], ...]


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
        prefix_cache: bool = True,
        adapter: Path | None = None,
        adapter_id: str = "",
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
            if adapter is not None:
                self.model = merged_adapter(self.model, adapter)
        finally:
            hf_logging.enable_progress_bar()
        self.adapter = adapter
        self.adapter_id = adapter_id or (adapter.name if adapter else "")
        self.model.eval()
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.max_batch_tokens = max_batch_tokens
        self.max_batch_size = max_batch_size
        self.has_chat_template = bool(self.tokenizer.chat_template)
        self._stop_ids = _stop_token_ids(self.tokenizer, self.model.generation_config)
        # Sliding-window attention drops old keys as it goes, so a reused prefix would be wrong.
        self.prefix_cache = prefix_cache and not getattr(self.model.config, "sliding_window", None)
        self._prefix_memo: OrderedDict[tuple[int, ...], KeyValues] = OrderedDict()
        self.tokens_computed = 0
        """Prompt tokens run through the model (the benchmarks report throughput from this)."""
        self.tokens_reused = 0
        """Prompt tokens served from the shared-prefix cache instead of being computed."""

    # -- Backend -----------------------------------------------------------------------------

    def cache_identity(self) -> str:
        base = super().cache_identity()
        if not self.has_chat_template:
            base = f"{base}+{PLAIN_PROMPT_VERSION}"  # answers from before its turn end differ
        return f"{base}+adapter:{self.adapter_id}" if self.adapter is not None else base

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
        stop: Sequence[str] = (),
        on_progress: ProgressCallback | None = None,
    ) -> list[Generation]:
        prompts = self.encode_prompts(conversations)
        if not self.has_chat_template:
            stop = (*stop, PLAIN_TURN_END)
        results: list[Generation | None] = [None] * len(prompts)
        for batch in length_buckets([len(p) for p in prompts], self.max_batch_tokens, self.max_batch_size):
            started = time.perf_counter()
            answers = self._generate_batch([prompts[i] for i in batch], max_new_tokens, stop)
            elapsed = time.perf_counter() - started
            for index, (text, n_out, stopped) in zip(batch, answers, strict=True):
                results[index] = Generation(
                    text=text,
                    prompt_tokens=len(prompts[index]),
                    output_tokens=n_out,
                    latency_s=elapsed,
                    stopped=stopped,
                )
            if on_progress is not None:
                on_progress(len(batch))
        return [r for r in results if r is not None]

    def score(
        self,
        conversations: Sequence[Conversation],
        candidates: Sequence[str],
        *,
        on_progress: ProgressCallback | None = None,
    ) -> list[LabelScores]:
        if not conversations:
            return []
        prompts = self.encode_prompts(conversations)
        continuations = [self.answer_ids(conversations[0], candidate) for candidate in candidates]
        results: list[LabelScores | None] = [None] * len(prompts)
        # Every row is scored against every candidate, so the budget covers both passes.
        extra = max(len(c) for c in continuations) * len(continuations)
        lengths = [len(p) + extra for p in prompts]
        for batch in length_buckets(lengths, self.max_batch_tokens, self.max_batch_size):
            started = time.perf_counter()
            scores = self._score_batch([prompts[i] for i in batch], continuations)
            elapsed = time.perf_counter() - started
            for index, row in zip(batch, scores, strict=True):
                results[index] = LabelScores(
                    logprobs=tuple(row), prompt_tokens=len(prompts[index]), latency_s=elapsed
                )
            if on_progress is not None:
                on_progress(len(batch))
        return [r for r in results if r is not None]

    def next_token_logprobs(
        self, conversations: Sequence[Conversation], top: int
    ) -> list[list[tuple[str, float]]]:
        """The `top` most likely first tokens of the answer to each conversation, as (text,
        log-probability), most likely first: what an OpenAI-compatible server returns as the
        first token's ``top_logprobs``. One forward pass per batch over the prompts (shared
        prefix reused), as label scoring's first pass; nothing is decoded."""
        prompts = self.encode_prompts(conversations)
        results: list[list[tuple[str, float]]] = [[] for _ in prompts]
        for batch in length_buckets([len(p) for p in prompts], self.max_batch_tokens, self.max_batch_size):
            logprobs, _, _ = self._first_answer_logprobs([prompts[i] for i in batch])
            values, ids = logprobs.topk(min(top, logprobs.shape[-1]), dim=-1)
            for index, row_values, row_ids in zip(batch, values.tolist(), ids.tolist(), strict=True):
                pairs = zip(row_ids, row_values, strict=True)
                results[index] = [(self.tokenizer.decode([token]), value) for token, value in pairs]
        return results

    def answer_ids(self, conversation: Conversation, answer: str) -> list[int]:
        """Token ids the model would emit to answer `conversation` with exactly `answer`, up to
        and including the end-of-turn token.

        Taken from the chat template itself (the conversation rendered with the answer, minus
        the prompt), so the scored continuation is token for token what generation would have
        to produce. Without a chat template, the answer follows the ``Answer:`` cue after a space
        and ends with the blank line that ends a plain-prompt turn (`PLAIN_TURN_END`): a model
        tuned on answers without it never learns where to stop (Gemma 3 270M tuned on 16 tweets
        answered "neutral\nAnswer with exactly one of: …"), and a label scored without it could
        be the first word of a longer answer.
        """
        if not self.has_chat_template:
            return self.tokenizer(" " + answer + PLAIN_TURN_END, add_special_tokens=False)["input_ids"]
        prompt = self.render(conversation)
        full = self.tokenizer.apply_chat_template(
            [*conversation, {"role": "assistant", "content": answer}], tokenize=False
        )
        tail = full[len(prompt) :] if full.startswith(prompt) else answer
        ids = self.tokenizer(tail, add_special_tokens=False)["input_ids"]
        stop = next((i for i, t in enumerate(ids) if t in self._stop_ids), None)
        return ids if stop is None else ids[: stop + 1]

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
            "prefix_cache": self.prefix_cache,
            "path": str(self.directory),
            "adapter": {"id": self.adapter_id, "path": str(self.adapter)} if self.adapter else None,
        }

    # -- internals ---------------------------------------------------------------------------

    def _generate_batch(
        self, prompts: list[list[int]], max_new_tokens: int, stop: Sequence[str] = ()
    ) -> list[tuple[str, int, bool]]:
        from transformers import StoppingCriteriaList

        input_ids, attention_mask, cache = self._prepare_batch(prompts)
        ends = StopStrings(self.tokenizer, stop, input_ids, self._stop_ids)
        with torch.inference_mode():
            output = self.model.generate(
                input_ids=input_ids,
                attention_mask=attention_mask,
                cache=cache,
                max_new_tokens=max_new_tokens,
                do_sample=False,
                temperature=None,
                top_p=None,
                top_k=None,
                pad_token_id=self.tokenizer.pad_token_id,
                eos_token_id=self._stop_ids,
                stopping_criteria=StoppingCriteriaList([ends] if stop else []),
            )
        new_tokens = output[:, input_ids.shape[1] :].tolist()
        return [self._decode_answer(t, stop, end) for t, end in zip(new_tokens, ends.ended_at, strict=True)]

    def _score_batch(self, prompts: list[list[int]], continuations: list[list[int]]) -> list[list[float]]:
        """Log-likelihood of every continuation after every prompt, in two forward passes.

        Pass 1 runs the prompts (after the shared prefix) and keeps only the last position's
        logits, which score each continuation's first token. Pass 2 scores the remaining tokens
        of *all* continuations at once: they are packed side by side after each prompt, and a
        block mask lets each continuation see the prompt and its own earlier tokens only
        (position ids restart for each), so one row per prompt serves every candidate and the
        prompt's cache is never copied per candidate.
        """
        first_logprobs, cache, attention_mask = self._first_answer_logprobs(prompts)
        with torch.inference_mode():
            first_ids = torch.tensor([c[0] for c in continuations], device=self.device)
            totals = first_logprobs[:, first_ids]  # (rows, candidates)
            if any(len(c) > 1 for c in continuations):
                rest = self._packed_continuation_logprobs(cache, attention_mask, continuations)
                totals = totals + rest
        return totals.tolist()

    def _first_answer_logprobs(self, prompts: list[list[int]]) -> tuple[torch.Tensor, Any, torch.Tensor]:
        """Log-probabilities over the vocabulary of each row's next token (rows, vocab), from one
        forward over the prompts after their shared prefix, with the cache and attention mask
        that continuing from those prompts needs."""
        input_ids, attention_mask, cache = self._prepare_batch(prompts)
        computed = input_ids.shape[1] - (cache.get_seq_length() if cache is not None else 0)
        with torch.inference_mode():
            output = self.model(
                input_ids=input_ids[:, -computed:],
                attention_mask=attention_mask,
                position_ids=_positions(attention_mask)[:, -computed:],
                cache=cache,
                use_cache=True,
                logits_to_keep=1,
            )
            logprobs = torch.log_softmax(output.logits[:, -1].float(), dim=-1)
        return logprobs, output.cache, attention_mask

    def _packed_continuation_logprobs(
        self, cache: Any, attention_mask: torch.Tensor, continuations: list[list[int]]
    ) -> torch.Tensor:
        """Sum of log-probabilities of each continuation's tokens after the first, for every row."""
        rows, cached = attention_mask.shape
        inputs: list[int] = []
        offsets: list[int] = []  # position of each packed token within its continuation
        segment: list[int] = []  # which continuation each packed token belongs to
        targets: list[int] = []
        for index, ids in enumerate(continuations):
            inputs.extend(ids[:-1])
            targets.extend(ids[1:])
            offsets.extend(range(len(ids) - 1))
            segment.extend([index] * (len(ids) - 1))
        packed = len(inputs)
        segment_ids = torch.tensor(segment, device=self.device)
        offset_ids = torch.tensor(offsets, device=self.device)
        own = (segment_ids[:, None] == segment_ids[None, :]) & (offset_ids[None, :] <= offset_ids[:, None])
        prompt_part = attention_mask.bool()[:, None, :].expand(rows, packed, cached)
        visible = torch.cat([prompt_part, own.expand(rows, packed, packed)], dim=2)[:, None]
        # visible: (rows, 1, packed, cached + packed)
        positions = attention_mask.sum(dim=1, keepdim=True) + offset_ids[None, :]
        output = self.model(
            input_ids=torch.tensor([inputs], device=self.device).expand(rows, -1),
            attention_mask=self._as_model_mask(visible),
            position_ids=positions,
            cache=cache,
            use_cache=False,
        )
        logprobs = torch.log_softmax(output.logits.float(), dim=-1)
        target_ids = torch.tensor(targets, device=self.device)[None, :, None].expand(rows, -1, 1)
        picked = logprobs.gather(-1, target_ids).squeeze(-1)  # (rows, packed)
        totals = torch.zeros((rows, len(continuations)), device=self.device)
        return totals.index_add_(1, segment_ids, picked)

    def _as_model_mask(self, visible: torch.Tensor) -> torch.Tensor:
        """A custom 4D mask in the form the attention implementation takes: booleans for SDPA,
        additive floats (0 or the dtype's minimum) for eager attention."""
        if getattr(self.model.config, "_attn_implementation", "sdpa") == "sdpa":
            return visible
        blocked = torch.finfo(self.model.dtype).min
        additive = torch.zeros(visible.shape, dtype=self.model.dtype, device=self.device)
        return additive.masked_fill(~visible, blocked)

    def _prepare_batch(self, prompts: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor, Any]:
        """Token ids and mask for a batch, with the shared prefix's keys/values when it has one.

        Layout per row: ``prefix | padding | suffix``. The prefix is computed once (or found in
        the memo); padding sits between it and each row's own suffix so that every row ends at
        the last column, which is where generation continues.
        """
        prefix = self._shared_prefix(prompts)
        suffix_ids, suffix_mask = left_pad([p[len(prefix) :] for p in prompts], self.tokenizer.pad_token_id)
        self.tokens_computed += sum(len(p) - len(prefix) for p in prompts)
        if not prefix:
            return suffix_ids.to(self.device), suffix_mask.to(self.device), None
        rows = len(prompts)
        self.tokens_reused += len(prefix) * rows
        from transformers import DynamicCache

        key_values = self._prefix_key_values(prefix)
        cache = DynamicCache(
            ddp_cache_data=[
                (keys.expand(rows, -1, -1, -1), values.expand(rows, -1, -1, -1))
                for keys, values in key_values
            ],
            config=self.model.config,
        )
        prefix_ids = torch.tensor(prefix, dtype=torch.long).expand(rows, -1)
        input_ids = torch.cat([prefix_ids, suffix_ids], dim=1)
        mask = torch.cat([torch.ones_like(prefix_ids), suffix_mask], dim=1)
        return input_ids.to(self.device), mask.to(self.device), cache

    def _shared_prefix(self, prompts: list[list[int]]) -> list[int]:
        """The batch's longest common token prefix, leaving every row at least one own token
        (its last position's logits are what answers it); empty when not worth reusing."""
        if not self.prefix_cache or len(prompts) < 1:
            return []
        first = prompts[0]
        limit = min(len(p) for p in prompts) - 1
        length = 0
        while length < limit and all(p[length] == first[length] for p in prompts):
            length += 1
        if length < MIN_SHARED_PREFIX_TOKENS:
            return []
        return first[:length]

    def _prefix_key_values(self, prefix: list[int]) -> KeyValues:
        key = tuple(prefix)
        if key in self._prefix_memo:
            self._prefix_memo.move_to_end(key)
            return self._prefix_memo[key]
        self.tokens_computed += len(prefix)
        self.tokens_reused -= len(prefix)  # this first copy was computed, not reused
        with torch.inference_mode():
            output = self.model(
                input_ids=torch.tensor([prefix], dtype=torch.long, device=self.device),
                use_cache=True,
                logits_to_keep=1,
            )
        key_values = tuple((layer.keys, layer.values) for layer in output.cache.layers)
        self._prefix_memo[key] = key_values
        if len(self._prefix_memo) > PREFIX_MEMO_SIZE:
            self._prefix_memo.popitem(last=False)
        return key_values

    def _decode_answer(
        self, tokens: list[int], stop: Sequence[str] = (), ended_at: int | None = None
    ) -> tuple[str, int, bool]:
        """Text before the first stop token or stop string, the number of tokens the model
        produced (the stop token, or the token completing the stop string, included: it costs a
        decoding step like any other), and whether it stopped.

        `ended_at` is where `StopStrings` ended the row (the rest is padding); a row that ended
        by a stop token first is never checked again, so the two cannot disagree."""
        end = next((i for i, t in enumerate(tokens) if t in self._stop_ids), None)
        if ended_at is not None:
            produced = answer = tokens[:ended_at]
        else:
            produced = tokens if end is None else tokens[: end + 1]
            answer = tokens if end is None else tokens[:end]
        text, cut = cut_at_stop(self.tokenizer.decode(answer, skip_special_tokens=True), stop)
        return text.strip(), len(produced), end is not None or cut


class StopStrings:
    """A transformers stopping criterion: each row of a batch ends on its own as soon as its
    generated text, past any leading whitespace, holds one of `stop` (see `cut_at_stop`).

    transformers' own ``stop_strings`` cannot do this: it matches a stop string wherever it
    falls, so a chat model that opens its reply with a newline would end with an empty answer.
    Rows are decoded whole at every step (an answer cut at a line's end is tens of tokens long),
    except those already ended by this criterion or by one of `stop_ids`. `ended_at` records,
    per row, how many tokens it had generated when it ended here (None: it did not).
    """

    def __init__(
        self, tokenizer: Any, stop: Sequence[str], prompt_ids: torch.Tensor, stop_ids: Sequence[int]
    ) -> None:
        self.tokenizer = tokenizer
        self.stop = tuple(stop)
        self.prompt_width = prompt_ids.shape[1]
        self.stop_ids = torch.tensor(list(stop_ids), dtype=torch.long, device=prompt_ids.device)
        self.ended_at: list[int | None] = [None] * prompt_ids.shape[0]

    def __call__(self, input_ids: torch.Tensor, scores: Any, **kwargs: Any) -> torch.Tensor:
        generated = input_ids[:, self.prompt_width :]
        finished = torch.isin(generated, self.stop_ids).any(dim=1)
        rows = [row for row, done in enumerate(finished.tolist()) if not done and self.ended_at[row] is None]
        texts = (
            self.tokenizer.batch_decode(generated[rows].tolist(), skip_special_tokens=True) if rows else []
        )
        for row, text in zip(rows, texts, strict=True):
            if cut_at_stop(text, self.stop)[1]:
                self.ended_at[row] = generated.shape[1]
        return torch.tensor([end is not None for end in self.ended_at], device=input_ids.device)


def merged_adapter(model: Any, adapter: Path) -> Any:
    """`model` with the PEFT adapter in `adapter` folded into its weights.

    Merging costs a fraction of a second and makes the tuned model exactly as fast as the base
    one: no extra low-rank matmuls on every layer of every forward pass.
    """
    from peft import PeftModel

    with quiet_peft():
        return PeftModel.from_pretrained(model, adapter, is_trainable=False).merge_and_unload()


@contextlib.contextmanager
def quiet_peft() -> Iterator[None]:
    """PEFT and TRL still read transformers' deprecated `is_gradient_checkpointing` alias; the
    FutureWarning it raises on every wrap is theirs to fix and tells our users nothing."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        yield


PLAIN_TURN_END = "\n\n"
"""Where a base model's answer ends: `plain_prompt` separates turns with a blank line, so a model
that writes one has begun the next turn (``Input: …``), as a chat model ends its turn with a
special token. Without it a base model fills its whole token budget with made-up turns: Gemma 3
270M answered "negative, neutral, positive\n\nInput: …" up to the budget on every tweet."""
PLAIN_PROMPT_VERSION = "plain-turns"
"""Part of a template-less model's cache identity since answers end at `PLAIN_TURN_END`."""


def plain_prompt(conversation: Conversation) -> str:
    """Prompt text for a model without a chat template (a base model): the messages' contents
    separated by blank lines, each assistant turn (a few-shot demo's answer) as an ``Answer:``
    line under the turn it answers, ending with an ``Answer:`` cue the model can complete.

    Demos thus show a base model the very pattern it is asked to continue, and its answer ends
    at the blank line that would begin the next turn (`PLAIN_TURN_END`):

    >>> plain_prompt([{"role": "user", "content": "Input: 2+2"}, {"role": "assistant", "content": "4"},
    ...               {"role": "user", "content": "Input: 3+3"}])
    'Input: 2+2\\nAnswer: 4\\n\\nInput: 3+3\\nAnswer:'
    """
    text = ""
    for message in conversation:
        if message["role"] == "assistant":
            text += f"\nAnswer: {message['content']}"
        else:
            text += ("\n\n" if text else "") + message["content"]
    return text + "\nAnswer:"


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


def _positions(attention_mask: torch.Tensor) -> torch.Tensor:
    """Position ids that skip padding: each real token's index among its row's real tokens."""
    return (attention_mask.long().cumsum(-1) - 1).clamp(min=0)


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
