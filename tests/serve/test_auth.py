"""Tokens and exposure: constant-time bearer check, where the token comes from, loopback only without one."""

from __future__ import annotations

import pytest

from adaptlab.errors import UsageError
from adaptlab.serve.auth import DEFAULT_TOKEN_ENV, bearer_matches, check_exposure, is_loopback, resolve_token


def test_bearer_matches_only_the_exact_token() -> None:
    assert bearer_matches("Bearer abc123", "abc123")
    assert bearer_matches("bearer abc123", "abc123")
    for header in (None, "", "Bearer", "Bearer abc12", "Bearer abc1234", "Basic abc123", "abc123"):
        assert not bearer_matches(header, "abc123")


def test_the_token_comes_from_the_option_the_named_variable_or_the_default_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(DEFAULT_TOKEN_ENV, raising=False)
    assert resolve_token(None, None) == (None, None)
    monkeypatch.setenv(DEFAULT_TOKEN_ENV, "from-default")
    assert resolve_token(None, None) == ("from-default", f"${DEFAULT_TOKEN_ENV}")
    monkeypatch.setenv("MY_TOKEN", "from-mine")
    assert resolve_token(None, "MY_TOKEN") == ("from-mine", "$MY_TOKEN")
    assert resolve_token("given", "MY_TOKEN") == ("given", "--token")
    with pytest.raises(UsageError, match="UNSET_TOKEN is not set"):
        resolve_token(None, "UNSET_TOKEN")
    with pytest.raises(UsageError, match="empty"):
        resolve_token(" ", None)


def test_only_loopback_addresses_may_go_without_a_token() -> None:
    for host in ("127.0.0.1", "127.8.9.1", "localhost", "::1", "[::1]"):
        assert is_loopback(host)
        check_exposure(host, None)
    for host in ("0.0.0.0", "::", "192.168.1.20", "example.com"):
        assert not is_loopback(host)
        with pytest.raises(UsageError, match="no token is set"):
            check_exposure(host, None)
        check_exposure(host, "a-token")
