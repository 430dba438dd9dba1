"""Response hardening.

- Clickjacking: CSP ``frame-ancestors 'none'`` and ``X-Frame-Options: DENY`` on every page
  (RFC 6749 10.13, OWASP Clickjacking Defense); ``Referrer-Policy: no-referrer`` (RFC 9700 4.2.4).
- ``Cache-Control: no-store`` on token, userinfo and introspection answers (RFC 6749 5.1,
  OIDC Core 5.3.2, RFC 7662 with RFC 9700 4.x caching guidance).
- Every successful POST of the interaction answers 303 (RFC 9700 4.12: never 307; 303 drops
  the form body on the redirect).
- No CORS on the authorization endpoint: it is a top-level browser navigation only.
"""

from __future__ import annotations

import pytest

from tests.login.helpers import open_login_page
from tests.support import csrf_token, form_action


def _assert_page_headers(response, what: str) -> None:  # type: ignore[no-untyped-def]
    assert response.mimetype == "text/html", what
    csp = response.headers.get("Content-Security-Policy", "")
    assert "frame-ancestors 'none'" in csp, what
    assert response.headers.get("X-Frame-Options") == "DENY", what
    assert response.headers.get("Referrer-Policy") == "no-referrer", what


def test_every_html_page_forbids_framing_and_referrers(client, public_rp, user):
    """RFC 6749 10.13 / RFC 9700 4.2.4: login, consent, error and 404 pages."""
    attempt = open_login_page(public_rp)
    _assert_page_headers(attempt.response, "login")
    failed = public_rp.submit_login(attempt, user["username"], "wrong")
    _assert_page_headers(failed, "login with error")
    public_rp.submit_login(attempt, user["username"], user["password"])
    public_rp.follow(attempt)
    _assert_page_headers(attempt.response, "consent")
    error = client.get("/authorize?client_id=unknown&response_type=code")
    assert error.status_code == 400
    _assert_page_headers(error, "error page")
    missing = client.get("/no-such-page")
    assert missing.status_code == 404
    _assert_page_headers(missing, "404")


def test_token_userinfo_and_introspection_answers_are_not_cached(public_rp, user):
    """RFC 6749 5.1, OIDC Core 5.3.2, RFC 7662: no-store on success and on error."""
    attempt = public_rp.login(user["username"], user["password"])
    token = public_rp.exchange(attempt)
    assert token.status_code == 200
    access_token = token.get_json()["access_token"]
    answers = {
        "token": token,
        "token error": public_rp.token_request(grant_type="authorization_code", code="nope"),
        "userinfo": public_rp.userinfo(access_token),
        "userinfo error": public_rp.userinfo("not-a-token"),
        "introspection": public_rp.introspect(access_token),
    }
    assert answers["userinfo"].status_code == 200
    assert answers["userinfo error"].status_code == 401
    for what, response in answers.items():
        assert "no-store" in response.headers.get("Cache-Control", ""), what


def test_confidential_introspection_answer_is_not_cached(confidential_rp, user):
    """RFC 7662 section 2.2 with no-store: an authenticated introspection answer."""
    attempt = confidential_rp.login(user["username"], user["password"])
    access_token = confidential_rp.exchange(attempt).get_json()["access_token"]

    response = confidential_rp.introspect(access_token)

    assert response.status_code == 200
    assert response.get_json()["active"] is True
    assert "no-store" in response.headers["Cache-Control"]


def test_every_interaction_post_answers_303(public_rp, user):
    """RFC 9700 4.12: login, consent (approve and deny) and cancel all answer 303 See Other."""
    attempt = open_login_page(public_rp)
    login = public_rp.submit_login(attempt, user["username"], user["password"])
    assert login.status_code == 303
    public_rp.follow(attempt)
    deny = public_rp.submit_consent(attempt, "deny")
    assert deny.status_code == 303
    assert attempt.result["error"] == "access_denied"

    again = public_rp.authorize(ui_locales="en")
    public_rp.follow(again)
    approve = public_rp.submit_consent(again, "approve")
    assert approve.status_code == 303
    assert "code" in again.result


def test_cancel_on_the_login_page_answers_303(public_rp):
    """RFC 9700 4.12: the Cancel form ends the interaction with a 303 and access_denied."""
    attempt = open_login_page(public_rp)
    html = attempt.response.get_data(as_text=True)
    cancel = public_rp.browser.post(
        form_action(html, "/abort"), data={"csrf_token": csrf_token(html), "decision": "deny"}
    )

    assert cancel.status_code == 303
    assert cancel.headers["Location"].startswith(public_rp.redirect_uri)
    assert "error=access_denied" in cancel.headers["Location"]


@pytest.mark.parametrize("method", ["GET", "POST", "OPTIONS"])
def test_authorize_sends_no_cors_headers(public_rp, method):
    """The authorization endpoint is navigated to, never fetched cross-origin: no CORS headers."""
    params, _verifier = public_rp.authorization_params()
    headers = {
        "Origin": "https://evil.example.com",
        "Access-Control-Request-Method": "GET",
    }
    if method == "POST":
        response = public_rp.browser.post("/authorize", data=params, headers=headers)
    else:
        response = public_rp.browser.open(
            "/authorize", method=method, query_string=params, headers=headers
        )

    cors = [name for name in response.headers.keys() if name.lower().startswith("access-control-")]
    assert cors == []
