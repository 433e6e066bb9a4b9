import itertools
import os
import socket
import sqlite3
import subprocess
import sys
import threading
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from adaptlab import store as store_module
from adaptlab.data.task import Example, Task
from adaptlab.errors import AdaptlabError, UsageError
from adaptlab.evaluation import evaluate
from adaptlab.prompting import get_strategy
from adaptlab.run_list import BestRung, best_rung, process_alive, run_summaries
from adaptlab.store import MIGRATIONS, SCHEMA_VERSION, Store

from fakes import ScriptedBackend

TASK = Task(
    name="t",
    examples=(Example(id="a", input="good", output="pos"), Example(id="b", input="bad", output="neg")),
    labels=("neg", "pos"),
)


def start(store: Store, run_id: str, command: str = "eval") -> None:
    store.start_run(
        run_id=run_id,
        command=command,
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
        assert rung["metrics"]["score"] == 0.5
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


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each store timestamp a minute after the last, so "newest first" has an order to check;
    they start a day ago, before any run that a child process records by the real clock."""
    start = datetime.now(timezone.utc) - timedelta(days=1)
    minutes = itertools.count()
    monkeypatch.setattr(
        store_module, "utc_now", lambda: (start + timedelta(minutes=next(minutes))).isoformat()
    )


def killed_run(path: Path, run_id: str) -> int:
    """Start `run_id` in another process that is then killed with SIGKILL, as `kill -9` would;
    return its pid."""
    script = (
        "import os, signal, sys\n"
        "from pathlib import Path\n"
        "from adaptlab.store import Store\n"
        "store = Store(Path(sys.argv[1]))\n"
        "store.start_run(run_id=sys.argv[2], command='run', task_name='t', task_hash='h', model_id='m',"
        " model_fingerprint='f', config={}, adaptlab_version='0', output_dir=None)\n"
        "print(os.getpid(), flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    child = subprocess.run(
        [sys.executable, "-c", script, str(path), run_id], capture_output=True, text=True, timeout=60
    )
    assert child.returncode == -9, child.stderr
    return int(child.stdout)


def test_the_listing_has_a_summary_per_run_newest_first_with_its_status(tmp_path: Path, clock: None) -> None:
    path = tmp_path / "adaptlab.db"
    killed = killed_run(path, "killed")
    with Store.open(path) as store:
        start(store, "done")
        store.finish_run("done")
        start(store, "broke", command="tune")
        store.finish_run("broke", status="failed")
        start(store, "going", command="run")
        summaries = run_summaries(store)

    assert [(s.run_id, s.status, s.label) for s in summaries] == [
        ("killed", "interrupted", "interrupted"),
        ("going", "running", "running"),
        ("broke", "failed", "failed"),
        ("done", "complete", "finished"),
    ]
    interrupted, going, _, done = summaries
    assert (going.pid, going.host) == (os.getpid(), socket.gethostname())
    assert (interrupted.pid, interrupted.command) == (killed, "run")
    assert (done.command, done.task_name, done.model_id) == ("eval", "t", "m")
    assert done.created_at < done.finished_at  # type: ignore[operator]
    assert going.finished_at is None and done.best is None


def test_the_best_rung_is_the_most_accurate_one_recorded(tmp_path: Path) -> None:
    half = evaluate(TASK, TASK.examples, ScriptedBackend(lambda p: "pos"), get_strategy("zero-shot"))
    right = evaluate(
        TASK,
        TASK.examples,
        ScriptedBackend(lambda p: "pos" if "good" in p else "neg"),
        get_strategy("zero-shot"),
    )
    assert (half.metrics.score, right.metrics.score) == (0.5, 1.0)
    with Store.open(tmp_path / "adaptlab.db") as store:
        start(store, "r1")
        for result in (half, replace(right, rung="lora-8"), replace(right, rung="full-8")):
            store.record_rung("r1", result)
        (summary,) = run_summaries(store)
    assert summary.best is not None
    assert (summary.best.rung, summary.best.score) == ("lora-8", 1.0), "a tie goes to the first recorded"


def test_best_rung_passes_over_rungs_without_a_score_and_reads_old_accuracies() -> None:
    assert best_rung([]) is None
    chrf = {"metric": "chrf", "metric_display": "chrF"}
    best = best_rung([("a", {"score": 0.2, **chrf}), ("b", {"score": 0.9, **chrf}), ("c", {"n": 3})])
    assert best == BestRung("b", 0.9, "chrf", "chrF")
    # Rung rows stored before schema 6 carry an accuracy and no metric name.
    assert best_rung([("a", {"accuracy": 0.0}), ("b", {"n": 3})]) == BestRung(
        "a", 0.0, "accuracy", "accuracy"
    )


def test_a_killed_run_is_interrupted_until_resumed_and_filters_see_that(tmp_path: Path, clock: None) -> None:
    path = tmp_path / "adaptlab.db"
    with Store.open(path) as store:
        start(store, "alive", command="run")
    killed_run(path, "killed")
    with Store.open(path) as store:
        assert [s.run_id for s in run_summaries(store, status="interrupted")] == ["killed"]
        # the limit counts runs with the status asked for, not the rows read to find them
        assert [s.run_id for s in run_summaries(store, limit=1, status="running")] == ["alive"]
        assert [s.run_id for s in run_summaries(store, limit=1, command="run")] == ["killed"]
        assert run_summaries(store, command="tune") == []

        store.resume_run("killed")
        assert store.get_run("killed")["pid"] == os.getpid()  # type: ignore[index]
        assert run_summaries(store, status="interrupted") == []
        assert {s.run_id for s in run_summaries(store, status="running")} == {"alive", "killed"}


def test_a_run_of_another_host_or_an_older_adaptlab_stays_running(tmp_path: Path) -> None:
    """Neither can be checked from here: a pid means nothing on another host, and a run
    recorded before migration 5 has no pid."""
    path = tmp_path / "adaptlab.db"
    killed_run(path, "elsewhere")
    killed_run(path, "old")
    with Store.open(path) as store:
        store.connection.execute("UPDATE runs SET host = 'another-host' WHERE id = 'elsewhere'")
        store.connection.execute("UPDATE runs SET pid = NULL, host = NULL WHERE id = 'old'")
        assert {s.run_id: s.status for s in run_summaries(store)} == {
            "elsewhere": "running",
            "old": "running",
        }


def test_an_unknown_status_filter_is_refused(tmp_path: Path) -> None:
    with Store.open(tmp_path / "adaptlab.db") as store, pytest.raises(UsageError, match="interrupted"):
        run_summaries(store, status="finished")


def test_process_alive() -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    assert not process_alive(dead.pid)
    assert process_alive(os.getpid())
    assert process_alive(1), "pid 1 always exists: another user's (PermissionError) or, as root, ours"


def test_a_store_of_the_previous_schema_gains_pid_and_host_and_keeps_its_runs(tmp_path: Path) -> None:
    path = tmp_path / "adaptlab.db"
    connection = sqlite3.connect(path, isolation_level=None)
    for migration in MIGRATIONS[:4]:  # the schema before migration 5 added pid and host
        for statement in migration:
            connection.execute(statement)
    connection.execute("PRAGMA user_version = 4")
    connection.execute(
        "INSERT INTO runs (id, command, status, created_at, task_name, task_hash, model_id,"
        " model_fingerprint, config_json, adaptlab_version) VALUES"
        " ('old', 'eval', 'complete', '2025-01-01T00:00:00+00:00', 't', 'h', 'm', 'f', '{}', '0')"
    )
    connection.close()

    with Store.open(path) as store:
        assert store.connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        start(store, "new")
        new, old = run_summaries(store)
    assert (old.run_id, old.status, old.pid, old.host) == ("old", "complete", None, None)
    assert (new.run_id, new.status, new.pid) == ("new", "running", os.getpid())
