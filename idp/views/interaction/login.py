"""The login step's pages: password, phone number and SMS code, and registration (a person
without an account registers and the same authorization request goes on)."""

from __future__ import annotations

from flask import flash, g, render_template, request, url_for

from idp.oauth.steps import Continuation, Retry, StepContext
from idp.views import realname
from idp.views.interaction.common import Answer, advance, continue_to
from idp.views.password_login import (
    MAX_PHONE_LENGTH,
    MAX_USERNAME_LENGTH,
    code_sent,
    empty_fields,
    failure_message,
    invalid_phone,
    login_phone,
    password_fields,
    start_session_for,
)
from idp.views.web import services


def _render(
    ctx: StepContext, username: str = "", error: str | None = None, status: int = 200
) -> tuple[str, int]:
    interaction = ctx.interaction
    # The QR code is framed in this page (idp.views.interaction.scan.frame).
    g.frame_src_self = True
    return (
        render_template(
            "login.html",
            client_name=interaction.client_name,
            action_url=url_for("interaction.login", interaction_id=interaction.id),
            cancel_url=url_for("interaction.abort", interaction_id=interaction.id),
            register_url=url_for("interaction.register_page", interaction_id=interaction.id),
            sms_url=url_for("interaction.sms_login_page", interaction_id=interaction.id),
            scan_url=url_for("interaction.scan_login", interaction_id=interaction.id),
            scan_frame_url=url_for("interaction.scan_frame", interaction_id=interaction.id),
            recover_url=url_for("account.recover_page"),
            username=username,
            error=error,
        ),
        status,
    )


class LoginPage:
    def render(self, ctx: StepContext) -> Answer:
        return _render(ctx, username=ctx.request.login_hint or "")

    def submit(self, ctx: StepContext) -> Answer:
        typed = request.form.get("username", "")[:MAX_USERNAME_LENGTH]
        fields = password_fields()
        if fields is None:
            message, status = empty_fields()
            return _render(ctx, typed, message, status)
        username, password = fields

        def again(retry: Retry) -> Answer:
            message, status = failure_message(retry.detail)
            return _render(ctx, typed, message, status)

        values = {"method": "password", "username": username, "password": password}
        return advance(ctx, "login", values, again)


PAGE = LoginPage()


# -- by phone number and SMS code ------------------------------------------------------------


def render_sms(
    ctx: StepContext,
    phone: str = "",
    error: str | None = None,
    notice: str | None = None,
    status: int = 200,
    error_field: str = "phone",
) -> tuple[str, int]:
    interaction = ctx.interaction
    return render_template(
        "login_sms.html",
        error_field=error_field,
        client_name=interaction.client_name,
        action_url=url_for("interaction.sms_login", interaction_id=interaction.id),
        password_url=url_for("interaction.show", interaction_id=interaction.id),
        phone=phone,
        error=error,
        notice=notice,
    ), status


def submit_sms(ctx: StepContext) -> Answer:
    """``phone``, ``sms_code``; button ``action`` = ``send_code`` | ``login``. Unknown numbers
    get the same answers and the same limits as known ones."""
    typed = request.form.get("phone", "")[:MAX_PHONE_LENGTH]
    phone = login_phone()
    if phone is None:
        message, status = invalid_phone()
        return render_sms(ctx, typed, message, None, status)
    if request.form.get("action") == "send_code":
        sent = services().sign_in.send_login_code(phone, request.remote_addr or "")
        error, notice, status = code_sent(phone, sent)
        return render_sms(ctx, typed, error, notice, status)

    def again(retry: Retry) -> Answer:
        message, status = failure_message(retry.detail)
        return render_sms(ctx, typed, message, None, status, error_field="sms_code")

    code = (request.form.get("sms_code") or "").strip()
    return advance(ctx, "login", {"method": "sms", "phone": phone, "code": code}, again)


# -- registration inside login ---------------------------------------------------------------


def render_register(ctx: StepContext, state: realname.FormState | None = None) -> tuple[str, int]:
    state = state or realname.FormState()
    interaction = ctx.interaction
    return render_template(
        "register.html",
        client_name=interaction.client_name,
        action_url=url_for("interaction.register", interaction_id=interaction.id),
        login_url=url_for("interaction.show", interaction_id=interaction.id),
        **realname.registration_context(state),
    ), state.status


def submit_register(ctx: StepContext) -> Answer:
    """Real-name registration; on success the person is logged in and the same authorization
    request goes on (same portal, same state)."""
    outcome = realname.register(client_id=ctx.client_id)
    if outcome.account is None:
        return render_register(ctx, outcome.state)
    if outcome.state.notice:
        # Told on the next page of ours: the consent page, or any later visit (base.html).
        flash(outcome.state.notice)
    values = {"method": "registered", "account": outcome.account}
    continuation = services().steps.submit(ctx, "login", values)
    if continuation.next is None:
        # The login request expired (or was finished elsewhere) while the person registered:
        # the account exists, so they are logged in here all the same, and are told to start
        # again from the portal.
        session_id = start_session_for(
            outcome.account, ["sms"], client_id=ctx.client_id, via="registration"
        )
        continuation = Continuation(None, session_id)
    return continue_to(continuation)
