"""My companies (``/account/companies``): legal persons in the user space (legal-person issue).

Legal-person agreement: the legal representative (法定代表人) registers the company and holds every
right; the administrators (授权人) they appoint manage handlers (经办人) within their own scope; a
handler's grant is graded and classified (分级分类授权管理) and usable only once the handler
confirmed it. The rules are in ``idp.identity.entities`` and ``idp.identity.delegation``; this
module reads forms, checks the acting person's SMS code where the rules ask for one, and renders.

- ``GET ""``: the companies the person belongs to and their handler grants (pending with confirm
  and decline, active, expiring within 7 days, ended); ``POST /grants/<id>/respond``.
- ``/register``: a person at L3 or above registers a company as its legal representative; the
  market regulation registry confirms it, and the legal-person agreement is accepted on the
  company's behalf (the evidence's ``account_id`` is the company's id).
- ``/<entity_id>``: the company page. Legal representative and administrators: members, grants,
  the matters catalogue, the company's audit trail; handlers: their own grant only. Forms:
  appoint and remove administrators (legal representative), grant to a handler, edit, suspend,
  resume, renew, revoke, and the legal representative's acceptance of a new agreement version.

Appointing an administrator, granting, and an edit that widens a grant need the acting person's
SMS code (purpose ``grant``, sent to their own phone by the form's ``send_code`` button). Every
POST carries the CSRF token; success answers 303, a refused form is shown again with a message per
field and nothing stored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import get_locale, lazy_gettext
from flask_babel import gettext as _

from idp.identity import agreements, delegation, documents, levels
from idp.identity.delegation import GRADES, Scope
from idp.identity.entities import (
    ENTITY_TYPES,
    MEMBER_LEVEL,
    REGISTRATION_LEVEL,
    EntityError,
    scope_of_grant,
    scope_of_role,
)
from idp.models import Account, AuditEvent, EntityRole, HandlerGrant, LegalEntity
from idp.models.base import utcnow
from idp.views import realname
from idp.views.account import (
    DISPLAY_TIMEZONE,
    current_account,
    no_store,
    shown_time,
    to_login,
)
from idp.views.labels import GRADE_LABELS, ROLE_LABELS
from idp.views.password_login import confirm_own_password
from idp.views.web import error_page, services

bp = Blueprint("companies", __name__, url_prefix="/account/companies")
# Members' masked data and the company's trail: never kept in shared or browser caches.
bp.after_request(no_store)

SMS_PURPOSE = "grant"
EXPIRING_DAYS = 7  # "expiring soon" on the overview
MAX_GRANT_DAYS = 366  # a grant runs at most this long; renew it afterwards
MAX_FIELD_LENGTH = 64
MAX_MATTERS = 64
MAX_REGIONS = 32
REGION_SEPARATORS = re.compile(r"[\s,，、;；]+")

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
GRANT_STATUS_LABELS = {
    "pending": lazy_gettext("Awaiting the handler's confirmation"),
    "active": lazy_gettext("Active"),
    "expired": lazy_gettext("Expired"),
    "suspended": lazy_gettext("Suspended"),
    "revoked": lazy_gettext("Revoked"),
    "declined": lazy_gettext("Declined"),
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
# (field, code) -> message; codes come from idp.identity.entities, delegation and documents.
MESSAGES: dict[tuple[str, str], Any] = {
    ("uscc", "length"): lazy_gettext("A unified social credit code has 18 characters."),
    ("uscc", "format"): lazy_gettext(
        "This is not a unified social credit code: digits and capital letters, without I, O, "
        "S, V and Z."
    ),
    ("uscc", "check_digit"): lazy_gettext(
        "The last character (the check character) does not fit the code: check it."
    ),
    ("uscc", "taken"): lazy_gettext(
        "This company is already registered here, with you as its legal representative."
    ),
    ("uscc", "registry_mismatch"): lazy_gettext(
        "The market regulation registry does not confirm this code, this name and you as the "
        "legal representative. Check them against the business licence."
    ),
    ("uscc", "inactive"): lazy_gettext(
        "The registry shows this company as not active (revoked or cancelled): it cannot be "
        "registered."
    ),
    ("name", "required"): lazy_gettext("Enter the company's name as on its business licence."),
    ("entity_type", "unknown"): lazy_gettext("Choose the type of organisation."),
    ("region", "format"): lazy_gettext(
        "Enter the six-digit code of the registered region, such as 330106."
    ),
    ("accept_agreement", "required"): lazy_gettext(
        "Tick the box to confirm that you have read and accept the agreement."
    ),
    ("member", "required"): lazy_gettext("Enter the person's mobile phone number or ID number."),
    ("member", "no_account"): lazy_gettext(
        "No active account has this mobile phone number or ID number."
    ),
    ("member", "member_level"): lazy_gettext(
        "This person must first verify their name and ID number (level L2) in their account."
    ),
    ("member", "already_member"): lazy_gettext("This person already holds a role in the company."),
    ("member", "too_many"): lazy_gettext(
        "Too many people looked up who have no account. Try again in an hour."
    ),
    ("grade", "unknown"): lazy_gettext("Choose a grade."),
    ("matters", "required"): lazy_gettext("Choose at least one class of matters."),
    ("matters", "unknown"): lazy_gettext("Choose classes of matters from the catalogue."),
    ("regions", "format"): lazy_gettext(
        "Enter six-digit region codes separated by commas, or nothing for every region."
    ),
    ("valid_until", "format"): lazy_gettext("Enter a date such as 2030-01-31."),
    ("valid_until", "past"): lazy_gettext("The date must be in the future."),
    ("valid_until", "too_far"): lazy_gettext(
        "An authorisation runs at most 366 days; renew it when it ends."
    ),
    ("form", "beyond_own_scope"): lazy_gettext(
        "This is wider than your own authorisation (its grade, classes of matters or regions)."
    ),
    ("form", "too_many_administrators"): lazy_gettext(
        "The company already has as many administrators as allowed. Remove one first."
    ),
    ("form", "entity_inactive"): lazy_gettext(
        "The company's account is suspended: authorisations cannot be changed."
    ),
    ("form", "closed"): lazy_gettext(
        "This authorisation cannot be changed that way any more (it was revoked, declined or "
        "already answered)."
    ),
    ("form", "not_legal_representative"): lazy_gettext(
        "Only the company's legal representative can do this."
    ),
    ("form", "not_manager"): lazy_gettext(
        "Only the legal representative and the administrators can do this."
    ),
    ("form", "no_role"): lazy_gettext("There is no such administrator."),
    ("form", "unavailable"): lazy_gettext(
        "The market regulation registry cannot be reached just now. Nothing was stored; try "
        "again in a few minutes."
    ),
    ("form", "no_phone"): lazy_gettext(
        "Your account has no mobile phone number for the SMS code. Add one first."
    ),
}
# Refusals shown as a 403 page rather than a form message.
FORBIDDEN = {"not_legal_representative", "not_manager", "level"}


def message(field_name: str, code: str) -> str:
    """The message for a refusal; the SMS code's come from the real-name forms."""
    text = MESSAGES.get((field_name, code)) or MESSAGES.get(("form", code))
    return str(text) if text is not None else realname.message(field_name, code)


@dataclass
class CompanyState(realname.FormState):
    """A form shown again, with this module's messages."""

    def fail(self, field_name: str, code: str, status: int = 400) -> None:
        self.errors[field_name] = message(field_name, code)
        self.status = status


def _label(labels: dict[str, Any], code: str) -> str:
    return str(labels.get(code, code))


def _english() -> bool:
    return str(get_locale()) == "en"


# -- access ------------------------------------------------------------------------------------


def _refused(message_text: str, status: int = 403) -> tuple[str, int]:
    """A page inside the user space that says why something is not allowed."""
    return render_template(
        "company_refused.html", current="companies", message=message_text
    ), status


def _not_found() -> tuple[str, int]:
    return error_page(404, _("Page not found"), _("There is no such company in your account."))


@dataclass
class Membership:
    """What the signed-in person is in one company: a role, handler grants, or both."""

    entity: LegalEntity
    role: EntityRole | None
    grants: list[HandlerGrant]

    @property
    def manages(self) -> bool:
        return self.role is not None

    @property
    def legal_representative(self) -> bool:
        return self.role is not None and self.role.role == "legal_representative"

    @property
    def own_scope(self) -> Scope | None:
        return scope_of_role(self.role) if self.role is not None else None


def _membership(entity_id: str, account: Account) -> Membership | None:
    """None when the person holds neither a role nor a grant in the company (a 404, so that
    company ids cannot be probed)."""
    if not entity_id or len(entity_id) > 36:
        return None
    entities = services().entities
    entity = entities.get(entity_id)
    if entity is None:
        return None
    role = entities.role(entity.id, account.id)
    grants = [g for g in entities.grants_of(account.id) if g.entity_id == entity.id]
    if role is None and not grants:
        return None
    return Membership(entity, role, grants)


# -- shown values ------------------------------------------------------------------------------


def _masked_person(account_id: str, cache: dict[str, dict[str, str]]) -> dict[str, str]:
    if account_id not in cache:
        prov = services()
        account = prov.accounts.find(account_id)
        if account is None:
            cache[account_id] = {"name": _("Cancelled account"), "phone": ""}
        else:
            masked = prov.people.profile(account).masked
            cache[account_id] = {"name": masked["name"] or "", "phone": masked["phone"] or ""}
    return cache[account_id]


def _catalogue() -> list[dict[str, Any]]:
    english = _english()
    return [
        {
            "code": entry.code,
            "name": (entry.name_en or entry.name) if english else entry.name,
            "depth": entry.code.count("."),
        }
        for entry in services().entities.matters()
    ]


def _matter_names(catalogue: list[dict[str, Any]], codes: list[str]) -> list[dict[str, str]]:
    names = {entry["code"]: entry["name"] for entry in catalogue}
    return [
        {"code": code, "name": _("All classes of matters") if code == "*" else names.get(code, "")}
        for code in codes
    ]


def _scope_view(scope: Scope, catalogue: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "grade": scope.grade,
        "grade_label": _label(GRADE_LABELS, scope.grade),
        "matters": _matter_names(catalogue, list(scope.matters)),
        "regions": list(scope.regions),
    }


def _grant_state(grant: HandlerGrant, now: datetime) -> str:
    if grant.status == "active" and grant.valid_until <= now:
        return "expired"
    return grant.status


def _grant_view(
    grant: HandlerGrant,
    catalogue: list[dict[str, Any]],
    people: dict[str, dict[str, str]],
    now: datetime,
    own_scope: Scope | None = None,
) -> dict[str, Any]:
    state = _grant_state(grant, now)
    manageable = own_scope is not None and own_scope.includes(scope_of_grant(grant))
    return {
        "id": grant.id,
        "entity_id": grant.entity_id,
        "entity_name": grant.entity.name,
        "uscc": grant.entity.uscc,
        "handler": _masked_person(grant.account_id, people),
        "status": state,
        "status_label": _label(GRANT_STATUS_LABELS, state),
        "valid_from": shown_time(grant.valid_from),
        "valid_until": shown_time(grant.valid_until),
        "expiring": state == "active" and grant.valid_until - now <= timedelta(days=EXPIRING_DAYS),
        "actions": _grant_actions(grant) if manageable and grant.entity.active else [],
        **_scope_view(scope_of_grant(grant), catalogue),
    }


def _grant_actions(grant: HandlerGrant) -> list[str]:
    if grant.status in {"revoked", "declined"}:
        return []
    actions = ["edit"]
    if grant.status in {"active", "pending"}:
        actions.append("suspend")
    if grant.status == "suspended":
        actions.append("resume")
    return [*actions, "renew", "revoke"]


# -- the overview ------------------------------------------------------------------------------


@bp.get("")
def overview() -> Any:
    account = current_account()
    if account is None:
        return to_login()
    return _render_overview(account)


def _render_overview(
    account: Account, problem: str | None = None, status: int = 200
) -> tuple[str, int]:
    prov = services()
    now = utcnow()
    catalogue = _catalogue()
    people: dict[str, dict[str, str]] = {}
    memberships = [
        {
            "entity_id": role.entity.id,
            "name": role.entity.name,
            "uscc": role.entity.uscc,
            "role": role.role,
            "role_label": _label(ROLE_LABELS, role.role),
            "status": role.entity.status,
            "status_label": _label(ENTITY_STATUS_LABELS, role.entity.status),
        }
        for role in prov.entities.roles_of(account.id)
    ]
    grants = [
        _grant_view(grant, catalogue, people, now) for grant in prov.entities.grants_of(account.id)
    ]
    done = request.args.get("done", "")
    return render_template(
        "company_list.html",
        current="companies",
        memberships=memberships,
        pending=[g for g in grants if g["status"] == "pending"],
        expiring=[g for g in grants if g["expiring"]],
        active=[g for g in grants if g["status"] == "active" and not g["expiring"]],
        ended=[g for g in grants if g["status"] not in {"pending", "active"}],
        can_register=levels.at_least(account.verification_level, REGISTRATION_LEVEL),
        notice=str(DONE_NOTICES[done]) if done in DONE_NOTICES else None,
        problem=problem,
    ), status


@bp.post("/grants/<grant_id>/respond")
def respond(grant_id: str) -> Any:
    """The handler confirms (the grant becomes usable) or declines a pending grant."""
    account = current_account()
    if account is None:
        return to_login(url_for("companies.overview"))
    prov = services()
    grant = prov.entities.grant(grant_id[:36])
    if grant is None or grant.account_id != account.id:
        return _not_found()
    decision = request.form.get("decision", "")
    if decision not in {"confirm", "decline"}:
        return _render_overview(account, _("Choose to confirm or to decline."), 400)
    try:
        prov.entities.respond(grant, account, decision == "confirm")
    except EntityError as error:
        return _render_overview(account, message("form", error.code), 409)
    done = "confirmed" if decision == "confirm" else "declined"
    return redirect(url_for("companies.overview", done=done), 303)


# -- registration ------------------------------------------------------------------------------


def _below_registration_level() -> tuple[str, int]:
    return _refused(
        _(
            "To register a company you must be its legal representative with your identity "
            "verified to level %(level)s (a second authority such as your bank confirmed it). "
            "Raise your level on the verification page first.",
            level=REGISTRATION_LEVEL,
        )
    )


def _render_register(state: CompanyState) -> tuple[str, int]:
    links = [{"title": t, "url": u} for t, u in services().agreements.links("legal_person")]
    return render_template(
        "company_register.html",
        current="companies",
        action_url=url_for("companies.register"),
        values=state.values,
        errors=state.errors,
        problem=state.problem,
        entity_types=[
            {"code": code, "label": _label(ENTITY_TYPE_LABELS, code)} for code in ENTITY_TYPES
        ],
        agreements=links,
    ), state.status


@bp.get("/register")
def register_page() -> Any:
    account = current_account()
    if account is None:
        return to_login()
    if not levels.at_least(account.verification_level, REGISTRATION_LEVEL):
        return _below_registration_level()
    return _render_register(CompanyState(values={"entity_type": "limited_company"}))


@bp.post("/register")
def register() -> Any:
    """Register a company (legal-person agreement; GB 32100 code checked first, then the market
    regulation registry). Nothing is stored unless every check passes."""
    account = current_account()
    if account is None:
        return to_login(url_for("companies.register_page"))
    if not levels.at_least(account.verification_level, REGISTRATION_LEVEL):
        return _below_registration_level()
    prov = services()
    form = request.form
    values = {
        name: (form.get(name) or "").strip()[: 2 * MAX_FIELD_LENGTH]
        for name in ("uscc", "name", "entity_type", "region")
    }
    state = CompanyState(values=values)
    uscc = documents.normalize_uscc(values["uscc"])
    if form.get("accept_agreement") != "yes":
        # The registry is asked only with the agreement accepted; the code's form is told now.
        state.fail("accept_agreement", "required")
        problem = documents.validate_uscc(uscc)
        if problem:
            state.fail("uscc", problem)
        return _render_register(state)
    wait = prov.verification_failures.exceeded(f"account:{account.id}")
    if wait:
        state.problem = _(
            "Too many attempts. Try again in %(minutes)s minutes.", minutes=(wait + 59) // 60
        )
        state.status = 429
        return _render_register(state)
    outcome = prov.entities.register(
        account,
        uscc=uscc,
        name=values["name"],
        entity_type=values["entity_type"],
        region=values["region"],
    )
    entity = outcome.entity
    if entity is None:
        for name, code in outcome.errors.items():
            if name == "form" and code in FORBIDDEN:
                return _below_registration_level()
            if name == "form":
                state.problem = message("form", code)
                state.status = 503 if code == "unavailable" else 400
            else:
                state.fail(name, code, 409 if code == "taken" else 400)
        reasons = sorted(set(outcome.errors.values()))
        if {"registry_mismatch", "inactive"} & set(reasons):
            # The registry is no oracle for who represents which company.
            prov.verification_failures.count(f"account:{account.id}")
        prov.audit(
            "entity_registration_refused",
            actor=account.id,
            account_id=account.id,
            ip_address=request.remote_addr,
            details={"reasons": reasons},
        )
        return _render_register(state)
    recorded = _accept_entity_agreements(entity, client_id=None)
    prov.audit(
        "entity_agreement_accepted",
        actor=account.id,
        account_id=account.id,
        entity_id=entity.id,
        ip_address=request.remote_addr,
        details={"agreements": recorded},
    )
    done = "moved" if outcome.moved_from is not None else "registered"
    return redirect(url_for("companies.company", entity_id=entity.id, done=done), 303)


def _accept_entity_agreements(entity: LegalEntity, client_id: str | None) -> list[str]:
    """Record, for the company (``account_id`` = its id), every legal-person agreement version
    it must accept or be told about: the legal representative ticked the box for them."""
    with services().db.transaction() as session:
        return agreements.accept_pending(
            session,
            entity.id,
            "legal_person",
            ip_address=request.remote_addr,
            user_agent=request.user_agent.string,
            client_id=client_id,
        )


# -- the company page --------------------------------------------------------------------------


def _trail_view(
    events: list[AuditEvent], people: dict[str, dict[str, str]], catalogue: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    rows = []
    for event in events:
        details = event.details or {}
        if event.actor == "cli" or not event.actor:
            actor = _("The authority")
        else:
            actor = _masked_person(event.actor, people)["name"]
        subject = details.get("handler") or details.get("member")
        scope = details.get("after") or details
        rows.append(
            {
                "time": shown_time(event.created_at),
                "action": event.action,
                "label": _label(ACTION_LABELS, event.action),
                "actor": actor,
                "subject": _masked_person(subject, people)["name"] if subject else "",
                "grade": _label(GRADE_LABELS, scope["grade"]) if scope.get("grade") else "",
                "matters": [m["code"] for m in _matter_names(catalogue, scope.get("matters", []))],
                "regions": scope.get("regions") or [],
                "reason": details.get("reason") or "",
            }
        )
    return rows


def _render_company(
    account: Account,
    membership: Membership,
    problem: str | None = None,
    status: int = 200,
    agreement_error: str | None = None,
) -> tuple[str, int]:
    prov = services()
    entities = prov.entities
    entity = membership.entity
    now = utcnow()
    catalogue = _catalogue()
    people: dict[str, dict[str, str]] = {}
    context: dict[str, Any] = {
        "entity": {
            "id": entity.id,
            "name": entity.name,
            "uscc": entity.uscc,
            "type_label": _label(ENTITY_TYPE_LABELS, entity.entity_type),
            "region": entity.region,
            "status": entity.status,
            "status_label": _label(ENTITY_STATUS_LABELS, entity.status),
            "active": entity.active,
            "verification_level": entity.verification_level,
        },
        "my_role": membership.role.role if membership.role else "handler",
        "my_role_label": _label(
            ROLE_LABELS, membership.role.role if membership.role else "handler"
        ),
        "manages": membership.manages,
        "legal_representative": membership.legal_representative,
        "own_scope": _scope_view(membership.own_scope, catalogue) if membership.own_scope else None,
        "my_grants": [_grant_view(g, catalogue, people, now) for g in membership.grants],
        "members": [],
        "grants": [],
        "catalogue": [],
        "trail": [],
        "agreement": None,
        "agreement_error": agreement_error,
        "can_appoint": False,
        "notice": None,
        "problem": problem,
    }
    done = request.args.get("done", "")
    if done in DONE_NOTICES:
        context["notice"] = str(DONE_NOTICES[done])
    if membership.manages:
        context["members"] = [
            {
                "id": role.id,
                "role": role.role,
                "role_label": _label(ROLE_LABELS, role.role),
                "person": _masked_person(role.account_id, people),
                "me": role.account_id == account.id,
                "appointed": shown_time(role.created_at),
                **_scope_view(scope_of_role(role), catalogue),
            }
            for role in entities.roles(entity.id)
        ]
        context["grants"] = [
            _grant_view(g, catalogue, people, now, membership.own_scope)
            for g in entities.grants(entity.id)
        ]
        context["catalogue"] = catalogue
        context["can_appoint"] = (
            membership.legal_representative
            and entity.active
            and _administrators(membership) < entities.max_administrators
        )
        context["trail"] = _trail_view(entities.trail(entity.id), people, catalogue)
    if membership.legal_representative:
        requirement = prov.agreements.pending(entity.id, "legal_person")
        if requirement is not None:
            context["agreement"] = {
                "version_id": requirement.version.id,
                "title": requirement.title,
                "version": requirement.version.version,
                "mode": requirement.mode,
                "text": requirement.version.text,
                "changes": requirement.changes,
            }
    return render_template("company_page.html", current="companies", **context), status


@bp.get("/<entity_id>")
def company(entity_id: str) -> Any:
    account = current_account()
    if account is None:
        return to_login()
    membership = _membership(entity_id, account)
    if membership is None:
        return _not_found()
    return _render_company(account, membership)


@bp.post("/<entity_id>/agreement")
def accept_agreement(entity_id: str) -> Any:
    """The legal representative accepts (or takes note of) a new legal-person agreement version
    on the company's behalf; until a material one is accepted nobody can act for the company."""
    account = current_account()
    if account is None:
        return to_login(url_for("companies.company", entity_id=entity_id))
    membership = _membership(entity_id, account)
    if membership is None:
        return _not_found()
    if not membership.legal_representative:
        return _refused(message("form", "not_legal_representative"))
    prov = services()
    entity = membership.entity
    requirement = prov.agreements.pending(entity.id, "legal_person")
    if requirement is None or requirement.version.id != request.form.get("version_id"):
        # Accepted meanwhile, or a newer version appeared: show the page as it is now.
        return redirect(url_for("companies.company", entity_id=entity.id), 303)
    if requirement.mode == "accept" and request.form.get("accept_agreement") != "yes":
        return _render_company(
            account,
            membership,
            status=400,
            agreement_error=message("accept_agreement", "required"),
        )
    with prov.db.transaction() as session:
        agreements.record(
            session,
            account_id=entity.id,
            version=requirement.version,
            action="accepted" if requirement.mode == "accept" else "notified",
            ip_address=request.remote_addr,
            user_agent=request.user_agent.string,
            client_id=None,
        )
    prov.audit(
        "entity_agreement_accepted",
        actor=account.id,
        account_id=account.id,
        entity_id=entity.id,
        ip_address=request.remote_addr,
        details={"agreements": [requirement.kind]},
    )
    return redirect(url_for("companies.company", entity_id=entity.id, done="agreement"), 303)


# -- forms with a scope: appoint an administrator, grant to a handler, edit a grant ------------


@dataclass
class ScopeState(CompanyState):
    """A scope form shown again: the typed values, the ticked classes, the messages."""

    matters: list[str] = field(default_factory=list)


def _scope_from_form(state: ScopeState) -> Scope:
    form = request.form
    grade = (form.get("grade") or "")[:16]
    matters = list(dict.fromkeys(m[:MAX_FIELD_LENGTH] for m in form.getlist("matters")))
    regions_raw = (form.get("regions") or "")[: 8 * MAX_REGIONS]
    regions = list(dict.fromkeys(r for r in REGION_SEPARATORS.split(regions_raw) if r))
    state.values.update({"grade": grade, "regions": ", ".join(regions)})
    state.matters = matters
    if len(matters) > MAX_MATTERS:
        state.fail("matters", "unknown")
    if len(regions) > MAX_REGIONS:
        state.fail("regions", "format")
    errors = delegation.validate_scope(grade, matters, regions, services().entities.known_matters())
    for name, code in errors.items():
        if name not in state.errors:
            state.fail(name, code)
    return Scope(grade, tuple(matters), tuple(regions))


def _date_shown(moment: datetime) -> str:
    """The last day (UTC+8) on which a grant ending at ``moment`` is valid."""
    return (moment.astimezone(DISPLAY_TIMEZONE) - timedelta(microseconds=1)).date().isoformat()


def _until_from_form(state: ScopeState, unchanged: str | None = None) -> datetime | None:
    """``valid_until`` (a date, UTC+8): valid to the end of that day. Empty, or the date shown
    for an edit left as it was, is None (the default length, or no change)."""
    raw = (request.form.get("valid_until") or "").strip()[:32]
    state.values["valid_until"] = raw
    if not raw or raw == unchanged:
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        state.fail("valid_until", "format")
        return None
    if day > (utcnow() + timedelta(days=MAX_GRANT_DAYS)).astimezone(DISPLAY_TIMEZONE).date():
        state.fail("valid_until", "too_far")
        return None
    until = datetime.combine(day + timedelta(days=1), time(0), tzinfo=DISPLAY_TIMEZONE)
    if until <= utcnow():
        state.fail("valid_until", "past")
        return None
    return until.astimezone(UTC)


def _member_from_form(state: ScopeState, acting: Account) -> Account | None:
    """The person named by mobile phone number or ID number (exact matches only). Lookups
    that find nobody count against the acting person's hourly verification attempts, so the
    form is no directory of who has an account."""
    raw = (request.form.get("member") or "").strip()[:MAX_FIELD_LENGTH]
    state.values["member"] = raw
    if not raw:
        state.fail("member", "required")
        return None
    prov = services()
    if prov.verification_failures.exceeded(f"account:{acting.id}"):
        state.fail("member", "too_many", 429)
        return None
    identifier = documents.normalize_phone(raw) or "".join(raw.split()).upper()
    account = prov.people.find_by_identifier(identifier)
    if account is None or not account.active or account.user_type != "natural_person":
        prov.verification_failures.count(f"account:{acting.id}")
        state.fail("member", "no_account")
        return None
    if not levels.at_least(account.verification_level, MEMBER_LEVEL):
        state.fail("member", "member_level")
        return None
    return account


def _own_phone(account: Account) -> str | None:
    return services().people.profile(account).phone


def _send_own_code(account: Account, state: realname.FormState) -> None:
    """The ``send_code`` button: the acting person's own phone gets the code."""
    phone = _own_phone(account)
    if phone is None:
        state.problem = message("form", "no_phone")
        state.status = 400
        return
    realname.send_code(phone, SMS_PURPOSE, state)
    if "phone" in state.errors:
        state.problem = message("form", "no_phone")
        del state.errors["phone"]


def _check_own_code(account: Account, state: realname.FormState) -> bool:
    phone = _own_phone(account)
    if phone is None:
        state.problem = message("form", "no_phone")
        state.status = 400
        return False
    return realname.check_code(phone, SMS_PURPOSE, state)


def _typed(state: ScopeState, *, member: bool, until: bool) -> None:
    """Keep what was typed when ``send_code`` is pressed (no messages: nothing was submitted)."""
    scratch = ScopeState()
    _scope_from_form(scratch)
    if until:
        _until_from_form(scratch)
    if member:
        scratch.values["member"] = (request.form.get("member") or "").strip()[:MAX_FIELD_LENGTH]
    state.values, state.matters = scratch.values, scratch.matters


def _render_scope_form(
    account: Account,
    membership: Membership,
    mode: str,
    state: ScopeState,
    grant: HandlerGrant | None = None,
) -> tuple[str, int]:
    entity = membership.entity
    catalogue = _catalogue()
    titles = {
        "administrator": _("Appoint an administrator"),
        "grant": _("Authorise a handler"),
        "edit": _("Change an authorisation"),
    }
    if mode == "administrator":
        action_url = url_for("companies.appoint", entity_id=entity.id)
    elif mode == "grant":
        action_url = url_for("companies.new_grant", entity_id=entity.id)
    else:
        assert grant is not None
        action_url = url_for("companies.edit_grant", entity_id=entity.id, grant_id=grant.id)
    own = membership.own_scope
    if own is not None:
        # Only what the acting person may give is offered (the rules refuse the rest anyway).
        catalogue = [e for e in catalogue if delegation.matters_cover(own.matters, [e["code"]])]
    return render_template(
        "company_form.html",
        current="companies",
        mode=mode,
        title=titles[mode],
        action_url=action_url,
        company_url=url_for("companies.company", entity_id=entity.id),
        entity_name=entity.name,
        handler=_masked_person(grant.account_id, {}) if grant else None,
        own_scope=_scope_view(own, catalogue) if own else None,
        grades=[{"code": code, "label": _label(GRADE_LABELS, code)} for code in GRADES],
        catalogue=catalogue,
        values=state.values,
        ticked=state.matters,
        errors=state.errors,
        notice=state.notice,
        problem=state.problem,
        masked_phone=documents.mask_phone(_own_phone(account) or ""),
    ), state.status


def _entity_error(state: ScopeState, error: EntityError) -> tuple[str, int] | None:
    """Put a refusal of the rules on the form (None), or a 403 page for what this person may
    not do at all."""
    if error.code in FORBIDDEN:
        return _refused(message("form", error.code))
    if error.field == "form":
        state.problem = message("form", error.code)
        state.status = 403 if error.code == "beyond_own_scope" else 409
    else:
        state.fail(error.field, error.code, 409 if error.code == "already_member" else 400)
    return None


def _manager_membership(entity_id: str, account: Account) -> Membership | tuple[str, int]:
    membership = _membership(entity_id, account)
    if membership is None:
        return _not_found()
    if not membership.manages:
        return _refused(message("form", "not_manager"))
    return membership


def _beyond_own(membership: Membership, scope: Scope, state: ScopeState) -> None:
    """Checked before the SMS code is spent (the rules check it again)."""
    own = membership.own_scope
    if not state.errors and own is not None and not own.includes(scope):
        state.problem = message("form", "beyond_own_scope")
        state.status = 403


def _administrators(membership: Membership) -> int:
    roles = services().entities.roles(membership.entity.id)
    return sum(1 for role in roles if role.role == "administrator")


@bp.route("/<entity_id>/administrators/new", methods=["GET", "POST"])
def appoint(entity_id: str) -> Any:
    """The legal representative appoints an administrator, with the scope within which they
    manage handlers; the legal representative's SMS code confirms it."""
    account = current_account()
    if account is None:
        return to_login(url_for("companies.appoint", entity_id=entity_id))
    membership = _membership(entity_id, account)
    if membership is None:
        return _not_found()
    if not membership.legal_representative:
        return _refused(message("form", "not_legal_representative"))
    state = ScopeState(values={"grade": "view"})
    if request.method == "GET":
        return _render_scope_form(account, membership, "administrator", state)
    if request.form.get("action") == "send_code":
        _typed(state, member=True, until=False)
        _send_own_code(account, state)
        return _render_scope_form(account, membership, "administrator", state)
    scope = _scope_from_form(state)
    member = _member_from_form(state, account)
    entities = services().entities
    # What the rules would refuse anyway is told before the SMS code is spent.
    if member is not None and entities.role(membership.entity.id, member.id) is not None:
        state.fail("member", "already_member", 409)
    if _administrators(membership) >= entities.max_administrators:
        state.problem = message("form", "too_many_administrators")
        state.status = 409
    if state.errors or state.problem or member is None:
        return _render_scope_form(account, membership, "administrator", state)
    if not _check_own_code(account, state):
        return _render_scope_form(account, membership, "administrator", state)
    try:
        entities.appoint_administrator(membership.entity, account, member.id, scope)
    except EntityError as error:
        return _entity_error(state, error) or _render_scope_form(
            account, membership, "administrator", state
        )
    return redirect(
        url_for("companies.company", entity_id=membership.entity.id, done="appointed"), 303
    )


@bp.post("/<entity_id>/administrators/<role_id>/remove")
def remove_administrator(entity_id: str, role_id: str) -> Any:
    """The legal representative removes an administrator; their company logins end."""
    account = current_account()
    if account is None:
        return to_login(url_for("companies.company", entity_id=entity_id))
    membership = _membership(entity_id, account)
    if membership is None:
        return _not_found()
    if not membership.legal_representative:
        return _refused(message("form", "not_legal_representative"))
    try:
        services().entities.remove_role(membership.entity, account, role_id[:36])
    except EntityError as error:
        if error.code in FORBIDDEN:
            return _refused(message("form", error.code))
        return _render_company(account, membership, message("form", error.code), 404)
    return redirect(
        url_for("companies.company", entity_id=membership.entity.id, done="removed"), 303
    )


@bp.route("/<entity_id>/grants/new", methods=["GET", "POST"])
def new_grant(entity_id: str) -> Any:
    """The legal representative or an administrator authorises a handler, within their own
    scope; their SMS code confirms it. The grant waits for the handler's confirmation."""
    account = current_account()
    if account is None:
        return to_login(url_for("companies.new_grant", entity_id=entity_id))
    membership = _manager_membership(entity_id, account)
    if not isinstance(membership, Membership):
        return membership
    default_until = _date_shown(services().entities.default_until())
    state = ScopeState(values={"grade": "view", "valid_until": default_until})
    if request.method == "GET":
        return _render_scope_form(account, membership, "grant", state)
    if request.form.get("action") == "send_code":
        _typed(state, member=True, until=True)
        _send_own_code(account, state)
        return _render_scope_form(account, membership, "grant", state)
    scope = _scope_from_form(state)
    until = _until_from_form(state, unchanged=default_until)
    member = _member_from_form(state, account)
    _beyond_own(membership, scope, state)
    role = services().entities.role(membership.entity.id, member.id) if member else None
    if role is not None and role.role == "legal_representative":
        state.fail("member", "already_member", 409)
    if state.errors or state.problem or member is None:
        return _render_scope_form(account, membership, "grant", state)
    if not _check_own_code(account, state):
        return _render_scope_form(account, membership, "grant", state)
    try:
        services().entities.create_grant(membership.entity, account, member.id, scope, until)
    except EntityError as error:
        return _entity_error(state, error) or _render_scope_form(
            account, membership, "grant", state
        )
    return redirect(
        url_for("companies.company", entity_id=membership.entity.id, done="granted"), 303
    )


def _managed_grant(membership: Membership, grant_id: str) -> HandlerGrant | None:
    grant = services().entities.grant(grant_id[:36])
    if grant is None or grant.entity_id != membership.entity.id:
        return None
    return grant


@bp.route("/<entity_id>/grants/<grant_id>/edit", methods=["GET", "POST"])
def edit_grant(entity_id: str, grant_id: str) -> Any:
    """Change a grant's scope or end of validity, within the editor's own scope. Narrowing
    takes effect at the handler's next refresh; widening needs the editor's SMS code."""
    account = current_account()
    if account is None:
        return to_login(url_for("companies.edit_grant", entity_id=entity_id, grant_id=grant_id))
    membership = _manager_membership(entity_id, account)
    if not isinstance(membership, Membership):
        return membership
    grant = _managed_grant(membership, grant_id)
    if grant is None:
        return _not_found()
    own = membership.own_scope
    if own is None or not own.includes(scope_of_grant(grant)):
        # An administrator manages only the handlers within their own scope.
        return _refused(message("form", "beyond_own_scope"))
    shown_until = _date_shown(grant.valid_until)
    state = ScopeState(
        values={
            "grade": grant.grade,
            "regions": ", ".join(grant.regions),
            "valid_until": shown_until,
        },
        matters=list(grant.matters),
    )
    if request.method == "GET":
        return _render_scope_form(account, membership, "edit", state, grant)
    if request.form.get("action") == "send_code":
        _typed(state, member=False, until=True)
        _send_own_code(account, state)
        return _render_scope_form(account, membership, "edit", state, grant)
    scope = _scope_from_form(state)
    until = _until_from_form(state, unchanged=shown_until)
    _beyond_own(membership, scope, state)
    if state.errors or state.problem:
        return _render_scope_form(account, membership, "edit", state, grant)
    entities = services().entities
    if entities.widens(grant, scope, until) and not _check_own_code(account, state):
        return _render_scope_form(account, membership, "edit", state, grant)
    try:
        entities.edit_grant(grant, account, scope, until)
    except EntityError as error:
        return _entity_error(state, error) or _render_scope_form(
            account, membership, "edit", state, grant
        )
    return redirect(
        url_for("companies.company", entity_id=membership.entity.id, done="edited"), 303
    )


@bp.route("/<entity_id>/grants/<grant_id>/renew", methods=["GET", "POST"])
def renew(entity_id: str, grant_id: str) -> Any:
    """Another period of validity (``IDP_HANDLER_GRANT_DAYS`` from now): a widening of the
    grant in time, so it needs the renewing person's SMS code (legal-person issue, item 3)."""
    account = current_account()
    if account is None:
        return to_login(url_for("companies.renew", entity_id=entity_id, grant_id=grant_id))
    membership = _manager_membership(entity_id, account)
    if not isinstance(membership, Membership):
        return membership
    grant = _managed_grant(membership, grant_id)
    if grant is None:
        return _not_found()
    own = membership.own_scope
    if own is None or not own.includes(scope_of_grant(grant)):
        return _refused(message("form", "beyond_own_scope"))
    entities = services().entities
    state = realname.FormState()
    if request.method == "POST":
        if request.form.get("action") == "send_code":
            _send_own_code(account, state)
        elif _check_own_code(account, state):
            try:
                entities.renew(grant, account)
            except EntityError as error:
                return _render_company(account, membership, message("form", error.code), 409)
            return redirect(
                url_for("companies.company", entity_id=membership.entity.id, done="renewed"), 303
            )
    return render_template(
        "company_renew.html",
        current="companies",
        action_url=url_for("companies.renew", entity_id=entity_id, grant_id=grant.id),
        company_url=url_for("companies.company", entity_id=entity_id),
        entity_name=membership.entity.name,
        handler=_masked_person(grant.account_id, {}),
        until=_date_shown(entities.default_until()),
        masked_phone=documents.mask_phone(_own_phone(account) or ""),
        **state.context(),
    ), state.status


@bp.post("/<entity_id>/cancel")
def cancel(entity_id: str) -> Any:
    """Legal-person agreement: the legal representative cancels the company's account, with
    the password re-entered and an explicit confirmation. Every company login ends."""
    account = current_account()
    if account is None:
        return to_login(url_for("companies.company", entity_id=entity_id))
    membership = _membership(entity_id, account)
    if membership is None:
        return _not_found()
    if not membership.legal_representative:
        return _refused(message("form", "not_legal_representative"))
    if request.form.get("confirm_cancel") != "yes":
        return _render_company(
            account, membership, _("Tick the box to confirm that you want to cancel."), 400
        )
    prov = services()
    confirmed = confirm_own_password(account)
    if confirmed.account is None:
        return _render_company(
            account, membership, _("The password is not correct. Nothing was changed."), 401
        )
    try:
        prov.entities.cancel(membership.entity, account)
    except EntityError as error:
        return _render_company(account, membership, message("form", error.code), 409)
    return redirect(url_for("companies.overview"), 303)


STATUS_ACTIONS = {
    "suspend": ("suspended", "suspended"),
    "resume": ("active", "resumed"),
    "revoke": ("revoked", "revoked"),
}


@bp.post("/<entity_id>/grants/<grant_id>/status")
def grant_status(entity_id: str, grant_id: str) -> Any:
    """Suspend, resume, renew or revoke a grant (``action``). Suspending and revoking end the
    handler's company logins at once."""
    account = current_account()
    if account is None:
        return to_login(url_for("companies.company", entity_id=entity_id))
    membership = _manager_membership(entity_id, account)
    if not isinstance(membership, Membership):
        return membership
    grant = _managed_grant(membership, grant_id)
    if grant is None:
        return _not_found()
    action = request.form.get("action", "")
    entities = services().entities
    own = membership.own_scope
    if own is None or not own.includes(scope_of_grant(grant)):
        return _refused(message("form", "beyond_own_scope"))
    if action == "renew":
        # Another period of validity widens the grant: its own page, with the SMS code.
        return redirect(
            url_for("companies.renew", entity_id=membership.entity.id, grant_id=grant.id), 303
        )
    try:
        if action in STATUS_ACTIONS:
            status, done = STATUS_ACTIONS[action]
            entities.set_status(grant, account, status)
        else:
            return _render_company(account, membership, _("Choose an action."), 400)
    except EntityError as error:
        if error.code in FORBIDDEN or error.code == "beyond_own_scope":
            return _refused(message("form", error.code))
        return _render_company(account, membership, message("form", error.code), 409)
    return redirect(url_for("companies.company", entity_id=membership.entity.id, done=done), 303)
