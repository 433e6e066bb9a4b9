"""`OpenAIBackend`: a model behind any OpenAI-compatible ``/chat/completions`` endpoint.

Each conversation is one request; up to `concurrency` are in flight at once (an
`asyncio.Semaphore` over one `httpx.AsyncClient` per call), so a vLLM server batches them
itself and a hosted API is not flooded. Answers come back in input order whatever order the
requests finish in, and `on_progress(1)` fires as each one does.

Decoding is greedy (temperature 0, n=1), like the local backend, unless the server refuses
temperature 0 (reasoning models do): `parameters` learns what a server refuses from its first
HTTP 400, asks again adjusted, and `describe()` records what was sent and why. Token counts come
from the reply's ``usage``, reasoning tokens counted as output; a server that sends none gets
an estimate of 4 characters per token, and `describe()` says so. A request that fails after its
retries yields an answer with `error` set rather than an exception (see `client`).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import os
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Any, TypeVar

import httpx

from adaptlab.errors import UsageError
from adaptlab.models.base import (
    Backend,
    Conversation,
    Generation,
    LabelScores,
    ProgressCallback,
    cut_at_stop,
)
from adaptlab.models.catalog import ENDPOINT_PREFIX
from adaptlab.models.openai.client import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT_S,
    EndpointClient,
    Reply,
    RetryPolicy,
    run_sync,
    short,
)
from adaptlab.models.openai.labels import (
    LOGPROBS_METHOD,
    TOP_LOGPROBS,
    fallback_max_tokens,
    first_token_scores,
    generated_choice,
)
from adaptlab.models.openai.parameters import MAX_TOKENS, RequestParameters, refused_parameter
from adaptlab.models.openai.replies import (
    CHARS_PER_TOKEN,
    ChatAnswer,
    estimate_tokens,
    read_chat,
    token_count,
    top_logprobs,
)
from adaptlab.models.openai.urls import check_base_url, public_url, tokenize_urls

DEFAULT_CONCURRENCY = 8
DEFAULT_API_KEY_ENV = "OPENAI_API_KEY"
BASE_URL_ENV = "OPENAI_BASE_URL"
ESTIMATED = f"estimated at {CHARS_PER_TOKEN} characters per token"

T = TypeVar("T")


def load_openai_backend(
    name: str,
    *,
    base_url: str | None = None,
    api_key_env: str = DEFAULT_API_KEY_ENV,
    concurrency: int = DEFAULT_CONCURRENCY,
    request_timeout_s: float = DEFAULT_TIMEOUT_S,
    max_retries: int = DEFAULT_MAX_RETRIES,
    **_local_options: object,
) -> OpenAIBackend:
    """The backend for ``openai:NAME``: URL from `base_url` or ``$OPENAI_BASE_URL``, key from
    the environment variable `api_key_env` (none set: no ``Authorization`` header, as local
    servers expect). Options meant for local models (batch size) do not apply and are ignored.

    >>> backend = load_openai_backend("Qwen/Qwen2.5-7B-Instruct", base_url="http://localhost:8000/v1")
    """
    return OpenAIBackend(
        name,
        base_url=endpoint_url(name, base_url),
        api_key=os.environ.get(api_key_env) or None,
        api_key_env=api_key_env,
        concurrency=concurrency,
        policy=RetryPolicy(max_retries=max_retries, timeout_s=request_timeout_s),
    )


def endpoint_url(name: str, base_url: str | None) -> str:
    """The server address of ``openai:NAME``: `base_url`, else ``$OPENAI_BASE_URL``; a
    `UsageError` saying how to give one when neither is set (checked before any model loads)."""
    url = base_url or os.environ.get(BASE_URL_ENV)
    if not url:
        raise UsageError(
            f"{ENDPOINT_PREFIX}{name} needs the server's address: pass --base-url (e.g."
            f" http://localhost:8000/v1 for vLLM) or set {BASE_URL_ENV}"
        )
    return url


class OpenAIBackend(Backend):
    """Greedy chat completions, label scoring and token counts from an OpenAI-compatible server.

    >>> backend = OpenAIBackend("llama3.2", base_url="http://localhost:11434/v1")
    >>> backend.generate([[{"role": "user", "content": "Say hi"}]], max_new_tokens=8)[0].text
    """

    def __init__(
        self,
        name: str,
        *,
        base_url: str,
        api_key: str | None = None,
        api_key_env: str | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        policy: RetryPolicy | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if concurrency < 1:
            raise UsageError(f"--concurrency must be at least 1, not {concurrency}")
        self.name = name
        self.model_id = f"{ENDPOINT_PREFIX}{name}"
        url = check_base_url(base_url)
        self.base_url = public_url(url)
        self.fingerprint = hashlib.sha256(f"{self.base_url}\n{name}".encode()).hexdigest()[:12]
        self.concurrency = concurrency
        self.max_batch_size = concurrency
        self.policy = policy or RetryPolicy()
        self.api_key_env = api_key_env if api_key else None
        self.client = EndpointClient(
            url, api_key=api_key, policy=self.policy, connections=concurrency, rng=rng
        )
        self.label_scoring = LOGPROBS_METHOD
        """How `score` works on this server: `LOGPROBS_METHOD`, or ``generation (why)`` once
        the server has shown it gives no log-probabilities (for the rest of the run)."""
        self._logprobs_confirmed = False
        self.parameters = RequestParameters()
        """What this server refuses (``max_tokens``, temperature 0 …), learned from its 400s."""
        self._parameters_probed = False
        """Whether a chat request has finished: until one has, they go one at a time, so a
        server that refuses a parameter refuses it once rather than a whole wave of requests."""
        self._reasoning_tokens = 0
        self._cut_short_by_reasoning = 0
        self._usage_estimated = False
        self._tokenizer: str | None = None
        """The ``/tokenize`` URL that works, ``""`` when none does (estimate), None: not tried."""
        self._token_counts: dict[str, int] = {}

    # -- Backend -----------------------------------------------------------------------------

    def render(self, conversation: Conversation) -> str:
        """The messages as canonical JSON: exactly what the server receives, so the same
        messages always make the same result-cache key (the server applies the chat template)."""
        return json.dumps(
            [dict(message) for message in conversation],
            ensure_ascii=False,
            sort_keys=True,
            separators=(",", ":"),
        )

    def generate(
        self,
        conversations: Sequence[Conversation],
        *,
        max_new_tokens: int,
        stop: Sequence[str] = (),
        on_progress: ProgressCallback | None = None,
    ) -> list[Generation]:
        return self._run(
            lambda http, conversation: self._generate_one(http, conversation, max_new_tokens, stop),
            conversations,
            on_progress,
            probing=lambda: not self._parameters_probed,
        )

    def score(
        self,
        conversations: Sequence[Conversation],
        candidates: Sequence[str],
        *,
        on_progress: ProgressCallback | None = None,
    ) -> list[LabelScores]:
        return self._run(
            lambda http, conversation: self._score_one(http, conversation, candidates),
            conversations,
            on_progress,
            probing=lambda: (
                not self._parameters_probed
                or (self.label_scoring == LOGPROBS_METHOD and not self._logprobs_confirmed)
            ),
        )

    def count_tokens(self, text: str) -> int:
        return self.count_tokens_many([text])[0]

    def count_tokens_many(self, texts: Sequence[str]) -> list[int]:
        """Counted by the server's ``/tokenize`` (vLLM) when it has one, else estimated at
        `CHARS_PER_TOKEN` characters a token; each distinct text is asked once."""
        unknown = list(dict.fromkeys(text for text in texts if text not in self._token_counts))
        if unknown:
            counts = self._run(self._count_one, unknown, None, probing=lambda: self._tokenizer is None)
            self._token_counts.update(zip(unknown, counts, strict=True))
        return [self._token_counts[text] for text in texts]

    def describe(self) -> dict[str, Any]:
        """What the model is and how it was asked. `request_parameters` says what a server that
        refused parameters was sent instead (and `decoding` whether answers are still greedy);
        `reasoning_tokens` totals what the server reported over this backend's requests so far
        (already counted in output tokens), and `cut_short_by_reasoning` the replies left empty
        because the token budget ran out while the model was still reasoning."""
        if self._tokenizer is None:
            tokenizer = "not used"
        else:
            tokenizer = (
                f"the server's {self._tokenizer}" if self._tokenizer else f"{ESTIMATED} (no /tokenize)"
            )
        return {
            "model_id": self.model_id,
            "fingerprint": self.fingerprint,
            "backend": "openai",
            "served_model": self.name,
            "base_url": self.base_url,
            "label_scoring": self.label_scoring,
            "decoding": self.parameters.decoding,
            "request_parameters": self.parameters.describe(),
            "reasoning_tokens": self._reasoning_tokens,
            "cut_short_by_reasoning": self._cut_short_by_reasoning,
            "token_counts": "estimated" if self._usage_estimated or self._tokenizer == "" else "server",
            "usage": f"{ESTIMATED} (the server sent none)" if self._usage_estimated else "the server's",
            "tokenizer": tokenizer,
            "concurrency": self.concurrency,
            "request_timeout_s": self.policy.timeout_s,
            "max_retries": self.policy.max_retries,
            "api_key_env": self.api_key_env,
        }

    # -- requests ----------------------------------------------------------------------------

    def _run(
        self,
        ask: Callable[[httpx.AsyncClient, Any], Awaitable[T]],
        items: Sequence[Any],
        on_progress: ProgressCallback | None,
        *,
        probing: Callable[[], bool] = lambda: False,
    ) -> list[T]:
        """`ask` for every item with at most `concurrency` in flight, results in input order.

        While `probing()` is true, items go one at a time: until a reply has shown what the
        server supports (log-probabilities, ``/tokenize``), a server without it is not sent a
        whole wave of requests it will refuse.
        """
        if not items:
            return []

        async def run_all() -> list[T]:
            slots = asyncio.Semaphore(self.concurrency)
            async with self.client.session() as http:

                async def one(item: Any) -> T:
                    async with slots:
                        result = await ask(http, item)
                    if on_progress is not None:
                        on_progress(1)
                    return result

                results: list[T] = []
                while len(results) < len(items) and probing():
                    results.append(await one(items[len(results)]))
                results.extend(await asyncio.gather(*(one(item) for item in items[len(results) :])))
                return results

        return run_sync(run_all())

    def _chat_payload(self, conversation: Conversation, max_tokens: int, **extra: Any) -> dict[str, Any]:
        """The request as adaptlab asks any server; `parameters` adjusts it to what this one takes."""
        return {
            "model": self.name,
            "messages": [dict(message) for message in conversation],
            MAX_TOKENS: max_tokens,
            "temperature": 0,
            "n": 1,
            **extra,
        }

    async def _post_chat(
        self, http: httpx.AsyncClient, standard: dict[str, Any]
    ) -> tuple[Reply, dict[str, Any]]:
        """The reply to `standard` as this server takes it (its latency counting the refused
        attempts too), and the payload that got it.

        A refusal that names a parameter the server does not support is learned (see
        `parameters`) and the request asked again at once, adjusted: a retry not counted against
        `max_retries`, since it is a different request. So is one that another request in flight
        was refused for first. A refusal that teaches nothing new is returned as it is.
        """
        started = time.perf_counter()
        sent = self.parameters.apply(standard)
        try:
            while True:
                reply = await self.client.post(http, "chat/completions", sent)
                refusal = refused_parameter(reply)
                if refusal is None:
                    self.parameters.answered |= reply.body is not None
                    break
                reason = f"HTTP {reply.status} for {refusal.param}: {short(refusal.message)}"
                self.parameters.learn(refusal.param, self.client.redact(reason), sent)
                adjusted = self.parameters.apply(standard)
                if adjusted == sent:
                    break
                sent = adjusted
        finally:
            self._parameters_probed = True
        return replace(reply, latency_s=time.perf_counter() - started), sent

    async def _generate_one(
        self, http: httpx.AsyncClient, conversation: Conversation, max_tokens: int, stop: Sequence[str] = ()
    ) -> Generation:
        """One answer. `stop` is sent only when there is one, so a request without it is what it
        always was. The server applies it (OpenAI's rule counts from the reply's first character,
        not past its leading whitespace as `cut_at_stop` does: the two differ only for a reply
        that opens with a newline, which the assistant turn of a chat template makes rare), or,
        when the server refused it, `cut_at_stop` here."""
        extra = {"stop": list(stop)} if stop else {}
        reply, sent = await self._post_chat(http, self._chat_payload(conversation, max_tokens, **extra))
        answer, error = self._answer(reply, conversation)
        if answer is None:
            return Generation("", 0, 0, reply.latency_s, error=error)
        text, stopped = answer.text, answer.stopped
        if stop and "stop" not in sent:
            text, found = cut_at_stop(text, stop)
            stopped = True if found else stopped
        prompt_tokens, output_tokens = answer.prompt_tokens or 0, answer.output_tokens or 0
        return Generation(text, prompt_tokens, output_tokens, reply.latency_s, stopped=stopped)

    async def _score_one(
        self, http: httpx.AsyncClient, conversation: Conversation, candidates: Sequence[str]
    ) -> LabelScores:
        started = time.perf_counter()
        failed = tuple(-math.inf for _ in candidates)
        if self.label_scoring == LOGPROBS_METHOD:
            payload = self._chat_payload(conversation, 1, logprobs=True, top_logprobs=TOP_LOGPROBS)
            reply, _ = await self._post_chat(http, payload)
            alternatives = top_logprobs(reply.body) if reply.body is not None else None
            answer, _ = self._answer(reply, conversation)
            if alternatives is not None and answer is not None:
                self._logprobs_confirmed = True
                scores = first_token_scores(alternatives, candidates)
                latency = time.perf_counter() - started
                return LabelScores(scores, answer.prompt_tokens or 0, latency, answer.output_tokens or 0)
            if reply.error is not None and not reply.refused:
                return LabelScores(failed, 0, time.perf_counter() - started, error=reply.error)
            # Refused (a 4xx), or answered without log-probabilities: ask for an answer instead.
            reason = (
                "returned no logprobs" if reply.error is None else f"rejected logprobs: HTTP {reply.status}"
            )
        else:
            reason = None
        generation = await self._generate_one(http, conversation, fallback_max_tokens(candidates))
        latency = time.perf_counter() - started
        if generation.error is not None:
            return LabelScores(failed, 0, latency, error=generation.error)
        if reason is not None and not self._logprobs_confirmed:
            # Only now is it clear the logprobs were the trouble, not this request.
            self.label_scoring = f"generation (the server {reason})"
        scores = generated_choice(generation.text, candidates)
        return LabelScores(scores, generation.prompt_tokens, latency, generation.output_tokens)

    def _answer(self, reply: Reply, conversation: Conversation) -> tuple[ChatAnswer | None, str | None]:
        """The reply's `ChatAnswer` with token counts filled in (estimated, and noted, where the
        server sent no usage), or None and why there is none."""
        if reply.body is None:
            return None, reply.error
        answer = read_chat(reply.body)
        if answer is None:
            error = f"HTTP {reply.status} without choices[0].message: {short(json.dumps(reply.body))}"
            return None, self.client.redact(error)
        self._reasoning_tokens += answer.reasoning_tokens or 0
        self._cut_short_by_reasoning += answer.cut_short_by_reasoning
        if answer.prompt_tokens is None or answer.output_tokens is None:
            self._usage_estimated = True  # describe() says the counts are estimates
            prompt = "".join(message["content"] for message in conversation)
            answer = replace(
                answer, prompt_tokens=estimate_tokens(prompt), output_tokens=estimate_tokens(answer.text)
            )
        return answer, None

    async def _count_one(self, http: httpx.AsyncClient, text: str) -> int:
        """The server's count of `text` (trying each place ``/tokenize`` may live until one
        answers), or the estimate once it is clear there is none."""
        urls = [self._tokenizer] if self._tokenizer else tokenize_urls(self.base_url)
        if self._tokenizer != "":
            for url in urls:
                payload = {"model": self.name, "prompt": text, "add_special_tokens": False}
                count = token_count((await self.client.post(http, url, payload)).body, text)
                if count is not None:
                    self._tokenizer = url
                    return count
            if self._tokenizer is None:
                self._tokenizer = ""
        return estimate_tokens(text)
