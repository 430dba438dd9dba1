"""Fixtures of the verifier tests: the shipped demo registry and a scriptable gateway."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from idp.config import DEMO_REGISTRY
from idp.identity.verifiers import RegistryFileVerifier
from tests.verifiers.helpers import Gateway


@pytest.fixture(scope="module")
def demo() -> RegistryFileVerifier:
    return RegistryFileVerifier.from_file(DEMO_REGISTRY)


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    started = Gateway()
    yield started
    started.stop()
