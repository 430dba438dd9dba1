"""Encrypted ID tokens and signed or encrypted UserInfo (OIDC Core 5.3.2, 10.2; issue 18,
item 3): nested JWTs to the portal's key with ``use: enc``, decrypted here with jwcrypto."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jwcrypto import jwe, jwk, jwt

from tests.admin_console.helpers import console_admin
from tests.admin_portals.helpers import REDIRECT_URI, AdminApi, JsonServer, admin_api_token
from tests.admin_portals.helpers import portal as portal_metadata
from tests.admin_portals.test_console import (
    errors_on,
    metadata_form,
    register_in_console,
    submit,
)
from tests.support import ISSUER, RelyingParty

SAMPLE_CATALOGUE = Path(__file__).resolve().parents[2] / "idp" / "data" / "matters.sample.json"


@pytest.fixture(autouse=True)
def catalogue(request: pytest.FixtureRequest) -> None:
    if "app" not in request.fixturenames and "provider" not in request.fixturenames:
        return
    request.getfixturevalue("clean_state")
    request.getfixturevalue("cli").ok("matters", "import", str(SAMPLE_CATALOGUE))


@pytest.fixture
def api(cli: Any, client: Any) -> AdminApi:
    return AdminApi(client, admin_api_token(cli))


def rsa_enc_key() -> jwk.JWK:
    return jwk.JWK.generate(kty="RSA", size=2048, use="enc", kid="portal-enc-rsa")


def ec_enc_key() -> jwk.JWK:
    return jwk.JWK.generate(kty="EC", crv="P-256", use="enc", kid="portal-enc-ec")


def public_set(*keys: jwk.JWK) -> dict[str, Any]:
    return {"keys": [json.loads(key.export_public()) for key in keys]}


def encrypted_portal(api: AdminApi, client: Any, key: jwk.JWK, **metadata: Any) -> RelyingParty:
    created = api.create(jwks=public_set(key), **metadata)
    return RelyingParty(client, created["client_id"], created["client_secret"], REDIRECT_URI)


def decrypt(token: str, key: jwk.JWK) -> tuple[dict[str, Any], str]:
    envelope = jwe.JWE()
    envelope.deserialize(token, key=key)
    return json.loads(envelope.objects["protected"]), envelope.payload.decode()


def signed_in(rp: RelyingParty, user: dict[str, str]) -> dict[str, Any]:
    attempt = rp.login(user["username"], user["password"])
    response = rp.exchange(attempt)
    assert response.status_code == 200, response.get_json()
    return dict(response.get_json())


def test_id_token_is_signed_then_encrypted_with_rsa_oaep_256(api, client, user):
    key = rsa_enc_key()
    rp = encrypted_portal(
        api,
        client,
        key,
        id_token_encrypted_response_alg="RSA-OAEP-256",
        id_token_encrypted_response_enc="A256GCM",
    )
    tokens = signed_in(rp, user)
    assert tokens["id_token"].count(".") == 4  # a JWE, not a JWS
    header, inner = decrypt(tokens["id_token"], key)
    assert header["alg"] == "RSA-OAEP-256"
    assert header["enc"] == "A256GCM"
    assert header["cty"] == "JWT"
    assert header["kid"] == "portal-enc-rsa"
    claims = rp.validate_id_token(inner)  # the nested JWS, signed with our key
    assert claims["sub"] and claims["iss"] == ISSUER and claims["aud"] == rp.client_id
    # Without the portal's private key the token cannot be read.
    with pytest.raises(jwe.InvalidJWEData):
        decrypt(tokens["id_token"], rsa_enc_key())


def test_id_token_encrypted_with_ecdh_es_and_the_default_enc(api, client, user):
    key = ec_enc_key()
    rp = encrypted_portal(api, client, key, id_token_encrypted_response_alg="ECDH-ES")
    shown = api.get(f"/clients/{rp.client_id}").get_json()
    # OIDC Registration 2: an alg without enc means A128CBC-HS256.
    assert shown["id_token_encrypted_response_enc"] == "A128CBC-HS256"
    tokens = signed_in(rp, user)
    header, inner = decrypt(tokens["id_token"], key)
    assert (header["alg"], header["enc"]) == ("ECDH-ES", "A128CBC-HS256")
    assert rp.validate_id_token(inner)["aud"] == rp.client_id
    # A refresh brings an encrypted ID token too.
    refreshed = rp.refresh(tokens["refresh_token"]) if "refresh_token" in tokens else None
    if refreshed is not None:
        assert refreshed.status_code == 200
        decrypt(refreshed.get_json()["id_token"], key)


def test_userinfo_signed_then_encrypted_as_application_jwt(api, client, user):
    key = rsa_enc_key()
    rp = encrypted_portal(
        api,
        client,
        key,
        userinfo_signed_response_alg="RS256",
        userinfo_encrypted_response_alg="RSA-OAEP-256",
        userinfo_encrypted_response_enc="A256GCM",
    )
    tokens = signed_in(rp, user)
    assert tokens["id_token"].count(".") == 2  # the ID token was not asked to be encrypted
    answer = rp.userinfo(tokens["access_token"])
    assert answer.status_code == 200
    assert answer.mimetype == "application/jwt"
    header, inner = decrypt(answer.get_data(as_text=True), key)
    assert header["cty"] == "JWT"
    keys = jwk.JWKSet.from_json(client.get("/jwks.json").get_data(as_text=True))
    claims = json.loads(jwt.JWT(jwt=inner, key=keys, algs=["RS256"]).claims)
    # OIDC Core 5.3.2: a signed answer carries iss and aud.
    assert claims["iss"] == ISSUER and claims["aud"] == rp.client_id
    assert claims["sub"] == rp.validate_id_token(tokens["id_token"])["sub"]


def test_userinfo_signed_only_and_encrypted_only(api, client, user):
    signed = RelyingParty(
        client,
        *(lambda c: (c["client_id"], c["client_secret"]))(
            api.create(userinfo_signed_response_alg="ES256")
        ),
        REDIRECT_URI,
    )
    tokens = signed_in(signed, user)
    answer = signed.userinfo(tokens["access_token"])
    assert answer.mimetype == "application/jwt"
    keys = jwk.JWKSet.from_json(client.get("/jwks.json").get_data(as_text=True))
    claims = json.loads(jwt.JWT(jwt=answer.get_data(as_text=True), key=keys, algs=["ES256"]).claims)
    assert claims["aud"] == signed.client_id

    key = ec_enc_key()
    encrypted = encrypted_portal(api, client, key, userinfo_encrypted_response_alg="ECDH-ES+A256KW")
    client.cookie_jar.clear() if hasattr(client, "cookie_jar") else None
    tokens = signed_in(encrypted, user)
    answer = encrypted.userinfo(tokens["access_token"])
    header, inner = decrypt(answer.get_data(as_text=True), key)
    assert "cty" not in header  # the JSON claims, encrypted
    assert json.loads(inner)["sub"]


def test_plain_portals_still_get_json(confidential_rp, user):
    tokens = signed_in(confidential_rp, user)
    assert tokens["id_token"].count(".") == 2
    answer = confidential_rp.userinfo(tokens["access_token"])
    assert answer.mimetype == "application/json"


def test_encryption_from_a_jwks_uri(api, client, user):
    key = rsa_enc_key()
    server = JsonServer(public_set(key)).start()
    try:
        created = api.create(
            jwks_uri=server.url,
            id_token_encrypted_response_alg="RSA-OAEP-256",
            id_token_encrypted_response_enc="A256GCM",
        )
        rp = RelyingParty(client, created["client_id"], created["client_secret"], REDIRECT_URI)
        tokens = signed_in(rp, user)
        rp.validate_id_token(decrypt(tokens["id_token"], key)[1])
        # A key set without an encryption key is refused when the portal is registered.
        bare = JsonServer(public_set(jwk.JWK.generate(kty="RSA", size=2048, use="sig"))).start()
        try:
            response = api.post(
                "/clients",
                portal_metadata(jwks_uri=bare.url, id_token_encrypted_response_alg="RSA-OAEP-256"),
            )
        finally:
            bare.stop()
        assert response.status_code == 400
        errors = response.get_json()["errors"]
        assert {e["field"]: e["code"] for e in errors} == {
            "id_token_encrypted_response_alg": "no_encryption_key"
        }
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("metadata", "field", "code"),
    [
        # Asking for encryption without any key set.
        (
            {"id_token_encrypted_response_alg": "RSA-OAEP-256"},
            "id_token_encrypted_response_alg",
            "no_encryption_key",
        ),
        # A signing key only (use: sig) is no encryption key.
        (
            {
                "jwks": {
                    "keys": [
                        json.loads(
                            jwk.JWK.generate(kty="RSA", size=2048, use="sig").export_public()
                        )
                    ]
                },
                "userinfo_encrypted_response_alg": "RSA-OAEP-256",
            },
            "userinfo_encrypted_response_alg",
            "no_encryption_key",
        ),
        # An RSA key cannot receive ECDH-ES.
        (
            {
                "jwks": {"keys": [json.loads(rsa_enc_key().export_public())]},
                "id_token_encrypted_response_alg": "ECDH-ES",
            },
            "id_token_encrypted_response_alg",
            "no_encryption_key",
        ),
        (
            {"id_token_encrypted_response_alg": "RSA1_5"},
            "id_token_encrypted_response_alg",
            "unknown_value",
        ),
        (
            {"id_token_encrypted_response_enc": "A256GCM"},
            "id_token_encrypted_response_enc",
            "required",
        ),
        (
            {
                "jwks": {"keys": [json.loads(rsa_enc_key().export_public())]},
                "userinfo_encrypted_response_alg": "RSA-OAEP-256",
                "userinfo_encrypted_response_enc": "A128GCM",
            },
            "userinfo_encrypted_response_enc",
            "unknown_value",
        ),
        ({"userinfo_signed_response_alg": "none"}, "userinfo_signed_response_alg", "unknown_value"),
    ],
)
def test_encryption_metadata_refused_with_a_reason(api, metadata, field, code):
    response = api.post("/clients", portal_metadata(**metadata))
    assert response.status_code == 400, response.get_json()
    errors = response.get_json()["errors"]
    assert [(e["field"], e["code"]) for e in errors] == [(field, code)]
    assert errors[0]["message"]


def test_dynamic_registration_takes_the_encryption_metadata(cli, client):
    token = cli.ok("clients", "initial-access-token", "--json")["token"]
    key = rsa_enc_key()
    response = client.post(
        "/register-client",
        json={
            "client_name": "Encrypting portal",
            "redirect_uris": [REDIRECT_URI],
            "jwks": public_set(key),
            "id_token_encrypted_response_alg": "RSA-OAEP-256",
            "id_token_encrypted_response_enc": "A256GCM",
        },
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["id_token_encrypted_response_alg"] == "RSA-OAEP-256"
    assert body["id_token_encrypted_response_enc"] == "A256GCM"


def test_discovery_advertises_encryption(client):
    document = client.get("/.well-known/openid-configuration").get_json()
    assert "RSA-OAEP-256" in document["id_token_encryption_alg_values_supported"]
    assert "ECDH-ES" in document["id_token_encryption_alg_values_supported"]
    assert "A256GCM" in document["id_token_encryption_enc_values_supported"]
    assert "RSA-OAEP-256" in document["userinfo_encryption_alg_values_supported"]
    assert "A256GCM" in document["userinfo_encryption_enc_values_supported"]
    assert "RS256" in document["userinfo_signing_alg_values_supported"]


def test_console_sets_and_refuses_encryption(client, cli, user):
    operator = console_admin(client, cli, "operator").client
    # Asking for encryption without a key set: the field says why.
    refused = submit(
        operator,
        "/admin/portals/new?lang=en",
        "/admin/portals",
        metadata_form(id_token_encrypted_response_alg="RSA-OAEP-256"),
    )
    assert refused.status_code == 400
    assert "id_token_encrypted_response_alg" in errors_on(refused)
    assert 'Encryption needs a key with "use": "enc"' in refused.get_data(as_text=True).replace(
        "&#34;", '"'
    )
    key = rsa_enc_key()
    client_id, secret = register_in_console(
        operator,
        jwks=json.dumps(public_set(key)),
        id_token_encrypted_response_alg="RSA-OAEP-256",
        id_token_encrypted_response_enc="A256GCM",
    )
    rp = RelyingParty(client, client_id, secret, REDIRECT_URI)
    tokens = signed_in(rp, user)
    rp.validate_id_token(decrypt(tokens["id_token"], key)[1])


def test_cli_sets_encryption(cli, client, user, tmp_path):
    data = cli.ok(
        "clients",
        "create",
        "--name",
        "CLI encrypting portal",
        "--redirect-uri",
        REDIRECT_URI,
        "--json",
    )
    # Without a key set the command is refused, naming the field and why.
    code, _, err = cli.run("clients", "set-encryption", data["client_id"], "--id-token", "ECDH-ES")
    assert code == 2 and "id_token_encrypted_response_alg" in err and "jwks" in err
    key = ec_enc_key()
    jwks_file = tmp_path / "jwks.json"
    jwks_file.write_text(json.dumps(public_set(key)))
    shown = cli.ok(
        "clients",
        "set-encryption",
        data["client_id"],
        "--id-token",
        "ECDH-ES/A256GCM",
        "--userinfo-signing",
        "ES256",
        "--jwks-file",
        str(jwks_file),
    )
    assert shown["id_token_encrypted_response_enc"] == "A256GCM"
    assert shown["userinfo_signed_response_alg"] == "ES256"
    rp = RelyingParty(client, data["client_id"], data["client_secret"], REDIRECT_URI)
    tokens = signed_in(rp, user)
    header, inner = decrypt(tokens["id_token"], key)
    assert header["enc"] == "A256GCM"
    rp.validate_id_token(inner)
    assert rp.userinfo(tokens["access_token"]).mimetype == "application/jwt"
    cleared = cli.ok("clients", "set-encryption", data["client_id"], "--id-token", "none")
    assert cleared["id_token_encrypted_response_alg"] is None
