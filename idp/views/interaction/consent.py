"""The consent step: what the portal asks to release; each sensitive claim needs its own
tick (PIPL article 29). In a company login (the ``choose`` step picked a company) the page also
names the company, the person's role and the delegation the portal receives (``entity``,
``act``, ``delegation``; PIPL article 17: the person is told what goes out)."""

from __future__ import annotations

from typing import Any

from flask import render_template, request, url_for
from flask_babel import gettext as _

from idp.oauth.authorization_details import describe as describe_details
from idp.oauth.claims import COMPANY_CLAIMS, MATERIALS_SCOPE
from idp.oauth.errors import OAuth2Error
from idp.oauth.flow import granted_details
from idp.oauth.steps import Retry, StepContext
from idp.views.account import shown_time
from idp.views.companies.presenters import catalogue, matter_names
from idp.views.interaction.common import Answer, advance
from idp.views.labels import (
    GRADE_LABELS,
    ROLE_LABELS,
    SCOPE_DESCRIPTIONS,
    describe_claim,
    label,
    material_type_name,
)
from idp.views.web import error_page, services


def acting_for(ctx: StepContext) -> dict[str, Any] | None:
    """The company chosen in this login with the delegation the portal will receive, in the
    person's words; None when the person acts as themselves."""
    acting_as = ctx.interaction.progress.acting_as
    if acting_as in (None, "self") or ctx.account is None:
        return None
    option = next(
        (
            option
            for option in services().flow.acting_options(ctx.request, ctx.account)
            if option.entity.id == acting_as and option.delegation is not None
        ),
        None,
    )
    if option is None or option.delegation is None:
        return None
    delegation, entity = option.delegation, option.entity
    return {
        "id": entity.id,
        "name": entity.name,
        "uscc": entity.uscc,
        "role": delegation.role,
        "role_label": label(ROLE_LABELS, delegation.role),
        "grade": delegation.scope.grade,
        "grade_label": label(GRADE_LABELS, delegation.scope.grade),
        "matters": matter_names(catalogue(), list(delegation.scope.matters)),
        "regions": list(delegation.scope.regions),
        "expires_at": shown_time(delegation.expires_at) if delegation.expires_at else None,
        "claims": [{"name": name, "description": describe_claim(name)} for name in COMPANY_CLAIMS],
    }


def authorization_details_shown(ctx: StepContext) -> list[dict[str, Any]] | None:
    """RFC 9396: each ``gov_matter`` detail the portal asked for, in the person's words (the
    matter's name from the catalogue, the region, the company), as it will be granted: narrowed
    to the handler's grant in a company login. None when the portal asked for none."""
    if not ctx.request.authorization_details:
        return None
    option = None
    acting_as = ctx.interaction.progress.acting_as
    if acting_as not in (None, "self") and ctx.account is not None:
        option = next(
            (
                o
                for o in services().flow.acting_options(ctx.request, ctx.account)
                if o.entity.id == acting_as and o.delegation is not None
            ),
            None,
        )
    try:
        details = granted_details(ctx.request, option)
    except OAuth2Error:
        details = ctx.request.authorization_details
    names = {entry["code"]: entry["name"] for entry in catalogue()}
    company = option.entity if option is not None else None
    return [
        {
            **detail,
            "company_name": company.name
            if company is not None and detail["acting_for"] == company.uscc
            else None,
            "action_labels": [label(GRADE_LABELS, action) for action in detail["actions"]],
        }
        for detail in describe_details(details, names.get)
    ]


def materials_offered(ctx: StepContext) -> list[dict[str, Any]] | None:
    """Scope ``materials``: the person's materials, each with its checkbox (none ticked is
    fine); None when the portal did not ask."""
    if MATERIALS_SCOPE not in ctx.request.scopes or ctx.account is None:
        return None
    return [
        {
            "id": material.id,
            "title": material.title,
            "type_name": material_type_name(material.type_code),
            "expires_on": material.expires_on.isoformat() if material.expires_on else None,
            "expired": material.expired,
        }
        for material in services().materials.of_account(ctx.account.id)
    ]


class ConsentPage:
    def render(self, ctx: StepContext) -> Answer:
        claim_request = services().flow.claim_request(ctx.request)
        scopes = [
            {"name": scope, "description": str(SCOPE_DESCRIPTIONS[scope])}
            for scope in ctx.request.scopes
            if scope in SCOPE_DESCRIPTIONS
        ]
        return render_template(
            "consent.html",
            client_name=ctx.interaction.client_name,
            action_url=url_for("interaction.consent", interaction_id=ctx.interaction.id),
            scopes=scopes,
            claims=[
                {"name": name, "description": describe_claim(name)}
                for name in claim_request.ordinary
            ],
            sensitive_claims=[
                {"name": name, "description": describe_claim(name)}
                for name in claim_request.sensitive
            ],
            company=acting_for(ctx),
            materials=materials_offered(ctx),
            authorization_details=authorization_details_shown(ctx),
        ), 200

    def submit(self, ctx: StepContext) -> Answer:
        values = {
            "decision": request.form.get("decision"),
            "sensitive_claims": request.form.getlist("sensitive_claims"),
            "materials": request.form.getlist("materials"),
        }

        def again(_retry: Retry) -> Answer:
            return error_page(
                400,
                _("Something is wrong with the request"),
                _("The portal sent an invalid request."),
                "invalid_request",
            )

        return advance(ctx, "consent", values, again)


PAGE = ConsentPage()
