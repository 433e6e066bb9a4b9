import pytest

from adaptlab.data.task import Example, Task
from adaptlab.errors import UsageError
from adaptlab.prompting import available_strategies, get_strategy

EXAMPLE = Example(id="1", input="@united thanks for nothing", output="negative")


def test_zero_shot_classification_prompt() -> None:
    task = Task(
        name="t",
        examples=(EXAMPLE,),
        labels=("negative", "neutral", "positive"),
        instruction="Classify the sentiment of the tweet.",
    )
    messages = get_strategy("zero-shot").render(EXAMPLE, task)
    assert messages == [
        {
            "role": "user",
            "content": "Classify the sentiment of the tweet.\n"
            "Answer with exactly one of: negative, neutral, positive.\n\n"
            "Input: @united thanks for nothing",
        }
    ]


def test_zero_shot_without_instruction_uses_a_neutral_one_for_labels() -> None:
    task = Task(name="t", examples=(EXAMPLE,), labels=("negative", "positive"))
    content = get_strategy("zero-shot").render(EXAMPLE, task)[0]["content"]
    assert content.startswith("Classify the input.\nAnswer with exactly one of: negative, positive.")


def test_free_text_chat_example_is_sent_verbatim_with_its_system_prompt() -> None:
    example = Example(id="1", input="What is 2+2?", output="4", system="You are a calculator.")
    task = Task(name="t", examples=(example,))
    assert get_strategy("zero-shot").render(example, task) == [
        {"role": "system", "content": "You are a calculator."},
        {"role": "user", "content": "What is 2+2?"},
    ]


def test_unknown_strategy_names_the_available_ones() -> None:
    assert "zero-shot" in available_strategies()
    with pytest.raises(UsageError, match=r'unknown strategy "zeroshot" .*; available: .*zero-shot'):
        get_strategy("zeroshot")
