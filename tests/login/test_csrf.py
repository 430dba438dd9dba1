"""CSRF protection on every interaction form (OWASP CSRF Prevention Cheat Sheet, RFC 6749 10.12).

A login or consent POST without the form's csrf_token, or with a wrong one, is refused with 400
and changes nothing: no session, no consent, no audit record, and the interaction still works.
"""

from __future__ import annotations

import pytest

from tests.login.helpers import (
    open_login_page,
    post_login_with_token,
    same_portal,
    scalar,
    session_cookie,
)
from tests.support import csrf_token, form_action

WRONG_TOKENS = [None, "", "IjAxMjM0NTY3ODkwMTIzNDU2Nzg5MCI.wrong.token"]


@pytest.mark.parametrize("token", WRONG_TOKENS, ids=["missing", "empty", "wrong"])
def test_login_post_without_the_right_csrf_token_is_refused(provider, public_rp, user, token):
    """OWASP CSRF Prevention: the synchronizer token must match; nothing happens otherwise."""
    attempt = open_login_page(public_rp)

    refused = post_login_with_token(public_rp, attempt, token, user["username"], user["password"])

    assert refused.status_code == 400
    assert "idp_session" not in refused.headers.get("Set-Cookie", "")
    assert session_cookie(public_rp.browser) is None
    assert scalar(provider, "SELECT count(*) FROM audit_events WHERE action LIKE 'login%'") == 0
    # The interaction was not consumed: the real form still completes it.
    accepted = public_rp.submit_login(attempt, user["username"], user["password"])
    assert accepted.status_code == 303


def test_csrf_token_of_another_browser_is_refused(app, public_rp, user):
    """OWASP CSRF Prevention: the token is bound to the browser's own session."""
    attacker = same_portal(public_rp, app.test_client())
    foreign_token = csrf_token(open_login_page(attacker).response.get_data(as_text=True))
    attempt = open_login_page(public_rp)

    refused = post_login_with_token(
        public_rp, attempt, foreign_token, user["username"], user["password"]
    )

    assert refused.status_code == 400
    assert session_cookie(public_rp.browser) is None


@pytest.mark.parametrize("token", WRONG_TOKENS, ids=["missing", "empty", "wrong"])
def test_consent_post_without_the_right_csrf_token_is_refused(provider, public_rp, user, token):
    """OWASP CSRF Prevention: a forged consent records nothing and issues no code."""
    attempt = open_login_page(public_rp)
    public_rp.submit_login(attempt, user["username"], user["password"])
    html = public_rp.follow(attempt)
    assert 'name="decision"' in html
    data = {"decision": "approve"}
    if token is not None:
        data["csrf_token"] = token

    refused = public_rp.browser.post(form_action(html, "/consent"), data=data)

    assert refused.status_code == 400
    assert "Location" not in refused.headers
    assert scalar(provider, "SELECT count(*) FROM consents") == 0
    assert public_rp.submit_consent(attempt, "approve").status_code == 303
    assert "code" in attempt.result
    assert scalar(provider, "SELECT count(*) FROM consents") == 1


@pytest.mark.parametrize("token", WRONG_TOKENS, ids=["missing", "empty", "wrong"])
def test_cancel_post_without_the_right_csrf_token_is_refused(public_rp, user, token):
    """OWASP CSRF Prevention: a forged Cancel cannot end someone's login with access_denied."""
    attempt = open_login_page(public_rp)
    html = attempt.response.get_data(as_text=True)
    data = {"decision": "deny"}
    if token is not None:
        data["csrf_token"] = token

    refused = public_rp.browser.post(form_action(html, "/abort"), data=data)

    assert refused.status_code == 400
    assert "Location" not in refused.headers
    assert public_rp.submit_login(attempt, user["username"], user["password"]).status_code == 303
