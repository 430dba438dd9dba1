"""What every identity verifier shares: the checks (element sets) and their sources, the verdict,
the :class:`Verifier` interface, and the normalisation applied on both sides before comparing."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol


class Result(StrEnum):
    MATCH = "match"
    NO_MATCH = "no_match"
    UNAVAILABLE = "unavailable"


# Element set ("check") -> the elements it compares.
CHECKS: dict[str, tuple[str, ...]] = {
    "two_elements": ("name", "id_number"),
    "phone_three_elements": ("name", "id_number", "phone"),
    "bank_card_four_elements": ("name", "id_number", "phone", "bank_card"),
    "social_security": ("name", "id_number", "social_security"),
    "housing_fund": ("name", "id_number", "housing_fund"),
    "driving_licence": ("name", "id_number", "driving_licence"),
    "entity": ("uscc", "name", "legal_representative_name", "legal_representative_id_number"),
}

# Check -> the authoritative source that answers it.
SOURCES: dict[str, str] = {
    "two_elements": "population_registry",
    "phone_three_elements": "telecom_operator",
    "bank_card_four_elements": "bank",
    "social_security": "social_security_agency",
    "housing_fund": "housing_fund_centre",
    "driving_licence": "traffic_police",
    "entity": "market_regulation_registry",
}

PERSON_NORMAL = "normal"
ENTITY_ACTIVE = "active"
# Keys of a gateway's ``detail`` that are passed on (string values only); anything else is dropped
# so that a gateway echoing personal data cannot leak it further.
DETAIL_KEYS = frozenset({"reason", "entity_type", "region"})


@dataclass(frozen=True)
class Verdict:
    check: str
    result: Result
    source: str
    elements: tuple[str, ...]  # the element names compared, never their values
    reference: str | None  # the source's transaction reference (registry file: a random id)
    checked_at: datetime  # UTC
    # Never submitted or registry personal data. "entity" match: {"entity_type", "region"};
    # a matching but inactive entity: {"reason": "inactive"}; a matching person whose status is
    # not "normal": {"reason": "status"}; unavailable: {"reason": <what went wrong>}.
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def matched(self) -> bool:
        return self.result is Result.MATCH


class Verifier(Protocol):
    def verify(self, check: str, elements: Mapping[str, str]) -> Verdict:
        """Verify ``elements`` (element name -> value) with the source of ``check``.

        Raises ValueError for an unknown check or a missing (or blank) element; elements the
        check does not compare are ignored and never sent anywhere.
        """
        ...


# -- normalisation -----------------------------------------------------------------------------

_WHITESPACE = re.compile(r"\s+")
# Registered entity names use full-width parentheses; people type either kind.
_PARENTHESES = str.maketrans({"(": "（", ")": "）"})


def normalise_name(value: str) -> str:
    """NFC, then every whitespace character removed (``张 三`` is ``张三``)."""
    return _WHITESPACE.sub("", unicodedata.normalize("NFC", value))


def normalise_code(value: str) -> str:
    """Identifiers (ID numbers, USCC, account numbers): whitespace removed, upper-cased."""
    return _WHITESPACE.sub("", value).upper()


def normalise_digits(value: str) -> str:
    return "".join(c for c in value if c.isascii() and c.isdigit())


def normalise_phone(value: str) -> str:
    """Mainland mobile numbers as 11 digits: separators and a ``+86`` / ``0086`` prefix removed."""
    digits = normalise_digits(value)
    for prefix in ("0086", "86"):
        if len(digits) == 11 + len(prefix) and digits.startswith(prefix):
            return digits[len(prefix) :]
    return digits


_NORMALISERS = {
    "name": normalise_name,
    "legal_representative_name": normalise_name,
    "phone": normalise_phone,
    "bank_card": normalise_digits,
}


def normalise(element: str, value: str) -> str:
    return _NORMALISERS.get(element, normalise_code)(value)


def normalise_entity_name(value: str) -> str:
    return normalise_name(value).translate(_PARENTHESES)


def prepare_elements(check: str, elements: Mapping[str, str]) -> dict[str, str]:
    """The check's elements, normalised; ValueError for an unknown check or a missing element."""
    if check not in CHECKS:
        raise ValueError(f"unknown check {check!r}; known checks: {', '.join(CHECKS)}")
    prepared: dict[str, str] = {}
    for element in CHECKS[check]:
        value = elements.get(element)
        normalised = normalise(element, value) if isinstance(value, str) else ""
        if not normalised:
            raise ValueError(f"check {check!r} needs the element {element!r}")
        prepared[element] = normalised
    return prepared


def now() -> datetime:
    return datetime.now(UTC)
