"""Trained weights stored by what produced them, so the same request never trains twice.

An entry's key is a hash of (base model fingerprint, training tokens, dev tokens, tuning
config), and of the key of the weights training started from when it continued another entry's
training (the documents-tuned adapter that question-answer SFT goes on from). Its directory
holds the PEFT adapter (LoRA) or the full model (full SFT) and a ``manifest.json`` with the
metrics and the library versions that produced it.

Layout under the registry root (``<runs>/adapters/`` by default)::

    <key>/                 complete entries only (renamed into place when finished)
    .work/<key>/           checkpoints of a training in progress; a re-run resumes from here
    .work/<key>.lock       held while a process trains <key>

An entry appears only by an atomic rename of a finished directory, so a killed training never
leaves something that looks trained.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adaptlab.files import atomic_write_json, give_default_modes
from adaptlab.tuning.config import TuneConfig

MANIFEST = "manifest.json"
KEY_LENGTH = 16


@dataclass(frozen=True)
class StoredWeights:
    """A finished entry: where its weights are and what its manifest says."""

    key: str
    directory: Path
    manifest: dict[str, Any]

    @property
    def mode(self) -> str:
        return str(self.manifest["config"]["mode"])


def weights_key(
    base_fingerprint: str,
    train_hash: str,
    dev_hash: str,
    config: TuneConfig,
    start_from: str | None = None,
) -> str:
    """Content hash of everything that determines the trained weights: `start_from` is the key
    of the entry whose weights the training continued (None: it started from the base model).

    A training from the base hashes the same payload as before `start_from` existed, so the
    entries already in a registry keep their keys.
    """
    payload: dict[str, Any] = {
        "base": base_fingerprint,
        "train": train_hash,
        "dev": dev_hash,
        "config": config.model_dump(mode="json"),
    }
    if start_from is not None:
        payload["start_from"] = start_from
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
    return digest[:KEY_LENGTH]


class WeightsRegistry:
    """Finished adapters / tuned models under one root directory."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def get(self, key: str) -> StoredWeights | None:
        directory = self.root / key
        manifest = directory / MANIFEST
        if not manifest.is_file():
            return None
        return StoredWeights(key, directory, json.loads(manifest.read_text(encoding="utf-8")))

    def work_dir(self, key: str) -> Path:
        """Where a training of `key` keeps its checkpoints until it finishes."""
        return self.root / ".work" / key

    @contextlib.contextmanager
    def training(self, key: str) -> Iterator[None]:
        """Hold `key`'s lock while training it: a second process asking for the same weights
        waits, then finds them published, instead of training them again in the same work
        directory (where each would resume from, and delete, the other's checkpoints).

        The lock is an advisory `flock` on ``.work/<key>.lock``, released by the system when its
        holder exits, even by ``kill -9``. Ranks of one ``accelerate launch`` train in step and
        must not wait on each other, so a distributed training (WORLD_SIZE > 1) takes no lock.
        """
        if int(os.environ.get("WORLD_SIZE", "1")) > 1:
            yield
            return
        import fcntl

        lock = self.root / ".work" / f"{key}.lock"
        lock.parent.mkdir(parents=True, exist_ok=True)
        with open(lock, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield

    def commit(self, key: str, staging: Path, manifest: dict[str, Any]) -> StoredWeights:
        """Publish `staging` (a finished weights directory) as entry `key`.

        If another process published the same key first, its entry wins and ours is dropped:
        both trained the same thing.
        """
        atomic_write_json(staging / MANIFEST, manifest)
        give_default_modes(staging)  # safetensors writes its files 0600; a server must read them
        target = self.root / key
        self.root.mkdir(parents=True, exist_ok=True)
        try:
            os.rename(staging, target)
        except OSError:
            if not (target / MANIFEST).is_file():
                raise
            shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(self.work_dir(key), ignore_errors=True)
        stored = self.get(key)
        assert stored is not None
        return stored

    def entries(self) -> list[StoredWeights]:
        if not self.root.is_dir():
            return []
        found = (self.get(path.name) for path in sorted(self.root.iterdir()) if path.is_dir())
        return [entry for entry in found if entry is not None]
