"""Declarative base, engine and session handling; the optional read-only replica.

Reading from a replica (docs/operations.md, "High availability"): with ``IDP_DATABASE_REPLICA_URL``
set, :meth:`Database.reading` points the thread's session at a second engine for the length of a
``with`` block; code inside it reads as usual (``db.session``) and gets the replica's rows. Only
read-only listings use it (the user space's agreements, consents and disclosures pages, the
console's lists); everything that decides (a login, a token, a consent check, introspection,
UserInfo) reads the primary. Read-your-writes:

- once this thread's unit of work (a request or a command, until :meth:`Database.remove`) has
  written to the primary, ``reading()`` stays on the primary for the rest of it;
- :meth:`Database.prefer_primary` does the same on request of the caller: the views call it when
  the browser wrote a moment ago (a short-lived cookie set after a request that wrote,
  ``idp.views.replica``), so the page after "withdraw consent" never shows the consent again;
- a write inside ``reading()`` is refused (``ReplicaWriteError``), never sent to the replica;
- a decision inside a listing (who is logged in: ``idp.views.account.current_account``) runs
  under :meth:`Database.on_primary`.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import DateTime, MetaData, create_engine, event, make_url, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import (
    DeclarativeBase,
    ORMExecuteState,
    Session,
    UOWTransaction,
    scoped_session,
    sessionmaker,
)
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return str(uuid.uuid4())


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class ReplicaWriteError(RuntimeError):
    """A write attempted inside ``Database.reading()``: a bug of the caller, never sent on."""


_WROTE = "idp.wrote"  # Session.info: this session wrote to the primary


def _engine(url: str) -> Engine:
    kwargs: dict[str, object] = {"pool_pre_ping": True, "hide_parameters": True}
    if url.startswith("sqlite"):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        kwargs = {
            "connect_args": {"timeout": 15, "check_same_thread": False},
            "hide_parameters": True,
        }
    else:
        kwargs.update(pool_size=10, max_overflow=10, pool_recycle=1800, pool_timeout=5)
        kwargs["connect_args"] = {"connect_timeout": 5}
    engine = create_engine(url, **kwargs)
    if url.startswith("sqlite"):
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _mark_flush(session: Session, _context: UOWTransaction) -> None:
    if session.new or session.dirty or session.deleted:
        session.info[_WROTE] = True


def _mark_statement(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info[_WROTE] = True


def _refuse_writes(session: Session, _context: UOWTransaction, _instances: object) -> None:
    if session.new or session.dirty or session.deleted:
        raise ReplicaWriteError("a write inside Database.reading(): use the primary")


def _refuse_statements(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        raise ReplicaWriteError("a write inside Database.reading(): use the primary")


class Database:
    """One engine and a scoped session per thread (Flask request or CLI command); with
    ``replica_url``, a second engine for :meth:`reading` (the module's docstring)."""

    def __init__(self, url: str, replica_url: str = "") -> None:
        self.url = url
        self.closed = False
        self._local = threading.local()
        self.replica_engine: Engine | None = None
        self._replica_factory: sessionmaker[Session] | None = None
        if replica_url:
            self.replica_engine = _engine(replica_url)
            self._replica_factory = sessionmaker(bind=self.replica_engine, expire_on_commit=False)
            event.listen(self._replica_factory, "before_flush", _refuse_writes)
            event.listen(self._replica_factory, "do_orm_execute", _refuse_statements)
        self.engine: Engine = _engine(url)
        self.session_factory = sessionmaker(bind=self.engine, expire_on_commit=False)
        self.session = scoped_session(self.session_factory)
        if self._replica_factory is not None:
            # Read-your-writes: what this thread's unit of work wrote (no cost without replica).
            event.listen(self.session_factory, "after_flush", _mark_flush)
            event.listen(self.session_factory, "do_orm_execute", _mark_statement)

    @property
    def has_replica(self) -> bool:
        return self._replica_factory is not None

    def wrote(self) -> bool:
        """Whether this thread's unit of work wrote to the primary (a flush that changed rows,
        or an ORM-enabled insert/update/delete), committed or not."""
        if getattr(self._local, "replica", None) is not None:
            primary = getattr(self._local, "primary_session", None)
            return primary is not None and bool(primary.info.get(_WROTE))
        registry = self.session.registry
        return registry.has() and bool(registry().info.get(_WROTE))

    def prefer_primary(self) -> None:
        """Read the primary in :meth:`reading` for the rest of this unit of work."""
        self._local.primary = True

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """For a read-only path: within the block the thread's session is the replica's (when
        one is configured and this unit of work has neither written nor asked for the primary),
        else it is the primary's, unchanged. Nested blocks share the outer one's choice."""
        local = self._local
        if getattr(local, "replica", None) is not None:
            yield local.replica
            return
        if self._replica_factory is None or getattr(local, "primary", False) or self.wrote():
            yield self.session()
            return
        registry = self.session.registry
        primary = registry() if registry.has() else None
        replica = self._replica_factory()
        local.replica, local.primary_session = replica, primary
        registry.set(replica)
        try:
            yield replica
        finally:
            primary = local.primary_session  # on_primary() may have opened one meanwhile
            local.replica = local.primary_session = None
            try:
                replica.close()
            except Exception:
                with suppress(Exception):
                    replica.invalidate()
            if primary is not None:
                registry.set(primary)
            else:
                registry.clear()

    @contextmanager
    def on_primary(self) -> Iterator[Session]:
        """Within ``reading()``: the primary again for a block that decides something (who is
        logged in, whether the account may act); outside it, just the thread's session."""
        local = self._local
        replica = getattr(local, "replica", None)
        if replica is None:
            yield self.session()
            return
        registry = self.session.registry
        primary = getattr(local, "primary_session", None) or self.session_factory()
        local.replica, local.primary_session = None, primary
        registry.set(primary)
        try:
            yield primary
        finally:
            local.replica = replica
            registry.set(replica)

    def reads_replica(self) -> bool:
        """Whether the thread's session is the replica's right now (inside ``reading()``)."""
        return getattr(self._local, "replica", None) is not None

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on any error (no half-written rows)."""
        session = self.session()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise

    def remove(self) -> None:
        """End the thread's session (after every request and command). When its connection died
        meanwhile (a database restart), closing it fails: the connection is invalidated and
        dropped instead, so the end of a request never turns into an error, and the pool
        connects afresh for the next one."""
        self._local.primary = False
        try:
            self.session.remove()
        except Exception:
            with suppress(Exception):
                self.session().invalidate()
            self.session.registry.clear()

    def on_commit_of(self, models: tuple[type[Base], ...], callback: Callable[[], None]) -> None:
        """Call ``callback`` after every commit that wrote a row of ``models``, whichever code
        wrote it: ORM units of work (add, change, delete) and ORM-enabled ``insert``/``update``/
        ``delete`` statements alike. Caches of those rows are invalidated this way
        (``idp.store.versions``); a rolled-back change calls nothing."""
        flag = f"changed:{id(callback)}"

        def touches(instances: Iterator[object]) -> bool:
            return any(isinstance(instance, models) for instance in instances)

        def after_flush(session: Session, _context: UOWTransaction) -> None:
            if touches(iter(session.new)) or touches(iter(session.dirty)):
                session.info[flag] = True
            elif touches(iter(session.deleted)):
                session.info[flag] = True

        def do_orm_execute(state: ORMExecuteState) -> None:
            if not (state.is_insert or state.is_update or state.is_delete):
                return
            mapper = state.bind_mapper
            if mapper is not None and issubclass(mapper.class_, models):
                state.session.info[flag] = True

        def after_commit(session: Session) -> None:
            if session.info.pop(flag, False):
                callback()

        def after_rollback(session: Session) -> None:
            session.info.pop(flag, None)

        event.listen(self.session_factory, "after_flush", after_flush)
        event.listen(self.session_factory, "do_orm_execute", do_orm_execute)
        event.listen(self.session_factory, "after_commit", after_commit)
        event.listen(self.session_factory, "after_rollback", after_rollback)

    def ping(self) -> None:
        """Raise unless the database answers (readiness checks)."""
        try:
            self.session.execute(text("SELECT 1"))
        except BaseException:
            self.session.rollback()
            raise

    def recover(self) -> None:
        """After a failed statement: roll the thread's session back (nothing half written),
        or drop its connection when even that fails, so the next request reconnects."""
        try:
            self.session.rollback()
        except Exception:
            self.session().invalidate()

    def dispose(self) -> None:
        """Close every connection. Background workers over this database (the back-channel
        dispatcher) stop at their next round: a closed database has no work for them."""
        self.closed = True
        self.session.remove()
        self.engine.dispose()
        if self.replica_engine is not None:
            self.replica_engine.dispose()


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    # WAL with synchronous=NORMAL: a commit is one write to the log, no fsync; the database
    # never corrupts, and an application crash loses nothing (the log is in the OS). Only a
    # power loss or kernel crash may lose the last commits. SQLite is the embedded default for
    # development and small sites; production runs PostgreSQL (docs/operations.md).
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.close()
