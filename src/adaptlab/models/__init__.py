"""Model backends: turn a ``--model`` spec into a `Backend` that answers chat conversations."""

from __future__ import annotations

import logging
import os
from typing import Any

from adaptlab.models.base import Backend, ChatMessage, Conversation, Generation
from adaptlab.models.catalog import (
    BUNDLED_MODELS,
    DEFAULT_MODEL,
    ENDPOINT_PREFIX,
    ModelSource,
    endpoint_model,
    resolve_model_spec,
)

# adaptlab never downloads weights at run time: make the Hugging Face libraries fail fast
# instead of reaching for the network, whatever the caller's environment says.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

log = logging.getLogger(__name__)

__all__ = [
    "BUNDLED_MODELS",
    "DEFAULT_MODEL",
    "ENDPOINT_PREFIX",
    "Backend",
    "ChatMessage",
    "Conversation",
    "Generation",
    "ModelSource",
    "endpoint_model",
    "load_backend",
    "resolve_model_spec",
]


def load_backend(spec: str = DEFAULT_MODEL, **options: Any) -> Backend:
    """Load the model named by `spec`: a bundled name, HF directory or .gguf file on this
    machine, or ``openai:NAME`` behind an OpenAI-compatible endpoint (`options` then carry
    ``base_url``, ``api_key_env``, ``concurrency``, ``request_timeout_s``, ``max_retries``).

    >>> backend = load_backend("smollm2-135m")
    >>> remote = load_backend("openai:Qwen/Qwen2.5-7B-Instruct", base_url="http://localhost:8000/v1")
    """
    name = endpoint_model(spec)
    if name is not None:
        from adaptlab.models.openai.backend import load_openai_backend

        return load_openai_backend(name, **options)
    from adaptlab.models.local import LocalBackend
    from adaptlab.models.weights import prepare_weights

    source = resolve_model_spec(spec)
    weights = prepare_weights(source)
    return LocalBackend(weights.directory, model_id=source.name, fingerprint=weights.fingerprint, **options)
