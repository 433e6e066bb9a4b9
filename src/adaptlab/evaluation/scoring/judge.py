"""The ``judge`` metric: a model behind an OpenAI-compatible endpoint grades each answer.

The judge reads a rubric with the task input, the reference answer and the answer to grade
filled in, and replies with a grade from 1 to 5; the score is (grade - 1) / 4. Each grading
is read one of two ways:

* **logprobs** — the endpoint returns the first token's ``top_logprobs``: the score is the
  expected grade under that distribution, renormalised over the grade tokens, so a judge torn
  between 4 and 5 gives 4.5 rather than a coin flip. The backend's label scoring computes the
  probabilities; the candidates are "1" … "5".
* **text** — the endpoint returns no log-probabilities, or the grade tokens were not the
  judge's likely start (it was about to explain first): its reply is generated and the grade
  read strictly (`parse_grade`).

A failed grading — the request failed after its retries, or the reply held no grade on the
scale — scores None: counted in `describe()` and left out of the mean, never a silent zero.
Gradings go through the evaluation engine, so they are concurrent and cached in the run store
under the judge's identity. A failed request is never cached, so a re-run asks it again. A
reply that came back but held no grade *is* cached: decoding is greedy, so asking again would
bring the same text, and a re-run reads it again and fails it again. Changing the rubric or
the judge changes the cache key, which is how to grade again.

>>> spec = JudgeSpec(model="openai:Qwen/Qwen2.5-7B-Instruct", base_url="http://localhost:8000/v1")
>>> JudgeScorer(ScoringContext(judge=spec)).score_many([Scored("Paris", "Paris", "Paris", "Capital?")])
[1.0]
"""

from __future__ import annotations

import math
import os
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import replace
from importlib.resources import files
from typing import Any

from adaptlab.data.scoring_spec import JudgeSpec
from adaptlab.errors import UsageError
from adaptlab.evaluation.answers import Answer
from adaptlab.evaluation.cache import ResultCache
from adaptlab.evaluation.engine import Request, ask
from adaptlab.evaluation.scoring.base import Scored, Scorer, ScoringContext
from adaptlab.models.base import Backend, Conversation, Generation, LabelScores, ProgressCallback
from adaptlab.models.openai.labels import LOGPROBS_METHOD
from adaptlab.models.openai.urls import public_url
from adaptlab.store import Store

GRADES = range(1, 6)
"""The judge's scale. Single digits, so each grade is one token and none is the first token
of another (on a 1-10 scale "1" would start "10")."""
GRADE_LABELS = tuple(str(grade) for grade in GRADES)
MIN_GRADE_MASS = 0.5
"""The least probability the grade tokens must hold among the judge's first tokens for the
logprobs to be read; below it the judge was about to write something else (a reason first),
and its text is read instead."""
REPLY_TOKENS = 128
"""Room for a sentence or two of reasons before the grade, should a rubric ask for them."""
PLACEHOLDERS = ("input", "reference", "answer")
BY_LOGPROBS = Request("score", labels=GRADE_LABELS)
BY_TEXT = Request("generate", max_new_tokens=REPLY_TOKENS)
NO_LOGPROBS = "the judge's endpoint gives no logprobs; its reply is read instead"
FAILURE_EXAMPLES = 3
NO_JUDGE = (
    "the judge metric needs a model to grade with: add to the task spec"
    " `judge: {model: openai:NAME, base_url: http://HOST:PORT/v1}`"
    " (any OpenAI-compatible server: vLLM, Ollama, llama.cpp, a hosted API)"
)

_PLACEHOLDER = re.compile(r"\{(input|reference|answer)\}")


def bundled_rubric() -> str:
    """The rubric a task gets unless its spec gives one (``adaptlab/data/judge/rubric.md``)."""
    return (files("adaptlab.data") / "judge" / "rubric.md").read_text(encoding="utf-8")


def check_rubric(rubric: str) -> str:
    """`rubric` if it shows the judge all three texts, else a `ValueError` naming what is missing.

    >>> check_rubric("Grade {answer} from 1 to 5 against {reference}.")
    Traceback (most recent call last):
    ValueError: the judge's rubric lacks {input}: write {input}, {reference} and {answer} where ...
    """
    missing = [f"{{{name}}}" for name in PLACEHOLDERS if f"{{{name}}}" not in rubric]
    if missing:
        raise ValueError(
            f"the judge's rubric lacks {' and '.join(missing)}: write {{input}}, {{reference}} and"
            " {answer} where the task input, the reference answer and the answer to grade go,"
            f" and ask for a grade from {GRADES[0]} to {GRADES[-1]}"
        )
    return rubric


def fill_rubric(rubric: str, item: Scored) -> str:
    """The rubric with the three texts in place, substituted in one pass (so an answer that
    contains ``{reference}`` is not filled in again), other braces left as written."""
    values = {"input": item.input, "reference": item.reference, "answer": item.answer or ""}
    return _PLACEHOLDER.sub(lambda match: values[match.group(1)], rubric)


def grade_score(grade: float) -> float:
    """A grade on the scale as a score in [0, 1]: (grade - min) / (max - min).

    >>> grade_score(4)
    0.75
    """
    return (grade - GRADES[0]) / (GRADES[-1] - GRADES[0])


def expected_grade(logprobs: Mapping[str, float]) -> float | None:
    """The mean grade under the judge's first-token probabilities of the grade tokens, which
    are renormalised; None when together they hold less than `MIN_GRADE_MASS`.

    >>> expected_grade({"3": -math.inf, "4": math.log(0.6), "5": math.log(0.3)})
    4.333333333333334
    """
    weights = {int(label): math.exp(logprob) for label, logprob in logprobs.items()}
    mass = sum(weights.values())
    if mass < MIN_GRADE_MASS:
        return None
    return sum(grade * weight for grade, weight in weights.items()) / mass


_NUMBER = r"(\d+(?:[.,]\d+)?)"
_OUT_OF = r"(?:\s*(?:/|out\s+of)\s*(\d+))?"
_LABEL = r"(?:grade|score|rating)"
_WHOLE_REPLY = re.compile(rf"(?:(?:final\s+)?{_LABEL}\s*(?:is|[:=-])?\s*)?{_NUMBER}{_OUT_OF}\s*[.!]?", re.I)
_LABELLED = re.compile(rf"\b{_LABEL}\b\s*(?:is|[:=-])?\s*{_NUMBER}{_OUT_OF}", re.I)
_ON_THE_SCALE = re.compile(rf"(?<![\w.,]){_NUMBER}\s*(?:/|out\s+of)\s*({GRADES[-1]})(?!\d|[.,]\d)", re.I)


def parse_grade(reply: str) -> int | None:
    """The grade a judge's reply gives, or None when it gives none, several, or one off the
    scale. Accepted: the reply is a grade ("4", "**4**", "4/5", "Grade: 4."), or it contains
    grades that all agree, each labelled ("Grade: 4", "score is 4") or out of the top of the
    scale ("4/5", "4 out of 5"). Any other number in the text is not a grade.

    >>> [parse_grade(reply) for reply in ["4", "Grade: 4/5", "Good. Score: 5", "Grade: 7", "About 4"]]
    [4, 4, 5, None, None]
    """
    text = " ".join(reply.replace("*", "").replace("`", "").split())
    whole = _WHOLE_REPLY.fullmatch(text)
    readings = [whole] if whole else [*_LABELLED.finditer(text), *_ON_THE_SCALE.finditer(text)]
    grades = {_grade(match.group(1), match.group(2)) for match in readings}
    return grades.pop() if len(grades) == 1 else None


def _grade(number: str, scale: str | None) -> int | None:
    if (scale is not None and int(scale) != GRADES[-1]) or not number.isdigit():
        return None
    return int(number) if int(number) in GRADES else None


class JudgeScorer(Scorer):
    """Scores free-text answers by a judge model's grade (see the module docstring).

    Built from `ScoringContext.judge`; a missing judge or a rubric that does not show the judge
    the three texts is an error here, before any model loads or any request is sent.
    """

    name = "judge"
    display = "judge"

    def __init__(self, context: ScoringContext) -> None:
        spec = context.judge
        if spec is None:
            raise UsageError(NO_JUDGE)
        self.spec = spec
        self.rubric = check_rubric(spec.rubric) if spec.rubric is not None else bundled_rubric()
        judge = context.judge_backend(spec) if context.judge_backend is not None else load_judge(spec)
        self.backend = MeteredJudge(judge)
        self.cache: ResultCache | None = None
        if context.store is not None:
            self.cache_in(context.store)
        self.gradings: Counter[str] = Counter({"logprobs": 0, "text": 0, "failed": 0})
        self.failures: Counter[str] = Counter()
        self.failure_examples: list[str] = []
        self.no_answer = 0
        self.reused = 0

    def cache_in(self, store: Store) -> None:
        """Keep gradings in `store`, under the judge model's identity (a run opens its store
        after its scorers are built, so that a bad judge stops it before anything is written)."""
        self.cache = ResultCache(store, self.backend.cache_identity())

    def conversation(self, item: Scored) -> Conversation:
        return [{"role": "user", "content": fill_rubric(self.rubric, item)}]

    def score_many(self, items: Sequence[Scored]) -> list[float | None]:
        # No answer (nothing parsable, or the model's request failed) scores 0 like every
        # scorer gives it, without asking the judge.
        scores: list[float | None] = [0.0] * len(items)
        asked = [index for index, item in enumerate(items) if item.answer is not None]
        self.no_answer += len(items) - len(asked)
        conversations = {index: self.conversation(items[index]) for index in asked}
        to_read = self._read_before(conversations)
        read_before = set(to_read)
        by_logprobs = [index for index in asked if index not in read_before]
        answers = ask(self.backend, [conversations[i] for i in by_logprobs], BY_LOGPROBS, cache=self.cache)
        for index, answer in zip(by_logprobs, answers, strict=True):
            grade = expected_grade(answer.scores) if answer.scores is not None else None
            if answer.error is not None and answer.error != NO_LOGPROBS:
                scores[index] = self._failed("request failed", answer.error, answer)
            elif grade is None:
                to_read.append(index)
            else:
                scores[index] = self._graded("logprobs", grade, answer)
        replies = ask(self.backend, [conversations[i] for i in to_read], BY_TEXT, cache=self.cache)
        for index, answer in zip(to_read, replies, strict=True):
            grade = parse_grade(answer.text) if answer.error is None else None
            if answer.error is not None:
                scores[index] = self._failed("request failed", answer.error, answer)
            elif grade is None:
                scores[index] = self._failed("no grade in the reply", f"no grade in {answer.text!r}", answer)
            else:
                scores[index] = self._graded("text", grade, answer)
        return scores

    def _read_before(self, conversations: Mapping[int, Conversation]) -> list[int]:
        """The gradings whose reply a previous run cached as text: their logprobs gave no grade
        then (or there were none), and asking again would not change that, so a re-run against a
        server without logprobs sends nothing for them."""
        if self.cache is None:
            return []
        params = BY_TEXT.params()
        keys = {index: self.cache.key(self.backend.render(c), params) for index, c in conversations.items()}
        found = self.cache.store.cache_get_many(list(keys.values()))
        return [index for index, key in keys.items() if key in found]

    def _graded(self, way: str, grade: float, answer: Answer) -> float:
        self.gradings[way] += 1
        self.reused += answer.cached
        return grade_score(grade)

    def _failed(self, reason: str, example: str, answer: Answer) -> float | None:
        """None, the score of a failed grading, with the failure counted and maybe quoted."""
        self.gradings["failed"] += 1
        self.failures[reason] += 1
        self.reused += answer.cached
        if len(self.failure_examples) < FAILURE_EXAMPLES:
            self.failure_examples.append(example[:200])
        return None

    def describe(self) -> dict[str, Any]:
        """The judge (model, endpoint without credentials, the rubric it was given), how each
        grading went, and what the judge's requests in this run cost in tokens."""
        endpoint = self.backend.describe()
        base_url = endpoint.get("base_url") or (
            public_url(self.spec.base_url) if self.spec.base_url else None
        )
        return {
            **super().describe(),
            "model": self.spec.model,
            "base_url": base_url,
            "api_key_env": self.spec.api_key_env,
            "rubric_source": "task spec" if self.spec.rubric is not None else "bundled",
            "rubric": self.rubric,
            "grades": f"{GRADES[0]}-{GRADES[-1]}, scored (grade - {GRADES[0]}) / {GRADES[-1] - GRADES[0]}",
            "gradings": dict(self.gradings),
            "failures": dict(self.failures),
            "failure_examples": list(self.failure_examples),
            "no_answer": self.no_answer,
            "usage": {
                "requests": self.backend.requests,
                "prompt_tokens": self.backend.prompt_tokens,
                "completion_tokens": self.backend.completion_tokens,
                "reused_from_cache": self.reused,
                "token_counts": endpoint.get("token_counts"),
            },
        }


def load_judge(spec: JudgeSpec) -> Backend:
    """The judge's endpoint backend; its address comes from the spec or ``$OPENAI_BASE_URL``."""
    from adaptlab.models import load_backend
    from adaptlab.models.openai.backend import BASE_URL_ENV

    if spec.base_url is None and not os.environ.get(BASE_URL_ENV):
        raise UsageError(f"the judge {spec.model} needs its server's address (or {BASE_URL_ENV}): {NO_JUDGE}")
    return load_backend(spec.model, base_url=spec.base_url, api_key_env=spec.api_key_env)


class MeteredJudge(Backend):
    """The judge's backend as the engine sees it: it counts what is sent (requests and tokens
    for `describe()`), and it answers a score request with real log-probabilities or not at all.

    An endpoint backend that finds the server gives no logprobs falls back to generating a short
    reply and reading a label out of it by the strategies' lenient rules, which would take "It
    has 3 errors" for a 3. Rows it produced that way come back as errors (`NO_LOGPROBS`), so
    the engine caches none of them and the judge asks those gradings as text, read by
    `parse_grade`. Until a row has shown the server gives logprobs, one conversation is sent at
    a time, so a server without them costs one wasted request, not a batch.
    """

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.model_id = backend.model_id
        self.fingerprint = backend.fingerprint
        self.max_batch_size = backend.max_batch_size
        self.requests = 0
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self._confirmed = False

    def cache_identity(self) -> str:
        return self.backend.cache_identity()

    def render(self, conversation: Conversation) -> str:
        return self.backend.render(conversation)

    def count_tokens(self, text: str) -> int:
        return self.backend.count_tokens(text)

    def describe(self) -> dict[str, Any]:
        return self.backend.describe()

    def generate(
        self,
        conversations: Sequence[Conversation],
        *,
        max_new_tokens: int,
        stop: Sequence[str] = (),
        on_progress: ProgressCallback | None = None,
    ) -> list[Generation]:
        generations = self.backend.generate(
            conversations, max_new_tokens=max_new_tokens, stop=stop, on_progress=on_progress
        )
        self._meter(generations)
        return generations

    def score(
        self,
        conversations: Sequence[Conversation],
        candidates: Sequence[str],
        *,
        on_progress: ProgressCallback | None = None,
    ) -> list[LabelScores]:
        rows: list[LabelScores] = []
        while len(rows) < len(conversations) and self._gives_logprobs():
            end = len(conversations) if self._confirmed else len(rows) + 1
            fresh = self.backend.score(conversations[len(rows) : end], candidates, on_progress=on_progress)
            self._meter(fresh)
            if self._gives_logprobs():
                self._confirmed = self._confirmed or any(row.error is None for row in fresh)
            else:
                fresh = [replace(row, error=row.error or NO_LOGPROBS) for row in fresh]
            rows.extend(fresh)
        unasked = len(conversations) - len(rows)
        nothing = tuple(-math.inf for _ in candidates)
        rows.extend(LabelScores(nothing, 0, 0.0, error=NO_LOGPROBS) for _ in range(unasked))
        if unasked and on_progress is not None:
            on_progress(unasked)
        return rows

    def _gives_logprobs(self) -> bool:
        """False once an endpoint backend has switched its label scoring to generation; a
        backend without that switch (a local model) always scores by likelihood."""
        return getattr(self.backend, "label_scoring", LOGPROBS_METHOD) == LOGPROBS_METHOD

    def _meter(self, rows: Sequence[Generation | LabelScores]) -> None:
        self.requests += len(rows)
        self.prompt_tokens += sum(row.prompt_tokens for row in rows)
        self.completion_tokens += sum(row.output_tokens for row in rows)
