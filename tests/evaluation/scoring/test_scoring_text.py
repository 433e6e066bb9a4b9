"""Label, normalised-text and pattern scorers against values worked out by hand."""

from __future__ import annotations

import pytest

from adaptlab.evaluation.scoring import Scored
from adaptlab.evaluation.scoring.text import AccuracyScorer, ContainsScorer, ExactScorer, RegexScorer


def item(answer: str | None, reference: str, output: str | None = None) -> Scored:
    return Scored(answer=answer, output=answer if output is None else output, reference=reference, input="q")


def test_accuracy_wants_the_label_exactly() -> None:
    scores = AccuracyScorer().score_many(
        [item("negative", "negative"), item("Negative", "negative"), item(None, "negative")]
    )
    assert scores == [1.0, 0.0, 0.0]


def test_exact_match_ignores_case_spacing_and_edge_punctuation() -> None:
    scores = ExactScorer().score_many(
        [
            item("  PARIS. ", "paris"),
            item('"New   York"', "new york"),
            item("Paris, France", "Paris"),
            item(None, "Paris"),
        ]
    )
    assert scores == [1.0, 1.0, 0.0, 0.0]


def test_contains_finds_the_normalised_reference_inside_a_sentence() -> None:
    scores = ContainsScorer().score_many(
        [
            item("Your refund of 40  EUR is on its way.", "40 eur"),
            item("Your refund of 40 USD is on its way.", "40 eur"),
            item("40", "40 eur"),
            item(None, "40 eur"),
        ]
    )
    assert scores == [1.0, 0.0, 0.0, 0.0]


def test_contains_wants_whole_words_not_part_of_a_word_or_number() -> None:
    scores = ContainsScorer().score_many(
        [
            item("The alpha-3 code of Andorra is AND.", "AND"),
            item("Andorra", "AND"),
            item("It was 2020.", "20"),
            item("code 020", "020"),
        ]
    )
    assert scores == [1.0, 0.0, 0.0, 1.0]


def test_contains_with_a_reference_that_normalises_to_nothing_wants_nothing() -> None:
    # "" is in every string; crediting every answer would make the metric meaningless.
    scores = ContainsScorer().score_many([item("!", "..."), item("anything at all", "...")])
    assert scores == [1.0, 0.0]


def test_regex_checks_a_multi_line_layout_on_the_raw_output() -> None:
    scorer = RegexScorer(r"^Summary: .+\nRating: \d+/10$")
    scores = scorer.score_many(
        [
            item("Summary: friendly crew\nRating: 8/10", ""),
            item("Summary: friendly crew Rating: 8/10", ""),
            item("Summary: friendly crew\nRating: eight/10", ""),
        ]
    )
    assert scores == [1.0, 0.0, 0.0]


def test_regex_dot_matches_newlines_and_search_finds_it_anywhere() -> None:
    scorer = RegexScorer("Dear .*Regards")
    assert scorer.score_many([item("x", "", output="Hi.\nDear Ana,\nthanks.\nRegards")]) == [1.0]


def test_regex_sees_the_output_as_written_not_the_stripped_answer() -> None:
    scorer = RegexScorer("^Return ")
    scores = scorer.score_many(
        [
            item("Return it", "", output="Return it"),
            item("Return it", "", output="  Return it"),
            item(None, "", output="Return it"),
        ]
    )
    assert scores == [1.0, 0.0, 0.0]


def test_regex_names_its_pattern() -> None:
    scorer = RegexScorer("^Return ")
    assert (scorer.name, scorer.display) == ("regex:^Return ", "regex /^Return /")
    assert scorer.describe()["pattern"] == "^Return "


def test_a_pattern_that_does_not_compile_is_refused() -> None:
    with pytest.raises(ValueError, match="does not compile"):
        RegexScorer("(unclosed")
