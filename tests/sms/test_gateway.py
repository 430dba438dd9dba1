"""HttpSender against a real SMS gateway on a loopback port (the contract in docs/sms.md): the
request queues the message, ``idp sms send-pending`` (with ``IDP_SMS_SENDER=http``) sends it,
and a failure is retried with a growing wait until the code's lifetime ends."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from idp.config import load_config
from idp.identity.sms import HttpSender, build_sender
from idp.services import Services
from tests.agreements.helpers import rows
from tests.sms.helpers import Gateway, closed_port_url, move_outbox_times
from tests.support import CliRunner

PHONE = "13800138000"
ADDRESS = "203.0.113.7"


@pytest.fixture
def use_gateway(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    """``use_gateway(url)``: the ``idp`` command sends through the HTTP gateway at ``url``."""

    def use(url: str) -> None:
        monkeypatch.setenv("IDP_SMS_SENDER", "http")
        monkeypatch.setenv("IDP_SMS_HTTP_URL", url)
        monkeypatch.setenv("IDP_SMS_HTTP_TOKEN", "gateway-token")

    return use


def send_pending(cli: CliRunner, *options: str) -> dict[str, int]:
    return dict(cli.ok("sms", "send-pending", "--json", *options))


def message(provider: Services) -> dict[str, object]:
    (row,) = rows(provider, "SELECT * FROM sms_outbox")
    return row


def as_utc(value: object) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def test_the_gateway_gets_phone_template_code_and_lifetime(
    provider: Services,
    gateways: Callable[..., Gateway],
    use_gateway: Callable[[str], None],
    cli: CliRunner,
) -> None:
    gateway = gateways()
    use_gateway(gateway.url)
    assert isinstance(build_sender(load_config({"SMS_SENDER": "http"})), HttpSender)

    result = provider.sms.send(PHONE, "register", ADDRESS)
    assert result.sent and gateway.requests == []  # queued: the request called no gateway

    assert send_pending(cli) == {"sent": 1, "failed": 0, "dropped": 0, "expired": 0, "waiting": 0}
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
    assert provider.sms.check(PHONE, "register", code) == "ok"
    sent = message(provider)
    assert sent["status"] == "sent" and sent["attempts"] == 1 and sent["sent_at"] is not None
    assert sent["phone_sealed"] is None and sent["params_sealed"] is None
    assert send_pending(cli)["sent"] == 0  # sent once


@pytest.mark.parametrize("status", [500, 503, 400, 302])
def test_a_failing_gateway_is_retried_with_a_growing_wait(
    provider: Services,
    gateways: Callable[..., Gateway],
    use_gateway: Callable[[str], None],
    cli: CliRunner,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    status: int,
) -> None:
    gateway = gateways(status=status)
    use_gateway(gateway.url)
    monkeypatch.setenv("IDP_SMS_CODE_TTL", "300")
    provider.sms.send(PHONE, "login", ADDRESS)

    with caplog.at_level(logging.INFO):
        first = send_pending(cli)
    failed = message(provider)

    assert first == {"sent": 0, "failed": 1, "dropped": 0, "expired": 0, "waiting": 1}
    (request,) = gateway.requests  # delivered once, redirect not followed
    code = request["body"]["params"]["code"]
    assert request["body"]["params"]["minutes"] == 5
    assert failed["status"] == "pending" and failed["attempts"] == 1
    assert failed["last_error"] == f"the SMS gateway answered {status}"
    wait = as_utc(failed["next_attempt_at"]) - datetime.now(UTC)
    assert timedelta(0) < wait <= timedelta(seconds=2)
    assert PHONE not in caplog.text and code not in caplog.text
    # Not due yet: the next run leaves it alone.
    assert send_pending(cli)["failed"] == 0 and len(gateway.requests) == 1
    # Failing again, it waits longer.
    send_pending(cli, "--retry-now")
    again = message(provider)
    assert again["attempts"] == 2
    assert as_utc(again["next_attempt_at"]) - datetime.now(UTC) > timedelta(seconds=2)
    # Once the gateway takes it, the same code arrives and works.
    gateway.status = 200
    assert send_pending(cli, "--retry-now")["sent"] == 1
    assert [r["body"]["params"]["code"] for r in gateway.requests] == [code] * 3
    assert provider.sms.check(PHONE, "login", code) == "ok"
    assert message(provider)["status"] == "sent"


def test_an_unreachable_gateway_is_retried(
    provider: Services,
    gateways: Callable[..., Gateway],
    use_gateway: Callable[[str], None],
    cli: CliRunner,
    caplog: pytest.LogCaptureFixture,
) -> None:
    use_gateway(closed_port_url())
    provider.sms.send(PHONE, "change_phone", ADDRESS)

    with caplog.at_level(logging.INFO):
        assert send_pending(cli)["failed"] == 1

    assert message(provider)["last_error"] == "the SMS gateway is unreachable"
    assert PHONE not in caplog.text
    gateway = gateways()
    use_gateway(gateway.url)
    assert send_pending(cli, "--retry-now")["sent"] == 1
    (request,) = gateway.requests
    assert provider.sms.check(PHONE, "change_phone", request["body"]["params"]["code"]) == "ok"


def test_a_message_older_than_its_code_is_dropped_unsent(
    provider: Services,
    gateways: Callable[..., Gateway],
    use_gateway: Callable[[str], None],
    cli: CliRunner,
) -> None:
    gateway = gateways(status=503)
    use_gateway(gateway.url)
    provider.sms.send(PHONE, "register", ADDRESS)
    assert send_pending(cli)["failed"] == 1
    # The code's lifetime (10 minutes) passes while the gateway is down.
    past = datetime.now(UTC) - timedelta(minutes=11)
    move_outbox_times(provider, created_at=past, next_attempt_at=past)
    gateway.status = 200

    assert send_pending(cli) == {"sent": 0, "failed": 0, "dropped": 0, "expired": 1, "waiting": 0}

    assert len(gateway.requests) == 1
    expired = message(provider)
    assert expired["status"] == "expired" and expired["next_attempt_at"] is None
    assert expired["phone_sealed"] is None and expired["params_sealed"] is None
