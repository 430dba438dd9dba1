"""The user space's own login and logout, and its access rule.

OWASP Authentication Cheat Sheet (one generic message for a wrong password or an unknown
account), OWASP Session Management Cheat Sheet (a new session id at every login, logout destroys
the session server-side), RFC 9700 section 4.11 (no open redirector), OIDC Core 3.1.2.1
(prompt=none without a session answers login_required).
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from tests.account.helpers import account_login, logout, signed_in_page
from tests.login.helpers import login_error, session_cookie
from tests.support import csrf_token


def test_account_without_session_redirects_to_login(client):
    """Every account page needs the SSO session: without it, 303 to /account/login?next=..."""
    for path in ("/account", "/account/agreements", "/account/consents", "/account/disclosures"):
        response = client.get(path)
        assert response.status_code == 303, path
        location = urlsplit(response.headers["Location"])
        assert location.path == "/account/login", path
        assert parse_qs(location.query)["next"] == [path]


def test_login_lands_on_the_overview(client, user):
    """A correct login (with the CSRF token) sets the SSO cookie and answers 303 to /account."""
    response = account_login(client, user["username"], user["password"])

    assert response.status_code == 303
    assert response.headers["Location"] == "/account"
    assert session_cookie(client)
    html = signed_in_page(client, "/account")
    assert f'id="account-username">{user["username"]}<' in html


def test_login_returns_to_a_local_account_page(client, user):
    """A local ``next`` inside the user space is honoured."""
    location = urlsplit(client.get("/account/consents").headers["Location"])
    assert parse_qs(location.query)["next"] == ["/account/consents"]

    response = account_login(client, user["username"], user["password"], "/account/consents")

    assert response.status_code == 303
    assert response.headers["Location"] == "/account/consents"


@pytest.mark.parametrize(
    "next_path",
    [
        "https://evil.example",
        "//evil.example",
        "//evil.example/account",
        "/\\evil.example",
        "https://evil.example/account",
        "/authorize?client_id=x",
        "/account/../authorize",
    ],
)
def test_next_cannot_leave_the_user_space(client, user, next_path):
    """RFC 9700 section 4.11: ``next`` never sends the browser off-site (or out of /account)."""
    response = account_login(client, user["username"], user["password"], next_path)

    assert response.status_code == 303
    assert response.headers["Location"] == "/account"


@pytest.mark.parametrize("username", ["alice", "nobody"])
def test_wrong_password_or_unknown_account_gets_the_generic_message(client, user, username):
    """OWASP Authentication: the same 401 and message whether the account exists or not."""
    response = account_login(client, username, "wrong password here")

    assert response.status_code == 401
    assert login_error(response) == "Invalid username or password."
    assert session_cookie(client) is None
    assert client.get("/account").status_code == 303


def test_login_without_csrf_token_is_refused(client, user):
    """A login form without its CSRF token is refused and starts no session."""
    client.get("/account/login")

    response = client.post(
        "/account/login", data={"username": user["username"], "password": user["password"]}
    )

    assert response.status_code == 400
    assert session_cookie(client) is None


def test_each_login_gets_a_new_session_id_and_ends_the_old_one(app, client, user):
    """OWASP Session Management: no fixation; the id the browser brought is destroyed."""
    account_login(client, user["username"], user["password"])
    first = session_cookie(client)
    assert client.get("/account/login").status_code == 303  # signed in: sent on to /account
    client.delete_cookie("idp_session")
    form = client.get("/account/login").get_data(as_text=True)
    client.set_cookie("idp_session", first)  # the browser still brings the old id

    response = client.post(
        "/account/login",
        data={
            "csrf_token": csrf_token(form),
            "username": user["username"],
            "password": user["password"],
        },
    )

    assert response.status_code == 303
    renewed = session_cookie(client)
    assert renewed and renewed != first
    assert client.get("/account").status_code == 200
    replay = app.test_client()
    replay.set_cookie("idp_session", first)
    assert replay.get("/account").status_code == 303


def test_overview_masks_the_name(client, user):
    """Names are personal data: only the last character is shown (王小明 -> **明)."""
    account_login(client, user["username"], user["password"])

    html = signed_in_page(client, "/account")

    assert 'id="account-name">**明<' in html
    assert "王小明" not in html
    assert user["name"] not in html
    assert "小明" not in html
    assert 'id="account-type">' in html and 'id="account-level">' in html
    for section in ("/account/agreements", "/account/consents", "/account/disclosures"):
        assert f'href="{section}"' in html


def test_pages_are_chinese_by_default_and_english_on_request(client, user):
    """Chinese by default; ?lang=en switches to English; personal pages are never cached."""
    account_login(client, user["username"], user["password"])
    client.delete_cookie("idp_lang")

    chinese = client.get("/account")
    english = client.get("/account?lang=en")

    assert '<html lang="zh-CN">' in chinese.get_data(as_text=True)
    assert '<html lang="en">' in english.get_data(as_text=True)
    assert "My account" in english.get_data(as_text=True)
    assert chinese.headers["Cache-Control"] == "no-store"


def test_logout_ends_single_sign_on(client, public_rp, user):
    """Logout destroys the SSO session: the cookie is cleared, the old id no longer works, and
    prompt=none at a portal answers login_required (OIDC Core 3.1.2.1)."""
    public_rp.login(user["username"], user["password"])
    assert "code" in public_rp.authorize(prompt="none").result
    old_id = session_cookie(client)

    response = logout(client)

    assert response.status_code == 303
    assert response.headers["Location"] == "/account/logged-out"
    assert session_cookie(client) is None
    assert client.get("/account/logged-out").status_code == 200
    assert public_rp.authorize(prompt="none").result.get("error") == "login_required"
    client.set_cookie("idp_session", old_id)
    assert client.get("/account").status_code == 303


def test_logout_without_csrf_token_keeps_the_session(client, public_rp, user):
    """A forged logout (no CSRF token) is refused and the session stays."""
    public_rp.login(user["username"], user["password"])

    response = logout(client, with_csrf=False)

    assert response.status_code == 400
    assert "code" in public_rp.authorize(prompt="none").result
