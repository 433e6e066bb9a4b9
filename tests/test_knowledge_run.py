"""`adaptlab run` over a corpus end to end (issue 18), on a tiny model and a stand-in embedder:
the retrieval rungs, tuning on the documents and the hybrid in results.json, retrieval quality
that agrees with each answer's passages, seen and unseen questions, the decision and report,
and an index built once per corpus. Then the inputs a corpus run refuses before it starts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from adaptlab.cli import app
from adaptlab.configs import RunConfig
from adaptlab.data import load_task, split_task
from adaptlab.runs import checked_inputs
from knowledge_task import (
    RecordingEmbedder,
    fake_sentence_embedder,
    passages,
    questions,
    run_args,
    write_knowledge_task,
)

runner = CliRunner()
EVIDENCE = {row["id"]: row["metadata"]["context_id"] for row in questions()}


@dataclass
class KnowledgeRun:
    spec: Path
    corpus: Path
    out: Path
    directory: Path
    results: dict[str, Any]
    embedder: RecordingEmbedder

    def rungs(self) -> dict[str, dict[str, Any]]:
        return {rung["rung"]: rung for rung in self.results["rungs"]}


@pytest.fixture(scope="module")
def knowledge_run(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[KnowledgeRun]:
    """One run of every knowledge rung, shared by the tests that read it (~20 s)."""
    folder = tmp_path_factory.mktemp("knowledge")
    spec, corpus = write_knowledge_task(folder / "task")
    with pytest.MonkeyPatch.context() as monkeypatch:
        embedder = fake_sentence_embedder(monkeypatch)
        result = runner.invoke(app, run_args(spec, corpus, tiny_model_dir, folder / "runs"))
        assert result.exit_code == 0, result.output
        (directory,) = [p for p in (folder / "runs").iterdir() if p.name[0].isdigit()]
        results = json.loads((directory / "results.json").read_text())
        yield KnowledgeRun(spec, corpus, folder / "runs", directory, results, embedder)


def test_the_run_measures_reading_the_documents_against_learning_them(knowledge_run: KnowledgeRun) -> None:
    rungs = knowledge_run.rungs()
    documents = knowledge_run.results["knowledge"]["corpus"]["passages"]
    assert documents == len(passages())  # every note is shorter than a passage
    assert {rung: rungs[rung]["kind"] for rung in rungs} == {
        "zero-shot": "prompt",
        "rag-2": "prompt",
        "rag-2-few-shot-knn-2": "prompt",
        "lora-8": "tuned",
        "lora-8+rag-2": "hybrid",
        "lora-8@rag-2": "tuned",  # trained with the passages of the best retrieving rung
        f"docs-lora-{documents}": "tuned",
        "docs-qa-lora-8": "tuned",
        "docs-then-qa-lora-8": "tuned",  # the passages, then the pairs
    }
    docs_rungs = (f"docs-lora-{documents}", "docs-qa-lora-8", "docs-then-qa-lora-8")
    trained = {name: rungs[name]["training"] for name in docs_rungs}
    assert [(t["targets"], t["examples"], t["documents"]) for t in trained.values()] == [
        ("documents", 0, documents),
        ("documents+gold", 8, documents),
        ("documents, then gold", 8, documents),
    ]
    for name in ("zero-shot", "lora-8", *docs_rungs):
        assert rungs[name]["retrieval"] is None
        assert all("passages" not in p or p["passages"] is None for p in rungs[name]["predictions"])
    assert [
        rungs[name]["retrieval"]["base"]
        for name in ("rag-2", "rag-2-few-shot-knn-2", "lora-8+rag-2", "lora-8@rag-2")
    ] == ["zero-shot", "few-shot-knn-2", "zero-shot", "zero-shot"]
    assert rungs["lora-8@rag-2"]["training"]["examples"] == 8


def test_the_sequential_rung_continues_the_documents_only_weights(knowledge_run: KnowledgeRun) -> None:
    """Stage 1 of ``docs-then-qa-lora-8`` is ``docs-lora-P``'s training, so the registry hands
    it back (not trained twice); stage 2 continues its adapter on the pairs, and the rung's
    training time is both stages'."""
    rungs = knowledge_run.rungs()
    documents = knowledge_run.results["knowledge"]["corpus"]["passages"]
    alone = rungs[f"docs-lora-{documents}"]["training"]
    sequential = rungs["docs-then-qa-lora-8"]["training"]
    start = sequential["start_from"]
    assert start == {"key": alone["key"], "reused": True, "wall_time_s": alone["wall_time_s"]}
    assert sequential["key"] not in (alone["key"], rungs["docs-qa-lora-8"]["training"]["key"])
    manifest = json.loads((Path(sequential["weights"]) / "manifest.json").read_text())
    assert manifest["data"]["start_from"] == alone["key"]
    assert manifest["data"]["train_examples"] == 8  # the pairs alone: the passages were stage 1
    assert manifest["training"]["wall_time_s"] > 0
    assert sequential["wall_time_s"] == pytest.approx(
        manifest["training"]["wall_time_s"] + alone["wall_time_s"]
    )
    # One adapter on the base, stored like any other: serve, export and the report need nothing new.
    assert {p.name for p in Path(sequential["weights"]).iterdir()} == {
        p.name for p in Path(alone["weights"]).iterdir()
    }
    assert (Path(sequential["weights"]) / "adapter_model.safetensors").is_file()
    assert rungs["docs-then-qa-lora-8"]["metrics"]["n"] == rungs["docs-qa-lora-8"]["metrics"]["n"]
    assert "docs-then-qa-lora-8" in {
        row["rung"] for row in knowledge_run.results["decision"]["knowledge"]["rows"]
    }


def test_no_documents_then_pairs_leaves_the_sequential_rung_out(
    knowledge_run: KnowledgeRun, tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_sentence_embedder(monkeypatch)
    extra = ("--no-documents-then-pairs",)
    args = run_args(knowledge_run.spec, knowledge_run.corpus, tiny_model_dir, knowledge_run.out, *extra)
    result = runner.invoke(app, args)

    assert result.exit_code == 0, result.output
    runs = [p for p in knowledge_run.out.iterdir() if p.name[0].isdigit()]
    latest = max(runs, key=lambda p: (p / "results.json").stat().st_mtime)
    results = json.loads((latest / "results.json").read_text())
    names = {rung["rung"] for rung in results["rungs"]}
    assert "docs-qa-lora-8" in names and "docs-then-qa-lora-8" not in names
    assert {
        "phase": "tuning on the documents, then on 8 question-answer pairs",
        "reason": "not asked for (--no-documents-then-pairs)",
    } in results["skipped"]


@pytest.mark.parametrize("name", ["rag-2", "rag-2-few-shot-knn-2", "lora-8+rag-2", "lora-8@rag-2"])
def test_each_answer_keeps_its_passages_and_the_rung_s_recall_and_mrr_follow(
    knowledge_run: KnowledgeRun, name: str
) -> None:
    rung = knowledge_run.rungs()[name]
    corpus = passages()
    ranks = []
    for prediction in rung["predictions"]:
        found = prediction["passages"]
        assert len(found) == 2
        assert all(corpus[p["doc_id"]] == p["text"] for p in found)
        assert prediction["retrieval_s"] >= 0
        gold = EVIDENCE[prediction["example_id"]]
        rank = next((i for i, p in enumerate(found, start=1) if p["doc_id"] == gold), None)
        assert prediction["gold_rank"] == rank, prediction["example_id"]
        ranks.append(rank)
    assert len(set(ranks)) > 1, "the notes that name a town should push some passages down"
    retrieval = rung["retrieval"]
    assert retrieval["passages"] == 2 and retrieval["judged"] == len(ranks) == 8
    assert 0 <= retrieval["recall_at_k"] <= 1 and 0 <= retrieval["mrr"] <= 1
    assert retrieval["recall_at_k"] == pytest.approx(sum(r is not None for r in ranks) / len(ranks))
    assert retrieval["mrr"] == pytest.approx(sum(1 / r for r in ranks if r) / len(ranks))


def test_seen_and_unseen_split_the_test_questions_by_what_training_taught(
    knowledge_run: KnowledgeRun,
) -> None:
    knowledge = knowledge_run.results["knowledge"]
    tested = {p["example_id"] for p in knowledge_run.rungs()["zero-shot"]["predictions"]}
    seen, unseen = set(knowledge["seen"]), set(knowledge["unseen"])
    assert seen | unseen == tested and not seen & unseen
    assert seen and unseen  # the task is built so that both happen
    split = split_task(load_task(str(knowledge_run.spec)), fractions=(0.6, 0.1, 0.3), seed=0)
    taught = {EVIDENCE[e.id] for e in split.train}
    assert seen == {i for i in tested if EVIDENCE[i] in taught}
    assert knowledge["field"] == "context_id"
    assert knowledge["corpus"]["path"] == str(knowledge_run.corpus)
    decided = knowledge_run.results["decision"]["knowledge"]
    assert (decided["seen"], decided["unseen"], decided["passages"]) == (len(seen), len(unseen), 2)
    assert {row["rung"] for row in decided["rows"]} == set(knowledge_run.rungs())
    chosen = knowledge_run.rungs()[knowledge_run.results["decision"]["rung"]]
    recommended = knowledge_run.results["decision"]["recommendation"]
    if chosen.get("retrieval"):  # whichever rung the tiny model's scores pick, it is named for its book
        assert recommended == ("retrieve" if chosen["kind"] == "prompt" else "retrieve-tuned")
    else:
        assert recommended in ("prompt", "fine-tune", "hybrid", "distil")


def test_the_report_has_the_knowledge_section_and_the_passages_read(knowledge_run: KnowledgeRun) -> None:
    html = (knowledge_run.directory / "report.html").read_text()
    knowledge = html.split('<section id="knowledge">')[1].split("</section>")[0]
    assert '<table id="knowledge-table">' in knowledge
    assert f"{len(passages())} documents in {len(passages())} passages" in knowledge
    asked = knowledge_run.rungs()["rag-2"]["predictions"][0]
    row = html.split(f'<td class="id">{asked["example_id"]}</td>')[1].split("</tr>")[0]
    assert '<details class="passages">' in row
    for passage in asked["passages"]:
        assert passage["text"] in row
    assert row.count("tag-gold") == (1 if asked["gold_rank"] else 0)


def test_a_second_run_on_the_same_documents_reuses_their_index(
    knowledge_run: KnowledgeRun, tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = set(passages().values())
    assert corpus <= set(knowledge_run.embedder.texts)  # the first run embedded them all
    assert len(list((knowledge_run.out / "index").iterdir())) == 1

    embedder = fake_sentence_embedder(monkeypatch)
    args = run_args(knowledge_run.spec, knowledge_run.corpus, tiny_model_dir, knowledge_run.out, "--no-tune")
    result = runner.invoke(app, args)

    assert result.exit_code == 0, result.output
    assert embedder.texts and not corpus & set(embedder.texts)  # questions only: no passage
    assert len(list((knowledge_run.out / "index").iterdir())) == 1
    second = max(p for p in knowledge_run.out.iterdir() if p.name[0].isdigit())
    assert second != knowledge_run.directory
    rag = next(r for r in json.loads((second / "results.json").read_text())["rungs"] if r["rung"] == "rag-2")

    def found(predictions: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        return [(p["example_id"], p["passages"], p["gold_rank"]) for p in predictions]

    assert found(rag["predictions"]) == found(knowledge_run.rungs()["rag-2"]["predictions"])


# -- what a corpus run refuses before it starts -----------------------------------------------


def test_a_retrieval_rung_without_a_corpus_is_refused_before_the_model_loads(tmp_path: Path) -> None:
    spec, _ = write_knowledge_task(tmp_path / "task")
    out = tmp_path / "runs"
    args = ["run", str(spec), "--model", str(tmp_path / "no-such-model"), "-s", "zero-shot,rag-2"]
    result = runner.invoke(app, [*args, "--out", str(out)])
    assert result.exit_code == 2
    assert "rag-2 puts passages of a corpus in the prompt: give --corpus PATH" in " ".join(
        result.stderr.split()
    )
    assert not out.exists()


def write_bad_corpus(folder: Path, kind: str) -> tuple[list[str], str]:
    """The corpus arguments of a run and the problem it must report, for a corpus of `kind`."""
    if kind == "empty file":
        empty = folder / "empty.jsonl"
        empty.write_text("")
        return ["--corpus", str(empty)], f"{empty}: the file is empty"
    if kind == "not UTF-8":
        docs = folder / "docs"
        docs.mkdir()
        (docs / "a.md").write_text("Brenmoor is a river town.\n")
        (docs / "b.txt").write_bytes("Calvessa is a river town.\nIts mayor is Tom\xe1s.\n".encode("latin-1"))
        return ["--corpus", str(docs)], f"{docs / 'b.txt'} line 2: not valid UTF-8 (byte 0xe1 at column 17)"
    spec, _ = write_knowledge_task(folder / "task", corpus="nowhere.jsonl")
    return [], f'{spec} line 6: corpus: no such file or folder "nowhere.jsonl"'


@pytest.mark.parametrize("kind", ["empty file", "not UTF-8", "spec corpus missing"])
def test_a_bad_corpus_is_reported_with_file_and_line_and_writes_nothing(
    tmp_path: Path, kind: str, tiny_model_dir: Path
) -> None:
    spec, _ = write_knowledge_task(tmp_path / "task")
    corpus_args, problem = write_bad_corpus(tmp_path, kind)
    out = tmp_path / "runs"
    args = ["run", str(spec), *corpus_args, "--model", str(tiny_model_dir), "-s", "rag-2"]
    result = runner.invoke(app, [*args, "--out", str(out)])
    assert result.exit_code == 1, result.output
    assert f"adaptlab: {problem}" in " ".join(result.stderr.split())
    assert not out.exists()


def test_passages_sets_the_count_of_a_bare_rag_rung(
    tmp_path: Path, tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_sentence_embedder(monkeypatch)
    spec, corpus = write_knowledge_task(tmp_path / "task")
    args = [
        "eval",
        str(spec),
        "--corpus",
        str(corpus),
        "-m",
        str(tiny_model_dir),
        "-s",
        "rag",
        "--passages",
        "4",
    ]
    args += ["--limit", "2", "--max-new-tokens", "2", "--consistency-sample", "0", "--robustness-sample", "0"]
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "runs")])
    assert result.exit_code == 0, result.output
    (directory,) = [p for p in (tmp_path / "runs").iterdir() if p.name[0].isdigit()]
    (rung,) = json.loads((directory / "results.json").read_text())["rungs"]
    assert rung["rung"] == "rag-4" and rung["retrieval"]["passages"] == 4
    assert [len(p["passages"]) for p in rung["predictions"]] == [4, 4]


def test_the_ladder_adds_the_retrieval_rungs_only_with_a_corpus(tmp_path: Path) -> None:
    spec, corpus = write_knowledge_task(tmp_path / "task")
    with_spec_corpus, _ = write_knowledge_task(tmp_path / "named", corpus="towns_corpus.jsonl")

    def rungs(config: RunConfig) -> list[str]:
        return [strategy.name for strategy in checked_inputs(config, left_out=[])[3]]

    ladder = rungs(RunConfig(task=str(spec), corpus=str(corpus)))
    assert {"rag-3", "rag-3-few-shot-knn-4"} <= set(ladder)
    assert ladder == rungs(RunConfig(task=str(with_spec_corpus)))
    assert not any(name.startswith("rag") for name in rungs(RunConfig(task=str(spec))))
    assert "rag-5" in rungs(RunConfig(task=str(spec), corpus=str(corpus), passages=5))


def test_an_index_built_and_read_in_small_pieces_gives_every_question_the_same_passages(
    tmp_path: Path, tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The streamed build (documents in batches, vectors block by block, BM25 in shards) is an
    implementation detail: through the CLI, the passages each question gets do not change."""
    import adaptlab.retrieval.bm25 as bm25
    import adaptlab.retrieval.index as index

    fake_sentence_embedder(monkeypatch)
    spec, corpus = write_knowledge_task(tmp_path / "task")
    args = ["eval", str(spec), "--corpus", str(corpus), "-m", str(tiny_model_dir), "-s", "rag-2"]
    args += ["--limit", "6", "--max-new-tokens", "2", "--consistency-sample", "0", "--robustness-sample", "0"]

    def passages_asked(out: Path) -> list[tuple[str, list[str]]]:
        result = runner.invoke(app, [*args, "--out", str(out)])
        assert result.exit_code == 0, result.output
        (directory,) = [p for p in out.iterdir() if p.name[0].isdigit()]
        (rung,) = json.loads((directory / "results.json").read_text())["rungs"]
        return [(p["example_id"], [hit["id"] for hit in p["passages"]]) for p in rung["predictions"]]

    whole = passages_asked(tmp_path / "whole")
    for name, size in [("CHUNK_DOCUMENTS", 2), ("EMBED_CHUNK", 3), ("DENSE_BLOCK", 2)]:
        monkeypatch.setattr(index, name, size)
    monkeypatch.setattr(bm25, "SHARD_PASSAGES", 2)
    pieces = passages_asked(tmp_path / "pieces")
    assert pieces == whole and len(whole) == 6
    (folder,) = (tmp_path / "pieces" / "index").iterdir()
    assert len(list((folder / "bm25").glob("shard-*"))) == -(-len(passages()) // 2)
