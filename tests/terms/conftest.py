"""Fixtures of this folder: the shipped agreements, published as ``idp db upgrade`` does."""

from __future__ import annotations

import pytest

from tests.support import CliRunner


@pytest.fixture
def seeded(cli: CliRunner) -> list[dict]:  # type: ignore[type-arg]
    """Run ``idp db upgrade`` (which seeds version 1 of both agreements, Chinese and the English
    reference translation) and return ``idp agreements list --json``."""
    cli.ok("db", "upgrade")
    rows = cli.ok("agreements", "list", "--json")
    assert isinstance(rows, list)
    return rows
