"""The disclosure log: recording claim releases, linking them into a hash chain, verifying it.

Natural-person agreement clause 5 and PIPL articles 23, 29 and 44: every release of claims to a
portal is recorded (time, portal, account, channel, claim *names*), and the record is
tamper-evident. Recording and chaining are two steps, so that no request waits for another:

1. **Recording** (:meth:`DisclosureLog.record`, on the hot paths: the ID token of the code and
   refresh grants, UserInfo, introspection) is one INSERT into ``disclosure_queue`` in the
   request's own short transaction. It touches no shared row, and once committed it survives a
   crash of the process.
2. **Chaining** (:func:`chain_batch`) links queued records into the chain in one transaction:
   lock the chain head (PostgreSQL: ``SELECT ... FOR UPDATE SKIP LOCKED``, so a second chainer
   skips instead of waiting; SQLite: the database's write lock, which the first statement, an
   UPDATE of the head, takes), take up to a batch of queued records in the order they were
   recorded, append them to ``disclosures`` with consecutive ``seq``, ``prev_hash`` and
   ``entry_hash`` (each keeps the time it was recorded), delete them from the queue, move the
   head. A crash anywhere rolls the whole batch back: nothing is lost, nothing is chained twice.
   :class:`DisclosureChainer` runs it in a thread of every serving process; ``idp audit chain``
   runs it at once.

Readers see both tables: the user space and the console list queued records together with the
chained ones, in one statement (a record that moves meanwhile is seen exactly once);
:func:`verify` (``idp audit verify``) recomputes what is chained and counts what is queued.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    String,
    Table,
    cast,
    delete,
    func,
    insert,
    literal,
    null,
    select,
    union_all,
    update,
)
from sqlalchemy.orm import Session

from idp.errors import IdpError
from idp.identity.background import ProcessWorker, backoff
from idp.models import Grant
from idp.models.base import Base, Database, utcnow
from idp.models.disclosure import (
    GENESIS_HASH,
    DisclosureChainHead,
    DisclosureRecord,
    QueuedDisclosure,
)
from idp.observability import metrics

log = logging.getLogger(__name__)

HEAD_ID = 1
# Queued records linked by one transaction: short enough to hold the head (and, on SQLite, the
# write lock) for milliseconds, long enough that a backlog drains quickly.
CHAIN_BATCH = 500
# How often ``chain_all`` asks again while another chainer holds the head.
BUSY_RETRY_SECONDS = 0.05
# The longest pause of the chainer thread after failed rounds.


def _table(model: type[Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


HEAD = _table(DisclosureChainHead)
CHAIN = _table(DisclosureRecord)
QUEUE = _table(QueuedDisclosure)


class DisclosureChainError(IdpError):
    """The chain cannot be extended: its head row is missing (``idp audit verify`` tells why),
    or another chainer kept it for longer than the caller would wait."""

    code = "disclosure_chain_unavailable"
    status = 503


def entry_hash(
    prev_hash: str,
    seq: int,
    created_at: datetime,
    account_id: str,
    client_id: str,
    channel: str,
    claims: Iterable[str],
) -> str:
    canonical = json.dumps(
        {
            "prev": prev_hash,
            "seq": seq,
            "time": created_at.isoformat(timespec="microseconds"),
            "account": account_id,
            "client": client_id,
            "channel": channel,
            "claims": sorted(claims),
        },
        separators=(",", ":"),
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def ensure_head(session: Session) -> None:
    if session.get(DisclosureChainHead, HEAD_ID) is None:
        session.add(DisclosureChainHead(id=HEAD_ID, seq=0, last_hash=GENESIS_HASH))


# -- chaining ---------------------------------------------------------------------------------


def _lock_head(connection: Connection) -> tuple[int, str] | None:
    """The head's ``(seq, last_hash)``, locked until the transaction ends; None when another
    chainer holds it (PostgreSQL). Raises :class:`DisclosureChainError` when it is missing:
    recreating it would hide removed entries, so the chainer stops and ``verify`` says why."""
    if connection.dialect.name == "sqlite":
        # No row locks: writing first takes the database's write lock (waiting for a chainer in
        # another process), and the reads after it see the chain that chainer left.
        taken = connection.execute(
            update(HEAD).where(HEAD.c.id == HEAD_ID).values(seq=HEAD.c.seq)
        ).rowcount
        if not taken:
            raise _head_missing()
        head = connection.execute(
            select(HEAD.c.seq, HEAD.c.last_hash).where(HEAD.c.id == HEAD_ID)
        ).one()
        return head.seq, head.last_hash
    row = connection.execute(
        select(HEAD.c.seq, HEAD.c.last_hash)
        .where(HEAD.c.id == HEAD_ID)
        .with_for_update(skip_locked=True)
    ).first()
    if row is not None:
        return row.seq, row.last_hash
    if connection.execute(select(HEAD.c.id).where(HEAD.c.id == HEAD_ID)).first() is None:
        raise _head_missing()
    return None


def _head_missing() -> DisclosureChainError:
    return DisclosureChainError(
        public_message="the disclosure chain head is missing: run `idp audit verify`"
    )


def chain_batch(session: Session, limit: int = CHAIN_BATCH) -> int | None:
    """Link up to ``limit`` queued records into the chain, inside the caller's transaction
    (which must commit or roll back the batch whole). Returns how many were linked, or None
    when another chainer holds the head (PostgreSQL; on SQLite a second chainer waits)."""
    connection = session.connection()
    if connection.execute(select(QUEUE.c.id).limit(1)).first() is None:
        return 0  # nothing to link: no lock taken (on SQLite, no write transaction)
    head = _lock_head(connection)
    if head is None:
        return None
    seq, last_hash = head
    queued = connection.execute(
        select(
            QUEUE.c.id,
            QUEUE.c.created_at,
            QUEUE.c.account_id,
            QUEUE.c.client_id,
            QUEUE.c.channel,
            QUEUE.c.claims,
        )
        .order_by(QUEUE.c.id)
        .limit(limit)
    ).all()
    if not queued:
        return 0
    entries = []
    for row in queued:
        seq += 1
        names = sorted(set(row.claims))
        digest = entry_hash(
            last_hash, seq, row.created_at, row.account_id, row.client_id, row.channel, names
        )
        entries.append(
            {
                "seq": seq,
                "created_at": row.created_at,
                "account_id": row.account_id,
                "client_id": row.client_id,
                "channel": row.channel,
                "claims": names,
                "prev_hash": last_hash,
                "entry_hash": digest,
            }
        )
        last_hash = digest
    connection.execute(insert(CHAIN), entries)
    ids = [row.id for row in queued]
    removed = connection.execute(delete(QUEUE).where(QUEUE.c.id.in_(ids))).rowcount
    if removed != len(ids):
        # Only a chainer ignoring the head lock, or a hand in the database, takes them: undo.
        raise RuntimeError(f"{len(ids) - removed} queued disclosures vanished while chaining")
    connection.execute(
        update(HEAD).where(HEAD.c.id == HEAD_ID).values(seq=seq, last_hash=last_hash)
    )
    return len(ids)


# -- verifying --------------------------------------------------------------------------------


@dataclass
class Verification:
    ok: bool
    entries: int
    first_broken: int | None = None
    reason: str | None = None
    queued: int = 0  # recorded, not yet chained: outside what was verified


def _head(session: Session) -> Any:
    return session.execute(select(HEAD.c.seq, HEAD.c.last_hash).where(HEAD.c.id == HEAD_ID)).first()


def verify(session: Session) -> Verification:
    """Walk the chain from the start; name the first entry that does not verify.

    Chainers may extend the chain meanwhile, so the head is read twice: the one read before the
    walk must be reached with its hash (else entries were removed from the end), and no entry
    may lie beyond the one read after it (the chainer moves the head with every entry).
    """
    head_before = _head(session)
    queued = session.scalar(select(func.count()).select_from(QUEUE)) or 0
    previous = GENESIS_HASH
    hash_at_head = GENESIS_HASH if head_before is not None and head_before.seq == 0 else None
    expected_seq = 1
    count = 0

    def broken(seq: int, reason: str) -> Verification:
        return Verification(False, count, seq, reason, queued)

    with session.execute(
        select(
            CHAIN.c.seq,
            CHAIN.c.created_at,
            CHAIN.c.account_id,
            CHAIN.c.client_id,
            CHAIN.c.channel,
            CHAIN.c.claims,
            CHAIN.c.prev_hash,
            CHAIN.c.entry_hash,
        )
        .order_by(CHAIN.c.seq)
        .execution_options(yield_per=1000)
    ) as rows:  # closes the server-side cursor on an early answer
        for record in rows:
            count += 1
            if record.seq != expected_seq:
                return broken(expected_seq, "an entry is missing")
            if record.prev_hash != previous:
                return broken(record.seq, "the link to the previous entry")
            digest = entry_hash(
                record.prev_hash,
                record.seq,
                record.created_at,
                record.account_id,
                record.client_id,
                record.channel,
                record.claims,
            )
            if digest != record.entry_hash:
                return broken(record.seq, "the entry was changed")
            previous = record.entry_hash
            if head_before is not None and record.seq == head_before.seq:
                hash_at_head = previous
            expected_seq += 1
    last = expected_seq - 1
    if head_before is None:
        if count:
            # The migration creates the head; without it, removals from the end go unseen.
            return broken(expected_seq, "the chain head was removed")
        return Verification(True, count, queued=queued)
    if last < head_before.seq or hash_at_head != head_before.last_hash:
        return broken(min(last, head_before.seq) + 1, "entries were removed from the end")
    head_after = _head(session)
    if head_after is None:
        return broken(expected_seq, "the chain head was removed")
    if last > head_after.seq:
        return broken(head_after.seq + 1, "an entry follows the chain head")
    return Verification(True, count, queued=queued)


# -- reading ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Disclosure:
    """One release as readers see it, chained or still queued."""

    created_at: datetime
    account_id: str
    client_id: str
    channel: str
    claims: list[str]
    seq: int | None  # None while queued
    entry_hash: str | None

    @property
    def chained(self) -> bool:
        return self.seq is not None


def _conditions(
    table: Table,
    account_id: str | None,
    client_id: str | None,
    start: datetime | None,
    end: datetime | None,
) -> list[ColumnElement[bool]]:
    conditions = []
    if account_id:
        conditions.append(table.c.account_id == account_id)
    if client_id:
        conditions.append(table.c.client_id == client_id)
    if start:
        conditions.append(table.c.created_at >= start)
    if end:
        conditions.append(table.c.created_at < end)
    return conditions


def listing(
    session: Session,
    *,
    account_id: str | None = None,
    client_id: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    offset: int = 0,
    limit: int = 50,
) -> list[Disclosure]:
    """Chained and queued records, newest first, filtered by what is given (``start``
    included, ``end`` not). One statement: a record chained meanwhile appears once."""
    filters = (account_id, client_id, start, end)
    chained = select(
        CHAIN.c.created_at,
        literal(0).label("queued"),
        CHAIN.c.seq.label("position"),
        CHAIN.c.account_id,
        CHAIN.c.client_id,
        CHAIN.c.channel,
        CHAIN.c.claims,
        CHAIN.c.entry_hash,
    ).where(*_conditions(CHAIN, *filters))
    queued = select(
        QUEUE.c.created_at,
        literal(1).label("queued"),
        QUEUE.c.id.label("position"),
        QUEUE.c.account_id,
        QUEUE.c.client_id,
        QUEUE.c.channel,
        QUEUE.c.claims,
        cast(null(), String(64)).label("entry_hash"),
    ).where(*_conditions(QUEUE, *filters))
    merged = union_all(chained, queued).subquery()
    rows = session.execute(
        select(merged)
        .order_by(merged.c.created_at.desc(), merged.c.queued.desc(), merged.c.position.desc())
        .offset(offset)
        .limit(limit)
    )
    return [
        Disclosure(
            created_at=row.created_at,
            account_id=row.account_id,
            client_id=row.client_id,
            channel=row.channel,
            claims=list(row.claims),
            seq=None if row.queued else int(row.position),
            entry_hash=row.entry_hash,
        )
        for row in rows
    ]


def for_account(session: Session, account_id: str, limit: int = 200) -> list[Disclosure]:
    return listing(session, account_id=account_id, limit=limit)


# -- the service ------------------------------------------------------------------------------


# Built once: the hot path binds only the values.
_QUEUE_INSERT = insert(QueuedDisclosure)


class DisclosureLog:
    """The disclosure log as the other services use it."""

    def __init__(self, db: Database, batch_size: int = CHAIN_BATCH) -> None:
        self._db = db
        self.batch_size = batch_size

    @property
    def closed(self) -> bool:
        return self._db.closed

    def record(self, account_id: str, client_id: str, channel: str, claims: list[str]) -> None:
        """Record a release (claim names, never values): one INSERT into the queue, committed
        before the answer leaves; the chainer links it into the chain later."""
        with self._db.transaction() as session:
            session.execute(
                _QUEUE_INSERT,
                {
                    "created_at": utcnow(),
                    "account_id": account_id,
                    "client_id": client_id,
                    "channel": channel,
                    "claims": sorted(set(claims)),
                },
            )
        metrics.count_disclosure(channel)

    def released(self, grant: Grant, channel: str, claims: list[str]) -> None:
        """A release to the portal of ``grant`` (ID token, UserInfo, introspection)."""
        self.record(grant.account_id, grant.client_id, channel, claims)

    def chain(self, limit: int | None = None) -> int | None:
        """Link one batch in one transaction; how many, or None when another chainer holds
        the head."""
        with self._db.transaction() as session:
            return chain_batch(session, limit or self.batch_size)

    def chain_all(self, *, wait: float = 30.0, limit: int | None = None) -> int:
        """Link what is queued now, batch after batch, until a batch comes out short. While
        another chainer holds the head, ask again for up to ``wait`` seconds (it is linking
        records itself); then refuse, if nothing could be linked at all."""
        batch = limit or self.batch_size
        deadline = time.monotonic() + wait
        linked = 0
        while True:
            chained = self.chain(batch)
            if chained is None:
                if time.monotonic() >= deadline:
                    if linked:
                        return linked
                    raise DisclosureChainError(
                        public_message="another chainer held the disclosure chain head "
                        f"for {wait:g} seconds: try again"
                    )
                time.sleep(BUSY_RETRY_SECONDS)
                continue
            linked += chained
            if chained < batch:
                return linked

    def queued(self) -> int:
        return self._db.session.scalar(select(func.count()).select_from(QUEUE)) or 0

    def release_session(self) -> None:
        """End this thread's session (the chainer's thread, after each round)."""
        self._db.remove()

    def for_account(self, account_id: str, limit: int = 200) -> list[Disclosure]:
        return for_account(self._db.session(), account_id, limit)

    def verify(self) -> Verification:
        return verify(self._db.session())

    def search(
        self,
        *,
        account_id: str | None = None,
        client_id: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> list[Disclosure]:
        """Records newest first, chained and queued, filtered by what is given (``start``
        included, ``end`` not)."""
        return listing(
            self._db.session(),
            account_id=account_id,
            client_id=client_id,
            start=start,
            end=end,
            offset=offset,
            limit=limit,
        )


# -- the background chainer -------------------------------------------------------------------


class DisclosureChainer(ProcessWorker):
    """Links queued records every ``interval`` seconds, in a daemon thread of each serving
    process (``idp.identity.background``). The chainers of several processes share the work
    through the head lock."""

    thread_name = "disclosure-chainer"

    def __init__(self, disclosures: DisclosureLog, interval: float) -> None:
        self._disclosures = disclosures
        super().__init__(interval)

    def _run(self) -> None:
        """A round every ``interval`` seconds: batches until one comes out short. A failed round
        (the database unreachable, the head missing) rolls back and is logged; the records
        wait, durable, and the next rounds come at growing intervals (at most a minute)."""
        delay = self.interval
        while not self._stop.wait(delay):
            if self._disclosures.closed:
                break
            try:
                while not self._stop.is_set():
                    chained = self._disclosures.chain()
                    if chained is None or chained < self._disclosures.batch_size:
                        break
                delay = self.interval
            except DisclosureChainError as error:
                log.error("disclosure chainer: %s", error)
                delay = backoff(delay, self.interval)
            except Exception:
                log.exception("disclosure chainer round failed")
                delay = backoff(delay, self.interval)
            finally:
                self._disclosures.release_session()
