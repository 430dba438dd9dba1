"""Console sessions and second-factor state of administrators, kept in Redis.

The administration console has its own session, apart from the SSO session (OWASP Session
Management Cheat Sheet: a separate, shorter session for privileged functions). The browser
holds only a random id in the ``idp_admin`` cookie; Redis holds, under the id's SHA-256:

- ``idp:admin-session:<sha256(id)>``: the account, the login stage (``enrol`` or
  ``second_factor`` until the second factor is done, then ``done``), the account's
  ``security_stamp``, the creation time, and at most one notice to show on the next page (the
  outcome of the last action, or the recovery codes just created, shown once). Idle lifetime
  ``idle_ttl`` (``pending_ttl`` before the second factor), never longer than ``absolute_ttl``
  from the login; both enforced on every read.
- ``idp:admin-totp-step:<account id>``: the last TOTP time step accepted for the account
  (RFC 6238 section 5.2: a code is accepted at most once), for as long as a code of that step
  could still be accepted.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import redis

from idp.store.kv import digest
from idp.store.totp import TotpSteps

__all__ = ["ConsoleSession", "ConsoleSessions", "TotpSteps"]  # TotpSteps: idp.store.totp

STAGES = ("enrol", "second_factor", "done")


@dataclass
class ConsoleSession:
    account_id: str
    stage: str
    security_stamp: int
    created_at: int
    # Shown once on the next page, then removed: {"kind": ..., **values}.
    notice: dict[str, Any] | None = None
    recovery_codes: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return self.stage == "done"


class ConsoleSessions:
    def __init__(
        self, client: redis.Redis, *, idle_ttl: int, absolute_ttl: int, pending_ttl: int
    ) -> None:
        self.client = client
        self.idle_ttl = idle_ttl
        self.absolute_ttl = absolute_ttl
        self.pending_ttl = min(pending_ttl, idle_ttl)

    @staticmethod
    def _key(session_id: str) -> str:
        return f"idp:admin-session:{digest(session_id)}"

    def create(
        self, *, account_id: str, stage: str, security_stamp: int
    ) -> tuple[str, ConsoleSession]:
        """A new session under a fresh id (never one the browser brought)."""
        session = ConsoleSession(
            account_id=account_id,
            stage=stage,
            security_stamp=security_stamp,
            created_at=int(time.time()),
        )
        session_id = secrets.token_urlsafe(32)
        self._save(session_id, session)
        return session_id, session

    def get(self, session_id: str | None) -> ConsoleSession | None:
        """The live session; each read slides the idle expiry (never past the absolute one)."""
        if not session_id or len(session_id) > 128:
            return None
        raw = self.client.get(self._key(session_id))
        if not raw:
            return None
        try:
            session = ConsoleSession(**json.loads(raw))
        except (TypeError, ValueError):
            self.destroy(session_id)
            return None
        if self._remaining(session) <= 0 or session.stage not in STAGES:
            self.destroy(session_id)
            return None
        self.client.expire(self._key(session_id), self._ttl(session))
        return session

    def save(self, session_id: str, session: ConsoleSession) -> None:
        """Write back a changed session (its notice, its recovery codes)."""
        self._save(session_id, session)

    def advance(self, session_id: str, session: ConsoleSession, stage: str) -> str:
        """Move to ``stage`` under a new id (no fixation across a privilege change); the old id
        stops working at once."""
        self.destroy(session_id)
        session.stage = stage
        new_id = secrets.token_urlsafe(32)
        self._save(new_id, session)
        return new_id

    def destroy(self, session_id: str) -> None:
        self.client.delete(self._key(session_id))

    def _remaining(self, session: ConsoleSession) -> int:
        return self.absolute_ttl - (int(time.time()) - session.created_at)

    def _ttl(self, session: ConsoleSession) -> int:
        idle = self.idle_ttl if session.complete else self.pending_ttl
        return max(1, min(idle, self._remaining(session)))

    def _save(self, session_id: str, session: ConsoleSession) -> None:
        self.client.set(
            self._key(session_id),
            json.dumps(asdict(session), separators=(",", ":")),
            ex=self._ttl(session),
        )
