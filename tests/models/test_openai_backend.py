"""The OpenAI-compatible endpoint backend against a real HTTP server on 127.0.0.1 that
misbehaves on purpose: rate limits, server errors, timeouts, dropped connections."""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Iterator
from pathlib import Path

import pytest

from adaptlab.configs import EvalConfig
from adaptlab.data.task import Example, Task
from adaptlab.decide.costs import CostSettings, load_cost_settings, rung_cost
from adaptlab.errors import UsageError
from adaptlab.evaluation import ResultCache, evaluate
from adaptlab.models import endpoint_model, load_backend, resolve_model_spec
from adaptlab.models.openai.backend import OpenAIBackend
from adaptlab.models.openai.client import RetryPolicy, backoff_delay
from adaptlab.models.openai.labels import first_token_scores, generated_choice
from adaptlab.models.openai.parameters import GREEDY, REASONING_ALLOWANCE, SAMPLED, UNCONFIRMED
from adaptlab.models.openai.replies import output_tokens
from adaptlab.prompting import get_strategy
from adaptlab.store import Store
from fake_openai_server import REASONING_MODEL, FakeOpenAIServer, serve

LABELS = ("negative", "neutral", "positive")
INPUTS = {f"tweet number {i} about the flight": LABELS[i % 3] for i in range(12)}
TASK = Task(
    name="t",
    examples=tuple(
        Example(id=f"e{i}", input=text, output=gold) for i, (text, gold) in enumerate(INPUTS.items())
    ),
    labels=LABELS,
    instruction="Classify the sentiment.",
)
FIRST = next(iter(INPUTS))
FAST = RetryPolicy(max_retries=4, timeout_s=0.5, backoff_base_s=0.01, backoff_cap_s=0.05)
CANDIDATES = ["negative", "Negative", "neutral", "Neutral", "positive", "Positive"]


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with serve(FakeOpenAIServer(dict(INPUTS))) as running:
        yield running


def backend_for(server: FakeOpenAIServer, **options: object) -> OpenAIBackend:
    settings: dict[str, object] = {"policy": FAST, "rng": random.Random(0), **options}
    return OpenAIBackend("fake", base_url=server.base_url, **settings)  # type: ignore[arg-type]


def asked(text: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": "Answer with one label."}, {"role": "user", "content": text}]


# -- retries --------------------------------------------------------------------------------


def test_backoff_is_full_jitter_under_a_growing_capped_ceiling() -> None:
    policy = RetryPolicy(backoff_base_s=0.5, backoff_cap_s=20.0)
    rng = random.Random(42)
    draws = {retry: [backoff_delay(retry, rng, policy) for _ in range(400)] for retry in (1, 3, 8)}
    assert all(0.0 <= d <= 0.5 for d in draws[1]) and all(0.0 <= d <= 2.0 for d in draws[3])
    assert all(0.0 <= d <= 20.0 for d in draws[8]) and max(draws[8]) > 15.0  # 0.5 x 2^7 = 64, capped
    # Jitter: spread over the whole range, not a fixed delay.
    assert statistics.pstdev(draws[3]) > 0.4 and min(draws[3]) < 0.2 and max(draws[3]) > 1.8
    # Seeded, so reproducible.
    again = random.Random(42)
    assert [backoff_delay(1, again, policy) for _ in range(400)] == draws[1]
    # The server's Retry-After replaces the random wait, up to the cap.
    assert backoff_delay(2, rng, policy, retry_after=3.0) == 3.0
    assert backoff_delay(2, rng, policy, retry_after=600.0) == 20.0


def test_transient_failures_are_retried_until_every_answer_arrives_in_order(server: FakeOpenAIServer) -> None:
    server.faults = ["429", "500", "drop", "slow"]
    server.slow_s = 2.0
    backend = backend_for(server, concurrency=4)
    texts = list(INPUTS)[:6]
    progress: list[int] = []
    generations = backend.generate([asked(t) for t in texts], max_new_tokens=4, on_progress=progress.append)
    assert [g.text for g in generations] == [INPUTS[t] for t in texts]
    assert all(g.error is None for g in generations) and progress == [1] * 6
    # Four failures then success: five attempts for every request, which is 1 + max_retries.
    assert sorted(server.attempts.values()) == [5] * 6
    assert server.dropped == 6
    # Each request's latency is its own wall time, waits and the timed-out attempt included.
    assert all(0.5 <= g.latency_s < 5 for g in generations)


def test_a_request_that_keeps_failing_gives_an_error_not_an_exception(server: FakeOpenAIServer) -> None:
    failing = list(INPUTS)[1]
    server.permanent = {failing}
    backend = backend_for(server, policy=RetryPolicy(max_retries=2, timeout_s=0.5, backoff_base_s=0.01))
    generations = backend.generate([asked(t) for t in INPUTS], max_new_tokens=4)
    assert len(generations) == len(INPUTS)
    bad = generations[1]
    assert bad.text == "" and bad.error is not None
    assert bad.error.startswith("HTTP 500 after 3 attempts: ") and "the model crashed" in bad.error
    assert max(server.attempts.values()) == 3
    assert all(
        g.error is None and g.text == INPUTS[t]
        for g, t in zip(generations, INPUTS, strict=True)
        if t != failing
    )


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("slow", "timed out (no reply within 0.2 s) after 2 attempts"),
        ("drop", "connection failed after 2 attempts: RemoteProtocolError"),
        ("400", "HTTP 400: "),
        ("400-invalid", "HTTP 400: "),
    ],
)
def test_each_kind_of_failure_is_described(server: FakeOpenAIServer, fault: str, message: str) -> None:
    server.faults = [fault] * 3
    server.slow_s = 1.0
    backend = backend_for(server, policy=RetryPolicy(max_retries=1, timeout_s=0.2, backoff_base_s=0.01))
    (generation,) = backend.generate([asked(next(iter(INPUTS)))], max_new_tokens=4)
    assert generation.error is not None and generation.error.startswith(message)
    # A 4xx other than 429 is the request's own fault: it is not retried, nor learned from
    # (a max_tokens too large is the request's fault, not a parameter the server lacks).
    assert list(server.attempts.values()) == [1 if fault.startswith("400") else 2]
    assert backend.describe()["request_parameters"]["learned_from"] == []


def test_no_more_requests_are_in_flight_than_the_concurrency(server: FakeOpenAIServer) -> None:
    server.delay_s = 0.05
    backend = backend_for(server, concurrency=3)
    backend.generate([asked(t) for t in INPUTS], max_new_tokens=4)
    assert server.max_in_flight == 3
    assert backend.max_batch_size == 3


def test_an_unreachable_server_fails_each_request_with_a_reason() -> None:
    policy = RetryPolicy(max_retries=1, timeout_s=1.0, backoff_base_s=0.01)
    backend = OpenAIBackend("m", base_url="http://127.0.0.1:9/v1", policy=policy)
    (generation,) = backend.generate([asked("hello")], max_new_tokens=2)
    assert generation.error is not None and generation.error.startswith("connection failed after 2 attempts")


# -- answers, tokens, description -----------------------------------------------------------


def test_stop_strings_are_sent_only_when_there_are_some() -> None:
    """A request without stop is the body it always was; with one, the server ends the answer."""
    with serve(FakeOpenAIServer({"docstring": "Return the sum.\nThe function adds them."})) as server:
        backend = backend_for(server)
        (plain,) = backend.generate([asked("a docstring")], max_new_tokens=12)
        (stopped,) = backend.generate([asked("a docstring")], max_new_tokens=12, stop=["\n"])
    assert "stop" not in server.bodies[0]
    assert server.bodies[1]["stop"] == ["\n"]
    assert {k: v for k, v in server.bodies[1].items() if k != "stop"} == server.bodies[0]
    assert (plain.text, plain.output_tokens) == ("Return the sum. The function adds them.", 7)
    assert (stopped.text, stopped.output_tokens, stopped.stopped) == ("Return the sum.", 3, True)


def test_token_counts_come_from_usage_or_are_estimated_and_said_so(server: FakeOpenAIServer) -> None:
    text = FIRST
    backend = backend_for(server)
    (generation,) = backend.generate([asked(text)], max_new_tokens=4)
    words = 4 + len(text.split())  # "Answer with one label." and the text, in whitespace words
    assert (generation.prompt_tokens, generation.output_tokens) == (words, 1)
    assert backend.describe()["token_counts"] == "server"

    server.usage = False
    (estimated,) = backend.generate([asked(text + " again")], max_new_tokens=4)
    chars = len("Answer with one label.") + len(text + " again")
    assert estimated.prompt_tokens == math.ceil(chars / 4) and estimated.output_tokens == 2
    assert backend.describe()["token_counts"] == "estimated"
    assert "the server sent none" in backend.describe()["usage"]


def test_tokens_are_counted_by_the_servers_tokenize_or_estimated(server: FakeOpenAIServer) -> None:
    backend = backend_for(server)
    assert backend.count_tokens_many(["one two three", "negative", "one two three"]) == [3, 1, 3]
    # /v1/tokenize is missing (404), the server root's answers (vLLM's layout); each text asked once.
    assert server.paths["POST /v1/tokenize"] == 1 and server.paths["POST /tokenize"] == 2
    assert backend.describe()["tokenizer"] == f"the server's http://127.0.0.1:{server.port}/tokenize"

    server.tokenize = False
    other = backend_for(server)
    assert other.count_tokens("twelve chars") == 3
    assert other.describe()["token_counts"] == "estimated"
    assert other.count_tokens("more") == 1 and server.paths["POST /tokenize"] == 3  # tried once only


def test_the_rendered_prompt_is_canonical_json_of_the_messages(server: FakeOpenAIServer) -> None:
    backend = backend_for(server)
    one = [{"role": "user", "content": "héllo"}]
    same = [{"content": "héllo", "role": "user"}]
    assert backend.render(one) == backend.render(same) == '[{"content":"héllo","role":"user"}]'


def test_the_api_key_is_sent_as_a_bearer_token_and_kept_out_of_errors(server: FakeOpenAIServer) -> None:
    server.permanent = {FIRST}
    backend = backend_for(server, api_key="sk-test-0123456789", api_key_env="MY_KEY")
    (generation,) = backend.generate([asked(FIRST)], max_new_tokens=4)
    assert server.authorization == {"Bearer sk-test-0123456789"}
    # The server quoted the Authorization header in its error body; the recorded error does not.
    assert generation.error is not None and "Bearer ***" in generation.error
    assert "sk-test" not in generation.error and "sk-test" not in str(backend.describe())
    assert backend.describe()["api_key_env"] == "MY_KEY"


def test_credentials_in_the_url_are_sent_but_never_recorded(server: FakeOpenAIServer) -> None:
    url = f"http://user:pa55word@127.0.0.1:{server.port}/v1"
    backend = OpenAIBackend("fake", base_url=url, policy=FAST)
    backend.generate([asked(FIRST)], max_new_tokens=4)
    assert any(value.startswith("Basic ") for value in server.authorization)
    described = str(backend.describe())
    assert "pa55word" not in described and backend.describe()["base_url"] == server.base_url
    assert backend.fingerprint == OpenAIBackend("fake", base_url=server.base_url).fingerprint


# -- label scoring --------------------------------------------------------------------------


def test_label_scoring_reads_the_first_tokens_top_logprobs(server: FakeOpenAIServer) -> None:
    backend = backend_for(server)
    texts = list(INPUTS)[:3]
    rows = backend.score([asked(t) for t in texts], CANDIDATES)
    for text, row in zip(texts, rows, strict=True):
        best = CANDIDATES[max(range(len(CANDIDATES)), key=lambda i: row.logprobs[i])]
        assert best == INPUTS[text] and max(row.logprobs) == pytest.approx(-0.1)
        assert row.output_tokens == 1 and row.prompt_tokens > 0
    assert backend.describe()["label_scoring"] == "first-token top_logprobs"
    assert server.logprob_requests == 3


def test_candidates_take_the_longest_top_token_that_starts_them() -> None:
    top = [("\u0120", -0.01), (" Pos", -1.0), (" Positive", -2.0), ("neg", -0.5), ("I", -0.2)]
    assert first_token_scores(top, ["Positive", "positive", "negative", "Negative"]) == (
        -2.0,
        -math.inf,
        -0.5,
        -math.inf,
    )
    assert generated_choice("Answer: Neutral", CANDIDATES) == (
        -math.inf,
        -math.inf,
        0.0,
        0.0,
        -math.inf,
        -math.inf,
    )
    assert generated_choice("negative or positive", CANDIDATES) == tuple([-math.inf] * 6)


@pytest.mark.parametrize(
    ("mode", "method"),
    [
        ("omit", "generation (the server returned no logprobs)"),
        ("reject", "generation (the server rejected logprobs: HTTP 400)"),
    ],
)
def test_label_scoring_falls_back_to_generation_without_logprobs(
    server: FakeOpenAIServer, mode: str, method: str
) -> None:
    server.logprobs = mode
    backend = backend_for(server)
    texts = list(INPUTS)
    rows = backend.score([asked(t) for t in texts], CANDIDATES)
    for text, row in zip(texts, rows, strict=True):
        expected = tuple(0.0 if c.lower() == INPUTS[text] else -math.inf for c in CANDIDATES)
        assert row.logprobs == expected and row.error is None
    assert backend.describe()["label_scoring"] == method
    # The first request showed the server has no logprobs; nothing asked for them after it.
    assert server.logprob_requests == 1
    backend.score([asked(texts[0])], CANDIDATES)
    assert server.logprob_requests == 1


def test_a_rung_whose_scores_name_no_label_is_unparsable_not_the_first_label(
    server: FakeOpenAIServer,
) -> None:
    server.answers = {}  # the only top token is "I cannot tell.": no label has any probability
    result = evaluate(TASK, TASK.examples[:3], backend_for(server), get_strategy("label-scoring"))
    assert [p.output for p in result.predictions] == ["", "", ""]
    assert all(p.parsed is None and not p.correct for p in result.predictions)
    assert result.predictions[0].scores == dict.fromkeys(LABELS)
    assert result.strategy["scoring"] == "first-token top_logprobs"


# -- reasoning models -----------------------------------------------------------------------


def test_a_reasoning_model_is_asked_again_with_the_parameters_it_takes(server: FakeOpenAIServer) -> None:
    """The first refusal of each parameter is learned, the request asked again at once (no
    retry spent: there are none to spend) and every later request sent adjusted."""
    server.refuses, server.reasoning_tokens = REASONING_MODEL, 5
    backend = backend_for(server, concurrency=4, policy=RetryPolicy(max_retries=0, timeout_s=2.0))
    texts = list(INPUTS)
    generations = backend.generate([asked(t) for t in texts], max_new_tokens=8)
    assert [(g.text, g.error) for g in generations] == [(INPUTS[t], None) for t in texts]
    assert server.refusals == {"max_tokens": 1, "temperature": 1}
    assert len(server.bodies) == len(texts) + 2
    for body in server.bodies[2:]:
        # The answer's budget, plus room for the model's reasoning (which shares the field).
        assert body["max_completion_tokens"] == 8 + REASONING_ALLOWANCE
        assert "max_tokens" not in body and "temperature" not in body
    # Reasoning tokens are output tokens (billed as such), and totalled apart.
    assert all(g.output_tokens == 1 + 5 for g in generations)
    described = backend.describe()
    assert described["reasoning_tokens"] == 5 * len(texts) and described["cut_short_by_reasoning"] == 0
    assert described["decoding"] == SAMPLED
    parameters = described["request_parameters"]
    assert parameters["max_tokens_field"] == "max_completion_tokens"
    assert parameters["omitted"] == ["temperature"]
    assert parameters["learned_from"] == [
        "HTTP 400 for max_tokens: Unsupported parameter: 'max_tokens' is not supported with this model."
        " Use 'max_completion_tokens' instead.",
        "HTTP 400 for temperature: Unsupported value: 'temperature' does not support 0 with this model."
        " Only the default (1) value is supported.",
    ]

    # Refused logprobs are label scoring's to handle (it generates instead), not learned.
    rows = backend.score([asked(t) for t in texts[:3]], CANDIDATES)
    assert all(row.error is None and max(row.logprobs) == 0.0 for row in rows)
    assert backend.describe()["label_scoring"] == "generation (the server rejected logprobs: HTTP 400)"
    assert server.refusals == {"max_tokens": 1, "temperature": 1, "logprobs": 1}
    assert backend.describe()["request_parameters"] == parameters


def test_requests_in_flight_when_the_server_refuses_are_all_asked_again(server: FakeOpenAIServer) -> None:
    """The first request fails for another reason, so it teaches nothing: the rest go out
    together, and every one refused before the lesson was learned is asked again."""
    server.refuses, server.permanent, server.delay_s = REASONING_MODEL, {FIRST}, 0.05
    backend = backend_for(server, concurrency=4, policy=RetryPolicy(max_retries=1, timeout_s=2.0))
    texts = list(INPUTS)
    generations = backend.generate([asked(t) for t in texts], max_new_tokens=8)
    assert generations[0].error is not None and generations[0].error.startswith("HTTP 500 after 2 attempts")
    assert [(g.text, g.error) for g in generations[1:]] == [(INPUTS[t], None) for t in texts[1:]]
    assert 1 < server.refusals["max_tokens"] <= 4 and 1 <= server.refusals["temperature"] <= 4
    assert len(backend.describe()["request_parameters"]["learned_from"]) == 2  # learned once each


def test_a_refusal_that_teaches_nothing_new_is_an_error(server: FakeOpenAIServer) -> None:
    server.refuses = ("max_tokens", "max_completion_tokens")
    backend = backend_for(server)
    (generation,) = backend.generate([asked(FIRST)], max_new_tokens=4)
    assert generation.error is not None and generation.error.startswith("HTTP 400: ")
    assert "'max_completion_tokens' is not supported" in generation.error
    assert server.refusals == {"max_tokens": 1, "max_completion_tokens": 1}
    assert backend.describe()["decoding"] == UNCONFIRMED  # nothing was answered


def test_stop_strings_a_server_refuses_are_applied_here() -> None:
    with serve(FakeOpenAIServer({"docstring": "Return the sum. The function adds them."})) as server:
        server.refuses = ("stop",)
        backend = backend_for(server)
        (generation,) = backend.generate([asked("a docstring")], max_new_tokens=12, stop=[" The"])
    assert (generation.text, generation.stopped) == ("Return the sum.", True)
    assert server.refusals == {"stop": 1} and "stop" not in server.bodies[1]
    assert backend.describe()["request_parameters"]["omitted"] == ["stop"]
    assert backend.describe()["decoding"] == GREEDY


def test_a_budget_spent_reasoning_leaves_no_answer_and_is_counted(server: FakeOpenAIServer) -> None:
    server.refuses, server.reasoning_tokens = REASONING_MODEL, REASONING_ALLOWANCE + 6
    backend = backend_for(server)
    (generation,) = backend.generate([asked(FIRST)], max_new_tokens=4)
    budget = 4 + REASONING_ALLOWANCE
    assert (generation.text, generation.stopped, generation.output_tokens) == ("", False, budget)
    assert backend.describe()["cut_short_by_reasoning"] == 1


def test_reasoning_tokens_count_as_output_whichever_way_usage_reports_them() -> None:
    details = {"completion_tokens_details": {"reasoning_tokens": 24}}
    openai = {"prompt_tokens": 9, "completion_tokens": 30, "total_tokens": 39, **details}
    on_top = {"prompt_tokens": 9, "completion_tokens": 6, "total_tokens": 39, **details}
    assert output_tokens(openai) == output_tokens(on_top) == (30, 24)
    assert output_tokens({"completion_tokens": 6, **details}) == (30, 24)  # more reasoning than output
    assert output_tokens({"completion_tokens": 6}) == (6, None)
    assert output_tokens({"completion_tokens_details": {"reasoning_tokens": 3}}) == (None, 3)


# -- through the evaluation engine ----------------------------------------------------------


def test_failed_requests_are_counted_recorded_and_asked_again_on_a_rerun(
    server: FakeOpenAIServer, tmp_path: Path
) -> None:
    failing = {list(INPUTS)[1], list(INPUTS)[7]}
    server.permanent = set(failing)
    strategy = get_strategy("zero-shot")
    with Store.open(tmp_path / "adaptlab.db") as store:
        backend = backend_for(server, policy=RetryPolicy(max_retries=1, timeout_s=0.5, backoff_base_s=0.01))
        first = evaluate(
            TASK, TASK.examples, backend, strategy, cache=ResultCache(store, backend.cache_identity())
        )
        assert [p.example_id for p in first.predictions] == [e.id for e in TASK.examples]
        assert first.metrics.errors == 2 and first.metrics.parse_failures == 0
        errored = [p for p in first.predictions if p.error]
        assert {p.input for p in errored} == failing
        assert all(p.output == "" and p.parsed is None and not p.correct and not p.compliant for p in errored)
        assert first.metrics.score == pytest.approx(10 / 12)

        server.permanent = set()
        before = sum(server.attempts.values())
        second = evaluate(
            TASK, TASK.examples, backend, strategy, cache=ResultCache(store, backend.cache_identity())
        )
        assert sum(server.attempts.values()) - before == 2  # only the two that failed
        assert second.metrics.errors == 0 and second.metrics.cache_hits == 10
        assert second.metrics.score == 1.0


def test_answers_a_reasoning_model_sampled_are_reused_by_a_rerun_that_does_not_claim_them_greedy(
    server: FakeOpenAIServer, tmp_path: Path
) -> None:
    """The learned parameters are not part of the cache key: the same server and model refuse
    the same parameters on every run, so every answer stored under its identity was asked the
    same way. A re-run that finds them all asks nothing, and says it could not confirm how."""
    server.refuses = REASONING_MODEL
    strategy = get_strategy("zero-shot")
    with Store.open(tmp_path / "adaptlab.db") as store:
        results = []
        for _ in range(2):
            backend = backend_for(server)
            cache = ResultCache(store, backend.cache_identity())
            results.append(evaluate(TASK, TASK.examples, backend, strategy, cache=cache))
    first, second = results
    assert first.strategy["decoding"] == first.model["decoding"] == SAMPLED
    assert second.metrics.cache_hits == len(TASK.examples) and second.metrics.score == first.metrics.score
    assert second.strategy["decoding"] == second.model["decoding"] == UNCONFIRMED
    assert server.refusals == {"max_tokens": 1, "temperature": 1}  # the re-run sent nothing


# -- loading --------------------------------------------------------------------------------


def test_load_backend_reads_the_url_and_key_from_options_or_the_environment(
    server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(UsageError, match=r"openai:fake needs the server's address: pass --base-url"):
        load_backend("openai:fake")
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("TEAM_KEY", "sk-from-env")
    backend = load_backend("openai:fake", api_key_env="TEAM_KEY", concurrency=2, max_batch_size=64)
    assert isinstance(backend, OpenAIBackend)
    assert (backend.model_id, backend.max_batch_size, backend.base_url) == ("openai:fake", 2, server.base_url)
    backend.generate([asked("x")], max_new_tokens=2)
    assert server.authorization == {"Bearer sk-from-env"}
    with pytest.raises(UsageError, match=r'--base-url "ftp://example.com" is not an http\(s\) URL'):
        load_backend("openai:fake", base_url="ftp://example.com")
    with pytest.raises(UsageError, match=r'"openai:" names no model'):
        load_backend("openai:")


def test_an_endpoint_model_is_priced_by_its_spec_in_the_price_table(tmp_path: Path) -> None:
    costs = tmp_path / "costs.yaml"
    costs.write_text(
        "prices:\n"
        "  openai:Qwen/Qwen2.5-7B-Instruct: {input_usd_per_million: 0.5, output_usd_per_million: 1.5}\n"
    )
    settings = load_cost_settings(costs)
    rung = {
        "rung": "zero-shot",
        "metrics": {"examples_per_s": 4.0, "prompt_tokens_mean": 100.0, "output_tokens_mean": 2.0},
        "model": {"backend": "openai", "model_id": "openai:Qwen/Qwen2.5-7B-Instruct"},
    }
    cost = rung_cost(rung, settings)
    assert cost.priced_by == "price-table"
    assert cost.usd_per_request == pytest.approx((100 * 0.5 + 2 * 1.5) / 1e6)
    assert rung_cost(rung, CostSettings()).usd_per_request is None  # unpriced without an entry


def test_the_run_config_records_the_url_without_its_credentials() -> None:
    config = EvalConfig(task="t.jsonl", model="openai:m", base_url="https://me:s3cret@example.com/v1/")
    assert config.model_dump(mode="json")["base_url"] == "https://example.com/v1"
    assert config.backend_options()["base_url"] == "https://me:s3cret@example.com/v1"  # still sent
    assert EvalConfig(task="t.jsonl").backend_options() == {"max_batch_size": 32}


def test_an_endpoint_spec_names_the_served_model_and_has_no_local_weights() -> None:
    assert endpoint_model("openai:Qwen/Qwen2.5-7B-Instruct") == "Qwen/Qwen2.5-7B-Instruct"
    assert endpoint_model("smollm2-135m") is None
    with pytest.raises(UsageError, match=r'"openai:m" is served by an OpenAI-compatible endpoint'):
        resolve_model_spec("openai:m")
