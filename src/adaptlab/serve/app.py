"""The OpenAI-compatible HTTP API of one served rung.

Routes: ``GET /health`` (no auth), ``GET /v1/models``, ``GET /v1/models/{id}``,
``POST /v1/chat/completions`` (plain JSON or ``"stream": true``) and vLLM's ``POST /tokenize``.
Every request is checked here — token, body size, JSON, fields, model, token budget — before
it reaches the queue, so a bad request costs no model time and gets an OpenAI-shaped 4xx, and
the server keeps serving whatever a client sends.

>>> app = create_app(load_served_rung("20261128-101500-3fa9c1", Path("runs")), ServeSettings())
>>> uvicorn.run(app, host="127.0.0.1", port=8000)
"""

from __future__ import annotations

import asyncio
import copy
import functools
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from adaptlab.serve.answering import GroupKey, TaskInput, answer_group, context_length
from adaptlab.serve.auth import bearer_matches
from adaptlab.serve.batching import Batcher, QueueFull
from adaptlab.serve.errors import AUTHENTICATION, SERVER_ERROR, ApiError, status_error, validation_error
from adaptlab.serve.rung import ServedRung
from adaptlab.serve.schemas import (
    ChatCompletionRequest,
    Message,
    TokenizeRequest,
    completion_body,
    completion_id,
    model_card,
)
from adaptlab.serve.settings import ServeSettings
from adaptlab.serve.streaming import completion_events

log = logging.getLogger("adaptlab.serve")
M = TypeVar("M", bound=BaseModel)


def create_app(served: ServedRung, settings: ServeSettings | None = None) -> FastAPI:
    """A FastAPI app answering for `served` under `settings` (limits, optional token).

    The batching worker starts and stops with the app's lifespan (uvicorn, or a `TestClient`
    used as a context manager).
    """
    settings = settings or ServeSettings()
    batcher = Batcher(
        functools.partial(answer_group, served),
        queue_size=settings.queue_size,
        max_batch_size=settings.max_batch_size,
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await batcher.start()
        try:
            yield
        finally:
            await batcher.stop()

    app = FastAPI(title="adaptlab serve", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.batcher = batcher
    app.state.served = served
    api = Api(served, settings, batcher)
    install_error_handlers(app)

    authorized = [Depends(api.authorize)]
    app.add_api_route("/health", api.health, methods=["GET"])
    app.add_api_route("/v1/models", api.list_models, methods=["GET"], dependencies=authorized)
    app.add_api_route("/v1/models/{model_id:path}", api.get_model, methods=["GET"], dependencies=authorized)
    app.add_api_route("/v1/chat/completions", api.chat, methods=["POST"], dependencies=authorized)
    app.add_api_route("/tokenize", api.tokenize, methods=["POST"], dependencies=authorized)
    return app


class Api:
    """The route handlers, sharing the served rung, the settings and the batcher."""

    def __init__(self, served: ServedRung, settings: ServeSettings, batcher: Batcher) -> None:
        self.served = served
        self.settings = settings
        self.batcher = batcher
        self.max_model_len = context_length(served.backend)
        # /tokenize runs beside the worker thread, and a fast tokenizer must not be used from
        # two threads at once: it gets its own copy, and one request at a time.
        self.tokenizer = copy.deepcopy(served.backend.tokenizer)
        self.tokenizer_lock = asyncio.Lock()

    # -- checks shared by the routes ----------------------------------------------------------

    async def authorize(self, request: Request) -> None:
        token = self.settings.token
        if token is not None and not bearer_matches(request.headers.get("authorization"), token):
            missing = "authorization" not in request.headers
            raise ApiError(
                401,
                "this server needs a bearer token: send the header `Authorization: Bearer <token>`"
                if missing
                else "the bearer token is not the one this server was started with",
                type=AUTHENTICATION,
                code="invalid_api_key",
                headers={"WWW-Authenticate": "Bearer"},
            )

    async def read_json(self, request: Request) -> Any:
        """The body as JSON, refused with a 413 as soon as it passes the size limit."""
        limit = self.settings.max_body_bytes
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise too_large(limit)
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise too_large(limit)
        try:
            return json.loads(body)
        except ValueError as error:
            raise ApiError(400, f"the request body is not valid JSON: {error}", code="invalid_json") from None

    def model_ids(self) -> list[str]:
        return [self.served.task_model_id, self.served.plain_model_id]

    def check_model(self, model: str) -> None:
        if model not in self.model_ids():
            raise ApiError(
                404,
                f"The model `{model}` does not exist; this server has {' and '.join(self.model_ids())}",
                param="model",
                code="model_not_found",
            )

    # -- routes -------------------------------------------------------------------------------

    async def health(self) -> dict[str, str]:
        return {"status": "ok"}

    async def list_models(self) -> dict[str, Any]:
        return {"object": "list", "data": [self.card(model_id) for model_id in self.model_ids()]}

    async def get_model(self, model_id: str) -> dict[str, Any]:
        self.check_model(model_id)
        return self.card(model_id)

    def card(self, model_id: str) -> dict[str, Any]:
        served = self.served
        if model_id == served.task_model_id:
            description = (
                f"rung {served.rung} of run {served.run_id}: send the input alone as the user message;"
                " it is asked with the rung's prompt and the content is the rung's parsed answer"
            )
        else:
            description = (
                f"the weights of rung {served.rung} of run {served.run_id}, taking chat messages as they are"
            )
        return model_card(model_id, description, self.max_model_len)

    async def tokenize(self, request: Request) -> dict[str, Any]:
        asked = parse(TokenizeRequest, await self.read_json(request))
        self.check_model(asked.model)
        async with self.tokenizer_lock:
            encoded = await asyncio.to_thread(
                self.tokenizer, asked.prompt, add_special_tokens=asked.add_special_tokens
            )
        tokens = list(encoded["input_ids"])
        return {"count": len(tokens), "max_model_len": self.max_model_len, "tokens": tokens}

    async def chat(self, request: Request) -> Response:
        asked = parse(ChatCompletionRequest, await self.read_json(request))
        self.check_model(asked.model)
        key, payload = self.plan(asked)
        try:
            reply = await self.batcher.submit(key, payload)
        except QueueFull:
            raise ApiError(
                503,
                f"server busy: {self.settings.queue_size} requests are already waiting; retry shortly",
                type=SERVER_ERROR,
                code="server_busy",
                headers={"Retry-After": "1"},
            ) from None
        top = key.top_logprobs
        identifier = completion_id()
        if asked.stream:
            include_usage = bool(asked.stream_options and asked.stream_options.include_usage)
            events = completion_events(identifier, asked.model, reply, top, include_usage)
            return StreamingResponse(events, media_type="text/event-stream")
        return JSONResponse(completion_body(identifier, asked.model, reply, top))

    def plan(self, asked: ChatCompletionRequest) -> tuple[GroupKey, object]:
        """What the batcher must compute for a valid request: its group key and payload."""
        if asked.n not in (None, 1):
            raise ApiError(
                400, "n: one choice per request (answers are greedy: more would be copies)", param="n"
            )
        limit = asked.token_limit()
        if limit is not None and limit > self.settings.max_tokens_limit:
            field = "max_completion_tokens" if asked.max_completion_tokens is not None else "max_tokens"
            raise ApiError(
                400,
                f"{field}: {limit} is over this server's limit of {self.settings.max_tokens_limit}"
                " (adaptlab serve --max-tokens-limit)",
                param=field,
                code="max_tokens_exceeded",
            )
        if asked.model == self.served.task_model_id:
            return self.task_plan(asked, limit)
        top = (asked.top_logprobs or 0) if asked.logprobs else None
        conversation = [message.as_chat() for message in asked.messages]
        stop = tuple(s for s in ([asked.stop] if isinstance(asked.stop, str) else asked.stop or []) if s)
        return GroupKey("plain", limit or self.settings.max_tokens_limit, top, stop), conversation

    def task_plan(self, asked: ChatCompletionRequest, limit: int | None) -> tuple[GroupKey, TaskInput]:
        served = self.served
        if asked.logprobs:
            raise ApiError(
                400,
                f"logprobs: the task model answers with a parsed label, not tokens; ask the plain model"
                f" {served.plain_model_id} for log-probabilities",
                param="logprobs",
            )
        if asked.stop:
            raise ApiError(
                400,
                f"stop: the task model ends its answers as its rung did; send stop sequences to the plain"
                f" model {served.plain_model_id}",
                param="stop",
            )
        task_input = task_input_of(asked.messages, served.task_model_id)
        if served.request.mode == "score":
            return GroupKey("task", 0), task_input
        budget = served.request.max_new_tokens
        return GroupKey("task", min(budget, limit) if limit is not None else budget), task_input


def task_input_of(messages: list[Message], model: str) -> TaskInput:
    """The input (last user message) and optional system prompt of a task-model request."""
    *leading, last = messages
    if last.role != "user" or len(leading) > 1 or any(m.role not in ("system", "developer") for m in leading):
        raise ApiError(
            400,
            f"messages: {model} answers one input: send it as a single user message, optionally after"
            " one system message; the rung's prompt supplies the instruction and demos",
            param="messages",
        )
    return TaskInput(text=last.text(), system=leading[0].text() if leading else None)


def parse(model: type[M], body: Any) -> M:
    """`body` validated as `model`, or a 400 naming the first invalid field."""
    try:
        return model.model_validate(body)
    except ValidationError as error:
        raise validation_error(error) from None


def too_large(limit: int) -> ApiError:
    return ApiError(
        413,
        f"the request body is larger than this server's limit of {limit} bytes",
        code="request_too_large",
    )


def install_error_handlers(app: FastAPI) -> None:
    """Every error in OpenAI's shape; a fault of the server itself is logged, not shown."""

    async def api_error(_: Request, error: Exception) -> Response:
        assert isinstance(error, ApiError)
        return error.response()

    async def http_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, StarletteHTTPException)
        where = f"{request.method} {request.url.path}"
        return status_error(error.status_code, where, str(error.detail)).response()

    async def request_error(_: Request, error: Exception) -> Response:
        assert isinstance(error, RequestValidationError)
        first = error.errors()[0] if error.errors() else {"loc": (), "msg": "invalid request"}
        param = ".".join(str(part) for part in first["loc"]) or None
        return ApiError(400, f"{param}: {first['msg']}" if param else first["msg"], param=param).response()

    async def server_error(_: Request, error: Exception) -> Response:
        log.error("request failed", exc_info=error)
        return ApiError(
            500, f"the server failed to answer ({type(error).__name__}); see its log", type=SERVER_ERROR
        ).response()

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, request_error)
    app.add_exception_handler(Exception, server_error)
