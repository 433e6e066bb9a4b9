"""The engine's result cache and label-scoring bookkeeping, with a scripted backend."""

from __future__ import annotations

from pathlib import Path

import pytest

from adaptlab.data.task import Example, Task
from adaptlab.evaluation import Request, ResultCache, ask, evaluate
from adaptlab.evaluation.cache import cache_key
from adaptlab.evaluation.engine import combine_surfaces, label_surfaces
from adaptlab.prompting import get_strategy
from adaptlab.store import Store

from fakes import ScriptedBackend

LABELS = ("negative", "neutral", "positive")
EXAMPLES = tuple(
    Example(id=str(i), input=f"tweet {i} is {LABELS[i % 3]}", output=LABELS[i % 3]) for i in range(20)
)
TASK = Task(name="t", examples=EXAMPLES, labels=LABELS, instruction="Classify.")


def answer(prompt: str) -> str:
    return prompt.rsplit(" is ", 1)[1].split()[0]


@pytest.fixture
def store(tmp_path: Path):
    with Store.open(tmp_path / "adaptlab.db") as store:
        yield store


def conversations() -> list[list[dict[str, str]]]:
    return [get_strategy("zero-shot").render(e, TASK) for e in EXAMPLES]


def test_a_second_ask_is_answered_from_the_cache(store: Store) -> None:
    backend = ScriptedBackend(answer)
    request = Request(mode="generate", max_new_tokens=5)
    first = ask(backend, conversations(), request, cache=ResultCache(store, backend.cache_identity()))
    assert sum(backend.calls) == 20 and not any(a.cached for a in first)

    again = ScriptedBackend(answer)
    cache = ResultCache(store, again.cache_identity())
    progress: list[int] = []
    second = ask(again, conversations(), request, cache=cache, on_progress=progress.append)
    assert again.calls == [] and all(a.cached for a in second)
    assert [a.text for a in second] == [a.text for a in first]
    assert (cache.hits, cache.misses, sum(progress)) == (20, 0, 20)


def test_a_request_without_stop_keeps_the_cache_key_it_always_had() -> None:
    """`stop` joins the cache key only when set: answers cached before it existed are found."""
    request = Request(mode="generate", max_new_tokens=5)
    assert request.params() == {"mode": "generate", "decoding": "greedy", "max_new_tokens": 5}
    key = "137437cbff184257686cf1848a2a2008b51cceac89d182dc5e9588a1ecbf936d"
    assert cache_key("scripted@000000000000", "user: hi", request.params()) == key
    stopped = Request(mode="generate", max_new_tokens=5, stop=("\n",))
    assert stopped.params() == {**request.params(), "stop": ["\n"]}
    assert cache_key("scripted@000000000000", "user: hi", stopped.params()) != key


def test_ask_passes_the_stop_strings_to_the_backend() -> None:
    backend = ScriptedBackend(lambda _: "first line\nsecond line")
    conversation = [{"role": "user", "content": "q"}]
    (plain,) = ask(backend, [conversation], Request(mode="generate", max_new_tokens=5))
    (stopped,) = ask(backend, [conversation], Request(mode="generate", max_new_tokens=5, stop=("\n",)))
    assert (plain.text, stopped.text) == ("first line\nsecond line", "first line")


def test_the_same_prompt_twice_in_one_ask_is_computed_and_cached_once(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two examples with the same input (common in real data) render the same prompt."""
    backend = ScriptedBackend(answer)
    cache = ResultCache(store, backend.cache_identity())
    stored: list[str] = []
    put_many = cache.put_many
    monkeypatch.setattr(
        cache, "put_many", lambda entries: (stored.extend(k for k, _ in entries), put_many(entries))
    )
    twice = conversations()[:3] * 2
    progress: list[int] = []
    answers = ask(
        backend, twice, Request(mode="generate", max_new_tokens=5), cache=cache, on_progress=progress.append
    )
    assert sum(backend.calls) == 3 and len(stored) == len(set(stored)) == 3
    assert [a.text for a in answers] == [answer(c[-1]["content"]) for c in twice]
    assert sum(progress) == 6


@pytest.mark.parametrize(
    "change",
    ["decoding", "model", "prompt"],
)
def test_anything_that_changes_the_answer_misses_the_cache(store: Store, change: str) -> None:
    backend = ScriptedBackend(answer)
    request = Request(mode="generate", max_new_tokens=5)
    ask(backend, conversations()[:5], request, cache=ResultCache(store, backend.cache_identity()))
    other = ScriptedBackend(answer, model_id="other" if change == "model" else "scripted")
    convs = conversations()[:5]
    if change == "decoding":
        request = Request(mode="generate", max_new_tokens=6)
    if change == "prompt":
        convs = [get_strategy("format-label").render(e, TASK) for e in EXAMPLES[:5]]
    cache = ResultCache(store, other.cache_identity())
    ask(other, convs, request, cache=cache)
    assert (cache.hits, cache.misses, sum(other.calls)) == (0, 5, 5)


class Crash(Exception):
    pass


def test_a_killed_evaluation_resumes_where_it_stopped(store: Store) -> None:
    """Answers land in the cache chunk by chunk: after a crash only the rest is computed."""
    backend = ScriptedBackend(answer)
    backend.max_batch_size = 2  # chunks of 8 requests
    original = backend.generate

    def generate_then_die(*args, **kwargs):
        if len(backend.calls) == 2:
            raise Crash
        return original(*args, **kwargs)

    backend.generate = generate_then_die  # type: ignore[method-assign]
    strategy = get_strategy("zero-shot")
    with pytest.raises(Crash):
        evaluate(TASK, EXAMPLES, backend, strategy, cache=ResultCache(store, backend.cache_identity()))
    assert store.cache_size() == 16

    resumed = ScriptedBackend(answer)
    result = evaluate(TASK, EXAMPLES, resumed, strategy, cache=ResultCache(store, resumed.cache_identity()))
    assert sum(resumed.calls) == 4, "only the 4 unanswered examples are computed again"
    assert result.metrics.cache_hits == 16 and result.metrics.score == 1.0


def test_label_scoring_rungs_pick_the_most_likely_label_and_never_fail_to_parse() -> None:
    backend = ScriptedBackend(lambda prompt: "Neutral" if "tweet 2 is" in prompt else answer(prompt))
    result = evaluate(TASK, EXAMPLES, backend, get_strategy("label-scoring"))
    m = result.metrics
    assert (m.parse_failures, m.format_compliance, m.output_tokens_mean) == (0, 1.0, 0.0)
    first, _, third = result.predictions[:3]
    assert first.parsed == "negative" and first.correct
    # the scripted "Neutral" is found through the label's capitalised form
    assert third.parsed == "neutral" and not third.correct
    assert set(third.scores or {}) == set(LABELS)
    assert result.strategy["mode"] == "score"


def test_surfaces_cover_capitalised_labels_and_combine_by_probability() -> None:
    assert label_surfaces(["pos", "Neg"]) == [("pos", "pos"), ("pos", "Pos"), ("Neg", "Neg")]
    scores = combine_surfaces(["pos", "Neg"], label_surfaces(["pos", "Neg"]), [-1.0, -1.0, -0.5])
    assert scores["pos"] == pytest.approx(-1.0 + 0.6931, abs=1e-3)
    assert scores["Neg"] == -0.5


def test_consistency_counts_examples_answered_alike_under_every_variant() -> None:
    # The scripted model flips to "positive" when the prompt is phrased the third way.
    def fickle(prompt: str) -> str:
        if prompt.startswith("Here is an input.") and "tweet 1 " in prompt:
            return "positive"
        return answer(prompt.replace("\n\nClassify.", "").replace("Answer with", ""))

    backend = ScriptedBackend(fickle)
    result = evaluate(TASK, EXAMPLES[:3], backend, get_strategy("zero-shot"), consistency_sample=3)
    assert result.metrics.consistency_n == 3
    assert result.metrics.consistency == pytest.approx(2 / 3)
    assert sum(backend.calls) == 3 + 2 * 3
