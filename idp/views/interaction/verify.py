"""The verify step (step-up): verifying identity further to reach the portal's level; giving
up tells the portal ``unmet_authentication_requirements``."""

from __future__ import annotations

from flask import render_template, request, url_for

from idp.oauth.steps import Retry, StepContext
from idp.views import realname
from idp.views.interaction.common import Answer, advance, expired
from idp.views.labels import level_label
from idp.views.web import services


class VerifyPage:
    def render(self, ctx: StepContext, state: realname.FormState | None = None) -> Answer:
        account = ctx.account
        if account is None:
            return expired()
        state = state or realname.FormState()
        target = services().flow.required_level(ctx.request)
        url = url_for("interaction.verify", interaction_id=ctx.interaction.id)
        return render_template(
            "verify.html",
            client_name=ctx.interaction.client_name,
            action_url=url,
            cancel_url=url,
            current_level=level_label(account.verification_level),
            required_level=level_label(target) if target else None,
            options=realname.verification_options(account, target),
            **state.context(),
        ), state.status

    def submit(self, ctx: StepContext) -> Answer:
        if request.form.get("decision") == "deny" or ctx.account is None:
            return advance(ctx, "verify", {"decision": request.form.get("decision")}, self._again)
        steps = services().steps
        with steps.exclusive(ctx) as holding:
            if not holding:
                return expired()  # the same form, submitted twice at once: one of them counts
            target = services().flow.required_level(ctx.request)
            checked, state = realname.verify(ctx.account, target)
            values = {"level": checked.level_after if checked is not None else None}
            return advance(ctx, "verify", values, lambda _retry: self.render(ctx, state))

    def _again(self, _retry: Retry) -> Answer:
        return expired()


PAGE = VerifyPage()
