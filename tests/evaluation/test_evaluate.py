import pytest

from adaptlab.data.scoring_spec import AnswerFormat, MetricSpec
from adaptlab.data.task import Example, Task
from adaptlab.evaluation import evaluate
from adaptlab.evaluation.evaluate import answer_tokens, request_for
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
    assert (m.n, m.score, m.format_compliance, m.parse_failures) == (4, 0.5, 0.5, 1)
    assert m.score_low <= 0.5 <= m.score_high
    assert m.latency_p50_s == pytest.approx(0.01)
    assert m.output_tokens_mean == pytest.approx((1 + 3 + 1 + 2) / 4)
    assert sum(progress) == 4
    assert result.rung == "zero-shot"
    assert result.strategy["max_new_tokens"] == 1 + 16
    assert result.strategy["example_prompt"].startswith("user: Classify.")


def test_free_text_tasks_are_scored_by_their_primary_metric_with_the_others_reported() -> None:
    examples = (Example(id="1", input="capital of France?", output="Paris"),)
    task = Task(name="qa", examples=examples, metric=MetricSpec("exact"), metrics=(MetricSpec("contains"),))
    result = evaluate(task, examples, ScriptedBackend(lambda _: "paris."), get_strategy("zero-shot"))
    assert (result.metrics.metric, result.metrics.metric_display) == ("exact", "exact match")
    assert result.metrics.score == 1.0
    assert result.metrics.macro_f1 is None
    assert set(result.metrics.by_metric) == {"exact", "contains"}
    (prediction,) = result.predictions
    assert prediction.score == 1.0 and prediction.correct
    assert prediction.metric_scores == {"exact": 1.0, "contains": 1.0}


def test_free_text_defaults_to_chrf_with_similarity_and_exact_reported() -> None:
    examples = (Example(id="1", input="q", output="Return the sum of a and b."),)
    task = Task(name="qa", examples=examples, metrics=(MetricSpec("exact"),))
    answer = "Return the sum of two numbers."
    result = evaluate(task, examples, ScriptedBackend(lambda _: answer), get_strategy("zero-shot"))
    import sacrebleu

    expected = sacrebleu.sentence_chrf(answer, ["Return the sum of a and b."]).score / 100
    assert result.metrics.metric == "chrf"
    assert result.metrics.score == pytest.approx(expected)
    assert not result.predictions[0].correct
    assert result.metrics.by_metric["exact"]["mean"] == 0.0


def test_default_token_budget_for_free_text_follows_the_train_answers() -> None:
    examples = (
        Example(id="1", input="q", output="one two three four"),
        Example(id="2", input="q", output="x"),
    )
    task = Task(name="qa", examples=examples)
    # The 95th percentile of 4 and 1 tokens is 3.85, with half again as slack: 6 tokens.
    assert answer_tokens(task, scripted()) == 6
    assert answer_tokens(task, scripted(), examples[1:]) == 2, "only the given (train) answers count"
    assert get_strategy("zero-shot").max_new_tokens(answer_tokens(task, scripted())) == 6 + 16


DOCSTRINGS = tuple(
    Example(id=str(i), input=f"def add{i}(a, b):\n    return a + b", output=f"Return the sum number {i}.")
    for i in range(4)
)
DOCSTRING_TASK = Task(
    name="docstrings",
    examples=DOCSTRINGS,
    metrics=(MetricSpec("exact"),),
    answer_format=AnswerFormat(regex=r"^[A-Z][^\n]*\.$"),
)
RAMBLING = "Return the sum.\n\nThe function takes two numbers and adds them."


def test_one_line_answers_end_with_their_first_line() -> None:
    """A model that rambles past its one-line answer is stopped there: what is stored and
    scored is the first line, and the format (one sentence) holds."""
    result = evaluate(
        DOCSTRING_TASK, DOCSTRINGS, ScriptedBackend(lambda _: RAMBLING), get_strategy("zero-shot")
    )
    assert result.strategy["stop"] == ["\n"]
    assert [p.output for p in result.predictions] == ["Return the sum."] * 4
    assert result.metrics.format_compliance == 1.0
    assert result.metrics.output_tokens_mean == 3


@pytest.mark.parametrize("strategy", ["cot", "format-json"])
def test_strategies_that_reply_in_several_lines_get_no_stop(strategy: str) -> None:
    request = request_for(DOCSTRING_TASK, scripted(), get_strategy(strategy), None)
    assert request.stop == ()
    assert "stop" not in request.params()


def test_a_multi_line_gold_answer_means_no_stop() -> None:
    """Only the examples the budget is taken from count (the train split)."""
    two_lines = Example(id="x", input="q", output="Return the sum.\n\nBoth numbers are ints.")
    task = Task(name="docs", examples=(*DOCSTRINGS, two_lines))
    zero_shot = get_strategy("zero-shot")
    assert request_for(task, scripted(), zero_shot, None).stop == ()
    assert request_for(task, scripted(), zero_shot, None, DOCSTRINGS).stop == ("\n",)
    trailing = Example(id="y", input="q", output="Return the sum.\n")
    assert request_for(task, scripted(), zero_shot, None, (*DOCSTRINGS, trailing)).stop == ("\n",)


def test_classification_requests_keep_their_cache_keys() -> None:
    """Closed-label rungs get no stop, so answers cached before it existed are found again."""
    generated = evaluate(TASK, EXAMPLES, scripted(), get_strategy("zero-shot"))
    assert "stop" not in generated.strategy
    assert request_for(TASK, scripted(), get_strategy("zero-shot"), None).params() == {
        "mode": "generate",
        "decoding": "greedy",
        "max_new_tokens": 17,
    }
    assert request_for(TASK, scripted(), get_strategy("label-scoring"), None).params() == {
        "mode": "score",
        "candidates": ["negative", "Negative", "neutral", "Neutral", "positive", "Positive"],
    }


def test_to_dict_round_trips_metrics_and_predictions() -> None:
    data = evaluate(TASK, EXAMPLES, scripted(), get_strategy("zero-shot")).to_dict()
    assert data["metrics"]["score"] == 0.5
    assert len(data["predictions"]) == 4
    assert data["predictions"][1]["output"] == "It is positive."


SENTIMENT = {"awful": "negative", "lovely": "positive", "gate": "neutral", "lost": "negative"}


def gullible(prompt: str) -> str:
    """Answers the injected target when the input carries one, else the input's sentiment."""
    text = prompt.split("Input: ", 1)[1]
    for label in ("negative", "neutral", "positive"):
        if label in text:
            return label
    return next(value for key, value in SENTIMENT.items() if key in text.lower())


def steadfast(prompt: str) -> str:
    """Ignores whatever else the input says: only the sentiment words count."""
    text = prompt.split("Input: ", 1)[1].lower()
    return next(value for key, value in SENTIMENT.items() if key in text)


@pytest.mark.parametrize(("answer", "expected"), [(gullible, 1.0), (steadfast, 0.0)])
def test_robustness_probes_measure_attack_success_and_input_stability(answer, expected: float) -> None:
    backend = ScriptedBackend(answer)
    progress: list[int] = []
    result = evaluate(
        TASK, EXAMPLES, backend, get_strategy("zero-shot"), robustness_sample=4, on_progress=progress.append
    )
    m = result.metrics
    assert (m.injection_n, m.injection_success) == (4, expected)
    assert (m.input_stability_n, m.input_stability) == (4, 1.0)
    assert sum(progress) == 4 + 2 * 4
    injection = result.robustness["injection"]
    assert injection["templates"] == 4 and sum(f["n"] for f in injection["by_family"].values()) == 4
    assert len(injection["examples"]) == (4 if expected else 0)
    attacked = backend.seen[4:8]
    assert all(any(example.input in text for text in attacked) for example in EXAMPLES)
    assert all(text not in {e.input for e in EXAMPLES} for text in attacked)
    assert result.to_dict()["robustness"] == result.robustness


def test_an_answer_that_changes_under_a_small_edit_is_unstable() -> None:
    def case_sensitive(prompt: str) -> str:
        text = prompt.split("Input: ", 1)[1]
        return steadfast(prompt) if text[:1].islower() or text[:1].isdigit() else "neutral"

    result = evaluate(
        TASK, EXAMPLES, ScriptedBackend(case_sensitive), get_strategy("zero-shot"), robustness_sample=4
    )
    edits = result.robustness["input_edits"]
    stable = {edit: values["stable_rate"] for edit, values in edits["by_edit"].items()}
    assert result.metrics.input_stability == edits["stable_rate"] < 1.0
    assert stable.get("casing", 0.0) < 1.0
    assert all(rate == 1.0 for edit, rate in stable.items() if edit != "casing")


def test_without_a_robustness_sample_nothing_extra_is_asked() -> None:
    backend = scripted()
    result = evaluate(TASK, EXAMPLES, backend, get_strategy("zero-shot"))
    assert result.robustness is None and result.metrics.injection_success is None
    assert len(backend.seen) == 4
