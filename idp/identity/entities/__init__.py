"""Legal persons: registration by the legal representative, roles, handler grants, and acting.

Legal-person agreement: the legal representative (法定代表人) registers the company and holds
every right; the administrators (授权人) they appoint manage handlers (经办人) within their own
scope; a handler's grant is graded and classified (``idp.identity.delegation``), limited in time,
and usable only once the handler confirmed it. Every change is audited in the company's trail,
in the same transaction. Suspending or revoking a grant, removing a role or suspending the
company revokes at once every OAuth grant issued under it (their tokens stop working).

One service, :class:`Entities`, made of one part per responsibility:

- ``rules``: levels, kinds of organisation, scopes of roles and grants, :class:`EntityError`;
- ``directory``: the matters catalogue and every read (companies, roles, grants, the trail);
- ``lifecycle``: registration, a change of legal representative, suspension, cancellation;
- ``appointments``: administrators and handler grants;
- ``acting``: the companies a person may act for in a login, re-checked at refresh;
- ``departure``: a member's roles and grants when they cancel their own account;
- ``members``: finding the person named on a form (:class:`MemberLookup`, its own service).
"""

from __future__ import annotations

from datetime import UTC, tzinfo

from idp.identity.entities.acting import CompanyActing
from idp.identity.entities.appointments import Appointments
from idp.identity.entities.departure import Departures
from idp.identity.entities.directory import LoginsEnded
from idp.identity.entities.lifecycle import CompanyLifecycle
from idp.identity.entities.members import MemberLookup
from idp.identity.entities.rules import (
    ENTITY_TYPES,
    MAX_ID_LENGTH,
    MAX_NAME_LENGTH,
    MEMBER_LEVEL,
    REGISTRATION_LEVEL,
    CompanyRegistered,
    EntityError,
    Membership,
    Option,
    refusal_status,
    scope_of_grant,
    scope_of_role,
)
from idp.identity.people import People
from idp.identity.verifiers import Verifier
from idp.models.base import Database

# The name registration's outcome had before the split.
Registration = CompanyRegistered

__all__ = [
    "ENTITY_TYPES",
    "MAX_ID_LENGTH",
    "MAX_NAME_LENGTH",
    "MEMBER_LEVEL",
    "REGISTRATION_LEVEL",
    "CompanyRegistered",
    "Entities",
    "EntityError",
    "LoginsEnded",
    "MemberLookup",
    "Membership",
    "Option",
    "Registration",
    "refusal_status",
    "scope_of_grant",
    "scope_of_role",
]


class Entities(CompanyLifecycle, Appointments, CompanyActing, Departures):
    """The legal-person rules over the database."""

    def __init__(
        self,
        db: Database,
        people: People,
        verifier: Verifier,
        *,
        max_administrators: int,
        grant_days: int,
        local_zone: tzinfo = UTC,
        logins_ended: LoginsEnded | None = None,
    ) -> None:
        self.db = db
        self.logins_ended = logins_ended
        self.people = people
        self.verifier = verifier
        self.max_administrators = max_administrators
        self.grant_days = grant_days
        self.local_zone = local_zone
