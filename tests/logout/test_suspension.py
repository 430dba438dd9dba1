"""Suspension by the authority (natural-person agreement clause 7): ``idp users suspend ACCOUNT
--reason R`` and ``idp users reinstate ACCOUNT [--reason R]``.

Suspension ends every session of the account, revokes every token, sends back-channel logout
(Back-Channel Logout 1.0) to every portal, and login then says the account is suspended. Both
commands are audited with the reason.
"""

from __future__ import annotations

import re
import time

import pytest

from tests.logout.helpers import (
    audit_events,
    log_in,
    logged_in,
    on_browser,
    rows,
    validate_logout_token,
)
from tests.support import csrf_token, form_action

REASON = "clause 7: fraudulent use reported by the Ningbo portal"


def suspend(cli, account: str, reason: str = REASON) -> str:  # type: ignore[no-untyped-def]
    return cli.ok("users", "suspend", account, "--reason", reason)  # type: ignore[no-any-return]


def login_message(browser, username: str, password: str):  # type: ignore[no-untyped-def]
    """Post the user-space login form; returns (status, the alert's text)."""
    page = browser.get("/account/login?lang=en").get_data(as_text=True)
    response = browser.post(
        form_action(page, "/account/login"),
        data={"csrf_token": csrf_token(page), "username": username, "password": password},
    )
    match = re.search(r'role="alert"[^>]*><p>([^<]*)</p>', response.get_data(as_text=True))
    return response.status_code, match.group(1) if match else None


def test_suspension_ends_everything_everywhere(cli, client, provider, portal_a, portal_b, user):
    """Clause 7: every session (here two browsers), every token, every portal told."""
    first = log_in(portal_a.rp, user["username"], user["password"])
    at_b = log_in(portal_b.rp, user["username"], user["password"])
    other_browser = client.application.test_client()
    other = log_in(on_browser(portal_a.rp, other_browser), user["username"], user["password"])

    output = suspend(cli, user["username"])

    assert user["id"] in output
    assert not logged_in(portal_a.rp)
    assert not logged_in(on_browser(portal_a.rp, other_browser))
    sids_at_a = {
        validate_logout_token(client, token, portal_a.rp.client_id)["sid"]
        for token in portal_a.receiver.wait_for_tokens(2)
    }
    assert sids_at_a == {first["claims"]["sid"], other["claims"]["sid"]}
    claims_b = validate_logout_token(
        client, portal_b.receiver.wait_for_tokens()[0], portal_b.rp.client_id
    )
    assert claims_b["sid"] == first["claims"]["sid"] and claims_b["sub"] == user["sub"]
    for rp, tokens in ((portal_a.rp, first), (portal_b.rp, at_b), (portal_a.rp, other)):
        assert rp.refresh(tokens["refresh_token"]).get_json()["error"] == "invalid_grant"
        assert rp.introspect(tokens["access_token"]).get_json() == {"active": False}
        assert rp.userinfo(tokens["access_token"]).status_code == 401
    [event] = audit_events(provider, "account_suspended")
    assert event["account_id"] == user["id"] and event["actor"] == "cli"
    assert event["details"]["reason"] == REASON


def test_login_then_says_the_account_is_suspended(cli, client, portal_a, user):
    """Clause 7: the person is told why they cannot log in, at a portal and in the user space."""
    suspend(cli, user["username"])

    attempt = portal_a.rp.authorize(ui_locales="en")
    portal_a.rp.follow(attempt)
    response = portal_a.rp.submit_login(attempt, user["username"], user["password"])

    assert response.status_code == 403
    assert "This account is suspended" in response.get_data(as_text=True)
    assert not attempt.result
    status, message = login_message(
        client.application.test_client(), user["username"], user["password"]
    )
    assert status == 403 and "suspended" in message


def test_wrong_password_of_a_suspended_account_says_nothing_about_it(cli, client, user):
    """OWASP Authentication Cheat Sheet: the suspension shows only after the right password."""
    suspend(cli, user["username"])

    status, message = login_message(client, user["username"], "wrong password here")

    assert status == 401 and "suspended" not in message


@pytest.mark.parametrize("reference", ["id", "sub", "username"])
def test_account_is_found_by_id_sub_or_username(cli, provider, user, reference):
    """The command's ACCOUNT: the account id, its sub, or its username."""
    suspend(cli, user[reference])

    [row] = rows(provider, "SELECT status FROM accounts WHERE id = :i", i=user["id"])
    assert row["status"] == "suspended"


def test_reinstatement_allows_login_again_but_old_tokens_stay_dead(
    cli, client, provider, portal_a, user
):
    """Clause 7: lifting a suspension is audited with its reason; revoked tokens stay revoked."""
    before = log_in(portal_a.rp, user["username"], user["password"])
    suspend(cli, user["sub"])

    output = cli.ok("users", "reinstate", user["sub"], "--reason", "appeal granted")

    assert user["id"] in output
    again = log_in(portal_a.rp, user["username"], user["password"])
    assert again["claims"]["sub"] == user["sub"]
    assert portal_a.rp.refresh(before["refresh_token"]).get_json()["error"] == "invalid_grant"
    [event] = audit_events(provider, "account_reinstated")
    assert event["account_id"] == user["id"] and event["details"]["reason"] == "appeal granted"


def test_code_issued_before_the_suspension_is_useless(cli, portal_a, user):
    """Clause 7 / RFC 6749 4.1.2: a code not yet exchanged is revoked with its grant."""
    log_in(portal_a.rp, user["username"], user["password"])
    pending = portal_a.rp.authorize(prompt="none")
    assert "code" in pending.result

    suspend(cli, user["username"])

    assert portal_a.rp.exchange(pending).get_json()["error"] == "invalid_grant"


def test_portal_holding_tokens_after_the_session_expired_is_told_by_sub(
    make_app, cli, portal_a, user
):
    """Back-Channel Logout 1.0 section 2.4: a portal whose session already ended but which
    still holds a refresh token is told with a token naming the ``sub`` only."""
    brief = make_app(SESSION_IDLE_TTL=1, SESSION_ABSOLUTE_TTL=1)
    browser = brief.test_client()
    rp = on_browser(portal_a.rp, browser)
    tokens = log_in(rp, user["username"], user["password"])
    time.sleep(1.2)
    assert not logged_in(rp)

    suspend(cli, user["username"])

    claims = validate_logout_token(browser, portal_a.receiver.wait_for_tokens()[0], rp.client_id)
    assert claims["sub"] == user["sub"] and "sid" not in claims
    assert rp.refresh(tokens["refresh_token"]).get_json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["users", "suspend", "nobody", "--reason", "x"], "no such account"),
        (["users", "suspend", "alice", "--reason", "  "], "--reason must not be empty"),
        (["users", "reinstate", "alice"], "is not suspended"),
    ],
)
def test_command_errors(cli, user, args, message):
    """The commands refuse what they cannot do, with exit status 2 and a message."""
    code, _out, err = cli.run(*args)

    assert code == 2 and message in err


def test_suspending_twice_is_an_error(cli, provider, user):
    suspend(cli, user["username"])

    code, _out, err = cli.run("users", "suspend", user["username"], "--reason", "again")

    assert code == 2 and "already suspended" in err
    assert len(audit_events(provider, "account_suspended")) == 1
