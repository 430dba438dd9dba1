"""Back-channel logout delivery (OpenID Connect Back-Channel Logout 1.0 section 2.5).

Deliveries are rows of ``logout_deliveries``, written in the same transaction as the logout that
causes them, so none is lost when the process stops. A dispatcher thread in every provider
process wakes at once for new rows and every few seconds for retries; it leases each due row
(an UPDATE that only one process can win), POSTs a freshly signed logout token with a short
timeout, and records the outcome. Deliveries run in parallel on a bounded pool of threads
(``DELIVERY_THREADS``), each with its own database session and HTTP connection pool, so one
portal that hangs until the timeout delays no other portal: the dispatcher thread hands due rows
to the pool and goes on, and a row already in flight is not handed over twice. Failures are
retried with growing waits until ``give_up_at``; then the row is abandoned and the abandonment
audited. A person's own logout never waits for a portal.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta

import requests
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from idp.models import AuditEvent, Client, LogoutDelivery
from idp.models.base import Database, utcnow
from idp.oauth.keys import KeyRing
from idp.oauth.logout import logout_token
from idp.observability import logs, metrics

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 600
# Deliveries attempted at the same time by one process: enough that a few hanging portals
# leave room for the others, few enough to stay far below the database pool's size.
DELIVERY_THREADS = 8


class BackchannelDispatcher:
    def __init__(
        self,
        db: Database,
        keys: KeyRing,
        *,
        issuer: str,
        timeout: float,
        give_up_after: int,
        poll_interval: float,
        threads: int = DELIVERY_THREADS,
    ) -> None:
        self.db = db
        self.keys = keys
        self.issuer = issuer
        self.timeout = timeout
        self.give_up_after = give_up_after
        self.poll_interval = poll_interval
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.threads = threads
        self._pool: ThreadPoolExecutor | None = None
        self._in_flight: set[str] = set()
        self._lock = threading.Lock()
        self._local = threading.local()  # one requests.Session per delivery thread

    # -- enqueueing ----------------------------------------------------------------------------
    def enqueue(
        self,
        session: Session,
        client: Client,
        *,
        subject: str | None,
        sid: str | None,
        reason: str,
    ) -> None:
        """Add a delivery inside the caller's transaction (no-op for portals without a URI)."""
        if not client.backchannel_logout_uri:
            return
        now = utcnow()
        session.add(
            LogoutDelivery(
                client_id=client.client_id,
                uri=client.backchannel_logout_uri,
                subject=subject,
                sid=sid,
                reason=reason,
                next_attempt_at=now,
                give_up_at=now + timedelta(seconds=self.give_up_after),
            )
        )

    def wake(self) -> None:
        self._wake.set()

    def counts_by_status(self) -> dict[str, int]:
        """How many deliveries are in each status (``pending``, ``delivered``, ``abandoned``)."""
        return dict(
            self.db.session.execute(
                select(LogoutDelivery.status, func.count()).group_by(LogoutDelivery.status)
            ).all()
        )

    # -- delivering ----------------------------------------------------------------------------
    def deliver_due(self, limit: int = 50, *, wait: bool = True) -> int:
        """Attempt every due delivery once, in parallel; returns how many were delivered.

        With ``wait=False`` (the background thread) the attempts are left running on the pool
        and 0 is returned: a hanging portal holds one pool thread, not the next round."""
        with self._lock:
            room = limit - len(self._in_flight)
            busy = set(self._in_flight)
        if room <= 0:
            return 0
        try:
            due = self._due(room, busy)
        finally:
            self.db.remove()
        futures = [self._submit(delivery_id) for delivery_id in due]
        if not wait:
            return 0
        return sum(future.result() for future in futures if future is not None)

    def _due(self, limit: int, busy: set[str]) -> list[str]:
        now = utcnow()
        query = (
            select(LogoutDelivery.id)
            .where(
                or_(
                    (LogoutDelivery.status == "pending") & (LogoutDelivery.next_attempt_at <= now),
                    (LogoutDelivery.status == "sending") & (LogoutDelivery.lease_until < now),
                )
            )
            .order_by(LogoutDelivery.next_attempt_at)
            .limit(limit + len(busy))
        )
        ids = self.db.session.scalars(query).all()
        self.db.session.rollback()
        return [delivery_id for delivery_id in ids if delivery_id not in busy][:limit]

    def _submit(self, delivery_id: str) -> Future[int] | None:
        with self._lock:
            if delivery_id in self._in_flight:
                return None
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="backchannel")
            self._in_flight.add(delivery_id)
            return self._pool.submit(self._attempt_in_thread, delivery_id)

    def _attempt_in_thread(self, delivery_id: str) -> int:
        """One delivery on a pool thread, which owns its scoped database session."""
        try:
            return self._attempt(delivery_id)
        except Exception:  # a store outage: the row stays leased, retried once the lease ends
            log.exception("back-channel delivery %s failed", delivery_id)
            self.db.recover()
            return 0
        finally:
            self.db.remove()
            with self._lock:
                self._in_flight.discard(delivery_id)

    def _http(self) -> requests.Session:
        http: requests.Session | None = getattr(self._local, "http", None)
        if http is None:
            http = self._local.http = requests.Session()
        return http

    def _lease(self, delivery_id: str) -> LogoutDelivery | None:
        now = utcnow()
        with self.db.transaction() as session:
            won = session.execute(
                update(LogoutDelivery)
                .where(
                    LogoutDelivery.id == delivery_id,
                    or_(
                        LogoutDelivery.status == "pending",
                        (LogoutDelivery.status == "sending") & (LogoutDelivery.lease_until < now),
                    ),
                )
                .values(status="sending", lease_until=now + timedelta(seconds=self.timeout + 30))
            ).rowcount  # type: ignore[attr-defined]
        if not won:
            return None
        return self.db.session.get(LogoutDelivery, delivery_id)

    def _attempt(self, delivery_id: str) -> int:
        delivery = self._lease(delivery_id)
        if delivery is None:
            return 0
        client = self.db.session.get(Client, delivery.client_id)
        error = None
        if client is None:
            error = "portal deleted"
        else:
            try:
                token = logout_token(
                    self.keys,
                    issuer=self.issuer,
                    client=client,
                    subject=delivery.subject,
                    sid=delivery.sid,
                )
                response = self._http().post(
                    delivery.uri,
                    data={"logout_token": token},
                    # The request that ended the session, else the delivery (the dispatcher's
                    # threads serve no request): what the portal's logs can be matched with.
                    headers=logs.outbound_headers() or {logs.HEADER: str(delivery.id)},
                    timeout=self.timeout,
                    allow_redirects=False,
                )
                # Section 2.8: 200 OK, or 204 from frameworks that drop empty bodies.
                if response.status_code not in (200, 204):
                    error = f"HTTP {response.status_code}"
            except Exception as exc:  # network or signing: counted, retried, then abandoned
                error = type(exc).__name__
        now = utcnow()
        with self.db.transaction() as session:
            row = session.get(LogoutDelivery, delivery_id)
            if row is None:  # pruned meanwhile
                return 0
            row.attempts += 1
            row.lease_until = None
            if error is None:
                row.status, row.delivered_at, row.last_error = "delivered", now, None
            elif client is None or now >= row.give_up_at:
                row.status, row.last_error = "abandoned", error
                session.add(
                    AuditEvent(
                        action="backchannel_logout_abandoned",
                        actor="provider",
                        client_id=row.client_id,
                        details={"delivery": row.id, "attempts": row.attempts, "error": error},
                    )
                )
            else:
                wait = min(2**row.attempts, MAX_BACKOFF_SECONDS)
                row.status, row.last_error = "pending", error
                row.next_attempt_at = min(now + timedelta(seconds=wait), row.give_up_at)
        if error is not None:
            log.info("back-channel logout to %s failed: %s", delivery.client_id, error)
        metrics.count_backchannel("delivered" if error is None else "failed")
        return 1 if error is None else 0

    # -- the background thread -------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="backchannel", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=self.timeout + 5)
            self._thread = None
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:  # attempts under way end within their timeout; none waits here
            pool.shutdown(wait=False, cancel_futures=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.poll_interval)
            self._wake.clear()
            if self._stop.is_set() or self.db.closed:
                break
            try:
                self.deliver_due(wait=False)
            except Exception:  # keep delivering after a store outage; the rows are durable
                log.exception("back-channel dispatcher round failed")
