"""The ``fapi2`` portal profile (FAPI 2.0 Security Profile): registration refuses what the
profile forbids, naming the rule; requests it forbids are refused with the reason; a complete
flow (PAR + private_key_jwt + PKCE + DPoP, PS256 ID token) goes through."""

from __future__ import annotations

import json
from typing import Any

from idp.config import DEMO_REGISTRY
from tests.admin_portals.helpers import AdminApi, admin_api_token, portal
from tests.fapi.dpop_proofs import ProofKey
from tests.fapi.helpers import (
    REDIRECT_URI,
    FapiRelyingParty,
    key_portal,
    push,
    pushed_login,
    verify_jwt,
)
from tests.token.helpers import basic, rsa_key, write_jwks


def _fapi2_portal(cli, client, tmp_path) -> FapiRelyingParty:  # type: ignore[no-untyped-def]
    return key_portal(cli, client, tmp_path, "--profile", "fapi2")


def _token(rp: FapiRelyingParty, proof_key: ProofKey, **form: Any) -> Any:
    """A token request with a DPoP proof, once more with the server nonce if one is asked."""
    headers, auth_fields = rp.client_auth()
    response = rp.browser.post(
        "/token", data={**auth_fields, **form}, headers={**headers, "DPoP": proof_key.proof()}
    )
    if response.status_code == 400 and response.get_json().get("error") == "use_dpop_nonce":
        headers, auth_fields = rp.client_auth()
        nonce = response.headers["DPoP-Nonce"]
        response = rp.browser.post(
            "/token",
            data={**auth_fields, **form},
            headers={**headers, "DPoP": proof_key.proof(nonce=nonce)},
        )
    return response


def test_fapi2_registration_sets_what_the_profile_requires(cli, client, tmp_path):
    """PAR required, DPoP-bound tokens, PS256 for ID tokens and JARM, no secret."""
    rp = _fapi2_portal(cli, client, tmp_path)

    shown = cli.ok("clients", "show", rp.client_id)

    assert shown["profile"] == "fapi2"
    assert shown["token_endpoint_auth_method"] == "private_key_jwt"
    assert shown["require_pushed_authorization_requests"] is True
    assert shown["id_token_signed_response_alg"] == "PS256"
    assert shown["authorization_signed_response_alg"] == "PS256"
    assert "client_secret" not in shown


def test_fapi2_refuses_client_secrets(cli):
    """FAPI 2.0 5.3.2.1: private_key_jwt only; the refusal names the rule."""
    code, _, err = cli.run(
        "clients",
        "create",
        "--name",
        "Secret FAPI portal",
        "--redirect-uri",
        REDIRECT_URI,
        "--profile",
        "fapi2",
    )

    assert code != 0
    assert "token_endpoint_auth_method" in err
    assert "fapi2 profile allows only private_key_jwt" in err


def test_fapi2_refuses_rs256(cli, tmp_path):
    """FAPI 2.0 5.4.1: PS256 or ES256."""
    jwks = write_jwks(tmp_path / "jwks.json", rsa_key("fapi"))
    code, _, err = cli.run(
        "clients",
        "create",
        "--name",
        "RS256 FAPI portal",
        "--redirect-uri",
        REDIRECT_URI,
        "--token-endpoint-auth-method",
        "private_key_jwt",
        "--jwks-file",
        str(jwks),
        "--id-token-alg",
        "RS256",
        "--profile",
        "fapi2",
    )

    assert code != 0
    assert "id_token_signed_response_alg" in err
    assert "PS256 or ES256" in err


def test_fapi2_refusals_through_the_admin_api(make_app, cli, tmp_path):
    """The admin API (one validator with the CLI, console and RFC 7591): a fapi2 portal with a
    secret method, RS256 and an http (loopback) redirect URI in production is refused, one
    error per rule, each naming the profile."""
    production = make_app(
        ENV="production",
        ISSUER="https://login.example.gov.cn",
        AUTHORITY_NAME="杭州市政务服务管理机构",
        REGISTRY_FILE=str(DEMO_REGISTRY),
        SMS_SENDER="outbox",
        BACKCHANNEL_DISPATCHER=False,
    )
    browser = production.test_client()
    browser.environ_base["wsgi.url_scheme"] = "https"
    api = AdminApi(browser, admin_api_token(cli))

    response = api.post(
        "/clients",
        portal(
            matters=None,
            redirect_uris=["http://127.0.0.1:9000/cb"],
            token_endpoint_auth_method="client_secret_basic",
            id_token_signed_response_alg="RS256",
            profile="fapi2",
        ),
    )

    assert response.status_code == 400, response.get_json()
    errors = {e["field"]: e for e in response.get_json()["errors"]}
    assert set(errors) == {
        "redirect_uris",
        "token_endpoint_auth_method",
        "id_token_signed_response_alg",
    }
    assert all(e["code"] == "profile_forbids" for e in errors.values())
    assert all("fapi2 profile" in e["message"] for e in errors.values())
    schema = api.get("/openapi.json").get_json()
    assert "profile" in json.dumps(schema)


def test_moving_to_fapi2_removes_the_secrets(cli, client, tmp_path, confidential_rp):
    """A portal moved to the profile loses its client secret: secret-based authentication of a
    fapi2 portal is refused at /par and at /token (invalid_client)."""
    jwks = write_jwks(tmp_path / "jwks.json", rsa_key("fapi"))
    cli.ok(
        "clients",
        "update",
        confidential_rp.client_id,
        "--profile",
        "fapi2",
        "--token-endpoint-auth-method",
        "private_key_jwt",
        "--jwks-file",
        str(jwks),
        "--id-token-alg",
        "ES256",
    )

    pushed, _, _ = push(confidential_rp)
    token = client.post(
        "/token",
        data={"grant_type": "authorization_code", "code": "x", "redirect_uri": REDIRECT_URI},
        headers=basic(confidential_rp.client_id, confidential_rp.client_secret or ""),
    )

    assert pushed.status_code == 401
    assert pushed.get_json()["error"] == "invalid_client"
    assert token.status_code == 401
    assert token.get_json()["error"] == "invalid_client"


def test_fapi2_requires_par(cli, client, tmp_path):
    rp = _fapi2_portal(cli, client, tmp_path)

    attempt = rp.authorize()

    assert attempt.result["error"] == "invalid_request"
    assert (
        "fapi2 profile requires a pushed authorization request"
        in (attempt.result["error_description"])
    )


def test_fapi2_requires_pkce(cli, client, tmp_path):
    rp = _fapi2_portal(cli, client, tmp_path)

    response, _, _ = push(rp, code_challenge=None, code_challenge_method=None)

    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_request"
    assert "fapi2 profile requires PKCE" in response.get_json()["error_description"]


def test_fapi2_refuses_implicit(cli, client, tmp_path):
    rp = _fapi2_portal(cli, client, tmp_path)

    response, _, _ = push(rp, response_type="code id_token")

    assert response.status_code == 400
    assert response.get_json()["error"] == "unsupported_response_type"


def test_fapi2_flow_end_to_end(cli, client, tmp_path, user):
    """PAR with private_key_jwt, /authorize with request_uri, token with private_key_jwt and a
    DPoP proof; the ID token is PS256, the access token DPoP-bound; without a proof the token
    request is refused."""
    rp = _fapi2_portal(cli, client, tmp_path)
    proof_key = ProofKey()
    response, verifier, params = push(rp)
    assert response.status_code == 201, response.get_json()
    attempt = pushed_login(rp, user, response.get_json()["request_uri"], verifier)
    assert "code" in attempt.result, attempt.result
    assert attempt.result["iss"] == "http://localhost"
    form = {
        "grant_type": "authorization_code",
        "code": attempt.result["code"],
        "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier,
    }

    tokens = _token(rp, proof_key, **form)

    assert tokens.status_code == 200, tokens.get_json()
    body = tokens.get_json()
    assert body["token_type"] == "DPoP"
    header, claims = verify_jwt(client, body["id_token"], ["PS256"])
    assert header["alg"] == "PS256"
    assert claims["nonce"] == params["nonce"]
    # Without a proof, the portal's next token request is refused.
    without = rp.token_request(grant_type="refresh_token", refresh_token=body["refresh_token"])
    assert without.status_code in (400, 401)
    assert without.get_json()["error"] == "invalid_dpop_proof"


def test_discovery_advertises_fapi_signing(client):
    metadata = client.get("/.well-known/openid-configuration").get_json()

    assert {"PS256", "ES256"} <= set(metadata["id_token_signing_alg_values_supported"])
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["authorization_response_iss_parameter_supported"] is True


def test_fapi2_in_the_console(client, cli, tmp_path):
    """The console form: the profile's refusals under their fields, in the page's language;
    a valid fapi2 portal is registered with PAR required."""
    from tests.admin_console.helpers import console_admin, page
    from tests.support import csrf_token, form_action

    operator = console_admin(client, cli, "operator").client
    jwks = write_jwks(tmp_path / "jwks.json", rsa_key("fapi")).read_text()
    form = {
        "client_id": "",
        "name": "衢州市公积金中心",
        "redirect_uris": REDIRECT_URI,
        "token_endpoint_auth_method": "client_secret_basic",
        "id_token_signed_response_alg": "RS256",
        "scopes": ["openid", "profile"],
        "subject_type": "public",
        "profile": "fapi2",
        "reason": "FAPI 2.0 pilot",
    }

    def submit(**overrides: Any) -> Any:
        html = page(operator, "/admin/portals/new?lang=en")
        return operator.post(
            form_action(html, "/admin/portals"),
            data={"csrf_token": csrf_token(html), **form, **overrides},
        )

    refused = submit()
    accepted = submit(
        token_endpoint_auth_method="private_key_jwt",
        jwks=jwks,
        id_token_signed_response_alg="ES256",
    )

    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    assert 'data-error-for="token_endpoint_auth_method"' in html
    assert 'data-error-for="id_token_signed_response_alg"' in html
    assert "The fapi2 profile allows only private_key_jwt" in html
    assert accepted.status_code == 303, accepted.get_data(as_text=True)[:2000]
    client_id = accepted.headers["Location"].rsplit("/", 1)[1]
    shown = cli.ok("clients", "show", client_id)
    assert shown["profile"] == "fapi2"
    assert shown["require_pushed_authorization_requests"] is True


def test_fapi2_by_dynamic_registration(client, cli, tmp_path):
    """RFC 7591 with RFC 9126 6 / RFC 9101 10.5 metadata and the profile: refused with the
    reason in error_description, then registered with what the profile sets."""
    jwks = json.loads(write_jwks(tmp_path / "jwks.json", rsa_key("fapi")).read_text())

    def register_portal(**metadata: Any) -> Any:
        token = cli.ok("clients", "initial-access-token", "--json")["token"]
        body = {
            "client_name": f"FAPI {metadata.get('token_endpoint_auth_method')}",
            "redirect_uris": [REDIRECT_URI],
            "profile": "fapi2",
            **metadata,
        }
        return client.post(
            "/register-client", json=body, headers={"Authorization": f"Bearer {token}"}
        )

    refused = register_portal(token_endpoint_auth_method="client_secret_basic")
    registered = register_portal(
        token_endpoint_auth_method="private_key_jwt",
        jwks=jwks,
        id_token_signed_response_alg="PS256",
        request_object_signing_alg="PS256",
    )

    assert refused.status_code == 400
    assert refused.get_json()["error"] == "invalid_client_metadata"
    assert "fapi2 profile allows only private_key_jwt" in refused.get_json()["error_description"]
    assert registered.status_code == 201, registered.get_json()
    body = registered.get_json()
    assert body["profile"] == "fapi2"
    assert body["require_pushed_authorization_requests"] is True
    assert body["request_object_signing_alg"] == "PS256"
    assert body["authorization_signed_response_alg"] == "PS256"
    assert "client_secret" not in body
