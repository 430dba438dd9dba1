"""Fixtures for the back-channel tests: portals registered with each client authentication
method, through the real ``idp clients create`` command."""

from __future__ import annotations

import pytest

from tests.support import CliRunner, RelyingParty
from tests.token.helpers import (
    KeyRelyingParty,
    PostRelyingParty,
    register,
    rsa_key,
    write_jwks,
)

REDIRECT_URI = "https://portal.example.gov.cn/callback"


@pytest.fixture
def other_rp(cli: CliRunner, client) -> RelyingParty:  # type: ignore[no-untyped-def]
    """A second confidential portal (client_secret_basic), sharing the same browser."""
    data = register(cli)
    return RelyingParty(client, data["client_id"], data["client_secret"], REDIRECT_URI)


@pytest.fixture
def post_rp(cli: CliRunner, client) -> PostRelyingParty:  # type: ignore[no-untyped-def]
    data = register(cli, "--token-endpoint-auth-method", "client_secret_post")
    assert data["token_endpoint_auth_method"] == "client_secret_post"
    return PostRelyingParty(client, data["client_id"], data["client_secret"], REDIRECT_URI)


@pytest.fixture
def key_rp(cli: CliRunner, client, tmp_path) -> KeyRelyingParty:  # type: ignore[no-untyped-def]
    key = rsa_key()
    jwks_file = write_jwks(tmp_path / "jwks.json", key)
    data = register(
        cli, "--token-endpoint-auth-method", "private_key_jwt", "--jwks-file", str(jwks_file)
    )
    assert "client_secret" not in data
    return KeyRelyingParty(client, data["client_id"], None, REDIRECT_URI, key=key)
