"""Run the real ``adaptlab`` command line with fault points, for the reliability tests.

Usage: ``python tests/reliability/driver.py run TASK --model ... --out RUNS`` (any adaptlab
arguments). Nothing in adaptlab knows about this script: it patches a few functions, then calls
`adaptlab.cli.main()` exactly as the console script does. Set in the environment:

``RELIABILITY_LOG``
    A file every answer committed to the result cache appends its key to (one per line, written
    and fsynced after the store's commit). A key found twice in it, across every life of a run,
    is an answer that was stored, then computed and stored again.
``RELIABILITY_KILL``
    Where this process kills itself with SIGKILL (as ``kill -9`` would):

    * ``cache:N`` after the Nth batch of answers is committed to the result cache;
    * ``step:N`` at the end of the Nth optimizer step (counted over every training it runs);
    * ``checkpoint:N`` while saving the Nth checkpoint: its weights are written, its optimizer
      state and ``trainer_state.json`` are not;
    * ``write:NAME`` halfway through writing a file called NAME (``report.html``: half of the
      report is on disk in a temporary file beside it);
    * ``published`` once the run directory is renamed into place, before the store records the
      run complete.
"""

from __future__ import annotations

import os
import signal
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

LOG = os.environ.get("RELIABILITY_LOG")
KILL = os.environ.get("RELIABILITY_KILL", "")
WHERE, _, ARGUMENT = KILL.partition(":")


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def patch_cache() -> None:
    from adaptlab.evaluation.cache import ResultCache

    original = ResultCache.put_many
    commits = 0

    def put_many(self: ResultCache, entries: Sequence[tuple[str, Any]]) -> None:
        nonlocal commits
        original(self, entries)
        if LOG:
            with open(LOG, "a", encoding="utf-8") as log:
                log.write("".join(f"{key}\n" for key, _ in entries))
                log.flush()
                os.fsync(log.fileno())
        commits += 1
        if WHERE == "cache" and commits == int(ARGUMENT):
            die()

    ResultCache.put_many = put_many  # type: ignore[method-assign]


def patch_training() -> None:
    from transformers import TrainerCallback

    from adaptlab.tuning import sft

    original = sft.build_trainer
    steps = 0

    class KillAtStep(TrainerCallback):
        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            nonlocal steps
            steps += 1
            if steps == int(ARGUMENT):
                die()

    def build_trainer(*args: Any, **kwargs: Any) -> Any:
        prepared = original(*args, **kwargs)
        prepared.trainer.add_callback(KillAtStep())
        return prepared

    sft.build_trainer = build_trainer


def patch_checkpoints() -> None:
    from transformers import Trainer

    saves = 0

    def save_optimizer_and_scheduler(self: Trainer, output_dir: str) -> None:
        nonlocal saves
        saves += 1
        if saves == int(ARGUMENT):
            die()
        original(self, output_dir)

    original = Trainer._save_optimizer_and_scheduler
    Trainer._save_optimizer_and_scheduler = save_optimizer_and_scheduler  # type: ignore[method-assign]


def patch_writes() -> None:
    from adaptlab import files

    original = files.atomic_write_bytes

    def atomic_write_bytes(path: Path, data: bytes) -> None:
        if path.name != ARGUMENT:
            original(path, data)
            return
        fd, _ = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.write(fd, data[: len(data) // 2])
        os.fsync(fd)
        die()

    files.atomic_write_bytes = atomic_write_bytes


def patch_publish() -> None:
    from adaptlab.store import Store

    original = Store.finish_run

    def finish_run(self: Store, run_id: str, status: str = "complete", output_dir: str | None = None) -> None:
        if status == "complete":
            die()
        original(self, run_id, status, output_dir)

    Store.finish_run = finish_run  # type: ignore[method-assign]


def main() -> None:
    patch_cache()
    if WHERE == "step":
        patch_training()
    elif WHERE == "checkpoint":
        patch_checkpoints()
    elif WHERE == "write":
        patch_writes()
    elif WHERE == "published":
        patch_publish()
    elif WHERE not in ("", "cache"):
        raise SystemExit(f"driver: unknown RELIABILITY_KILL {KILL!r}")
    from adaptlab.cli import main as adaptlab_main

    sys.argv = ["adaptlab", *sys.argv[1:]]
    adaptlab_main()


if __name__ == "__main__":
    main()
