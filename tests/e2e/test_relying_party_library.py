"""End to end: a real relying-party library (Authlib's requests client) against ``idp serve``.

The provider runs as it does in production, under Granian with two workers, started by this
module with its own state. The portal side uses only Authlib's OAuth2Session (discovery, PKCE,
code exchange, refresh, revocation) and jwcrypto for the ID token, never the provider's code;
a ``requests.Session`` plays the person's browser on the real login and consent pages.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.integrations.requests_client import OAuthError as ClientOAuthError
from authlib.oidc.discovery import OpenIDProviderMetadata, get_well_known_url
from jwcrypto import jwk, jwt

from tests.e2e.server import ProviderServer
from tests.support import csrf_token, form_action, form_fields

USERNAME = "e2e-citizen"
PASSWORD = "e2e correct horse battery"
CONFIDENTIAL_REDIRECT = "https://portal.example.gov.cn/oidc/callback"
PUBLIC_REDIRECT = "http://127.0.0.1:8765/callback"
SCOPE = "openid profile offline_access"


@pytest.fixture(scope="module")
def server() -> Iterator[ProviderServer]:
    """``idp db upgrade`` + ``idp serve --workers 2``; always stopped, Redis included."""
    provider = ProviderServer(workers=2, threads=4)
    try:
        provider.start()
        provider.idp("users", "create", "--username", USERNAME, "--password", PASSWORD)
        yield provider
    finally:
        provider.stop()


@pytest.fixture(scope="module")
def discovery(server: ProviderServer) -> dict[str, Any]:
    """OpenID Connect Discovery 1.0 section 4, validated by Authlib's metadata model."""
    response = requests.get(get_well_known_url(server.issuer, external=True), timeout=10)
    assert response.status_code == 200
    metadata = OpenIDProviderMetadata(response.json())
    metadata.validate()
    # Discovery 4.3: the issuer in the document is exactly the one it was fetched for.
    assert metadata["issuer"] == server.issuer
    return dict(metadata)


# -- the person's browser ------------------------------------------------------------------------


def log_in_and_consent(browser: requests.Session, authorization_url: str) -> str:
    """Walk authorize -> login -> agreement (first login) -> consent; return the redirect to the
    portal.

    Every step is a 303 (RFC 9700 4.12: never 307 after a POST with credentials); the final one
    points at the redirect URI and is not followed (the portal is not running).
    """
    response = browser.get(authorization_url, allow_redirects=False, timeout=10)
    for _ in range(5):
        assert response.status_code == 303, (response.status_code, response.text[:500])
        location = urljoin(response.url, response.headers["Location"])
        if urlsplit(location).netloc != urlsplit(authorization_url).netloc:
            return location
        page = browser.get(location, allow_redirects=False, timeout=10)
        assert page.status_code == 200, page.status_code
        html = page.text
        if 'name="password"' in html:
            form = {"username": USERNAME, "password": PASSWORD}
            action = form_action(html, "/login")
        elif 'name="version_id"' in html:
            # `idp db upgrade` ships the registration agreements: accepted at the first login.
            form = {
                "version_id": form_fields(html)["version_id"],
                "accept_agreement": "yes",
                "decision": "approve",
            }
            action = form_action(html, "/agreement")
        else:
            form = {"decision": "approve"}
            action = form_action(html, "/consent")
        response = browser.post(
            urljoin(page.url, action),
            data={"csrf_token": csrf_token(html), **form},
            allow_redirects=False,
            timeout=10,
        )
    raise AssertionError("no redirect to the portal after login and consent")


# -- ID token validation, independent of the provider (OIDC Core 3.1.3.7) ------------------------


def validate_id_token(
    id_token: str,
    discovery: dict[str, Any],
    client_id: str,
    *,
    access_token: str,
    nonce: str | None,
) -> dict[str, Any]:
    """Signature against the JWKS fetched over HTTP; iss, aud, azp, exp, iat, nonce, at_hash."""
    key_set = jwk.JWKSet.from_json(requests.get(discovery["jwks_uri"], timeout=10).text)
    algorithms = discovery["id_token_signing_alg_values_supported"]
    token = jwt.JWT(jwt=id_token, key=key_set, algs=algorithms, expected_type="JWS")
    header = json.loads(token.header)
    claims: dict[str, Any] = json.loads(token.claims)
    assert header["alg"] in algorithms and header["alg"] != "none"
    assert claims["iss"] == discovery["issuer"]
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    assert client_id in audiences
    if len(audiences) > 1:
        assert claims["azp"] == client_id
    now = time.time()
    assert claims["exp"] > now
    assert claims["iat"] <= now + 60
    if nonce is not None:
        assert claims["nonce"] == nonce
    # 3.1.3.6: left half of the hash of the access token, with the hash of the JWS alg (SHA-256).
    assert header["alg"] in {"RS256", "ES256", "PS256"}
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    assert claims["at_hash"] == base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()
    assert claims["sub"]
    return claims


def redirect_parameters(redirect: str, redirect_uri: str) -> dict[str, str]:
    assert redirect.startswith(redirect_uri + "?"), redirect
    return {k: v[0] for k, v in parse_qs(urlsplit(redirect).query).items()}


# -- the flows ------------------------------------------------------------------------------------


def run_code_flow(
    rp: OAuth2Session, discovery: dict[str, Any], redirect_uri: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Authorization request with state, nonce and PKCE S256 (RFC 7636), through to the token."""
    verifier = secrets.token_urlsafe(64)
    nonce = secrets.token_urlsafe(16)
    # OIDC Core 11: offline_access is honoured when prompt includes consent.
    url, state = rp.create_authorization_url(
        discovery["authorization_endpoint"], code_verifier=verifier, nonce=nonce, prompt="consent"
    )
    query = parse_qs(urlsplit(url).query)
    assert query["code_challenge_method"] == ["S256"] and query["state"] == [state]

    with requests.Session() as browser:
        redirect = log_in_and_consent(browser, url)
    params = redirect_parameters(redirect, redirect_uri)
    assert params["state"] == state
    # RFC 9207 section 2.4: the client compares iss with the issuer it sent the request to.
    assert params["iss"] == discovery["issuer"]

    token = rp.fetch_token(
        discovery["token_endpoint"],
        authorization_response=redirect,
        state=state,
        code_verifier=verifier,
    )
    assert token["token_type"].lower() == "bearer"
    assert set(token["scope"].split()) == set(SCOPE.split())
    assert token["refresh_token"]
    claims = validate_id_token(
        token["id_token"],
        discovery,
        rp.client_id,
        access_token=token["access_token"],
        nonce=nonce,
    )
    return token, claims


def check_refresh_and_revocation(
    rp: OAuth2Session, discovery: dict[str, Any], token: dict[str, Any], claims: dict[str, Any]
) -> None:
    """Refresh (RFC 6749 6, OIDC Core 12.2), revoke the refresh token (RFC 7009 2.1)."""
    userinfo = rp.get(discovery["userinfo_endpoint"], timeout=10)
    assert userinfo.status_code == 200
    assert userinfo.json()["sub"] == claims["sub"]
    assert userinfo.json()["preferred_username"] == USERNAME

    refreshed = rp.refresh_token(discovery["token_endpoint"], refresh_token=token["refresh_token"])
    assert refreshed["access_token"] != token["access_token"]
    # RFC 9700 4.14.2: the refresh token rotates.
    assert refreshed["refresh_token"] != token["refresh_token"]
    if "id_token" in refreshed:
        renewed = validate_id_token(
            refreshed["id_token"],
            discovery,
            rp.client_id,
            access_token=refreshed["access_token"],
            nonce=None,
        )
        # OIDC Core 12.2: same iss, sub, aud and auth_time; nonce absent or unchanged.
        for name in ("iss", "sub", "aud", "auth_time"):
            assert renewed[name] == claims[name], name
        assert renewed.get("nonce", claims["nonce"]) == claims["nonce"]
    assert rp.get(discovery["userinfo_endpoint"], timeout=10).json()["sub"] == claims["sub"]

    revoked = rp.revoke_token(
        discovery["revocation_endpoint"],
        token=refreshed["refresh_token"],
        token_type_hint="refresh_token",
    )
    assert revoked.status_code == 200

    # RFC 7009 2.1: revoking the refresh token also invalidates access tokens of the same grant.
    after = rp.get(discovery["userinfo_endpoint"], timeout=10)
    assert after.status_code == 401
    # RFC 6750 3.1: the error is told in WWW-Authenticate.
    assert 'error="invalid_token"' in after.headers["WWW-Authenticate"]
    with pytest.raises(ClientOAuthError) as refused:
        rp.refresh_token(discovery["token_endpoint"], refresh_token=refreshed["refresh_token"])
    assert refused.value.error == "invalid_grant"


def test_confidential_portal_with_authlib_client(server, discovery):
    """OIDC Core 3.1 code flow with client_secret_basic (RFC 6749 2.3.1), PKCE (RFC 7636),
    the iss response parameter (RFC 9207), refresh (RFC 6749 6) and revocation (RFC 7009)."""
    assert "client_secret_basic" in discovery["token_endpoint_auth_methods_supported"]
    portal = server.idp_json(
        "clients",
        "create",
        "--name",
        "E2E confidential portal",
        "--redirect-uri",
        CONFIDENTIAL_REDIRECT,
        "--json",
    )
    assert portal["token_endpoint_auth_method"] == "client_secret_basic"
    with OAuth2Session(
        portal["client_id"],
        portal["client_secret"],
        scope=SCOPE,
        redirect_uri=CONFIDENTIAL_REDIRECT,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",
        revocation_endpoint_auth_method="client_secret_basic",
    ) as rp:
        token, claims = run_code_flow(rp, discovery, CONFIDENTIAL_REDIRECT)
        check_refresh_and_revocation(rp, discovery, token, claims)


def test_public_portal_with_authlib_client(server, discovery):
    """A public client (RFC 6749 2.1) with auth method ``none``: PKCE S256 is what binds the
    code to it (RFC 7636, RFC 9700 2.1.1); refresh rotates and revocation works without a
    secret (RFC 7009 2.1, RFC 9700 4.14.2)."""
    assert "none" in discovery["token_endpoint_auth_methods_supported"]
    portal = server.idp_json(
        "clients",
        "create",
        "--name",
        "E2E public portal",
        "--public",
        "--redirect-uri",
        PUBLIC_REDIRECT,
        "--json",
    )
    assert portal["token_endpoint_auth_method"] == "none"
    assert "client_secret" not in portal
    with OAuth2Session(
        portal["client_id"],
        scope=SCOPE,
        redirect_uri=PUBLIC_REDIRECT,
        code_challenge_method="S256",
        token_endpoint_auth_method="none",
        revocation_endpoint_auth_method="none",
    ) as rp:
        token, claims = run_code_flow(rp, discovery, PUBLIC_REDIRECT)
        check_refresh_and_revocation(rp, discovery, token, claims)
