"""The disclosure log: appending to and verifying the hash chain of claim releases.

Each entry hashes the canonical JSON of its fields together with the previous entry's hash.
Appends first update the single chain-head row, which takes the write lock on SQLite and a row
lock on PostgreSQL, so concurrent appends are serialised and the chain never forks.
The console searches the log (:meth:`DisclosureLog.search`): which claim names went to which
portal, and when (PIPL articles 23 and 29).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from idp.models import Grant
from idp.models.base import Database, utcnow
from idp.models.disclosure import GENESIS_HASH, DisclosureChainHead, DisclosureRecord

HEAD_ID = 1


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


def append(
    session: Session, *, account_id: str, client_id: str, channel: str, claims: list[str]
) -> DisclosureRecord:
    """Append one entry inside the caller's transaction."""
    session.execute(
        update(DisclosureChainHead)
        .where(DisclosureChainHead.id == HEAD_ID)
        .values(seq=DisclosureChainHead.seq + 1)
    )
    head = session.execute(
        select(DisclosureChainHead.seq, DisclosureChainHead.last_hash).where(
            DisclosureChainHead.id == HEAD_ID
        )
    ).one()
    created_at = utcnow()
    names = sorted(set(claims))
    digest = entry_hash(head.last_hash, head.seq, created_at, account_id, client_id, channel, names)
    record = DisclosureRecord(
        seq=head.seq,
        created_at=created_at,
        account_id=account_id,
        client_id=client_id,
        channel=channel,
        claims=names,
        prev_hash=head.last_hash,
        entry_hash=digest,
    )
    session.add(record)
    session.execute(
        update(DisclosureChainHead)
        .where(DisclosureChainHead.id == HEAD_ID)
        .values(last_hash=digest)
    )
    return record


@dataclass
class Verification:
    ok: bool
    entries: int
    first_broken: int | None = None
    reason: str | None = None


def verify(session: Session) -> Verification:
    """Walk the chain from the start; name the first entry that does not verify."""
    previous = GENESIS_HASH
    expected_seq = 1
    count = 0
    rows = session.execute(select(DisclosureRecord).order_by(DisclosureRecord.seq)).scalars()
    for record in rows:
        count += 1
        if record.seq != expected_seq:
            return Verification(False, count, expected_seq, "an entry is missing")
        if record.prev_hash != previous:
            return Verification(False, count, record.seq, "the link to the previous entry")
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
            return Verification(False, count, record.seq, "the entry was changed")
        previous = record.entry_hash
        expected_seq += 1
    head = session.get(DisclosureChainHead, HEAD_ID)
    if head is None and count:
        # The migration creates the head; without it, removals from the end go unseen.
        return Verification(False, count, expected_seq, "the chain head was removed")
    if head is not None and (head.seq != expected_seq - 1 or head.last_hash != previous):
        return Verification(False, count, expected_seq, "entries were removed from the end")
    return Verification(True, count)


def for_account(session: Session, account_id: str, limit: int = 200) -> list[DisclosureRecord]:
    return list(
        session.scalars(
            select(DisclosureRecord)
            .where(DisclosureRecord.account_id == account_id)
            .order_by(DisclosureRecord.seq.desc())
            .limit(limit)
        )
    )


class DisclosureLog:
    """The disclosure log as the other services use it: one short transaction per entry."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def record(self, account_id: str, client_id: str, channel: str, claims: list[str]) -> None:
        """Append to the tamper-evident log (claim names, never values)."""
        with self._db.transaction() as session:
            append(
                session, account_id=account_id, client_id=client_id, channel=channel, claims=claims
            )

    def for_account(self, account_id: str, limit: int = 200) -> list[DisclosureRecord]:
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
    ) -> list[DisclosureRecord]:
        """Entries newest first, filtered by what is given (``start`` included, ``end`` not)."""
        query = select(DisclosureRecord).order_by(DisclosureRecord.seq.desc())
        if account_id:
            query = query.where(DisclosureRecord.account_id == account_id)
        if client_id:
            query = query.where(DisclosureRecord.client_id == client_id)
        if start:
            query = query.where(DisclosureRecord.created_at >= start)
        if end:
            query = query.where(DisclosureRecord.created_at < end)
        return list(self._db.session.scalars(query.offset(offset).limit(limit)))

    def released(self, grant: Grant, channel: str, claims: list[str]) -> None:
        """A release to the portal of ``grant`` (ID token, UserInfo, introspection)."""
        self.record(grant.account_id, grant.client_id, channel, claims)
