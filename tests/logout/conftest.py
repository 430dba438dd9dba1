"""Fixtures of the logout tests: back-channel receivers, extra apps, two regional portals."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.logout.helpers import Receiver, Receivers, register_portal
from tests.support import RelyingParty


@pytest.fixture
def receivers() -> Iterator[Receivers]:
    started = Receivers()
    yield started
    started.stop_all()


@dataclass
class Portal:
    rp: RelyingParty
    receiver: Receiver


@pytest.fixture
def portal_a(cli, client, receivers) -> Portal:  # type: ignore[no-untyped-def]
    """The first regional portal, with a working back-channel logout endpoint."""
    receiver = receivers()
    rp = register_portal(cli, client, "Portal A", "a.example.gov.cn", backchannel_uri=receiver.url)
    return Portal(rp, receiver)


@pytest.fixture
def portal_b(cli, client, receivers) -> Portal:  # type: ignore[no-untyped-def]
    """A second portal of the same authority (trusted: no consent page), with its endpoint."""
    receiver = receivers()
    rp = register_portal(
        cli, client, "Portal B", "b.example.gov.cn", backchannel_uri=receiver.url, trusted=True
    )
    return Portal(rp, receiver)
