"""Naming the person to appoint or authorise: found by mobile phone number or ID number.

Exact matches only, and a lookup that finds nobody counts against the acting person's hourly
verification attempts (``verification_failures``), so that the company forms are no directory
of who has an account. Only natural persons at L2 or above can hold a role or a grant
(legal-person agreement).
"""

from __future__ import annotations

from idp.identity import documents, levels
from idp.identity.entities.rules import MEMBER_LEVEL, EntityError
from idp.identity.people import People
from idp.models import Account
from idp.store.ratelimit import HourlyLimit


class MemberLookup:
    def __init__(self, people: People, verification_failures: HourlyLimit) -> None:
        self._people = people
        self._failures = verification_failures

    def find(self, acting: Account, typed: str) -> Account:
        """The active natural person whose phone number or ID number is ``typed``; refuses
        with ``too_many``, ``no_account`` or ``member_level`` (field ``member``)."""
        key = f"account:{acting.id}"
        if self._failures.exceeded(key):
            raise EntityError("too_many", "member")
        identifier = documents.normalize_phone(typed) or "".join(typed.split()).upper()
        account = self._people.find_by_identifier(identifier)
        if account is None or not account.active or account.user_type != "natural_person":
            self._failures.count(key)
            raise EntityError("no_account", "member")
        if not levels.at_least(account.verification_level, MEMBER_LEVEL):
            raise EntityError("member_level", "member")
        return account
