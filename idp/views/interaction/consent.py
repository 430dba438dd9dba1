"""The consent step: what the portal asks to release; each sensitive claim needs its own
tick (PIPL article 29). In a company login (the ``choose`` step picked a company) the page also
names the company, the person's role and the delegation the portal receives (``entity``,
``act``, ``delegation``; PIPL article 17: the person is told what goes out)."""

from __future__ import annotations

from typing import Any

from flask import render_template, request, url_for
from flask_babel import gettext as _

from idp.oauth.claims import COMPANY_CLAIMS
from idp.oauth.steps import Retry, StepContext
from idp.views.account import shown_time
from idp.views.companies.presenters import catalogue, matter_names
from idp.views.interaction.common import Answer, advance
from idp.views.labels import GRADE_LABELS, ROLE_LABELS, SCOPE_DESCRIPTIONS, describe_claim, label
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
        ), 200

    def submit(self, ctx: StepContext) -> Answer:
        values = {
            "decision": request.form.get("decision"),
            "sensitive_claims": request.form.getlist("sensitive_claims"),
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
