"""``adaptlab serve``: a rung of a finished run behind an OpenAI-compatible API."""

from __future__ import annotations

from typing import Annotated

import typer

from adaptlab.cli.app import command, console
from adaptlab.cli.common import RunRefArg, RunsDirOpt
from adaptlab.cli.config_options import ConfigRequest, takes_config
from adaptlab.paths import DEFAULT_RUNS_DIR
from adaptlab.serve.settings import ServeSettings


@command("serve")
@takes_config(ServeSettings, exclude=["token"])
def serve_command(
    config: ConfigRequest[ServeSettings],
    run: RunRefArg,
    rung: Annotated[
        str | None,
        typer.Option(
            metavar="RUNG",
            help="Rung to serve [default: the run's recommended rung, else its most accurate].",
        ),
    ] = None,
    host: Annotated[
        str,
        typer.Option(
            metavar="ADDRESS", help="Address to listen on; any but a loopback address needs a token."
        ),
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, metavar="PORT", help="Port to listen on.")] = 8000,
    token_env: Annotated[
        str | None,
        typer.Option(
            metavar="VARIABLE",
            help="Environment variable holding the bearer token clients must send"
            " [default: ADAPTLAB_SERVE_TOKEN, when set; else no token].",
        ),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(
            metavar="TOKEN",
            help="The bearer token itself (other users can see it in the process list: prefer --token-env).",
        ),
    ] = None,
    out: RunsDirOpt = DEFAULT_RUNS_DIR,
) -> None:
    """Serve a rung of a run as an OpenAI-compatible API.

    The rung's weights and its prompt, on /v1/chat/completions and /v1/models.

    Two models: <task>/<rung> takes the input alone as the user message and answers as the
    rung did (its prompt, demos and parser); <model>[+<weights>] takes chat messages as they
    are, for any OpenAI client (`adaptlab eval --model openai:<id> --base-url ...` included).
    Greedy answers, batched across concurrent requests; see docs/serving.md.

    \b
    Examples:
      # the recommended rung, on http://127.0.0.1:8000/v1:
      adaptlab serve 20261128-101500-3fa9c1
      adaptlab serve 20261128-101500-3fa9c1 --rung lora-80+few-shot-knn-4 \\
          --port 9000
      export ADAPTLAB_SERVE_TOKEN=$(openssl rand -hex 24)
      adaptlab serve 20261128-101500-3fa9c1 --host 0.0.0.0
    """
    from adaptlab.serve.auth import check_exposure, resolve_token
    from adaptlab.serve.rung import load_served_rung
    from adaptlab.serve.server import run_server, startup_message

    secret, source = resolve_token(token, token_env)
    check_exposure(host, secret)
    settings = config.build({"token": secret})
    console.print(f"loading run {run} …", highlight=False)
    served = load_served_rung(run, out, rung, max_batch_size=settings.max_batch_size)
    console.print(startup_message(served, host, port, source), highlight=False, markup=False, soft_wrap=True)
    run_server(served, settings, host=host, port=port)
