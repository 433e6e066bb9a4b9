"""Turn a model source into a plain safetensors directory that loads in a fraction of a second.

transformers can read GGUF files, but it de-quantises every tensor on each load (~15 s for the
bundled 135M model) and marks the result as "GGUF-quantised", which `Trainer` and
`save_pretrained` refuse — even though the weights are plain fp32 after loading. So a GGUF file
is converted once: load it, copy the weights into a model built from the same config without
`quantization_config`, and save that with its tokenizer into the cache. Logits are identical
and later loads take ~0.1 s.

Everything here reads local files only; nothing reaches a model hub.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from adaptlab.files import give_default_modes
from adaptlab.models.catalog import ModelSource
from adaptlab.paths import cache_dir

log = logging.getLogger(__name__)

_SAMPLE_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class PreparedWeights:
    """A loadable Hugging Face model directory and a fingerprint of the weights in it."""

    directory: Path
    fingerprint: str


def prepare_weights(source: ModelSource) -> PreparedWeights:
    """Return a directory `AutoModelForCausalLM.from_pretrained` can load, converting GGUF once."""
    fingerprint = fingerprint_source(source)
    if source.kind == "hf-dir":
        return PreparedWeights(directory=source.path, fingerprint=fingerprint)
    target = converted_dir(source, fingerprint)
    if not (target / "config.json").is_file():
        _convert_gguf(source.path, target)
    return PreparedWeights(directory=target, fingerprint=fingerprint)


def is_prepared(source: ModelSource) -> bool:
    """Whether loading `source` is quick: an HF directory, or a GGUF file already converted."""
    if source.kind == "hf-dir":
        return True
    return (converted_dir(source, fingerprint_source(source)) / "config.json").is_file()


def fingerprint_source(source: ModelSource) -> str:
    """Identity of the weights behind `source`, recorded with every result and used in cache keys."""
    if source.kind == "hf-dir":
        return _fingerprint_directory(source.path)
    return _fingerprint_file(source.path)


def converted_dir(source: ModelSource, fingerprint: str) -> Path:
    """Cache location of a GGUF file's conversion; keyed by the file and the transformers version
    (the de-quantisation is transformers' code, so a new version may convert differently)."""
    import transformers

    return cache_dir() / "models" / f"{source.name}-{fingerprint}-tf{transformers.__version__}"


def _fingerprint_file(path: Path) -> str:
    """Hash of the size and the first and last 8 MiB of a weights file.

    Hashing multi-GB files in full on every run would cost seconds; the sampled hash still
    changes whenever the file is replaced by a different model or quantisation.
    """
    digest = hashlib.sha256()
    size = path.stat().st_size
    digest.update(str(size).encode())
    with path.open("rb") as handle:
        digest.update(handle.read(_SAMPLE_BYTES))
        if size > 2 * _SAMPLE_BYTES:
            handle.seek(size - _SAMPLE_BYTES)
            digest.update(handle.read(_SAMPLE_BYTES))
    return digest.hexdigest()[:12]


def _fingerprint_directory(directory: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(directory.iterdir()):
        if path.is_file() and (path.suffix in {".safetensors", ".json"} or path.name.endswith(".jinja")):
            digest.update(path.name.encode())
            digest.update(_fingerprint_file(path).encode())
    return digest.hexdigest()[:12]


def _convert_gguf(gguf_path: Path, target: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    log.info("converting %s to safetensors in %s (once)", gguf_path.name, target)
    folder, name = str(gguf_path.parent), gguf_path.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name, local_files_only=True)
    quantised = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, local_files_only=True)
    config = copy.deepcopy(quantised.config)
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    plain = AutoModelForCausalLM.from_config(config)
    plain.load_state_dict(quantised.state_dict())
    plain.generation_config = quantised.generation_config

    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    try:
        plain.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        # readable by a model server: an exported adapter names this folder as its base model
        give_default_modes(staging)
        try:
            os.rename(staging, target)
        except OSError:
            # Another process finished the same conversion first; its copy is as good as ours.
            if not (target / "config.json").is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
