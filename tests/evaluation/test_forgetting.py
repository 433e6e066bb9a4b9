import math
from collections.abc import Sequence
from pathlib import Path

import pytest

from adaptlab.evaluation.forgetting import (
    MAX_CHANGED_EXAMPLES,
    PROBE_SYSTEM_PROMPT,
    ProbeAnswers,
    ProbeItem,
    answer_probe,
    compare_probe,
    load_general_probe,
    matches_reference,
    probe_words,
)
from adaptlab.models.base import Conversation, Generation, ProgressCallback
from adaptlab.models.local import LocalBackend

from fakes import ScriptedBackend

PARIS = ProbeItem("g01", "What is the capital of France?", "Paris")
TWELVE = ProbeItem("g21", "What is 7 plus 5?", "12", aliases=("twelve",))
ITEMS = (PARIS, TWELVE, ProbeItem("g33", "What is the opposite of hot?", "cold"))


def test_bundled_probe_loads_sixty_distinct_items() -> None:
    items = load_general_probe()
    assert len(items) == 60
    assert len({item.id for item in items}) == 60
    assert all(item.prompt.strip() and item.reference.strip() for item in items)
    assert all(len(item.reference.split()) <= 3 for item in items)


def test_every_bundled_answer_is_accepted_and_echoing_the_question_is_not() -> None:
    for item in load_general_probe():
        assert matches_reference(item.reference, item), item.id
        assert all(matches_reference(alias, item) for alias in item.aliases), item.id
        # A model that repeats the question must not be credited with the answer.
        assert not matches_reference(item.prompt, item), item.id


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("Paris", True),
        ("Paris.", True),
        ("paris", True),
        ('"PARIS!"', True),
        ("The answer is Paris", True),
        ("Paris is the capital of France.", True),
        ("Parisian", False),
        ("Lyon", False),
        ("", False),
    ],
)
def test_matching_is_normalised_and_by_whole_word(answer: str, expected: bool) -> None:
    assert matches_reference(answer, PARIS) is expected


def test_aliases_articles_and_punctuation() -> None:
    assert matches_reference("Twelve.", TWELVE)
    assert matches_reference("7 + 5 = 12", TWELVE)
    assert not matches_reference("120", TWELVE)
    assert matches_reference("the Pacific", ProbeItem("g12", "Largest ocean?", "Pacific Ocean", ("Pacific",)))
    assert matches_reference("1,000 grams", ProbeItem("g58", "Grams in a kilogram?", "1000"))
    assert matches_reference("1 2 3", ProbeItem("g47", "Sort 3, 1, 2.", "1, 2, 3"))
    assert probe_words("The answer is: Paris.") == ("answer", "is", "paris")


def test_answer_probe_asks_every_item_in_one_batch_with_a_neutral_system_prompt() -> None:
    backend = ScriptedBackend(lambda prompt: " Paris. " if "France" in prompt else "I don't know")
    answers = answer_probe(backend, ITEMS, max_new_tokens=8)
    assert backend.calls == [3]
    assert backend.seen == [item.prompt for item in ITEMS]
    assert answers.answers == ("Paris.", "I don't know", "I don't know")
    assert answers.correct == (True, False, False)
    assert answers.reference_accuracy == pytest.approx(1 / 3)


def test_answer_probe_sends_system_then_user_message() -> None:
    class Recording(ScriptedBackend):
        def generate(
            self,
            conversations: Sequence[Conversation],
            *,
            max_new_tokens: int,
            on_progress: ProgressCallback | None = None,
        ) -> list[Generation]:
            self.conversations = [list(conversation) for conversation in conversations]
            return super().generate(conversations, max_new_tokens=max_new_tokens, on_progress=on_progress)

    backend = Recording(lambda prompt: "x")
    answer_probe(backend, [PARIS])
    assert backend.conversations == [
        [{"role": "system", "content": PROBE_SYSTEM_PROMPT}, {"role": "user", "content": PARIS.prompt}]
    ]


def test_answer_probe_defaults_to_the_bundled_probe() -> None:
    backend = ScriptedBackend(lambda prompt: "no idea")
    answers = answer_probe(backend)
    assert len(answers.answers) == 60
    assert answers.reference_accuracy == 0.0


def test_compare_probe_reports_delta_agreement_and_changed_answers() -> None:
    before = ProbeAnswers(ITEMS, ("Paris", "12", "warm"))
    after = ProbeAnswers(ITEMS, ("paris.", "positive", "cold"))
    result = compare_probe(before, after)
    assert result.n == 3
    assert result.reference_accuracy_before == pytest.approx(2 / 3)
    assert result.reference_accuracy_after == pytest.approx(2 / 3)
    assert result.reference_accuracy_delta == pytest.approx(0.0)
    # "Paris" → "paris." is the same answer; the other two changed, one for the better.
    assert result.agreement_with_base == pytest.approx(1 / 3)
    assert result.changed == [
        {"id": "g21", "prompt": TWELVE.prompt, "before": "12", "after": "positive"},
        {"id": "g33", "prompt": ITEMS[2].prompt, "before": "warm", "after": "cold"},
    ]
    payload = result.to_dict()
    assert payload["reference_accuracy_delta"] == pytest.approx(0.0)
    assert payload["agreement_with_base"] == pytest.approx(1 / 3)
    assert set(payload) == {
        "n",
        "reference_accuracy_before",
        "reference_accuracy_after",
        "reference_accuracy_delta",
        "agreement_with_base",
        "changed",
    }


def test_compare_probe_sees_a_model_that_forgot_everything() -> None:
    items = load_general_probe()
    before = ProbeAnswers(tuple(items), tuple(item.reference for item in items))
    after = ProbeAnswers(tuple(items), ("negative",) * len(items))
    result = compare_probe(before, after)
    assert result.reference_accuracy_before == 1.0
    assert result.reference_accuracy_delta == -1.0
    assert result.agreement_with_base == 0.0
    assert len(result.changed) == MAX_CHANGED_EXAMPLES
    assert [c["id"] for c in result.changed] == [item.id for item in items[:MAX_CHANGED_EXAMPLES]]


def test_compare_probe_refuses_answers_to_different_items() -> None:
    with pytest.raises(ValueError, match="different probe items"):
        compare_probe(ProbeAnswers(ITEMS[:2], ("a", "b")), ProbeAnswers(ITEMS[1:], ("a", "b")))
    with pytest.raises(ValueError, match="3 items but 2 answers"):
        ProbeAnswers(ITEMS, ("a", "b"))


def test_empty_probe_reports_nan_rather_than_a_made_up_score() -> None:
    result = compare_probe(ProbeAnswers((), ()), ProbeAnswers((), ()))
    assert result.n == 0
    assert math.isnan(result.reference_accuracy_before)
    assert math.isnan(result.agreement_with_base)


def test_same_scripted_backend_twice_agrees_completely() -> None:
    backend = ScriptedBackend(lambda prompt: prompt[::-1])
    result = compare_probe(answer_probe(backend), answer_probe(backend))
    assert result.agreement_with_base == 1.0
    assert result.reference_accuracy_delta == 0.0
    assert result.changed == []


def test_probe_runs_through_a_real_local_model(tiny_model_dir: Path) -> None:
    backend = LocalBackend(tiny_model_dir, model_id="tiny")
    before = answer_probe(backend, max_new_tokens=4)
    after = answer_probe(backend, max_new_tokens=4)
    assert len(before.answers) == 60
    assert all(isinstance(answer, str) for answer in before.answers)
    # Greedy decoding of the same weights is deterministic: no change means no forgetting.
    result = compare_probe(before, after)
    assert result.n == 60
    assert result.agreement_with_base == 1.0
    assert result.reference_accuracy_delta == 0.0
