"""Declarative base, engine and session handling."""

from __future__ import annotations

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


class Database:
    """One engine and a scoped session per thread (Flask request or CLI command)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.closed = False
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
        self.engine: Engine = create_engine(url, **kwargs)
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self.session_factory = sessionmaker(bind=self.engine, expire_on_commit=False)
        self.session = scoped_session(self.session_factory)

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
