"""The consent step: what the portal asks to release; each sensitive claim needs its own
tick (PIPL article 29)."""

from __future__ import annotations

from flask import render_template, request, url_for
from flask_babel import gettext as _

from idp.oauth.steps import Retry, StepContext
from idp.views.interaction.common import Answer, advance
from idp.views.labels import SCOPE_DESCRIPTIONS, describe_claim
from idp.views.web import error_page, services


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
