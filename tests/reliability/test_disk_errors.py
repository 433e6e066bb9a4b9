"""A full disk or a read-only runs directory: ``adaptlab run`` stops with ``adaptlab: <what
failed and what to do>`` and a non-zero exit, no traceback, and publishes nothing half-written;
once there is room, ``--resume`` finishes the run.

The default suite raises the errors the system would (ENOSPC, EROFS, EACCES from file writes;
SQLite's own "database or disk is full" and read-only errors) inside the real command.
``-m reliability`` also runs it on a real small or read-only filesystem, where the machine
allows mounting one in a private namespace (``unshare``).
"""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ladder_runs import RUN_FILES, Runs, problems_on_disk
from typer.testing import CliRunner

import adaptlab.store
from adaptlab.cli import app
from adaptlab.store import DB_FILENAME, Store

runner = CliRunner()
SMALL = (
    *("-s", "zero-shot,label-scoring", "--no-tune", "--limit", "3"),
    *("--consistency-sample", "0", "--robustness-sample", "0"),
    # Chosen on test (no dev answers cached first): the first rung is recorded before the store
    # fills, the order ROOM_PAGES (passes from 13 to 16 pages) is sized for.
    *("--selection-examples", "0"),
)


def small_run(task: Path, model: Path, out: Path) -> Any:
    return runner.invoke(app, ["run", str(task), "--model", str(model), *SMALL, "--out", str(out)])


def assert_stopped_cleanly(result: Any, *phrases: str) -> None:
    """Exit code 1, one ``adaptlab:`` line naming the problem, and no traceback."""
    output = result.output.replace("\n", "")
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "adaptlab: " in output and "Traceback" not in output
    for phrase in phrases:
        assert phrase in output


def besides_the_store(out: Path) -> list[str]:
    """What else than the store is in `out` (a run folder, a staging folder left behind)."""
    return sorted(p.name for p in out.iterdir() if not p.name.startswith(DB_FILENAME))


def the_run(out: Path) -> dict[str, Any]:
    with Store.open(out / DB_FILENAME) as store:
        (run,) = store.list_runs()
    return run


def no_space(monkeypatch: pytest.MonkeyPatch) -> str:
    def replace(source: Any, target: Any) -> None:
        if Path(target).name == "results.json":
            raise OSError(errno.ENOSPC, "No space left on device")  # a failed write names no file
        original(source, target)

    original = os.replace
    monkeypatch.setattr(os, "replace", replace)
    return "results.json: No space left on device"


def read_only_report(monkeypatch: pytest.MonkeyPatch) -> str:
    def mkstemp(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get("prefix") == ".report.html.":
            raise OSError(errno.EROFS, "Read-only file system", f"{kwargs['dir']}/.report.html.x1y2.tmp")
        return original(*args, **kwargs)

    original = tempfile.mkstemp
    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    return "report.html: Read-only file system"


def no_permission(monkeypatch: pytest.MonkeyPatch) -> str:
    def mkdir(self: Path, *args: Any, **kwargs: Any) -> None:
        if self.name.endswith(".partial"):
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        original(self, *args, **kwargs)

    original = Path.mkdir
    monkeypatch.setattr(Path, "mkdir", mkdir)
    return "Permission denied"


@pytest.mark.parametrize("fault", [no_space, read_only_report, no_permission])
def test_a_run_that_cannot_write_its_folder_stops_cleanly_and_resumes_later(
    fault: Callable[[pytest.MonkeyPatch], str],
    monkeypatch: pytest.MonkeyPatch,
    sentiment_task: Path,
    tiny_model_dir: Path,
    tmp_path: Path,
) -> None:
    out = tmp_path / "runs"
    reason = fault(monkeypatch)
    result = small_run(sentiment_task, tiny_model_dir, out)
    run = the_run(out)
    assert_stopped_cleanly(result, reason, f"cannot write run {out / run['id']}", f"--resume {run['id']}")
    assert run["status"] == "failed"
    assert besides_the_store(out) == []

    monkeypatch.undo()  # space freed, folder writable again
    resumed = runner.invoke(app, ["run", "--resume", run["id"], "--out", str(out)])
    assert resumed.exit_code == 0, resumed.output
    assert {p.name for p in (out / run["id"]).iterdir()} == RUN_FILES
    assert the_run(out)["status"] == "complete"


ROOM_PAGES = 14
"""Pages of 512 bytes a full store may still grow by: room to start the run, not to finish it."""


def store_limited_to(pragma: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every store opened from now on runs `pragma` (a SQLite limit) once migrated."""
    original = adaptlab.store.migrate

    def migrate(connection: sqlite3.Connection) -> int:
        version = original(connection)
        page_count = connection.execute("PRAGMA page_count").fetchone()[0]
        connection.execute(pragma.format(room=page_count + ROOM_PAGES))
        return version

    monkeypatch.setattr(adaptlab.store, "migrate", migrate)


@pytest.mark.parametrize(
    ("pragma", "reason", "statuses"),
    [
        # SQLite's own "disk full", after the first rung: the run is recorded as failed.
        ("PRAGMA max_page_count = {room}", "database or disk is full", ["failed"]),
        # Nothing can be recorded, not even the run.
        ("PRAGMA query_only = ON", "attempt to write a readonly database", []),
    ],
)
def test_a_run_whose_store_cannot_be_written_stops_cleanly(
    pragma: str,
    reason: str,
    statuses: list[str],
    monkeypatch: pytest.MonkeyPatch,
    sentiment_task: Path,
    tiny_model_dir: Path,
    tmp_path: Path,
) -> None:
    out = tmp_path / "runs"
    out.mkdir()
    with sqlite3.connect(out / DB_FILENAME) as db:
        db.executescript("PRAGMA page_size = 512; VACUUM")  # small pages: a run's rows need new ones
    with Store.open(out / DB_FILENAME):
        pass  # an existing store, as after earlier runs
    store_limited_to(pragma, monkeypatch)
    result = small_run(sentiment_task, tiny_model_dir, out)
    assert_stopped_cleanly(result, f"cannot write the run store {out / DB_FILENAME}: {reason}", "--out")
    assert besides_the_store(out) == []
    assert problems_on_disk(out) == []
    monkeypatch.undo()
    with Store.open(out / DB_FILENAME) as store:
        assert [run["status"] for run in store.list_runs()] == statuses


def test_a_bug_in_the_sql_is_not_passed_off_as_a_full_disk(tmp_path: Path) -> None:
    store = Store(tmp_path / DB_FILENAME)
    with pytest.raises(sqlite3.OperationalError, match="no such table"), store.transaction() as db:
        db.execute("SELECT * FROM no_such_table")
    store.close()


# -- on real filesystems -------------------------------------------------------------------

ISOLATED_MOUNT = """
set -e
mount -t tmpfs -o size="$SIZE" tmpfs "$OUT"
if [ -n "$SEED" ]; then cp -a "$SEED"/. "$OUT"/; fi
if [ -n "$READ_ONLY" ]; then mount -o remount,ro "$OUT"; fi
set +e
"$@"
status=$?
cp -a "$OUT"/. "$KEEP"/
exit $status
"""
"""Run a command (the script's arguments) with its runs directory on a fresh tmpfs of $SIZE,
seeded with $SEED's files and remounted read-only if $READ_ONLY; the tmpfs is private to the
command's mount namespace, so what it held is copied to $KEEP before it disappears."""


def can_mount_privately() -> bool:
    if shutil.which("unshare") is None:
        return False
    with tempfile.TemporaryDirectory() as directory:
        probe = ["unshare", "-rm", "sh", "-c", 'mount -t tmpfs -o size=64k tmpfs "$0"', directory]
        return subprocess.run(probe, capture_output=True).returncode == 0


needs_mounts = pytest.mark.skipif(
    not can_mount_privately(), reason="cannot mount a private tmpfs here (unshare -rm)"
)


def run_on_tmpfs(
    runs: Runs, *args: str, size: str, seed: Path | None = None, read_only: bool = False
) -> subprocess.CompletedProcess[str]:
    """``adaptlab ARGS`` with ``runs.out`` on a tmpfs of `size`; its content is then in ``runs.out``."""
    keep = runs.root / "kept"
    keep.mkdir(parents=True)
    runs.out.mkdir(parents=True, exist_ok=True)
    mount = {"SIZE": size, "OUT": str(runs.out), "KEEP": str(keep), "SEED": str(seed or "")}
    mount["READ_ONLY"] = "1" if read_only else ""
    done = runs.adaptlab(*args, prefix=["unshare", "-rm", "sh", "-c", ISOLATED_MOUNT, "sh"], env=mount)
    shutil.rmtree(runs.out)
    keep.rename(runs.out)
    return done


def assert_failed_cleanly(done: subprocess.CompletedProcess[str], *phrases: str) -> None:
    output = done.stdout.replace("\n", "") + done.stderr.replace("\n", "")
    assert done.returncode == 1, output[-3000:]
    assert "Traceback" not in output
    for phrase in phrases:
        assert phrase in output, output[-3000:]


@pytest.mark.reliability
@needs_mounts
def test_a_really_full_disk_stops_the_run_cleanly_and_it_resumes_once_there_is_room(
    new_runs: Callable[[str], Runs],
) -> None:
    """1 MiB holds the store but not the report (plotly.js inlined, ~5 MB)."""
    runs = new_runs("full")
    done = run_on_tmpfs(runs, "run", *SMALL, size="1m")
    run = the_run(runs.out)
    assert_failed_cleanly(done, "report.html: No space left on device", f"--resume {run['id']}")
    assert run["status"] == "failed"
    assert besides_the_store(runs.out) == []
    assert problems_on_disk(runs.out) == []

    resumed = runs.adaptlab("run", "--resume", run["id"])  # the same files, on a roomy disk
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    assert {p.name for p in (runs.out / run["id"]).iterdir()} == RUN_FILES


@pytest.mark.reliability
@needs_mounts
def test_a_store_that_fills_the_disk_stops_the_run_cleanly(new_runs: Callable[[str], Runs]) -> None:
    runs = new_runs("full")
    done = run_on_tmpfs(runs, "run", *SMALL, size="160k")
    store = runs.out / DB_FILENAME
    assert_failed_cleanly(done, f"cannot write the run store {store}: database or disk is full")
    assert besides_the_store(runs.out) == []
    assert problems_on_disk(runs.out) == []


@pytest.mark.reliability
@needs_mounts
def test_a_read_only_runs_directory_stops_the_run_cleanly(
    new_runs: Callable[[str], Runs], tmp_path: Path
) -> None:
    earlier = tmp_path / "earlier"
    with Store.open(earlier / DB_FILENAME):
        pass
    runs = new_runs("read-only")
    done = run_on_tmpfs(runs, "run", *SMALL, size="1m", seed=earlier, read_only=True)
    assert_failed_cleanly(done, f"cannot write the run store {runs.out / DB_FILENAME}")
    assert besides_the_store(runs.out) == []
