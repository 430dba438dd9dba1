"""Fixtures of the SMS tests: one-time codes over the suite's real Redis, the outbox file, SMS
gateways on loopback ports, and ``measure`` (the store work of a request)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from idp.store.otp import OneTimeCodes
from tests.ops.test_request_costs import measure  # noqa: F401 (the fixture: SQL and Redis work)
from tests.sms.helpers import Gateway

DEFAULTS: dict[str, Any] = {
    "ttl": 600,
    "max_attempts": 5,
    "resend_interval": 60,
    "phone_per_hour": 5,
    "address_per_hour": 20,
}


@pytest.fixture
def make_codes(provider) -> Callable[..., OneTimeCodes]:  # type: ignore[no-untyped-def]
    """``make_codes(ttl=..., max_attempts=..., ...)``: OneTimeCodes with the app's secret."""

    def build(**overrides: Any) -> OneTimeCodes:
        return OneTimeCodes(
            provider.redis, provider.config.SECRET_KEY.encode(), **{**DEFAULTS, **overrides}
        )

    return build


@pytest.fixture
def codes(make_codes: Callable[..., OneTimeCodes]) -> OneTimeCodes:
    return make_codes()


@pytest.fixture
def outbox(provider) -> Iterator[Path]:  # type: ignore[no-untyped-def]
    """The development outbox of the test settings (IDP_SMS_OUTBOX), empty at the start."""
    path = Path(provider.config.SMS_OUTBOX)
    path.unlink(missing_ok=True)
    yield path
    path.unlink(missing_ok=True)


@pytest.fixture
def gateways() -> Iterator[Callable[..., Gateway]]:
    started: list[Gateway] = []

    def start(**options: Any) -> Gateway:
        gateway = Gateway(**options)
        started.append(gateway)
        return gateway

    yield start
    for gateway in started:
        gateway.stop()
