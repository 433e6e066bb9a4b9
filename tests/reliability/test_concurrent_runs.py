"""Two ``adaptlab run`` processes on one runs directory at once: both finish, neither loses a
row of the other in the shared store, and weights both ask for are trained once and shared.

The end-to-end test is in ``-m reliability`` (`make reliability`); the default suite has the
registry lock here and concurrent store writers in `tests/test_store.py`."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from ladder_runs import TUNED_LADDER, Runs, measured, problems_on_disk, store_matches_results

from adaptlab.tuning import WeightsRegistry


def run_twice_at_once(runs: Runs, ladder: tuple[str, ...]) -> list[str]:
    """Start the same ladder twice on `runs` and wait for both; their run ids."""
    processes = [runs.start("run", *ladder) for _ in range(2)]
    for life, process in enumerate(processes):
        assert process.wait(timeout=300) == 0, (runs.root / f"life-{life}.out").read_text()[-3000:]
    rows = runs.run_rows()
    assert [row["status"] for row in rows] == ["complete", "complete"]
    run_ids = [row["id"] for row in rows]
    for run_id in run_ids:
        store_matches_results(runs.out, run_id)
    assert problems_on_disk(runs.out) == []
    first, second = (measured(runs.results(run_id)) for run_id in run_ids)
    assert first == second
    return run_ids


@pytest.mark.reliability
def test_two_runs_at_once_on_one_store_finish_with_every_row_and_train_each_adapter_once(
    new_runs: Callable[[str], Runs],
) -> None:
    """Both runs ask for the same weights at about the same moment: one trains them, the other
    waits on the registry's lock and reuses them (training them too, in the same work folder,
    each would resume from and delete the other's checkpoints)."""
    runs = new_runs("shared")
    run_ids = run_twice_at_once(runs, TUNED_LADDER)
    trained: dict[str, list[bool]] = {}
    for run_id in run_ids:
        for rung in runs.results(run_id)["rungs"]:
            if rung["kind"] == "tuned":
                trained.setdefault(rung["training"]["key"], []).append(rung["training"]["reused"])
    assert len(trained) == 2
    assert all(sorted(reused) == [False, True] for reused in trained.values()), trained
    assert {entry.key for entry in WeightsRegistry(runs.out / "adapters").entries()} == set(trained)
    assert [p.name for p in (runs.out / "adapters" / ".work").iterdir() if p.is_dir()] == []


def test_the_registry_lock_makes_a_second_trainer_wait(tmp_path: Path) -> None:
    registry = WeightsRegistry(tmp_path)
    entered = threading.Event()

    def second() -> None:
        with registry.training("k"):
            entered.set()

    with registry.training("k"):
        waiting = threading.Thread(target=second)
        waiting.start()
        assert not entered.wait(timeout=0.5)
        with registry.training("other"):  # another key is not held up
            pass
    assert entered.wait(timeout=5)
    waiting.join()
