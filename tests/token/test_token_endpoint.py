"""The token endpoint as an HTTP resource (RFC 6749 sections 3.2, 5.1 and 5.2)."""

from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict

from tests.token.helpers import basic


def _auth(rp):  # type: ignore[no-untyped-def]
    return basic(rp.client_id, rp.client_secret)


def test_get_is_405_json(client):
    """RFC 6749 section 3.2: the client MUST use POST; a GET gets a JSON 405, not a page."""
    response = client.get("/token?grant_type=authorization_code&code=x")

    assert response.status_code == 405
    assert response.is_json
    assert response.get_json()["error"] == "invalid_request"
    assert "POST" in response.headers["Allow"]
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_other_methods_are_405_json(client, method):
    """RFC 9110 section 15.5.6: 405 with Allow; back-channel endpoints answer JSON."""
    response = client.open("/token", method=method)

    assert response.status_code == 405
    assert response.is_json


@pytest.mark.parametrize(
    "grant_type",
    [
        "password",
        "implicit",
        "token",
        "urn:ietf:params:oauth:grant-type:device_code",
        "urn:ietf:params:oauth:grant-type:jwt-bearer",
        "something-else",
    ],
)
def test_unsupported_grant_types(client, confidential_rp, grant_type):
    """RFC 6749 section 5.2: unsupported_grant_type; RFC 9700 2.4 forbids the password grant,
    and 2.1.2 the implicit flow. (client_credentials is supported, for portals registered for a
    portal scope only: tests/user_space/test_matters.py.)"""
    response = client.post(
        "/token",
        data={
            "grant_type": grant_type,
            "username": "alice",
            "password": "correct horse battery",
            "scope": "openid",
        },
        headers=_auth(confidential_rp),
    )

    assert response.status_code == 400
    assert response.get_json()["error"] == "unsupported_grant_type"
    assert "access_token" not in response.get_json()
    assert response.headers["Cache-Control"] == "no-store"


def test_missing_grant_type_is_refused(client, confidential_rp):
    """RFC 6749 section 4.1.3: grant_type is REQUIRED; its absence is an error, never 500."""
    response = client.post("/token", data={"code": "x"}, headers=_auth(confidential_rp))

    assert response.status_code == 400
    assert response.get_json()["error"] in {"invalid_request", "unsupported_grant_type"}


def test_json_body_is_refused_without_server_error(client, confidential_rp):
    """RFC 6749 section 4.1.3: parameters come form-encoded; a JSON body is a bad request."""
    response = client.post(
        "/token",
        json={"grant_type": "authorization_code", "code": "x"},
        headers=_auth(confidential_rp),
    )

    assert response.status_code == 400
    assert response.is_json


def test_repeated_parameter_is_invalid_request(confidential_rp, user):
    """RFC 6749 section 3.2: parameters MUST NOT be included more than once."""
    attempt = confidential_rp.login(user["username"], user["password"])
    form = [
        ("grant_type", "authorization_code"),
        ("code", attempt.result["code"]),
        ("code", attempt.result["code"]),
        ("redirect_uri", confidential_rp.redirect_uri),
        ("code_verifier", attempt.verifier),
    ]
    response = confidential_rp.browser.post(
        "/token", data=MultiDict(form), headers=_auth(confidential_rp)
    )

    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_request"


def test_success_and_errors_are_not_cached(confidential_rp, user):
    """RFC 6749 section 5.1: Cache-Control: no-store on token responses; also on errors,
    which may carry details about a grant (5.2)."""
    attempt = confidential_rp.login(user["username"], user["password"])
    success = confidential_rp.exchange(attempt)
    failure = confidential_rp.exchange(attempt)

    assert success.status_code == 200
    assert failure.status_code == 400
    for response in (success, failure):
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["Content-Type"].startswith("application/json")


def test_successful_response_shape(confidential_rp, user):
    """RFC 6749 section 5.1 / OIDC Core 3.1.3.3: token_type Bearer, expires_in, scope,
    refresh_token and id_token."""
    attempt = confidential_rp.login(user["username"], user["password"])

    body = confidential_rp.exchange(attempt).get_json()

    assert body["token_type"] == "Bearer"
    assert isinstance(body["expires_in"], int) and body["expires_in"] > 0
    assert set(body["scope"].split()) == {"openid", "profile"}
    assert body["access_token"] and body["refresh_token"] and body["id_token"]
