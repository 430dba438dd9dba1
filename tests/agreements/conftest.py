"""Fixtures of this folder: the shipped agreements, and apps built with other settings."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support import AppFactory, CliRunner, RelyingParty


@pytest.fixture(scope="module")
def sensitive_app(app) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    """An app where the operator marks ``name`` sensitive (IDP_SENSITIVE_CLAIMS=name)."""
    factory = AppFactory()
    yield factory(SENSITIVE_CLAIMS="name")
    factory.close()


@pytest.fixture
def seeded(cli: CliRunner) -> str:
    """The shipped agreements published as version 1, as ``idp db upgrade`` does."""
    return str(cli.ok("db", "upgrade"))


@pytest.fixture
def second_rp(cli: CliRunner, client) -> RelyingParty:  # type: ignore[no-untyped-def]
    """Another portal, in the same browser."""
    data = cli.ok(
        "clients",
        "create",
        "--name",
        "Second Portal",
        "--public",
        "--redirect-uri",
        "http://127.0.0.1:8766/callback",
        "--json",
    )
    return RelyingParty(client, data["client_id"], None, "http://127.0.0.1:8766/callback")
