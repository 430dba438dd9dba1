"""SmsCodes with the development sender: messages queued in the durable outbox, sent by
``idp sms send-pending`` to the development outbox file, read back through ``idp sms outbox``."""

from __future__ import annotations

import json
import stat
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from idp.identity.sms import OutboxSender, SendResult, SmsCodes, build_sender
from idp.services import Services
from idp.store.otp import OneTimeCodes
from tests.support import CliRunner

PHONE = "13800138000"
ADDRESS = "203.0.113.7"


def sms(provider: Services) -> SmsCodes:
    return provider.sms


def send_pending(cli: CliRunner) -> None:
    """The tests run no sender thread: the command sends what is queued."""
    cli.ok("sms", "send-pending")


def test_development_sends_to_the_outbox(provider, outbox: Path, cli: CliRunner) -> None:  # type: ignore[no-untyped-def]
    assert isinstance(build_sender(provider.config), OutboxSender)

    result = sms(provider).send(PHONE, "register", ADDRESS)
    assert not outbox.exists()  # queued, not sent by the request
    send_pending(cli)

    assert result == SendResult(sent=True, refused=None, wait_seconds=0)
    assert stat.S_IMODE(outbox.stat().st_mode) == 0o600
    (entry,) = cli.ok("sms", "outbox", "--json")
    assert set(entry) == {"phone", "code", "purpose", "time"}
    assert entry["phone"] == PHONE and entry["purpose"] == "register"
    assert len(entry["code"]) == 6 and entry["code"].isdigit()
    sent_at = datetime.fromisoformat(entry["time"])
    assert sent_at.utcoffset() is not None and sent_at.utcoffset().total_seconds() == 0
    assert sms(provider).check(PHONE, "register", entry["code"]) == "ok"


def test_the_outbox_is_one_json_object_per_line(provider, outbox: Path, cli: CliRunner) -> None:  # type: ignore[no-untyped-def]
    sms(provider).send(PHONE, "register", ADDRESS)
    sms(provider).send(PHONE, "login", ADDRESS)
    send_pending(cli)

    lines = outbox.read_text(encoding="utf-8").splitlines()

    assert [json.loads(line)["purpose"] for line in lines] == ["register", "login"]


def test_outbox_lists_newest_first_by_phone_and_limit(
    provider,
    outbox: Path,
    cli: CliRunner,  # type: ignore[no-untyped-def]
) -> None:
    service = sms(provider)
    service.send(PHONE, "register", ADDRESS)
    service.send("13900139000", "register", ADDRESS)
    service.send(PHONE, "login", ADDRESS)
    send_pending(cli)

    newest = cli.ok("sms", "outbox", "--json")
    mine = cli.ok("sms", "outbox", "--phone", PHONE, "--json")
    last = cli.ok("sms", "outbox", "--limit", "1", "--json")
    text = cli.ok("sms", "outbox", "--phone", "13900139000")

    assert [(e["phone"], e["purpose"]) for e in newest] == [
        (PHONE, "login"),
        ("13900139000", "register"),
        (PHONE, "register"),
    ]
    assert [e["purpose"] for e in mine] == ["login", "register"]
    assert [e["purpose"] for e in last] == ["login"]
    time_, phone, purpose, code = text.strip().split("\t")
    assert (phone, purpose) == ("13900139000", "register")
    assert code == newest[1]["code"] and time_ == newest[1]["time"]


def test_outbox_command_without_messages_and_with_bad_input(outbox: Path, cli: CliRunner) -> None:
    assert cli.ok("sms", "outbox", "--json") == []
    outbox.write_text('not json\n["a list"]\n', encoding="utf-8")
    assert cli.ok("sms", "outbox", "--json") == []

    code, _out, err = cli.run("sms", "outbox", "--limit", "0")

    assert code == 2 and "--limit must be at least 1" in err


def test_a_refused_send_writes_nothing(provider, outbox: Path, cli: CliRunner) -> None:  # type: ignore[no-untyped-def]
    service = sms(provider)
    service.send(PHONE, "register", ADDRESS)

    result = service.send(PHONE, "register", ADDRESS)
    send_pending(cli)

    assert not result.sent and result.refused == "resend_wait" and 0 < result.wait_seconds <= 60
    assert len(cli.ok("sms", "outbox", "--json")) == 1


def test_check_refuses_malformed_codes_without_spending_attempts(
    provider: Services, make_codes: Callable[..., OneTimeCodes], outbox: Path, cli: CliRunner
) -> None:
    service = SmsCodes(make_codes(max_attempts=1), provider.sms_outbox)
    service.send(PHONE, "login", ADDRESS)
    send_pending(cli)
    (entry,) = SmsCodes.read_outbox(outbox)

    for malformed in ("", "12345", "1234567", "12a456", "１２３４５６", "12 456"):
        assert service.check(PHONE, "login", malformed) == "wrong"

    assert service.check(PHONE, "login", f" {entry['code']} ") == "ok"


def test_concurrent_writers_never_interleave_lines(outbox: Path) -> None:
    sender = OutboxSender(outbox)

    def write(worker: int) -> None:
        for n in range(25):
            sender.send(f"1380000{worker:02d}{n:02d}", f"{n:06d}", "register")

    threads = [threading.Thread(target=write, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    entries = [json.loads(line) for line in outbox.read_text(encoding="utf-8").splitlines()]
    assert len(entries) == 200
    assert len({entry["phone"] for entry in entries}) == 200


def test_outbox_in_a_missing_folder_is_created(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "outbox.jsonl"

    OutboxSender(path).send(PHONE, "123456", "change_phone")

    assert SmsCodes.read_outbox(path)[0]["code"] == "123456"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
