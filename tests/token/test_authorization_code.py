"""Authorization codes at the token endpoint (RFC 6749 sections 4.1.2 and 4.1.3, RFC 9700 4.2.4)."""

from __future__ import annotations

import json

from tests.token.helpers import obtain


def test_code_is_stored_hashed_for_at_most_60_seconds(confidential_rp, user, redis_client):
    """RFC 9700 section 2.1.1 / 4.2.4: a short code lifetime (at most 60 s, and the code is
    not kept in clear: the key holds a hash, so a Redis dump does not reveal live codes)."""
    attempt = confidential_rp.login(user["username"], user["password"])
    code = attempt.result["code"]

    keys = [key.decode() for key in redis_client.scan_iter("idp:code:*")]
    assert len(keys) == 1
    assert code not in keys[0]
    assert 0 < redis_client.ttl(keys[0]) <= 60
    assert code not in redis_client.get(keys[0]).decode()
    assert json.loads(redis_client.get(keys[0]))["client_id"] == confidential_rp.client_id


def test_second_redemption_fails_and_revokes_what_the_first_issued(confidential_rp, user):
    """RFC 6749 section 4.1.2: a code used twice is refused and the authorization server
    SHOULD revoke all tokens previously issued from it (RFC 9700 section 4.2.4)."""
    attempt, tokens = obtain(confidential_rp, user)
    assert confidential_rp.userinfo(tokens["access_token"]).status_code == 200

    again = confidential_rp.exchange(attempt)

    assert again.status_code == 400
    assert again.get_json()["error"] == "invalid_grant"
    assert "access_token" not in again.get_json()
    assert confidential_rp.userinfo(tokens["access_token"]).status_code == 401
    assert confidential_rp.introspect(tokens["access_token"]).get_json() == {"active": False}
    refreshed = confidential_rp.refresh(tokens["refresh_token"])
    assert refreshed.status_code == 400
    assert refreshed.get_json()["error"] == "invalid_grant"


def test_second_redemption_also_revokes_tokens_refreshed_since(confidential_rp, user):
    """RFC 9700 section 4.2.4: "all tokens" issued from the code includes those obtained by
    refreshing after the first redemption."""
    attempt, tokens = obtain(confidential_rp, user)
    refreshed = confidential_rp.refresh(tokens["refresh_token"]).get_json()
    assert confidential_rp.userinfo(refreshed["access_token"]).status_code == 200

    assert confidential_rp.exchange(attempt).status_code == 400

    assert confidential_rp.userinfo(refreshed["access_token"]).status_code == 401
    assert confidential_rp.introspect(refreshed["refresh_token"]).get_json() == {"active": False}
    retry = confidential_rp.refresh(refreshed["refresh_token"])
    assert retry.status_code == 400
    assert retry.get_json()["error"] == "invalid_grant"


def test_code_issued_to_another_client_is_refused(confidential_rp, other_rp, user):
    """RFC 6749 section 4.1.3: the code must have been issued to the authenticated client."""
    attempt = confidential_rp.login(user["username"], user["password"])

    response = other_rp.exchange(attempt)

    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_grant"
    assert "access_token" not in response.get_json()


def test_redirect_uri_must_match_the_authorization_request(confidential_rp, user):
    """RFC 6749 section 4.1.3: redirect_uri identical to the one in the authorization request."""
    attempt = confidential_rp.login(user["username"], user["password"])

    response = confidential_rp.exchange(attempt, redirect_uri="https://portal.example.gov.cn/other")

    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_grant"


def test_missing_redirect_uri_is_refused(confidential_rp, user):
    """RFC 6749 section 4.1.3: redirect_uri is REQUIRED when it was in the authorization
    request (and OIDC Core 3.1.2.1 always requires it there)."""
    attempt = confidential_rp.login(user["username"], user["password"])
    form = {
        "grant_type": "authorization_code",
        "code": attempt.result["code"],
        "code_verifier": attempt.verifier,
    }

    response = confidential_rp.token_request(**form)

    assert response.status_code == 400
    assert response.get_json()["error"] in {"invalid_grant", "invalid_request"}


def test_missing_code_is_invalid_request(confidential_rp):
    """RFC 6749 sections 4.1.3 and 5.2: a missing required parameter is invalid_request."""
    response = confidential_rp.token_request(
        grant_type="authorization_code", redirect_uri=confidential_rp.redirect_uri
    )

    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_request"


def test_unknown_code_is_invalid_grant(confidential_rp):
    """RFC 6749 section 5.2: an invalid or expired authorization code is invalid_grant."""
    response = confidential_rp.token_request(
        grant_type="authorization_code",
        code="not-a-code-this-provider-issued",
        redirect_uri=confidential_rp.redirect_uri,
    )

    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_grant"
