"""Token introspection (RFC 7662)."""

from __future__ import annotations

import time

import pytest

from tests.token.helpers import basic, obtain


@pytest.fixture
def tokens(confidential_rp, user):  # type: ignore[no-untyped-def]
    return obtain(confidential_rp, user)[1]


def test_requires_client_authentication(client, tokens):
    """RFC 7662 section 2.1: the endpoint requires authorization; RFC 6749 5.2: 401
    invalid_client."""
    response = client.post("/introspect", data={"token": tokens["access_token"]})

    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_client"
    assert "active" not in response.get_json()
    assert response.headers["Cache-Control"] == "no-store"


def test_wrong_secret_is_invalid_client(client, confidential_rp, tokens):
    """RFC 7662 section 2.3: a failed client authentication is 401 invalid_client."""
    response = client.post(
        "/introspect",
        data={"token": tokens["access_token"]},
        headers=basic(confidential_rp.client_id, "not-the-secret"),
    )

    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_client"
    assert response.headers["WWW-Authenticate"].startswith("Basic")


def test_public_client_cannot_introspect(public_rp, user):
    """RFC 7662 section 2.1 / RFC 9700: introspection needs a client that can authenticate;
    a client_id alone is not authentication."""
    _, tokens = obtain(public_rp, user)

    response = public_rp.introspect(tokens["access_token"])

    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_client"


def test_registered_auth_method_is_enforced(client, confidential_rp, tokens):
    """OIDC Core 9: a client registered for client_secret_basic cannot switch to post."""
    response = client.post(
        "/introspect",
        data={
            "token": tokens["access_token"],
            "client_id": confidential_rp.client_id,
            "client_secret": confidential_rp.client_secret,
        },
    )

    assert response.status_code in (400, 401)
    assert response.get_json()["error"] == "invalid_client"


def test_active_access_token(confidential_rp, tokens, user):
    """RFC 7662 section 2.2: active true with scope, client_id, sub, exp, iat, iss and
    token_type."""
    before = int(time.time())

    response = confidential_rp.introspect(tokens["access_token"])

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["active"] is True
    assert set(body["scope"].split()) == {"openid", "profile"}
    assert body["client_id"] == confidential_rp.client_id
    assert body["sub"] == user["sub"]
    assert body["iss"] == "http://localhost"
    assert body["token_type"] == "Bearer"
    assert before - 60 <= body["iat"] <= before + 1
    assert body["exp"] == pytest.approx(body["iat"] + tokens["expires_in"], abs=2)


def test_refresh_token_is_introspectable(confidential_rp, tokens, user):
    """RFC 7662 section 2.1: any token the server issued, refresh tokens included."""
    response = confidential_rp.introspect(tokens["refresh_token"], token_type_hint="refresh_token")

    body = response.get_json()
    assert body["active"] is True
    assert body["client_id"] == confidential_rp.client_id
    assert body["sub"] == user["sub"]
    assert body["exp"] > body["iat"]


def test_wrong_hint_still_finds_the_token(confidential_rp, tokens):
    """RFC 7662 section 2.1: if the hint does not locate the token, the search is extended."""
    response = confidential_rp.introspect(tokens["access_token"], token_type_hint="refresh_token")

    assert response.get_json()["active"] is True


def test_revoked_token_is_only_active_false(confidential_rp, tokens):
    """RFC 7662 section 2.2: for an inactive token the server SHOULD NOT include anything
    else than active=false."""
    confidential_rp.revoke(tokens["refresh_token"])

    for token in (tokens["access_token"], tokens["refresh_token"]):
        response = confidential_rp.introspect(token)
        assert response.status_code == 200
        assert response.get_json() == {"active": False}


def test_unknown_token_is_only_active_false(confidential_rp):
    """RFC 7662 section 2.2: a token the server does not know is not active."""
    response = confidential_rp.introspect("not-a-token-this-provider-issued")

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.get_json() == {"active": False}


def test_another_clients_token_is_inactive(confidential_rp, other_rp, tokens):
    """RFC 7662 section 4: a client may not learn about tokens issued to another client."""
    for token in (tokens["access_token"], tokens["refresh_token"]):
        response = other_rp.introspect(token)
        assert response.status_code == 200
        assert response.get_json() == {"active": False}
    assert confidential_rp.introspect(tokens["access_token"]).get_json()["active"] is True


def test_missing_token_is_invalid_request(confidential_rp):
    """RFC 7662 section 2.1: token is REQUIRED."""
    headers, form = confidential_rp.client_auth()
    response = confidential_rp.browser.post("/introspect", data=form, headers=headers)

    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_request"
    assert response.headers["Cache-Control"] == "no-store"


def test_private_key_jwt_client_can_introspect(key_rp, user):
    """RFC 8414 introspection_endpoint_auth_methods_supported lists private_key_jwt."""
    _, tokens = obtain(key_rp, user)

    response = key_rp.introspect(tokens["access_token"])

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["active"] is True


def test_client_secret_post_client_can_introspect(post_rp, user):
    """RFC 8414 introspection_endpoint_auth_methods_supported lists client_secret_post."""
    _, tokens = obtain(post_rp, user)

    response = post_rp.introspect(tokens["refresh_token"])

    assert response.get_json()["active"] is True
