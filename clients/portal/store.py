"""What the portal remembers about logouts, in one SQLite file shared by its workers.

* ``ended``: provider sessions (``sid``) and people (``sub``) that a back-channel logout ended
  (OpenID Connect Back-Channel Logout 1.0 section 2.7). A portal session is over when its ``sid``
  is listed, or when its ``sub`` is listed with no ``sid`` at or after the portal's own login.
* ``seen_logout_tokens``: the ``jti`` of every accepted logout token until it expires, so that a
  replayed token is refused (section 2.6, step 7).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS ended (
    sid TEXT,
    sub TEXT,
    ended_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS ended_sid ON ended (sid);
CREATE INDEX IF NOT EXISTS ended_sub ON ended (sub);
CREATE TABLE IF NOT EXISTS seen_logout_tokens (
    jti TEXT PRIMARY KEY,
    expires_at REAL NOT NULL
);
"""


class LogoutStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A connection per operation: safe across gunicorn's threads and workers."""
        db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        try:
            yield db
        finally:
            db.close()

    def accept(self, jti: str, expires_at: float, *, sid: str | None, sub: str | None) -> bool:
        """Record a validated logout token; False if its ``jti`` was seen before (a replay)."""
        now = time.time()
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute("DELETE FROM seen_logout_tokens WHERE expires_at < ?", (now,))
                db.execute(
                    "INSERT INTO seen_logout_tokens (jti, expires_at) VALUES (?, ?)",
                    (jti, expires_at),
                )
            except sqlite3.IntegrityError:
                db.execute("ROLLBACK")
                return False
            db.execute("INSERT INTO ended (sid, sub, ended_at) VALUES (?, ?, ?)", (sid, sub, now))
            db.execute("COMMIT")
        return True

    def is_ended(self, *, sid: str | None, sub: str | None, logged_in_at: float) -> bool:
        """True when a back-channel logout ended this portal session."""
        with self._connect() as db:
            row = db.execute(
                "SELECT 1 FROM ended WHERE (sid IS NOT NULL AND sid = ?)"
                " OR (sid IS NULL AND sub = ? AND ended_at >= ?) LIMIT 1",
                (sid, sub, logged_in_at),
            ).fetchone()
        return row is not None
