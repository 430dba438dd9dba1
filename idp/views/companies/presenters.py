"""Rows for the company templates: companies, members, handler grants, scopes, the trail.

People appear masked (name and phone, ``Profile.masked``), never in clear; classes of matters
by their catalogue name in the person's language; times in ``IDP_TIMEZONE``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import request
from flask_babel import get_locale, lazy_gettext
from flask_babel import gettext as _

from idp.identity.agreements import Requirement
from idp.identity.delegation import Scope
from idp.identity.entities import Membership, scope_of_grant, scope_of_role
from idp.models import Account, AuditEvent, EntityRole, HandlerGrant, LegalEntity
from idp.views.account import shown_last_day, shown_time
from idp.views.labels import (
    GRADE_LABELS,
    GRANT_STATUS_LABELS,
    ROLE_LABELS,
    agreement_title,
    label,
)
from idp.views.web import services

EXPIRING_DAYS = 7  # "expiring soon" on the overview

ENTITY_TYPE_LABELS = {
    "limited_company": lazy_gettext("Limited liability company"),
    "joint_stock_company": lazy_gettext("Joint stock company"),
    "partnership": lazy_gettext("Partnership"),
    "individual_business": lazy_gettext("Individual business"),
    "sole_proprietorship": lazy_gettext("Sole proprietorship"),
    "public_institution": lazy_gettext("Public institution"),
    "social_organisation": lazy_gettext("Social organisation"),
    "other": lazy_gettext("Other organisation"),
}
ENTITY_STATUS_LABELS = {
    "active": lazy_gettext("Active"),
    "suspended": lazy_gettext("Suspended by the authority"),
    "cancelled": lazy_gettext("Cancelled"),
}
ACTION_LABELS = {
    "entity_registered": lazy_gettext("Company registered"),
    "entity_agreement_accepted": lazy_gettext("Legal-person agreement accepted"),
    "legal_representative_changed": lazy_gettext("Legal representative changed"),
    "administrator_appointed": lazy_gettext("Administrator appointed"),
    "administrator_removed": lazy_gettext("Administrator removed"),
    "handler_grant_created": lazy_gettext("Authorisation granted"),
    "handler_grant_edited": lazy_gettext("Authorisation changed"),
    "handler_grant_renewed": lazy_gettext("Authorisation renewed"),
    "handler_grant_suspended": lazy_gettext("Authorisation suspended"),
    "handler_grant_active": lazy_gettext("Authorisation resumed"),
    "handler_grant_revoked": lazy_gettext("Authorisation revoked"),
    "handler_grant_confirmed": lazy_gettext("Authorisation confirmed by the handler"),
    "handler_grant_declined": lazy_gettext("Authorisation declined by the handler"),
    "entity_suspended": lazy_gettext("Company suspended by the authority"),
    "entity_active": lazy_gettext("Company reinstated by the authority"),
    "entity_cancelled": lazy_gettext("Company account cancelled"),
    "company_login": lazy_gettext("Login to a portal for the company"),
}
# ``?done=`` after a change (every POST answers 303 to a page that tells what happened).
DONE_NOTICES = {
    "registered": lazy_gettext("The company is registered. You are its legal representative."),
    "moved": lazy_gettext(
        "The registry names you as the company's legal representative: the role is now yours."
    ),
    "appointed": lazy_gettext("The administrator is appointed."),
    "removed": lazy_gettext("The administrator is removed; their logins for the company ended."),
    "granted": lazy_gettext(
        "The authorisation is created. It can be used once the handler confirms it."
    ),
    "edited": lazy_gettext("The authorisation is changed."),
    "suspended": lazy_gettext("The authorisation is suspended; the handler's logins ended."),
    "resumed": lazy_gettext("The authorisation is active again."),
    "renewed": lazy_gettext("The authorisation is renewed."),
    "revoked": lazy_gettext("The authorisation is revoked; the handler's logins ended."),
    "confirmed": lazy_gettext("You confirmed the authorisation. You can now act for the company."),
    "declined": lazy_gettext("You declined the authorisation."),
    "agreement": lazy_gettext("The agreement is accepted on the company's behalf."),
}

Row = dict[str, Any]


def done_notice() -> str | None:
    """What the change just made did (``?done=``), or None."""
    done = request.args.get("done", "")
    return str(DONE_NOTICES[done]) if done in DONE_NOTICES else None


@dataclass
class MaskedPeople:
    """People by account id, masked, each looked up once per page."""

    seen: dict[str, dict[str, str]] = field(default_factory=dict)

    def of(self, account_id: str) -> dict[str, str]:
        """``name`` and ``phone``, masked; a cancelled account has neither."""
        if account_id not in self.seen:
            app_services = services()
            account = app_services.people.by_id(account_id)
            if account is None:
                self.seen[account_id] = {"name": _("Cancelled account"), "phone": ""}
            else:
                masked = app_services.people.profile(account).masked
                self.seen[account_id] = {
                    "name": masked["name"] or "",
                    "phone": masked["phone"] or "",
                }
        return self.seen[account_id]


def masked_person(account_id: str) -> dict[str, str]:
    return MaskedPeople().of(account_id)


# -- scopes ------------------------------------------------------------------------------------


def catalogue() -> list[Row]:
    """The active classes of matters, named in the person's language, with their depth."""
    english = str(get_locale()) == "en"
    return [
        {
            "code": entry.code,
            "name": (entry.name_en or entry.name) if english else entry.name,
            "depth": entry.code.count("."),
        }
        for entry in services().entities.matters()
    ]


def matter_names(entries: list[Row], codes: list[str]) -> list[dict[str, str]]:
    names = {entry["code"]: entry["name"] for entry in entries}
    return [
        {"code": code, "name": _("All classes of matters") if code == "*" else names.get(code, "")}
        for code in codes
    ]


def scope_view(scope: Scope, entries: list[Row]) -> Row:
    return {
        "grade": scope.grade,
        "grade_label": label(GRADE_LABELS, scope.grade),
        "matters": matter_names(entries, list(scope.matters)),
        "regions": list(scope.regions),
    }


# -- handler grants ----------------------------------------------------------------------------


def grant_state(grant: HandlerGrant, now: datetime) -> str:
    """The status shown: an active grant past its end is ``expired``."""
    if grant.status == "active" and grant.valid_until <= now:
        return "expired"
    return grant.status


def grant_actions(grant: HandlerGrant) -> list[str]:
    """What a manager may still do with the grant (closed grants: nothing)."""
    if grant.status in {"revoked", "declined"}:
        return []
    actions = ["edit"]
    if grant.status in {"active", "pending"}:
        actions.append("suspend")
    if grant.status == "suspended":
        actions.append("resume")
    return [*actions, "renew", "revoke"]


def grant_view(
    grant: HandlerGrant,
    entries: list[Row],
    people: MaskedPeople,
    now: datetime,
    own_scope: Scope | None = None,
) -> Row:
    """A handler grant; with ``own_scope``, the actions of a manager whose scope covers it."""
    state = grant_state(grant, now)
    manageable = own_scope is not None and own_scope.includes(scope_of_grant(grant))
    return {
        "id": grant.id,
        "entity_id": grant.entity_id,
        "entity_name": grant.entity.name,
        "uscc": grant.entity.uscc,
        "handler": people.of(grant.account_id),
        "status": state,
        "status_label": label(GRANT_STATUS_LABELS, state),
        "valid_from": shown_time(grant.valid_from),
        "valid_until": shown_last_day(grant.valid_until),
        "expiring": state == "active" and grant.valid_until - now <= timedelta(days=EXPIRING_DAYS),
        "actions": grant_actions(grant) if manageable and grant.entity.active else [],
        **scope_view(scope_of_grant(grant), entries),
    }


def overview_rows(grants: list[Row]) -> dict[str, list[Row]]:
    """The person's own grants as the overview groups them."""
    return {
        "pending": [g for g in grants if g["status"] == "pending"],
        "expiring": [g for g in grants if g["expiring"]],
        "active": [g for g in grants if g["status"] == "active" and not g["expiring"]],
        "ended": [g for g in grants if g["status"] not in {"pending", "active"}],
    }


# -- companies and members ---------------------------------------------------------------------


def membership_row(role: EntityRole) -> Row:
    """A company the person holds a role in (the overview)."""
    return {
        "entity_id": role.entity.id,
        "name": role.entity.name,
        "uscc": role.entity.uscc,
        "role": role.role,
        "role_label": label(ROLE_LABELS, role.role),
        "status": role.entity.status,
        "status_label": label(ENTITY_STATUS_LABELS, role.entity.status),
    }


def entity_view(entity: LegalEntity) -> Row:
    return {
        "id": entity.id,
        "name": entity.name,
        "uscc": entity.uscc,
        "type_label": label(ENTITY_TYPE_LABELS, entity.entity_type),
        "region": entity.region,
        "status": entity.status,
        "status_label": label(ENTITY_STATUS_LABELS, entity.status),
        "active": entity.active,
        "verification_level": entity.verification_level,
    }


def my_role(membership: Membership) -> Row:
    role = membership.role.role if membership.role else "handler"
    return {"my_role": role, "my_role_label": label(ROLE_LABELS, role)}


def member_row(role: EntityRole, account: Account, people: MaskedPeople, entries: list[Row]) -> Row:
    return {
        "id": role.id,
        "role": role.role,
        "role_label": label(ROLE_LABELS, role.role),
        "person": people.of(role.account_id),
        "me": role.account_id == account.id,
        "appointed": shown_time(role.created_at),
        **scope_view(scope_of_role(role), entries),
    }


def trail_rows(events: list[AuditEvent], people: MaskedPeople, entries: list[Row]) -> list[Row]:
    """The company's trail: who did what to whom, with the scope given (never more)."""
    rows = []
    for event in events:
        details = event.details or {}
        if event.actor == "cli" or not event.actor:
            actor = _("The authority")
        else:
            actor = people.of(event.actor)["name"]
        subject = details.get("handler") or details.get("member")
        scope = details.get("after") or details
        rows.append(
            {
                "time": shown_time(event.created_at),
                "action": event.action,
                "label": label(ACTION_LABELS, event.action),
                "actor": actor,
                "subject": people.of(subject)["name"] if subject else "",
                "grade": label(GRADE_LABELS, scope["grade"]) if scope.get("grade") else "",
                "matters": matter_names(entries, scope.get("matters", [])),
                "regions": scope.get("regions") or [],
                "reason": details.get("reason") or "",
            }
        )
    return rows


def agreement_view(requirement: Requirement | None) -> Row | None:
    """A legal-person agreement version the legal representative must accept or note."""
    if requirement is None:
        return None
    return {
        "version_id": requirement.version.id,
        "title": agreement_title(requirement.kind, requirement.title),
        "version": requirement.version.version,
        "mode": requirement.mode,
        "text": requirement.version.text,
        "changes": requirement.changes,
    }
