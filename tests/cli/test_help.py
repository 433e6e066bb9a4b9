"""``--help`` reads well at 80 columns, and the command reference in docs/ is the code's own."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from adaptlab.cli import app

ROOT = Path(__file__).resolve().parents[2]
COMMANDS = sorted(get_command(app).commands)  # type: ignore[attr-defined]
runner = CliRunner()


def help_of(command: str, width: int = 80) -> str:
    result = runner.invoke(app, [command, "--help"], terminal_width=width, env={"COLUMNS": str(width)})
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("command", COMMANDS)
def test_help_fits_80_columns_with_a_wide_description_column(command: str) -> None:
    """The old boxed help squeezed each description into a column of a word or two: here every
    description starts by column 36, leaving it 44 columns or more, and no line is cut."""
    text = help_of(command)
    lines = text.splitlines()
    assert max(map(len, lines)) <= 80, command
    options = [line for line in lines if line.startswith("  -") or line.startswith("      ")]
    assert options, f"no options in the help of {command}"
    for line in lines:
        stripped = line.lstrip()
        indent = len(line) - len(stripped)
        if line.startswith("  ") and not stripped.startswith("-") and indent > 4:
            assert indent <= 36, f"{command}: description starts at column {indent}: {line!r}"
    assert "Example" in text, f"{command} --help has no example"


def test_help_groups_options_by_the_settings_they_set() -> None:
    text = help_of("run")
    sections = [
        line[:-1] for line in text.splitlines() if line and not line[0].isspace() and line.endswith(":")
    ]
    assert sections == [
        "Arguments",
        "Task",
        "Scoring",
        "Model",
        "Evaluation",
        "Retrieval",
        "Selection",
        "Training",
        "Budget and costs",
        "Several models",
        "Ladder",
        "Options",
    ]
    flat = " ".join(text.split())
    assert "--tune / --no-tune" in flat and "--lr NUMBER" in flat and "[default: 3.0; x>0]" in flat


def test_export_help_shows_its_real_default_folder() -> None:
    text = "".join(help_of("export").split())  # click may wrap the path at a hyphen
    assert "/export/-" not in text
    assert (
        "[default:therunfolder'sexport/RUNG-FORMAT,e.g.runs/20261128-101500-3fa9c1/export/lora-80-peft]"
        in text
    )


def test_the_command_reference_is_the_code_s_own_help() -> None:
    check = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "cli_reference.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stderr


def test_the_readme_lists_every_command() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Command reference", 1)[1].split("\n## ", 1)[0]
    listed = sorted(
        line.split("`")[1].split()[1] for line in section.splitlines() if line.startswith("| `adaptlab ")
    )
    assert listed == COMMANDS
