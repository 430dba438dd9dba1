"""Sending SMS one-time codes (real-name registration, item 9; natural-person agreement clause
4(2): registration is proved by the person's own phone).

:class:`SmsCodes` is the service the views use: ``send`` issues a code (``idp.store.otp`` holds
the rules: lifetime, attempts, resend wait, hourly limits) and queues the message in the durable
SMS outbox (``idp.identity.sms_outbox``, issue 21 item 10: no timing oracle); ``check`` verifies
it once. No request calls a gateway: the outbox's sender does, in a thread of every serving
process or in ``idp sms send-pending``. Two gateways exist (:class:`SmsSender`):

- :class:`OutboxSender` (development and offline tests) appends each message as one JSON line
  ``{"phone", "code", "purpose", "time"}`` to a file; ``idp sms outbox`` prints the latest;
- :class:`HttpSender` POSTs ``{"phone", "template", "params": {"code", "minutes"}}`` to the
  operator's SMS gateway with a bearer token. Any failure raises :class:`SmsUnavailable`, and
  the outbox tries again later.

Phone numbers and codes never go to logs.
"""

from __future__ import annotations

import json
import logging
import math
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import redis
import requests

from idp.config import Config
from idp.errors import IdpError
from idp.store.otp import OneTimeCodes

logger = logging.getLogger(__name__)

CODE_LENGTH = 6


class SmsUnavailable(IdpError):
    """A gateway could not send the message (down, refused, or the outbox file not writable).
    Raised to the outbox's sender, which tries again later (``idp.identity.sms_outbox``); no
    request waits for a gateway any more. The text never contains the phone or the code."""

    code = "sms_unavailable"
    status = 503

    def __init__(self, detail: str) -> None:
        super().__init__(detail=detail)


class SmsSender(Protocol):
    def send(self, phone: str, code: str, purpose: str) -> None:
        """Deliver ``code`` to ``phone``, or raise :class:`SmsUnavailable`."""


class OutboxSender:
    """Development sender: one JSON line per message, appended to ``path`` (mode 0600).

    Each line is written with a single ``write`` on a descriptor opened with ``O_APPEND``, so
    lines from concurrent processes never interleave.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def send(self, phone: str, code: str, purpose: str) -> None:
        entry = {
            "phone": phone,
            "code": code,
            "purpose": purpose,
            "time": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        }
        line = (json.dumps(entry, ensure_ascii=False) + "\n").encode()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                written = os.write(fd, line)
            finally:
                os.close(fd)
        except OSError as exc:
            logger.error("SMS outbox not writable: %s", exc.strerror)
            raise SmsUnavailable("the SMS outbox is not writable") from None
        if written != len(line):
            raise SmsUnavailable("the SMS outbox took only part of the message")


class HttpSender:
    """The operator's SMS gateway.

    Contract: ``POST <url>`` with ``Authorization: Bearer <token>`` and the JSON body
    ``{"phone": ..., "template": <purpose>, "params": {"code": ..., "minutes": <lifetime>}}``.
    Any 2xx status means accepted. Another status (redirects are not followed), a network error
    or no answer within ``timeout`` seconds raises :class:`SmsUnavailable`.
    """

    def __init__(self, url: str, token: str, *, timeout: float, code_ttl: int) -> None:
        self.url = url
        self.token = token
        self.timeout = timeout
        self.minutes = math.ceil(code_ttl / 60)

    def send(self, phone: str, code: str, purpose: str) -> None:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        body: dict[str, Any] = {
            "phone": phone,
            "template": purpose,
            "params": {"code": code, "minutes": self.minutes},
        }
        try:
            response = requests.post(
                self.url, json=body, headers=headers, timeout=self.timeout, allow_redirects=False
            )
        except requests.RequestException as exc:
            # The exception names the URL and the cause, never the body (phone, code).
            logger.warning("SMS gateway unreachable: %s", type(exc).__name__)
            raise SmsUnavailable("the SMS gateway is unreachable") from None
        if not 200 <= response.status_code < 300:
            logger.warning("SMS gateway answered %s for template %s", response.status_code, purpose)
            raise SmsUnavailable(f"the SMS gateway answered {response.status_code}")


def build_sender(config: Config) -> SmsSender:
    """The sender named by ``IDP_SMS_SENDER`` (``outbox`` or ``http``)."""
    if config.SMS_SENDER == "http":
        return HttpSender(
            config.SMS_HTTP_URL,
            config.SMS_HTTP_TOKEN,
            timeout=config.SMS_HTTP_TIMEOUT,
            code_ttl=config.SMS_CODE_TTL,
        )
    if config.SMS_SENDER == "outbox":
        return OutboxSender(config.SMS_OUTBOX)
    raise ValueError(f"unknown SMS sender {config.SMS_SENDER!r}")


@dataclass(frozen=True)
class SendResult:
    sent: bool
    refused: str | None  # None | "resend_wait" | "phone_hourly" | "address_hourly"
    wait_seconds: int = 0


class MessageQueue(Protocol):
    def enqueue(self, phone: str, purpose: str, code: str, *, deliver: bool) -> None:
        """Queue the message in one short transaction of its own; ``deliver=False`` queues a
        message that is discarded unsent, with the same work as one that is delivered."""


def one_time_codes(config: Config, client: redis.Redis) -> OneTimeCodes:
    """The code rules of the settings (``IDP_SMS_*``) over ``client``."""
    return OneTimeCodes(
        client,
        config.SECRET_KEY.encode(),
        ttl=config.SMS_CODE_TTL,
        max_attempts=config.SMS_MAX_ATTEMPTS,
        resend_interval=config.SMS_RESEND_INTERVAL,
        phone_per_hour=config.SMS_PHONE_PER_HOUR,
        address_per_hour=config.SMS_ADDRESS_PER_HOUR,
    )


class SmsCodes:
    """Send and check one-time codes for a phone and a purpose (``register``, ``login``,
    ``change_phone``, ``recover``, ``grant``)."""

    def __init__(self, codes: OneTimeCodes, outbox: MessageQueue) -> None:
        self.codes = codes
        self.outbox = outbox

    def send(self, phone: str, purpose: str, address: str) -> SendResult:
        """Issue a code and queue its message (one Redis script, one INSERT); the outbox's
        sender delivers it. A refusal queues nothing. When the message cannot be queued (the
        database is down), the code is cancelled, so that an immediate retry is allowed, and
        the error re-raised."""
        return self._issue(phone, purpose, address, deliver=True)

    def issue_without_sending(self, phone: str, purpose: str, address: str) -> SendResult:
        """Exactly the work of :meth:`send` (the same Redis script, the same INSERT), but the
        message queued is discarded by the sender unsent: for numbers with no account, so that
        their answers, limits and timing are those of known numbers. The code issued is never
        told to anyone and expires."""
        return self._issue(phone, purpose, address, deliver=False)

    def _issue(self, phone: str, purpose: str, address: str, *, deliver: bool) -> SendResult:
        issued = self.codes.issue(phone, purpose, address)
        if issued.code is None:
            return SendResult(sent=False, refused=issued.refused, wait_seconds=issued.wait_seconds)
        try:
            self.outbox.enqueue(phone, purpose, issued.code, deliver=deliver)
        except Exception:
            self.codes.cancel(phone, purpose)
            raise
        return SendResult(sent=True, refused=None)

    def check(self, phone: str, purpose: str, code: str, *, consume: bool = True) -> str:
        """As :meth:`OneTimeCodes.verify`. A code that is not six ASCII digits (surrounding
        spaces ignored) is ``"wrong"`` without counting as an attempt."""
        code = code.strip()
        if len(code) != CODE_LENGTH or not (code.isascii() and code.isdigit()):
            return "wrong"
        return self.codes.verify(phone, purpose, code, consume=consume)

    @staticmethod
    def read_outbox(
        path: str | Path, phone: str | None = None, limit: int = 10
    ) -> list[dict[str, Any]]:
        """The latest ``limit`` outbox entries (newest first), only ``phone``'s if given. A
        missing file has no entries; a line that is not a JSON object is skipped."""
        try:
            with open(path, encoding="utf-8", errors="replace") as fh:
                lines = fh.readlines()
        except FileNotFoundError:
            return []
        entries: list[dict[str, Any]] = []
        for line in reversed(lines):
            if len(entries) >= limit:
                break
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict) and (phone is None or entry.get("phone") == phone):
                entries.append(entry)
        return entries
