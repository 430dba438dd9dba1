"""Withdrawing a portal's consent from the user space.

PIPL article 15 (consent may be withdrawn, and easily), issue #3 item 4 ("users can withdraw a
consent; the portal's refresh tokens for that account stop working at once"), RFC 6749 section
5.2 (``invalid_grant`` for a revoked refresh token), RFC 6750 section 3.1 (401 for a revoked
access token), OIDC Core 3.1.2.4 (consent is asked again once it is gone).
"""

from __future__ import annotations

from tests.account.helpers import (
    account_login,
    consent_rows,
    create_user,
    signed_in_page,
    withdraw,
)
from tests.support import csrf_token
from tests.token.helpers import obtain


def _still_works(rp, tokens):  # type: ignore[no-untyped-def]
    refreshed = rp.refresh(tokens["refresh_token"])
    assert refreshed.status_code == 200, refreshed.get_json()
    fresh = refreshed.get_json()
    assert rp.userinfo(fresh["access_token"]).status_code == 200
    return fresh


def test_consents_page_lists_the_portal_in_plain_words(client, confidential_rp, user):
    """After a portal login with consent, the portal is listed with what it may receive."""
    obtain(confidential_rp, user)

    html = signed_in_page(client, "/account/consents?lang=en")

    assert consent_rows(html) == [confidential_rp.client_id]
    assert "Confidential Portal" in html
    assert 'data-claim="name">Your real name<' in html
    assert "<code>openid profile</code>" in html
    assert user["name"] not in html


def test_withdrawing_stops_the_portals_tokens_and_asks_again(client, confidential_rp, user):
    """Withdrawal revokes the portal's refresh and access tokens at once, removes the row, and
    the next authorization at that portal shows the consent page again."""
    _attempt, tokens = obtain(confidential_rp, user)

    response = withdraw(client, confidential_rp.client_id)

    assert response.status_code == 303
    assert response.headers["Location"] == "/account/consents?withdrawn=1"
    refreshed = confidential_rp.refresh(tokens["refresh_token"])
    assert refreshed.status_code == 400
    assert refreshed.get_json()["error"] == "invalid_grant"
    assert confidential_rp.userinfo(tokens["access_token"]).status_code == 401
    page = signed_in_page(client, response.headers["Location"])
    assert consent_rows(page) == []
    assert 'class="note" role="status" id="account-notice"' in page
    again = confidential_rp.authorize()
    html = confidential_rp.follow(again)  # still logged in: straight to the consent step
    assert 'value="approve"' in html and 'name="password"' not in html
    assert "/consent" in html


def test_withdrawal_without_csrf_token_changes_nothing(client, confidential_rp, user):
    """A forged withdrawal (no CSRF token) answers 400 and withdraws nothing."""
    _attempt, tokens = obtain(confidential_rp, user)

    response = withdraw(client, confidential_rp.client_id, with_csrf=False)

    assert response.status_code == 400
    assert consent_rows(signed_in_page(client, "/account/consents")) == [confidential_rp.client_id]
    _still_works(confidential_rp, tokens)


def test_a_person_cannot_withdraw_another_persons_consent(app, cli, confidential_rp, user):
    """Withdrawal acts on the signed-in account only: a client id the person has no consent for
    changes nothing and is answered with a clear message, not an error page."""
    _attempt, alice_tokens = obtain(confidential_rp, user)
    bob = create_user(cli, "bob", "李四")
    bob_browser = app.test_client()
    account_login(bob_browser, bob["username"], bob["password"])

    for client_id in (confidential_rp.client_id, "no-such-portal", "x" * 300, ""):
        response = withdraw(bob_browser, client_id)
        assert response.status_code == 303
        assert response.headers["Location"] == "/account/consents?withdrawn=0"
        page = bob_browser.get(response.headers["Location"] + "&lang=en")
        assert page.status_code == 200
        assert "There is no consent for that portal to withdraw" in page.get_data(as_text=True)

    _still_works(confidential_rp, alice_tokens)
    alice_page = signed_in_page(confidential_rp.browser, "/account/consents")
    assert consent_rows(alice_page) == [confidential_rp.client_id]


def test_withdrawal_needs_the_sso_session(app, client, confidential_rp, user):
    """Without the session the withdrawal is sent to the login page and nothing changes."""
    _attempt, tokens = obtain(confidential_rp, user)
    html = signed_in_page(client, "/account/consents")
    client.delete_cookie("idp_session")

    response = client.post(
        "/account/consents/withdraw",
        data={"csrf_token": csrf_token(html), "client_id": confidential_rp.client_id},
    )

    assert response.status_code == 303
    assert response.headers["Location"].startswith("/account/login?next=")
    _still_works(confidential_rp, tokens)
