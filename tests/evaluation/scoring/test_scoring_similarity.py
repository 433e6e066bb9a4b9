"""Embedding similarity with hand-placed vectors, and once with the bundled embedder."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
import torch

from adaptlab.evaluation.scoring import Scored
from adaptlab.evaluation.scoring.similarity import SimilarityScorer

VECTORS = {
    "east": [1.0, 0.0],
    "long east": [5.0, 0.0],
    "north-east-ish": [0.6, 0.8],
    "north": [0.0, 1.0],
    "west": [-1.0, 0.0],
}


class TableEmbedder:
    """Embeds each text as its vector in `VECTORS` (not normalised); records every call."""

    model_id = "table"

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def encode(self, texts: Sequence[str]) -> torch.Tensor:
        self.calls.append(list(texts))
        return torch.tensor([VECTORS[text] for text in texts]).reshape(-1, 2)


def item(answer: str | None, reference: str) -> Scored:
    return Scored(answer=answer, output=answer or "", reference=reference, input="q")


def test_similarity_is_the_cosine_clipped_to_zero_and_one() -> None:
    embedder = TableEmbedder()
    scorer = SimilarityScorer(lambda: embedder)
    values = scorer.score_many(
        [
            item("east", "east"),
            item("long east", "east"),
            item("north-east-ish", "east"),
            item("north", "east"),
            item("west", "east"),
        ]
    )
    assert values == pytest.approx([1.0, 1.0, 0.6, 0.0, 0.0])
    assert values[0] <= 1.0 and values[4] == 0.0
    assert len(embedder.calls) == 1  # every answer and reference in one batched call


def test_missing_and_blank_answers_score_zero_without_being_embedded() -> None:
    embedder = TableEmbedder()
    values = SimilarityScorer(lambda: embedder).score_many(
        [item(None, "east"), item("north-east-ish", "east"), item("  ", "north")]
    )
    assert values == pytest.approx([0.0, 0.6, 0.0])
    assert embedder.calls == [["north-east-ish", "east"]]


def test_the_embedder_loads_once_and_only_when_needed() -> None:
    loads: list[TableEmbedder] = []

    def load() -> TableEmbedder:
        loads.append(TableEmbedder())
        return loads[-1]

    scorer = SimilarityScorer(load)
    assert scorer.score_many([item(None, "east")]) == [0.0]
    assert loads == []
    scorer.score_many([item("east", "east")])
    scorer.score_many([item("north", "east")])
    assert len(loads) == 1
    assert scorer.describe()["embedder"] == {"model_id": "table"}


@pytest.mark.slow
def test_bundled_embedder_similarity() -> None:
    """Cosines sentence-transformers 6.2.0 gives all-MiniLM-L6-v2 (see test_embeddings)."""
    scorer = SimilarityScorer()
    values = scorer.score_many(
        [
            item("great flight, thanks!", "I love this airline"),
            item("my bag was lost again", "I love this airline"),
            item("I love this airline", "I love this airline"),
        ]
    )
    assert values == pytest.approx([0.512173, 0.259012, 1.0], abs=1e-5)
    assert scorer.describe()["embedder"]["model_id"] == "all-MiniLM-L6-v2"
