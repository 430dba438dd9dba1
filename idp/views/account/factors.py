"""Second factors in the user space (issue 12, item 5; natural-person agreement clause 6: keep
the account safe): ``/account/security/...``.

- ``factors``: the person's TOTP apps and passkeys (rename, remove) and the recovery codes
  left (regenerate);
- ``totp``: enrol an authenticator app: the secret as an ``otpauth://`` QR code (SVG rendered
  here, ``segno``) and as text, confirmed with its first code;
- ``passkeys``: register a passkey (the WebAuthn ceremony, the pages' one script);
- ``recovery-codes``: ten new codes, shown once;
- ``confirm``: a session without the second factor (a login before it was enrolled, or the
  user space's own password login) gives it before any page of the user space or of the
  companies (:func:`require_second_factor`), so a password alone neither reads the person's
  data nor removes or replaces a factor.

Recovery codes are shown once, in the answer to the POST that created them (``no-store``).
"""

from __future__ import annotations

from typing import Any

import segno
from flask import redirect, render_template, request, url_for
from flask_babel import gettext as _
from markupsafe import Markup
from werkzeug.wrappers import Response

from idp.identity.factors import Check, FactorError
from idp.models import Account
from idp.views import cookies
from idp.views.account import bp, current_account, gate, safe_next, shown_time, to_login
from idp.views.factor_pages import (
    MAX_CODE_LENGTH,
    MAX_CREDENTIAL_LENGTH,
    MAX_NAME_LENGTH,
    allow_script,
    options_block,
    refusal,
)
from idp.views.web import services

Answer = Response | tuple[str, int]
MAX_FACTOR_ID_LENGTH = 36


def _session_id() -> str:
    return request.cookies.get(cookies.SESSION) or ""


def _binding() -> str:
    """What a passkey challenge of the user space is bound to: the browser's SSO session."""
    return f"account:{_session_id()}"


def _proved(account: Account) -> bool:
    """The session has seen the second factor, or the person has none."""
    app_services = services()
    if not app_services.factors.enrolled(account):
        return True
    session, _account = app_services.sso.current(_session_id())
    return session is not None and app_services.factors.satisfied(session.amr)


# Ways in and out, and the page where the factor is given, stay open.
OPEN_ENDPOINTS = gate.OPEN_ENDPOINTS | {"account.factor_confirm_page", "account.factor_confirm"}


def require_second_factor() -> Response | None:
    """``before_request`` of the user-space blueprints (after the agreement gate): a person who
    has a second factor gives it before any page of the user space, whichever login began the
    session (``/account/login`` asks for the password only)."""
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    account = current_account()
    if account is None or _proved(account):
        return None
    query = request.query_string.decode("latin-1")
    target = request.path + (f"?{query}" if query and request.method == "GET" else "")
    if request.method != "GET":
        target = url_for("account.overview")
    return redirect(url_for("account.factor_confirm_page", next=target), 303)


bp.before_request(require_second_factor)


def _guarded(view: Any) -> Any:
    """A page for the signed-in person whose session has proved the second factor."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        account = current_account()
        if account is None:
            return to_login(None if request.method == "GET" else url_for("account.factors_page"))
        if not _proved(account):
            target = (
                request.full_path if request.method == "GET" else url_for("account.factors_page")
            )
            return redirect(url_for("account.factor_confirm_page", next=target.rstrip("?")), 303)
        return view(account, *args, **kwargs)

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


def _too_many() -> str:
    return _("You have set up the most second factors allowed. Remove one first.")


def _label(account: Account) -> str:
    return account.username or account.id[:8]


def _raise_session(methods: list[str]) -> None:
    """The factor just used in this session raises its ``amr`` (and ``mfa``)."""
    services().sso.add_methods(_session_id(), [*methods, "mfa"])


def summary(account: Account) -> dict[str, Any]:
    """What the security pages show about the person's second factors."""
    factors = services().factors
    views = factors.factors(account.id)
    return {
        "factors": [
            {
                "id": view.id,
                "kind": view.kind,
                "name": view.name,
                "created_at": shown_time(view.created_at),
                "last_used_at": shown_time(view.last_used_at) if view.last_used_at else None,
            }
            for view in views
        ],
        "recovery_codes_left": factors.recovery_codes_left(account.id),
        "enrolled": bool(views),
    }


@bp.app_context_processor
def _security_factors() -> dict[str, Any]:
    """``second_factor_summary()`` for ``partials/security_factors.html``, wherever it is
    included (the security overview of the user space)."""

    def second_factor_summary() -> dict[str, Any] | None:
        account = current_account()
        return summary(account) if account is not None else None

    return {"second_factor_summary": second_factor_summary}


# -- the list --------------------------------------------------------------------------------


def _render_list(account: Account, notice: str | None = None, status: int = 200) -> Answer:
    return render_template(
        "account_factors.html", current="factors", notice=notice, **summary(account)
    ), status


NOTICES = {
    "totp": lambda: _("The authenticator app is set up."),
    "passkey": lambda: _("The passkey is registered."),
    "renamed": lambda: _("The name was changed."),
    "removed": lambda: _("The second factor was removed."),
    "confirmed": lambda: _("Two-step verification confirmed."),
}


@bp.get("/security/factors")
@_guarded
def factors_page(account: Account) -> Answer:
    notice = NOTICES.get(request.args.get("done", ""))
    return _render_list(account, notice() if notice else None)


@bp.post("/security/factors/<factor_id>/rename")
@_guarded
def factor_rename(account: Account, factor_id: str) -> Answer:
    name = request.form.get("name", "")[:MAX_NAME_LENGTH]
    if not services().factors.rename(
        account.id, factor_id[:MAX_FACTOR_ID_LENGTH], name, ip=request.remote_addr
    ):
        return _render_list(account, _("That second factor was not found."), 404)
    return redirect(url_for("account.factors_page", done="renamed"), 303)


@bp.post("/security/factors/<factor_id>/remove")
@_guarded
def factor_remove(account: Account, factor_id: str) -> Answer:
    if not services().factors.remove(
        account.id, factor_id[:MAX_FACTOR_ID_LENGTH], ip=request.remote_addr
    ):
        return _render_list(account, _("That second factor was not found."), 404)
    return redirect(url_for("account.factors_page", done="removed"), 303)


# -- TOTP ------------------------------------------------------------------------------------


def _qr(uri: str) -> Markup:
    code = segno.make(uri, error="m")
    return Markup(
        code.svg_inline(scale=4, svgclass="qr-code", title=_("QR code for the authenticator app"))
    )


def _render_totp(account: Account, error: str | None = None, status: int = 200) -> Answer:
    try:
        enrolment = services().factors.begin_totp(account, _label(account))
    except FactorError:
        return _render_list(account, _too_many(), 409)
    return render_template(
        "account_totp.html",
        current="factors",
        factor_id=enrolment.factor_id,
        secret_grouped=enrolment.grouped,
        otpauth_uri=enrolment.uri,
        qr_code=_qr(enrolment.uri),
        action_url=url_for("account.totp"),
        error=error,
    ), status


@bp.get("/security/totp")
@_guarded
def totp_page(account: Account) -> Answer:
    return _render_totp(account)


@bp.post("/security/totp")
@_guarded
def totp(account: Account) -> Answer:
    check = services().factors.confirm_totp(
        account,
        request.form.get("factor_id", "")[:MAX_FACTOR_ID_LENGTH],
        request.form.get("code", "")[:MAX_CODE_LENGTH],
        request.form.get("name", "")[:MAX_NAME_LENGTH].strip() or _("Authenticator app"),
        ip=request.remote_addr,
    )
    if not check.ok:
        return _render_totp(account, refusal(check), 429 if check.failure == "throttled" else 400)
    return _enrolled(check, "totp")


def _enrolled(check: Check, done: str) -> Answer:
    _raise_session(check.amr)
    if check.recovery_codes:
        return _render_codes(check.recovery_codes, first=True)
    return redirect(url_for("account.factors_page", done=done), 303)


# -- passkeys --------------------------------------------------------------------------------


def _render_passkeys(account: Account, error: str | None = None, status: int = 200) -> Answer:
    try:
        options = services().factors.registration_options(account, _binding(), _label(account))
    except FactorError:
        return _render_list(account, _too_many(), 409)
    allow_script()
    return render_template(
        "account_passkeys.html",
        current="factors",
        options=options_block(options),
        action_url=url_for("account.passkeys"),
        passkeys=[f for f in summary(account)["factors"] if f["kind"] == "passkey"],
        error=error,
    ), status


@bp.get("/security/passkeys")
@_guarded
def passkeys_page(account: Account) -> Answer:
    return _render_passkeys(account)


@bp.post("/security/passkeys")
@_guarded
def passkeys(account: Account) -> Answer:
    check = services().factors.register_passkey(
        account,
        _binding(),
        request.form.get("credential", "")[: MAX_CREDENTIAL_LENGTH + 1],
        request.form.get("name", "")[:MAX_NAME_LENGTH].strip() or _("Passkey"),
        ip=request.remote_addr,
    )
    if not check.ok:
        failure = "passkey" if check.failure == "wrong" else check.failure
        return _render_passkeys(account, refusal(check, failure), 400)
    return _enrolled(check, "passkey")


# -- recovery codes --------------------------------------------------------------------------


def _render_codes(codes: list[str], *, first: bool = False) -> tuple[str, int]:
    return render_template(
        "account_recovery_codes.html", current="factors", codes=codes, first=first
    ), 200


@bp.get("/security/recovery-codes")
@_guarded
def recovery_codes_page(account: Account) -> Answer:
    return render_template(
        "account_recovery_codes.html",
        current="factors",
        codes=None,
        left=services().factors.recovery_codes_left(account.id),
        enrolled=services().factors.has_any(account.id),
    ), 200


@bp.post("/security/recovery-codes")
@_guarded
def recovery_codes(account: Account) -> Answer:
    try:
        codes = services().factors.regenerate_recovery_codes(account.id, ip=request.remote_addr)
    except FactorError:
        return _render_list(account, _("Set up a second factor first."), 409)
    return _render_codes(codes)


# -- giving the second factor in the user space ---------------------------------------------


def _render_confirm(account: Account, error: str | None = None, status: int = 200) -> Answer:
    factors = services().factors
    kinds = factors.kinds(account.id)
    options = factors.authentication_options(account.id, _binding()) if "passkey" in kinds else None
    if options is not None:
        allow_script()
    return render_template(
        "account_factor_confirm.html",
        current="factors",
        action_url=url_for("account.factor_confirm", next=safe_next(request.args.get("next"))),
        has_totp="totp" in kinds,
        passkey_options=options_block(options),
        error=error,
    ), status


@bp.get("/security/confirm")
def factor_confirm_page() -> Answer:
    account = current_account()
    if account is None:
        return to_login()
    if _proved(account):
        return redirect(safe_next(request.args.get("next")), 303)
    return _render_confirm(account)


@bp.post("/security/confirm")
def factor_confirm() -> Answer:
    account = current_account()
    if account is None:
        return to_login(url_for("account.factors_page"))
    factors = services().factors
    if request.form.get("method") == "passkey":
        credential = request.form.get("credential", "")[: MAX_CREDENTIAL_LENGTH + 1]
        check = factors.verify_passkey(account.id, _binding(), credential)
        failure = "passkey" if check.failure == "wrong" else check.failure
    else:
        check = factors.verify_code(account.id, request.form.get("code", "")[:MAX_CODE_LENGTH])
        failure = check.failure
    if not check.ok:
        return _render_confirm(
            account, refusal(check, failure), 429 if failure == "throttled" else 400
        )
    _raise_session(check.amr)
    services().audit(
        "second_factor_passed",
        actor=account.id,
        account_id=account.id,
        ip_address=request.remote_addr,
        details={"method": check.method, "where": "account"},
    )
    return redirect(safe_next(request.args.get("next")), 303)
