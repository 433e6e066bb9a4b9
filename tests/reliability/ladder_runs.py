"""`adaptlab run` in subprocesses (through `driver.py`), and checks of what they left behind.

The reliability tests compare runs by what they measured, not when or where: `measured` keeps
rung names, kinds, prompts, every prediction's output, parsed answer and correctness, the
metrics that are not timings, the training keys and steps, what was skipped and the decision.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DRIVER = Path(__file__).with_name("driver.py")

ASKED = (
    *("-s", "zero-shot,few-shot-random-4,label-scoring", "--limit", "6", "--batch-size", "1"),
    *("--consistency-sample", "2", "--robustness-sample", "1"),
)
"""Three prompt rungs, with consistency and robustness probes, in answer batches of one: every
four answers are a cache commit of their own (two dozen per run, so kills land between them),
and each answer is independent of what else is in its batch, so a resumed run asks the model
exactly what an uninterrupted one would."""

PROMPT_LADDER = (*ASKED, "--no-tune")

TUNED_LADDER = (
    *ASKED,
    *("--sizes", "4,8", "--epochs", "1", "--train-batch-size", "2", "--checkpoint-steps", "1"),
    "--no-forgetting",
)
"""The same prompt rungs, then the other phases: a two-size learning curve checkpointed at each
of its 2 + 4 steps, and a hybrid rung (the best prompt rung asked of the last tuned model)."""

TIMING_METRICS = {"latency_p50_s", "latency_p95_s", "examples_per_s", "wall_time_s", "cache_hits"}
PREDICTION_FIELDS = ("example_id", "input", "gold", "output", "parsed", "correct", "compliant", "error")
TRAINING_FIELDS = ("examples", "key", "targets", "steps", "epochs", "dev_losses", "best_dev_loss")
RUN_FILES = {"results.json", "predictions.jsonl", "config.yaml", "report.html"}
WEIGHTS_FILES = {"manifest.json", "adapter_model.safetensors"}


@dataclass
class Runs:
    """A runs directory (``--out``) shared by every life of the runs a test makes, and the log
    of the cache keys they committed (see `driver.py`)."""

    root: Path
    task: Path
    model: Path

    @property
    def out(self) -> Path:
        return self.root / "runs"

    @property
    def log(self) -> Path:
        return self.root / "cache-keys.log"

    def command(self, args: Sequence[str]) -> list[str]:
        args = list(args)
        if args[:1] == ["run"] and "--resume" not in args:
            args[1:1] = [str(self.task), "--model", str(self.model)]
        return [sys.executable, str(DRIVER), *args, "--out", str(self.out)]

    def adaptlab(
        self, *args: str, kill: str = "", prefix: Sequence[str] = (), env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """``adaptlab ARGS --out RUNS`` (``run`` gets the task and model), killed at `kill`,
        started through `prefix` (a command that runs its arguments) with `env` added."""
        return subprocess.run(
            [*prefix, *self.command(args)],
            capture_output=True,
            text=True,
            timeout=300,
            env=self.env(kill) | (env or {}),
        )

    def start(self, *args: str, kill: str = "") -> subprocess.Popen[str]:
        """The same in the background, its output in a ``life-N.out`` file under the root."""
        self.root.mkdir(parents=True, exist_ok=True)
        lives = len(list(self.root.glob("life-*.out")))
        with (self.root / f"life-{lives}.out").open("w") as sink:
            return subprocess.Popen(
                self.command(args), stdout=sink, stderr=subprocess.STDOUT, text=True, env=self.env(kill)
            )

    def env(self, kill: str) -> dict[str, str]:
        return {
            **os.environ,
            "RELIABILITY_LOG": str(self.log),
            "RELIABILITY_KILL": kill,
            # One thread each: faster for tiny models on a small machine, and two runs at once
            # do not fight over the cores.
            "OMP_NUM_THREADS": "1",
            "CUDA_VISIBLE_DEVICES": "",
            "COLUMNS": "200",
        }

    def run_rows(self) -> list[dict[str, Any]]:
        if not (self.out / "adaptlab.db").exists():
            return []
        with sqlite3.connect(self.out / "adaptlab.db") as db:
            db.row_factory = sqlite3.Row
            return [dict(row) for row in db.execute("SELECT * FROM runs ORDER BY created_at, id")]

    def only_run(self) -> dict[str, Any]:
        (row,) = self.run_rows()
        return row

    def results(self, run_id: str) -> dict[str, Any]:
        return json.loads((self.out / run_id / "results.json").read_text(encoding="utf-8"))

    def keys_stored(self) -> Counter[str]:
        """How many times each cache key was committed, over every process of this root."""
        return Counter(self.log.read_text(encoding="utf-8").split() if self.log.exists() else [])

    def keys_stored_twice(self) -> dict[str, int]:
        return {key: n for key, n in self.keys_stored().items() if n > 1}


def measured(results: dict[str, Any]) -> dict[str, Any]:
    """What a run measured and decided, without timings, timestamps, ids and paths."""
    rungs = []
    for rung in results["rungs"]:
        training = rung["training"]
        rungs.append(
            {
                "rung": rung["rung"],
                "kind": rung["kind"],
                "split": rung["split"],
                "strategy": rung["strategy"],
                "metrics": {k: v for k, v in rung["metrics"].items() if k not in TIMING_METRICS},
                "predictions": [{f: p[f] for f in PREDICTION_FIELDS} for p in rung["predictions"]],
                "training": training and {f: training[f] for f in TRAINING_FIELDS},
                "robustness": rung["robustness"],
            }
        )
    decision = results["decision"]
    return {
        "task": results["task"],
        "baseline": results["baseline"],
        "rungs": rungs,
        "skipped": results["skipped"],
        "decision": {
            key: decision[key]
            for key in ("recommendation", "rung", "best_prompt", "best_tuned", "tuning_gain")
        },
    }


def problems_on_disk(out: Path) -> list[str]:
    """What a crash must never leave in a runs directory: published JSON that does not parse, a
    run folder without its four files, a registry entry without its weights, a database that
    fails its integrity check. Hidden paths (staging folders, training checkpoints) are work in
    progress, which a resumed run finishes or replaces."""
    if not out.exists():
        return []
    found = []
    for path in out.rglob("*"):
        if any(part.startswith(".") for part in path.relative_to(out).parts):
            continue
        if path.suffix == ".json":
            try:
                json.loads(path.read_text(encoding="utf-8"))
            except ValueError as error:
                found.append(f"{path}: {error}")
        expected = finished_files(out, path)
        if expected and (missing := expected - {p.name for p in path.iterdir()}):
            found.append(f"{path}: looks finished but lacks {sorted(missing)}")
    if (out / "adaptlab.db").exists():
        with sqlite3.connect(out / "adaptlab.db") as db:
            verdict = db.execute("PRAGMA integrity_check").fetchone()[0]
        if verdict != "ok":
            found.append(f"adaptlab.db: {verdict}")
    return found


def finished_files(out: Path, path: Path) -> set[str]:
    """The files `path` must hold if it is a published run folder or registry entry."""
    if path.is_dir() and path.parent == out and path.name[:1].isdigit():
        return RUN_FILES
    if path.is_dir() and path.parent == out / "adapters":
        return WEIGHTS_FILES
    return set()


def store_matches_results(out: Path, run_id: str) -> None:
    """Every rung and prediction of the run's results.json is in the store, and nothing else."""
    results = json.loads((out / run_id / "results.json").read_text(encoding="utf-8"))
    with sqlite3.connect(out / "adaptlab.db") as db:
        rungs = dict(db.execute("SELECT rung, 0 FROM rung_results WHERE run_id = ?", (run_id,)).fetchall())
        predictions = Counter(
            rung for (rung,) in db.execute("SELECT rung FROM predictions WHERE run_id = ?", (run_id,))
        )
        (status,) = db.execute("SELECT status FROM runs WHERE id = ?", (run_id,)).fetchone()
    assert status == "complete"
    assert set(rungs) == {rung["rung"] for rung in results["rungs"]}
    assert predictions == Counter({rung["rung"]: len(rung["predictions"]) for rung in results["rungs"]})
