from pathlib import Path

import pytest

from adaptlab.decide import CostSettings, load_cost_settings
from adaptlab.errors import UsageError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "costs.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_cost_settings_are_read_from_yaml(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "machine_usd_per_hour: 2.5\n"
        "labelling_usd_per_example: 0.1\n"
        "expected_requests: 50000\n"
        "prices:\n"
        "  my-hosted-model: {input_usd_per_million: 0.5, output_usd_per_million: 2}\n",
    )

    settings = load_cost_settings(path)

    assert settings.machine_usd_per_hour == 2.5
    assert settings.expected_requests == 50_000
    assert settings.prices["my-hosted-model"].output_usd_per_million == 2.0
    assert settings.value_per_correct_usd == 0.0


def test_an_empty_file_means_the_defaults(tmp_path: Path) -> None:
    assert load_cost_settings(write(tmp_path, "# nothing set yet\n")) == CostSettings()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("machine_usd_per_hour: [1\n", "line 2: invalid YAML"),
        (
            "machine_usd_per_hr: 2\n",
            'line 1: unknown key "machine_usd_per_hr" (did you mean "machine_usd_per_hour"?)',
        ),
        (
            "prices:\n  m: {input_usd_per_million: 1, output_usd_per_million: 2, cached: 1}\n",
            'line 2: unknown key "cached" in prices.m',
        ),
        ("prices:\n  m: {input_usd_per_million: 1}\n", "prices.m.output_usd_per_million: Field required"),
        (
            "machine_usd_per_hour: two dollars\n",
            "line 1: machine_usd_per_hour: Input should be a valid number",
        ),
        (
            "labelling_usd_per_example: -1\n",
            "labelling_usd_per_example: Input should be greater than or equal to 0",
        ),
        ("- 1.0\n", "must be a mapping of keys"),
    ],
)
def test_a_bad_cost_file_is_reported_with_its_name(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)

    with pytest.raises(UsageError) as raised:
        load_cost_settings(path)

    assert str(raised.value).startswith(str(path))
    assert message in str(raised.value)


def test_a_missing_cost_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"nowhere\.yaml: cannot read the cost settings"):
        load_cost_settings(tmp_path / "nowhere.yaml")
