"""Own security (issue 12, item 5; natural-person agreement clause 6): the login history, the
active sessions with "end this session" and "end all other sessions" (a logout: the portals
hear through the back channel), the password change under the password policy, and the
reminder after ``IDP_PASSWORD_REMINDER_DAYS`` (a reminder, never forced)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from tests.account.helpers import account_login, signed_in_page
from tests.logout.helpers import Receivers, log_in, logged_in, on_browser, register_portal
from tests.support import CliRunner, csrf_token

CHROME = "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0 Safari/537.36"
NEW_PASSWORD = "a brand new passphrase 2026"


@pytest.fixture
def receivers() -> Any:
    started = Receivers()
    yield started
    started.stop_all()


def rows(provider: Any, sql: str, **params: Any) -> list[dict[str, Any]]:
    with provider.db.engine.connect() as connection:
        return [dict(row) for row in connection.execute(text(sql), params).mappings()]


def execute(provider: Any, sql: str, **params: Any) -> None:
    with provider.db.engine.begin() as connection:
        connection.execute(text(sql), params)


def browser(app: Any, address: str = "203.0.113.77", agent: str = CHROME) -> Any:
    client = app.test_client()
    client.environ_base.update({"REMOTE_ADDR": address, "HTTP_USER_AGENT": agent})
    return client


def sign_in(client: Any, user: dict[str, str], password: str | None = None) -> Any:
    answer = account_login(client, user["username"], password or user["password"])
    assert answer.status_code == 303, answer.status_code
    return client


def sessions_of(html: str) -> list[tuple[str, str]]:
    """(sid, current yes/no) of the sessions page, top to bottom."""
    return re.findall(
        r'<section class="section" data-session="([^"]+)" data-current="(yes|no)"', html
    )


def test_every_completed_login_is_in_the_history(app, cli: CliRunner, client, user) -> None:
    portal = register_portal(cli, client, "Portal A", "a.example.gov.cn")
    home = sign_in(browser(app), user)
    phone = browser(app, "2001:db8:1234:5678::9", "Mobile Safari")
    log_in(on_browser(portal, phone), user["username"], user["password"])
    # A failed login is not a login.
    assert account_login(browser(app), user["username"], "wrong password").status_code == 401

    overview = signed_in_page(home, "/account/security?lang=en")
    assert 'href="/account/security"' in overview and 'aria-current="page"' in overview
    html = signed_in_page(home, "/account/security/history?lang=en")
    found = re.findall(r'<tr data-login-method="([^"]+)" data-client="([^"]*)">', html)
    assert found == [("password", portal.client_id), ("password", "")]
    assert "Portal A" in html and "This account page" in html
    # Only the networks, never the addresses.
    assert "2001:db8:1234::/48" in html and "203.0.113.0/24" in html
    assert "203.0.113.77" not in html and "5678" not in html
    assert "Mobile Safari" in html and "Chrome/131.0" in html
    stored = rows(provider_of(app), "SELECT ip_network, user_agent FROM login_history")
    assert {row["ip_network"] for row in stored} == {"2001:db8:1234::/48", "203.0.113.0/24"}


def provider_of(app: Any) -> Any:
    return app.extensions["idp"]


def test_the_history_is_pruned_after_its_retention(app, cli: CliRunner, user) -> None:
    sign_in(browser(app), user)
    sign_in(browser(app), user)
    provider = provider_of(app)
    old = datetime.now(UTC) - timedelta(days=181)
    [first, _second] = rows(provider, "SELECT id FROM login_history ORDER BY created_at")
    execute(
        provider,
        "UPDATE login_history SET created_at = :old WHERE id = :id",
        old=old,
        id=first["id"],
    )
    pruned = cli.ok("db", "prune")
    assert pruned["deleted_login_history"] == 1
    assert [r["id"] for r in rows(provider, "SELECT id FROM login_history")] == [_second["id"]]
    assert cli.ok("retention", "apply")["deleted_login_history"] == 0


def test_ending_one_session_logs_it_out_and_tells_its_portals(
    app, cli, client, user, receivers
) -> None:
    receiver = receivers()
    portal = register_portal(
        cli, client, "Portal A", "a.example.gov.cn", backchannel_uri=receiver.url
    )
    home = sign_in(browser(app), user)
    laptop = browser(app, "198.51.100.20")
    on_laptop = on_browser(portal, laptop)
    tokens = log_in(
        on_laptop, user["username"], user["password"], scope="openid profile offline_access"
    )
    laptop_sid = tokens["claims"]["sid"]

    html = signed_in_page(home, "/account/security/sessions?lang=en")
    listed = sessions_of(html)
    assert len(listed) == 2 and listed[0][1] == "yes"
    assert (laptop_sid, "no") in listed
    assert "Portal A" in html and "198.51.100.0/24" in html

    ended = home.post(
        "/account/security/sessions/end",
        data={"csrf_token": csrf_token(html), "sid": laptop_sid},
    )
    assert ended.status_code == 303 and ended.headers["Location"].endswith("done=ended")
    assert not logged_in(on_laptop)
    assert on_laptop.refresh(tokens["refresh_token"]).get_json()["error"] == "invalid_grant"
    [token] = receiver.wait_for_tokens(1)
    payload = json.loads(_b64(token.split(".")[1]))
    assert payload["sid"] == laptop_sid
    # The person's own session goes on; an unknown sid or the browser's own changes nothing.
    html = signed_in_page(home, "/account/security/sessions?lang=en")
    [(own_sid, current)] = sessions_of(html)
    assert current == "yes"
    for sid in ("not-a-session", own_sid):
        again = home.post(
            "/account/security/sessions/end", data={"csrf_token": csrf_token(html), "sid": sid}
        )
        assert again.headers["Location"].endswith("done=none")
    signed_in_page(home, "/account/security")


def _b64(part: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def test_another_person_cannot_end_my_session(app, cli, user) -> None:
    from tests.account.helpers import create_user

    mine = sign_in(browser(app), user)
    [(sid, _current)] = sessions_of(signed_in_page(mine, "/account/security/sessions"))
    bob = sign_in(browser(app), create_user(cli, "bob", "李四"))
    html = signed_in_page(bob, "/account/security/sessions")
    answer = bob.post(
        "/account/security/sessions/end", data={"csrf_token": csrf_token(html), "sid": sid}
    )
    assert answer.headers["Location"].endswith("done=none")
    signed_in_page(mine, "/account/security")


def test_ending_all_other_sessions_keeps_this_one(app, user) -> None:
    home = sign_in(browser(app), user)
    others = [sign_in(browser(app, f"192.0.2.{n}"), user) for n in (1, 2)]
    html = signed_in_page(home, "/account/security/sessions?lang=en")
    assert len(sessions_of(html)) == 3
    ended = home.post(
        "/account/security/sessions/end-others", data={"csrf_token": csrf_token(html)}
    )
    assert ended.headers["Location"].endswith("done=others")
    for other in others:
        assert other.get("/account/security").status_code == 303
    assert len(sessions_of(signed_in_page(home, "/account/security/sessions"))) == 1
    audit = rows(
        provider_of(app), "SELECT details FROM audit_events WHERE action = 'sessions_ended'"
    )
    assert len(audit) == 1


def change_password(client: Any, **fields: str) -> Any:
    html = signed_in_page(client, "/account/security/password?lang=en")
    return client.post(
        "/account/security/password", data={"csrf_token": csrf_token(html), **fields}
    )


def test_changing_the_password(app, user) -> None:
    home = sign_in(browser(app), user)
    other = sign_in(browser(app, "192.0.2.9"), user)
    changed = change_password(
        home,
        current_password=user["password"],
        password=NEW_PASSWORD,
        password_confirm=NEW_PASSWORD,
        end_others="yes",
    )
    assert changed.status_code == 303 and changed.headers["Location"].endswith("done=password")
    assert "Your password was changed." in signed_in_page(
        home, changed.headers["Location"] + "&lang=en"
    )
    # Other sessions ended, this one goes on; the new password works, the old one not.
    assert other.get("/account/security").status_code == 303
    assert account_login(browser(app), user["username"], user["password"]).status_code == 401
    sign_in(browser(app), user, NEW_PASSWORD)
    provider = provider_of(app)
    [event] = rows(provider, "SELECT details FROM audit_events WHERE action = 'password_changed'")
    assert NEW_PASSWORD not in str(event)
    [account] = rows(provider, "SELECT password_changed_at, password_hash FROM accounts")
    assert account["password_hash"].startswith("$argon2id$")
    # The provider's own security message is in the person's inbox.
    inbox = signed_in_page(home, "/account/messages?lang=en")
    assert 'data-sender="provider"' in inbox and "Your password was changed" in inbox


def test_a_refused_password_change_changes_nothing(app, user) -> None:
    home = sign_in(browser(app), user)
    wrong = change_password(
        home,
        current_password="not my password",
        password=NEW_PASSWORD,
        password_confirm=NEW_PASSWORD,
    )
    assert wrong.status_code == 401
    assert 'data-error-for="current_password"' in wrong.get_data(as_text=True)
    weak = change_password(
        home,
        current_password=user["password"],
        password="password123",
        password_confirm="password123",
    )
    assert weak.status_code == 400
    html = weak.get_data(as_text=True)
    assert 'data-error-for="password"' in html and "too common" in html
    assert 'id="error-summary"' in html and NEW_PASSWORD not in html
    mismatch = change_password(
        home,
        current_password=user["password"],
        password=NEW_PASSWORD,
        password_confirm="other one!",
    )
    assert 'data-error-for="password_confirm"' in mismatch.get_data(as_text=True)
    same = change_password(
        home,
        current_password=user["password"],
        password=user["password"],
        password_confirm=user["password"],
    )
    assert same.status_code == 400
    assert "same as the current one" in same.get_data(as_text=True)
    sign_in(browser(app), user)  # the old password still works
    assert (
        rows(provider_of(app), "SELECT id FROM audit_events WHERE action = 'password_changed'")
        == []
    )


def test_the_reminder_is_shown_after_the_configured_age_and_never_forces(app, user) -> None:
    home = sign_in(browser(app), user)
    assert 'id="password-reminder"' not in signed_in_page(home, "/account?lang=en")
    provider = provider_of(app)
    old = datetime.now(UTC) - timedelta(days=400)
    execute(provider, "UPDATE accounts SET password_changed_at = :old", old=old)
    for path in ("/account", "/account/addresses", "/account/security"):
        html = signed_in_page(home, path + "?lang=en")
        assert 'id="password-reminder"' in html, path
        assert "400 days" in html
    # A login still goes through; nothing is forced.
    sign_in(browser(app), user)


def test_the_reminder_follows_the_setting(make_app, user) -> None:
    quiet = make_app(PASSWORD_REMINDER_DAYS=0)
    home = quiet.test_client()
    sign_in(home, user)
    provider = quiet.extensions["idp"]
    execute(
        provider,
        "UPDATE accounts SET password_changed_at = :old",
        old=datetime.now(UTC) - timedelta(days=4000),
    )
    assert 'id="password-reminder"' not in signed_in_page(home, "/account?lang=en")


def test_cancellation_erases_the_login_history_and_export_has_it(app, user) -> None:
    home = sign_in(browser(app), user)
    provider = provider_of(app)
    [account] = rows(provider, "SELECT id FROM accounts")
    exported = provider.security.export(account["id"])
    [login] = exported["login_history"]
    assert login["method"] == "password" and login["network"] == "203.0.113.0/24"
    assert exported["password_changed_at"]
    html = signed_in_page(home, "/account/cancel?lang=en")
    cancelled = home.post(
        "/account/cancel",
        data={
            "csrf_token": csrf_token(html),
            "password": user["password"],
            "confirm_cancel": "yes",
        },
    )
    assert cancelled.status_code == 303
    assert rows(provider, "SELECT id FROM login_history") == []


def test_the_overview_has_the_place_for_second_factors(app, user) -> None:
    home = sign_in(browser(app), user)
    html = signed_in_page(home, "/account/security?lang=en")
    assert 'id="security-password"' in html and 'id="security-sessions"' in html
    assert 'id="change-password-link"' in html and "<script" not in html
