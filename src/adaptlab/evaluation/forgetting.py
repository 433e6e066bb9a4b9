"""Did fine-tuning on the user's task cost the model its general ability? The forgetting probe.

The same 60 short general questions (capitals, arithmetic, plurals, phrase completions, unit
conversions; bundled as ``adaptlab/data/probes/general.jsonl``) are answered greedily before and
after tuning, and two measures are reported, because each one alone misleads:

* **Reference accuracy** — the share of answers that contain the right answer. It is the
  measure a reader understands, but a 135M model already gets most of these wrong, so its
  before/after delta sits near zero whether or not tuning damaged anything.
* **Agreement with the base model** — the share of questions the tuned model answers exactly as
  the untuned model did: the probe *scored by the base model's own answers*. It needs no right
  answers, so it stays sensitive when accuracy is at the floor: a LoRA adapter that leaves general
  behaviour alone keeps agreement near 1.0, one that makes the model answer everything in the
  task's label format drives it towards 0.

>>> result = compare_probe(answer_probe(base_backend), answer_probe(tuned_backend))
>>> result.agreement_with_base, result.reference_accuracy_delta
(0.93, 0.0)
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

from adaptlab.evaluation.metrics import mean
from adaptlab.models.base import Backend, Conversation
from adaptlab.prompting.parsing import normalize_answer

PROBE_SYSTEM_PROMPT = "Answer briefly."
"""Neutral on purpose: the probe measures the model, not a prompt tuned to help it."""
PROBE_MAX_NEW_TOKENS = 12
"""References are 1–3 words; 12 tokens hold a short sentence around them ("The capital of
France is Paris.") and keep the probe to seconds, since every row decodes until the longest
answer stops."""
MAX_CHANGED_EXAMPLES = 10
"""Changed answers a report shows: enough to see what kind of change it is, short enough to read."""

_ARTICLES = frozenset({"a", "an", "the"})
_DIGIT_GROUPING = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_APOSTROPHES = re.compile(r"['’]")
_PUNCTUATION = re.compile(r"[^\w\s]|_")


@dataclass(frozen=True)
class ProbeItem:
    """One probe question; an answer is right if it names `reference` or one of `aliases`."""

    id: str
    prompt: str
    reference: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class ProbeAnswers:
    """A model's greedy answers to a probe, in item order.

    Kept as raw text (not just right/wrong) so a later run can compare a tuned model's answers
    with these word for word.
    """

    items: tuple[ProbeItem, ...]
    answers: tuple[str, ...]

    def __post_init__(self) -> None:
        if len(self.items) != len(self.answers):
            raise ValueError(
                f"adaptlab: the probe has {len(self.items)} items but {len(self.answers)} answers were given"
            )

    @property
    def correct(self) -> tuple[bool, ...]:
        """Whether each answer matches its item's reference (see `matches_reference`)."""
        return tuple(matches_reference(a, item) for a, item in zip(self.answers, self.items, strict=True))

    @property
    def reference_accuracy(self) -> float:
        """Share of answers matching the reference or an alias; NaN for an empty probe."""
        return mean(self.correct)


@dataclass(frozen=True)
class ForgettingResult:
    """Before/after comparison of a base and a tuned model on the same probe."""

    n: int
    reference_accuracy_before: float
    reference_accuracy_after: float
    agreement_with_base: float
    changed: list[dict[str, str]]
    """Up to `MAX_CHANGED_EXAMPLES` items whose answer changed: id, prompt, before, after."""

    @property
    def reference_accuracy_delta(self) -> float:
        """After minus before: negative means tuning lost general answers."""
        return self.reference_accuracy_after - self.reference_accuracy_before

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "reference_accuracy_before": self.reference_accuracy_before,
            "reference_accuracy_after": self.reference_accuracy_after,
            "reference_accuracy_delta": self.reference_accuracy_delta,
            "agreement_with_base": self.agreement_with_base,
            "changed": [dict(example) for example in self.changed],
        }


def load_general_probe() -> list[ProbeItem]:
    """The bundled general-ability probe (60 items), in file order."""
    text = (files("adaptlab.data") / "probes" / "general.jsonl").read_text(encoding="utf-8")
    items = []
    for line in text.splitlines():
        if line.strip():
            row = json.loads(line)
            items.append(
                ProbeItem(
                    id=row["id"],
                    prompt=row["prompt"],
                    reference=row["reference"],
                    aliases=tuple(row.get("aliases", ())),
                )
            )
    return items


def probe_words(text: str) -> tuple[str, ...]:
    """The words answers are compared by: casefolded, punctuation and articles dropped.

    Thousands separators go ("1,000" is "1000") and apostrophes close up ("don't" is "dont");
    every other punctuation mark separates words, so "Paris." and "paris" are the same answer.

    >>> probe_words("The answer is: Paris.")
    ('answer', 'is', 'paris')
    """
    text = _DIGIT_GROUPING.sub("", normalize_answer(text))
    text = _PUNCTUATION.sub(" ", _APOSTROPHES.sub("", text))
    return tuple(word for word in text.split() if word not in _ARTICLES)


def matches_reference(answer: str, item: ProbeItem) -> bool:
    """Whether `answer` gives the item's reference (or an alias) as whole words.

    After `probe_words` normalisation, an answer matches when it equals the reference, starts
    with it or contains it as a whole-word run: "The answer is Paris" matches "Paris", while
    "Parisian" does not. Generous on purpose, because small models answer in sentences even when
    asked to be brief; the probe items are written so the reference never appears in the question,
    so echoing the question earns nothing.

    >>> matches_reference("Paris.", ProbeItem("g01", "Capital of France?", "paris"))
    True
    """
    said = probe_words(answer)
    for accepted in (item.reference, *item.aliases):
        wanted = probe_words(accepted)
        if wanted and any(
            said[start : start + len(wanted)] == wanted for start in range(len(said) - len(wanted) + 1)
        ):
            return True
    return False


def answer_probe(
    backend: Backend, items: Sequence[ProbeItem] | None = None, *, max_new_tokens: int = PROBE_MAX_NEW_TOKENS
) -> ProbeAnswers:
    """Greedy answers of `backend` to every probe item, in one batched `generate` call.

    `items` defaults to the bundled general probe. The before and after runs must use the same
    items and `max_new_tokens`, or their answers are not comparable.
    """
    probe = tuple(load_general_probe() if items is None else items)
    conversations: list[Conversation] = [
        [{"role": "system", "content": PROBE_SYSTEM_PROMPT}, {"role": "user", "content": item.prompt}]
        for item in probe
    ]
    generations = backend.generate(conversations, max_new_tokens=max_new_tokens)
    return ProbeAnswers(items=probe, answers=tuple(g.text.strip() for g in generations))


def compare_probe(before: ProbeAnswers, after: ProbeAnswers) -> ForgettingResult:
    """How the tuned model's probe answers (`after`) differ from the base model's (`before`).

    Two answers agree when their `probe_words` are identical, so a changed full stop or article
    is not counted as forgetting.
    """
    if [item.id for item in before.items] != [item.id for item in after.items]:
        raise ValueError("adaptlab: the before and after probe answers are for different probe items")
    same = [probe_words(b) == probe_words(a) for b, a in zip(before.answers, after.answers, strict=True)]
    changed = [
        {"id": item.id, "prompt": item.prompt, "before": b, "after": a}
        for item, b, a, agrees in zip(before.items, before.answers, after.answers, same, strict=True)
        if not agrees
    ]
    return ForgettingResult(
        n=len(before.items),
        reference_accuracy_before=before.reference_accuracy,
        reference_accuracy_after=after.reference_accuracy,
        agreement_with_base=mean(same),
        changed=changed[:MAX_CHANGED_EXAMPLES],
    )
