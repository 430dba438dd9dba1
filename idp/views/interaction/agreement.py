"""The agreement step: registration agreement acceptance as part of login (a material
version), or notice of a supplementary one; declining ends the login."""

from __future__ import annotations

from flask import render_template, request, url_for
from flask_babel import gettext as _

from idp.oauth.steps import Retry, StepContext
from idp.views.interaction.common import Answer, advance, expired
from idp.views.labels import agreement_title
from idp.views.web import services


class AgreementPage:
    def render(self, ctx: StepContext, error: str | None = None) -> Answer:
        account = ctx.account
        requirement = (
            services().agreements.pending(account.id, account.user_type) if account else None
        )
        if requirement is None:
            return expired()
        return render_template(
            "agreement.html",
            client_name=ctx.interaction.client_name,
            action_url=url_for("interaction.agreement", interaction_id=ctx.interaction.id),
            title=agreement_title(requirement.kind, requirement.title),
            version=requirement.version,
            mode=requirement.mode,
            accepted_version=requirement.accepted_version,
            changes=requirement.changes,
            error=error,
        ), 400 if error else 200

    def submit(self, ctx: StepContext) -> Answer:
        values = {
            "decision": request.form.get("decision"),
            "version_id": request.form.get("version_id", ""),
            "accepted": request.form.get("accept_agreement") == "yes",
        }

        def again(_retry: Retry) -> Answer:
            return self.render(
                ctx, _("Tick the box to confirm that you have read and accept the agreement.")
            )

        return advance(ctx, "agreement", values, again)


PAGE = AgreementPage()
