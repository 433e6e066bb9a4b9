"""Model backends: turn a ``--model`` spec into a `Backend` that answers chat conversations."""

from __future__ import annotations

import logging
import os

from adaptlab.models.base import Backend, ChatMessage, Conversation, Generation
from adaptlab.models.catalog import BUNDLED_MODELS, DEFAULT_MODEL, ModelSource, resolve_model_spec

# adaptlab never downloads weights at run time: make the Hugging Face libraries fail fast
# instead of reaching for the network, whatever the caller's environment says.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

log = logging.getLogger(__name__)

__all__ = [
    "BUNDLED_MODELS",
    "DEFAULT_MODEL",
    "Backend",
    "ChatMessage",
    "Conversation",
    "Generation",
    "ModelSource",
    "load_backend",
    "resolve_model_spec",
]


def load_backend(spec: str = DEFAULT_MODEL, **options: object) -> Backend:
    """Load the model named by `spec` (bundled name, HF directory or .gguf file) on this machine.

    >>> backend = load_backend("smollm2-135m")
    """
    from adaptlab.models.local import LocalBackend
    from adaptlab.models.weights import prepare_weights

    source = resolve_model_spec(spec)
    weights = prepare_weights(source)
    return LocalBackend(weights.directory, model_id=source.name, fingerprint=weights.fingerprint, **options)
