"""The UserInfo endpoint (OIDC Core 5.3, RFC 6750 sections 2 and 3)."""

from __future__ import annotations

import pytest

from tests.token.helpers import obtain


@pytest.fixture
def tokens(confidential_rp, user):  # type: ignore[no-untyped-def]
    return obtain(confidential_rp, user)[1]


def _claims_ok(response, user) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.get_json()
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["sub"] == user["sub"]
    assert body["name"] == user["name"]


def test_get_with_bearer_header(client, tokens, user):
    """RFC 6750 2.1 / OIDC Core 5.3.1: GET with Authorization: Bearer."""
    response = client.get(
        "/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )

    _claims_ok(response, user)


def test_post_with_bearer_header(client, tokens, user):
    """OIDC Core 5.3.1: the endpoint supports POST as well as GET."""
    response = client.post(
        "/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )

    _claims_ok(response, user)


def test_post_with_token_in_form_body(client, tokens, user):
    """RFC 6750 section 2.2: access_token as a form-encoded body parameter."""
    response = client.post("/userinfo", data={"access_token": tokens["access_token"]})

    _claims_ok(response, user)


def test_token_in_query_string_is_not_accepted(client, tokens):
    """RFC 9700 section 2.4 / RFC 6750 2.3: access tokens in URIs must not be used; the
    request is treated as unauthenticated."""
    response = client.get(f"/userinfo?access_token={tokens['access_token']}")

    assert response.status_code in (400, 401)
    assert "sub" not in (response.get_json() or {})


def test_token_in_header_and_body_is_invalid_request(client, tokens):
    """RFC 6750 section 2: clients MUST NOT use more than one method to send the token."""
    response = client.post(
        "/userinfo",
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
        data={"access_token": tokens["access_token"]},
    )

    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_request"
    assert 'error="invalid_request"' in response.headers["WWW-Authenticate"]
    assert response.headers["Cache-Control"] == "no-store"


def test_missing_token_is_401_with_bearer_challenge(client):
    """RFC 6750 section 3.1: a request without authentication gets a bare Bearer challenge
    and no error code."""
    response = client.get("/userinfo")

    assert response.status_code == 401
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer")
    assert "error=" not in challenge
    assert response.headers["Cache-Control"] == "no-store"


def test_invalid_token_is_401_invalid_token(client, tokens):
    """RFC 6750 section 3.1: an unknown, revoked or expired token is invalid_token (401)."""
    response = client.get("/userinfo", headers={"Authorization": "Bearer not-a-real-token"})

    assert response.status_code == 401
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer")
    assert 'error="invalid_token"' in challenge
    assert response.get_json()["error"] == "invalid_token"
    assert response.headers["Cache-Control"] == "no-store"


def test_refresh_token_is_not_an_access_token(client, tokens):
    """RFC 6750 section 3.1: only access tokens are accepted at a protected resource."""
    response = client.get(
        "/userinfo", headers={"Authorization": f"Bearer {tokens['refresh_token']}"}
    )

    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_non_bearer_authorization_scheme_gets_bare_challenge(client, tokens):
    """RFC 6750 section 3.1: a request "attempted using an unsupported authentication method"
    gets 401 with a Bearer challenge and no error code."""
    response = client.get("/userinfo", headers={"Authorization": f"Basic {tokens['access_token']}"})

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "error=" not in response.headers["WWW-Authenticate"]
    assert "sub" not in response.get_json()


def test_empty_bearer_credentials_are_invalid_request(client):
    """RFC 6750 sections 2.1 and 3.1: "Bearer" without a token is a malformed request."""
    response = client.get("/userinfo", headers={"Authorization": "Bearer "})

    assert response.status_code in (400, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "sub" not in response.get_json()
