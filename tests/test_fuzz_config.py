"""Fuzzing the settings files people write: a run's ``config.yaml`` (``adaptlab run --config``)
and cost settings (``--costs costs.yaml``). Either the file loads as its pydantic model, or a
`UsageError` says what is wrong, every line of it naming the file and, for a damaged line, that
line — never a traceback, and never an object built from a ``!!python`` tag.

Budgets scale with the Hypothesis profile (`fuzzing.cases`, `tests/conftest.py`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from typer.testing import CliRunner

from adaptlab.cli import app
from adaptlab.cli.run_settings import load_run_config
from adaptlab.configs import RunConfig
from adaptlab.decide import CostSettings, load_cost_settings
from adaptlab.decide.costs import TokenPrice
from adaptlab.errors import UsageError
from fuzzing import (
    EMPTY_YAML,
    cases,
    hostile_text,
    json_values,
    message_lines,
    mutated,
    odd_yaml_documents,
    utf8,
    yaml_with_one_bad_line,
)

COSTS = CostSettings(
    machine_usd_per_hour=2.5,
    labelling_usd_per_example=0.1,
    value_per_correct_usd=0.01,
    expected_requests=50_000,
    prices={"my-model": TokenPrice(input_usd_per_million=0.5, output_usd_per_million=2.0)},
)
CONFIG = RunConfig(
    task="tweet-sentiment", strategies=["zero-shot", "few-shot-4"], sizes=[25, 50], costs=COSTS
)


def lines_of(settings: BaseModel) -> tuple[str, ...]:
    """The settings as one ``key: value`` line each (JSON values are YAML flow values), so
    that damaging one line damages one setting. Built from the model itself, so that settings
    added later are fuzzed too."""
    return tuple(f"{key}: {json.dumps(value)}" for key, value in settings.model_dump(mode="json").items())


Loader = Callable[[Path], BaseModel]
KINDS: dict[str, tuple[BaseModel, Loader]] = {
    "costs": (COSTS, load_cost_settings),
    "config": (CONFIG, lambda path: load_run_config(RunConfig, path)),
}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz-config")


def write(folder: Path, data: bytes) -> Path:
    path = folder / "settings.yaml"
    path.write_bytes(data)
    return path


def load(kind: str, path: Path) -> BaseModel | UsageError:
    """Load `path` as settings of `kind`; return the model, or the clean error after checking
    that each line of its message names the file. Any other exception is the bug we look for."""
    model, loader = KINDS[kind]
    try:
        loaded = loader(path)
    except UsageError as error:
        message_lines(str(error), str(path))
        str(error).encode("utf-8")
        return error
    assert isinstance(loaded, type(model))
    return loaded


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_the_undamaged_files_load_as_written(folder: Path, kind: str) -> None:
    model, _ = KINDS[kind]
    assert load(kind, write(folder, ("\n".join(lines_of(model)) + "\n").encode())) == model
    assert load(kind, write(folder, yaml.safe_dump(model.model_dump(mode="json")).encode())) == model


@pytest.mark.parametrize("kind", sorted(KINDS))
@settings(max_examples=cases(50))
@given(data=st.data())
def test_a_settings_file_with_one_bad_line_fails_on_that_line(
    folder: Path, kind: str, data: st.DataObject
) -> None:
    marker = folder / "constructed"
    case = data.draw(yaml_with_one_bad_line(lines_of(KINDS[kind][0]), str(marker)))
    result = load(kind, write(folder, case.data))
    assert not marker.exists(), "a !!python tag constructed an object"
    if case.line is not None:
        assert isinstance(result, UsageError), case.kind
        lines = set(message_lines(str(result), str(folder / "settings.yaml")))
        assert lines - {None} == {case.line}, case.kind


@pytest.mark.parametrize("kind", sorted(KINDS))
@settings(max_examples=cases(20))
@given(document=odd_yaml_documents)
def test_a_settings_file_that_is_not_a_mapping_fails_cleanly(
    folder: Path, kind: str, document: bytes
) -> None:
    result = load(kind, write(folder, document))
    if kind == "config" or document not in EMPTY_YAML:  # empty cost settings are the defaults
        assert isinstance(result, UsageError)


@pytest.mark.parametrize("kind", sorted(KINDS))
@settings(max_examples=cases(30))
@given(data=st.data())
def test_damaged_settings_files_load_or_fail_cleanly(folder: Path, kind: str, data: st.DataObject) -> None:
    model = KINDS[kind][0]
    one_per_line = ("\n".join(lines_of(model)) + "\n").encode()
    as_saved = yaml.safe_dump(model.model_dump(mode="json")).encode()
    written = data.draw(st.sampled_from([one_per_line, as_saved]))
    load(kind, write(folder, data.draw(mutated(written))))


def setting_values(model: BaseModel) -> st.SearchStrategy[dict[Any, Any]]:
    """Documents mixing real keys (mostly) with others, each holding any YAML value."""
    keys = st.sampled_from(sorted(type(model).model_fields)) | hostile_text
    values = json_values | st.dictionaries(
        st.sampled_from(sorted(CostSettings.model_fields)), json_values, max_size=3
    )
    return st.dictionaries(keys, values, max_size=4)


@pytest.mark.parametrize("kind", sorted(KINDS))
@settings(max_examples=cases(30))
@given(data=st.data())
def test_settings_of_any_shape_load_or_fail_cleanly(folder: Path, kind: str, data: st.DataObject) -> None:
    model = KINDS[kind][0]
    document = data.draw(setting_values(model)) | data.draw(st.just({}) | st.just({"task": "t.jsonl"}))
    flow = data.draw(st.sampled_from([None, True, False]))
    text = yaml.safe_dump(document, allow_unicode=data.draw(st.booleans()), default_flow_style=flow)
    load(kind, write(folder, utf8(text)))


# -- the command line ------------------------------------------------------------------------------

runner = CliRunner()


@pytest.mark.parametrize(
    ("kind", "arguments"), [("config", ["run", "--config"]), ("costs", ["run", "missing.jsonl", "--costs"])]
)
@settings(max_examples=cases(5))
@given(data=st.data())
def test_run_reports_a_bad_settings_file_without_a_traceback(
    folder: Path, kind: str, arguments: list[str], data: st.DataObject
) -> None:
    damaged = yaml_with_one_bad_line(lines_of(KINDS[kind][0]), str(folder / "constructed"))
    case = data.draw(damaged.filter(lambda case: case.line is not None))
    path = write(folder, case.data)
    result = runner.invoke(app, [*arguments, str(path), "--out", str(folder / "runs")])
    assert isinstance(result.exception, SystemExit) and result.exit_code == 2, result.exception
    assert "Traceback" not in result.output
    assert result.stderr.startswith(f"adaptlab: {path}")
    assert f"{path} line {case.line}:" in result.stderr
