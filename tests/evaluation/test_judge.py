"""The judge metric against a real HTTP server on 127.0.0.1 that grades from a script: grades
read from text or from logprobs, garbage and failed requests counted, never cached as grades."""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from adaptlab.data.scoring_spec import JudgeSpec
from adaptlab.errors import UsageError
from adaptlab.evaluation.scoring.base import Scored, ScoringContext
from adaptlab.evaluation.scoring.judge import (
    JudgeScorer,
    bundled_rubric,
    expected_grade,
    fill_rubric,
    grade_score,
    parse_grade,
)
from adaptlab.models.openai.backend import OpenAIBackend
from adaptlab.models.openai.client import RetryPolicy
from adaptlab.store import Store
from fake_openai_server import FakeOpenAIServer, serve

QUESTION = "What is the capital of France?"
REFERENCE = "Paris is the capital of France."
# The model's answer -> what the judge replies to a rubric holding it.
REPLIES = {
    "Paris, the capital city.": "5",
    "It is Lyon.": "Grade: 1",
    "Paris, I believe, or maybe Lyon.": "3 out of 5",
    "It is Paris, on the Seine.": "**4/5**",
    "Bananas are yellow.": "I cannot grade this.",
    "Marseille, probably.": "Grade: 7",
    "Toulouse.": "It has 3 errors.",
}
ANSWERS = list(REPLIES)
FAST = RetryPolicy(max_retries=1, timeout_s=2.0, backoff_base_s=0.01, backoff_cap_s=0.02)


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with serve(FakeOpenAIServer(dict(REPLIES))) as running:
        yield running


def item(answer: str | None) -> Scored:
    return Scored(answer=answer, output=answer or "", reference=REFERENCE, input=QUESTION)


def scorer_for(
    server: FakeOpenAIServer, *, store: Store | None = None, rubric: str | None = None
) -> JudgeScorer:
    """A judge on `server` whose retries are quick (the default backend waits seconds)."""

    def backend(spec: JudgeSpec) -> OpenAIBackend:
        return OpenAIBackend("judge", base_url=server.base_url, policy=FAST, rng=random.Random(0))

    spec = JudgeSpec(model="openai:judge", base_url=server.base_url, rubric=rubric)
    return JudgeScorer(ScoringContext(judge=spec, judge_backend=backend, store=store))


def test_grades_in_the_judges_text_become_scores_and_garbage_is_a_failed_grading(
    server: FakeOpenAIServer,
) -> None:
    server.logprobs = "omit"
    spec = JudgeSpec(model="openai:judge", base_url=server.base_url)
    scorer = JudgeScorer(ScoringContext(judge=spec))  # the default backend, loaded from the spec
    scores = scorer.score_many([item(answer) for answer in ANSWERS] + [item(None)])
    # 5 -> 1.0, 1 -> 0.0, 3 -> 0.5, 4 -> 0.75; no grade, a grade off the scale and a number that
    # is not a grade (the backend's lenient label reading would take "3 errors" for a 3) fail.
    assert scores == [1.0, 0.0, 0.5, 0.75, None, None, None, 0.0]
    described = scorer.describe()
    assert described["gradings"] == {"logprobs": 0, "text": 4, "failed": 3}
    assert described["failures"] == {"no grade in the reply": 3}
    assert "no grade in 'I cannot grade this.'" in described["failure_examples"]
    assert described["no_answer"] == 1  # no answer scores 0 and the judge is not asked
    # One request found the server has no logprobs; then each answer was asked once, as text.
    assert server.logprob_requests == 1
    assert len(server.asked) == 2 + len(ANSWERS)
    assert described["usage"]["requests"] == 1 + len(ANSWERS)
    assert described["usage"]["prompt_tokens"] > 0 and described["usage"]["completion_tokens"] > 0
    # The judge saw the bundled rubric with the question, the reference and the answer in it.
    sent = fill_rubric(bundled_rubric(), item(ANSWERS[0]))
    assert sent in server.asked and QUESTION in sent and REFERENCE in sent and ANSWERS[0] in sent
    assert described["rubric"] == bundled_rubric() and described["rubric_source"] == "bundled"


def test_without_logprobs_no_lenient_label_reading_passes_for_a_grade(
    server: FakeOpenAIServer, tmp_path: Path
) -> None:
    server.logprobs = "omit"
    with Store.open(tmp_path / "adaptlab.db") as store:
        for _ in range(2):
            scorer = scorer_for(server, store=store)
            # The backend's fallback reads "It has 3 errors." as the label "3"; the judge does not.
            assert scorer.score_many([item("Toulouse.")]) == [None]
            assert scorer.describe()["gradings"] == {"logprobs": 0, "text": 0, "failed": 1}
    # The logprobs request, the backend's fallback (neither cached), then the reply asked as text;
    # the second run reads the cached reply and asks nothing.
    assert server.logprob_requests == 1 and len(server.asked) == 3


def test_the_score_is_the_expected_grade_under_the_judges_logprobs(server: FakeOpenAIServer) -> None:
    server.top_logprobs = {
        ANSWERS[3]: [("4", math.log(0.6)), ("5", math.log(0.3)), ("The", math.log(0.1))],
        ANSWERS[0]: [(" 5", 0.0)],
        # The judge was about to explain itself (grades hold 10%): its text is read instead.
        ANSWERS[2]: [("The", math.log(0.9)), ("3", math.log(0.1))],
    }
    scorer = scorer_for(server)
    scores = scorer.score_many([item(ANSWERS[3]), item(ANSWERS[0]), item(ANSWERS[2])])
    expected = ((4 * 0.6 + 5 * 0.3) / 0.9 - 1) / 4
    assert scores == [pytest.approx(expected), 1.0, 0.5]
    assert scorer.describe()["gradings"] == {"logprobs": 2, "text": 1, "failed": 0}
    assert server.logprob_requests == 3 and len(server.asked) == 4  # one reply generated


def test_a_failed_request_is_counted_and_asked_again_but_a_garbage_reply_is_not(
    server: FakeOpenAIServer, tmp_path: Path
) -> None:
    failing, garbage = ANSWERS[3], ANSWERS[4]
    server.permanent = {failing}
    server.top_logprobs = {failing: [("4", -0.01)]}
    items = [item(answer) for answer in ANSWERS]
    with Store.open(tmp_path / "adaptlab.db") as store:
        first = scorer_for(server, store=store)
        scores = first.score_many(items)
        assert scores[3] is None and scores[4] is None and scores[:3] == [1.0, 0.0, 0.5]
        described = first.describe()
        assert described["gradings"]["failed"] == 4
        assert described["failures"] == {"request failed": 1, "no grade in the reply": 3}
        assert any(e.startswith("HTTP 500 after 2 attempts") for e in described["failure_examples"])
        assert sum(failing in message for message in server.asked) == 2  # tried, retried, given up

        server.permanent = set()
        before = len(server.asked)
        second = scorer_for(server, store=store)
        again = second.score_many(items)
        # Only the failed request is asked again; the garbage reply was cached and fails again.
        assert len(server.asked) - before == 1 and failing in server.asked[-1]
        assert garbage not in " ".join(server.asked[before:])
        assert again == [1.0, 0.0, 0.5, 0.75, None, None, None]
        usage = second.describe()["usage"]
        assert usage["requests"] == 1 and usage["reused_from_cache"] == len(ANSWERS) - 1
        assert second.describe()["failures"] == {"no grade in the reply": 3}


def test_a_rubric_from_the_spec_replaces_the_bundled_one(server: FakeOpenAIServer) -> None:
    rubric = 'Q: {input}\nGold: {reference}\nCandidate: {answer}\nGrade 1-5, as JSON {"grade": N}.'
    scorer = scorer_for(server, rubric=rubric)
    tricky = item("Paris, the capital city. {reference}")
    scorer.score_many([tricky])
    expected = f"Q: {QUESTION}\nGold: {REFERENCE}\nCandidate: {tricky.answer}\n"
    assert server.asked[0] == expected + 'Grade 1-5, as JSON {"grade": N}.'  # filled once, braces kept
    assert scorer.describe()["rubric"] == rubric and scorer.describe()["rubric_source"] == "task spec"


def test_a_rubric_that_hides_a_text_from_the_judge_is_refused_before_any_model_loads() -> None:
    def no_backend(spec: JudgeSpec) -> OpenAIBackend:
        raise AssertionError("the backend was built")

    spec = JudgeSpec(
        model="openai:judge", base_url="http://127.0.0.1:9/v1", rubric="Grade {answer} vs {reference}"
    )
    with pytest.raises(ValueError, match=r"the judge's rubric lacks \{input\}: write \{input\}"):
        JudgeScorer(ScoringContext(judge=spec, judge_backend=no_backend))


def test_without_a_judge_the_error_says_how_to_set_one(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UsageError, match=r"judge: \{model: openai:NAME, base_url: http://HOST:PORT/v1\}"):
        JudgeScorer(ScoringContext())
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(UsageError, match=r"the judge openai:judge needs its server's address"):
        JudgeScorer(ScoringContext(judge=JudgeSpec(model="openai:judge")))


def test_the_record_names_the_judge_without_its_credentials(
    server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUDGE_KEY", "sk-judge-0123456789")
    url = f"http://user:pa55word@127.0.0.1:{server.port}/v1"
    scorer = JudgeScorer(
        ScoringContext(judge=JudgeSpec(model="openai:judge", base_url=url, api_key_env="JUDGE_KEY"))
    )
    scorer.score_many([item(ANSWERS[0])])
    described = scorer.describe()
    assert server.authorization  # sent (the URL's basic auth wins over the key's bearer header)
    assert (described["name"], described["model"], described["base_url"]) == (
        "judge",
        "openai:judge",
        server.base_url,
    )
    assert described["api_key_env"] == "JUDGE_KEY"
    recorded = json.dumps(described)
    assert "pa55word" not in recorded and "sk-judge" not in recorded


@pytest.mark.parametrize(
    ("reply", "grade"),
    [
        ("4", 4),
        ("**4**", 4),
        ("Grade: 4.", 4),
        ("4/5", 4),
        ("Score: 5 out of 5", 5),
        ("The answer misses the date.\nGrade: 2", 2),
        ("It has 2/3 of the facts. Rating - 3", 3),
        ("I would say 4/5.", 4),
        ("Grade: 4. On reflection, grade: 5", None),  # two different grades
        ("Grade: 7", None),  # off the scale
        ("0", None),
        ("Score: 8/10", None),  # another scale
        ("4.5", None),
        ("I would give it a 4", None),  # a number, not a grade
        ("", None),
    ],
)
def test_a_grade_is_read_strictly_from_a_reply(reply: str, grade: int | None) -> None:
    assert parse_grade(reply) == grade


def test_grades_map_onto_zero_to_one_and_logprobs_need_most_of_the_mass() -> None:
    assert [grade_score(grade) for grade in range(1, 6)] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert expected_grade({"1": -math.inf, "2": math.log(0.5), "3": math.log(0.5)}) == pytest.approx(2.5)
    assert expected_grade({"4": math.log(0.2), "5": math.log(0.2)}) is None  # 40%: it meant to say more
