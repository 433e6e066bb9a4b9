"""Meaning rather than wording: the cosine similarity of the answer's and the reference's
sentence embeddings, from the embedder kNN demonstration selection uses (all-MiniLM-L6-v2).

A paraphrase scores high where chrF and exact match see little overlap. The number is not a
probability: unrelated sentences still land around 0.0-0.3 with MiniLM, so compare rungs with
it rather than reading it as a share of right answers. Negative cosines are clipped to 0.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from adaptlab.evaluation.scoring.base import Scored, Scorer


def bundled_embedder() -> Any:
    """The process's one bundled embedder (kNN demo selection shares it and its memo)."""
    from adaptlab.models.embeddings import shared_embedder

    return shared_embedder()


class SimilarityScorer(Scorer):
    """Embeds every answer and reference of a call in one batched `encode` (the embedder
    memoises texts, so references repeated across rungs are embedded once). An empty or missing
    answer scores 0 and is not embedded; the embedder loads on first use."""

    name = "similarity"
    display = "similarity"

    def __init__(self, embedder: Callable[[], Any] | None = None) -> None:
        self._load = embedder or bundled_embedder
        self._embedder: Any = None

    @property
    def embedder(self) -> Any:
        if self._embedder is None:
            self._embedder = self._load()
        return self._embedder

    def score_many(self, items: Sequence[Scored]) -> list[float | None]:
        import torch

        scores: list[float | None] = [0.0] * len(items)
        rows = [index for index, item in enumerate(items) if item.answer and item.answer.strip()]
        if not rows:
            return scores
        answers = [items[index].answer or "" for index in rows]
        references = [items[index].reference for index in rows]
        vectors = torch.as_tensor(self.embedder.encode(answers + references), dtype=torch.float32)
        cosines = torch.nn.functional.cosine_similarity(vectors[: len(rows)], vectors[len(rows) :], dim=1)
        for index, cosine in zip(rows, cosines.clamp(0.0, 1.0).tolist(), strict=True):
            scores[index] = cosine
        return scores

    def describe(self) -> dict[str, Any]:
        embedder = self.embedder
        info = {"model_id": getattr(embedder, "model_id", type(embedder).__name__)}
        if getattr(embedder, "fingerprint", None):
            info["fingerprint"] = embedder.fingerprint
        return super().describe() | {"embedder": info}
