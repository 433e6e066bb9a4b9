"""``kill -9`` during ``adaptlab run``, then ``adaptlab run --resume``: the run ends with the
results an uninterrupted run gets, no answer stored in the result cache is ever computed and
stored again, and no file is left corrupt or looking finished when it is not.

The default suite kills a prompt-only ladder while it evaluates (and recreates the state a kill
leaves once the run folder is published); ``-m reliability`` (`make reliability`) kills a
ladder with fine-tuning while it evaluates, trains, saves a checkpoint, writes its results and
report, and once it is published, and at random moments from outside.
"""

from __future__ import annotations

import random
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from ladder_runs import (
    PROMPT_LADDER,
    RUN_FILES,
    TUNED_LADDER,
    Runs,
    measured,
    problems_on_disk,
    store_matches_results,
)

from adaptlab.configs import RunConfig
from adaptlab.ladder import run_ladder
from adaptlab.store import DB_FILENAME, Store
from sample_tasks import write_sentiment_task

from fakes import ScriptedBackend

KILLED = -signal.SIGKILL


@dataclass
class Reference:
    """What an uninterrupted run measured, the cache keys it stored and how long it took."""

    measured: dict[str, Any]
    keys: set[str]
    seconds: float = 0.0


def uninterrupted(runs: Runs, ladder: tuple[str, ...]) -> Reference:
    started = time.monotonic()
    done = runs.adaptlab("run", *ladder)
    seconds = time.monotonic() - started
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert runs.keys_stored_twice() == {}
    return Reference(measured(runs.results(runs.only_run()["id"])), set(runs.keys_stored()), seconds)


def assert_killed(done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == KILLED, done.stdout[-3000:] + done.stderr[-3000:]


def assert_finished_as(runs: Runs, run_id: str, reference: Reference) -> None:
    """The run is complete, measured what the uninterrupted run did, and stored each of the
    answers that run stored exactly once, over all its lives."""
    assert measured(runs.results(run_id)) == reference.measured
    assert runs.keys_stored_twice() == {}
    assert set(runs.keys_stored()) == reference.keys
    store_matches_results(runs.out, run_id)
    assert problems_on_disk(runs.out) == []
    assert not [p.name for p in runs.out.iterdir() if p.name.startswith(f".{run_id}")]  # no staging


def test_a_run_killed_while_evaluating_resumes_to_the_same_results(new_runs: Callable[[str], Runs]) -> None:
    reference_runs = new_runs("reference")
    reference_run = reference_runs.start("run", *PROMPT_LADDER)  # on the other core meanwhile
    runs = new_runs("killed")

    assert_killed(runs.adaptlab("run", *PROMPT_LADDER, kill="cache:7"))  # in the second rung
    run = runs.only_run()
    assert run["status"] == "running"
    assert not (runs.out / run["id"]).exists()
    assert problems_on_disk(runs.out) == []
    stored_before = set(runs.keys_stored())

    resumed = runs.adaptlab("run", "--resume", run["id"])
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    assert reference_run.wait(timeout=300) == 0, (reference_runs.root / "life-0.out").read_text()[-3000:]
    reference = Reference(
        measured(reference_runs.results(reference_runs.only_run()["id"])), set(reference_runs.keys_stored())
    )
    assert stored_before < reference.keys
    assert_finished_as(runs, run["id"], reference)


def test_a_run_killed_after_publishing_its_folder_resumes_and_replaces_it(tmp_path: Path) -> None:
    """Killed between renaming its folder into place and recording the run complete (the
    subprocess version is the ``published`` case below): the folder is there, the store says
    "running", and ``--resume`` must finish the run, not fail on the folder in its way."""
    task = write_sentiment_task(tmp_path / "tweets.jsonl", repeat=2)
    config = RunConfig(task=str(task), strategies=["zero-shot"], consistency_sample=0, tune=False)
    backend = ScriptedBackend(lambda text: "positive")
    first = run_ladder(config, out_dir=tmp_path, backend_factory=lambda *a, **k: backend)
    with Store.open(tmp_path / DB_FILENAME) as store:
        store.resume_run(first.run_id)  # the state a kill at that moment leaves
    (first.directory / "stale").write_text("left by the killed life")

    again = run_ladder(config, out_dir=tmp_path, resume=first.run_id, backend_factory=lambda *a, **k: backend)
    assert again.directory == first.directory
    assert {p.name for p in again.directory.iterdir()} == RUN_FILES
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    with Store.open(tmp_path / DB_FILENAME) as store:
        assert store.get_run(first.run_id)["status"] == "complete"


@pytest.fixture(scope="module")
def tuned_reference(
    tmp_path_factory: pytest.TempPathFactory, sentiment_task: Path, tiny_model_dir: Path
) -> Reference:
    runs = Runs(tmp_path_factory.mktemp("reference"), sentiment_task, tiny_model_dir)
    return uninterrupted(runs, TUNED_LADDER)


@pytest.mark.reliability
@pytest.mark.parametrize(
    "kill",
    [
        "cache:7",  # evaluating the second prompt rung
        "step:4",  # training the second size, one checkpoint into it
        "checkpoint:4",  # saving that checkpoint: weights written, optimizer and state not
        "write:results.json",  # half of results.json written in the staging folder
        "write:report.html",
        "published",
    ],
)
def test_a_tuning_run_killed_anywhere_resumes_to_the_same_results(
    kill: str, tuned_reference: Reference, new_runs: Callable[[str], Runs]
) -> None:
    runs = new_runs("killed")
    assert_killed(runs.adaptlab("run", *TUNED_LADDER, kill=kill))
    run_id = runs.only_run()["id"]
    assert problems_on_disk(runs.out) == []
    assert (runs.out / run_id).exists() == (kill == "published")

    resumed = runs.adaptlab("run", "--resume", run_id)
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    assert_finished_as(runs, run_id, tuned_reference)
    if kill.startswith(("step", "checkpoint")):
        trained = [r["training"] for r in runs.results(run_id)["rungs"] if r["kind"] == "tuned"]
        assert [t["resumed_from_step"] for t in trained] == [None, 1]


@pytest.mark.reliability
def test_a_run_killed_at_random_moments_from_outside_still_ends_with_the_same_results(
    tuned_reference: Reference, new_runs: Callable[[str], Runs]
) -> None:
    """SIGKILLs at seeded random moments of each life (between 15% and 75% of an
    uninterrupted run's time, so the first life at least is always cut short) until a life
    finishes, the eighth at the latest (it is left alone); after every kill the directory
    must be sound, and the end the same."""
    rng = random.Random(8)
    runs = new_runs("random")
    run_id: str | None = None
    kills = 0
    for life in range(8):
        process = runs.start(*(["run", "--resume", run_id] if run_id else ["run", *TUNED_LADDER]))
        kill_after = rng.uniform(0.15, 0.75) * tuned_reference.seconds if life < 7 else 300
        try:
            returncode = process.wait(timeout=kill_after)
        except subprocess.TimeoutExpired:
            process.kill()
            returncode = process.wait()
            kills += 1
        output = (runs.root / f"life-{life}.out").read_text()
        assert returncode in (0, KILLED), output[-3000:]
        assert problems_on_disk(runs.out) == [], output[-3000:]
        rows = runs.run_rows()  # none if killed before the run began: it starts afresh
        run_id = rows[0]["id"] if rows else None
        if rows and rows[0]["status"] == "complete":  # killed, if at all, on its way out
            break
    else:
        pytest.fail("the run did not complete in its last life, which nothing killed")
    assert kills >= 1 and run_id is not None
    assert measured(runs.results(run_id)) == tuned_reference.measured
    assert runs.keys_stored_twice() == {}
    store_matches_results(runs.out, run_id)
