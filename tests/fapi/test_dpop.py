"""DPoP (RFC 9449): bound tokens at the token endpoint, UserInfo, introspection and revocation,
and every refusal a proof can earn: replayed jti, wrong htm/htu, stale iat, missing ath, a
server nonce, a private or unfit key, a bound token presented as a bearer token."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest

from tests.fapi.dpop_proofs import TOKEN_URL, USERINFO_URL, ProofKey
from tests.support import ISSUER, RelyingParty


def token_request(rp: RelyingParty, proof: str | None, **form: Any) -> Any:
    headers, auth_fields = rp.client_auth()
    if proof is not None:
        headers = {**headers, "DPoP": proof}
    return rp.browser.post("/token", data={**auth_fields, **form}, headers=headers)


def exchange(rp: RelyingParty, attempt: Any, proof: str | None) -> Any:
    form = {
        "grant_type": "authorization_code",
        "code": attempt.result["code"],
        "redirect_uri": rp.redirect_uri,
    }
    if attempt.verifier:
        form["code_verifier"] = attempt.verifier
    return token_request(rp, proof, **form)


def bound_tokens(rp: RelyingParty, user: dict[str, str], key: ProofKey, **params: Any) -> Any:
    attempt = rp.login(user["username"], user["password"], **params)
    response = exchange(rp, attempt, key.proof())
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def userinfo(rp: RelyingParty, access_token: str, proof: str | None, scheme: str = "DPoP") -> Any:
    headers = {"Authorization": f"{scheme} {access_token}"}
    if proof is not None:
        headers["DPoP"] = proof
    return rp.browser.get("/userinfo", headers=headers)


def challenge(response: Any) -> str:
    return str(response.headers.get("WWW-Authenticate", ""))


@pytest.fixture
def key() -> ProofKey:
    return ProofKey()


# -- discovery and the happy path ------------------------------------------------------------


def test_discovery_advertises_the_dpop_algorithms(client):
    document = client.get("/.well-known/openid-configuration").get_json()
    assert document["dpop_signing_alg_values_supported"] == ["ES256", "PS256", "RS256", "Ed25519"]


@pytest.mark.parametrize("alg", ["ES256", "PS256", "RS256", "Ed25519"])
def test_tokens_are_bound_to_the_proof_key(confidential_rp, user, alg):
    """RFC 9449 5: token_type DPoP; 6.2: introspection tells cnf.jkt; 7.1: UserInfo with the
    DPoP scheme and a proof carrying ath."""
    key = ProofKey(alg)
    tokens = bound_tokens(confidential_rp, user, key)
    assert tokens["token_type"] == "DPoP"
    access = tokens["access_token"]

    answer = confidential_rp.introspect(access).get_json()
    assert answer["active"] is True
    assert answer["token_type"] == "DPoP"
    assert answer["cnf"] == {"jkt": key.jkt}

    response = userinfo(
        confidential_rp, access, key.proof("GET", USERINFO_URL, access_token=access)
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["sub"]


def test_a_bound_token_is_no_bearer_token(confidential_rp, user, key):
    """RFC 9449 7.2: the same access token without its proof is refused."""
    access = bound_tokens(confidential_rp, user, key)["access_token"]
    as_bearer = confidential_rp.userinfo(access)
    assert as_bearer.status_code == 401
    assert as_bearer.get_json()["error"] == "invalid_token"
    assert challenge(as_bearer).startswith("DPoP ")
    assert 'error="invalid_token"' in challenge(as_bearer)
    assert 'algs="ES256 PS256 RS256 Ed25519"' in challenge(as_bearer)

    without_proof = userinfo(confidential_rp, access, None)
    assert without_proof.status_code == 401
    assert 'error="invalid_dpop_proof"' in challenge(without_proof)

    other_key = ProofKey().proof("GET", USERINFO_URL, access_token=access)
    stolen = userinfo(confidential_rp, access, other_key)
    assert stolen.status_code == 401
    assert stolen.get_json()["error"] == "invalid_token"


def test_an_unbound_token_with_the_dpop_scheme_is_refused(confidential_rp, user, key):
    attempt = confidential_rp.login(user["username"], user["password"])
    tokens = exchange(confidential_rp, attempt, None).get_json()
    assert tokens["token_type"] == "Bearer"
    access = tokens["access_token"]
    assert "cnf" not in confidential_rp.introspect(access).get_json()
    response = userinfo(
        confidential_rp, access, key.proof("GET", USERINFO_URL, access_token=access)
    )
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_token"
    assert confidential_rp.userinfo(access).status_code == 200


# -- refusals of a proof -----------------------------------------------------------------------


def test_a_replayed_jti_is_refused_at_the_token_endpoint(confidential_rp, user, key):
    attempt = confidential_rp.login(user["username"], user["password"])
    proof = key.proof()
    assert exchange(confidential_rp, attempt, proof).status_code == 200
    second = confidential_rp.login(user["username"], user["password"])
    replayed = exchange(confidential_rp, second, proof)
    assert replayed.status_code == 400
    assert replayed.get_json()["error"] == "invalid_dpop_proof"
    assert "replayed" in replayed.get_json()["error_description"]


def test_a_replayed_jti_is_refused_at_userinfo(confidential_rp, user, key):
    access = bound_tokens(confidential_rp, user, key)["access_token"]
    proof = key.proof("GET", USERINFO_URL, access_token=access)
    assert userinfo(confidential_rp, access, proof).status_code == 200
    again = userinfo(confidential_rp, access, proof)
    assert again.status_code == 401
    assert 'error="invalid_dpop_proof"' in challenge(again)


@pytest.mark.parametrize(
    ("claims", "words"),
    [
        ({"htm": "GET"}, "htm"),
        ({"htu": f"{ISSUER}/userinfo"}, "htu"),
        ({"htu": "https://other.example/token"}, "htu"),
        ({"htu": None}, "htu"),
        ({"iat": int(time.time()) - 3600}, "iat"),
        ({"iat": int(time.time()) + 3600}, "iat"),
        ({"iat": "now"}, "iat"),
        ({"jti": None}, "jti"),
        ({"jti": "x" * 300}, "jti"),
    ],
)
def test_proof_claims_that_do_not_fit_the_request_are_refused(
    confidential_rp, user, key, claims, words
):
    attempt = confidential_rp.login(user["username"], user["password"])
    response = exchange(confidential_rp, attempt, key.proof(**claims))
    assert response.status_code == 400
    body = response.get_json()
    assert body["error"] == "invalid_dpop_proof"
    assert words in body["error_description"]


def test_htu_is_compared_normalised_without_query_or_fragment(confidential_rp, user, key):
    """RFC 9449 4.3 item 9: scheme and host case, default port, no query, no fragment."""
    attempt = confidential_rp.login(user["username"], user["password"])
    htu = "HTTP://LOCALHOST:80/token?x=1#f"
    assert exchange(confidential_rp, attempt, key.proof(htu=htu)).status_code == 200


@pytest.mark.parametrize(
    ("header", "words"),
    [
        ({"typ": "JWT"}, "typ"),
        ({"typ": None}, "typ"),
        ({"alg": "HS256"}, "alg"),
        ({"alg": "none"}, "alg"),
        ({"jwk": None}, "jwk"),
    ],
)
def test_proof_headers_that_break_the_rules_are_refused(confidential_rp, user, key, header, words):
    attempt = confidential_rp.login(user["username"], user["password"])
    response = exchange(confidential_rp, attempt, key.proof(header=header))
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_dpop_proof"
    assert words in response.get_json()["error_description"]


def test_a_private_key_in_the_proof_is_refused(confidential_rp, user, key):
    private = json.loads(key.key.export_private())
    attempt = confidential_rp.login(user["username"], user["password"])
    response = exchange(confidential_rp, attempt, key.proof(header={"jwk": private}))
    assert response.get_json()["error"] == "invalid_dpop_proof"
    assert "public" in response.get_json()["error_description"]


def test_a_proof_signed_by_another_key_is_refused(confidential_rp, user, key):
    other = ProofKey()
    attempt = confidential_rp.login(user["username"], user["password"])
    response = exchange(confidential_rp, attempt, key.proof(header={"jwk": other.public()}))
    assert response.get_json()["error"] == "invalid_dpop_proof"
    assert "signature" in response.get_json()["error_description"]


def test_a_short_rsa_key_is_refused(confidential_rp, user):
    from jwcrypto import jwk

    small = ProofKey("RS256", jwk.JWK.generate(kty="RSA", size=1024))
    attempt = confidential_rp.login(user["username"], user["password"])
    response = exchange(confidential_rp, attempt, small.proof())
    assert response.get_json()["error"] == "invalid_dpop_proof"
    assert "2048" in response.get_json()["error_description"]


@pytest.mark.parametrize("value", ["not-a-jwt", "a.b.c", "{}.{}.{}"])
def test_garbage_in_the_dpop_header_is_refused(confidential_rp, user, value):
    attempt = confidential_rp.login(user["username"], user["password"])
    response = exchange(confidential_rp, attempt, value)
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_dpop_proof"


def test_two_dpop_headers_are_refused(confidential_rp, user, key):
    attempt = confidential_rp.login(user["username"], user["password"])
    headers, auth_fields = confidential_rp.client_auth()
    form = {
        "grant_type": "authorization_code",
        "code": attempt.result["code"],
        "redirect_uri": confidential_rp.redirect_uri,
        "code_verifier": attempt.verifier,
        **auth_fields,
    }
    response = confidential_rp.browser.post(
        "/token",
        data=form,
        headers=[*headers.items(), ("DPoP", key.proof()), ("DPoP", key.proof())],
    )
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_dpop_proof"


def test_userinfo_needs_ath_and_the_right_one(confidential_rp, user, key):
    access = bound_tokens(confidential_rp, user, key)["access_token"]
    missing = userinfo(confidential_rp, access, key.proof("GET", USERINFO_URL))
    assert missing.status_code == 401
    assert 'error="invalid_dpop_proof"' in challenge(missing)
    assert "ath" in missing.get_json()["error_description"]
    wrong = userinfo(confidential_rp, access, key.proof("GET", USERINFO_URL, ath="x" * 43))
    assert wrong.status_code == 401
    assert "ath" in wrong.get_json()["error_description"]
    wrong_method = userinfo(
        confidential_rp, access, key.proof("POST", USERINFO_URL, access_token=access)
    )
    assert "htm" in wrong_method.get_json()["error_description"]


# -- server nonces (RFC 9449 8, 9) --------------------------------------------------------------


def test_a_required_nonce_is_asked_for_and_then_accepted(make_app, cli, user, key):
    app = make_app(DPOP_REQUIRE_NONCE=True)
    browser = app.test_client()
    data = cli.ok(
        "clients",
        "create",
        "--name",
        "Nonce Portal",
        "--redirect-uri",
        "https://portal.example.gov.cn/callback",
        "--json",
    )
    rp = RelyingParty(browser, data["client_id"], data["client_secret"], data["redirect_uris"][0])
    attempt = rp.login(user["username"], user["password"])

    first = exchange(rp, attempt, key.proof())
    assert first.status_code == 400
    assert first.get_json()["error"] == "use_dpop_nonce"
    nonce = first.headers["DPoP-Nonce"]
    bogus = exchange(rp, attempt, key.proof(nonce="x" * 43))
    assert bogus.get_json()["error"] == "use_dpop_nonce"
    second = exchange(rp, attempt, key.proof(nonce=nonce))
    assert second.status_code == 200, second.get_json()
    access = second.get_json()["access_token"]

    asked = userinfo(rp, access, key.proof("GET", USERINFO_URL, access_token=access))
    assert asked.status_code == 401
    assert 'error="use_dpop_nonce"' in challenge(asked)
    nonce = asked.headers["DPoP-Nonce"]
    answered = userinfo(
        rp, access, key.proof("GET", USERINFO_URL, access_token=access, nonce=nonce)
    )
    assert answered.status_code == 200


def test_nonces_are_stateless_and_expire():
    from idp.oauth.dpop import NONCE_STEP, NONCE_STEPS, Nonces

    nonces = Nonces("one secret key of the installation")
    now = 1_800_000_000.0
    nonce = nonces.current(now)
    assert Nonces("one secret key of the installation").valid(nonce, now + 60)
    assert nonces.valid(nonce, now + NONCE_STEP * (NONCE_STEPS - 1))
    assert not nonces.valid(nonce, now + NONCE_STEP * (NONCE_STEPS + 1))
    assert not Nonces("another key").valid(nonce, now)


# -- dpop_jkt: a code bound to a key (RFC 9449 10) ---------------------------------------------


def test_dpop_jkt_binds_the_code(confidential_rp, user, key):
    attempt = confidential_rp.login(user["username"], user["password"], dpop_jkt=key.jkt)
    without = exchange(confidential_rp, attempt, None)
    assert without.status_code == 400
    assert without.get_json()["error"] == "invalid_grant"

    attempt = confidential_rp.login(user["username"], user["password"], dpop_jkt=key.jkt)
    other = exchange(confidential_rp, attempt, ProofKey().proof())
    assert other.get_json()["error"] == "invalid_grant"
    assert "dpop_jkt" in other.get_json()["error_description"]

    attempt = confidential_rp.login(user["username"], user["password"], dpop_jkt=key.jkt)
    right = exchange(confidential_rp, attempt, key.proof())
    assert right.status_code == 200
    assert right.get_json()["token_type"] == "DPoP"


def test_a_malformed_dpop_jkt_goes_back_to_the_portal(confidential_rp):
    attempt = confidential_rp.authorize(dpop_jkt="not a thumbprint")
    assert attempt.result["error"] == "invalid_request"
    assert "dpop_jkt" in attempt.result["error_description"]


# -- refresh (RFC 9449 5) ------------------------------------------------------------------------


def test_a_public_portals_refresh_token_is_bound_to_its_key(public_rp, user, key):
    tokens = bound_tokens(
        public_rp, user, key, scope="openid profile offline_access", prompt="consent"
    )
    refresh = tokens["refresh_token"]

    no_proof = token_request(public_rp, None, grant_type="refresh_token", refresh_token=refresh)
    assert no_proof.status_code == 400
    assert no_proof.get_json()["error"] == "invalid_grant"
    other = token_request(
        public_rp, ProofKey().proof(), grant_type="refresh_token", refresh_token=refresh
    )
    assert other.get_json()["error"] == "invalid_grant"

    same = token_request(public_rp, key.proof(), grant_type="refresh_token", refresh_token=refresh)
    assert same.status_code == 200, same.get_json()
    assert same.get_json()["token_type"] == "DPoP"


def test_a_confidential_portal_may_refresh_onto_a_new_key(confidential_rp, user, key):
    """RFC 9449 5: a confidential portal's refresh token is bound to its authentication; the
    new access token is bound to the key of the refresh's proof."""
    tokens = bound_tokens(
        confidential_rp, user, key, scope="openid profile offline_access", prompt="consent"
    )
    new_key = ProofKey()
    response = token_request(
        confidential_rp,
        new_key.proof(),
        grant_type="refresh_token",
        refresh_token=tokens["refresh_token"],
    )
    assert response.status_code == 200, response.get_json()
    access = response.get_json()["access_token"]
    assert confidential_rp.introspect(access).get_json()["cnf"] == {"jkt": new_key.jkt}


# -- the portal's own rule: dpop_bound_access_tokens (RFC 9449 5.2) ------------------------------


def test_a_portal_registered_for_dpop_must_send_proofs(cli, client, user, key):
    data = cli.ok(
        "clients",
        "create",
        "--name",
        "DPoP Portal",
        "--redirect-uri",
        "https://portal.example.gov.cn/callback",
        "--dpop-bound",
        "yes",
        "--json",
    )
    assert data["dpop_bound_access_tokens"] is True
    rp = RelyingParty(client, data["client_id"], data["client_secret"], data["redirect_uris"][0])
    attempt = rp.login(user["username"], user["password"])
    refused = exchange(rp, attempt, None)
    assert refused.status_code == 400
    assert refused.get_json()["error"] == "invalid_dpop_proof"
    assert "dpop_bound_access_tokens" in refused.get_json()["error_description"]
    attempt = rp.login(user["username"], user["password"])
    assert exchange(rp, attempt, key.proof()).get_json()["token_type"] == "DPoP"

    cli.ok("clients", "update", data["client_id"], "--dpop-bound", "no")
    assert cli.ok("clients", "show", data["client_id"])["dpop_bound_access_tokens"] is False


def test_the_metadata_field_must_be_a_boolean(provider):
    from idp.oauth.clients import InvalidMetadata

    with pytest.raises(InvalidMetadata) as refused:
        provider.clients.create(
            {
                "name": "Bad DPoP Portal",
                "redirect_uris": ["https://portal.example.gov.cn/callback"],
                "dpop_bound_access_tokens": "yes",
            },
            actor="test",
        )
    assert [e.field for e in refused.value.errors] == ["dpop_bound_access_tokens"]


# -- introspection and revocation check a proof when one is sent -------------------------------


@pytest.mark.parametrize("endpoint", ["/introspect", "/revoke"])
def test_introspection_and_revocation_check_a_sent_proof(confidential_rp, user, key, endpoint):
    access = bound_tokens(confidential_rp, user, key)["access_token"]
    headers, _ = confidential_rp.client_auth()
    bad = confidential_rp.browser.post(
        endpoint,
        data={"token": access},
        headers={**headers, "DPoP": key.proof(htu=f"{ISSUER}/token")},
    )
    assert bad.status_code == 400
    assert bad.get_json()["error"] == "invalid_dpop_proof"
    good = confidential_rp.browser.post(
        endpoint,
        data={"token": access},
        headers={**headers, "DPoP": key.proof(htu=f"{ISSUER}{endpoint}")},
    )
    assert good.status_code == 200


def test_revoking_a_bound_token_ends_it(confidential_rp, user, key):
    access = bound_tokens(confidential_rp, user, key)["access_token"]
    assert confidential_rp.revoke(access).status_code == 200
    response = userinfo(
        confidential_rp, access, key.proof("GET", USERINFO_URL, access_token=access)
    )
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_token"


def test_thumbprints_are_rfc7638(key):
    """The jkt the provider stores is the thumbprint jwcrypto computes (RFC 7638 3.1)."""
    from idp.oauth.dpop import is_thumbprint

    assert is_thumbprint(key.jkt)
    assert not is_thumbprint(base64.urlsafe_b64encode(b"x" * 31).decode())


def test_the_benchs_proofs_are_accepted(confidential_rp, user):
    """bench/run.py signs the userinfo-dpop workload's proofs ahead of the run (wrk's Lua cannot
    sign): the provider takes them (make bench itself is never run by the suite)."""
    from bench.run import DPoPKey

    bench_key = DPoPKey()
    attempt = confidential_rp.login(user["username"], user["password"])
    tokens = exchange(confidential_rp, attempt, bench_key.proof("POST", TOKEN_URL)).get_json()
    assert tokens["token_type"] == "DPoP"
    access = tokens["access_token"]
    for _ in range(3):
        proof = bench_key.proof("GET", USERINFO_URL, access)
        assert userinfo(confidential_rp, access, proof).status_code == 200
