"""Client authentication at the token endpoint (RFC 6749 sections 2.3 and 3.2.1, OIDC Core
section 9, RFC 7523 sections 2.2 and 3)."""

from __future__ import annotations

import pytest
from jwcrypto import jwk
from sqlalchemy import text

from tests.support import RelyingParty
from tests.token.helpers import (
    ASSERTION_TYPE,
    KeyRelyingParty,
    basic,
    obtain,
    register,
    rsa_key,
    write_jwks,
)


def _code_form(rp: RelyingParty, user: dict[str, str]) -> dict[str, str]:
    attempt = rp.login(user["username"], user["password"])
    return {
        "grant_type": "authorization_code",
        "code": attempt.result["code"],
        "redirect_uri": rp.redirect_uri,
        "code_verifier": attempt.verifier or "",
    }


def _invalid_client(response) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code in (400, 401), response.status_code
    assert response.get_json()["error"] == "invalid_client"
    assert "access_token" not in response.get_json()


def test_client_secret_basic(confidential_rp, user):
    """RFC 6749 section 2.3.1: HTTP Basic with the registered secret."""
    _, tokens = obtain(confidential_rp, user)

    assert tokens["token_type"] == "Bearer"


def test_client_secret_post(post_rp, user):
    """RFC 6749 section 2.3.1: client_id and client_secret in the form body."""
    _, tokens = obtain(post_rp, user)

    assert tokens["token_type"] == "Bearer"
    assert post_rp.introspect(tokens["access_token"]).get_json()["active"] is True


def test_basic_client_using_post_is_refused(confidential_rp, user, client):
    """OIDC Core 9: a client authenticates with the method it registered, no other."""
    form = _code_form(confidential_rp, user)

    response = client.post(
        "/token",
        data={
            **form,
            "client_id": confidential_rp.client_id,
            "client_secret": confidential_rp.client_secret,
        },
    )

    _invalid_client(response)


def test_post_client_using_basic_is_refused(post_rp, user, client):
    """OIDC Core 9: a client registered for client_secret_post cannot use Basic."""
    form = _code_form(post_rp, user)

    response = client.post(
        "/token", data=form, headers=basic(post_rp.client_id, post_rp.client_secret)
    )

    _invalid_client(response)


def test_wrong_secret_with_basic_is_401_with_challenge(confidential_rp, user, client):
    """RFC 6749 section 5.2: a failed Basic authentication gets 401 and a WWW-Authenticate
    header matching the scheme the client used."""
    form = _code_form(confidential_rp, user)

    response = client.post(
        "/token", data=form, headers=basic(confidential_rp.client_id, "not-the-secret")
    )

    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_client"
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert response.headers["Cache-Control"] == "no-store"


def test_wrong_secret_with_post_is_invalid_client(post_rp, user, client):
    """RFC 6749 section 5.2: invalid_client when the client secret does not match."""
    form = _code_form(post_rp, user)

    response = client.post(
        "/token",
        data={**form, "client_id": post_rp.client_id, "client_secret": "not-the-secret"},
    )

    _invalid_client(response)


def test_unknown_client_is_invalid_client(client):
    """RFC 6749 section 5.2: an unknown client is invalid_client."""
    response = client.post(
        "/token",
        data={"grant_type": "authorization_code", "code": "x", "redirect_uri": "https://a/"},
        headers=basic("no-such-client", "secret"),
    )

    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_client"


def test_private_key_jwt(key_rp, user):
    """OIDC Core 9 / RFC 7523 2.2: an assertion signed with the registered key authenticates."""
    attempt, tokens = obtain(key_rp, user)

    key_rp.validate_id_token(tokens["id_token"], attempt.params["nonce"])
    refreshed = key_rp.refresh(tokens["refresh_token"])
    assert refreshed.status_code == 200, refreshed.get_json()


def test_private_key_jwt_with_issuer_audience(key_rp, user, client):
    """OIDC Core 9: the audience may be the issuer identifier (RFC 7523bis)."""
    form = _code_form(key_rp, user)

    response = client.post(
        "/token",
        data={
            **form,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": key_rp.assertion(aud="http://localhost"),
        },
    )

    assert response.status_code == 200, response.get_json()


def test_private_key_jwt_replayed_assertion_is_refused(key_rp, user, client):
    """RFC 7523 section 3 item 7 / OIDC Core 9: a jti is accepted once."""
    assertion = key_rp.assertion()
    auth = {"client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion}
    first = client.post("/token", data={**_code_form(key_rp, user), **auth})
    assert first.status_code == 200, first.get_json()

    replay = client.post("/token", data={**_code_form(key_rp, user), **auth})

    _invalid_client(replay)


def test_private_key_jwt_signed_by_another_key_is_refused(key_rp, user, client):
    """RFC 7523 section 3 item 9: the signature must verify with the client's registered key."""
    impostor = KeyRelyingParty(
        client, key_rp.client_id, None, key_rp.redirect_uri, key=rsa_key("impostor")
    )
    form = _code_form(key_rp, user)

    response = client.post(
        "/token",
        data={
            **form,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": impostor.assertion(),
        },
    )

    _invalid_client(response)


def test_private_key_jwt_wrong_audience_or_expired_is_refused(key_rp, user, client):
    """RFC 7523 section 3 items 3 and 4: aud must identify this server; exp in the future."""
    form = _code_form(key_rp, user)
    for claims in ({"aud": "https://elsewhere.example/token"}, {"exp": 1_000_000_000}):
        response = client.post(
            "/token",
            data={
                **form,
                "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": key_rp.assertion(**claims),
            },
        )
        _invalid_client(response)


def test_private_key_jwt_issuer_must_be_the_client(key_rp, other_rp, user, client):
    """RFC 7523 section 3 items 1 and 2: iss and sub are both the client_id."""
    form = _code_form(key_rp, user)

    response = client.post(
        "/token",
        data={
            **form,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": key_rp.assertion(iss=other_rp.client_id),
        },
    )

    _invalid_client(response)


def test_secret_client_cannot_use_an_assertion(confidential_rp, user, client):
    """OIDC Core 9: a client registered for client_secret_basic has no key to sign with;
    an assertion in its name is refused."""
    forged = KeyRelyingParty(
        client,
        confidential_rp.client_id,
        None,
        confidential_rp.redirect_uri,
        key=rsa_key("impostor"),
    )
    form = _code_form(confidential_rp, user)

    response = client.post(
        "/token",
        data={
            **form,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": forged.assertion(),
        },
    )

    _invalid_client(response)


def test_public_client_cannot_authenticate_as_confidential(public_rp, user, client):
    """RFC 6749 section 2.1: a public client has no credentials; a secret in its name is
    refused rather than silently ignored."""
    form = _code_form(public_rp, user)

    as_basic = client.post("/token", data=form, headers=basic(public_rp.client_id, "guess"))
    as_post = client.post(
        "/token", data={**form, "client_id": public_rp.client_id, "client_secret": "guess"}
    )

    _invalid_client(as_basic)
    _invalid_client(as_post)


def test_confidential_client_cannot_use_none(confidential_rp, user, client):
    """RFC 6749 section 3.2.1: a confidential client MUST authenticate; client_id alone
    (token_endpoint_auth_method=none) is refused."""
    form = _code_form(confidential_rp, user)

    response = client.post("/token", data={**form, "client_id": confidential_rp.client_id})

    _invalid_client(response)


def test_client_secrets_are_stored_hashed(cli, provider):
    """RFC 6749 section 2.3.1 / RFC 9700: the database never holds a client secret in clear."""
    data = register(cli)
    secret = data["client_secret"]

    with provider.db.engine.connect() as connection:
        rows = connection.execute(text("SELECT * FROM clients")).all()

    assert len(rows) == 1
    dumped = " ".join(str(value) for value in rows[0])
    assert data["client_id"] in dumped
    assert secret not in dumped
    assert rows[0]._mapping["client_secret_hash"]


@pytest.mark.parametrize("alg", ["ES256", "PS256"])
def test_private_key_jwt_with_advertised_algorithms(cli, client, user, tmp_path, alg):
    """RFC 8414 token_endpoint_auth_signing_alg_values_supported: every advertised algorithm
    is accepted for the assertion."""
    advertised = client.get("/.well-known/openid-configuration").get_json()
    assert alg in advertised["token_endpoint_auth_signing_alg_values_supported"]
    key = jwk.JWK.generate(kty="EC", crv="P-256", kid="ec-1") if alg == "ES256" else rsa_key()
    data = register(
        cli,
        "--token-endpoint-auth-method",
        "private_key_jwt",
        "--jwks-file",
        str(write_jwks(tmp_path / "jwks.json", key)),
    )
    rp = KeyRelyingParty(
        client, data["client_id"], None, data["redirect_uris"][0], key=key, alg=alg
    )

    _, tokens = obtain(rp, user)

    assert tokens["token_type"] == "Bearer"
