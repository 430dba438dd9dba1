"""Signed authorization responses (OpenID JARM): response_mode jwt, query.jwt, fragment.jwt,
form_post.jwt; the JWT checked with jwcrypto against /jwks.json."""

from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

import pytest

from tests.fapi.helpers import redirect_params, verify_jwt
from tests.support import ISSUER

ALGS = ["RS256", "PS256", "ES256"]


def _claims(rp, token):  # type: ignore[no-untyped-def]
    header, claims = verify_jwt(rp.browser, token, ALGS)
    assert claims["iss"] == ISSUER
    assert claims["aud"] == rp.client_id
    assert time.time() < claims["exp"] <= time.time() + 60
    return header, claims


@pytest.mark.parametrize("mode", ["jwt", "query.jwt"])
def test_query_jwt_response(confidential_rp, user, mode):
    """JARM 2.3.1 (jwt is query.jwt for response_type=code): one parameter, response, whose
    claims are iss, aud, exp, code and state; the code works at the token endpoint."""
    attempt = confidential_rp.login(user["username"], user["password"], response_mode=mode)

    assert set(attempt.result) == {"response"}
    assert "?response=" in attempt.response.headers["Location"]
    header, claims = _claims(confidential_rp, attempt.result["response"])
    assert header["alg"] == "RS256"
    assert claims["state"] == attempt.params["state"]
    attempt.result = {"code": claims["code"]}
    assert confidential_rp.exchange(attempt).status_code == 200


def test_fragment_jwt_response(confidential_rp, user):
    attempt = confidential_rp.login(
        user["username"], user["password"], response_mode="fragment.jwt"
    )

    location = urlsplit(attempt.response.headers["Location"])
    assert location.query == ""
    _, claims = _claims(confidential_rp, redirect_params(attempt.response)["response"])
    assert "code" in claims


def test_form_post_jwt_response(confidential_rp, user):
    attempt = confidential_rp.login(
        user["username"], user["password"], response_mode="form_post.jwt"
    )

    html = attempt.response.get_data(as_text=True)
    assert attempt.response.status_code == 200
    assert 'method="post"' in html.lower()
    fields = dict(re.findall(r'name="([^"]+)"\s+value="([^"]*)"', html))
    assert set(fields) == {"response"}
    _, claims = _claims(confidential_rp, fields["response"])
    assert claims["state"] == attempt.params["state"]


def test_errors_are_signed_too(confidential_rp):
    """JARM 2.2: an error response is a JWT with error, error_description and state."""
    attempt = confidential_rp.authorize(response_mode="jwt", scope="openid nonsense")

    _, claims = _claims(confidential_rp, attempt.result["response"])
    assert claims["error"] == "invalid_scope"
    assert claims["state"] == attempt.params["state"]


def test_portal_signing_algorithm(cli, confidential_rp, user):
    """JARM 3: authorization_signed_response_alg per portal."""
    cli.ok(
        "clients",
        "update",
        confidential_rp.client_id,
        "--authorization-signed-response-alg",
        "ES256",
    )

    attempt = confidential_rp.login(user["username"], user["password"], response_mode="jwt")

    header, _ = _claims(confidential_rp, attempt.result["response"])
    assert header["alg"] == "ES256"


def test_discovery_advertises_jarm(client):
    metadata = client.get("/.well-known/openid-configuration").get_json()

    assert {"jwt", "query.jwt", "fragment.jwt", "form_post.jwt"} <= set(
        metadata["response_modes_supported"]
    )
    assert {"RS256", "PS256", "ES256"} <= set(
        metadata["authorization_signing_alg_values_supported"]
    )
