"""The run store: every evaluation a user ran, in one SQLite file (``adaptlab.db``).

The store is a record, not a cache: it keeps each run's exact configuration, the model and
weights fingerprint, every rung's metrics and every per-example prediction, so runs can be
compared and re-reported later. SQLite in WAL mode lets several adaptlab processes write to the
same file; the schema evolves only through the numbered `MIGRATIONS` below (applied in order,
tracked with ``PRAGMA user_version``), never by editing an applied one.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from adaptlab.errors import AdaptlabError

if TYPE_CHECKING:
    from adaptlab.evaluation.result import RungResult

DB_FILENAME = "adaptlab.db"

MIGRATIONS: Sequence[Sequence[str]] = (
    # 1: runs, rung results and per-example predictions.
    (
        """
        CREATE TABLE runs (
            id TEXT PRIMARY KEY,
            command TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('running', 'complete', 'failed')),
            created_at TEXT NOT NULL,
            finished_at TEXT,
            task_name TEXT NOT NULL,
            task_hash TEXT NOT NULL,
            model_id TEXT NOT NULL,
            model_fingerprint TEXT NOT NULL,
            config_json TEXT NOT NULL,
            adaptlab_version TEXT NOT NULL,
            output_dir TEXT
        )
        """,
        "CREATE INDEX runs_by_creation ON runs (created_at)",
        """
        CREATE TABLE rung_results (
            run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
            rung TEXT NOT NULL,
            split TEXT NOT NULL,
            strategy_json TEXT NOT NULL,
            model_json TEXT NOT NULL,
            metrics_json TEXT NOT NULL,
            created_at TEXT NOT NULL,
            PRIMARY KEY (run_id, rung)
        )
        """,
        """
        CREATE TABLE predictions (
            run_id TEXT NOT NULL,
            rung TEXT NOT NULL,
            example_id TEXT NOT NULL,
            input TEXT NOT NULL,
            gold TEXT NOT NULL,
            output TEXT NOT NULL,
            parsed TEXT,
            correct INTEGER NOT NULL,
            compliant INTEGER NOT NULL,
            latency_s REAL NOT NULL,
            prompt_tokens INTEGER NOT NULL,
            output_tokens INTEGER NOT NULL,
            PRIMARY KEY (run_id, rung, example_id),
            FOREIGN KEY (run_id, rung) REFERENCES rung_results (run_id, rung) ON DELETE CASCADE
        )
        """,
    ),
    # 2: the evaluation result cache: one model answer per (model weights, rendered prompt,
    # decoding parameters), so a re-run or a resumed run recomputes only what changed.
    (
        """
        CREATE TABLE eval_cache (
            key TEXT PRIMARY KEY,
            model TEXT NOT NULL,
            payload_json TEXT NOT NULL,
            created_at TEXT NOT NULL
        )
        """,
        "CREATE INDEX eval_cache_by_model ON eval_cache (model)",
    ),
    # 3: what a tuned rung's weights cost to train and what they did to general ability.
    ("ALTER TABLE rung_results ADD COLUMN details_json TEXT",),
    # 4: why a remote request failed after its retries (NULL: it was answered).
    ("ALTER TABLE predictions ADD COLUMN error TEXT",),
    # 5: the process that started or resumed a run, so a run killed while "running" can be
    # told apart from one still going (NULL: recorded before this migration).
    ("ALTER TABLE runs ADD COLUMN pid INTEGER", "ALTER TABLE runs ADD COLUMN host TEXT"),
    # 6: each answer's score on the task's primary metric and on every reported metric (free-text
    # tasks are scored by chrF, ROUGE-L, a judge, ...; NULL score: the grading failed).
    (
        "ALTER TABLE predictions ADD COLUMN score REAL",
        "ALTER TABLE predictions ADD COLUMN metric_scores_json TEXT",
    ),
)

SCHEMA_VERSION = len(MIGRATIONS)
_SQL_CHUNK = 500  # keys per IN (...) query, well under SQLite's bound-parameter limit


class StoreUnwritable(AdaptlabError):
    """The store could not be opened or written: the disk is full or read-only, or another
    process held the database lock for longer than the busy timeout."""

    def __init__(self, path: Path, error: Exception) -> None:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        hint = (
            "another adaptlab process held it for over a minute; try again when it has finished"
            if "locked" in reason
            else "free some disk space, or pass an --out directory you can write to"
        )
        super().__init__(f"cannot write the run store {path}: {reason}; {hint}")

    @classmethod
    def or_bug(cls, path: Path, error: Exception) -> Exception:
        """This error for what the disk or another process caused (SQLite's messages for a full,
        read-only, unopenable or failing disk, or a held lock); `error` itself for anything else,
        a bug in adaptlab's SQL that must keep its traceback."""
        environment = ("full", "readonly", "unable to open", "disk i/o", "locked")
        if isinstance(error, OSError) or any(cause in str(error).lower() for cause in environment):
            return cls(path, error)
        return error


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class Store:
    """Read and write runs in an ``adaptlab.db`` file.

    >>> with Store.open(Path("runs/adaptlab.db")) as store:
    ...     store.list_runs()
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE), so concurrent
            # writers queue on the database lock instead of failing halfway through a rung.
            self.connection = sqlite3.connect(path, timeout=60, isolation_level=None)
            self.connection.row_factory = sqlite3.Row
            switch_to_wal(self.connection)
            self.connection.execute("PRAGMA synchronous = NORMAL")
            self.connection.execute("PRAGMA foreign_keys = ON")
            self.connection.execute("PRAGMA busy_timeout = 60000")
            migrate(self.connection)
        except (OSError, sqlite3.OperationalError) as error:
            raise StoreUnwritable.or_bug(path, error) from None

    @classmethod
    @contextmanager
    def open(cls, path: Path) -> Iterator[Store]:
        store = cls(path)
        try:
            yield store
        finally:
            store.close()

    def close(self) -> None:
        self.connection.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write, all or nothing. A disk that is full or read-only, or a lock held past the
        busy timeout, becomes a `StoreUnwritable` error for people instead of a traceback."""
        try:
            self.connection.execute("BEGIN IMMEDIATE")
            try:
                yield self.connection
            except BaseException:
                # SQLite may already have rolled back itself (it does on a full disk).
                if self.connection.in_transaction:
                    self.connection.execute("ROLLBACK")
                raise
            self.connection.execute("COMMIT")
        except sqlite3.OperationalError as error:
            raise StoreUnwritable.or_bug(self.path, error) from None

    # -- writing -----------------------------------------------------------------------------

    def start_run(
        self,
        *,
        run_id: str,
        command: str,
        task_name: str,
        task_hash: str,
        model_id: str,
        model_fingerprint: str,
        config: dict[str, Any],
        adaptlab_version: str,
        output_dir: str | None,
    ) -> None:
        """Record a new run as "running" by this process (its pid and host, see `run_list`)."""
        with self.transaction() as db:
            db.execute(
                "INSERT INTO runs (id, command, status, created_at, task_name, task_hash, model_id,"
                " model_fingerprint, config_json, adaptlab_version, output_dir, pid, host)"
                " VALUES (?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    command,
                    utc_now(),
                    task_name,
                    task_hash,
                    model_id,
                    model_fingerprint,
                    json.dumps(config, sort_keys=True),
                    adaptlab_version,
                    output_dir,
                    os.getpid(),
                    socket.gethostname(),
                ),
            )

    def resume_run(self, run_id: str) -> None:
        """Reopen a run that did not finish: it runs again under its id, now by this process,
        and its rungs are recorded afresh (answers and weights come back from the cache and the
        registry)."""
        with self.transaction() as db:
            updated = db.execute(
                "UPDATE runs SET status = 'running', finished_at = NULL, pid = ?, host = ? WHERE id = ?",
                (os.getpid(), socket.gethostname(), run_id),
            ).rowcount
            if not updated:
                raise AdaptlabError(f"no run {run_id} in {self.path}")
            db.execute("DELETE FROM predictions WHERE run_id = ?", (run_id,))
            db.execute("DELETE FROM rung_results WHERE run_id = ?", (run_id,))

    def record_rung(self, run_id: str, result: RungResult) -> None:
        """Store a rung's metrics and all its predictions in one transaction (all or nothing)."""
        data = result.to_dict()
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO rung_results"
                " (run_id, rung, split, strategy_json, model_json, metrics_json, details_json,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    result.rung,
                    result.split,
                    json.dumps(data["strategy"], sort_keys=True),
                    json.dumps(data["model"], sort_keys=True),
                    json.dumps(data["metrics"]),
                    json.dumps(
                        {
                            "training": data["training"],
                            "forgetting": data["forgetting"],
                            "kind": data["kind"],
                            "robustness": data["robustness"],
                            "draws": data["draws"],
                            "retrieval": data["retrieval"],
                        }
                    ),
                    utc_now(),
                ),
            )
            db.executemany(
                "INSERT OR REPLACE INTO predictions (run_id, rung, example_id, input, gold, output, parsed,"
                " correct, compliant, latency_s, prompt_tokens, output_tokens, error, score,"
                " metric_scores_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        run_id,
                        result.rung,
                        p.example_id,
                        p.input,
                        p.gold,
                        p.output,
                        p.parsed,
                        int(p.correct),
                        int(p.compliant),
                        p.latency_s,
                        p.prompt_tokens,
                        p.output_tokens,
                        p.error,
                        p.score,
                        json.dumps(p.metric_scores),
                    )
                    for p in result.predictions
                ],
            )

    def finish_run(self, run_id: str, status: str = "complete", output_dir: str | None = None) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE runs SET status = ?, finished_at = ?, output_dir = COALESCE(?, output_dir)"
                " WHERE id = ?",
                (status, utc_now(), output_dir, run_id),
            )

    def cache_put_many(self, model: str, entries: Sequence[tuple[str, dict[str, Any]]]) -> None:
        """Store answers under their cache keys in one transaction (a batch lands whole or not
        at all, so a killed evaluation never leaves a half-written answer)."""
        now = utc_now()
        with self.transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO eval_cache (key, model, payload_json, created_at)"
                " VALUES (?, ?, ?, ?)",
                [(key, model, json.dumps(payload), now) for key, payload in entries],
            )

    # -- reading -----------------------------------------------------------------------------

    def cache_get_many(self, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The cached answers among `keys` (absent keys are simply missing from the result)."""
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(keys), _SQL_CHUNK):
            chunk = list(keys[start : start + _SQL_CHUNK])
            marks = ", ".join("?" * len(chunk))
            rows = self.connection.execute(
                f"SELECT key, payload_json FROM eval_cache WHERE key IN ({marks})", chunk
            ).fetchall()
            found.update((row["key"], json.loads(row["payload_json"])) for row in rows)
        return found

    def cache_size(self, model: str | None = None) -> int:
        if model is None:
            return self.connection.execute("SELECT COUNT(*) FROM eval_cache").fetchone()[0]
        return self.connection.execute(
            "SELECT COUNT(*) FROM eval_cache WHERE model = ?", (model,)
        ).fetchone()[0]

    def get_run(self, run_id: str) -> dict[str, Any] | None:
        row = self.connection.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        return _run_dict(row) if row else None

    def list_runs(
        self, limit: int | None = 50, *, command: str | None = None, status: str | None = None
    ) -> list[dict[str, Any]]:
        """Runs newest first, at most `limit` (None: all), only those of `command` and `status`
        when given (the stored status: a killed run stays "running"; `run_list` tells)."""
        rows = self.connection.execute(
            "SELECT * FROM runs WHERE (:command IS NULL OR command = :command)"
            " AND (:status IS NULL OR status = :status)"
            " ORDER BY created_at DESC, id DESC LIMIT :limit",
            {"command": command, "status": status, "limit": -1 if limit is None else limit},
        ).fetchall()
        return [_run_dict(row) for row in rows]

    def rung_metrics(self, run_ids: Sequence[str]) -> dict[str, list[tuple[str, dict[str, Any]]]]:
        """Each run's (rung, metrics) in the order they were recorded; runs with none are absent."""
        found: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        for start in range(0, len(run_ids), _SQL_CHUNK):
            chunk = list(run_ids[start : start + _SQL_CHUNK])
            marks = ", ".join("?" * len(chunk))
            rows = self.connection.execute(
                f"SELECT run_id, rung, metrics_json FROM rung_results WHERE run_id IN ({marks})"
                " ORDER BY created_at, rowid",
                chunk,
            ).fetchall()
            for row in rows:
                found.setdefault(row["run_id"], []).append((row["rung"], json.loads(row["metrics_json"])))
        return found

    def rung_results(self, run_id: str) -> list[dict[str, Any]]:
        rows = self.connection.execute(
            "SELECT * FROM rung_results WHERE run_id = ? ORDER BY created_at, rung", (run_id,)
        ).fetchall()
        return [
            {
                "rung": row["rung"],
                "split": row["split"],
                "strategy": json.loads(row["strategy_json"]),
                "model": json.loads(row["model_json"]),
                "metrics": json.loads(row["metrics_json"]),
                **{"kind": "prompt", "training": None, "forgetting": None, "robustness": None, "draws": None},
                **json.loads(row["details_json"] or "{}"),
            }
            for row in rows
        ]

    def predictions(self, run_id: str, rung: str) -> list[dict[str, Any]]:
        rows = self.connection.execute(
            "SELECT * FROM predictions WHERE run_id = ? AND rung = ? ORDER BY rowid", (run_id, rung)
        ).fetchall()
        flags = ("correct", "compliant")
        predictions = []
        for row in rows:
            prediction = {**dict(row), **{flag: bool(row[flag]) for flag in flags}}
            prediction["metric_scores"] = json.loads(prediction.pop("metric_scores_json") or "{}")
            predictions.append(prediction)
        return predictions


WAL_SWITCH_TIMEOUT_S = 60.0


def switch_to_wal(connection: sqlite3.Connection) -> None:
    """``PRAGMA journal_mode = WAL``, retried while another connection holds the lock.

    SQLite can answer "database is locked" at once, without waiting in its busy handler, when
    several connections open a fresh database together and one is switching it to WAL (seen in
    CI as a flaky `test_concurrent_writers_lose_nothing`); waiting a moment and asking again
    works.
    """
    deadline = time.monotonic() + WAL_SWITCH_TIMEOUT_S
    while True:
        try:
            connection.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def migrate(connection: sqlite3.Connection) -> int:
    """Apply every migration newer than the database's ``user_version``; return the new version.

    Each migration runs in its own IMMEDIATE transaction and re-reads the version inside it, so
    two processes opening a fresh database at once apply each migration exactly once.
    """
    while True:
        connection.execute("BEGIN IMMEDIATE")
        try:
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            if version > len(MIGRATIONS):
                raise AdaptlabError(
                    f"the run store was written by a newer adaptlab (schema {version}, this version"
                    f" knows {len(MIGRATIONS)}); upgrade adaptlab or use another --out directory"
                )
            if version == len(MIGRATIONS):
                connection.execute("COMMIT")
                return version
            for statement in MIGRATIONS[version]:
                connection.execute(statement)
            connection.execute(f"PRAGMA user_version = {version + 1}")
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise


def _run_dict(row: sqlite3.Row) -> dict[str, Any]:
    data = dict(row)
    data["config"] = json.loads(data.pop("config_json"))
    return data
