"""``adaptlab export``: a tuned rung's weights, with a model card of its measured metrics."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from adaptlab.cli.app import command, console
from adaptlab.cli.common import RunRefArg, RunsDirOpt
from adaptlab.paths import DEFAULT_RUNS_DIR


@command("export")
def export_command(
    run: RunRefArg,
    rung: Annotated[
        str | None,
        typer.Option(
            metavar="RUNG",
            help="Tuned rung to export [default: the recommended rung, else the best tuned one].",
        ),
    ] = None,
    format: Annotated[
        Literal["peft", "merged"] | None,
        typer.Option(
            "--format",
            metavar="peft|merged",
            help="peft (LoRA adapter for vLLM --enable-lora) or merged (full weights) "
            "[default: peft for LoRA rungs, merged for full SFT].",
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            metavar="FOLDER",
            help="Folder to write [default: the run folder's export/RUNG-FORMAT, e.g."
            f" {DEFAULT_RUNS_DIR}/20261128-101500-3fa9c1/export/lora-80-peft].",
        ),
    ] = None,
    force: Annotated[bool, typer.Option(help="Replace the output folder if it exists.")] = False,
    out: RunsDirOpt = DEFAULT_RUNS_DIR,
) -> None:
    """Export a tuned rung's weights with a model card of its metrics.

    The folder appears only when complete. `peft` writes the adapter (adapter_config.json +
    adapter_model.safetensors) pointing at the base model on this machine; `merged` writes full
    safetensors weights that AutoModelForCausalLM.from_pretrained and `vllm serve` load as they
    are. Both include the tokenizer, README.md (the card) and adaptlab.json.

    \b
    Examples:
      adaptlab export 20261128-101500-3fa9c1
      adaptlab export 20261128-101500-3fa9c1 --rung lora-80 --format merged \\
          --output models/tweets-lora-80
    """
    from adaptlab.export import export_rung
    from adaptlab.runs import find_results, load_results

    path = find_results(run, out)
    exported = export_rung(load_results(path), path, rung=rung, format=format, output=output, force=force)
    kind = "PEFT adapter" if exported.format == "peft" else "merged weights"
    console.print(f"exported {exported.rung} ({kind}) to {exported.directory}", highlight=False)
    console.print(f"model card: {exported.directory / 'README.md'}", highlight=False)
