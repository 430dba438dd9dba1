"""An account's life after registration: suspension, reinstatement, a new password after
recovery, and cancellation.

- Suspension (natural-person agreement clause 7): the authority stops serving an account that
  breaks the rules; the status becomes ``suspended`` and the ``security_stamp`` moves on, so
  every session ends, and every portal is told.
- Reinstatement sets the status back; revoked tokens stay revoked.
- A password reset after recovery by SMS code ends every session and token of the account:
  whoever knew the old password is out.
- Cancellation (clause 8): sessions and tokens end, the portals are told, and the account row
  with every personal datum is deleted. Audit, agreement evidence and disclosure records keep
  only the pseudonymous account id; the ID number, the phone number and the username are free
  to register again.

Ending sessions and telling portals is the protocol layer's work: it comes in as
``end_everything`` (``idp.oauth.sso.SingleSignOn.end_everything``), so this module needs
nothing above it.

The console finds accounts here too, by account id or ``sub`` (exact matches only), and lists
the grants an account holds.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import or_, select

from idp.identity.audit import Audit
from idp.identity.passwords import Passwords
from idp.models import Account, Grant
from idp.models.base import Database, utcnow

EndEverything = Callable[[Account, str], None]


class AccountLifecycle:
    def __init__(
        self, db: Database, passwords: Passwords, audit: Audit, end_everything: EndEverything
    ) -> None:
        self._db = db
        self._passwords = passwords
        self._audit = audit
        self._end_everything = end_everything

    def find(self, account_id: str) -> Account | None:
        return self._db.session.get(Account, account_id)

    def find_by_id_or_subject(self, text: str) -> Account | None:
        """The account whose id or ``sub`` is exactly ``text``."""
        return self._db.session.scalar(
            select(Account).where(or_(Account.id == text, Account.subject == text))
        )

    def id_of_subject(self, subject: str) -> str | None:
        """The id of the account whose ``sub`` is ``subject``, when ``subject`` is not itself
        an account id; None otherwise (an id, or a ``sub`` nobody has)."""
        account = self._db.session.scalar(
            select(Account).where(Account.subject == subject, Account.id != subject)
        )
        return account.id if account is not None else None

    def active_grants(self, account_id: str, limit: int = 100) -> list[Grant]:
        """The account's grants that are neither revoked nor expired, newest first."""
        return list(
            self._db.session.scalars(
                select(Grant)
                .where(
                    Grant.account_id == account_id,
                    Grant.revoked_at.is_(None),
                    Grant.expires_at > utcnow(),
                )
                .order_by(Grant.created_at.desc())
                .limit(limit)
            )
        )

    def suspend(self, account: Account, reason: str, actor: str) -> None:
        with self._db.transaction() as session:
            row = session.get(Account, account.id)
            assert row is not None
            row.status = "suspended"
            row.security_stamp += 1
        self._end_everything(account, "suspension")
        self._audit(
            "account_suspended", actor=actor, account_id=account.id, details={"reason": reason}
        )

    def reinstate(self, account: Account, reason: str, actor: str) -> None:
        with self._db.transaction() as session:
            row = session.get(Account, account.id)
            assert row is not None
            row.status = "active"
        self._audit(
            "account_reinstated", actor=actor, account_id=account.id, details={"reason": reason}
        )

    def reset_password(self, account: Account, password: str, ip_address: str | None) -> None:
        with self._db.transaction() as session:
            row = session.get(Account, account.id)
            assert row is not None
            row.password_hash = self._passwords.hash(password)
            row.password_changed_at = utcnow()
            row.security_stamp += 1
        self._end_everything(account, "password_reset")
        self._audit(
            "password_reset", actor=account.id, account_id=account.id, ip_address=ip_address
        )

    def cancel(self, account: Account) -> None:
        self._end_everything(account, "cancellation")
        with self._db.transaction() as session:
            row = session.get(Account, account.id)
            if row is not None:
                session.delete(row)
        self._audit("account_cancelled", actor=account.id, account_id=account.id)
