"""The durable SMS outbox (issue 21, item 10: no timing oracle on SMS).

A request that issues a code queues its message (one INSERT) instead of calling the gateway,
and a request for a number with no account does exactly the same store work; the sender
(``idp sms send-pending`` here, a thread in each serving process otherwise) delivers, retries
and discards. Delivery is at least once: a sender killed after the gateway took a message and
before it marked it sent leaves the message leased, and once the lease ends it is sent again.
What is measured is the work (SQL statements, Redis commands), never the time.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from idp.config import PROJECT_ROOT, ConfigError, load_config
from idp.identity.sms import SmsCodes
from idp.services import Services
from tests.agreements.helpers import rows
from tests.logout.helpers import wait_until
from tests.ops.test_request_costs import Costs
from tests.realname.helpers import (
    NEW_PASSWORD,
    ZHANG_SAN,
    RegistrationForm,
    account_login,
    form_for,
    notice,
    outbox_code,
    page,
    post_account_form,
)
from tests.sms.helpers import Gateway, move_outbox_times
from tests.support import CliRunner

UNKNOWN_PHONE = "13900139333"  # no account; as long as ZHANG_SAN's
KILL_AFTER = 60  # seconds: a sender process still alive then is killed, and the test fails


@pytest.fixture
def zhang_san(app: Any, provider: Services, outbox: Path) -> None:
    """ZHANG_SAN registered in the user space; his registration SMS already sent."""
    form = RegistrationForm.open(app.test_client())
    fields = form_for(ZHANG_SAN)
    assert form.send_code(fields["phone"]).status_code == 200
    fields["sms_code"] = outbox_code(provider, fields["phone"])
    assert form.submit(fields).status_code == 303


def ask_for_recovery(app: Any, identifier: str) -> Any:
    response = post_account_form(
        app.test_client(), "/account/recover", {"action": "send_code", "identifier": identifier}
    )
    assert response.status_code == 200
    return response


def outbox_rows(provider: Services) -> list[dict[str, Any]]:
    return rows(provider, "SELECT * FROM sms_outbox ORDER BY created_at")


def sent_to(provider: Services, phone: str) -> list[dict[str, Any]]:
    """What the development sender wrote for ``phone`` (without sending anything first)."""
    return SmsCodes.read_outbox(provider.config.SMS_OUTBOX, phone=phone, limit=100)


def test_recovery_for_a_known_and_an_unknown_number_does_the_same_store_work(
    zhang_san: None, app: Any, provider: Services, measure: Callable[[], Any]
) -> None:
    """The request for ZHANG_SAN's phone and the one for a number without an account send
    the same SQL statements (text and order) and the same Redis commands, and neither calls
    a gateway: the known one only queues its message."""
    ask_for_recovery(app, "13900139444")  # warm: cached agreements, compiled statements
    costs: dict[str, Costs] = {}
    for who, phone in (("known", ZHANG_SAN.phone), ("unknown", UNKNOWN_PHONE)):
        with measure() as cost:
            answer = ask_for_recovery(app, phone)
        costs[who] = cost
        assert "If an account matches" in notice(page(answer))

    known, unknown = costs["known"], costs["unknown"]
    assert known.statements == unknown.statements
    assert known.redis == unknown.redis
    statements, _redis = known.summary()
    assert statements.count("INSERT sms_outbox") == 1
    assert sent_to(provider, ZHANG_SAN.phone)[0]["purpose"] == "register"  # nothing sent yet
    queued = outbox_rows(provider)[-2:]
    assert [row["status"] for row in queued] == ["pending", "drop"]
    assert [row["kind"] for row in queued] == ["recover", "recover"]
    # The sealed values have the same size: the same work, and nothing told by their length.
    assert len(queued[0]["phone_sealed"]) == len(queued[1]["phone_sealed"])
    assert len(queued[0]["params_sealed"]) == len(queued[1]["params_sealed"])


def test_a_queued_code_is_delivered_by_the_command_and_works(
    zhang_san: None, app: Any, provider: Services, cli: CliRunner
) -> None:
    """Through the development sender: the known number gets its recovery code (once), the
    unknown one nothing; the code then resets the password."""
    ask_for_recovery(app, ZHANG_SAN.id_number)
    ask_for_recovery(app, UNKNOWN_PHONE)
    assert [entry["purpose"] for entry in sent_to(provider, ZHANG_SAN.phone)] == ["register"]

    assert cli.ok("sms", "send-pending").strip() == (
        "sent 1, failed 0, dropped 1, expired 0; 0 waiting"
    )

    latest = sent_to(provider, ZHANG_SAN.phone)[0]
    assert latest["purpose"] == "recover"
    assert sent_to(provider, UNKNOWN_PHONE) == []
    assert sent_to(provider, "0" * len(UNKNOWN_PHONE)) == []
    assert [row["status"] for row in outbox_rows(provider)] == ["sent", "sent", "dropped"]
    assert cli.ok("sms", "send-pending").strip().startswith("sent 0, failed 0, dropped 0")
    reset = post_account_form(
        app.test_client(),
        "/account/recover",
        {
            "action": "reset",
            "identifier": ZHANG_SAN.id_number,
            "sms_code": latest["code"],
            "password": NEW_PASSWORD,
            "password_confirm": NEW_PASSWORD,
        },
    )
    assert reset.status_code == 303
    assert account_login(app.test_client(), ZHANG_SAN.phone, NEW_PASSWORD).status_code == 303


def test_neither_the_phone_nor_the_code_is_stored_in_clear(
    zhang_san: None, app: Any, provider: Services, cli: CliRunner
) -> None:
    """While queued, the phone and the code are sealed with the personal-data key; once the
    message is finished both are gone from the row."""
    ask_for_recovery(app, ZHANG_SAN.phone)
    ask_for_recovery(app, UNKNOWN_PHONE)
    queued = outbox_rows(provider)[-2:]

    cli.ok("sms", "send-pending")
    code = sent_to(provider, ZHANG_SAN.phone)[0]["code"]

    for row in queued:
        assert str(row["phone_sealed"]).startswith("v1.")
        assert str(row["params_sealed"]).startswith("v1.")
        for value in map(str, row.values()):
            for secret in (ZHANG_SAN.phone, UNKNOWN_PHONE, code):
                assert secret not in value
    for row in outbox_rows(provider):
        assert row["phone_sealed"] is None and row["params_sealed"] is None
    if provider.db.engine.dialect.name == "sqlite":
        database = Path(str(provider.db.engine.url.database))
        for path in (database, Path(f"{database}-wal")):
            if path.exists():
                content = path.read_bytes()
                assert UNKNOWN_PHONE.encode() not in content


def test_a_sender_killed_between_taking_and_marking_loses_nothing(
    zhang_san: None,
    app: Any,
    provider: Services,
    cli: CliRunner,
    gateways: Callable[..., Gateway],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``idp sms send-pending`` in its own process, SIGKILLed by the gateway after it took the
    message and before it answered: the message stays leased (no other sender sends it
    meanwhile), and once the lease ends the next sender sends it again: at least once."""
    gateway = gateways()
    monkeypatch.setenv("IDP_SMS_SENDER", "http")
    monkeypatch.setenv("IDP_SMS_HTTP_URL", gateway.url)
    ask_for_recovery(app, ZHANG_SAN.phone)
    sender = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from idp.cli import main; sys.exit(main(['sms', 'send-pending']))",
        ],
        cwd=PROJECT_ROOT,
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    gateway.on_request = lambda: os.kill(sender.pid, signal.SIGKILL)
    try:
        sender.communicate(timeout=KILL_AFTER)
    finally:
        if sender.poll() is None:
            sender.kill()
            sender.communicate()
    gateway.on_request = None
    assert sender.returncode == -signal.SIGKILL
    (taken,) = gateway.requests
    code = taken["body"]["params"]["code"]
    (leased,) = [row for row in outbox_rows(provider) if row["kind"] == "recover"]
    assert leased["status"] == "sending" and leased["attempts"] == 1
    assert leased["sent_at"] is None and leased["params_sealed"] is not None

    # While the lease lasts, no other sender sends it.
    assert cli.ok("sms", "send-pending").strip() == (
        "sent 0, failed 0, dropped 0, expired 0; 1 waiting"
    )
    assert len(gateway.requests) == 1
    # The lease ends (twice the gateway timeout and 30 seconds later).
    move_outbox_times(provider, next_attempt_at=datetime.now(UTC))
    assert cli.ok("sms", "send-pending").strip().startswith("sent 1, failed 0")

    assert [r["body"]["params"]["code"] for r in gateway.requests] == [code, code]
    (sent,) = [row for row in outbox_rows(provider) if row["kind"] == "recover"]
    assert sent["status"] == "sent" and sent["attempts"] == 2
    assert provider.sms.check(ZHANG_SAN.phone, "recover", code) == "ok"


def test_the_sender_thread_of_a_serving_process_delivers(
    zhang_san: None, make_app: Any, provider: Services
) -> None:
    """With ``IDP_SMS_OUTBOX_INTERVAL`` > 0 the first request starts the sender thread, and
    the message its request queues is sent without any command."""
    serving = make_app(SMS_OUTBOX_INTERVAL=0.1)
    ask_for_recovery(serving, ZHANG_SAN.phone)

    wait_until(
        lambda: sent_to(provider, ZHANG_SAN.phone)[0]["purpose"] == "recover",
        10,
        "the sender thread to send the recovery code",
    )
    assert serving.extensions["idp"].sms_sender.running


@pytest.mark.parametrize("value", ["-1", "0.01", "61"])
def test_the_outbox_interval_is_checked(value: str) -> None:
    with pytest.raises(ConfigError, match="IDP_SMS_OUTBOX_INTERVAL"):
        load_config({"SMS_OUTBOX_INTERVAL": value})
