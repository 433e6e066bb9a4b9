"""The evaluation result cache: a model's answer to a prompt, kept in the run store.

An answer is a pure function of the exact weights, the exact prompt text and the decoding
parameters (decoding is greedy, scoring deterministic), so that triple is the key. Re-running a
ladder with one new rung, or after a crash, recomputes only the requests whose key is new —
which is how a killed evaluation resumes where it stopped: answers are written batch by batch
as they are computed. (An endpoint that refuses temperature 0 samples instead; why its answers
are cached all the same: `adaptlab.models.openai.parameters`.)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from adaptlab.evaluation.answers import Answer
from adaptlab.store import Store


def cache_key(model: str, prompt: str, params: dict[str, Any]) -> str:
    """sha256 over (model identity, rendered prompt, decoding parameters)."""
    blob = json.dumps([model, prompt, params], ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


class ResultCache:
    """Answers for one model, read and written through a `Store`.

    `hits` and `misses` count lookups, so a run can report how much it reused.

    >>> cache = ResultCache(store, backend.cache_identity())
    """

    def __init__(self, store: Store, model: str) -> None:
        self.store = store
        self.model = model
        self.hits = 0
        self.misses = 0

    def key(self, prompt: str, params: dict[str, Any]) -> str:
        return cache_key(self.model, prompt, params)

    def get_many(self, keys: Sequence[str]) -> dict[str, Answer]:
        found = self.store.cache_get_many(keys)
        self.hits += len(found)
        self.misses += len(set(keys)) - len(found)
        return {key: Answer(**payload, cached=True) for key, payload in found.items()}

    def put_many(self, entries: Sequence[tuple[str, Answer]]) -> None:
        payloads = []
        for key, answer in entries:
            payload = asdict(answer)
            payload.pop("cached")
            payloads.append((key, payload))
        self.store.cache_put_many(self.model, payloads)
