"""The person's own security: the login history, the password's age and its change (issue 12,
item 5; natural-person agreement clause 6: "keep your password safe; changing it regularly is
recommended").

- **Login history.** Every interactive login that completes writes one row (one ``INSERT``,
  :meth:`LoginHistory.record`, called by ``idp.oauth.sso.SingleSignOn.start``): when, for which
  portal (none: the user space), how (``password``, ``sms``, ``scan``, ``registration``,
  :func:`login_method`), from which network (the address cut to /24 or /48 at once:
  ``idp.identity.evidence.truncated``; the full address is never stored here) and with which
  user agent (cut to 255 characters). Rows are kept ``IDP_LOGIN_HISTORY_DAYS``
  (``idp db prune``, ``idp retention apply``) and go with the account at cancellation.
- **Password change.** The current password is re-entered (counted in the login throttle,
  ``SignIn.confirm_password``); the new one follows the password policy (NIST SP 800-63B
  5.1.1.2, ``idp.identity.password_policy``: the person's own phone and ID number are refused
  in it) and is hashed with argon2id. ``accounts.password_changed_at`` is set, the change is
  audited (``password_changed``), the person may end every other session at the same time, and
  the provider's security notice is sent (``notify(account_id, "password_changed")``). The
  current session goes on: the ``security_stamp`` is not moved (a recovery by SMS code moves
  it, ``AccountLifecycle.reset_password``).
- **Reminder, never forced.** After ``IDP_PASSWORD_REMINDER_DAYS`` (0: never) the account
  pages show a reminder to change it; nothing else happens (NIST SP 800-63B 5.1.1.2: verifiers
  SHALL NOT require periodic changes).

Ending sessions and telling portals is protocol work: it comes in as ``end_other_sessions``
(``SingleSignOn.end_others``), so this module needs nothing above it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from idp.identity import audit
from idp.identity.audit import Audit
from idp.identity.evidence import truncated
from idp.identity.login import LoginResult, SignIn
from idp.identity.password_policy import MAX_LENGTH, check_password
from idp.identity.passwords import Passwords
from idp.identity.people import People
from idp.models import Account, LoginRecord
from idp.models.base import Database, new_id, utcnow

MAX_USER_AGENT_LENGTH = 255
# The rows the history page shows (the newest); the export has every row kept.
HISTORY_SHOWN = 50

# (account_id, session id to keep, reason) -> how many sessions ended.
EndOtherSessions = Callable[[str, str | None, str], int]
# (account_id, kind): the provider's own security message (idp.identity.messages).
Notify = Callable[[str, str], object]


def login_method(amr: Collection[str], via: str | None) -> str:
    """How a login was made, in the words of the history: ``scan`` and ``registration`` from
    where it came (``via``), else ``password`` (``amr`` ``pwd``) or ``sms``."""
    if via in {"scan", "registration"}:
        return via
    if "pwd" in amr:
        return "password"
    if "sms" in amr:
        return "sms"
    return next(iter(amr), "other")[:32]


class LoginHistory:
    """One row per completed interactive login, readable by its person."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @staticmethod
    def new_id() -> str:
        return new_id()

    def record(
        self,
        login_id: str,
        *,
        account_id: str,
        client_id: str | None,
        method: str,
        ip_address: str | None,
        user_agent: str | None,
    ) -> None:
        """One ``INSERT`` in its own short transaction; the address only as its network."""
        with self._db.transaction() as session:
            session.add(
                LoginRecord(
                    id=login_id,
                    account_id=account_id,
                    client_id=client_id,
                    method=method,
                    ip_network=truncated(ip_address),
                    user_agent=(user_agent or "")[:MAX_USER_AGENT_LENGTH] or None,
                )
            )

    def of_account(self, account_id: str, limit: int | None = HISTORY_SHOWN) -> list[LoginRecord]:
        """Newest first."""
        query = (
            select(LoginRecord)
            .where(LoginRecord.account_id == account_id)
            .order_by(LoginRecord.created_at.desc(), LoginRecord.id)
        )
        if limit is not None:
            query = query.limit(limit)
        return list(self._db.session.scalars(query))

    def by_ids(self, account_id: str, ids: Collection[str]) -> dict[str, LoginRecord]:
        """The rows of these logins of the account (for the sessions page), by id."""
        wanted = [i for i in ids if i]
        if not wanted:
            return {}
        rows = self._db.session.scalars(
            select(LoginRecord).where(
                LoginRecord.account_id == account_id, LoginRecord.id.in_(wanted)
            )
        )
        return {row.id: row for row in rows}


@dataclass
class PasswordChange:
    """The outcome of a password change: ``done``, or the fields refused (field -> code:
    ``current_password`` ``wrong``; ``password`` a password-policy code or ``unchanged``;
    ``password_confirm`` ``mismatch``), or ``login`` when the throttle refused the current
    password (``throttled``, ``locked``)."""

    done: bool = False
    errors: dict[str, str] = field(default_factory=dict)
    login: LoginResult | None = None
    sessions_ended: int = 0


class AccountSecurity:
    """Login history, password age and password change of the logged-in person."""

    def __init__(
        self,
        db: Database,
        passwords: Passwords,
        sign_in: SignIn,
        people: People,
        audit_trail: Audit,
        history: LoginHistory,
        *,
        end_other_sessions: EndOtherSessions,
        notify: Notify | None = None,
        reminder_days: int = 365,
    ) -> None:
        self._db = db
        self._passwords = passwords
        self._sign_in = sign_in
        self._people = people
        self._audit = audit_trail
        self.history = history
        self._end_other_sessions = end_other_sessions
        self._notify = notify
        self.reminder_days = reminder_days

    # -- reading ---------------------------------------------------------------------------
    def logins(self, account_id: str) -> list[LoginRecord]:
        return self.history.of_account(account_id)

    def password_age_days(self, account: Account, now: datetime | None = None) -> int:
        return max(0, ((now or utcnow()) - account.password_changed_at).days)

    def reminder_due(self, account: Account, now: datetime | None = None) -> bool:
        """Whether the account pages remind the person to change the password (only that)."""
        if self.reminder_days <= 0:
            return False
        return (now or utcnow()) - account.password_changed_at >= timedelta(days=self.reminder_days)

    def export(self, account_id: str) -> dict[str, Any]:
        """PIPL article 45: the login history kept and the password's last change."""
        account = self._db.session.get(Account, account_id)
        return {
            "password_changed_at": (
                account.password_changed_at.isoformat(timespec="seconds") if account else None
            ),
            "login_history": [
                {
                    "time": row.created_at.isoformat(timespec="seconds"),
                    "portal": row.client_id,
                    "method": row.method,
                    "network": row.ip_network,
                    "user_agent": row.user_agent,
                }
                for row in self.history.of_account(account_id, limit=None)
            ],
        }

    # -- the password ----------------------------------------------------------------------
    def change_password(
        self,
        account: Account,
        current_password: str,
        new_password: str,
        password_confirm: str,
        *,
        end_others: bool = False,
        session_id: str | None = None,
        ip_address: str | None = None,
    ) -> PasswordChange:
        """Change the password of the logged-in person (module docstring). Every field is
        checked at once; nothing changes unless all hold."""
        outcome = PasswordChange()
        profile = self._people.profile(account)
        problem = check_password(
            new_password[: MAX_LENGTH + 1], phone=profile.phone, id_number=profile.id_number
        )
        if problem:
            outcome.errors["password"] = problem
        elif new_password != password_confirm:
            outcome.errors["password_confirm"] = "mismatch"
        result = self._sign_in.confirm_password(account, current_password, ip_address or "")
        if result.account is None or result.account.id != account.id:
            if result.failure in {"throttled", "locked"}:
                outcome.login = result
            else:
                outcome.errors["current_password"] = "wrong"
            self._audit(
                "password_change_failed",
                actor=account.id,
                account_id=account.id,
                ip_address=ip_address,
                details={"reason": result.failure},
            )
            return outcome
        if not outcome.errors and new_password == current_password:
            outcome.errors["password"] = "unchanged"
        if outcome.errors:
            return outcome
        with self._db.transaction() as session:
            row = session.get(Account, account.id)
            assert row is not None
            row.password_hash = self._passwords.hash(new_password)
            row.password_changed_at = utcnow()
            session.add(
                audit.event(
                    "password_changed",
                    actor=account.id,
                    account_id=account.id,
                    ip_address=ip_address,
                    details={"end_other_sessions": end_others},
                )
            )
        if end_others:
            outcome.sessions_ended = self._end_other_sessions(
                account.id, session_id, "password_changed"
            )
        if self._notify is not None:
            self._notify(account.id, "password_changed")
        outcome.done = True
        return outcome
