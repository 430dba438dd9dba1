"""The provider's cookies: the SSO session id and the browser binding of interactions."""

from __future__ import annotations

from werkzeug.wrappers import Response

from idp.config import Config

SESSION = "idp_session"
BROWSER = "idp_browser"
# The QR code shown in the login page's frame, so that showing the login page again (a mistyped
# password, say) shows the same code instead of asking for a new one (idp.views.interaction.scan).
SCAN_TICKET = "idp_scan"


def set_session(response: Response, session_id: str, config: Config) -> None:
    response.set_cookie(
        SESSION,
        session_id,
        max_age=config.SESSION_ABSOLUTE_TTL,
        httponly=True,
        samesite="Lax",
        secure=config.secure_cookies,
        path="/",
    )


def clear_session(response: Response, config: Config) -> None:
    response.delete_cookie(
        SESSION, path="/", secure=config.secure_cookies, httponly=True, samesite="Lax"
    )


def set_browser(response: Response, value: str, config: Config) -> None:
    response.set_cookie(
        BROWSER, value, httponly=True, samesite="Lax", secure=config.secure_cookies, path="/"
    )


def set_scan_ticket(response: Response, ticket_id: str, path: str, config: Config) -> None:
    response.set_cookie(
        SCAN_TICKET,
        ticket_id,
        max_age=config.SCAN_TICKET_TTL,
        httponly=True,
        samesite="Lax",
        secure=config.secure_cookies,
        path=path,
    )
