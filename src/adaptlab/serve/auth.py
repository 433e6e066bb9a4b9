"""Who may call the server: an optional bearer token, and where the server may listen.

A server bound to a loopback address answers only this machine; one bound anywhere else
answers the network, so it must have a token — `check_exposure` refuses to start it without.
The token is compared in constant time and never printed or logged: usage examples name the
environment variable it came from, not its value.
"""

from __future__ import annotations

import hmac
import ipaddress
import os

from adaptlab.errors import UsageError

DEFAULT_TOKEN_ENV = "ADAPTLAB_SERVE_TOKEN"


def bearer_matches(header: str | None, token: str) -> bool:
    """Whether an ``Authorization`` header carries `token` (``Bearer <token>``), in constant time."""
    scheme, _, given = (header or "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode("utf-8"), token.encode("utf-8"))


def resolve_token(token: str | None, token_env: str | None) -> tuple[str | None, str | None]:
    """The token to require and where it came from (for messages that must not show it).

    `token` (given on the command line) wins; else the variable `token_env` names, which must
    then be set; else ``$ADAPTLAB_SERVE_TOKEN`` if set; else no token.

    >>> resolve_token(None, None)  # with ADAPTLAB_SERVE_TOKEN unset
    (None, None)
    """
    if token is not None:
        if not token.strip():
            raise UsageError("--token is empty")
        return token, "--token"
    if token_env is not None:
        value = os.environ.get(token_env, "")
        if not value.strip():
            raise UsageError(
                f"--token-env {token_env}: the environment variable {token_env} is not set or empty"
            )
        return value, f"${token_env}"
    value = os.environ.get(DEFAULT_TOKEN_ENV, "")
    return (value, f"${DEFAULT_TOKEN_ENV}") if value.strip() else (None, None)


def is_loopback(host: str) -> bool:
    """Whether binding `host` keeps the server reachable from this machine only."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_exposure(host: str, token: str | None) -> None:
    """Refuse to listen beyond this machine without a token."""
    if token is None and not is_loopback(host):
        raise UsageError(
            f"--host {host} exposes the server beyond this machine, and no token is set: anyone who"
            f" can reach it could use it. Set one, e.g. `export {DEFAULT_TOKEN_ENV}=$(openssl rand -hex 24)`"
            " (or --token-env NAME), or keep the default --host 127.0.0.1"
        )
