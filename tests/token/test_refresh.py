"""Refresh tokens (RFC 6749 section 6, RFC 9700 section 4.14.2, OIDC Core section 12)."""

from __future__ import annotations

from tests.token.helpers import at_hash, obtain


def _error(response) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code in (400, 401), response.status_code
    return response.get_json()["error"]


def test_refresh_rotates_the_refresh_token(confidential_rp, user):
    """RFC 9700 section 4.14.2: each refresh issues a new refresh token; the old one is spent."""
    _, tokens = obtain(confidential_rp, user)

    first = confidential_rp.refresh(tokens["refresh_token"])
    assert first.status_code == 200, first.get_json()
    rotated = first.get_json()
    second = confidential_rp.refresh(rotated["refresh_token"])
    assert second.status_code == 200, second.get_json()

    assert rotated["refresh_token"] != tokens["refresh_token"]
    assert rotated["access_token"] != tokens["access_token"]
    assert second.get_json()["refresh_token"] not in {
        tokens["refresh_token"],
        rotated["refresh_token"],
    }
    assert confidential_rp.userinfo(rotated["access_token"]).status_code == 200
    assert confidential_rp.introspect(tokens["refresh_token"]).get_json() == {"active": False}


def test_reusing_a_rotated_refresh_token_revokes_the_family(confidential_rp, user):
    """RFC 9700 section 4.14.2: a rotated refresh token presented again means it leaked; the
    whole family (newest refresh token and every access token) is revoked."""
    _, tokens = obtain(confidential_rp, user)
    rotated = confidential_rp.refresh(tokens["refresh_token"]).get_json()
    newest = confidential_rp.refresh(rotated["refresh_token"]).get_json()
    assert confidential_rp.userinfo(newest["access_token"]).status_code == 200

    replay = confidential_rp.refresh(tokens["refresh_token"])

    assert _error(replay) == "invalid_grant"
    assert _error(confidential_rp.refresh(newest["refresh_token"])) == "invalid_grant"
    for access_token in (tokens["access_token"], rotated["access_token"], newest["access_token"]):
        assert confidential_rp.userinfo(access_token).status_code == 401
        assert confidential_rp.introspect(access_token).get_json() == {"active": False}


def test_refresh_token_is_bound_to_its_client(confidential_rp, other_rp, user):
    """RFC 6749 section 6 / RFC 9700 4.14.2: a refresh token presented by another client is
    invalid_grant, and it keeps working for its own client."""
    _, tokens = obtain(confidential_rp, user)

    stolen = other_rp.refresh(tokens["refresh_token"])

    assert _error(stolen) == "invalid_grant"
    assert confidential_rp.refresh(tokens["refresh_token"]).status_code == 200


def test_public_client_refresh_is_bound_to_its_client_id(public_rp, confidential_rp, user):
    """RFC 6749 section 6: a public client's refresh token cannot be used by another client."""
    _, tokens = obtain(public_rp, user)

    stolen = confidential_rp.refresh(tokens["refresh_token"])

    assert _error(stolen) == "invalid_grant"
    refreshed = public_rp.refresh(tokens["refresh_token"])
    assert refreshed.status_code == 200, refreshed.get_json()


def test_narrower_scope_on_refresh(confidential_rp, user):
    """RFC 6749 section 6: the client may ask for fewer scopes; the new refresh token keeps
    the original scope ("identical to that of the refresh token included by the client")."""
    _, tokens = obtain(confidential_rp, user)

    narrowed = confidential_rp.refresh(tokens["refresh_token"], scope="openid")

    assert narrowed.status_code == 200, narrowed.get_json()
    body = narrowed.get_json()
    assert body["scope"] == "openid"
    assert set(confidential_rp.userinfo(body["access_token"]).get_json()) == {"sub"}
    introspected = confidential_rp.introspect(body["refresh_token"]).get_json()
    assert set(introspected["scope"].split()) == {"openid", "profile"}
    restored = confidential_rp.refresh(body["refresh_token"], scope="openid profile")
    assert restored.status_code == 200, restored.get_json()
    assert set(restored.get_json()["scope"].split()) == {"openid", "profile"}


def test_wider_scope_on_refresh_is_invalid_scope(confidential_rp, user):
    """RFC 6749 section 6: the requested scope MUST NOT include any scope not originally
    granted; the refresh token stays usable."""
    _, tokens = obtain(confidential_rp, user, scope="openid")

    widened = confidential_rp.refresh(tokens["refresh_token"], scope="openid profile")

    assert _error(widened) == "invalid_scope"
    assert confidential_rp.refresh(tokens["refresh_token"]).status_code == 200


def test_refresh_returns_id_token_of_the_original_authentication(confidential_rp, user):
    """OIDC Core 12.2: same iss, sub and aud; auth_time of the original authentication; a new
    iat; at_hash for the new access token."""
    attempt, tokens = obtain(confidential_rp, user)
    original = confidential_rp.validate_id_token(tokens["id_token"], attempt.params["nonce"])

    refreshed = confidential_rp.refresh(tokens["refresh_token"]).get_json()

    claims = confidential_rp.validate_id_token(refreshed["id_token"])
    assert claims["sub"] == original["sub"]
    assert claims["auth_time"] == original["auth_time"]
    assert claims["iss"] == original["iss"]
    assert claims["aud"] == original["aud"]
    assert claims["iat"] >= original["iat"]
    assert claims["at_hash"] == at_hash(refreshed["access_token"])
    # OIDC Core 12.2 (errata set 2): a nonce MAY be absent; if present, the original one.
    assert claims.get("nonce") in (None, original["nonce"])


def test_missing_refresh_token_is_invalid_request(confidential_rp):
    """RFC 6749 sections 6 and 5.2: refresh_token is REQUIRED."""
    response = confidential_rp.token_request(grant_type="refresh_token")

    assert _error(response) == "invalid_request"


def test_access_token_is_not_a_refresh_token(confidential_rp, user):
    """RFC 6749 section 6: only a refresh token issued to the client is accepted."""
    _, tokens = obtain(confidential_rp, user)

    response = confidential_rp.refresh(tokens["access_token"])

    assert _error(response) == "invalid_grant"
