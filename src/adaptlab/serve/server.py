"""Run the app under uvicorn, and tell the user how to call it.

`run_server` refuses an exposed address without a token before anything listens, then hands
the app to uvicorn, which stops gracefully on Ctrl-C or SIGTERM (requests in flight finish).
"""

from __future__ import annotations

import json

from adaptlab.serve.app import create_app
from adaptlab.serve.auth import check_exposure
from adaptlab.serve.rung import ServedRung
from adaptlab.serve.settings import ServeSettings

SAMPLE_CHARS = 80


def base_url(host: str, port: int) -> str:
    """``http://127.0.0.1:8000/v1``; an IPv6 address in brackets."""
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"http://{shown}:{port}/v1"


def startup_message(served: ServedRung, host: str, port: int, token_source: str | None) -> str:
    """What is served, where, how to authenticate, and a curl and an openai example — naming
    where the token comes from, never the token."""
    url = base_url(host, port)
    measured = f", scoring {served.measured} in the run" if served.measured is not None else ""
    sample = served.sample_input or "your input"
    if len(sample) > SAMPLE_CHARS:
        sample = sample[: SAMPLE_CHARS - 1] + "…"
    body = json.dumps({"model": served.task_model_id, "messages": [{"role": "user", "content": sample}]})
    quoted = json.dumps(sample)
    if token_source is None:
        auth_line, header, key = "none (this machine only)", "", '"none"'
    elif token_source.startswith("$"):
        auth_line = f"bearer token from {token_source}"
        header = f' -H "Authorization: Bearer {token_source}"'
        key = f'os.environ["{token_source[1:]}"]'
    else:
        auth_line, header, key = (
            "bearer token from --token",
            ' -H "Authorization: Bearer <token>"',
            '"<token>"',
        )
    return "\n".join(
        [
            f"serving rung {served.rung} of run {served.run_id}{measured}, at {url}",
            f"  task model   {served.task_model_id}: send the input alone as the user message",
            f"  plain model  {served.plain_model_id}: chat messages passed to the weights as they are",
            f"  auth         {auth_line}",
            "try it:",
            f"  curl {url}/chat/completions -H 'Content-Type: application/json'{header} \\",
            f"    -d '{shell_quoted(body)}'",
            f'  OpenAI(base_url="{url}", api_key={key}).chat.completions.create(',
            f'      model="{served.task_model_id}", messages=[{{"role": "user", "content": {quoted}}}])',
        ]
    )


def shell_quoted(text: str) -> str:
    """`text` safe inside single quotes in a POSIX shell."""
    return text.replace("'", "'\\''")


def run_server(served: ServedRung, settings: ServeSettings, *, host: str, port: int) -> None:
    """Serve `served` on `host`:`port` until interrupted."""
    import uvicorn

    check_exposure(host, settings.token)
    uvicorn.run(create_app(served, settings), host=host, port=port, log_level="info")
