"""The base URL of an endpoint: checked once, and never recorded with its credentials.

A base URL may carry credentials (``https://user:secret@host/v1``). They are sent as HTTP basic
auth, but every URL adaptlab records — config.yaml, results.json, the store, error messages,
the fingerprint — goes through `public_url`, which drops them.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from adaptlab.errors import UsageError

API_SUFFIX = "/v1"


def check_base_url(url: str) -> str:
    """`url` without a trailing slash, or a UsageError saying what a base URL looks like.

    >>> check_base_url("http://localhost:8000/v1/")
    'http://localhost:8000/v1'
    """
    url = url.strip().rstrip("/")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(
            f'--base-url "{public_url(url)}" is not an http(s) URL; give the server\'s API root,'
            " e.g. http://localhost:8000/v1"
        )
    if parts.query or parts.fragment:
        raise UsageError(f'--base-url "{public_url(url)}" must not have a query or fragment')
    return url


def public_url(url: str) -> str:
    """`url` without ``user:password@``: the form that may be written down anywhere.

    >>> public_url("https://me:secret@example.com/v1")
    'https://example.com/v1'
    """
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def credentials(url: str) -> tuple[str, str] | None:
    """The user and password written into `url`, if any (sent as HTTP basic auth)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return None
    return parts.username or "", parts.password or ""


def tokenize_urls(base_url: str) -> list[str]:
    """Where a server may count tokens: ``{base_url}/tokenize``, then, for a base URL ending in
    ``/v1``, the server root (vLLM serves ``/tokenize`` beside ``/v1``, not under it)."""
    base = public_url(base_url)
    urls = [f"{base}/tokenize"]
    if base.endswith(API_SUFFIX):
        urls.append(f"{base[: -len(API_SUFFIX)]}/tokenize")
    return urls
