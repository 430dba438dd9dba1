"""Identity checks a person asks for (step-up, the user space), each one audited.

A check with a second authority (bank card, phone three elements, social security, housing
fund, driving licence) first needs the registry's name-and-ID check to have matched: when the
account has not reached L2 yet, the registry check runs first (docs/verification-levels.md).
Every check, matched or not, writes ``identity_verified`` or ``identity_check_failed`` with the
check, the result and the levels before and after (never the elements themselves).
"""

from __future__ import annotations

from idp.identity import levels
from idp.identity.audit import Audit
from idp.identity.people import Checked, People
from idp.identity.verifiers import Result
from idp.models import Account
from idp.observability import metrics


class IdentityChecks:
    def __init__(self, people: People, audit: Audit) -> None:
        self._people = people
        self._audit = audit

    def verify(
        self,
        account: Account,
        method: str,
        extra: dict[str, str],
        *,
        ip_address: str | None,
    ) -> Checked:
        """Check the account's identity elements with ``method``'s authority (the registry
        first, when a second authority is asked for before the registry ever matched)."""
        if method != levels.REGISTRY_CHECK and not levels.at_least(
            account.verification_level, "L2"
        ):
            first = self._people.verify(account, levels.REGISTRY_CHECK, {})
            self._record(account, first, ip_address)
            if first.result != Result.MATCH:
                return first
        checked = self._people.verify(account, method, extra)
        self._record(account, checked, ip_address)
        return checked

    def _record(self, account: Account, checked: Checked, ip_address: str | None) -> None:
        check = checked.verdict.check if checked.verdict else "none"
        metrics.count_verification(check, checked.result.value)
        self._audit(
            "identity_verified" if checked.result == Result.MATCH else "identity_check_failed",
            actor=account.id,
            account_id=account.id,
            ip_address=ip_address,
            details={
                "check": checked.verdict.check if checked.verdict else None,
                "result": checked.result.value,
                "level_before": checked.level_before,
                "level_after": checked.level_after,
            },
        )
