"""The console session: its own cookie, its own (shorter) lifetimes, never the SSO session.

docs/administration.md; OWASP Session Management Cheat Sheet (HttpOnly, SameSite, a narrow
Path, a new id at login and at every privilege change, idle and absolute timeouts).
"""

from __future__ import annotations

import time

import pytest

from idp.config import ConfigError
from tests.account.helpers import account_login
from tests.admin_console.helpers import (
    console_admin,
    create_admin,
    log_in_again,
    log_out,
    page,
    password_step,
)
from tests.logout.helpers import audit_events
from tests.support import csrf_token


def _cookie(response, name: str) -> str:  # type: ignore[no-untyped-def]
    """The Set-Cookie header of ``name`` in ``response``."""
    for header in response.headers.getlist("Set-Cookie"):
        if header.startswith(f"{name}="):
            return header  # type: ignore[no-any-return]
    raise AssertionError(f"no {name} cookie set")


def _value(header: str) -> str:
    return header.split(";", 1)[0].split("=", 1)[1]


def test_the_console_cookie_is_narrow_and_strict(client, cli):
    created = create_admin(cli, "operator")

    header = _cookie(password_step(client, created["username"], created["password"]), "idp_admin")

    attributes = [part.strip().lower() for part in header.split(";")[1:]]
    assert "httponly" in attributes
    assert "samesite=strict" in attributes
    assert "path=/admin" in attributes
    assert not any(a.startswith(("max-age", "expires")) for a in attributes)  # a browser session
    assert "secure" not in attributes  # the test issuer is http://localhost


def test_an_sso_login_gives_no_console_access(client, cli):
    """Being logged in at /account (or at a portal) is not being logged into the console,
    even for an administrator's own account."""
    created = create_admin(cli, "operator")
    account_login(client, created["username"], created["password"])
    assert page(client, "/account?lang=en")

    response = client.get("/admin/accounts")

    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/login?next=/admin/accounts"


def test_the_console_login_starts_no_sso_session(client, cli):
    admin = console_admin(client, cli)
    assert admin.client.get_cookie("idp_session") is None
    response = client.get("/account")
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/account/login")


def test_a_new_session_id_at_the_password_and_at_the_second_factor(client, cli, app):
    admin = console_admin(client, cli)
    log_out(client)

    after_password = _value(
        _cookie(password_step(client, admin.username, admin.password), "idp_admin")
    )
    html = page(client, "/admin/verify")
    verified = client.post(
        "/admin/verify", data={"csrf_token": csrf_token(html), "code": admin.next_code()}
    )
    after_code = _value(_cookie(verified, "idp_admin"))

    assert after_password != after_code
    thief = app.test_client()
    thief.set_cookie("idp_admin", after_password, path="/admin")
    assert thief.get("/admin").status_code == 303  # the pre-second-factor id is dead
    thief.set_cookie("idp_admin", after_code, path="/admin")
    assert thief.get("/admin").status_code == 200


def test_the_second_factor_needs_the_session_of_the_password_step(client, cli, app):
    """Another browser cannot use the second-factor page without the password step."""
    admin = console_admin(client, cli)
    log_out(client)
    password_step(client, admin.username, admin.password)
    other = app.test_client()
    assert other.get("/admin/verify").headers["Location"].startswith("/admin/login")


def test_logout_ends_the_console_session(client, cli, app, provider):
    admin = console_admin(client, cli)
    session_id = client.get_cookie("idp_admin", path="/admin").value

    response = log_out(client)

    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/login?logged_out=1"
    assert "idp_admin=;" in _cookie(response, "idp_admin")
    replay = app.test_client()
    replay.set_cookie("idp_admin", session_id, path="/admin")
    assert replay.get("/admin").status_code == 303
    assert [e["actor"] for e in audit_events(provider, "admin_logout")] == [admin.account_id]


def test_the_console_session_ends_when_idle(make_app, cli):
    brief = make_app(ADMIN_SESSION_IDLE_TTL=2, ADMIN_SESSION_ABSOLUTE_TTL=60)
    browser = brief.test_client()
    console_admin(browser, cli)
    assert browser.get("/admin").status_code == 200

    time.sleep(2.5)

    response = browser.get("/admin")
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/admin/login")


def test_the_console_session_ends_at_its_absolute_lifetime(make_app, cli):
    """Used all the time, the session still ends ADMIN_SESSION_ABSOLUTE_TTL after the login."""
    brief = make_app(ADMIN_SESSION_IDLE_TTL=2, ADMIN_SESSION_ABSOLUTE_TTL=3)
    browser = brief.test_client()
    console_admin(browser, cli)

    time.sleep(1.5)
    assert browser.get("/admin").status_code == 200  # within the idle lifetime
    time.sleep(1.7)
    response = browser.get("/admin")

    assert response.status_code == 303


def test_lifetimes_are_checked_at_start_up(make_app):
    with pytest.raises(ConfigError, match="IDP_ADMIN_SESSION_IDLE_TTL must not exceed"):
        make_app(ADMIN_SESSION_IDLE_TTL=7200, ADMIN_SESSION_ABSOLUTE_TTL=3600)
    with pytest.raises(ConfigError, match="IDP_ADMIN_SESSION_ABSOLUTE_TTL must be a positive"):
        make_app(ADMIN_SESSION_ABSOLUTE_TTL=0)


def test_revoking_the_role_ends_console_access_at_once(client, cli):
    admin = console_admin(client, cli)

    cli.ok("admins", "revoke", admin.account_id, "--reason", "left the team")

    assert client.get("/admin").status_code == 303
    response = password_step(client, admin.username, admin.password)
    assert response.status_code == 401  # no longer an administrator: the generic answer


def test_a_second_grant_changes_the_role_and_keeps_the_second_factor(client, cli):
    admin = console_admin(client, cli, "operator")
    granted = cli.ok("admins", "grant", admin.username, "--role", "auditor", "--reason", "audit")
    log_out(client)

    log_in_again(client, admin)

    assert granted == {
        "account_id": admin.account_id,
        "role": "auditor",
        "previous_role": "operator",
        "enrolled": True,
    }
    assert 'data-role="auditor"' in page(client, "/admin")
