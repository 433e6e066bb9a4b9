"""``adaptlab serve``: a finished run's rung behind an OpenAI-compatible API.

* `rung` — rebuild a rung (prompt strategy, request, weights) from its run, checked against it
  (`load_served_rung`);
* `answering` — what the task model and the plain model answer, for a group of requests;
* `batching` — the bounded queue and the worker that answers requests in groups;
* `app` — the FastAPI routes, auth and limits (`create_app`); `schemas`, `streaming` and
  `errors` — the OpenAI request and reply shapes; `auth`, `settings` — tokens and limits;
* `server` — uvicorn, and the startup message (`run_server`).

The package itself imports nothing heavy, so the CLI can read the defaults in `settings`
without loading torch and FastAPI.

>>> from adaptlab.serve.rung import load_served_rung
>>> from adaptlab.serve.server import run_server
>>> served = load_served_rung("20261128-101500-3fa9c1", Path("runs"))
>>> run_server(served, ServeSettings(), host="127.0.0.1", port=8000)
"""

from adaptlab.serve.settings import ServeSettings

__all__ = ["ServeSettings"]
