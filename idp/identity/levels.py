"""Verification levels: how well a person's real identity is proven (docs/verification-levels.md).

- ``L0``: nothing verified (accounts an operator created for tests or service use);
- ``L1``: phone number proven by an SMS code, identity document declared with a valid check digit;
- ``L2``: name and ID number matched in the population registry (two elements);
- ``L3``: L2 plus a second authority binding another element to the person: the phone number
  (telecom operator, three elements), a bank card (bank, four elements), a social security or
  housing fund account;
- ``L4``: verified in person at a service counter, recorded by an administrator.

The level is the ``acr`` of a login (``urn:idp:loa:L<n>``) and the ``verification_level`` claim.
Natural-person agreement clause 4(2): real-name registration proved by the person's own phone,
social security, bank card, housing fund account, ID number or driving licence.
"""

from __future__ import annotations

from collections.abc import Iterable

LEVELS = ("L0", "L1", "L2", "L3", "L4")
ACR_PREFIX = "urn:idp:loa:"
# Element sets that raise a level, and to what (given the level before).
REGISTRY_CHECK = "two_elements"
SECOND_AUTHORITY_CHECKS = (
    "phone_three_elements",
    "bank_card_four_elements",
    "social_security",
    "housing_fund",
)
COUNTER = "counter"
# The highest level reachable without a visit to a service counter.
HIGHEST_ONLINE = "L3"


def rank(level: str | None) -> int:
    return LEVELS.index(level) if level in LEVELS else -1


def at_least(level: str | None, minimum: str | None) -> bool:
    return minimum is None or rank(level) >= rank(minimum)


def highest(levels: Iterable[str | None]) -> str | None:
    known = [level for level in levels if level in LEVELS]
    return max(known, key=rank) if known else None


def acr(level: str) -> str:
    return f"{ACR_PREFIX}{level}"


def from_acr(value: str) -> str | None:
    """The level an ``acr`` value names, or None for values that are not ours."""
    if value.startswith(ACR_PREFIX) and value[len(ACR_PREFIX) :] in LEVELS:
        return value[len(ACR_PREFIX) :]
    return None


def reached(current: str, check: str) -> str:
    """The level after a successful check by ``check``; never lower than ``current``."""
    if check == COUNTER:
        target = "L4"
    elif check == REGISTRY_CHECK:
        target = "L2"
    elif check in SECOND_AUTHORITY_CHECKS:
        # A second authority counts only once the registry has matched (L2).
        target = "L3" if at_least(current, "L2") else current
    else:
        target = current
    return target if rank(target) > rank(current) else current
