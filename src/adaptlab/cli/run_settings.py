"""What ``eval``, ``tune`` and ``run`` share: where a run's settings come from — the command
line, a ``config.yaml`` (``--config``) with options on top, or the store, for ``--resume`` —
equivalent by construction, since the same config model validates all three; and the options
around them (the runs directory, ``--wide``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from pydantic import BaseModel

from adaptlab.cli.app import command
from adaptlab.cli.common import ConfigFileOpt, ResumeOpt, RunsDirOpt, WideOpt
from adaptlab.cli.config_options import ConfigRequest, takes_config
from adaptlab.errors import UsageError
from adaptlab.paths import DEFAULT_RUNS_DIR

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class RunRequest(Generic[M]):
    """One invocation of a command that makes a run: its settings, checked, and where to work."""

    config: M
    out: Path
    wide: bool
    resume: str | None
    """The id of the run to finish, or None for a new run."""


Body = Callable[[RunRequest[M]], None]


def run_command(name: str, model: type[M], *, exclude: tuple[str, ...] = ()) -> Callable[[Body[M]], Body[M]]:
    """Register `adaptlab name`, a command that makes a run of `model`'s settings: one option
    per setting, plus ``--resume``, ``--config``, ``--out`` and ``--wide``. The decorated
    function gets a `RunRequest` whose rung names are already checked (before a model loads)."""

    def register(body: Body[M]) -> Body[M]:
        def invoke(
            config: ConfigRequest[M],
            resume: ResumeOpt = None,
            config_file: ConfigFileOpt = None,
            out: RunsDirOpt = DEFAULT_RUNS_DIR,
            wide: WideOpt = False,
        ) -> None:
            from adaptlab.runs import rung_names

            settings = chosen_config(config, command=name, resume=resume, config_file=config_file, out=out)
            rung_names(settings)  # type: ignore[arg-type]
            body(RunRequest(settings, out, wide, resume))

        invoke.__doc__ = body.__doc__
        command(name)(takes_config(model, exclude=exclude)(invoke))
        return body

    return register


def chosen_config(
    request: ConfigRequest[M], *, command: str, resume: str | None, config_file: Path | None, out: Path
) -> M:
    """The config of this invocation of `adaptlab command`."""
    if resume is not None:
        if config_file is not None or request.given:
            extra = ["--config"] if config_file is not None else []
            raise UsageError(
                f"--resume {resume} finishes the run with the settings stored for it; drop"
                f" {', '.join([*extra, *request.given_flags()])}"
            )
        return stored_config(request.model, resume, out, command)
    if config_file is not None:
        return request.build(load_run_config(request.model, config_file).model_dump())
    if "task" not in request.given:
        raise UsageError("give a TASK (a task file or bundled task name), --config FILE or --resume RUN_ID")
    return request.build()


def stored_config(model: type[M], run_id: str, out: Path, command: str) -> M:
    """The config of run `run_id` from the store, for ``--resume`` (refused once it finished,
    or when another command made it)."""
    from adaptlab.runs import REPORT_FILENAME
    from adaptlab.store import DB_FILENAME, Store

    if not (out / DB_FILENAME).exists():
        raise UsageError(f"no run store at {out / DB_FILENAME}: pass the --out directory the run used")
    with Store.open(out / DB_FILENAME) as store:
        run = store.get_run(run_id)
    if run is None:
        raise UsageError(f"no run {run_id} in {out / DB_FILENAME}; `adaptlab runs --out {out}` lists them")
    if run["command"] != command:
        raise UsageError(
            f"run {run_id} was made by `adaptlab {run['command']}`; resume it with"
            f" `adaptlab {run['command']} --resume {run_id}`"
        )
    if run["status"] == "complete" and (out / run_id).is_dir():
        raise UsageError(
            f"run {run_id} is complete: its report is {out / run_id / REPORT_FILENAME}"
            f" (`adaptlab report {run_id}` rebuilds it)"
        )
    return model.model_validate(run["config"])


def load_run_config(model: type[M], path: Path) -> M:
    """A run's ``config.yaml`` as `model`, with every problem on its file and line (the reader
    shared with task specs and cost settings: bad bytes, bad YAML and bad values alike)."""
    from adaptlab.data.yaml_file import load_settings

    return load_settings(model, path, "run config")
