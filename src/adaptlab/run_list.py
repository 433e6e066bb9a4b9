"""What `adaptlab runs` lists: one summary per run in a run store, newest first.

The store marks a run "running" when it starts and "complete" or "failed" when it ends. A run
killed with ``kill -9`` (or by a power cut) never gets to say, so it stays "running" forever;
the store also records the process and host that started or resumed each run, and a
"running" run whose process is gone from this host is listed as ``interrupted`` (``adaptlab
run --resume <id>`` finishes it).

>>> with Store.open(Path("runs/adaptlab.db")) as store:
...     for run in run_summaries(store, limit=20, status="interrupted"):
...         print(run.run_id, run.label, run.best and run.best.rung)
"""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, cast

from adaptlab.errors import UsageError
from adaptlab.store import Store

RunStatus = Literal["running", "complete", "failed", "interrupted"]
STATUSES: tuple[str, ...] = ("running", "complete", "failed", "interrupted")


@dataclass(frozen=True)
class RunSummary:
    """A run as `adaptlab runs` shows it.

    `best` is the rung with the highest score recorded so far (None before the first rung is
    recorded); `pid` and `host` are the process that started or last resumed the run
    (None for runs recorded before adaptlab kept them).
    """

    run_id: str
    command: str
    status: RunStatus
    task_name: str
    model_id: str
    created_at: datetime
    finished_at: datetime | None
    best: BestRung | None
    output_dir: str | None
    pid: int | None
    host: str | None

    @property
    def label(self) -> str:
        """The status in words: a complete run is "finished"."""
        return "finished" if self.status == "complete" else self.status


def run_summaries(
    store: Store, limit: int | None = 50, *, command: str | None = None, status: str | None = None
) -> list[RunSummary]:
    """The runs in `store`, newest first: at most `limit` (None: all), only those made by
    `command` ("eval", "tune", "run") and with `status` (one of `STATUSES`) when given."""
    if status is not None and status not in STATUSES:
        raise UsageError(f'unknown run status "{status}"; choose one of: {", ".join(STATUSES)}')
    # "interrupted" is never stored: such a run is a stored "running" one whose process is gone,
    # so those are all read and the limit applies once each one's status is known.
    stored = "running" if status == "interrupted" else status
    rows = store.list_runs(None if stored == "running" else limit, command=command, status=stored)
    found = [(row, current_status(row["status"], row["pid"], row["host"])) for row in rows]
    kept = [(row, now) for row, now in found if status is None or now == status][:limit]
    metrics = store.rung_metrics([row["id"] for row, _ in kept])
    return [_summary(row, now, best_rung(metrics.get(row["id"], []))) for row, now in kept]


def current_status(stored: str, pid: int | None, host: str | None) -> RunStatus:
    """`stored`, except that a "running" run whose process is gone from this host is "interrupted".

    A run on another host cannot be checked from here, nor one recorded before adaptlab kept
    pids; both stay "running". A pid reused since the kill by some other process reads as alive.
    """
    if stored == "running" and pid is not None and host == socket.gethostname() and not process_alive(pid):
        return "interrupted"
    return cast(RunStatus, stored)


def process_alive(pid: int) -> bool:
    """Whether process `pid` exists on this host; another user's process exists too."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass(frozen=True)
class BestRung:
    rung: str
    score: float
    metric: str
    """The task's primary metric (``accuracy``, ``chrf``, ...), as `score_text` takes it."""
    display: str


def best_rung(rungs: Sequence[tuple[str, dict[str, Any]]]) -> BestRung | None:
    """The rung with the highest primary-metric score; on a tie the rung recorded first (in a
    ladder, the cheaper one). Rungs without a score are passed over; rungs recorded before
    scores replaced accuracies (schema 5 and older) are read by their accuracy."""
    best: BestRung | None = None
    for rung, metrics in rungs:
        value = metrics.get("score", metrics.get("accuracy"))
        if value is not None and (best is None or value > best.score):
            metric = str(metrics.get("metric") or "accuracy")
            best = BestRung(rung, float(value), metric, str(metrics.get("metric_display") or metric))
    return best


def _summary(row: dict[str, Any], status: RunStatus, best: BestRung | None) -> RunSummary:
    return RunSummary(
        run_id=row["id"],
        command=row["command"],
        status=status,
        task_name=row["task_name"],
        model_id=row["model_id"],
        created_at=datetime.fromisoformat(row["created_at"]),
        finished_at=datetime.fromisoformat(row["finished_at"]) if row["finished_at"] else None,
        best=best,
        output_dir=row["output_dir"],
        pid=row["pid"],
        host=row["host"],
    )
