"""Retrieval-augmented rungs: the top-K passages of the user's corpus in the prompt.

``rag-K`` asks the zero-shot question with the K passages that the run's retriever (dense +
BM25, `adaptlab.retrieval`) ranks best for the input above it; ``rag-K-RUNG`` adds them to any
other prompt rung (``rag-3-few-shot-knn-4``: kNN demos, then the passages and the question).
Only the question is given passages: demos stay as short as in their own rung, so the two
rungs differ by the retrieval alone. Giving each demo the passages retrieved for its own input
was measured and not kept: on 30 country-facts test questions (SmolLM2-135M) it scored contains
26.7 with 821 prompt tokens against 33.3 with 316 for bare demos, and rag-3 53.3 with 188.

The rung keeps what it retrieved for each input (and how long the search took), so the
evaluation can record the passages, score retrieval against the example's gold passage and add
the search time to the request's latency.
"""

from __future__ import annotations

import copy
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from adaptlab.data.task import Example, Task
from adaptlab.errors import UsageError
from adaptlab.models.base import ChatMessage
from adaptlab.prompting.parsing import ParsedAnswer
from adaptlab.prompting.strategy import Strategy, StrategyContext, register_wrapper
from adaptlab.retrieval import Retriever, ScoredPassage

RAG = "rag"
DEFAULT_PASSAGES = 3
REMEMBERED = 100_000
"""Searches a rung keeps (oldest dropped first): a run's test, dev and probe inputs all fit."""
RAG_NAME = re.compile(r"^rag-(?P<k>[0-9]+)(?:-(?P<base>.+))?$")
"""``rag-3`` (zero-shot with 3 passages) or ``rag-3-few-shot-knn-4`` (passages added to that rung)."""


def rag_name(passages: int, base: str = "zero-shot") -> str:
    """The rung that adds `passages` passages to prompt rung `base`."""
    return f"{RAG}-{passages}" if base == "zero-shot" else f"{RAG}-{passages}-{base}"


@dataclass(frozen=True)
class Retrieved:
    """What one input's search found, best first, and the seconds it took (its share of a
    batched search)."""

    hits: tuple[ScoredPassage, ...]
    seconds: float


def passages_block(hits: Sequence[ScoredPassage]) -> str:
    """The passages as the prompt shows them, numbered best first."""
    lines = [f"[{rank}] {hit.passage.text.strip()}" for rank, hit in enumerate(hits, start=1)]
    return "Passages from the documents:\n" + "\n".join(lines)


class Rag(Strategy):
    """A prompt rung whose question comes with the corpus passages retrieved for it."""

    def __init__(self, k: int, base: Strategy) -> None:
        self.k = k
        self.base = base
        self.name = rag_name(k, base.name)
        self.answer_mode = base.answer_mode
        self.needs_labels = base.needs_labels
        self.needs_splits = base.needs_splits
        self.multiline_answers = base.multiline_answers
        self.prepared_per_model = base.prepared_per_model
        self.draws_random_demos = base.draws_random_demos
        self.retriever: Retriever | None = None
        self.found: dict[str, Retrieved] = {}
        """Per input text: what was retrieved for it (an input is searched once per rung)."""

    def prepare(self, context: StrategyContext) -> None:
        self.base.prepare(context)
        if context.retriever is None:
            raise UsageError(
                f"{self.name} puts passages of a corpus in the prompt: give --corpus PATH (a folder of"
                " .txt/.md files or a JSONL file of id and text) or corpus: in the task spec"
            )
        self.retriever = context.retriever()

    def retrieve(self, examples: Sequence[Example]) -> list[Retrieved]:
        """Each example's passages, searching (in one batch) the inputs not searched yet."""
        if self.retriever is None:
            raise RuntimeError(f"{self.name} was not prepared")
        missing = list(dict.fromkeys(e.input for e in examples if e.input not in self.found))
        if missing:
            started = time.perf_counter()
            results = self.retriever.search_many(missing, k=self.k)
            share = (time.perf_counter() - started) / len(missing)
            for query, hits in zip(missing, results, strict=True):
                self.found[query] = Retrieved(tuple(hits), share)
        wanted = [self.found[example.input] for example in examples]
        for oldest in list(self.found)[: max(0, len(self.found) - REMEMBERED)]:
            del self.found[oldest]  # a server asks without end; a run never comes near this
        return wanted

    def retrieved(self, example: Example) -> Retrieved | None:
        return self.found.get(example.input)

    def render(self, example: Example, task: Task) -> list[ChatMessage]:
        return self.render_many([example], task)[0]

    def render_many(self, examples: Sequence[Example], task: Task) -> list[list[ChatMessage]]:
        found = self.retrieve(examples)
        conversations = self.base.render_many(examples, task)
        return [with_passages(c, r.hits) for c, r in zip(conversations, found, strict=True)]

    def parse(self, output: str, task: Task) -> ParsedAnswer:
        return self.base.parse(output, task)

    def calibration_prior(self) -> dict[str, float] | None:
        return self.base.calibration_prior()

    def max_new_tokens(self, answer_tokens: int) -> int:
        return self.base.max_new_tokens(answer_tokens)

    def variants(self) -> list[Strategy]:
        """The base rung's variants (other phrasings, reordered demos), with the same passages."""
        return [self.wrapping(variant) for variant in self.base.variants()]

    def with_phrasing(self, phrasing: int) -> Strategy:
        return self.wrapping(self.base.with_phrasing(phrasing))

    def with_demo_order(self, order_seed: int) -> Strategy:
        return self.wrapping(self.base.with_demo_order(order_seed))

    def wrapping(self, base: Strategy) -> Rag:
        """This rung around another base (a variant of its own), sharing retriever and searches."""
        variant = copy.copy(self)
        variant.base = base
        variant.phrasing = base.phrasing
        variant.order_seed = base.order_seed
        return variant

    def fresh(self) -> Strategy:
        return Rag(self.k, self.base.fresh())

    def describe(self) -> dict[str, Any]:
        return {**self.base.describe(), "strategy": self.name, "passages": self.k, "base": self.base.name}


def with_passages(conversation: list[ChatMessage], hits: Sequence[ScoredPassage]) -> list[ChatMessage]:
    """`conversation` with the passages above the content of its last user message (the
    question; earlier user turns are demos)."""
    last = max(i for i, message in enumerate(conversation) if message["role"] == "user")
    changed = [dict(message) for message in conversation]
    changed[last]["content"] = f"{passages_block(hits)}\n\n{conversation[last]['content']}"
    return changed  # type: ignore[return-value]


def build_rag(match: re.Match[str], get: Callable[[str], Strategy]) -> Strategy:
    return Rag(int(match["k"]), get(match["base"] or "zero-shot"))


register_wrapper(RAG_NAME, build_rag, shown="rag-K[-RUNG]")
