"""The company pages: the overview, registration, a company, the scope forms, renewal, and
the pages that refuse.

Each page shows what the signed-in person may see: the legal representative and the
administrators see members, grants, the catalogue and the trail; a handler their own grant
only. Every page takes a status, so that a refused form is shown again with it.
"""

from __future__ import annotations

from typing import Any

from flask import render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from idp.identity import delegation, documents, levels
from idp.identity.delegation import GRADES
from idp.identity.entities import ENTITY_TYPES, REGISTRATION_LEVEL, Membership
from idp.models import Account, HandlerGrant
from idp.models.base import utcnow
from idp.views.account import shown_time
from idp.views.account.inbox import STATUS_LABELS
from idp.views.companies import presenters
from idp.views.companies.forms import (
    CompanyState,
    ScopeState,
    code_sent,
    date_shown,
    own_phone,
)
from idp.views.companies.presenters import MaskedPeople
from idp.views.labels import GRADE_LABELS, agreement_title, label
from idp.views.realname import FormState
from idp.views.web import error_page, services

Page = tuple[str, int]

SCOPE_FORMS = {
    # mode -> (title, the form's endpoint)
    "administrator": (lazy_gettext("Appoint an administrator"), "companies.appoint"),
    "grant": (lazy_gettext("Authorise a handler"), "companies.new_grant"),
    "edit": (lazy_gettext("Change an authorisation"), "companies.edit_grant"),
}


def refused(message_text: str, status: int = 403) -> Page:
    """A page inside the user space that says why something is not allowed."""
    return render_template(
        "company_refused.html", current="companies", message=message_text
    ), status


def not_found() -> Page:
    return error_page(404, _("Page not found"), _("There is no such company in your account."))


def below_registration_level() -> Page:
    return refused(
        _(
            "To register a company you must be its legal representative with your identity "
            "verified to level %(level)s (a second authority such as your bank confirmed it). "
            "Raise your level on the verification page first.",
            level=REGISTRATION_LEVEL,
        )
    )


def overview(account: Account, problem: str | None = None, status: int = 200) -> Page:
    """The companies the person belongs to and their own handler grants."""
    entities = services().entities
    now = utcnow()
    entries = presenters.catalogue()
    people = MaskedPeople()
    grants = [
        presenters.grant_view(grant, entries, people, now)
        for grant in entities.grants_of(account.id)
    ]
    return render_template(
        "company_list.html",
        current="companies",
        memberships=[presenters.membership_row(role) for role in entities.roles_of(account.id)],
        **presenters.overview_rows(grants),
        can_register=levels.at_least(account.verification_level, REGISTRATION_LEVEL),
        notice=presenters.done_notice(),
        problem=problem,
    ), status


def register(state: CompanyState) -> Page:
    links = [
        {"title": agreement_title(u.partition("#")[2], t), "url": u}
        for t, u in services().agreements.links("legal_person")
    ]
    return render_template(
        "company_register.html",
        current="companies",
        action_url=url_for("companies.register"),
        values=state.values,
        errors=state.errors,
        problem=state.problem,
        entity_types=[
            {"code": code, "label": label(presenters.ENTITY_TYPE_LABELS, code)}
            for code in ENTITY_TYPES
        ],
        agreements=links,
    ), state.status


def company(
    account: Account,
    membership: Membership,
    problem: str | None = None,
    status: int = 200,
    agreement_error: str | None = None,
) -> Page:
    """The company page, as this member may see it."""
    app_services = services()
    entities = app_services.entities
    entity = membership.entity
    now = utcnow()
    entries = presenters.catalogue()
    people = MaskedPeople()
    own_scope = membership.own_scope
    context: dict[str, Any] = {
        "entity": presenters.entity_view(entity),
        **presenters.my_role(membership),
        "manages": membership.manages,
        "legal_representative": membership.legal_representative,
        "own_scope": presenters.scope_view(own_scope, entries) if own_scope else None,
        "my_grants": [presenters.grant_view(g, entries, people, now) for g in membership.grants],
        "members": [],
        "grants": [],
        "catalogue": [],
        "trail": [],
        "agreement": None,
        "agreement_error": agreement_error,
        "can_appoint": False,
        "notice": presenters.done_notice(),
        "problem": problem,
    }
    if membership.manages:
        context["members"] = [
            presenters.member_row(role, account, people, entries)
            for role in entities.roles(entity.id)
        ]
        context["grants"] = [
            presenters.grant_view(g, entries, people, now, own_scope)
            for g in entities.grants(entity.id)
        ]
        context["catalogue"] = entries
        context["can_appoint"] = (
            membership.legal_representative
            and entity.active
            and entities.administrator_count(entity.id) < entities.max_administrators
        )
        context["trail"] = presenters.trail_rows(entities.trail(entity.id), people, entries)
        # What portals reported of the company's matters (docs/user-space.md, "Matters"): seen
        # by the legal representative and the administrators.
        context["company_matters"] = company_matters(entity.id, entries)
    if membership.legal_representative:
        context["agreement"] = presenters.agreement_view(
            app_services.agreements.pending(entity.id, "legal_person")
        )
    return render_template("company_page.html", current="companies", **context), status


def company_matters(entity_id: str, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    app_services = services()
    found = app_services.matters.of_entity(entity_id, limit=20)
    names = app_services.portals.names(matter.client_id for matter in found)
    classes = {entry["code"]: entry["name"] for entry in entries}
    return [
        {
            "reference": matter.portal_reference,
            "portal": names.get(matter.client_id, matter.client_id),
            "title": matter.title,
            "matter_class": classes.get(matter.matter_class, matter.matter_class),
            "status": matter.status,
            "status_label": str(STATUS_LABELS.get(matter.status, matter.status)),
            "submitted": shown_time(matter.submitted_at),
            "link": matter.link,
        }
        for matter in found
    ]


def scope_form(
    account: Account,
    membership: Membership,
    mode: str,
    state: ScopeState,
    grant: HandlerGrant | None = None,
) -> Page:
    """Appoint an administrator, authorise a handler, or change a grant (``mode``)."""
    entity = membership.entity
    entries = presenters.catalogue()
    title, endpoint = SCOPE_FORMS[mode]
    if grant is None:
        action_url = url_for(endpoint, entity_id=entity.id)
    else:
        action_url = url_for(endpoint, entity_id=entity.id, grant_id=grant.id)
    own = membership.own_scope
    if own is not None:
        # Only what the acting person may give is offered (the rules refuse the rest anyway).
        entries = [e for e in entries if delegation.matters_cover(own.matters, [e["code"]])]
    return render_template(
        "company_form.html",
        current="companies",
        mode=mode,
        title=str(title),
        action_url=action_url,
        company_url=url_for("companies.company", entity_id=entity.id),
        entity_name=entity.name,
        handler=presenters.masked_person(grant.account_id) if grant else None,
        own_scope=presenters.scope_view(own, entries) if own else None,
        grades=[{"code": code, "label": label(GRADE_LABELS, code)} for code in GRADES],
        catalogue=entries,
        values=state.values,
        ticked=state.matters,
        errors=state.errors,
        notice=state.notice,
        problem=state.problem,
        masked_phone=documents.mask_phone(own_phone(account) or ""),
        code_sent=code_sent(state),
    ), state.status


def confirm_grant_change(
    account: Account, membership: Membership, grant: HandlerGrant, change: str, state: FormState
) -> Page:
    """``change`` (``renew``: another period of validity; ``resume``: a suspended grant usable
    again) of a grant, confirmed by the person's SMS code."""
    entity_id = membership.entity.id
    until = services().entities.default_until() if change == "renew" else grant.valid_until
    return render_template(
        "company_grant_confirm.html",
        current="companies",
        change=change,
        action_url=url_for(f"companies.{change}", entity_id=entity_id, grant_id=grant.id),
        company_url=url_for("companies.company", entity_id=entity_id),
        entity_name=membership.entity.name,
        handler=presenters.masked_person(grant.account_id),
        until=date_shown(until),
        masked_phone=documents.mask_phone(own_phone(account) or ""),
        code_sent=code_sent(state),
        **state.context(),
    ), state.status
