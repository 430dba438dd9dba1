"""The durable SMS outbox: codes are sent off the request path (issue 21, item 10: no timing
oracle on SMS; OWASP Forgot Password Cheat Sheet, "consistent response times").

Sending a code to a known number used to call the gateway inside the request, while the path for
a number with no account sent nothing, so the time of the answer told who has an account. Now
both paths do the same store work and no request waits for a gateway:

1. **Queueing** (:meth:`SmsOutbox.enqueue`, from ``SmsCodes.send`` and
   ``SmsCodes.issue_without_sending``) is one INSERT into ``sms_outbox`` in the request's own
   short transaction: the phone and the parameters (the code) sealed with the personal-data key,
   bound to the row. A number with no account gets the same INSERT with the status ``drop``
   (its phone sealed as zeros of the same length: the number typed is not kept), which the
   sender discards without calling the gateway.
2. **Sending** (:meth:`SmsOutbox.send_due`): finish the ``drop`` rows and the rows older than
   the code's lifetime (``expired``: the code is dead, sending it would only confuse), then
   lease one due row at a time (one UPDATE ... RETURNING over the first due row; PostgreSQL
   ``FOR UPDATE SKIP LOCKED`` in its subquery, so a second sender skips the row instead of
   waiting; SQLite: the statement runs under the database's write lock) by moving its
   ``next_attempt_at`` to the end of the lease, commit, call the gateway outside any
   transaction, and mark the outcome: ``sent`` (phone and code cleared) or, on a failure, due
   again after a growing wait (2, 4, 8 ... at most 60 seconds), ``last_error`` telling why.

Delivery is **at least once**: a sender that dies after the gateway took the message and before
its mark leaves the row leased; when the lease ends (twice the gateway timeout plus 30 seconds)
another sender takes it and sends it again. Two live senders never send the same row, since a
lease is taken by one statement that only one of them wins. :class:`SmsOutboxSender` runs
``send_due`` in a thread of every serving process (woken at once by a message queued in the
process, else every ``IDP_SMS_OUTBOX_INTERVAL`` seconds); ``idp sms send-pending`` runs it at
once. Finished rows (phone and code already cleared) are deleted a day after they were queued.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import weakref
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from sqlalchemy import Table, delete, func, insert, or_, select, update

from idp.identity.background import ProcessWorker, backoff
from idp.identity.personal_data import PersonalData, PersonalDataError
from idp.identity.sms import SmsSender, SmsUnavailable
from idp.models.base import Database, new_id, utcnow
from idp.models.sms import SmsMessage
from idp.observability import metrics

log = logging.getLogger(__name__)

# Seconds a sender holds a row beyond twice the gateway timeout (connect, then read).
LEASE_MARGIN = 30
MAX_BACKOFF_SECONDS = 60
# Messages one round sends at most, so that a thread notices a stop between rounds.
ROUND_LIMIT = 100
# Finished rows are kept this long for ``idp sms send-pending``'s counts, then deleted.
KEEP_FINISHED = timedelta(days=1)
PRUNE_EVERY_SECONDS = 3600.0
# The longest pause of the sender thread after failed rounds.


def _table() -> Table:
    table = SmsMessage.__table__
    assert isinstance(table, Table)
    return table


OUTBOX = _table()
# Built once: the hot path binds only the values.
_INSERT = insert(SmsMessage)
_CLEARED = {"next_attempt_at": None, "phone_sealed": None, "params_sealed": None}


@dataclass
class SendCounts:
    """What one run did: ``sent``, ``failed`` (due again later), ``dropped`` (no account),
    ``expired`` (older than the code's lifetime, never sent); ``waiting``: messages still to
    send afterwards (retries and leased ones), when asked for."""

    sent: int = 0
    failed: int = 0
    dropped: int = 0
    expired: int = 0
    waiting: int = 0

    def add(self, other: SendCounts) -> None:
        self.sent += other.sent
        self.failed += other.failed
        self.dropped += other.dropped
        self.expired += other.expired

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True)
class _Leased:
    id: str
    kind: str
    phone_sealed: str | None
    params_sealed: str | None
    attempts: int


class SmsOutbox:
    """Queue messages (the request) and send the due ones (the sender thread, the command)."""

    def __init__(
        self,
        db: Database,
        personal_data: PersonalData,
        gateway: SmsSender,
        *,
        code_ttl: int,
        lease_seconds: float,
    ) -> None:
        self._db = db
        self._personal_data = personal_data
        self._gateway = gateway
        self.lifetime = timedelta(seconds=code_ttl)
        self.lease = timedelta(seconds=lease_seconds)
        self._reset()
        _OUTBOXES.add(self)

    def _reset(self) -> None:
        self._wake = threading.Event()

    @property
    def closed(self) -> bool:
        return self._db.closed

    # -- queueing (the request) ----------------------------------------------------------------
    def enqueue(self, phone: str, purpose: str, code: str, *, deliver: bool) -> None:
        """One INSERT in a short transaction of its own, the same for ``deliver`` or not: the
        phone (zeros of its length when not delivered) and ``{"code"}`` sealed to the row."""
        message_id = new_id()
        now = utcnow()
        seal = self._personal_data.seal
        sealed_phone = seal(phone if deliver else "0" * len(phone), _context("phone", message_id))
        sealed_params = seal(json.dumps({"code": code}), _context("params", message_id))
        with self._db.transaction() as session:
            session.execute(
                _INSERT,
                {
                    "id": message_id,
                    "created_at": now,
                    "kind": purpose,
                    "status": "pending" if deliver else "drop",
                    "phone_sealed": sealed_phone,
                    "params_sealed": sealed_params,
                    "attempts": 0,
                    "next_attempt_at": now,
                },
            )
        self._wake.set()

    # -- sending (the sender) ------------------------------------------------------------------
    def wait(self, timeout: float) -> None:
        """Until a message is queued in this process, or ``timeout`` seconds (the thread)."""
        self._wake.wait(timeout)
        self._wake.clear()

    def wake(self) -> None:
        self._wake.set()

    def send_due(self, *, retry_now: bool = False, limit: int = ROUND_LIMIT) -> SendCounts:
        """Finish the dropped and expired messages, then send up to ``limit`` due ones, each
        leased in a transaction of its own. ``retry_now``: also the failed ones still waiting
        for their next attempt (not those another sender holds)."""
        counts = SendCounts()
        try:
            now = utcnow()
            if not self._anything_due(now, retry_now):
                return counts  # no write (on SQLite, no write lock) when idle
            with self._db.transaction() as session:
                counts.dropped = _rowcount(
                    session.execute(
                        update(OUTBOX)
                        .where(OUTBOX.c.status == "drop")
                        .values(status="dropped", **_CLEARED)
                    )
                )
                counts.expired = _rowcount(
                    session.execute(
                        update(OUTBOX)
                        .where(
                            OUTBOX.c.status.in_(("pending", "sending")),
                            self._due(now, retry_now),
                            OUTBOX.c.created_at < now - self.lifetime,
                        )
                        .values(status="expired", **_CLEARED)
                    )
                )
            tried: list[str] = []  # each message once per round, even when retried now
            while counts.sent + counts.failed < limit:
                leased = self._lease(retry_now, tried)
                if leased is None:
                    break
                tried.append(leased.id)
                if self._deliver(leased):
                    counts.sent += 1
                else:
                    counts.failed += 1
        finally:
            self._db.remove()
        return counts

    def send_all(self, *, retry_now: bool = False) -> SendCounts:
        """What is due now, round after round until one comes out short (``idp sms
        send-pending``); a failed message is tried once. Then prune, and count what waits."""
        counts = last = self.send_due(retry_now=retry_now)
        while last.sent + last.failed >= ROUND_LIMIT:
            last = self.send_due()
            counts.add(last)
        self.prune()
        counts.waiting = self.waiting()
        return counts

    def waiting(self) -> int:
        """Messages with work left (due, retrying or leased)."""
        try:
            return (
                self._db.session.scalar(
                    select(func.count())
                    .select_from(OUTBOX)
                    .where(OUTBOX.c.next_attempt_at.is_not(None))
                )
                or 0
            )
        finally:
            self._db.remove()

    def prune(self) -> int:
        """Delete finished rows queued more than a day ago (their phone and code are gone)."""
        try:
            with self._db.transaction() as session:
                return _rowcount(
                    session.execute(
                        delete(OUTBOX).where(
                            OUTBOX.c.next_attempt_at.is_(None),
                            OUTBOX.c.created_at < utcnow() - KEEP_FINISHED,
                        )
                    )
                )
        finally:
            self._db.remove()

    def _due(self, now: datetime, retry_now: bool):  # type: ignore[no-untyped-def]
        due = OUTBOX.c.next_attempt_at <= now
        if retry_now:
            return or_(due, OUTBOX.c.status == "pending")
        return due

    def _anything_due(self, now: datetime, retry_now: bool) -> bool:
        first = self._db.session.execute(
            select(OUTBOX.c.id)
            .where(OUTBOX.c.next_attempt_at.is_not(None), self._due(now, retry_now))
            .limit(1)
        ).first()
        self._db.session.rollback()
        return first is not None

    def _lease(self, retry_now: bool, tried: list[str]) -> _Leased | None:
        """Take the oldest due message (not one ``tried`` in this round) until the lease ends:
        one statement, won by one sender."""
        now = utcnow()
        conditions = [
            OUTBOX.c.status.in_(("pending", "sending")),
            self._due(now, retry_now),
            OUTBOX.c.created_at >= now - self.lifetime,
        ]
        if tried:
            conditions.append(OUTBOX.c.id.not_in(tried))
        first_due = (
            select(OUTBOX.c.id)
            .where(*conditions)
            .order_by(OUTBOX.c.created_at)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        with self._db.transaction() as session:
            row = session.execute(
                update(OUTBOX)
                .where(OUTBOX.c.id.in_(first_due))
                .values(
                    status="sending",
                    attempts=OUTBOX.c.attempts + 1,
                    next_attempt_at=now + self.lease,
                )
                .returning(
                    OUTBOX.c.id,
                    OUTBOX.c.kind,
                    OUTBOX.c.phone_sealed,
                    OUTBOX.c.params_sealed,
                    OUTBOX.c.attempts,
                )
            ).first()
        if row is None:
            return None
        return _Leased(row.id, row.kind, row.phone_sealed, row.params_sealed, row.attempts)

    def _deliver(self, leased: _Leased) -> bool:
        """Hand the leased message to the gateway (outside any transaction), then mark it."""
        try:
            phone = self._personal_data.open(
                leased.phone_sealed or "", _context("phone", leased.id)
            )
            params = json.loads(
                self._personal_data.open(leased.params_sealed or "", _context("params", leased.id))
            )
        except PersonalDataError as error:
            # A data key removed from the ring before the message was sent: it never will be.
            log.error("SMS outbox: message %s does not open: %s", leased.id, error)
            self._mark(
                leased.id,
                status="expired",
                last_error="the sealed message does not open",
                **_CLEARED,
            )
            return False
        error_text: str | None = None
        try:
            self._gateway.send(phone, str(params["code"]), leased.kind)
        except SmsUnavailable as error:
            error_text = str(error)
        except Exception as error:  # a defect of a gateway: retried like an outage, logged
            log.exception("SMS gateway failed for a %s message", leased.kind)
            error_text = type(error).__name__
        now = utcnow()
        if error_text is None:
            self._mark(leased.id, status="sent", sent_at=now, last_error=None, **_CLEARED)
            metrics.count_sms("sent")
            return True
        metrics.count_sms("failed")
        wait = min(2**leased.attempts, MAX_BACKOFF_SECONDS)
        self._mark(
            leased.id,
            status="pending",
            last_error=error_text[:255],
            next_attempt_at=now + timedelta(seconds=wait),
        )
        log.info("SMS for %s not sent (attempt %d): %s", leased.kind, leased.attempts, error_text)
        return False

    def _mark(self, message_id: str, **values: object) -> None:
        with self._db.transaction() as session:
            session.execute(update(OUTBOX).where(OUTBOX.c.id == message_id).values(**values))


def _context(column: str, message_id: str) -> str:
    return SmsMessage.context(column, message_id)


def _rowcount(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


# -- the background sender --------------------------------------------------------------------

_OUTBOXES: weakref.WeakSet[SmsOutbox] = weakref.WeakSet()


class SmsOutboxSender(ProcessWorker):
    """Sends due messages in a daemon thread of each serving process
    (``idp.identity.background``): at once when a request of this process queues one, else
    every ``interval`` seconds (retries, other processes' messages). The senders of several
    processes share the work through the leases. Stopping waits for the message being sent (a
    message leased and not marked is sent again by another sender once its lease ends)."""

    thread_name = "sms-outbox"

    def __init__(self, outbox: SmsOutbox, interval: float) -> None:
        self._outbox = outbox
        super().__init__(interval)

    def _wake(self) -> None:
        self._outbox.wake()

    def _run(self) -> None:
        """Rounds until stopped. A failed round (the database unreachable) is logged; the
        messages wait, durable, and the next rounds come at growing intervals (at most a
        minute)."""
        delay = self.interval
        pruned = time.monotonic()
        while not self._stop.is_set():
            self._outbox.wait(delay)
            if self._stop.is_set() or self._outbox.closed:
                break
            try:
                while not self._stop.is_set():
                    counts = self._outbox.send_due()
                    if counts.sent + counts.failed < ROUND_LIMIT:
                        break
                if time.monotonic() - pruned >= PRUNE_EVERY_SECONDS:
                    self._outbox.prune()
                    pruned = time.monotonic()
                delay = self.interval
            except Exception:
                log.exception("SMS outbox round failed")
                delay = backoff(delay, self.interval)


def _forget_threads_after_fork() -> None:
    for outbox in list(_OUTBOXES):
        outbox._reset()


os.register_at_fork(after_in_child=_forget_threads_after_fork)
