"""The hybrid index: caching by content, fused search, and a passage found by its own sentence."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adaptlab.retrieval import (
    Corpus,
    Document,
    IndexSettings,
    document_ids,
    open_retriever,
    passage_ids,
)
from fuzzing import cases

from fakes import HashingEmbedder

DOCS = (
    Document("refunds.md", "Refunds reach your card within five working days of the return."),
    Document("baggage.md", "Each passenger may check one bag of up to 23 kg on long-haul flights."),
    Document("pets.md", "Small dogs and cats can travel in the cabin in an approved carrier."),
)


def test_the_same_corpus_is_loaded_without_embedding_again(tmp_path: Path, embedder: HashingEmbedder) -> None:
    first = open_retriever(Corpus(DOCS), tmp_path, embedder)
    built = embedder.texts_embedded
    assert built == 3
    again = open_retriever(Corpus(DOCS), tmp_path, embedder)
    assert embedder.texts_embedded == built  # loaded from disk: nothing embedded
    assert list(again.passages) == list(first.passages)
    assert (again.dense == first.dense).all()
    assert len(list(tmp_path.iterdir())) == 1  # one index folder, no staging left behind


def test_a_changed_text_or_setting_builds_a_new_index(tmp_path: Path, embedder: HashingEmbedder) -> None:
    open_retriever(Corpus(DOCS), tmp_path, embedder)
    changed = Corpus((*DOCS[:2], Document("pets.md", "No pets are allowed on board.")))
    retriever = open_retriever(changed, tmp_path, embedder)
    assert embedder.texts_embedded == 6
    assert retriever.passages[-1].text == "No pets are allowed on board."
    open_retriever(Corpus(DOCS), tmp_path, embedder, IndexSettings(max_tokens=64))
    assert embedder.texts_embedded == 9
    assert len(list(tmp_path.iterdir())) == 3  # and no staging folders left behind


@pytest.mark.parametrize("damage", ["dense.npy", "passages.jsonl", "passage_offsets.npy", "bm25"])
def test_a_damaged_cache_is_rebuilt(tmp_path: Path, embedder: HashingEmbedder, damage: str) -> None:
    first = open_retriever(Corpus(DOCS), tmp_path, embedder)
    (folder,) = tmp_path.iterdir()
    target = folder / damage
    if target.is_dir():
        shutil.rmtree(target)
    else:
        target.write_bytes(b"damaged")
    again = open_retriever(Corpus(DOCS), tmp_path, embedder)
    assert embedder.texts_embedded == 6
    assert list(again.passages) == list(first.passages)
    open_retriever(Corpus(DOCS), tmp_path, embedder)
    assert embedder.texts_embedded == 6  # the rebuilt index is cached in turn


def test_search_fuses_dense_and_bm25(tmp_path: Path, embedder: HashingEmbedder) -> None:
    retriever = open_retriever(Corpus(DOCS), tmp_path, embedder)
    hits = retriever.search("how many kg can my bag weigh", k=2)
    assert [hit.passage.doc_id for hit in hits] == ["baggage.md", hits[1].passage.doc_id]
    top = hits[0]
    assert (top.dense_rank, top.bm25_rank) == (1, 1)
    assert top.score == pytest.approx(2 / 61)
    many = retriever.search_many(["refunds to my card", "cats in the cabin"], k=3)
    assert [document_ids(found)[0] for found in many] == ["refunds.md", "pets.md"]
    assert passage_ids(many[1])[0] == "pets.md#0"
    assert embedder.calls == 3  # the build, one call for `search`, one for both `search_many` queries


def test_a_query_sharing_no_word_with_any_passage_is_ranked_by_the_dense_half(
    tmp_path: Path, embedder: HashingEmbedder
) -> None:
    hits = open_retriever(Corpus(DOCS), tmp_path, embedder).search("zzz", k=3)
    assert len(hits) == 3
    assert all(hit.bm25_rank is None for hit in hits)


def test_max_tokens_must_fit_the_embedder(tmp_path: Path, embedder: HashingEmbedder) -> None:
    with pytest.raises(ValueError, match="window of 256"):
        open_retriever(Corpus(DOCS), tmp_path, embedder, IndexSettings(max_tokens=255, overlap=0))


WORDS = st.text("abcdefghijklmnopqrstuvwxyz", min_size=3, max_size=8)


@settings(max_examples=cases(10), suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    words=st.lists(WORDS, min_size=24, max_size=40, unique=True),
    doc_count=st.integers(2, 4),
    pick=st.integers(0, 1000),
)
def test_a_passage_is_found_first_by_its_own_sentence(
    tmp_path_factory: pytest.TempPathFactory, tokenizer: Any, words: list[str], doc_count: int, pick: int
) -> None:
    """Documents of distinct words, two sentences each: a sentence retrieves its own passage."""
    per_doc = len(words) // doc_count
    documents = []
    for d in range(doc_count):
        own = [f"{word}{d}" for word in words[d * per_doc : (d + 1) * per_doc]]
        half = len(own) // 2
        documents.append(Document(f"doc{d}", f"{' '.join(own[:half])}. {' '.join(own[half:])}."))
    retriever = open_retriever(
        Corpus(tuple(documents)), tmp_path_factory.mktemp("index"), HashingEmbedder(tokenizer)
    )
    target = documents[pick % doc_count]
    sentence = target.text.split(". ")[pick % 2].rstrip(".")
    assert retriever.search(sentence, k=1)[0].passage.doc_id == target.id


@pytest.mark.slow
def test_the_bundled_embedder_finds_a_paraphrase(tmp_path: Path) -> None:
    """No word of the query is in the answer's passage: only the dense half can find it."""
    retriever = open_retriever(Corpus(DOCS), tmp_path)
    top = retriever.search("money back onto a credit card", k=1)[0]
    assert top.passage.doc_id == "refunds.md"
    assert retriever.search("kitten travelling with me", k=1)[0].passage.doc_id == "pets.md"
