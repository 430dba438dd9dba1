"""Signed request objects (JAR, RFC 9101): ``request`` by value at /authorize and at /par."""

from __future__ import annotations

import base64
import json
import time

import pytest

from tests.fapi.helpers import authorize_url, key_portal, push, pushed_login, redirect_params
from tests.token.helpers import rsa_key


@pytest.fixture
def rp(cli, client, tmp_path):  # type: ignore[no-untyped-def]
    return key_portal(cli, client, tmp_path)


def _object_login(rp, user, token, **outside):  # type: ignore[no-untyped-def]
    dropped = dict.fromkeys(
        ("response_type", "redirect_uri", "scope", "state", "nonce", "code_challenge")
    )
    return rp.login(
        user["username"],
        user["password"],
        **{**dropped, "code_challenge_method": None, "request": token, **outside},
    )


def test_request_object_by_value(rp, user):
    """RFC 9101 4, 5.1: the parameters in a JWT signed with the portal's key; the flow completes
    with them (PKCE verifier, nonce, state from the object)."""
    params, verifier = rp.authorization_params()
    token = rp.request_object(params)

    attempt = _object_login(rp, user, token)
    attempt.verifier = verifier

    assert attempt.result["state"] == params["state"]
    tokens = rp.exchange(attempt)
    assert tokens.status_code == 200, tokens.get_json()
    assert rp.validate_id_token(tokens.get_json()["id_token"], params["nonce"])


def test_only_the_objects_parameters_are_used(rp, user):
    """RFC 9101 6.3: parameters outside the object are ignored."""
    params, verifier = rp.authorization_params(scope="openid")
    token = rp.request_object(params)

    attempt = _object_login(rp, user, token, scope="openid profile", state="outside")
    attempt.verifier = verifier

    assert attempt.result["state"] == params["state"]
    assert rp.exchange(attempt).get_json()["scope"] == "openid"


def test_request_object_pushed(rp, user):
    """RFC 9126 3 with RFC 9101: the object pushed to /par, the request_uri at /authorize."""
    params, verifier = rp.authorization_params()
    headers, auth_fields = rp.client_auth()
    response = rp.browser.post(
        "/par",
        data={**auth_fields, "client_id": rp.client_id, "request": rp.request_object(params)},
        headers=headers,
    )
    assert response.status_code == 201, response.get_json()

    attempt = pushed_login(rp, user, response.get_json()["request_uri"], verifier)

    assert attempt.result["state"] == params["state"]
    assert rp.exchange(attempt).status_code == 200


def _refusal(rp, token, outer_redirect=True):  # type: ignore[no-untyped-def]
    extra = {"redirect_uri": rp.redirect_uri, "state": "outer"} if outer_redirect else {}
    return rp.browser.get(authorize_url(rp, request=token, **extra))


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"aud": "https://someone-else.example"}, "'aud'"),
        ({"iss": "another-client"}, "'iss'"),
        ({"exp": None}, "'exp'"),
        ({"exp": float("inf")}, "'exp'"),
        ({"exp": "tomorrow"}, "'exp'"),
        ({"exp": int(time.time()) - 3600}, "expired"),
        ({"nbf": int(time.time()) + 3600}, "'nbf'"),
        ({"client_id": "another-client"}, "'client_id'"),
        ({"request_uri": "https://portal.example.gov.cn/x"}, "request_uri"),
    ],
)
def test_invalid_request_objects_are_refused(rp, overrides, reason):
    """RFC 9101 6.1-6.3: iss, aud, exp, nbf, client_id checked; the error goes to the redirect
    URI given outside the object (it is registered) as invalid_request_object."""
    params, _ = rp.authorization_params()
    response = _refusal(rp, rp.request_object(params, **overrides))

    result = redirect_params(response)
    assert result["error"] == "invalid_request_object"
    assert reason in result["error_description"]
    assert result["state"] == "outer"


def test_object_signed_with_another_key_is_refused(rp):
    params, _ = rp.authorization_params()
    rp.key = rsa_key("stranger")

    result = redirect_params(_refusal(rp, rp.request_object(params)))

    assert result["error"] == "invalid_request_object"
    assert "signature" in result["error_description"]


def test_unsigned_request_object_is_refused(rp):
    """RFC 9101 allows alg none; this provider never accepts it (FAPI 2.0 Message Signing)."""
    params, _ = rp.authorization_params()
    header = base64.urlsafe_b64encode(json.dumps({"alg": "none"}).encode()).rstrip(b"=")
    claims = {"iss": rp.client_id, "aud": "http://localhost", "exp": int(time.time()) + 60}
    body = base64.urlsafe_b64encode(json.dumps({**claims, **params}).encode()).rstrip(b"=")
    unsigned = f"{header.decode()}.{body.decode()}."

    result = redirect_params(_refusal(rp, unsigned))

    assert result["error"] == "invalid_request_object"


def test_refusal_without_a_trusted_redirect_uri_is_a_page(rp):
    """Nothing is redirected when no registered redirect URI is known (RFC 9101 6.3, 9700)."""
    params, _ = rp.authorization_params()
    response = _refusal(rp, rp.request_object(params, aud="nobody"), outer_redirect=False)

    assert response.status_code == 400
    assert "invalid_request_object" in response.get_data(as_text=True)


def test_replayed_request_object_is_refused(rp):
    """A jti is accepted once (RFC 9101 10.8 replay; FAPI 2.0 Message Signing)."""
    params, _ = rp.authorization_params()
    token = rp.request_object(params)
    first = _refusal(rp, token)
    assert first.status_code == 303 and "/interaction/" in first.headers["Location"]

    result = redirect_params(_refusal(rp, token))

    assert result["error"] == "invalid_request_object"
    assert "already used" in result["error_description"]


def test_portal_requiring_signed_request_objects(cli, rp, user):
    """RFC 9101 10.5: require_signed_request_object: plain parameters refused at /authorize
    and at /par; a signed object accepted."""
    cli.ok("clients", "update", rp.client_id, "--require-signed-request-object", "yes")

    plain = rp.authorize()
    pushed, _, _ = push(rp)
    params, verifier = rp.authorization_params()
    signed = _object_login(rp, user, rp.request_object(params))

    assert plain.result["error"] == "invalid_request"
    assert "signed request object" in plain.result["error_description"]
    assert pushed.status_code == 400
    assert pushed.get_json()["error"] == "invalid_request"
    assert "code" in signed.result


def test_registered_request_object_algorithm_is_the_only_one(cli, rp):
    """OIDC Registration 2: request_object_signing_alg names the one algorithm accepted."""
    cli.ok("clients", "update", rp.client_id, "--request-object-alg", "ES256")
    params, _ = rp.authorization_params()

    result = redirect_params(_refusal(rp, rp.request_object(params)))

    assert result["error"] == "invalid_request_object"
    assert "ES256" in result["error_description"]


def test_signed_request_objects_need_keys(cli, confidential_rp):
    code, _, err = cli.run(
        "clients", "update", confidential_rp.client_id, "--require-signed-request-object", "yes"
    )

    assert code != 0
    assert "require_signed_request_object" in err


def test_discovery_advertises_request_objects(client):
    metadata = client.get("/.well-known/openid-configuration").get_json()

    assert metadata["request_parameter_supported"] is True
    assert metadata["request_uri_parameter_supported"] is False
    assert set(metadata["request_object_signing_alg_values_supported"]) == {
        "PS256",
        "ES256",
        "RS256",
    }
    assert metadata["require_signed_request_object"] is False


def test_pushed_request_object_satisfies_require_signed(cli, rp, user):
    """A request object pushed to /par counts as signed at /authorize (RFC 9101 10.5 with
    RFC 9126 3); plain pushed parameters do not get that far."""
    cli.ok("clients", "update", rp.client_id, "--require-signed-request-object", "yes")
    params, verifier = rp.authorization_params()
    headers, auth_fields = rp.client_auth()
    response = rp.browser.post(
        "/par",
        data={**auth_fields, "client_id": rp.client_id, "request": rp.request_object(params)},
        headers=headers,
    )
    assert response.status_code == 201, response.get_json()

    attempt = pushed_login(rp, user, response.get_json()["request_uri"], verifier)

    assert "code" in attempt.result, attempt.result
