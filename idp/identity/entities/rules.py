"""What the legal-person rules speak in: levels, kinds of organisation, scopes, refusals.

Legal-person agreement: a legal representative registers at L3 or above; administrators and
handlers are natural persons at L2 or above. The legal representative's scope is every right
(grade ``sign``, every class of matters, every region); an administrator's and a handler's scope
is the one they were given (``idp.identity.delegation``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from idp.errors import IdpError
from idp.identity.delegation import FULL_SCOPE, Delegation, Scope
from idp.models import EntityRole, HandlerGrant, LegalEntity

ENTITY_TYPES = (
    "limited_company",
    "joint_stock_company",
    "partnership",
    "individual_business",
    "sole_proprietorship",
    "public_institution",
    "social_organisation",
    "other",
)
REGISTRATION_LEVEL = "L3"  # a legal representative registers at L3 or above
MEMBER_LEVEL = "L2"  # administrators and handlers are natural persons at L2 or above
MAX_NAME_LENGTH = 128
MAX_ID_LENGTH = 36  # ids of companies, roles and grants (UUIDs)

# The HTTP status an answer to each refusal takes (``IdpError.status``); any other is 400.
REFUSAL_STATUS = {
    "level": 403,
    "not_legal_representative": 403,
    "not_manager": 403,
    "beyond_own_scope": 403,
    "no_role": 404,
    "already_member": 409,
    "taken": 409,
    "closed": 409,
    "too_many_administrators": 409,
    "entity_inactive": 409,
    "too_many": 429,
    "unavailable": 503,
}


class EntityError(IdpError):
    """A refused change: ``code`` names the reason, ``field`` the form field concerned
    (``form`` for the whole form), ``status`` the answer's HTTP status."""

    field: str

    def __init__(self, code: str, field: str = "form", *, status: int | None = None) -> None:
        super().__init__(
            code, field=field, status=status if status is not None else refusal_status(code)
        )


def refusal_status(code: str) -> int:
    return REFUSAL_STATUS.get(code, 400)


@dataclass
class Option:
    """A way the person may act in a login: for a company, with the delegation that fits."""

    entity: LegalEntity
    delegation: Delegation | None
    reason: str | None = None  # why it cannot be chosen (no grant fits, pending agreement)


@dataclass
class Membership:
    """What one person is in one company: a role (legal representative or administrator),
    handler grants, or both."""

    entity: LegalEntity
    role: EntityRole | None
    grants: list[HandlerGrant]

    @property
    def manages(self) -> bool:
        """The legal representative and the administrators manage the company's handlers."""
        return self.role is not None

    @property
    def legal_representative(self) -> bool:
        return self.role is not None and self.role.role == "legal_representative"

    @property
    def own_scope(self) -> Scope | None:
        """The scope within which this person manages handlers, if they manage any."""
        return scope_of_role(self.role) if self.role is not None else None


@dataclass
class CompanyRegistered:
    """What registering a company came to: the company, or the refusals (field -> code)."""

    entity: LegalEntity | None = None
    errors: dict[str, str] = field(default_factory=dict)
    moved_from: str | None = None  # the previous legal representative, when the role moved


def scope_of_role(role: EntityRole) -> Scope:
    if role.role == "legal_representative":
        return FULL_SCOPE
    return Scope(role.grade, tuple(role.matters), tuple(role.regions))


def scope_of_grant(grant: HandlerGrant) -> Scope:
    return Scope(grant.grade, tuple(grant.matters), tuple(grant.regions))


def legal_representative_role(entity_id: str, account_id: str) -> EntityRole:
    """The legal representative's role: every right (grade ``sign``, every class, region)."""
    return EntityRole(
        entity_id=entity_id,
        account_id=account_id,
        role="legal_representative",
        grade=FULL_SCOPE.grade,
        matters=list(FULL_SCOPE.matters),
        regions=list(FULL_SCOPE.regions),
    )


def scope_details(scope: Scope) -> dict[str, Any]:
    """A scope as the trail records it."""
    return {"grade": scope.grade, "matters": list(scope.matters), "regions": list(scope.regions)}
