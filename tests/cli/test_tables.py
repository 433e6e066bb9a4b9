"""Every console table stays readable at any width.

On a terminal a table fits: it hides its least decision-critical columns (and says which), then
stacks each row as a block, and never cuts a figure or a header. To a file, a pipe or a CI log it
is printed whole, at its natural width. The fake results below are written as the strings the
tables must show; the numbers the code formats are parsed back from them.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from rich.cells import cell_len
from rich.console import Console

from adaptlab.cli.model_choice import print_configuration_table, print_models_outcome
from adaptlab.cli.tables import (
    Column,
    print_comparison,
    print_fitted_table,
    print_rung_table,
    print_task_summary,
    print_training_table,
)
from adaptlab.data import Example, LengthStats, Task, TaskSplit, TaskSummary, describe_task
from adaptlab.evaluation.result import Metrics, RungKind, RungResult
from adaptlab.runs import RunOutcome
from model_runs import large, parent_payload, settings, small, student, three_models
from model_runs import run as model_run
from model_runs import rung as model_rung

WIDTHS = (30, 60, 80, 160)

RUNG_HEADERS = ("rung", "accuracy (95% CI)", "F1", "fmt", "cons", "inj", "p50 s", "p95 s", "in", "out")
RUNGS = [
    row.split()
    for row in """
    zero-shot                      17.5%   10.0–26.2    0.31   91%   20%   60%    8.00   12.30    90   1.0
    few-shot-random-4              55.0%   43.8–66.2    0.52  100%   50%   60%    5.10    9.00   257   1.0
    few-shot-knn-4                 71.2%   61.3–81.2    0.61  100%   70%   30%   20.60   31.20   254   1.0
    label-scoring                  13.8%   6.2–21.2        –  100%     –     –    4.10    4.40    90   0.0
    lora-20                        57.5%   46.2–68.8    0.37  100%  100%   60%    3.70    4.02    90   1.0
    lora-40                        58.8%   47.5–68.8    0.40  100%     –   70%    3.60    3.90    90   1.0
    lora-80                        65.0%   55.0–75.0    0.58  100%   80%   60%    3.90    4.20    90   1.0
    lora-80+few-shot-knn-4         75.0%   65.0–83.8    0.71   98%   50%   40%   17.20   22.80   254   1.3
    distill-lora-40                58.8%   47.5–70.0    0.44  100%   50%   90%    4.70    5.10    90   1.0
    lora-10000+few-shot-random-16 100.0% 100.0–100.0    1.00  100%  100%    0%  123.45  234.56  1024  12.5
    """.strip().splitlines()
]
"""The rung table as it must read (rung, accuracy, 95% CI, then one figure per header): what
`adaptlab demo` measured, and a hybrid with the longest name a ladder makes."""

TRAINING_HEADERS = ("rung", "n", "steps", "s", "tok/s", "MiB", "dev", "agree", "Δ ref")
TRAINING = {
    # rung: n, steps, s, tok/s, MiB, dev, agree, Δ ref
    "lora-20": ("20", "15", "49", "155", "3297", "–", "–", "–"),
    "lora-40": ("40", "30", "73", "158", "3297", "0.612", "97%", "-1"),
    "lora-80": ("80", "60", "126", "160", "3301", "0.433", "93%", "-2"),
    "lora-80+few-shot-knn-4": ("80", "60", "126", "160", "3301", "0.433", "93%", "-2"),
    "distill-lora-40": ("40", "30", "71", "151", "3299", "0.587", "88%", "+1"),
    "lora-10000+few-shot-random-16": ("10000", "7500", "10432", "1543", "12034", "0.111", "100%", "+0"),
}
REUSED = {"lora-80+few-shot-knn-4", "lora-10000+few-shot-random-16"}


def number(cell: str) -> float | None:
    return None if cell == "–" else float(cell.rstrip("%")) / (100 if cell.endswith("%") else 1)


def rung_result(row: Sequence[str]) -> RungResult:
    name, accuracy, interval, f1, fmt, cons, inj, p50, p95, prompt, output = row
    low, high = (float(bound) / 100 for bound in interval.split("–"))
    metrics = Metrics(
        n=80,
        metric="accuracy",
        metric_display="accuracy",
        score=number(accuracy) or 0.0,
        score_low=low,
        score_high=high,
        macro_f1=number(f1),
        format_compliance=number(fmt) or 0.0,
        parse_failures=0,
        latency_p50_s=float(p50),
        latency_p95_s=float(p95),
        prompt_tokens_mean=float(prompt),
        output_tokens_mean=float(output),
        examples_per_s=0.3,
        wall_time_s=240.0,
        consistency=number(cons),
        consistency_n=10 if cons != "–" else 0,
        injection_success=number(inj),
        injection_n=10 if inj != "–" else 0,
    )
    training, forgetting = None, None
    if name in TRAINING:
        n, steps, seconds, speed, mib, dev, agree, delta = TRAINING[name]
        training = {
            "examples": int(n),
            "reused": name in REUSED,
            "steps": int(steps),
            "wall_time_s": float(seconds) + 0.3,
            "tokens_per_s": float(speed) - 0.2,
            "peak_memory_bytes": int(mib) * 2**20 + 12345,
            "best_dev_loss": number(dev),
        }
        if agree != "–":
            forgetting = {
                "agreement_with_base": number(agree),
                "reference_accuracy_delta": float(delta) / 100,
            }
    return RungResult(
        rung=name,
        strategy={"strategy": name},
        model={"model_id": "smollm2-135m", "backend": "local"},
        split="test",
        metrics=metrics,
        training=training,
        forgetting=forgetting,
        kind=kind_of(name),
    )


def kind_of(name: str) -> RungKind:
    if "+" in name:
        return "hybrid"
    if name.startswith("distill"):
        return "distilled"
    return "tuned" if name in TRAINING else "prompt"


def outcome() -> RunOutcome:
    examples = tuple(
        Example(f"ex-{i}", f"tweet {i}", "negative" if i % 7 < 4 else "positive") for i in range(80)
    )
    task = Task("tweet-sentiment", examples, labels=("negative", "positive"))
    split = TaskSplit((), (), examples, 0, (0.6, 0.2, 0.2))
    results = [rung_result(row) for row in RUNGS]
    return RunOutcome(
        "20261125-141503-3fa9c1", Path("runs/20261125-141503-3fa9c1"), task, split, examples, results
    )


def rung_cells() -> dict[str, dict[str, list[str]]]:
    """Each rung's expected cells by header (an accuracy cell holds two figures)."""
    cells = {}
    for name, accuracy, interval, *rest in RUNGS:
        cells[name] = {"rung": [name], "accuracy (95% CI)": [accuracy, f"({interval})"]}
        cells[name] |= {header: [value] for header, value in zip(RUNG_HEADERS[2:], rest, strict=True)}
    return cells


def training_cells() -> dict[str, dict[str, list[str]]]:
    return {
        name: {"rung": [name]}
        | {header: [value] for header, value in zip(TRAINING_HEADERS[1:], row, strict=True)}
        for name, row in TRAINING.items()
    }


def compared_runs() -> tuple[dict[str, Any], dict[str, Any], dict[str, dict[str, list[str]]]]:
    """Two runs' results.json as `compare` reads them, with long model paths, a rung only in A
    and one only in B; and the cells expected (A, B, B - A)."""
    first_rungs = [rung_result(row).to_dict(with_predictions=False) for row in RUNGS[:-1]]
    second_rungs = [rung_result(row).to_dict(with_predictions=False) for row in RUNGS[1:]]
    for rung in second_rungs:
        rung["metrics"] |= {"score": rung["metrics"]["score"] - 0.0137}
    first = {
        "run_id": "20261125-141503-3fa9c1",
        "model": {"model_id": "/home/ana/models/SmolLM2-135M-Instruct"},
        "rungs": first_rungs,
        "decision": {"headline": "Use few-shot-knn-4."},
    }
    second = {
        "run_id": "20261126-090210-b71e04",
        "model": {
            "model_id": "/home/ana/models/Qwen2.5-0.5B-Instruct-GGUF/qwen2.5-0.5b-instruct-q4_k_m.gguf"
        },
        "rungs": second_rungs,
    }
    a = {row[0]: (row[1], f"({row[2]})") for row in RUNGS[:-1]}
    b = {row[0]: (f"{(number(row[1]) or 0.0) - 0.0137:.1%}", f"({row[2]})") for row in RUNGS[1:]}
    cells = {}
    for name in [row[0] for row in RUNGS]:
        cells[name] = {"rung": [name], "A": list(a.get(name, ("—",))), "B": list(b.get(name, ("—",)))}
        cells[name]["B - A"] = ["-1.4%" if name in a and name in b else "—"]
    return first, second, cells


def task_summary() -> tuple[Task, TaskSummary, dict[str, dict[str, list[str]]]]:
    labels = ("negative", "positive", "mixed-feelings-with-sarcasm")
    task = Task("tweets", (), labels=labels, labels_declared=True)
    summary = replace(
        describe_task(task),  # the fields the tables do not read keep what it computed
        rows=120,
        label_counts={"negative": 61, "positive": 52, "mixed-feelings-with-sarcasm": 7},
        label_shares={"negative": 61 / 120, "positive": 52 / 120, "mixed-feelings-with-sarcasm": 7 / 120},
        split_sizes={"train": 72, "dev": 24, "test": 24},
        length_unit="tokens",
        input_lengths=LengthStats(3, 21.4, 19.5, 48.2, 97),
        output_lengths=LengthStats(1, 1.25, 1, 2, 9),
    )
    cells = {
        "negative": {"label": ["negative"], "count": ["61"], "share": ["50.8%"]},
        "positive": {"label": ["positive"], "count": ["52"], "share": ["43.3%"]},
        "mixed-feelings-with-sarcasm": {
            "label": ["mixed-feelings-with-sarcasm"],
            "count": ["7"],
            "share": ["5.8%"],
        },
        "input": {
            "field": ["input"],
            "min": ["3"],
            "mean": ["21.4"],
            "p50": ["19.5"],
            "p95": ["48.2"],
            "max": ["97"],
        },
        "output": {
            "field": ["output"],
            "min": ["1"],
            "mean": ["1.2"],
            "p50": ["1"],
            "p95": ["2"],
            "max": ["9"],
        },
    }
    return task, summary, cells


def models_table(console: Console, *, wide: bool = False) -> None:
    """The bundled-models table as the CLI would build it, with a name that looks like markup."""
    columns = [
        Column("name", "left"),
        Column("model", "left"),
        Column("params"),
        Column("license", "left", hide_order=1),
        Column("status", "left", hide_order=2),
    ]
    rows = [
        ["smollm2-135m*", "SmolLM2-135M-Instruct", "135M", "Apache-2.0", "installed 0.1.2"],
        ["qwen2.5-0.5b", "Qwen2.5-0.5B-Instruct (Q4_K_M GGUF)", "494M", "Apache-2.0", "not installed"],
        ["[bold]x", "[red]literal[/red]", "1.5B", "Llama 3.2 Community", "not installed"],
    ]
    print_fitted_table(console, "Bundled models (* = default)", columns, rows, wide=wide)


MODEL_CELLS = {
    "smollm2-135m*": {"name": ["smollm2-135m*"], "params": ["135M"], "license": ["Apache-2.0"]},
    "qwen2.5-0.5b": {"name": ["qwen2.5-0.5b"], "params": ["494M"]},
    "[bold]x": {"name": ["[bold]x"], "model": ["[red]literal[/red]"], "params": ["1.5B"]},
}


Draw = Callable[[Console, bool], None]
TABLES: dict[str, tuple[Draw, Callable[[], dict[str, dict[str, list[str]]]], set[str]]] = {
    # table: (draw it, expected cells by row and header, headers never hidden)
    "rungs": (
        lambda console, wide: print_rung_table(console, outcome(), wide=wide),
        rung_cells,
        {"rung", "accuracy (95% CI)", "fmt", "p50 s", "in"},
    ),
    "training": (
        lambda console, wide: print_training_table(console, outcome(), wide=wide),
        training_cells,
        {"rung", "n", "s", "agree", "Δ ref"},
    ),
    "comparison": (
        lambda console, wide: print_comparison(console, *compared_runs()[:2], wide=wide),
        lambda: compared_runs()[2],
        {"rung", "A", "B"},
    ),
    "validate": (
        lambda console, wide: print_task_summary(console, *task_summary()[:2], [], wide=wide),
        lambda: task_summary()[2],
        {"label", "count", "share", "field", "mean", "p95", "max"},
    ),
    "models": (
        lambda console, wide: models_table(console, wide=wide),
        lambda: MODEL_CELLS,
        {"name", "model", "params"},
    ),
}


def render(draw: Draw, width: int, *, terminal: bool = True, wide: bool = False) -> str:
    out = io.StringIO()
    draw(Console(file=out, width=width, force_terminal=terminal, color_system=None), wide)
    return out.getvalue()


def hidden_columns(output: str) -> set[str]:
    """The headers the output says it hid ("Hidden to fit 80 columns: F1, inj; --wide ...")."""
    flat = " ".join(output.split())
    return {h for note in re.findall(r"Hidden to fit \d+ columns: (.*?);", flat) for h in note.split(", ")}


def record(lines: Sequence[str], first_cell: str) -> list[str]:
    """A row's lines: its table line, or its block (the first cell, then indented lines)."""
    starts = [
        i for i, line in enumerate(lines) if line.split(" (reused)")[0].rstrip().split("  ")[0] == first_cell
    ]
    assert len(starts) == 1, f"row {first_cell!r} not found once in:\n" + "\n".join(lines)
    end = starts[0] + 1
    while end < len(lines) and lines[end].startswith("  "):
        end += 1
    return list(lines[starts[0] : end])


def assert_readable(
    output: str, width: int | None, cells: dict[str, dict[str, list[str]]], essential: set[str]
) -> None:
    """No ellipsis, no line past `width` (None: not a terminal), no hidden decision-critical
    column, and every figure of every shown column whole, within its row."""
    lines = output.splitlines()
    assert "…" not in output
    if width is not None:
        assert max(cell_len(line) for line in lines) <= width, output
    hidden = hidden_columns(output)
    assert not hidden & essential, output
    for first_cell, row in cells.items():
        rows_lines = record(lines, first_cell)
        text = "\n".join(rows_lines)
        stacked = "  " not in rows_lines[0].strip()  # a table row has its cells two spaces apart
        for index, (header, values) in enumerate(row.items()):
            if header in hidden:
                continue
            if stacked and index > 0:
                assert header in text, f"header {header!r} missing or cut in block:\n{text}\n\n{output}"
            elif not stacked:
                assert any(header in line for line in lines), f"header {header!r} missing or cut:\n{output}"
            for value in values:
                pattern = rf"(?<![\w.%–+-]){re.escape(value)}(?![\w.%–])"
                assert re.search(pattern, text), (
                    f"{header} {value!r} missing or split in row:\n{text}\n\n{output}"
                )


@pytest.mark.parametrize("table", TABLES)
@pytest.mark.parametrize("width", WIDTHS)
def test_tables_fit_a_terminal_without_cutting_anything(table: str, width: int) -> None:
    draw, cells, essential = TABLES[table]
    assert_readable(render(draw, width), width, cells(), essential)


@pytest.mark.parametrize("table", TABLES)
def test_a_file_or_log_gets_every_column_whatever_the_width(table: str) -> None:
    draw, cells, essential = TABLES[table]
    output = render(draw, 80, terminal=False)
    assert not hidden_columns(output)
    assert_readable(output, None, cells(), essential)
    lines = output.splitlines()
    for first_cell in cells():
        assert len(record(lines, first_cell)) == 1, f"{first_cell} is not one table row:\n{output}"


@pytest.mark.parametrize("table", TABLES)
def test_wide_shows_every_column_on_a_narrow_terminal(table: str) -> None:
    draw, cells, essential = TABLES[table]
    output = render(draw, 80, wide=True)
    assert not hidden_columns(output)
    assert_readable(output, None, cells(), essential)


def test_the_rung_table_hides_least_critical_columns_first_then_stacks() -> None:
    draw = TABLES["rungs"][0]
    full, narrow, stacked = (render(draw, width) for width in (160, 80, 60))
    assert not hidden_columns(full)
    assert hidden_columns(narrow) == {"out", "p95 s", "F1", "inj"}
    assert "rung " in narrow and "cons" in narrow
    assert hidden_columns(stacked) == {"out", "p95 s", "F1", "inj", "cons"}
    assert "\nlora-80+few-shot-knn-4\n  accuracy (95% CI) 75.0% (65.0–83.8)   fmt 98%" in stacked
    assert "--wide shows them, as do the run's results.json and report.html" in " ".join(stacked.split())


def test_legends_explain_only_the_columns_shown() -> None:
    draw = TABLES["rungs"][0]
    narrow, logged = render(draw, 80), render(draw, 80, terminal=False)
    assert "F1: macro-F1" in logged and "out: output tokens" in logged
    assert "F1: macro-F1" not in narrow and "out: output tokens" not in narrow
    assert "fmt: answers exactly in the asked format" in narrow


def test_the_log_output_is_one_table_at_its_natural_width() -> None:
    output = render(TABLES["rungs"][0], 80, terminal=False)
    header = next(line for line in output.splitlines() if line.startswith("rung "))
    assert header.split() == " ".join(RUNG_HEADERS).split()
    assert len(header) > 80


def test_a_row_longer_than_a_narrow_terminal_breaks_between_words_only() -> None:
    output = render(lambda console, wide: print_training_table(console, outcome(), wide=wide), 30)
    assert "\nlora-10000+few-shot-random-16\n  (reused)\n  n 10000   s 10432" in output


@pytest.mark.parametrize("width", [60, 80])
def test_progress_bars_never_cut_a_count_or_a_time(width: int) -> None:
    from adaptlab.cli import listeners

    screen = io.StringIO()
    terminal = Console(file=screen, width=width, force_terminal=True, color_system=None)
    progress = listeners.make_progress(terminal)
    with progress:
        progress.add_task("lora-80+few-shot-knn-4 (train: loss 0.397, 93 tok/s)", total=120, unit="steps")
        progress.add_task("zero-shot", total=1200, completed=1200, unit="examples")
        progress.refresh()
    shown = screen.getvalue()
    assert "0/120 steps" in shown and "1200/1200 examples" in shown
    assert "…" not in shown


LONG_ENDPOINT = "openai:Qwen/Qwen2.5-7B-Instruct"


def across_models(requests: int | None = 20_000) -> dict[str, Any]:
    """A parent run over a small local model (tuned on gold labels and on the large one's
    answers), a large one and an unpriced endpoint with a long name; totals at `requests`."""
    endpoint = model_run(LONG_ENDPOINT, model_rung("few-shot-knn-4", "prompt", 0.80, 0.80), backend="openai")
    costs = settings(labelling_usd_per_example=0.01, expected_requests=requests)
    return parent_payload([small(student()), large(), (LONG_ENDPOINT, endpoint)], costs)


HEADERS_AFTER_SCORE = ("kind", "dev", "$/1k", "one-off", "total")
CONFIGURATIONS = {
    # model and rung (* chosen, + frontier): accuracy (95% CI), kind, dev, $/1k, one-off, total
    # at 20,000 requests (see model_runs.py for the prices); every row has tok 102, p50 s 0.10
    "smollm2-135m zero-shot": ("50.0%", "(45.0–55.0)", "prompt", "50.0%", "$0.0200", "$0", "$0.400"),
    "smollm2-135m lora-64 +": ("74.0%", "(69.0–79.0)", "tuned", "72.0%", "$0.0200", "$0.700", "$1.10"),
    "smollm2-135m teacher-lora-64 *": (
        "73.0%", "(68.0–78.0)", "distilled", "71.0%", "$0.0200", "$0.0664", "$0.466",
    ),
    "gemma3-270m zero-shot": ("60.0%", "(55.0–65.0)", "prompt", "60.0%", "$0.100", "$0", "$2.00"),
    "gemma3-270m few-shot-knn-4 +": ("75.0%", "(70.0–80.0)", "prompt", "75.0%", "$0.100", "$0", "$2.00"),
    f"{LONG_ENDPOINT} few-shot-knn-4": (
        "80.0%", "(75.0–85.0)", "prompt", "80.0%", "unpriced", "$0", "unknown",
    ),
}  # fmt: skip


def configuration_cells() -> dict[str, dict[str, list[str]]]:
    cells = {}
    for name, (score, interval, *rest) in CONFIGURATIONS.items():
        cells[name] = {"model and rung": [name], "accuracy (95% CI)": [score, interval]}
        cells[name] |= {header: [value] for header, value in zip(HEADERS_AFTER_SCORE, rest, strict=True)}
        cells[name] |= {"tok": ["102"], "p50 s": ["0.10"]}
    return cells


def draw_configurations(console: Console, wide: bool) -> None:
    print_configuration_table(console, across_models(), wide=wide)


@pytest.mark.parametrize("width", [60, 80, 160])
def test_the_configuration_table_fits_a_terminal_without_cutting_anything(width: int) -> None:
    output = render(draw_configurations, width)
    assert_readable(output, width, configuration_cells(), {"model and rung", "accuracy (95% CI)", "total"})


def test_at_80_columns_the_configuration_table_keeps_what_the_choice_rests_on() -> None:
    three = render(lambda console, wide: print_configuration_table(console, three_models()), 80)
    assert hidden_columns(three) == {"kind", "p50 s"}
    assert "*: chosen, +: on the cost-score frontier" in three

    # a long endpoint name takes the room of the dev score and the one-off cost
    output = render(lambda console, wide: print_configuration_table(console, across_models(None)), 80)
    assert hidden_columns(output) == {"kind", "p50 s", "tok", "dev", "one-off"}
    cells = configuration_cells()
    for row in cells.values():
        del row["total"]
    assert_readable(output, 80, cells, {"model and rung", "accuracy (95% CI)", "$/1k"})

    # at an expected volume, the total is what the choice compared: it stays, the price goes
    with_total = render(draw_configurations, 80)
    assert hidden_columns(with_total) == {"kind", "p50 s", "tok", "dev", "one-off", "$/1k"}
    assert "total: one-off + 20,000 requests, $" in " ".join(with_total.split())


def test_a_log_gets_the_whole_configuration_table_and_the_choice(tmp_path: Path) -> None:
    out = io.StringIO()
    payload = across_models()
    console = Console(file=out, width=80, force_terminal=False, color_system=None)
    print_models_outcome(console, payload, tmp_path / "p")
    output = out.getvalue()

    assert not hidden_columns(output)
    assert_readable(output, None, configuration_cells(), set())
    flat = " ".join(output.split())
    assert payload["decision"]["headline"] in flat
    assert all(f"- {reason}" in flat for reason in payload["decision"]["reasons"])
    assert f"report: {tmp_path / 'p' / 'report.html'}" in output
    assert "smollm2-135m: /runs/p-1/report.html" in output
