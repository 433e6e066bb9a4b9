"""Each setting is declared once: every config field is an option of its command with the same
default and bounds, every option sets a field (or is one of the command's own few), and the
command line, ``config.yaml``, ``--config`` and ``--resume`` give the same config."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from typer.main import get_command
from typer.testing import CliRunner

from adaptlab.cli import app
from adaptlab.cli.config_options import bounds, config_options, show_value
from adaptlab.configs import EvalConfig, RunConfig, TuneRunConfig
from adaptlab.decide import CostSettings
from adaptlab.serve.settings import ServeSettings
from sample_tasks import write_sentiment_task

runner = CliRunner()
COMMAND_OPTIONS = {"resume", "config_file", "out", "wide", "help"}
"""Options of eval, tune and run that are not settings of the run (where runs live, how wide to
print, where the settings come from)."""


def command_params(name: str) -> dict[str, Any]:
    command = get_command(app).commands[name]  # type: ignore[attr-defined]
    return {param.name: param for param in command.params}


def fields_of(model: type[BaseModel], prefix: str = "") -> dict[str, tuple[FieldInfo, type[BaseModel]]]:
    """Every field, nested settings flattened to ``costs__machine_usd_per_hour``."""
    found = {}
    for name, info in model.model_fields.items():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            found[prefix + name] = (info, model)
            found.update(fields_of(annotation, f"{prefix}{name}__"))
        else:
            found[prefix + name] = (info, model)
    return found


@pytest.mark.parametrize(
    ("command", "model"), [("eval", EvalConfig), ("tune", TuneRunConfig), ("run", RunConfig)]
)
def test_every_config_field_is_an_option_with_its_default_and_bounds(command: str, model: type) -> None:
    params = command_params(command)
    context = get_command(app).make_context(command, [], resilient_parsing=True)  # type: ignore[attr-defined]
    for name, (info, _owner) in fields_of(model).items():
        if name == "costs__prices":
            # A mapping of model → prices: set through the --costs file, as the help says.
            assert "prices" in params["costs"].help
            continue
        if (command, name) == ("run", "model"):
            # `run` takes --model repeated (`models`); `model` is the first of them.
            assert params["models"].opts == ["--model", "-m"]
            continue
        assert name in params, f"{model.__name__}.{name} has no option on `adaptlab {command}`"
        param = params[name]
        default = info.get_default(call_default_factory=True)
        if isinstance(default, BaseModel):
            assert param.default is None and "FILE" in param.get_help_record(context)[0]
            continue
        if name == "task":
            assert param.param_type_name == "argument"
            continue
        help_text = " ".join(param.get_help_record(context)[1].split())
        if isinstance(default, list | tuple):
            # List options are read as comma-separated text: the model's default is shown.
            assert param.default is None
            if default:
                assert f"default: {','.join(map(str, default))}" in help_text
        elif default is None:
            assert param.default is None
        else:
            assert param.default == default
            option = next(o for o in config_options(model) if o.parameter == name)
            assert f"default: {show_value(default, option)}" in help_text
        for bound in bounds(info):
            assert bound in help_text, f"--{name}: bound {bound} is not in its help"


@pytest.mark.parametrize(
    ("command", "model"), [("eval", EvalConfig), ("tune", TuneRunConfig), ("run", RunConfig)]
)
def test_every_option_sets_a_config_field_or_is_the_commands_own(command: str, model: type) -> None:
    fields = set(fields_of(model))
    for name in command_params(command):
        assert name in fields or name in COMMAND_OPTIONS or name == "adaptlab_context", name


def test_serve_limits_are_the_settings_fields() -> None:
    params = command_params("serve")
    for name, info in ServeSettings.model_fields.items():
        if name == "token":
            continue  # from --token-env / --token, never shown
        assert params[name].default == info.default


def test_a_value_out_of_bounds_names_the_option_and_writes_nothing(tmp_path: Path) -> None:
    task = write_sentiment_task(tmp_path / "t.jsonl", repeat=2)
    out = tmp_path / "runs"
    for args, message in [
        (["--limit", "0"], "--limit 0: must be at least 1"),
        (["--epochs", "0"], "--epochs 0.0: must be more than 0"),
        (["--fractions", "0.5,0.5"], "--fractions 0.5,0.5: must be three shares, e.g. 0.6,0.1,0.3"),
        (["--split", "train"], "--split train: tuned rungs learn from the train split"),
        (["--machine-usd-per-hour", "-1"], "--machine-usd-per-hour -1.0: must be at least 0"),
        (["--mode", "half"], "'half' is not one of 'lora', 'full'"),
    ]:
        result = runner.invoke(app, ["run", str(task), "--out", str(out), *args])
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output, (args, result.output)
    assert not out.exists()


def test_a_task_is_needed_unless_a_config_or_a_run_to_resume_is_given(tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "give a TASK (a task file or bundled task name), --config FILE or --resume RUN_ID" in result.stderr
    result = runner.invoke(app, ["validate"])
    assert result.exit_code == 2
    assert "adaptlab: give a TASK: a .jsonl / .csv / .tsv file, a task .yaml, or a bundled task name" in (
        result.stderr
    )


def run_folder(out: Path) -> Path:
    (folder,) = [p for p in out.iterdir() if p.is_dir() and p.name != "adapters"]
    return folder


def test_config_yaml_and_the_command_line_are_equivalent(tmp_path: Path, tiny_model_dir: Path) -> None:
    """A run's config.yaml re-run with --config gives the same config; options beside it win."""
    task = write_sentiment_task(tmp_path / "t.jsonl", repeat=2)
    first_out, second_out = tmp_path / "a", tmp_path / "b"
    args = ["-m", str(tiny_model_dir), "--max-new-tokens", "2", "--consistency-sample", "0"]
    args += ["--robustness-sample", "0", "--labels", "negative,neutral,positive", "--seed", "3"]
    first = runner.invoke(app, ["eval", str(task), *args, "--out", str(first_out)])
    assert first.exit_code == 0, first.output
    config_file = run_folder(first_out) / "config.yaml"
    stored = yaml.safe_load(config_file.read_text())
    assert stored["labels"] == ["negative", "neutral", "positive"] and stored["seed"] == 3
    assert EvalConfig.model_validate(stored).model_dump(mode="json") == stored

    again = runner.invoke(
        app, ["eval", "--config", str(config_file), "--limit", "4", "--out", str(second_out)]
    )
    assert again.exit_code == 0, again.output
    rerun = yaml.safe_load((run_folder(second_out) / "config.yaml").read_text())
    assert rerun == {**stored, "limit": 4}


def test_resume_takes_the_stored_settings_and_refuses_new_ones(tmp_path: Path) -> None:
    result = runner.invoke(app, ["eval", "--resume", "20261128-101500-3fa9c1", "--limit", "3"])
    assert result.exit_code == 2
    assert (
        "--resume 20261128-101500-3fa9c1 finishes the run with the settings stored for it; drop --limit"
        in (result.stderr)
    )


def test_costs_file_then_single_cost_options_on_top(tmp_path: Path) -> None:
    from adaptlab.cli.config_options import ConfigRequest

    costs = tmp_path / "costs.yaml"
    costs.write_text("machine_usd_per_hour: 2.0\nlabelling_usd_per_example: 0.5\n")
    options = config_options(RunConfig)
    values: dict[str, Any] = {o.parameter: None for o in options}
    values |= {"task": "tweet-sentiment", "costs": costs, "costs__machine_usd_per_hour": 3.5}
    request = ConfigRequest(
        RunConfig, options, values, frozenset({"task", "costs", "costs__machine_usd_per_hour"})
    )
    config = request.build()
    assert config.costs == CostSettings(machine_usd_per_hour=3.5, labelling_usd_per_example=0.5)


def test_every_config_round_trips_through_json() -> None:
    for config in (EvalConfig(task="t"), TuneRunConfig(task="t"), RunConfig(task="t")):
        assert type(config).model_validate(json.loads(config.model_dump_json())) == config
