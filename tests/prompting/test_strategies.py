"""Each prompting rung renders what it promises and reads its own answer format back."""

from __future__ import annotations

import pytest

from adaptlab.data.task import Example, Task
from adaptlab.errors import UsageError
from adaptlab.prompting import (
    PROMPT_LADDER,
    StrategyContext,
    available_strategies,
    expand_strategy_names,
    get_strategy,
)

QUERY = Example(id="q", input="the flight was fine I guess", output="neutral")


def text_of(messages: list[dict[str, str]]) -> str:
    return "\n".join(message["content"] for message in messages)


def test_every_ladder_rung_is_registered_under_a_stable_name() -> None:
    names = expand_strategy_names(list(PROMPT_LADDER))
    assert names == [
        "zero-shot",
        "instruction-terse",
        "instruction-detailed",
        "instruction-role",
        "few-shot-random-4",
        "few-shot-random-8",
        "few-shot-knn-4",
        "few-shot-knn-8",
        "cot",
        "format-label",
        "format-json",
        "label-scoring",
        "label-scoring-calibrated",
        "search",
    ]
    assert set(available_strategies()) == set(PROMPT_LADDER)


def test_family_members_take_their_shot_count_from_the_name() -> None:
    strategy = get_strategy("few-shot-knn-2")
    assert (strategy.name, strategy.k) == ("few-shot-knn-2", 2)
    assert get_strategy("few-shot-random").name == "few-shot-random-4"
    assert expand_strategy_names(["few-shot-random", "few-shot-random-4"], shots=[4, 16]) == [
        "few-shot-random-4",
        "few-shot-random-16",
    ]


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        ("magic", ""),
        ("few-shot-knnn", ' (did you mean "few-shot-knn"?)'),
        ("Zero-Shot", ' (did you mean "zero-shot"?)'),
        # A misspelt family keeps its shot count, so the suggestion can be pasted as it is.
        ("few-shot-knnn-4", ' (did you mean "few-shot-knn-4"?)'),
        ("few-shot-rando-16", ' (did you mean "few-shot-random-16"?)'),
        ("zero-shot-3", ' (did you mean "zero-shot"?)'),
        ("few-shot-knn-0", ' (did you mean "few-shot-knn"?)'),
        ("few-shot-knn-x", ' (did you mean "few-shot-knn"?)'),
    ],
)
def test_unknown_names_are_refused_with_a_close_one_and_the_known_ones(name: str, hint: str) -> None:
    known = (
        "cot, few-shot-knn[-K], few-shot-random[-K], format-json, format-label, instruction-detailed, "
        "instruction-role, instruction-terse, label-scoring, label-scoring-calibrated, search, zero-shot, "
        "rag-K[-RUNG]"
    )
    for refuse in (get_strategy, lambda name: expand_strategy_names([name])):
        with pytest.raises(UsageError) as caught:
            refuse(name)
        assert str(caught.value) == f'unknown strategy "{name}"{hint}; available: {known}'


def test_instruction_variants_differ_and_all_name_the_labels(task: Task) -> None:
    rendered = {name: get_strategy(name).render(QUERY, task) for name in PROMPT_LADDER[:4]}
    assert len({text_of(messages) for messages in rendered.values()}) == 4
    assert (
        text_of(rendered["instruction-terse"])
        == "the flight was fine I guess\n\nnegative, neutral or positive?"
    )
    detailed = text_of(rendered["instruction-detailed"])
    assert (
        "Airline tweets." in detailed and "- negative: a complaint" in detailed and "- neutral\n" in detailed
    )
    role = rendered["instruction-role"]
    assert role[0]["role"] == "system" and "expert data annotator" in role[0]["content"]


def test_phrasings_keep_the_input_and_labels_but_change_the_words(task: Task) -> None:
    base = get_strategy("zero-shot")
    texts = [text_of(s.render(QUERY, task)) for s in [base, *base.variants()]]
    assert len(set(texts)) == 3
    for text in texts:
        assert QUERY.input in text and "negative, neutral, positive" in text


def test_cot_asks_for_reasoning_and_parses_the_last_answer_line(task: Task) -> None:
    cot = get_strategy("cot")
    assert "Answer: <one of negative, neutral or positive>" in text_of(cot.render(QUERY, task))
    reasoning = "It is not positive, the writer is bored.\nAnswer: neutral"
    parsed = cot.parse(reasoning, task)
    assert (parsed.value, parsed.compliant) == ("neutral", True)
    assert cot.parse("Answer: positive\nwait, no.\nFinal answer: negative", task).value == "negative"
    unmarked = cot.parse("Hmm.\nneutral", task)
    assert (unmarked.value, unmarked.compliant) == ("neutral", False)
    assert cot.max_new_tokens(3) >= 128


@pytest.mark.parametrize(
    ("output", "value", "compliant"),
    [
        ('{"label": "positive"}', "positive", True),
        ('```json\n{"label": "neutral"}\n```', "neutral", True),
        ('Sure! {"label": "negative"} is my answer', "negative", False),
        ('{"label": "angry"}', None, False),
        ("{not json", None, False),
        ("positive", "positive", False),
        ('{"answer": "positive"}', "positive", False),
    ],
)
def test_json_format_compliance(task: Task, output: str, value: str | None, compliant: bool) -> None:
    parsed = get_strategy("format-json").parse(output, task)
    assert (parsed.value, parsed.compliant) == (value, compliant)


def test_format_label_budget_leaves_no_room_for_chatter() -> None:
    assert get_strategy("format-label").max_new_tokens(2) == 4
    assert get_strategy("zero-shot").max_new_tokens(2) == 18


def test_label_scoring_needs_labels(task: Task) -> None:
    strategy = get_strategy("label-scoring")
    assert strategy.answer_mode == "score" and strategy.needs_labels
    free = Task(name="qa", examples=(QUERY,))
    with pytest.raises(UsageError, match="needs a closed label set"):
        strategy.prepare(StrategyContext(task=free, train=()))


def test_random_demos_come_from_train_and_never_include_the_query(task: Task) -> None:
    train = [e for e in task.examples if e.split == "train"]
    strategy = get_strategy("few-shot-random-4")
    strategy.prepare(StrategyContext(task=task, train=train, seed=3))
    twin = Example(id="other-id", input=train[0].input.upper(), output=train[0].output)
    for query in [QUERY, train[0], twin]:
        messages = strategy.render(query, task)
        demo_inputs = [m["content"] for m in messages[:-1] if m["role"] == "user"]
        assert len(demo_inputs) == 4
        assert messages[-1]["content"] == f"Input: {query.input}"
        assert not any(query.input.lower() in text.lower() for text in demo_inputs)
    # the same demos for every query (a shared prefix), unless one of them is the query
    first, second = strategy.render_many([QUERY, Example(id="z", input="zzz", output="neutral")], task)
    assert first[:-1] == second[:-1]


def test_few_shot_demos_alternate_user_and_assistant_turns_with_gold_answers(task: Task) -> None:
    train = [e for e in task.examples if e.split == "train"]
    strategy = get_strategy("few-shot-random-2")
    strategy.prepare(StrategyContext(task=task, train=train))
    messages = strategy.render(QUERY, task)
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant", "user"]
    assert messages[0]["content"].startswith("Classify the sentiment of the tweet.")
    by_input = {e.input: e.output for e in train}
    assert messages[1]["content"] == by_input[messages[0]["content"].split("Input: ")[1]]


def test_reordered_demo_variants_keep_the_same_demos(task: Task) -> None:
    train = [e for e in task.examples if e.split == "train"]
    strategy = get_strategy("few-shot-random-4")
    strategy.prepare(StrategyContext(task=task, train=train))

    def demo_inputs(messages: list[dict[str, str]]) -> list[str]:
        return [m["content"].rsplit("Input: ", 1)[1] for m in messages[:-1] if m["role"] == "user"]

    base = strategy.render(QUERY, task)
    for variant in strategy.variants():
        reordered = variant.render(QUERY, task)
        assert demo_inputs(reordered) != demo_inputs(base)
        assert sorted(demo_inputs(reordered)) == sorted(demo_inputs(base))
        assert reordered[-1] == base[-1]


class WordOverlapEmbedder:
    """Embeds by word counts over a fixed vocabulary: similar texts share words."""

    model_id = "word-overlap"

    def encode(self, texts: list[str]):
        import torch

        vocab = ["delayed", "lost", "bag", "boarding", "time", "lovely", "crew", "thank"]
        rows = torch.tensor([[float(word in text) for word in vocab] for text in texts]) + 1e-3
        return rows / rows.norm(dim=1, keepdim=True)


def test_knn_demos_are_the_most_similar_train_examples(task: Task) -> None:
    train = [e for e in task.examples if e.split == "train"]
    strategy = get_strategy("few-shot-knn-2")
    strategy.prepare(StrategyContext(task=task, train=train, embedder=WordOverlapEmbedder))
    query = Example(id="q2", input="my bag was lost", output="negative")
    messages = strategy.render(query, task)
    assert [m["content"] for m in messages if m["role"] == "assistant"] == ["negative", "negative"]
    assert strategy.describe()["embedder"] == "word-overlap"


def test_few_shot_without_train_examples_explains_itself(task: Task) -> None:
    with pytest.raises(UsageError, match="train split is empty"):
        get_strategy("few-shot-random-4").prepare(StrategyContext(task=task, train=()))
