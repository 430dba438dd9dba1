"""Who may use the administration console and the admin API, and what they may change.

- **Console** (``console_required``): the ``idp_admin`` cookie names a console session in Redis
  (``idp.store.console``) that finished the second factor; the account must still be an active
  administrator with an unchanged ``security_stamp``. It is never the SSO session: being logged
  in at ``/account`` or at a portal gives no console access, and the console cookie (path
  ``/admin``, ``SameSite=Strict``) is never sent to the rest of the provider.
- **Admin API** (``api_required``): ``Authorization: Bearer <admin API token>`` (RFC 6750
  section 2.1); errors as RFC 9457 problem details, with ``WWW-Authenticate`` (RFC 6750 section
  3.1) on 401 and 403.
- **Roles**: an ``auditor`` reads everything; any view declared ``write=True`` answers it 403.

Both set ``flask.g.admin`` (the ``Administrator``) and ``g.admin_account`` (its ``Account``) and
mark every answer ``Cache-Control: no-store`` (the pages hold personal data, masked or not).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import (
    Response,
    g,
    make_response,
    redirect,
    request,
    url_for,
)
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from idp.config import Config
from idp.identity.admins import WRITE_ROLES
from idp.models import Administrator
from idp.store.console import ConsoleSession
from idp.views.web import error_page, problem, services

COOKIE = "idp_admin"
COOKIE_PATH = "/admin"
MAX_NEXT_LENGTH = 512
REALM = "idp-admin"

View = Callable[..., Any]
# Any answer: Flask's responses and redirect()'s (werkzeug's base class).
AnyResponse = TypeVar("AnyResponse", bound=BaseResponse)


# -- the console cookie ----------------------------------------------------------------------


def set_cookie(response: BaseResponse, session_id: str, config: Config) -> None:
    """Session cookie (no Max-Age: gone with the browser); Redis enforces the lifetimes."""
    response.set_cookie(
        COOKIE,
        session_id,
        httponly=True,
        samesite="Strict",
        secure=config.secure_cookies,
        path=COOKIE_PATH,
    )


def clear_cookie(response: BaseResponse, config: Config) -> None:
    response.delete_cookie(
        COOKIE, path=COOKIE_PATH, secure=config.secure_cookies, httponly=True, samesite="Strict"
    )


def no_store(response: AnyResponse) -> AnyResponse:
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


def safe_next(value: str | None) -> str | None:
    """A local console path to return to after the login, or None (no open redirect)."""
    if not value or len(value) > MAX_NEXT_LENGTH or not value.isprintable() or "\\" in value:
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or ".." in parts.path:
        return None
    if parts.path != "/admin" and not parts.path.startswith("/admin/"):
        return None
    if parts.path.startswith(("/admin/login", "/admin/logout", "/admin/api")):
        return None
    return value


# -- the console session ---------------------------------------------------------------------


def load_session(stage: str | None = "done") -> tuple[str, ConsoleSession, Administrator] | None:
    """The browser's console session at ``stage`` (None: any stage), with its administrator;
    None when there is none, or when it no longer holds (role revoked, account suspended or
    changed): then it is destroyed."""
    session_id = request.cookies.get(COOKIE)
    session = services().console_sessions.get(session_id)
    if session is None or session_id is None:
        return None
    admin = services().admins.find(session.account_id)
    if (
        admin is None
        or not admin.account.active
        or admin.account.security_stamp != session.security_stamp
    ):
        services().console_sessions.destroy(session_id)
        return None
    if stage is not None and session.stage != stage:
        return None
    return session_id, session, admin


def notify(message: str, ok: bool = True) -> None:
    """A message (already translated) for the next console page: the outcome of an action."""
    session_id, session = g.console_session
    session.notice = {"message": message, "ok": ok}
    services().console_sessions.save(session_id, session)


def _take_notice() -> None:
    session_id, session = g.console_session
    g.admin_notice = session.notice
    if session.notice is not None and request.method == "GET":
        session.notice = None
        services().console_sessions.save(session_id, session)


def _to_login() -> BaseResponse:
    target = None
    if request.method == "GET":
        query = request.query_string.decode("latin-1")
        target = safe_next(request.path + (f"?{query}" if query else ""))
    response = redirect(url_for("admin.login_page", next=target), 303)
    return no_store(response)


def forbidden_page() -> Response:
    body, status = error_page(
        403,
        _("Not allowed"),
        _("Your administrator role can read but not change anything."),
        "forbidden",
    )
    return no_store(make_response(body, status))


def console_required(write: bool = False) -> Callable[[View], View]:
    """The view needs a complete console login; with ``write``, an operator."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            found = load_session()
            if found is None:
                return _to_login()
            session_id, session, admin = found
            g.admin = admin
            g.admin_account = admin.account
            g.console_session = (session_id, session)
            if write and admin.role not in WRITE_ROLES:
                audit("admin_write_refused", details={"path": request.path[:200]})
                return forbidden_page()
            _take_notice()
            return no_store(make_response(view(*args, **kwargs)))

        return wrapped

    return decorator


# -- the admin API ---------------------------------------------------------------------------


def api_required(write: bool = False) -> Callable[[View], View]:
    """The view needs a valid admin API token; with ``write``, an operator's."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            scheme, _sep, token = request.headers.get("Authorization", "").partition(" ")
            token = token.strip()
            if scheme.lower() != "bearer" or not token:
                response = problem(
                    401, "Unauthorized", "An admin API token is required (Authorization: Bearer)."
                )
                response.headers["WWW-Authenticate"] = f'Bearer realm="{REALM}"'
                return response
            admin = services().admins.authenticate_api_token(token)
            if admin is None:
                response = problem(401, "Unauthorized", "The token is unknown, expired or revoked.")
                response.headers["WWW-Authenticate"] = (
                    f'Bearer realm="{REALM}", error="invalid_token", '
                    'error_description="The token is unknown, expired or revoked"'
                )
                return response
            g.admin = admin
            g.admin_account = admin.account
            if write and admin.role not in WRITE_ROLES:
                audit("admin_write_refused", details={"path": request.path[:200], "via": "api"})
                response = problem(
                    403, "Forbidden", "This administrator's role can read but not change anything."
                )
                response.headers["WWW-Authenticate"] = (
                    f'Bearer realm="{REALM}", error="insufficient_scope", '
                    'error_description="The role is read-only"'
                )
                return response
            return no_store(make_response(view(*args, **kwargs)))

        return wrapped

    return decorator


# -- forms -----------------------------------------------------------------------------------

MAX_REASON_LENGTH = 500


def read_text(name: str, max_length: int, *, multiline: bool = False) -> tuple[str, str | None]:
    """A required text field, trimmed: ``(value, None)``, or ``(value, translated error)`` when
    it is empty, too long, or holds control characters (newlines only when ``multiline``)."""
    value = request.form.get(name, "")[: max_length * 4 + 1].replace("\r\n", "\n").strip()
    allowed = "\n\t" if multiline else ""
    if not value:
        return value, _("This field is required.")
    if len(value) > max_length:
        return value, _("At most %(count)s characters.", count=max_length)
    if any(not ch.isprintable() and ch not in allowed and ch != " " for ch in value):
        return value, _("Use letters, digits and punctuation only.")
    return value, None


def read_reason() -> tuple[str, str | None]:
    """The "why" every administrative action records (field ``reason``)."""
    return read_text("reason", MAX_REASON_LENGTH, multiline=True)


# -- audit -----------------------------------------------------------------------------------


def audit(
    action: str,
    *,
    reason: str | None = None,
    account_id: str | None = None,
    client_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """An audit event for the administrator of this request: who (``actor``), what
    (``action``, the account or portal concerned), when, and why (``details["reason"]``)."""
    data = dict(details or {})
    if reason is not None:
        data["reason"] = reason
    services().audit(
        action,
        actor=g.admin.account_id,
        account_id=account_id,
        client_id=client_id,
        ip_address=request.remote_addr,
        details=data,
    )
