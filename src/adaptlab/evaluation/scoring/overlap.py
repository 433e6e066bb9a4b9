"""How much of the reference's wording the answer shares: chrF, BLEU and ROUGE-L, each computed
by its reference library (sacrebleu, rouge-score) per example and divided into [0, 1].

The libraries are imported when a scorer is built, and each scorer builds its metric object
once, so `import adaptlab.evaluation.scoring` stays cheap and a rung's thousand examples pay
for one construction, not a thousand.

>>> BleuScorer().score_many([Scored("the cat sat on the mat", "", "the cat sat on the mat", "")])
[1.0]
"""

from __future__ import annotations

from importlib.metadata import version
from typing import Any, ClassVar

from adaptlab.evaluation.scoring.base import Scored
from adaptlab.evaluation.scoring.text import ItemScorer, clipped


class LibraryScorer(ItemScorer):
    """A scorer whose numbers come from a library; `describe` records which, at what version,
    with which settings, so a score in results.json can be recomputed."""

    library: str
    settings: ClassVar[dict[str, Any]]

    def describe(self) -> dict[str, Any]:
        library = {"library": self.library, "version": version(self.library)}
        return super().describe() | library | self.settings


class ChrfScorer(LibraryScorer):
    """sacrebleu's sentence chrF (character 6-grams, beta 2, whitespace ignored): what
    ``sacrebleu.sentence_chrf(answer, [reference]).score / 100`` gives. It credits partly right
    words and works in any script, so it is the default free-text metric."""

    name = "chrf"
    display = "chrF"
    library = "sacrebleu"
    settings: ClassVar[dict[str, Any]] = {"char_order": 6, "word_order": 0, "beta": 2, "eps_smoothing": False}

    def __init__(self) -> None:
        from sacrebleu.metrics import CHRF

        self.metric = CHRF(**self.settings)

    def score_one(self, answer: str, item: Scored) -> float:
        return clipped(self.metric.sentence_score(answer, [item.reference]).score / 100)


class BleuScorer(LibraryScorer):
    """sacrebleu's sentence BLEU with the settings of ``sacrebleu.sentence_bleu``: 13a
    tokenisation, case-sensitive, effective order (n-gram orders longer than the answer are left
    out rather than zeroing the score) and ``exp`` smoothing — an order with no match counts as
    1/(2^k · n-grams) for its k-th such order, Chen & Cherry's method 3 as in NIST mteval-v13a.
    An answer sharing no word with the reference scores 0; an identical one 1.

    BLEU was built for corpora; per sentence it is harsh on short answers, so prefer chrF
    unless users judge by BLEU.
    """

    name = "bleu"
    display = "BLEU"
    library = "sacrebleu"
    settings: ClassVar[dict[str, Any]] = {
        "tokenize": "13a",
        "lowercase": False,
        "smooth_method": "exp",
        "effective_order": True,
    }

    def __init__(self) -> None:
        from sacrebleu.metrics import BLEU

        self.metric = BLEU(**self.settings)

    def score_one(self, answer: str, item: Scored) -> float:
        return clipped(self.metric.sentence_score(answer, [item.reference]).score / 100)


class RougeLScorer(LibraryScorer):
    """rouge-score's ROUGE-L F-measure (longest common subsequence of words), no stemming.

    Its tokenizer lowercases, then keeps only runs of ASCII letters and digits: ``café`` is the
    word ``caf``, punctuation and emoji vanish, and text in a non-Latin script (Greek, Cyrillic,
    Chinese, Arabic...) has no words at all and scores 0 against anything. Use chrF for such
    tasks.
    """

    name = "rouge-l"
    display = "ROUGE-L"
    library = "rouge-score"
    settings: ClassVar[dict[str, Any]] = {
        "rouge_types": ["rougeL"],
        "use_stemmer": False,
        "tokenizer": "default (lowercased ASCII letters and digits)",
    }

    def __init__(self) -> None:
        from rouge_score.rouge_scorer import RougeScorer

        self.metric = RougeScorer(["rougeL"], use_stemmer=False)

    def score_one(self, answer: str, item: Scored) -> float:
        return clipped(self.metric.score(item.reference, answer)["rougeL"].fmeasure)
