"""rag-K: the retrieved passages above the question, for any prompt rung."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.fakes import HashingEmbedder, bundled_embedder_tokenizer

from adaptlab.data.task import Example, Task
from adaptlab.errors import UsageError
from adaptlab.prompting import StrategyContext, get_strategy
from adaptlab.prompting.rag import Rag
from adaptlab.retrieval import Corpus, Document, open_retriever
from adaptlab.runs import expand_rungs

FACTS = {
    "benin": "Benin has the numeric code 204.",
    "latvia": "Latvia has the numeric code 428.",
    "chad": "Chad has the numeric code 148.",
}


@pytest.fixture()
def retriever(tmp_path: Path):
    corpus = Corpus(tuple(Document(doc_id, text) for doc_id, text in FACTS.items()))
    return open_retriever(corpus, tmp_path, embedder=HashingEmbedder(bundled_embedder_tokenizer()))


def question(name: str, n: int) -> Example:
    return Example(f"q{n}", f"What is the numeric code of {name.title()}?", "x", context_id=name)


TASK = Task(name="facts", examples=(question("benin", 1), question("latvia", 2)), instruction="Answer.")


def prepared(name: str, retriever, train=()) -> Rag:
    strategy = get_strategy(name)
    assert isinstance(strategy, Rag)
    embedder = HashingEmbedder(bundled_embedder_tokenizer())
    context = StrategyContext(task=TASK, train=train, retriever=lambda: retriever, embedder=lambda: embedder)
    strategy.prepare(context)
    return strategy


def test_the_passages_go_above_the_question_best_first(retriever) -> None:
    strategy = prepared("rag-2", retriever)
    [conversation] = strategy.render_many([question("latvia", 2)], TASK)
    content = conversation[-1]["content"]
    assert content.startswith("Passages from the documents:\n[1] Latvia has the numeric code 428.\n[2] ")
    assert content.endswith("Answer.\n\nInput: What is the numeric code of Latvia?")
    found = strategy.retrieved(question("latvia", 2))
    assert found is not None and found.hits[0].passage.doc_id == "latvia"
    assert found.seconds >= 0
    assert strategy.describe()["passages"] == 2 and strategy.describe()["base"] == "zero-shot"


def test_with_demos_only_the_question_gets_passages_and_variants_share_the_search(retriever) -> None:
    train = [question("benin", 3), question("chad", 4)]
    strategy = prepared("rag-1-few-shot-knn-2", retriever, train)
    [conversation] = strategy.render_many([question("latvia", 2)], TASK)
    users = [message["content"] for message in conversation if message["role"] == "user"]
    assert len(users) == 3 and all("Passages" not in demo for demo in users[:2])
    assert users[-1].startswith("Passages from the documents:\n[1] Latvia")
    searched = dict(strategy.found)
    for variant in strategy.variants():
        assert isinstance(variant, Rag) and variant.name == strategy.name
        variant.render_many([question("latvia", 2)], TASK)
    assert strategy.found == searched  # the variants asked the same question: no new search


def test_a_rag_rung_without_a_corpus_says_how_to_give_one() -> None:
    with pytest.raises(UsageError, match="--corpus PATH"):
        get_strategy("rag-3").prepare(StrategyContext(task=TASK, train=()))


def test_bare_rag_takes_the_passages_setting_and_ladder_adds_rag_only_with_a_corpus() -> None:
    assert expand_rungs(["rag"], [4], passages=5) == ["rag-5"]
    with_corpus = expand_rungs(["ladder"], [4, 8], passages=3, corpus=True)
    assert with_corpus[-2:] == ["rag-3", "rag-3-few-shot-knn-4"]
    assert not any(name.startswith("rag") for name in expand_rungs(["ladder"], [4, 8]))
