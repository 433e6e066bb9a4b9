import pytest

from adaptlab.prompting.parsing import ParsedAnswer, parse_free_text, parse_label

LABELS = ["negative", "neutral", "positive"]


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("negative", ParsedAnswer("negative", True)),
        ("Positive.", ParsedAnswer("positive", True)),
        ('"neutral"', ParsedAnswer("neutral", True)),
        ("Answer: negative", ParsedAnswer("negative", True)),
        ("Sentiment - POSITIVE!", ParsedAnswer("positive", True)),
        ("The sentiment of this tweet is negative.", ParsedAnswer("negative", False)),
        ("The tweet is negative, and clearly negative.", ParsedAnswer("negative", False)),
        ("The sentiment of the tweet is negative, neutral, and positive.", ParsedAnswer(None, False)),
        ("positive, though partly negative", ParsedAnswer(None, False)),
        ("I cannot tell.", ParsedAnswer(None, False)),
        ("", ParsedAnswer(None, False)),
        ("nonnegative", ParsedAnswer(None, False)),
    ],
)
def test_parse_label(output: str, expected: ParsedAnswer) -> None:
    assert parse_label(output, LABELS) == expected


def test_a_label_inside_a_longer_label_is_not_a_second_mention() -> None:
    labels = ["spam", "not spam"]
    assert parse_label("not spam, clearly", labels) == ParsedAnswer("not spam", False)
    assert parse_label("It is spam, not ham", labels) == ParsedAnswer("spam", False)
    assert parse_label("Not spam", labels) == ParsedAnswer("not spam", True)


def test_labels_keep_their_declared_spelling() -> None:
    assert parse_label("billing", ["Billing", "Shipping"]) == ParsedAnswer("Billing", True)


def test_free_text() -> None:
    assert parse_free_text("  Paris \n") == ParsedAnswer("Paris", True)
    assert parse_free_text("   ") == ParsedAnswer(None, False)
