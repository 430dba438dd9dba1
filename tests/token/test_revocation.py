"""Token revocation (RFC 7009)."""

from __future__ import annotations

import pytest

from tests.token.helpers import basic, obtain


@pytest.fixture
def tokens(confidential_rp, user):  # type: ignore[no-untyped-def]
    return obtain(confidential_rp, user)[1]


def test_revoking_access_token_leaves_refresh_token_working(confidential_rp, tokens):
    """RFC 7009 section 2.1: revoking an access token MAY leave the refresh token alone."""
    response = confidential_rp.revoke(tokens["access_token"], token_type_hint="access_token")

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert confidential_rp.userinfo(tokens["access_token"]).status_code == 401
    assert confidential_rp.introspect(tokens["access_token"]).get_json() == {"active": False}
    refreshed = confidential_rp.refresh(tokens["refresh_token"])
    assert refreshed.status_code == 200, refreshed.get_json()
    assert confidential_rp.userinfo(refreshed.get_json()["access_token"]).status_code == 200


def test_revoking_refresh_token_revokes_the_grant(confidential_rp, tokens):
    """RFC 7009 section 2.1: revoking a refresh token SHOULD also invalidate the access tokens
    of the same authorization grant."""
    response = confidential_rp.revoke(tokens["refresh_token"], token_type_hint="refresh_token")

    assert response.status_code == 200
    assert confidential_rp.userinfo(tokens["access_token"]).status_code == 401
    assert confidential_rp.introspect(tokens["access_token"]).get_json() == {"active": False}
    assert confidential_rp.introspect(tokens["refresh_token"]).get_json() == {"active": False}
    refreshed = confidential_rp.refresh(tokens["refresh_token"])
    assert refreshed.status_code == 400
    assert refreshed.get_json()["error"] == "invalid_grant"


def test_wrong_hint_still_finds_the_token(confidential_rp, tokens):
    """RFC 7009 section 2.1: if the hint is wrong the server MUST extend its search."""
    response = confidential_rp.revoke(tokens["refresh_token"], token_type_hint="access_token")

    assert response.status_code == 200
    assert confidential_rp.introspect(tokens["refresh_token"]).get_json() == {"active": False}


def test_unknown_token_is_200(confidential_rp):
    """RFC 7009 section 2.2: invalid tokens do not cause an error response."""
    response = confidential_rp.revoke("not-a-token-this-provider-issued")

    assert response.status_code == 200


def test_client_cannot_revoke_another_clients_token(confidential_rp, other_rp, tokens):
    """RFC 7009 section 2.1: the server verifies the token was issued to the requesting client;
    "if this validation fails, the request is refused and the client is informed of the
    error" - and the token stays active."""
    response = other_rp.revoke(tokens["access_token"])

    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_grant"
    assert confidential_rp.introspect(tokens["access_token"]).get_json()["active"] is True
    assert confidential_rp.userinfo(tokens["access_token"]).status_code == 200
    response = other_rp.revoke(tokens["refresh_token"])
    assert response.status_code == 400
    assert confidential_rp.introspect(tokens["refresh_token"]).get_json()["active"] is True


def test_public_client_revokes_with_client_id(public_rp, user):
    """RFC 7009 section 2.1 / RFC 6749 2.1: a public client identifies itself by client_id."""
    _, tokens = obtain(public_rp, user)

    response = public_rp.revoke(tokens["refresh_token"])

    assert response.status_code == 200
    assert public_rp.userinfo(tokens["access_token"]).status_code == 401


def test_revocation_requires_client_authentication(client, confidential_rp, tokens):
    """RFC 7009 section 2.1: the server first validates the client credentials."""
    unauthenticated = client.post("/revoke", data={"token": tokens["access_token"]})
    wrong_secret = client.post(
        "/revoke",
        data={"token": tokens["access_token"]},
        headers=basic(confidential_rp.client_id, "not-the-secret"),
    )
    id_only = client.post(
        "/revoke", data={"token": tokens["access_token"], "client_id": confidential_rp.client_id}
    )

    for response in (unauthenticated, wrong_secret, id_only):
        assert response.status_code == 401, response.get_json()
        assert response.get_json()["error"] == "invalid_client"
    assert confidential_rp.userinfo(tokens["access_token"]).status_code == 200


def test_revocation_uses_the_registered_auth_method(client, confidential_rp, tokens):
    """OIDC Core 9 / RFC 8414 revocation_endpoint_auth_methods: a client registered for
    client_secret_basic cannot switch to client_secret_post."""
    response = client.post(
        "/revoke",
        data={
            "token": tokens["access_token"],
            "client_id": confidential_rp.client_id,
            "client_secret": confidential_rp.client_secret,
        },
    )

    assert response.status_code in (400, 401)
    assert response.get_json()["error"] == "invalid_client"
    assert confidential_rp.userinfo(tokens["access_token"]).status_code == 200


def test_missing_token_is_invalid_request(confidential_rp):
    """RFC 7009 section 2.1: token is REQUIRED."""
    headers, form = confidential_rp.client_auth()
    response = confidential_rp.browser.post("/revoke", data=form, headers=headers)

    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_request"


def test_unsupported_token_type_hint(confidential_rp, tokens):
    """RFC 7009 section 2.2.1: unsupported_token_type for a hint the server does not know."""
    response = confidential_rp.revoke(tokens["access_token"], token_type_hint="id_token")

    assert response.status_code == 400
    assert response.get_json()["error"] == "unsupported_token_type"
    assert confidential_rp.userinfo(tokens["access_token"]).status_code == 200


def test_get_is_not_allowed(client, tokens):
    """RFC 7009 section 2.1: the revocation request is an HTTP POST."""
    response = client.get(f"/revoke?token={tokens['access_token']}")

    assert response.status_code == 405
    assert response.is_json
