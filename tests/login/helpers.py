"""Helpers for the login, security and operations tests.

Extra applications with one setting changed come from the shared ``make_app`` fixture
(``tests.support.AppFactory``): same database and Redis, other argon2 cost, lifetimes or limits.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import text

from tests.support import AuthorizationAttempt, RelyingParty, form_action


def same_portal(rp: RelyingParty, browser: Any) -> RelyingParty:
    """The same registered portal, driving another browser (possibly of another app)."""
    return RelyingParty(browser, rp.client_id, rp.client_secret, rp.redirect_uri)


def open_login_page(rp: RelyingParty, **overrides: Any) -> AuthorizationAttempt:
    """GET /authorize and follow to the login page, in English."""
    overrides.setdefault("ui_locales", "en")
    attempt = rp.authorize(**overrides)
    assert attempt.response.status_code == 303, attempt.response.status_code
    html = rp.follow(attempt)
    assert 'name="password"' in html
    return attempt


def login_error(response: Any) -> str:
    """The message in the login page's alert."""
    match = re.search(r'id="login-error"><p>([^<]*)</p>', response.get_data(as_text=True))
    assert match, "no login error shown"
    return match.group(1)


def post_login_with_token(
    rp: RelyingParty, attempt: AuthorizationAttempt, token: str | None, username: str, password: str
) -> Any:
    """Post the login form with ``token`` as csrf_token (None: the field is left out)."""
    html = attempt.response.get_data(as_text=True)
    data = {"username": username, "password": password}
    if token is not None:
        data["csrf_token"] = token
    return rp.browser.post(form_action(html, "/login"), data=data)


def session_cookie(browser: Any) -> str | None:
    cookie = browser.get_cookie("idp_session")
    return cookie.value if cookie else None


def set_cookie_header(response: Any, name: str) -> str:
    for header in response.headers.getlist("Set-Cookie"):
        if header.startswith(f"{name}="):
            return header
    raise AssertionError(f"no Set-Cookie for {name}")


def cookie_attributes(header: str) -> set[str]:
    """Lower-cased attribute names and name=value pairs after the cookie value."""
    return {part.strip().lower() for part in header.split(";")[1:]}


def scalar(provider: Any, sql: str, **params: Any) -> Any:
    with provider.db.engine.connect() as connection:
        return connection.execute(text(sql), params).scalar()


def rows(provider: Any, sql: str, **params: Any) -> list[Any]:
    with provider.db.engine.connect() as connection:
        return list(connection.execute(text(sql), params).mappings())
