"""The choose step (scope ``entity``): act as oneself, or for a company where a confirmed
handler grant (or a role) covers the portal's matters."""

from __future__ import annotations

from flask import render_template, request, url_for
from flask_babel import gettext as _

from idp.oauth.steps import Retry, StepContext
from idp.views.interaction.common import Answer, advance, expired
from idp.views.labels import GRADE_LABELS, OPTION_REASONS, ROLE_LABELS
from idp.views.web import services


class ChoosePage:
    def render(self, ctx: StepContext, error: str | None = None) -> Answer:
        if ctx.account is None:
            return expired()
        options = []
        for option in services().flow.acting_options(ctx.request, ctx.account):
            delegation = option.delegation
            scope = delegation.scope if delegation else None
            options.append(
                {
                    "id": option.entity.id,
                    "name": option.entity.name,
                    "uscc": option.entity.uscc,
                    "usable": delegation is not None,
                    "role": str(ROLE_LABELS.get(delegation.role, "")) if delegation else "",
                    "grade": str(GRADE_LABELS.get(scope.grade, "")) if scope else "",
                    "reason": str(OPTION_REASONS.get(option.reason or "", "")),
                }
            )
        interaction = ctx.interaction
        return render_template(
            "choose.html",
            client_name=interaction.client_name,
            action_url=url_for("interaction.choose", interaction_id=interaction.id),
            cancel_url=url_for("interaction.abort", interaction_id=interaction.id),
            options=options,
            error=error,
        ), 400 if error else 200

    def submit(self, ctx: StepContext) -> Answer:
        def again(_retry: Retry) -> Answer:
            return self.render(ctx, _("Choose yourself or one of the companies offered."))

        return advance(ctx, "choose", {"acting_as": request.form.get("acting_as", "")}, again)


PAGE = ChoosePage()
