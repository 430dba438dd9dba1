"""A database that refuses one kind of statement, for tests of "one fact, one transaction".

``refusing(provider, "audit_events")`` installs a trigger (SQLite or PostgreSQL, whichever the
suite runs on) that makes the database refuse every INSERT into the table, and drops it on
leaving: the code under test finds the second write of a pair refused, and the test asserts
that nothing of the pair was left.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import text

MESSAGE = "refused by the test"


@contextmanager
def refusing(provider: Any, table: str, operation: str = "INSERT") -> Iterator[None]:
    engine = provider.db.engine
    postgresql = engine.dialect.name == "postgresql"
    name = f"refuse_{operation.lower()}_{table}"
    with engine.begin() as connection:
        if postgresql:
            connection.execute(
                text(
                    f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql "
                    f"AS $$ BEGIN RAISE EXCEPTION '{MESSAGE}'; END $$"
                )
            )
            connection.execute(
                text(
                    f"CREATE TRIGGER {name} BEFORE {operation} ON {table} "
                    f"FOR EACH ROW EXECUTE FUNCTION {name}()"
                )
            )
        else:
            connection.execute(
                text(
                    f"CREATE TRIGGER {name} BEFORE {operation} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
                )
            )
    try:
        yield
    finally:
        provider.db.remove()
        with engine.begin() as connection:
            suffix = f" ON {table}" if postgresql else ""
            connection.execute(text(f"DROP TRIGGER IF EXISTS {name}{suffix}"))
            if postgresql:
                connection.execute(text(f"DROP FUNCTION IF EXISTS {name}()"))
