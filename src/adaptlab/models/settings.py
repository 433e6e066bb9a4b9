"""Which model answers, and how to reach it when it lives behind an OpenAI-compatible endpoint."""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar

from pydantic import Field, field_serializer, field_validator, model_validator

from adaptlab.errors import UsageError
from adaptlab.models.base import DEFAULT_MAX_BATCH_SIZE
from adaptlab.models.catalog import DEFAULT_MODEL, endpoint_model
from adaptlab.settings import Cli, Settings


class ModelSettings(Settings):
    """The model and its endpoint settings; shared by every command that asks a model."""

    group: ClassVar[str] = "Model"

    model: Annotated[str, Cli("--model", "-m", metavar="MODEL")] = DEFAULT_MODEL
    """Bundled model name (see `adaptlab models`), HF model directory or .gguf file; openai:NAME
    for a model behind an OpenAI-compatible server (--base-url)."""
    batch_size: Annotated[int, Field(ge=1)] = DEFAULT_MAX_BATCH_SIZE
    """Most examples per batch of a local model; 1 measures plain request latency."""
    base_url: Annotated[str | None, Cli(metavar="URL")] = None
    """API root of the OpenAI-compatible server of an openai:NAME model, e.g.
    http://localhost:8000/v1 [default: $OPENAI_BASE_URL]. Credentials in it are sent but never
    recorded."""
    api_key_env: Annotated[str, Cli(metavar="VARIABLE")] = "OPENAI_API_KEY"
    """Environment variable holding the endpoint's API key (unset: no key is sent); the key is
    read at run time and never recorded."""
    concurrency: Annotated[int, Field(ge=1)] = 8
    """Endpoint requests in flight at once."""
    request_timeout_s: Annotated[float, Field(gt=0), Cli("--request-timeout", metavar="SECONDS")] = 60.0
    """Seconds one endpoint request may take before it counts as failed (and is retried)."""
    max_retries: Annotated[int, Field(ge=0)] = 4
    """Retries of an endpoint request after a 429, 5xx, timeout or dropped connection."""

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        from adaptlab.models.openai.urls import check_base_url

        return None if value is None else check_base_url(value)

    @field_validator("api_key_env")
    @classmethod
    def _variable_name(cls, value: str) -> str:
        # Not echoed: a value that is not a variable name may well be the key itself.
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
            raise UsageError(
                "--api-key-env takes the name of the environment variable that holds the key"
                " (letters, digits and _, e.g. OPENAI_API_KEY), not the key itself"
            )
        return value

    @model_validator(mode="after")
    def _base_url_needs_an_endpoint(self) -> ModelSettings:
        specs = self.model_specs()
        if self.base_url is not None and all(endpoint_model(spec) is None for spec in specs):
            raise UsageError(
                f"--base-url is for models behind an endpoint (--model openai:NAME); {', '.join(specs)}"
                f" {'is a local model' if len(specs) == 1 else 'are local models'}"
            )
        return self

    def model_specs(self) -> list[str]:
        """Every model the config asks (a run may climb several)."""
        return [self.model]

    @field_serializer("base_url", when_used="json")
    def _without_credentials(self, value: str | None) -> str | None:
        from adaptlab.models.openai.urls import public_url

        return None if value is None else public_url(value)

    def backend_options(self) -> dict[str, Any]:
        """What `load_backend` needs besides the model spec: the endpoint settings for an
        ``openai:`` model, the batch size for a local one."""
        if endpoint_model(self.model) is None:
            return {"max_batch_size": self.batch_size}
        return {
            "base_url": self.base_url,
            "api_key_env": self.api_key_env,
            "concurrency": self.concurrency,
            "request_timeout_s": self.request_timeout_s,
            "max_retries": self.max_retries,
        }
