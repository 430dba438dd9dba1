"""Fixtures of this folder: extra applications built with other settings."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.login.helpers import AppFactory


@pytest.fixture
def make_app(app) -> Iterator[AppFactory]:  # type: ignore[no-untyped-def]
    """``make_app(SETTING=value, ...)``: another app over the same stores, closed afterwards."""
    factory = AppFactory()
    yield factory
    factory.close()
