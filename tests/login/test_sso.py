"""Silent single sign-on and the session lifetimes.

OIDC Core 3.1.2.1 (prompt=none: no page; login_required / consent_required otherwise) and
3.1.2.3 (the provider may skip the pages when the person is logged in and consent is known);
OWASP Session Management Cheat Sheet (idle and absolute timeouts enforced server-side).
"""

from __future__ import annotations

import time

from tests.login.helpers import same_portal


def test_second_request_completes_without_a_page(public_rp, user):
    """OIDC Core 3.1.2.3: a live session and remembered consent answer at once with a code."""
    first = public_rp.login(user["username"], user["password"])
    assert "code" in first.result

    second = public_rp.authorize()

    assert second.response.status_code == 303
    assert second.response.headers["Location"].startswith(public_rp.redirect_uri)
    assert second.result["state"] == second.params["state"]
    tokens = public_rp.exchange(second).get_json()
    claims = public_rp.validate_id_token(tokens["id_token"], second.params["nonce"])
    assert claims["sub"] == user["sub"]


def test_prompt_none_with_a_live_session_returns_a_code(public_rp, user):
    """OIDC Core 3.1.2.1: prompt=none succeeds silently when nothing needs to be shown."""
    public_rp.login(user["username"], user["password"])

    attempt = public_rp.authorize(prompt="none")

    assert "code" in attempt.result
    assert public_rp.exchange(attempt).status_code == 200


def test_prompt_none_without_consent_answers_consent_required(cli, public_rp, user):
    """OIDC Core 3.1.2.6: prompt=none for a portal not yet consented -> consent_required."""
    public_rp.login(user["username"], user["password"])
    other = cli.ok(
        "clients",
        "create",
        "--name",
        "Other Portal",
        "--public",
        "--redirect-uri",
        "http://127.0.0.1:8766/callback",
        "--json",
    )
    other_rp = same_portal(public_rp, public_rp.browser)
    other_rp.client_id, other_rp.redirect_uri = other["client_id"], other["redirect_uris"][0]

    attempt = other_rp.authorize(prompt="none")

    assert attempt.result.get("error") == "consent_required"


def test_idle_session_expires(make_app, public_rp, user):
    """OWASP Session Management: unused for SESSION_IDLE_TTL -> prompt=none gives login_required."""
    short = make_app(SESSION_IDLE_TTL=1, SESSION_ABSOLUTE_TTL=3600)
    rp = same_portal(public_rp, short.test_client())
    rp.login(user["username"], user["password"])
    assert "code" in rp.authorize(prompt="none").result

    time.sleep(1.5)

    assert rp.authorize(prompt="none").result.get("error") == "login_required"


def test_absolute_session_lifetime_is_not_extended_by_use(make_app, public_rp, user):
    """OWASP Session Management: SESSION_ABSOLUTE_TTL ends the session even if it was just used.

    The session (made during the login, at the latest when it returns) is used 0.3 s after the
    login returned, which would keep an idle-only session alive until 3.3 s; at 3.1 s the
    absolute limit of 3 s has passed and the session must be gone. A slow login (a loaded
    machine) only shortens the time the session had left before its use, by up to 2.7 s.
    """
    short = make_app(SESSION_IDLE_TTL=3, SESSION_ABSOLUTE_TTL=3)
    rp = same_portal(public_rp, short.test_client())
    rp.login(user["username"], user["password"])
    logged_in = time.monotonic()

    time.sleep(0.3)
    assert "code" in rp.authorize(prompt="none").result
    time.sleep(max(0.0, 3.1 - (time.monotonic() - logged_in)))

    assert rp.authorize(prompt="none").result.get("error") == "login_required"
