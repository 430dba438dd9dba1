"""Single sign-on across regional portals.

OIDC Core 3.1.2.1 and 3.1.2.3: while the provider session lives, a second portal's login completes
without a page (prompt=none succeeds); every portal's ID token carries the session's ``sid``
(Back-Channel Logout 1.0 section 2.1 and Front-Channel Logout 1.0 section 3: one OP session, one
sid for all its RPs) and the same ``sub`` (the public subject identifier).
"""

from __future__ import annotations

from tests.logout.helpers import log_in, logged_in, on_browser


def test_second_portal_logs_in_silently_with_the_same_sub_and_sid(portal_a, portal_b, user):
    """OIDC Core 3.1.2.3: no page at the second portal; same person, same session."""
    at_a = log_in(portal_a.rp, user["username"], user["password"])

    silent = portal_b.rp.authorize(prompt="none")

    assert "code" in silent.result, silent.result
    assert silent.result["state"] == silent.params["state"]
    tokens = portal_b.rp.exchange(silent).get_json()
    at_b = portal_b.rp.validate_id_token(tokens["id_token"], silent.params["nonce"])
    assert at_b["sub"] == at_a["claims"]["sub"] == user["sub"]
    assert at_b["sid"] == at_a["claims"]["sid"]
    assert at_b["auth_time"] == at_a["claims"]["auth_time"]
    assert at_b["aud"] == portal_b.rp.client_id


def test_second_portal_without_prompt_completes_without_a_page(portal_a, portal_b, user):
    """OIDC Core 3.1.2.3: an ordinary request is answered at once with a code, same sid."""
    at_a = log_in(portal_a.rp, user["username"], user["password"])

    attempt = portal_b.rp.authorize()

    assert attempt.response.status_code == 303
    assert attempt.response.headers["Location"].startswith(portal_b.rp.redirect_uri)
    tokens = portal_b.rp.exchange(attempt).get_json()
    claims = portal_b.rp.validate_id_token(tokens["id_token"], attempt.params["nonce"])
    assert claims["sid"] == at_a["claims"]["sid"]


def test_other_browsers_get_their_own_session(client, portal_a, user):
    """Back-Channel Logout 1.0 section 2.1: a sid identifies one session of one user agent."""
    first = log_in(portal_a.rp, user["username"], user["password"])
    other = client.application.test_client()

    second = log_in(on_browser(portal_a.rp, other), user["username"], user["password"])

    assert first["claims"]["sub"] == second["claims"]["sub"]
    assert first["claims"]["sid"] != second["claims"]["sid"]


def test_after_logout_prompt_none_is_login_required_at_every_portal(
    client, portal_a, portal_b, user
):
    """OIDC Core 3.1.2.6 and RP-Initiated Logout 1.0 section 2: logout ends the SSO session."""
    tokens = log_in(portal_a.rp, user["username"], user["password"])
    assert logged_in(portal_b.rp)

    client.get("/logout", query_string={"id_token_hint": tokens["id_token"]})

    assert portal_a.rp.authorize(prompt="none").result["error"] == "login_required"
    assert portal_b.rp.authorize(prompt="none").result["error"] == "login_required"


def test_second_portal_can_still_ask_for_a_fresh_login(portal_a, portal_b, user):
    """OIDC Core 3.1.2.1: prompt=login and max_age are honoured at a portal joining the SSO."""
    log_in(portal_a.rp, user["username"], user["password"])

    forced = portal_b.rp.authorize(prompt="login", ui_locales="en")
    assert 'name="password"' in portal_b.rp.follow(forced)
    too_old = portal_b.rp.authorize(max_age="0", prompt="none")

    assert too_old.result["error"] == "login_required"
    assert logged_in(portal_b.rp)
