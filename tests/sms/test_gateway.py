"""HttpSender against a real SMS gateway on a loopback port (the contract in docs/sms.md)."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest

from idp.config import load_config
from idp.identity.sms import HttpSender, SmsCodes, SmsUnavailable, build_sender
from idp.store.otp import OneTimeCodes
from tests.sms.helpers import Gateway, closed_port_url

PHONE = "13800138000"
ADDRESS = "203.0.113.7"


def test_the_gateway_gets_phone_template_code_and_lifetime(
    provider,
    gateways: Callable[..., Gateway],  # type: ignore[no-untyped-def]
) -> None:
    gateway = gateways()
    config = load_config(
        {"SMS_SENDER": "http", "SMS_HTTP_URL": gateway.url, "SMS_HTTP_TOKEN": "gateway-token"}
    )
    assert isinstance(build_sender(config), HttpSender)
    service = SmsCodes.from_config(config, provider.redis)

    result = service.send(PHONE, "register", ADDRESS)

    assert result.sent
    (request,) = gateway.requests
    assert request["path"] == "/sms/send"
    assert request["authorization"] == "Bearer gateway-token"
    assert request["content_type"] == "application/json"
    body = request["body"]
    assert set(body) == {"phone", "template", "params"}
    assert body["phone"] == PHONE and body["template"] == "register"
    assert body["params"]["minutes"] == 10
    code = body["params"]["code"]
    assert len(code) == 6 and code.isdigit()
    assert service.check(PHONE, "register", code) == "ok"


@pytest.mark.parametrize("status", [500, 503, 400, 302])
def test_a_failing_gateway_cancels_the_code(
    make_codes: Callable[..., OneTimeCodes],
    gateways: Callable[..., Gateway],
    caplog: pytest.LogCaptureFixture,
    status: int,
) -> None:
    gateway = gateways(status=status)
    service = SmsCodes(make_codes(), HttpSender(gateway.url, "t", timeout=5, code_ttl=300))

    with caplog.at_level(logging.INFO), pytest.raises(SmsUnavailable):
        service.send(PHONE, "login", ADDRESS)

    (request,) = gateway.requests  # delivered once, redirect not followed
    code = request["body"]["params"]["code"]
    assert request["body"]["params"]["minutes"] == 5
    assert service.check(PHONE, "login", code) == "expired"
    assert PHONE not in caplog.text and code not in caplog.text
    # Nothing reached the person, so they may ask again at once.
    gateway.status = 200
    assert service.send(PHONE, "login", ADDRESS).sent
    assert service.check(PHONE, "login", gateway.requests[-1]["body"]["params"]["code"]) == "ok"


def test_an_unreachable_gateway_cancels_the_code(
    make_codes: Callable[..., OneTimeCodes], caplog: pytest.LogCaptureFixture
) -> None:
    codes = make_codes()
    service = SmsCodes(codes, HttpSender(closed_port_url(), "t", timeout=5, code_ttl=600))

    with caplog.at_level(logging.INFO), pytest.raises(SmsUnavailable):
        service.send(PHONE, "change_phone", ADDRESS)

    assert service.check(PHONE, "change_phone", "123456") == "expired"  # none outstanding
    assert PHONE not in caplog.text
    assert codes.issue(PHONE, "change_phone", ADDRESS).refused is None


def test_failed_sends_still_count_toward_the_hourly_cap(
    make_codes: Callable[..., OneTimeCodes],
) -> None:
    service = SmsCodes(
        make_codes(phone_per_hour=2), HttpSender(closed_port_url(), "", timeout=5, code_ttl=600)
    )
    for _ in range(2):
        with pytest.raises(SmsUnavailable):
            service.send(PHONE, "register", ADDRESS)

    result = service.send(PHONE, "register", ADDRESS)

    assert not result.sent and result.refused == "phone_hourly"
