"""How long records are kept: protocol records once they can no longer be used
(``idp db prune``), and the network data of a cancelled account's evidence (``idp retention
apply``, which prunes too; the evidence rules are ``idp.identity.evidence``).

- A token row goes when its access token has expired and its refresh token (if any) too.
- A grant goes when it has expired, when it was revoked more than ``STALE_AFTER`` ago, or when
  it is older than ``STALE_AFTER`` and has no token (its authorization code was never
  redeemed: codes live minutes, RFC 6749 section 4.1.2). Its tokens go with it.
- A back-channel logout delivery that was delivered or abandoned goes after
  ``DELIVERIES_KEPT`` (OpenID Connect Back-Channel Logout 1.0: nothing is retried after that).
- The audit rows and agreement acceptances of a cancelled account keep only networks of its
  addresses, and after ``IDP_EVIDENCE_RETENTION_DAYS`` neither addresses nor user agents.
- A login in the person's login history goes after ``IDP_LOGIN_HISTORY_DAYS``
  (``idp.identity.security``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Delete, and_, delete, exists, or_
from sqlalchemy.orm import Session

from idp.identity import evidence
from idp.models import Grant, LoginRecord, LogoutDelivery, Token
from idp.models.base import Database, utcnow

STALE_AFTER = timedelta(days=1)
DELIVERIES_KEPT = timedelta(days=30)
SETTLED_DELIVERIES = ("delivered", "abandoned")


@dataclass(frozen=True)
class Pruned:
    """How many rows of each kind were deleted."""

    tokens: int
    grants: int
    logout_deliveries: int
    login_history: int = 0


@dataclass(frozen=True)
class Applied:
    """What ``idp retention apply`` did: the pruning and the evidence's expiry."""

    pruned: Pruned
    evidence: evidence.Expired


class Retention:
    def __init__(
        self, db: Database, *, evidence_retention_days: int = 1095, login_history_days: int = 180
    ) -> None:
        self._login_history = timedelta(days=login_history_days)
        self._db = db
        self._evidence_retention = timedelta(days=evidence_retention_days)

    def apply(self, now: datetime | None = None) -> Applied:
        """Every retention rule, each in its own transaction (for cron: running it again
        changes nothing)."""
        now = now or utcnow()
        pruned = self.prune(now)
        with self._db.transaction() as session:
            expired = evidence.expire(session, now, self._evidence_retention)
        return Applied(pruned, expired)

    def prune(self, now: datetime | None = None) -> Pruned:
        """Delete what can no longer be used, in one transaction."""
        now = now or utcnow()
        stale = now - STALE_AFTER
        with self._db.transaction() as session:
            tokens = _deleted(
                session,
                delete(Token).where(
                    Token.access_expires_at < now,
                    or_(Token.refresh_expires_at.is_(None), Token.refresh_expires_at < now),
                ),
            )
            grants = _deleted(
                session,
                delete(Grant).where(
                    or_(
                        Grant.expires_at < now,
                        Grant.revoked_at < stale,
                        and_(Grant.created_at < stale, ~exists().where(Token.grant_id == Grant.id)),
                    )
                ),
            )
            deliveries = _deleted(
                session,
                delete(LogoutDelivery).where(
                    LogoutDelivery.status.in_(SETTLED_DELIVERIES),
                    LogoutDelivery.created_at < now - DELIVERIES_KEPT,
                ),
            )
            logins = _deleted(
                session,
                delete(LoginRecord).where(LoginRecord.created_at < now - self._login_history),
            )
        return Pruned(
            tokens=tokens, grants=grants, logout_deliveries=deliveries, login_history=logins
        )


def _deleted(session: Session, statement: Delete) -> int:
    """Run a DELETE and return how many rows it removed."""
    return int(cast(CursorResult[Any], session.execute(statement)).rowcount)
