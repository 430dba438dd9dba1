"""The second-factor step: after the password (or SMS code, or scan), a person with a second
factor gives it: a code from the authenticator app or a recovery code (a plain form), or a
passkey (the form enhanced by the provider's one script, ``idp.views.factor_pages``). A person
without one at a portal that requires it is told to enrol, with a link, and may return to the
portal (``unmet_authentication_requirements``)."""

from __future__ import annotations

from flask import render_template, request, url_for

from idp.oauth.steps import Retry, SecondFactorStep, StepContext
from idp.views.factor_pages import (
    MAX_CODE_LENGTH,
    MAX_CREDENTIAL_LENGTH,
    allow_script,
    options_block,
    refusal,
)
from idp.views.interaction.common import Answer, advance, expired
from idp.views.web import services


def _step() -> SecondFactorStep:
    step = services().steps.steps["second_factor"]
    assert isinstance(step, SecondFactorStep)
    return step


class SecondFactorPage:
    def render(self, ctx: StepContext, error: str | None = None, status: int = 200) -> Answer:
        if ctx.account is None:
            return expired()
        step = _step()
        kinds = step.enrolled(ctx)
        options = step.passkey_options(ctx) if "passkey" in kinds else None
        if options is not None:
            allow_script()
        return render_template(
            "second_factor.html",
            client_name=ctx.interaction.client_name,
            action_url=url_for("interaction.second_factor", interaction_id=ctx.interaction.id),
            enrol=not kinds,
            enrol_url=url_for("account.factors_page"),
            has_totp="totp" in kinds,
            passkey_options=options_block(options),
            error=error,
        ), status

    def submit(self, ctx: StepContext) -> Answer:
        form = request.form
        values = {
            "decision": form.get("decision"),
            "method": form.get("method"),
            "code": form.get("code", "")[:MAX_CODE_LENGTH],
            "credential": form.get("credential", "")[: MAX_CREDENTIAL_LENGTH + 1],
        }
        return advance(ctx, "second_factor", values, lambda retry: self._again(ctx, retry))

    def _again(self, ctx: StepContext, retry: Retry) -> Answer:
        failure = retry.problem
        if failure == "wrong" and request.form.get("method") == "passkey":
            failure = "passkey"
        status = 429 if failure == "throttled" else 400
        return self.render(ctx, refusal(retry.detail, failure), status)


PAGE = SecondFactorPage()
