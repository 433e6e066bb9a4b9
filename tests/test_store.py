import sqlite3
import threading
from pathlib import Path

import pytest

from adaptlab.data.task import Example, Task
from adaptlab.errors import AdaptlabError
from adaptlab.evaluation import evaluate
from adaptlab.prompting import get_strategy
from adaptlab.store import SCHEMA_VERSION, Store

from fakes import ScriptedBackend

TASK = Task(
    name="t",
    examples=(Example(id="a", input="good", output="pos"), Example(id="b", input="bad", output="neg")),
    labels=("neg", "pos"),
)


def start(store: Store, run_id: str) -> None:
    store.start_run(
        run_id=run_id,
        command="eval",
        task_name="t",
        task_hash="h",
        model_id="m",
        model_fingerprint="f",
        config={"task": "t"},
        adaptlab_version="0",
        output_dir=None,
    )


def test_fresh_store_is_migrated_and_in_wal_mode(tmp_path: Path) -> None:
    with Store.open(tmp_path / "adaptlab.db") as store:
        assert store.connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert store.connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_run_rung_and_predictions_round_trip(tmp_path: Path) -> None:
    result = evaluate(TASK, TASK.examples, ScriptedBackend(lambda p: "pos"), get_strategy("zero-shot"))
    with Store.open(tmp_path / "adaptlab.db") as store:
        start(store, "r1")
        store.record_rung("r1", result)
        store.finish_run("r1")
    with Store.open(tmp_path / "adaptlab.db") as store:
        run = store.get_run("r1")
        assert run is not None
        assert (run["status"], run["config"], run["model_id"]) == ("complete", {"task": "t"}, "m")
        assert run["finished_at"] is not None
        (rung,) = store.rung_results("r1")
        assert rung["metrics"]["accuracy"] == 0.5
        predictions = store.predictions("r1", "zero-shot")
        assert [(p["example_id"], p["correct"]) for p in predictions] == [("a", True), ("b", False)]


def test_failed_rung_write_leaves_no_partial_rows(tmp_path: Path) -> None:
    result = evaluate(TASK, TASK.examples, ScriptedBackend(lambda p: "pos"), get_strategy("zero-shot"))
    with Store.open(tmp_path / "adaptlab.db") as store:
        # no run row: the foreign key fails inside the transaction, which must roll back whole
        with pytest.raises(sqlite3.IntegrityError):
            store.record_rung("missing-run", result)
        assert store.connection.execute("SELECT COUNT(*) FROM predictions").fetchone()[0] == 0


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "adaptlab.db"
    errors: list[BaseException] = []

    def write(worker: int) -> None:
        try:
            with Store.open(path) as store:
                for i in range(20):
                    start(store, f"w{worker}-{i}")
        except BaseException as error:  # surfaced below
            errors.append(error)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with Store.open(path) as store:
        assert len(store.list_runs(limit=1000)) == 80


def test_store_from_a_newer_adaptlab_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "adaptlab.db"
    with sqlite3.connect(path) as connection:
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(AdaptlabError, match="written by a newer adaptlab"):
        Store(path)
