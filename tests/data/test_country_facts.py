"""The knowledge task's data (issue 18): questions whose answers one corpus passage holds."""

from __future__ import annotations

import json
from collections import Counter
from importlib.resources import files
from pathlib import Path

from adaptlab.data import load_task

TASKS = Path(str(files("adaptlab.data") / "tasks"))


def rows(name: str) -> list[dict]:
    return [json.loads(line) for line in (TASKS / name).read_text(encoding="utf-8").splitlines()]


def test_the_country_facts_task_loads_with_its_corpus_and_each_question_s_passage() -> None:
    task = load_task("country-facts")
    assert (task.name, len(task.examples), task.labels) == ("country-facts", 1017, None)
    # Whole-word containment: a small model answers in a sentence ("... the numeric code is 020.").
    assert (task.primary_metric.name, [m.name for m in task.reported_metrics]) == ("contains", ["exact"])
    assert task.corpus is not None and Path(task.corpus).name == "country_facts_corpus.jsonl"
    assert task.examples[0].context_id == "country-ad"


def test_every_answer_is_in_the_passage_its_question_names() -> None:
    passages = {row["id"]: row["text"] for row in rows("country_facts_corpus.jsonl")}
    questions = rows("country_facts.jsonl")
    assert len(passages) == 426
    for question in questions:
        assert question["output"] in passages[question["metadata"]["context_id"]], question["id"]
    # Several questions per entity, so a split leaves some entities seen in train, some unseen.
    per_entity = Counter(question["metadata"]["entity"] for question in questions)
    assert min(per_entity.values()) == 2 and max(per_entity.values()) == 3
