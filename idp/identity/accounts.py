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
  only the pseudonymous account id, and addresses cut to networks (``idp.identity.evidence``);
  the ID number, the phone number and the username are free to register again. Company roles
  and handler grants end with it (``Entities.depart``, docs/legal-persons.md).

Ending sessions and telling portals is the protocol layer's work: it comes in as
``end_everything`` (``idp.oauth.sso.SingleSignOn.end_everything``), so this module needs
nothing above it.

The console finds accounts here too, by account id or ``sub`` (exact matches only), and lists
the grants an account holds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from idp.identity import audit, evidence
from idp.identity.audit import Audit
from idp.identity.entities import Entities, EntityError
from idp.identity.login import LoginResult, SignIn
from idp.identity.materials import Materials
from idp.identity.passwords import Passwords
from idp.models import Account
from idp.models.base import Database, utcnow

EndEverything = Callable[[Account, str], None]


@dataclass
class Cancellation:
    """A cancellation asked for by the person: ``done``, or refused because the account is the
    legal representative of an open company (``represents_company``) or the password was not
    right (``login``: why, as every login form answers it)."""

    done: bool = False
    represents_company: bool = False
    login: LoginResult | None = None


class AccountLifecycle:
    def __init__(
        self,
        db: Database,
        passwords: Passwords,
        audit: Audit,
        end_everything: EndEverything,
        *,
        sign_in: SignIn,
        entities: Entities,
        materials: Materials | None = None,
        notify: Callable[[str, str], object] | None = None,
    ) -> None:
        self._notify = notify  # an essential provider message (Messages.notify)
        self._db = db
        self._passwords = passwords
        self._audit = audit
        self._end_everything = end_everything
        self._sign_in = sign_in
        self._entities = entities
        self._materials = materials

    def cancel_with_password(
        self, account: Account, password: str, ip_address: str | None
    ) -> Cancellation:
        """Clause 8, asked for by the person: refused while they are the legal representative
        of a company that is not cancelled (it must not be left without one), and only with
        their password (counted in the login throttle; a failure is audited)."""
        if self._entities.represents_open_company(account.id):
            return Cancellation(represents_company=True)
        result = self._sign_in.confirm_password(account, password, ip_address or "")
        if result.account is None or result.account.id != account.id:
            self._audit(
                "account_cancel_failed",
                actor=account.id,
                account_id=account.id,
                ip_address=ip_address,
                details={"reason": result.failure},
            )
            return Cancellation(login=result)
        self.cancel(account)
        return Cancellation(done=True)

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
        if self._notify is not None:
            # Read when the account is reinstated: why it could not log in meanwhile.
            self._notify(account.id, "account_suspended")

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
        """Clause 8. In one transaction: the person's company roles and handler grants end,
        each in the company's trail (``Entities.depart``; refused for the legal representative
        of an open company), the addresses of their evidence are cut to networks
        (``idp.identity.evidence``, docs/operations.md "Retention"), the account row goes and
        the cancellation is audited."""
        if self._entities.represents_open_company(account.id):
            raise EntityError("represents_company")
        self._end_everything(account, "cancellation")
        material_files: list[str] = []
        with self._db.transaction() as session:
            self._entities.depart(session, account.id)
            if self._materials is not None:
                # Rows in this transaction; their sealed files once it has committed (a crash
                # in between leaves files no row names, removed by ``idp materials sweep``).
                material_files = self._materials.erase_in(session, account.id)
            row = session.get(Account, account.id)
            if row is not None:
                session.delete(row)
            evidence.at_cancellation(session, account.id)
            session.add(audit.event("account_cancelled", actor=account.id, account_id=account.id))
        if self._materials is not None:
            self._materials.remove_files(material_files)
