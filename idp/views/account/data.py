"""Changes to the account: further verification, a new phone number and a corrected identity
(natural-person agreement clause 4(3): keep real-name data current), and cancellation (clause 8;
PIPL article 47)."""

from __future__ import annotations

from typing import Any

from flask import redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from idp.identity import documents
from idp.identity.people import Application
from idp.models import Account
from idp.views import cookies, realname
from idp.views.account import bp, current_account, shown_time, signed_in, to_login
from idp.views.labels import CHECK_LABELS, ID_TYPE_LABELS, RESULT_LABELS, level_label
from idp.views.password_login import MAX_PASSWORD_LENGTH, MAX_PHONE_LENGTH, confirm_own_password
from idp.views.web import services


def _render_cancel(error: str | None = None, status: int = 200) -> tuple[str, int]:
    return render_template("account_cancel.html", current="cancel", error=error), status


@bp.get("/cancel")
def cancel_page() -> Response | tuple[str, int]:
    if current_account() is None:
        return to_login()
    return _render_cancel()


@bp.post("/cancel")
def cancel() -> Response | tuple[str, int]:
    """Natural-person agreement clause 8: the person cancels, with the password re-entered
    (counted in the login throttle) and an explicit confirmation. Sessions end, tokens are
    revoked, portals are told, personal data is erased (``AccountLifecycle.cancel``)."""
    account = current_account()
    if account is None:
        return to_login(url_for("account.cancel_page"))
    if request.form.get("confirm_cancel") != "yes":
        return _render_cancel(_("Tick the box to confirm that you want to cancel."), 400)
    cancellation = services().accounts.cancel_with_password(
        account, request.form.get("password", "")[:MAX_PASSWORD_LENGTH], request.remote_addr
    )
    if cancellation.represents_company:
        return _render_cancel(
            _(
                "You are the legal representative of a company registered here. Cancel the "
                "company's account first, or have the new legal representative take it over."
            ),
            409,
        )
    result = cancellation.login
    if result is not None:
        if result.failure == "throttled":
            message = _(
                "Too many failed attempts. Try again in %(seconds)s seconds.",
                seconds=result.wait_seconds,
            )
            return _render_cancel(message, 429)
        if result.failure == "locked":
            message = _(
                "This account is locked after too many failed attempts. Contact the service desk."
            )
            return _render_cancel(message, 403)
        return _render_cancel(_("The password is not correct. Nothing was changed."), 401)
    response = redirect(url_for("account.cancelled"), 303)
    cookies.clear_session(response, services().config)
    return response


@bp.get("/cancelled")
def cancelled() -> str:
    return render_template(
        "logged_out.html",
        title=_("Account cancelled"),
        message=_("Your account has been cancelled and your personal data erased."),
    )


def _render_verification(account: Account, state: realname.FormState | None = None) -> Any:
    state = state or realname.FormState()
    evidence = [
        {
            "check": str(CHECK_LABELS.get(row.check, row.check)),
            "result": str(RESULT_LABELS.get(row.result, row.result)),
            "result_code": row.result,
            "level": row.level_after,
            "time": shown_time(row.created_at),
            "card_last4": row.detail.get("bank_card_last4"),
        }
        for row in services().people.evidence(account.id)
    ]
    return render_template(
        "account_verification.html",
        current="verification",
        verification_level=level_label(account.verification_level),
        level_code=account.verification_level,
        options=realname.verification_options(account, None),
        action_url=url_for("account.verification"),
        evidence=evidence,
        **state.context(),
    ), state.status


@bp.get("/verification")
@signed_in
def verification_page(account: Account) -> Any:
    return _render_verification(account)


@bp.post("/verification")
@signed_in
def verification(account: Account) -> Any:
    _checked, state = realname.verify(account, None)
    return _render_verification(account, state)


def _confirm_password(account: Account, state: realname.FormState) -> bool:
    """The password re-entered before a change (counted in the login throttle)."""
    result = confirm_own_password(account)
    if result.account is not None:
        return True
    if result.failure == "throttled":
        state.problem = _(
            "Too many failed attempts. Try again in %(seconds)s seconds.",
            seconds=result.wait_seconds,
        )
        state.status = 429
    else:
        state.errors["password"] = _("The password is not correct. Nothing was changed.")
        state.status = 401
    return False


def _render_phone(account: Account, state: realname.FormState | None = None) -> Any:
    state = state or realname.FormState()
    return render_template(
        "account_phone.html",
        current="overview",
        masked_phone=services().people.profile(account).masked["phone"] or "",
        action_url=url_for("account.phone"),
        **state.context(),
    ), state.status


@bp.get("/phone")
@signed_in
def phone_page(account: Account) -> Any:
    return _render_phone(account)


@bp.post("/phone")
@signed_in
def phone(account: Account) -> Any:
    """A new phone number: an SMS code sent to it proves it, and the password is re-entered."""
    state = realname.FormState(values={"phone": request.form.get("phone", "")[:MAX_PHONE_LENGTH]})
    if request.form.get("action") == "send_code":
        realname.send_code(state.values["phone"], "change_phone", state)
        return _render_phone(account, state)
    new_phone = documents.normalize_phone(state.values["phone"])
    if new_phone is None:
        state.fail("phone", "format")
        return _render_phone(account, state)
    if not _confirm_password(account, state):
        return _render_phone(account, state)
    if not realname.check_code(new_phone, "change_phone", state):
        return _render_phone(account, state)
    problem = services().keeping_current.change_phone(account, new_phone)
    if problem:
        state.fail("phone", problem, 409)
        return _render_phone(account, state)
    return redirect(url_for("account.overview"), 303)


def _render_identity(account: Account, state: realname.FormState | None = None) -> Any:
    state = state or realname.FormState()
    state.values = state.values or {"id_type": account.id_type or "resident_id"}
    return render_template(
        "account_identity.html",
        current="overview",
        action_url=url_for("account.identity"),
        id_types=[
            {"code": code, "label": str(ID_TYPE_LABELS.get(code, code))}
            for code in documents.ID_TYPES
        ],
        **state.context(),
    ), state.status


@bp.get("/identity")
@signed_in
def identity_page(account: Account) -> Any:
    return _render_identity(account)


@bp.post("/identity")
@signed_in
def identity(account: Account) -> Any:
    """A corrected name or ID number (clause 4(3)): the level drops to L1 and the population
    registry is asked again; a mismatch changes nothing."""
    state = realname.FormState(values=realname.kept_values(request.form))
    application = Application.from_form(request.form)
    errors = application.validate(today=documents.local_today(services().config.local_zone))
    for name in ("name", "id_type", "id_number"):
        if name in errors:
            state.fail(name, errors[name])
    if state.errors or not _confirm_password(account, state):
        return _render_identity(account, state)
    corrected = services().keeping_current.correct_identity(account, application)
    if corrected.account is None:
        for name, code in corrected.errors.items():
            state.fail(name, code, 409 if code == "taken" else 400)
        return _render_identity(account, state)
    return redirect(url_for("account.verification_page"), 303)
