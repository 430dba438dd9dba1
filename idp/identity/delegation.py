"""Graded and classified authorisation (分级分类授权管理): what a person may do for a company.

Legal-person agreement: the legal representative holds every right; administrators manage
handlers within the scope they were given; handlers act within their grant. A scope is

- a *grade*: ``view`` < ``apply`` < ``sign``, each including the one before;
- *classes of matters*: hierarchical codes from the operator's catalogue (``tax`` covers
  ``tax.declaration``); the legal representative's scope is every class (``*``);
- *regions*: GB/T 2260 six-digit codes (``330000`` province covers ``330100`` city covers
  ``330106`` district); none listed means every region.

Pure rules, no I/O: ``idp.identity.entities`` applies them to stored roles and grants.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

GRADES = ("view", "apply", "sign")
ALL_MATTERS = "*"
MATTER_CODE = re.compile(r"^[a-z][a-z0-9_]{0,31}(\.[a-z0-9_]{1,32}){0,4}$")
REGION_CODE = re.compile(r"^[1-9][0-9]{5}$")
ROLES = ("legal_representative", "administrator", "handler")


def grade_includes(held: str, wanted: str) -> bool:
    """``sign`` includes ``apply`` includes ``view``."""
    return held in GRADES and wanted in GRADES and GRADES.index(held) >= GRADES.index(wanted)


def matter_covers(held: str, wanted: str) -> bool:
    return held == ALL_MATTERS or wanted == held or wanted.startswith(held + ".")


def matters_cover(held: Iterable[str], wanted: Iterable[str]) -> bool:
    """Every wanted class is covered by one held class."""
    held = list(held)
    return all(any(matter_covers(h, w) for h in held) for w in wanted)


def region_covers(held: str, wanted: str) -> bool:
    """A province (``xx0000``) covers its cities and districts; a city (``xxxx00``) its
    districts."""
    if held == wanted:
        return True
    if held.endswith("0000"):
        return wanted[:2] == held[:2]
    if held.endswith("00"):
        return wanted[:4] == held[:4]
    return False


def regions_cover(held: Sequence[str], wanted: Sequence[str]) -> bool:
    """No held regions: everywhere. No wanted regions: only an unrestricted holder covers."""
    if not held:
        return True
    if not wanted:
        return False
    return all(any(region_covers(h, w) for h in held) for w in wanted)


@dataclass(frozen=True)
class Scope:
    grade: str
    matters: tuple[str, ...]
    regions: tuple[str, ...] = ()

    def includes(self, other: Scope) -> bool:
        """``other`` is no wider than this scope (an administrator grants only within their
        own grade, classes and regions)."""
        return (
            grade_includes(self.grade, other.grade)
            and matters_cover(self.matters, other.matters)
            and regions_cover(self.regions, other.regions)
        )

    def serves(self, matters: Iterable[str], region: str | None) -> bool:
        """May act for matters of these classes in this region (a portal's region). A portal
        that names no classes is served only by a scope over every class (the legal
        representative's), and one without a region only by a scope without regions."""
        matters = list(matters)
        if not matters_cover(self.matters, matters or [ALL_MATTERS]):
            return False
        if not self.regions:
            return True
        return region is not None and regions_cover(self.regions, [region])


FULL_SCOPE = Scope("sign", (ALL_MATTERS,), ())


@dataclass(frozen=True)
class Delegation:
    """What a company login carries in ``delegation`` (and the grant keeps as a snapshot)."""

    role: str
    scope: Scope
    expires_at: datetime | None
    source: str  # the EntityRole or HandlerGrant id
    extra: dict[str, Any] = field(default_factory=dict)

    def claim(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "grade": self.scope.grade,
            "matters": list(self.scope.matters),
            "regions": list(self.scope.regions),
            "expires_at": int(self.expires_at.timestamp()) if self.expires_at else None,
        }


def validate_scope(
    grade: str, matters: Iterable[str], regions: Iterable[str], known_matters: set[str]
) -> dict[str, str]:
    """Field errors (``grade``, ``matters``, ``regions``) of a scope being granted."""
    errors: dict[str, str] = {}
    if grade not in GRADES:
        errors["grade"] = "unknown"
    matters = list(matters)
    if not matters:
        errors["matters"] = "required"
    elif any(m not in known_matters for m in matters):
        errors["matters"] = "unknown"
    if any(not REGION_CODE.match(r) for r in regions):
        errors["regions"] = "format"
    return errors
