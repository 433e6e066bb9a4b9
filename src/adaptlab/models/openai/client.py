"""One request to an OpenAI-compatible server, retried the way a shared server wants it.

Transient failures — 429 (rate limited), 408, 5xx, timeouts, refused or dropped connections —
are retried up to `RetryPolicy.max_retries` times. Before retry *r* the client waits a random
time between 0 and ``base × 2^(r-1)`` seconds, capped ("full jitter"): many clients that failed
together then come back spread out instead of in lockstep against a recovering server. A numeric
``Retry-After`` from the server replaces the random wait (up to the same cap). Any other 4xx is
the request's own fault and is not retried.

A request that still fails comes back as a `Reply` carrying an error string, never as an
exception: one bad example must not end a rung of a thousand, and the engine leaves failed
answers out of the result cache so the same command run again asks exactly those again.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import random
import ssl
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar, overload

import httpx

import adaptlab
from adaptlab.models.openai.urls import credentials, public_url

DEFAULT_MAX_RETRIES = 4
DEFAULT_TIMEOUT_S = 60.0
DEFAULT_BACKOFF_BASE_S = 0.5
DEFAULT_BACKOFF_CAP_S = 20.0
ERROR_BODY_CHARS = 200
"""How much of a failed reply's body an error message quotes: enough for the server's reason."""
NOT_RETRIED_TRANSPORT_ERRORS = (httpx.UnsupportedProtocol, httpx.LocalProtocolError)
"""Transport errors a retry cannot fix: they are about the request adaptlab built."""

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How long to wait for one attempt, how often to try again, and how long to wait between."""

    max_retries: int = DEFAULT_MAX_RETRIES
    timeout_s: float = DEFAULT_TIMEOUT_S
    backoff_base_s: float = DEFAULT_BACKOFF_BASE_S
    backoff_cap_s: float = DEFAULT_BACKOFF_CAP_S


def backoff_delay(
    retry: int, rng: random.Random, policy: RetryPolicy, retry_after: float | None = None
) -> float:
    """Seconds to wait before retry number `retry` (1 for the first): the server's
    ``Retry-After`` when it gave one, else uniform in [0, min(cap, base × 2^(retry-1))].

    >>> policy = RetryPolicy(backoff_base_s=0.5, backoff_cap_s=20.0)
    >>> 0.0 <= backoff_delay(3, random.Random(0), policy) <= 2.0
    True
    """
    if retry_after is not None:
        return min(policy.backoff_cap_s, max(0.0, retry_after))
    ceiling = min(policy.backoff_cap_s, policy.backoff_base_s * 2 ** (retry - 1))
    return rng.uniform(0.0, ceiling)


def retryable_status(status: int) -> bool:
    """Statuses that say "not now" rather than "not this": rate limits, request timeouts and
    server errors (but 501, "not implemented", will not change on a retry)."""
    return status in (408, 429) or (status >= 500 and status != 501)


def retry_after_seconds(value: str | None) -> float | None:
    """A numeric ``Retry-After`` header in seconds; None when absent or an HTTP date."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


@dataclass(frozen=True)
class Reply:
    """What one request ended with after its retries.

    `body` is the parsed JSON object of a successful reply; `error` (else None) says why there
    is none, in words fit for results.json. `latency_s` is the request's own wall time from its
    first attempt to its end, retries and waits included: what a caller of the server waited.
    `error_body` is the JSON object a refusing server sent (a 4xx not retried), kept because
    OpenAI-style errors name the parameter they refuse (see `parameters`); it is read, never
    recorded as it is, since only `error` has the API key scrubbed out.
    """

    status: int | None
    body: dict[str, Any] | None
    error: str | None
    attempts: int
    latency_s: float
    error_body: dict[str, Any] | None = None

    @property
    def refused(self) -> bool:
        """The server answered, and rejected the request itself (a 4xx not worth retrying)."""
        return self.error is not None and self.status is not None and 400 <= self.status < 500


class EndpointClient:
    """Posts JSON to one server with the retry policy, the API key and bounded connections.

    The key is only ever put in the ``Authorization`` header; error messages are built from
    the public URL and scrubbed of the key, in case a server echoes it back.

    >>> client = EndpointClient("http://localhost:8000/v1", api_key=None, policy=RetryPolicy())
    >>> async with client.session() as http:
    ...     reply = await client.post(http, "chat/completions", {"model": "m", "messages": []})
    """

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None,
        policy: RetryPolicy,
        connections: int = 8,
        rng: random.Random | None = None,
    ) -> None:
        self.base_url = base_url
        self.public_base_url = public_url(base_url)
        self.policy = policy
        self.connections = connections
        self.rng = rng or random.Random()
        self._secrets = [secret for secret in (api_key, *(credentials(base_url) or ())) if secret]
        self._headers = {"User-Agent": f"adaptlab/{adaptlab.__version__}"}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        user = credentials(base_url)
        self._auth = httpx.BasicAuth(*user) if user else None
        self._tls: ssl.SSLContext | None = None

    def tls(self) -> ssl.SSLContext:
        """One TLS context for every session: building one reads the CA bundle (tens of ms),
        and a run opens a session per batch of requests."""
        if self._tls is None:
            self._tls = httpx.create_ssl_context()
        return self._tls

    def session(self) -> httpx.AsyncClient:
        """An HTTP client for one `asyncio.run`: a client's connections belong to its loop."""
        return httpx.AsyncClient(
            headers=self._headers,
            auth=self._auth,
            verify=self.tls(),
            timeout=httpx.Timeout(self.policy.timeout_s),
            limits=httpx.Limits(max_connections=self.connections, max_keepalive_connections=self.connections),
        )

    def url(self, path: str) -> str:
        """`path` under the base URL; an absolute URL is taken as it is."""
        return path if "://" in path else f"{self.public_base_url}/{path.lstrip('/')}"

    async def post(self, http: httpx.AsyncClient, path: str, payload: dict[str, Any]) -> Reply:
        """POST `payload` to `path`, retrying transient failures; never raises for HTTP trouble."""
        started = time.perf_counter()
        attempts = 0
        while True:
            attempts += 1
            status: int | None = None
            retry_after: float | None = None
            try:
                response = await asyncio.wait_for(
                    http.post(self.url(path), json=payload), timeout=self.policy.timeout_s
                )
            except (asyncio.TimeoutError, httpx.TimeoutException):
                failure, detail = f"timed out (no reply within {self.policy.timeout_s:g} s)", ""
            except NOT_RETRIED_TRANSPORT_ERRORS as error:
                return self._reply(None, None, f"request failed: {_describe(error)}", attempts, started)
            except httpx.TransportError as error:
                failure, detail = "connection failed", _describe(error)
            else:
                status = response.status_code
                if response.is_success:
                    return self._success(response, attempts, started)
                failure, detail = f"HTTP {status}", short(response.text)
                if not retryable_status(status):
                    refusal = json_object(response)
                    return self._reply(status, None, _joined(failure, detail), attempts, started, refusal)
                retry_after = retry_after_seconds(response.headers.get("retry-after"))
            if attempts > self.policy.max_retries:
                error = _joined(f"{failure} after {attempts} attempts", detail)
                return self._reply(status, None, error, attempts, started)
            await asyncio.sleep(backoff_delay(attempts, self.rng, self.policy, retry_after))

    def _success(self, response: httpx.Response, attempts: int, started: float) -> Reply:
        body = json_object(response)
        if body is None:
            error = _joined(
                f"HTTP {response.status_code} with a reply that is not a JSON object", short(response.text)
            )
            return self._reply(response.status_code, None, error, attempts, started)
        return self._reply(response.status_code, body, None, attempts, started)

    def _reply(
        self,
        status: int | None,
        body: dict[str, Any] | None,
        error: str | None,
        attempts: int,
        started: float,
        error_body: dict[str, Any] | None = None,
    ) -> Reply:
        latency = time.perf_counter() - started
        return Reply(status, body, self.redact(error), attempts, latency, error_body)

    @overload
    def redact(self, text: str) -> str: ...

    @overload
    def redact(self, text: None) -> None: ...

    def redact(self, text: str | None) -> str | None:
        """`text` with the API key and URL credentials replaced by ``***``."""
        if text is None:
            return None
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text


def json_object(response: httpx.Response) -> dict[str, Any] | None:
    """The reply's body when it is a JSON object, else None (HTML error pages, bare text)."""
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _describe(error: Exception) -> str:
    message = str(error).strip()
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def short(text: str) -> str:
    """`text` on one line, cut to `ERROR_BODY_CHARS`: enough of a reply to say what went wrong."""
    flat = " ".join(text.split())
    return flat if len(flat) <= ERROR_BODY_CHARS else flat[: ERROR_BODY_CHARS - 1] + "…"


def _joined(failure: str, detail: str) -> str:
    return f"{failure}: {detail}" if detail else failure


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run `coroutine` to completion from synchronous code: `asyncio.run` here, or in a worker
    thread when this thread already runs an event loop (a notebook, an async web handler)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
