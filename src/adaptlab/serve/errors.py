"""Errors in OpenAI's shape, so any OpenAI client reports them properly.

Every failure a client can cause or meet answers ``{"error": {"message", "type", "param",
"code"}}`` with a 4xx status (5xx only for the server's own faults), never a traceback or
FastAPI's ``{"detail": ...}``; the openai Python client turns these into `BadRequestError`,
`AuthenticationError`, `NotFoundError` … with the message attached.
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse
from pydantic import ValidationError

INVALID_REQUEST = "invalid_request_error"
AUTHENTICATION = "authentication_error"
SERVER_ERROR = "server_error"


class ApiError(Exception):
    """A request the server answers with an error status instead of a completion."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = INVALID_REQUEST,
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status, headers=self.headers)


def validation_error(error: ValidationError) -> ApiError:
    """A 400 naming the first invalid field (``messages.0.role: Input should be 'system', ...``)."""
    first = error.errors()[0]
    param = ".".join(str(part) for part in first["loc"]) or None
    message = f"{param}: {first['msg']}" if param else first["msg"]
    return ApiError(400, message, param=param, code="invalid_value")


def status_error(status: int, where: str, detail: str) -> ApiError:
    """Starlette's own errors (no such route, wrong method) in OpenAI's shape; `where` is
    ``METHOD /path``."""
    if status == 404:
        return ApiError(404, f"{where}: no such endpoint", code="unknown_url")
    if status == 405:
        return ApiError(405, f"{where}: method not allowed on this endpoint", code="method_not_allowed")
    return ApiError(status, f"{where}: {detail}", type=INVALID_REQUEST if status < 500 else SERVER_ERROR)
