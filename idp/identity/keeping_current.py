"""Keeping real-name data current (natural-person agreement clause 4(3)): a new phone number,
a corrected name or ID number. Each change is audited with the levels before and after, never
the data itself.

- A new phone number is proven by an SMS code to it (the view's form) and must not belong to
  another account; a level reached through the old phone is not lowered.
- A corrected name or ID number drops the level to L1 and asks the population registry again
  (``People.correct_identity``); a mismatch changes nothing.
"""

from __future__ import annotations

from idp.identity.audit import Audit
from idp.identity.people import Application, People, Registered
from idp.models import Account


class KeepingCurrent:
    def __init__(self, people: People, audit: Audit) -> None:
        self._people = people
        self._audit = audit

    def change_phone(self, account: Account, phone: str) -> str | None:
        """Returns an error code (``taken``) or None when the phone was changed."""
        problem = self._people.change_phone(account, phone)
        if problem is None:
            self._audit("phone_changed", actor=account.id, account_id=account.id)
        return problem

    def correct_identity(self, account: Account, application: Application) -> Registered:
        before = account.verification_level
        corrected = self._people.correct_identity(account, application)
        if corrected.account is not None:
            self._audit(
                "identity_corrected",
                actor=account.id,
                account_id=account.id,
                details={
                    "level_before": before,
                    "level_after": corrected.account.verification_level,
                },
            )
        return corrected
