"""End to end: a certified relying-party library completes a FAPI 2.0 flow against ``idp serve``.

openid-client 6 (npm, by panva; OpenID certified), in the Node script tests/fapi/rp/fapi_flow.js,
does discovery, a pushed authorization request (RFC 9126) with private_key_jwt (RFC 7523), PKCE
S256 and a DPoP proof (RFC 9449 10.1), the code exchange with DPoP, UserInfo with DPoP, a refresh
with DPoP, and tries the same access token without its proof. The portal is registered with the
``fapi2`` profile; the server requires DPoP nonces (``IDP_DPOP_REQUIRE_NONCE``), which the library
answers itself. The person's browser is played here with requests on the real login and consent
pages, as in tests/e2e/test_relying_party_library.py.

The script's packages come from its lock file: ``npm ci`` in tests/fapi/rp runs once, when
node_modules is missing (as ``make bench`` installs bench/peer).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from jwcrypto import jwk

from tests.e2e.server import ProviderServer
from tests.e2e.test_relying_party_library import PASSWORD, USERNAME, log_in_and_consent
from tests.token.helpers import ASSERTION_TYPE, KeyRelyingParty

RP_DIR = Path(__file__).parent / "rp"
REDIRECT_URI = "https://portal.example.gov.cn/oidc/callback"
SCOPE = "openid profile offline_access"


def node_modules() -> str:
    """``node``, once the script's packages are installed (``npm ci`` from the lock file)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    assert node and npm, "node and npm are needed (Node.js 20.19 or later)"
    with open(RP_DIR / "package-lock.json") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one install even when several runs start at once
        if not (RP_DIR / "node_modules" / "openid-client" / "package.json").exists():
            subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=RP_DIR,
                check=True,
                timeout=300,
                stdin=subprocess.DEVNULL,
            )
    return node


@pytest.fixture(scope="module")
def server() -> Iterator[ProviderServer]:
    provider = ProviderServer(workers=2, threads=4, IDP_DPOP_REQUIRE_NONCE="true")
    try:
        provider.start()
        provider.idp("users", "create", "--username", USERNAME, "--password", PASSWORD)
        yield provider
    finally:
        provider.stop()


@pytest.fixture(scope="module")
def portal(server: ProviderServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A fapi2 portal (private_key_jwt with PS256, PAR, DPoP-bound tokens) and its key."""
    key = jwk.JWK.generate(kty="RSA", size=2048, kid="fapi-rp-1", alg="PS256", use="sig")
    jwks_file = tmp_path_factory.mktemp("rp") / "jwks.json"
    jwks_file.write_text(json.dumps({"keys": [key.export_public(as_dict=True)]}))
    registered = server.idp_json(
        "clients",
        "create",
        "--name",
        "openid-client FAPI 2.0 portal",
        "--redirect-uri",
        REDIRECT_URI,
        "--token-endpoint-auth-method",
        "private_key_jwt",
        "--jwks-file",
        str(jwks_file),
        "--profile",
        "fapi2",
        "--id-token-alg",
        "PS256",
        "--json",
    )
    assert registered["profile"] == "fapi2"
    assert registered["dpop_bound_access_tokens"] is True
    assert "client_secret" not in registered
    return {"client_id": registered["client_id"], "key": key}


def run_flow(server: ProviderServer, portal: dict[str, Any]) -> dict[str, Any]:
    node = node_modules()
    key: jwk.JWK = portal["key"]
    config = {
        "issuer": server.issuer,
        "client_id": portal["client_id"],
        "redirect_uri": REDIRECT_URI,
        "scope": SCOPE,
        "id_token_alg": "PS256",
        "client_key": {
            "jwk": key.export_private(as_dict=True),
            "kid": key.get("kid"),
            "alg": "PS256",
        },
    }
    env = {**os.environ, "FAPI_RP_CONFIG": json.dumps(config)}
    with subprocess.Popen(
        [node, str(RP_DIR / "fapi_flow.js")],
        cwd=RP_DIR,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        assert process.stdin is not None and process.stdout is not None
        try:
            first = json.loads(process.stdout.readline() or '{"step": "no output"}')
            result: dict[str, Any] = first
            if first.get("step") == "authorize":
                with requests.Session() as browser:
                    callback = log_in_and_consent(browser, first["url"])
                process.stdin.write(callback + "\n")
                process.stdin.flush()
                result = json.loads(process.stdout.readline() or '{"step": "no output"}')
            process.stdin.close()
            process.wait(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
        stderr = process.stderr.read() if process.stderr else ""
    assert result.get("step") == "done", f"{result}\n{stderr}\n{server.log()}"
    assert process.returncode == 0, stderr
    result["first"] = first
    return result


def test_openid_client_completes_a_fapi2_flow_with_dpop(server, portal):
    result = run_flow(server, portal)

    # Discovery (RFC 8414, RFC 9126 5, RFC 9449 5.1).
    assert result["discovery"]["pushed_authorization_request_endpoint"] == f"{server.issuer}/par"
    assert "ES256" in result["discovery"]["dpop_signing_alg_values_supported"]
    # RFC 9126 4: the front channel carries only client_id and the request_uri.
    url = result["authorization_url"]
    assert "request_uri=urn%3Aietf%3Aparams%3Aoauth%3Arequest_uri%3A" in url
    assert "code_challenge" not in url and "scope=" not in url

    # RFC 9449 5: the tokens are DPoP-bound; the ID token is the person's, for this portal.
    token = result["token"]
    assert token["token_type"].lower() == "dpop"
    assert set(token["scope"].split()) == set(SCOPE.split())
    assert token["has_refresh_token"]
    assert token["id_token_iss"] == server.issuer
    assert portal["client_id"] in (
        token["id_token_aud"]
        if isinstance(token["id_token_aud"], list)
        else [token["id_token_aud"]]
    )
    assert result["userinfo"]["sub"] == token["id_token_sub"]
    assert result["userinfo"]["preferred_username"] == USERNAME

    # Refresh with DPoP (RFC 9449 5): rotated, still DPoP-bound, UserInfo works with it.
    assert result["refreshed"]["token_type"].lower() == "dpop"
    assert result["refreshed"]["rotated"]
    assert result["userinfo_after_refresh"]["sub"] == token["id_token_sub"]

    # The same access token without its proof is refused (RFC 9449 7.1, 7.2).
    refused = result["without_proof"]
    assert refused["as_bearer"]["refused"] and refused["as_bearer"]["status"] == 401
    assert refused["as_bearer"]["error"] == "invalid_token"
    assert refused["dpop_scheme_no_proof"]["status"] == 401
    assert refused["dpop_scheme_no_proof"]["error"] == "invalid_dpop_proof"
    assert refused["other_key"]["refused"] and refused["other_key"]["status"] == 401
    assert refused["other_key"]["error"] == "invalid_token"


def test_the_bound_tokens_are_bound_to_the_librarys_key(server, portal):
    """Introspection (RFC 7662, RFC 9449 6.2) tells the key: the thumbprint the script
    computed of its own DPoP key (RFC 7638)."""
    result = run_flow(server, portal)
    key: jwk.JWK = portal["key"]
    # The portal introspects with its own private_key_jwt assertion, made here with jwcrypto.
    rp = KeyRelyingParty(None, portal["client_id"], None, REDIRECT_URI, key=key, alg="PS256")
    assertion = rp.assertion(aud=server.issuer)
    answer = requests.post(
        f"{server.issuer}/introspect",
        data={
            "token": result["refreshed"]["access_token"],
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion,
        },
        timeout=10,
    ).json()
    assert answer["active"] is True
    assert answer["token_type"] == "DPoP"
    assert answer["cnf"] == {"jkt": result["dpop_jkt"]}
