"""chrF, BLEU and ROUGE-L: hand-worked values, and exactly what the libraries give."""

from __future__ import annotations

import math
from importlib.metadata import version

import pytest
import sacrebleu
from rouge_score.rouge_scorer import RougeScorer

from adaptlab.evaluation.scoring import Scored
from adaptlab.evaluation.scoring.overlap import BleuScorer, ChrfScorer, RougeLScorer

PAIRS = [
    (
        "We're sorry your bag was delayed; it will reach your hotel tonight.",
        "Sorry about the delay: your bag arrives at your hotel tonight.",
    ),
    ("Your refund of 40 EUR has been issued.", "We have issued a refund of EUR 40 to your card."),
    ("The meeting moved to Thursday at 3pm.", "Meeting rescheduled: Thursday, 15:00."),
    ("Überweisung erhalten, danke!", "Zahlung erhalten – vielen Dank!"),
]


def scores(scorer, pairs: list[tuple[str | None, str]]) -> list[float | None]:
    return scorer.score_many([Scored(answer=a, output=a or "", reference=r, input="q") for a, r in pairs])


def test_bleu_by_hand() -> None:
    values = scores(
        BleuScorer(),
        [
            ("the cat sat on the mat", "the cat sat on the mat"),
            ("dogs bark loudly", "the cat sat on the mat"),
            # clipped n-gram precisions 5/6, 3/5, 2/4, 1/3, same length (no brevity penalty)
            ("the cat sat on the mat", "the cat sat on a mat"),
            # effective order: only unigrams exist (1/1), brevity penalty exp(1 - 6/1)
            ("cat", "the cat sat on the mat"),
            (None, "the cat sat on the mat"),
        ],
    )
    assert values[:2] == [1.0, 0.0]  # sacrebleu says 100.00000000000004; clipped
    assert values[2] == pytest.approx((5 / 6 * 3 / 5 * 2 / 4 * 1 / 3) ** 0.25)
    assert values[3] == pytest.approx(math.exp(-5))
    assert values[4] == 0.0


def test_chrf_by_hand() -> None:
    values = scores(ChrfScorer(), [("abc", "abc"), ("abc", "xyz"), ("abc", "abd"), (None, "abc")])
    # abc vs abd: precision = recall = (2/3 + 1/2 + 0/1) / 3 orders = 7/18, so F = 7/18
    assert values == [1.0, 0.0, pytest.approx(7 / 18), 0.0]


def test_rouge_l_by_hand() -> None:
    values = scores(
        RougeLScorer(),
        [
            ("the cat", "the cat sat"),  # P = 1, R = 2/3
            ("The cat, sat!", "the cat sat"),
            ("sat the cat", "the cat sat"),  # LCS "the cat": P = R = 2/3
            ("кошка сидит", "кошка сидит"),  # the tokenizer keeps ASCII only: no words
            (None, "the cat sat"),
        ],
    )
    assert values == [pytest.approx(0.8), 1.0, pytest.approx(2 / 3), 0.0, 0.0]


def test_scores_are_what_the_libraries_give() -> None:
    rouge = RougeScorer(["rougeL"])
    assert scores(ChrfScorer(), PAIRS) == [sacrebleu.sentence_chrf(a, [r]).score / 100 for a, r in PAIRS]
    assert scores(BleuScorer(), PAIRS) == [sacrebleu.sentence_bleu(a, [r]).score / 100 for a, r in PAIRS]
    assert scores(RougeLScorer(), PAIRS) == [rouge.score(r, a)["rougeL"].fmeasure for a, r in PAIRS]
    assert all(0 < value < 1 for value in scores(ChrfScorer(), PAIRS))


@pytest.mark.parametrize(
    ("scorer", "display", "library"),
    [
        (ChrfScorer, "chrF", "sacrebleu"),
        (BleuScorer, "BLEU", "sacrebleu"),
        (RougeLScorer, "ROUGE-L", "rouge-score"),
    ],
)
def test_describe_records_the_library_and_its_version(scorer, display: str, library: str) -> None:
    described = scorer().describe()
    assert described["display"] == display
    assert (described["library"], described["version"]) == (library, version(library))
