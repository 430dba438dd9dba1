"""Cancellation by the person (natural-person agreement clause 8; PIPL article 47).

In the user space, with the password re-entered and an explicit confirmation. It ends every
session, revokes every token, tells every portal (Back-Channel Logout 1.0), erases personal data
(records that must stay keep only a pseudonymous id) and frees the username, so the same person
can register again as a new account with a new ``sub``.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import inspect, text

from tests.logout.helpers import (
    audit_events,
    log_in,
    logged_in,
    on_browser,
    rows,
    validate_logout_token,
)
from tests.support import csrf_token


def cancel(browser: Any, password: str, *, confirm: bool = True, with_csrf: bool = True) -> Any:
    """Open the cancellation page and post its form."""
    page = browser.get("/account/cancel?lang=en")
    assert page.status_code == 200, page.status_code
    html = page.get_data(as_text=True)
    data = {"password": password}
    if confirm:
        data["confirm_cancel"] = "yes"
    if with_csrf:
        data["csrf_token"] = csrf_token(html)
    return browser.post("/account/cancel", data=data)


def alert(response: Any) -> str:
    match = re.search(r'id="cancel-error"><p>([^<]*)</p>', response.get_data(as_text=True))
    assert match, "no error shown"
    return match.group(1)


def account_exists(provider: Any, account_id: str) -> bool:
    return bool(rows(provider, "SELECT id FROM accounts WHERE id = :i", i=account_id))


def test_cancellation_page_needs_the_session(client):
    """The user space: without a session the person logs in first, then comes back."""
    response = client.get("/account/cancel")

    assert response.status_code == 303
    assert response.headers["Location"].startswith("/account/login?next=")
    assert response.headers["Location"] == "/account/login?next=/account/cancel"


def test_overview_links_to_the_cancellation_page(client, portal_a, user):
    """Clause 8: the person finds cancellation in their account pages."""
    log_in(portal_a.rp, user["username"], user["password"])

    html = client.get("/account?lang=en").get_data(as_text=True)

    assert 'href="/account/cancel"' in html
    page = client.get("/account/cancel?lang=en").get_data(as_text=True)
    assert 'name="password"' in page and 'name="confirm_cancel"' in page
    assert "cannot be undone" in page


def test_everything_ends_and_personal_data_is_erased(
    cli, client, provider, portal_a, portal_b, user
):
    """Clause 8: sessions, tokens and portals end; the account row with the personal data goes;
    audit, agreement and disclosure records keep only the pseudonymous account id."""
    first = log_in(portal_a.rp, user["username"], user["password"])
    at_b = log_in(portal_b.rp, user["username"], user["password"])
    portal_b.rp.userinfo(at_b["access_token"])  # a disclosure record to keep
    other_browser = client.application.test_client()
    elsewhere = log_in(on_browser(portal_a.rp, other_browser), user["username"], user["password"])

    response = cancel(client, user["password"])

    assert response.status_code == 303
    assert response.headers["Location"] == "/account/cancelled"
    assert client.get_cookie("idp_session") is None
    page = client.get("/account/cancelled?lang=en").get_data(as_text=True)
    assert "Your account has been cancelled" in page
    assert not logged_in(portal_a.rp)
    assert not logged_in(on_browser(portal_a.rp, other_browser))
    sids = {
        validate_logout_token(client, token, portal_a.rp.client_id)["sid"]
        for token in portal_a.receiver.wait_for_tokens(2)
    }
    assert sids == {first["claims"]["sid"], elsewhere["claims"]["sid"]}
    claims_b = validate_logout_token(
        client, portal_b.receiver.wait_for_tokens()[0], portal_b.rp.client_id
    )
    assert claims_b["sub"] == user["sub"]
    for rp, tokens in ((portal_a.rp, first), (portal_b.rp, at_b), (portal_a.rp, elsewhere)):
        assert rp.refresh(tokens["refresh_token"]).get_json()["error"] == "invalid_grant"
        assert rp.introspect(tokens["access_token"]).get_json() == {"active": False}
        assert rp.userinfo(tokens["access_token"]).status_code == 401

    # Storage: no row names the person any more, in any table.
    assert not account_exists(provider, user["id"])
    personal = (user["username"], user["name"], user["password"])
    with provider.db.engine.connect() as connection:
        for table in inspect(connection).get_table_names():
            for row in connection.execute(text(f"SELECT * FROM {table}")):
                dumped = " ".join(str(value) for value in row)
                assert not any(value in dumped for value in personal), table
    assert rows(provider, "SELECT 1 FROM consents") == []
    assert rows(provider, "SELECT 1 FROM grants") == []
    cli.ok("audit", "chain")
    kept = rows(provider, "SELECT account_id FROM disclosures")
    assert kept and {row["account_id"] for row in kept} == {user["id"]}
    [event] = audit_events(provider, "account_cancelled")
    assert event["account_id"] == user["id"]


def test_the_same_username_registers_again_as_a_new_account(cli, client, portal_a, user):
    """Clause 8: the identifier is freed; registering again gives a new account and a new sub."""
    log_in(portal_a.rp, user["username"], user["password"])
    cancel(client, user["password"])

    again = cli.ok(
        "users", "create", "--username", user["username"], "--password", "a new long password"
    )

    assert again["sub"] != user["sub"] and again["id"] != user["id"]
    tokens = log_in(portal_a.rp, user["username"], "a new long password")
    assert tokens["claims"]["sub"] == again["sub"]


def test_wrong_password_cancels_nothing(client, provider, portal_a, user):
    """Clause 8: the password must be re-entered; a wrong one gives a generic error."""
    tokens = log_in(portal_a.rp, user["username"], user["password"])

    response = cancel(client, "not the password")

    assert response.status_code == 401
    assert alert(response) == "The password is not correct. Nothing was changed."
    assert account_exists(provider, user["id"])
    assert logged_in(portal_a.rp)
    assert "access_token" in portal_a.rp.refresh(tokens["refresh_token"]).get_json()
    assert portal_a.receiver.tokens == []
    [event] = audit_events(provider, "account_cancel_failed")
    assert event["account_id"] == user["id"] and event["details"]["reason"] == "invalid"


def test_wrong_passwords_count_in_the_login_throttle(client, provider, portal_a, user):
    """NIST SP 800-63B 5.2.2: the re-entered password is throttled like the login form, so the
    page cannot be used to guess the password of a session left open."""
    log_in(portal_a.rp, user["username"], user["password"])
    for _ in range(5):
        assert cancel(client, "not the password").status_code == 401

    response = cancel(client, user["password"])

    assert response.status_code == 429
    assert "Too many failed attempts" in alert(response)
    assert account_exists(provider, user["id"])
    rp = on_browser(portal_a.rp, client.application.test_client())
    attempt = rp.authorize()
    rp.follow(attempt)
    assert rp.submit_login(attempt, user["username"], user["password"]).status_code == 429


def test_missing_confirmation_cancels_nothing(client, provider, portal_a, user):
    """Clause 8: an explicit confirmation is needed, not just the password."""
    log_in(portal_a.rp, user["username"], user["password"])

    response = cancel(client, user["password"], confirm=False)

    assert response.status_code == 400
    assert "Tick the box" in alert(response)
    assert account_exists(provider, user["id"])
    assert logged_in(portal_a.rp)


def test_missing_csrf_token_cancels_nothing(client, provider, portal_a, user):
    """OWASP CSRF Prevention: a state-changing form needs its token."""
    log_in(portal_a.rp, user["username"], user["password"])

    response = cancel(client, user["password"], with_csrf=False)

    assert response.status_code == 400
    assert account_exists(provider, user["id"])
    assert logged_in(portal_a.rp)


def test_post_without_session_goes_to_login(client, provider, user):
    """The user space: nothing is cancelled without the person's session."""
    page = client.get("/account/login").get_data(as_text=True)

    response = client.post(
        "/account/cancel",
        data={
            "csrf_token": csrf_token(page),
            "password": user["password"],
            "confirm_cancel": "yes",
        },
    )

    assert response.status_code == 303
    assert response.headers["Location"].startswith("/account/login")
    assert account_exists(provider, user["id"])
