import pytest

from adaptlab.data.task import Example, Task
from adaptlab.evaluation import evaluate
from adaptlab.evaluation.evaluate import longest_answer_tokens
from adaptlab.prompting import get_strategy

from fakes import ScriptedBackend

EXAMPLES = (
    Example(id="1", input="awful delay", output="negative"),
    Example(id="2", input="lovely crew", output="positive"),
    Example(id="3", input="gate opens at 5", output="neutral"),
    Example(id="4", input="lost my bag", output="negative"),
)
TASK = Task(name="t", examples=EXAMPLES, labels=("negative", "neutral", "positive"), instruction="Classify.")
ANSWERS = {
    "awful delay": "negative",  # correct, compliant
    "lovely crew": "It is positive.",  # correct, not compliant
    "gate opens at 5": "positive",  # wrong
    "lost my bag": "no idea",  # unparsable
}


def scripted() -> ScriptedBackend:
    return ScriptedBackend(lambda prompt: ANSWERS[prompt.split("Input: ")[1]])


def test_evaluate_scores_and_summarises() -> None:
    progress: list[int] = []
    result = evaluate(TASK, EXAMPLES, scripted(), get_strategy("zero-shot"), on_progress=progress.append)
    m = result.metrics
    assert [p.correct for p in result.predictions] == [True, True, False, False]
    assert [p.parsed for p in result.predictions] == ["negative", "positive", "positive", None]
    assert (m.n, m.accuracy, m.format_compliance, m.parse_failures) == (4, 0.5, 0.5, 1)
    assert m.accuracy_low <= 0.5 <= m.accuracy_high
    assert m.latency_p50_s == pytest.approx(0.01)
    assert m.output_tokens_mean == pytest.approx((1 + 3 + 1 + 2) / 4)
    assert sum(progress) == 4
    assert result.rung == "zero-shot"
    assert result.strategy["max_new_tokens"] == 1 + 16
    assert result.strategy["example_prompt"].startswith("user: Classify.")


def test_free_text_tasks_use_exact_match_and_no_macro_f1() -> None:
    examples = (Example(id="1", input="capital of France?", output="Paris"),)
    task = Task(name="qa", examples=examples)
    result = evaluate(task, examples, ScriptedBackend(lambda _: "paris."), get_strategy("zero-shot"))
    assert result.metrics.accuracy == 1.0
    assert result.metrics.macro_f1 is None
    assert result.metrics.exact_match == 1.0


def test_default_token_budget_for_free_text_follows_the_longest_answer() -> None:
    examples = (
        Example(id="1", input="q", output="one two three four"),
        Example(id="2", input="q", output="x"),
    )
    task = Task(name="qa", examples=examples)
    assert longest_answer_tokens(task, scripted()) == int(4 * 1.5)
    assert get_strategy("zero-shot").max_new_tokens(longest_answer_tokens(task, scripted())) == 6 + 16


def test_to_dict_round_trips_metrics_and_predictions() -> None:
    data = evaluate(TASK, EXAMPLES, scripted(), get_strategy("zero-shot")).to_dict()
    assert data["metrics"]["accuracy"] == 0.5
    assert len(data["predictions"]) == 4
    assert data["predictions"][1]["output"] == "It is positive."
