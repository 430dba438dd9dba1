"""The SSO session: server-side in Redis, a cookie that holds only a random id.

OWASP Session Management Cheat Sheet (cookie attributes, renewal of the id at login, no data in
the cookie); RFC 6265bis (SameSite); OIDC Core 3.1.2.1 (prompt=none answers login_required).
"""

from __future__ import annotations

import hashlib
import re

from tests.login.helpers import (
    cookie_attributes,
    open_login_page,
    same_portal,
    session_cookie,
    set_cookie_header,
)


def _login_response(rp, user, **overrides):  # type: ignore[no-untyped-def]
    attempt = open_login_page(rp, **overrides)
    response = rp.submit_login(attempt, user["username"], user["password"])
    assert response.status_code == 303
    return response


def test_sso_cookie_is_httponly_and_samesite_lax(public_rp, user):
    """OWASP Session Management: HttpOnly, SameSite=Lax, path /; not Secure on an http issuer."""
    response = _login_response(public_rp, user)

    attributes = cookie_attributes(set_cookie_header(response, "idp_session"))
    assert "httponly" in attributes
    assert "samesite=lax" in attributes
    assert "path=/" in attributes
    assert "secure" not in attributes


def test_sso_cookie_is_secure_when_the_issuer_is_https(make_app, public_rp, user):
    """OWASP Session Management: the Secure attribute whenever the provider is served over https."""
    secure_app = make_app(ISSUER="https://login.example.gov.cn")
    rp = same_portal(public_rp, secure_app.test_client())

    response = _login_response(rp, user)

    attributes = cookie_attributes(set_cookie_header(response, "idp_session"))
    assert {"secure", "httponly", "samesite=lax"} <= attributes


def test_every_login_starts_a_new_session_id(app, public_rp, user):
    """OWASP Session Management (fixation): a new id at each login; the old one stops working."""
    public_rp.login(user["username"], user["password"])
    first = session_cookie(public_rp.browser)

    _login_response(public_rp, user, prompt="login")
    second = session_cookie(public_rp.browser)

    assert first and second and first != second
    old_browser = app.test_client()
    old_browser.set_cookie("idp_session", first)
    old = same_portal(public_rp, old_browser).authorize(prompt="none")
    assert old.result.get("error") == "login_required"
    new_browser = app.test_client()
    new_browser.set_cookie("idp_session", second)
    new = same_portal(public_rp, new_browser).authorize(prompt="none")
    assert "code" in new.result


def test_session_cookie_holds_only_a_random_id(provider, redis_client, public_rp, user):
    """OWASP Session Management: the cookie is an opaque random id; Redis keys it by a hash."""
    public_rp.login(user["username"], user["password"])
    value = session_cookie(public_rp.browser)

    assert value is not None
    assert re.fullmatch(r"[A-Za-z0-9_-]{43,}", value), value
    for personal in (user["username"], user["id"], user["sub"], user["name"]):
        assert personal not in value
    keys = [key.decode() for key in redis_client.scan_iter("*")]
    assert not any(value in key for key in keys)
    assert any(key.endswith(hashlib.sha256(value.encode()).hexdigest()) for key in keys)
    for key in keys:
        if redis_client.type(key) == b"string":
            assert value.encode() not in redis_client.get(key)


def test_session_without_cookie_is_not_shared_between_browsers(app, public_rp, user):
    """The session lives behind the cookie: another browser has no SSO (prompt=none fails)."""
    public_rp.login(user["username"], user["password"])

    other = same_portal(public_rp, app.test_client()).authorize(prompt="none")

    assert other.result.get("error") == "login_required"
