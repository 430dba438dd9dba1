"""ID tokens from the token endpoint (OIDC Core sections 2, 3.1.3.6, 3.1.3.7 and 10.1),
verified with jwcrypto against the published JWKS."""

from __future__ import annotations

import json
import time

from jwcrypto import jwk, jws, jwt

from tests.support import RelyingParty
from tests.token.helpers import at_hash, obtain, register


def _header(id_token: str) -> dict[str, str]:
    token = jws.JWS()
    token.deserialize(id_token)
    return dict(token.jose_header)


def _verify_with_kid(browser, id_token: str, alg: str) -> dict:  # type: ignore[no-untyped-def]
    """Pick the key by kid from /jwks.json and verify only with that key and algorithm."""
    header = _header(id_token)
    keys = json.loads(browser.get("/jwks.json").get_data(as_text=True))["keys"]
    matching = [key for key in keys if key["kid"] == header["kid"]]
    assert len(matching) == 1
    key = jwk.JWK(**matching[0])
    return json.loads(jwt.JWT(jwt=id_token, key=key, algs=[alg]).claims)


def test_rs256_by_default_with_published_kid(confidential_rp, user, client):
    """OIDC Core 3.1.3.7 item 7: RS256 unless the client registered another algorithm; OIDC
    Core 10.1: the kid identifies a key in the JWKS."""
    attempt, tokens = obtain(confidential_rp, user)

    header = _header(tokens["id_token"])
    claims = _verify_with_kid(client, tokens["id_token"], "RS256")

    assert header["alg"] == "RS256"
    assert header["kid"]
    assert claims["nonce"] == attempt.params["nonce"]


def test_es256_for_a_client_that_registered_it(cli, client, user):
    """OIDC Registration id_token_signed_response_alg: the client's ES256 choice is honoured
    and the token verifies with a P-256 key from the JWKS."""
    data = register(cli, "--id-token-alg", "ES256")
    rp = RelyingParty(client, data["client_id"], data["client_secret"], data["redirect_uris"][0])

    attempt, tokens = obtain(rp, user)

    header = _header(tokens["id_token"])
    claims = _verify_with_kid(client, tokens["id_token"], "ES256")
    assert header["alg"] == "ES256"
    assert claims["aud"] == rp.client_id
    # ES256 hashes with SHA-256 like RS256 (OIDC Core 3.1.3.6).
    assert claims["at_hash"] == at_hash(tokens["access_token"])
    assert rp.validate_id_token(tokens["id_token"], attempt.params["nonce"])["sub"]


def test_standard_claims(confidential_rp, user):
    """OIDC Core 2 and 3.1.3.7: iss is the issuer, aud the client_id, exp after iat, iat now,
    at_hash the left half of SHA-256 of the access token, sub the account's subject."""
    before = int(time.time())
    attempt, tokens = obtain(confidential_rp, user)
    after = int(time.time())

    claims = confidential_rp.validate_id_token(tokens["id_token"], attempt.params["nonce"])

    assert claims["iss"] == "http://localhost"
    assert claims["aud"] == confidential_rp.client_id
    assert before - 1 <= claims["iat"] <= after + 1
    assert claims["iat"] < claims["exp"] <= claims["iat"] + 3600
    assert before - 60 <= claims["auth_time"] <= after + 1
    assert claims["at_hash"] == at_hash(tokens["access_token"])
    assert claims["sub"] == user["sub"]
    assert "azp" not in claims or claims["azp"] == confidential_rp.client_id


def test_nonce_echoed_when_sent(public_rp, user):
    """OIDC Core 3.1.3.7 item 11: the nonce of the authentication request comes back."""
    attempt, tokens = obtain(public_rp, user, nonce="n-0S6_WzA2Mj")

    claims = public_rp.validate_id_token(tokens["id_token"])

    assert claims["nonce"] == "n-0S6_WzA2Mj"


def test_nonce_absent_when_not_sent(public_rp, user):
    """OIDC Core 3.1.2.1: nonce is OPTIONAL in the code flow; without one, the ID token has
    no nonce claim."""
    attempt, tokens = obtain(public_rp, user, nonce=None)

    claims = public_rp.validate_id_token(tokens["id_token"])

    assert "nonce" not in attempt.params
    assert "nonce" not in claims


def test_no_id_token_without_openid_scope_on_refresh(confidential_rp, user):
    """OIDC Core 12.2: an ID token comes with a refresh only for an openid request; a refresh
    narrowed to exclude openid is plain OAuth (RFC 6749 section 6)."""
    _, tokens = obtain(confidential_rp, user, scope="openid profile offline_access")

    refreshed = confidential_rp.refresh(tokens["refresh_token"], scope="profile")

    assert refreshed.status_code == 200, refreshed.get_json()
    assert "id_token" not in refreshed.get_json()
