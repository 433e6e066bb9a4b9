"""A tiny knowledge task for end-to-end runs over a corpus (issue 18): 36 questions about 18
invented towns, two per town, each naming the one corpus passage that answers it
(``metadata.context_id``), so a split leaves some towns seen in train and some unseen; the
corpus also holds passages that name a town and answer nothing.

`run_args` is the fast `adaptlab run` over it used by the CLI test and the browser test: every
rung of the knowledge story (closed-book, open-book, tuned on the answers, tuned on the
documents, and the hybrid) on a tiny model in seconds.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from fakes import HashingEmbedder, bundled_embedder_tokenizer

TOWNS = [
    ("Brenmoor", "Odile Varn"),
    ("Calvessa", "Tomas Quill"),
    ("Dunhollow", "Mirela Oss"),
    ("Eskaran", "Bede Lantry"),
    ("Fallowmere", "Ysolde Crane"),
    ("Gristavel", "Arno Petch"),
    ("Harrowdeep", "Lisbet Marr"),
    ("Isquith", "Corwen Dale"),
    ("Jormund", "Petra Vell"),
    ("Kelvara", "Silas Orme"),
    ("Lunmarsh", "Nadia Prow"),
    ("Morrowgate", "Ewan Tarr"),
    ("Nethercombe", "Greta Holm"),
    ("Ostravine", "Hugo Faye"),
    ("Pellucid", "Ines Rook"),
    ("Quarrendon", "Jonas Pike"),
    ("Rivenholt", "Kira Sand"),
    ("Sablethorn", "Lorcan Moss"),
]


def town_id(town: str) -> str:
    return f"town-{town.lower()}"


def founded(index: int) -> str:
    return str(1104 + 37 * index)


def passages() -> dict[str, str]:
    """The corpus, by id: each town's passage, and notes that repeat its name without answering
    anything (a ferry note for every town, a river guide for every fourth), so that some
    questions find their passage first, some second and some not in the top two."""
    corpus = {}
    for i, (town, mayor) in enumerate(TOWNS):
        corpus[town_id(town)] = (
            f"{town} is a river town whose mayor is {mayor}; it was founded in {founded(i)}."
        )
        corpus[f"ferry-{town.lower()}"] = (
            f"Ferry notes: the {town} ferry leaves {town} quay at dawn, and {town} pilots know every bend."
        )
        if i % 4 == 2:
            corpus[f"guide-{town.lower()}"] = f"River guide: {town}, {town} and the {town} locks."
    return corpus


def questions() -> list[dict[str, Any]]:
    rows = []
    for i, (town, mayor) in enumerate(TOWNS):
        evidence = {"context_id": town_id(town)}
        rows.append({"id": f"q{2 * i:02d}", "input": f"Who is the mayor of {town}?", "output": mayor})
        rows.append({"id": f"q{2 * i + 1:02d}", "input": f"When was {town} founded?", "output": founded(i)})
        rows[-2]["metadata"] = rows[-1]["metadata"] = evidence
    return rows


def write_jsonl(path: Path, rows: Sequence[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def write_knowledge_task(folder: Path, *, corpus: str | None = None) -> tuple[Path, Path]:
    """Write the questions, a task spec (scored by whole-word containment, naming `corpus` when
    given) and the JSONL corpus under `folder`; returns the spec and the corpus."""
    folder.mkdir(parents=True, exist_ok=True)
    write_jsonl(folder / "towns.jsonl", questions())
    documents = write_jsonl(
        folder / "towns_corpus.jsonl", [{"id": k, "text": v} for k, v in passages().items()]
    )
    spec = folder / "towns.yaml"
    lines = ["name: towns", "instruction: Answer with the name or the year only.", "data: towns.jsonl"]
    lines += ["metric: contains", "metrics: [exact]", *([f"corpus: {corpus}"] if corpus else [])]
    spec.write_text("\n".join(lines) + "\n")
    return spec, documents


FAST = ["--sizes", "8", "--epochs", "1", "--limit", "8", "--selection-examples", "0"]
FAST += ["--consistency-sample", "0", "--robustness-sample", "0", "--max-new-tokens", "4"]
FAST += ["--no-forgetting", "--no-distill"]
RUNGS = "zero-shot,rag-2,rag-2-few-shot-knn-2"


def run_args(spec: Path, corpus: Path, model: Path, out: Path, *extra: str) -> list[str]:
    """`adaptlab run` over the task with its corpus: prompt, retrieval, tuned, docs-tuned and
    hybrid rungs, each as small as it can be."""
    args = ["run", str(spec), "--corpus", str(corpus), "--model", str(model), "-s", RUNGS, *FAST]
    return [*args, "--out", str(out), *extra]


class RecordingEmbedder(HashingEmbedder):
    """`HashingEmbedder` that keeps every text it embedded, so a test can tell whether the
    corpus passages were embedded (an index built) or only queries and demos."""

    def __init__(self, tokenizer: Any) -> None:
        super().__init__(tokenizer)
        self.texts: list[str] = []

    def encode(self, texts: Sequence[str], batch_size: int = 64, *, remember: bool = True) -> Any:
        self.texts.extend(texts)
        return super().encode(texts, batch_size, remember=remember)


def fake_sentence_embedder(monkeypatch: pytest.MonkeyPatch) -> RecordingEmbedder:
    """Stand in for the bundled sentence embedder everywhere a run asks for it (the corpus
    index, kNN demos): fast, and with a record of what it embedded."""
    embedder = RecordingEmbedder(bundled_embedder_tokenizer())
    monkeypatch.setattr("adaptlab.models.embeddings.shared_embedder", lambda: embedder)
    return embedder
