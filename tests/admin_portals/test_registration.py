"""Dynamic client registration: RFC 7591 at /register-client with an initial access token an
administrator issued, and RFC 7592 read, update and delete with the registration access token.
The same validation as the console and the admin API."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from tests.admin_portals.helpers import REDIRECT_URI, AdminApi, admin_api_token, signs_in
from tests.support import CliRunner, RelyingParty


def initial_token(cli: CliRunner, *args: str) -> str:
    return str(cli.ok("clients", "initial-access-token", "--json", *args)["token"])


def metadata(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "client_name": "衢州市政务服务网",
        "client_name#en": "Quzhou government services",
        "redirect_uris": [REDIRECT_URI],
        "post_logout_redirect_uris": ["https://portal.example.gov.cn/"],
        "token_endpoint_auth_method": "client_secret_basic",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "scope": "openid profile offline_access",
        "contacts": ["ops@quzhou.example.gov.cn"],
        "region": "330800",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def register(client: Any, token: str | None, body: Any) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.post("/register-client", json=body, headers=headers)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_discovery_names_the_registration_endpoint(client):
    configuration = client.get("/.well-known/openid-configuration").get_json()

    assert configuration["registration_endpoint"] == "http://localhost/register-client"


def test_registered_portal_logs_in_at_once_then_read_update_delete(client, cli, user):
    """Issue 7 "done when": RFC 7591 with an initial access token, then RFC 7592."""
    response = register(client, initial_token(cli), metadata())

    assert response.status_code == 201
    assert response.headers["Cache-Control"] == "no-store"
    info = response.get_json()
    assert info["client_secret"] and info["client_secret_expires_at"] == 0
    assert isinstance(info["client_id_issued_at"], int)
    assert info["registration_client_uri"] == (
        f"http://localhost/register-client/{info['client_id']}"
    )
    assert response.headers["Location"] == info["registration_client_uri"]
    assert info["client_name"] == "衢州市政务服务网"
    assert info["client_name#en"] == "Quzhou government services"
    assert info["scope"] == "openid profile offline_access"
    assert info["grant_types"] == ["authorization_code", "refresh_token"]
    rp = RelyingParty(client, info["client_id"], info["client_secret"], REDIRECT_URI)
    tokens = signs_in(rp, user)

    # RFC 7592 2.1: read; a new registration access token replaces the old one.
    configuration = info["registration_client_uri"].removeprefix("http://localhost")
    read = client.get(configuration, headers=bearer(info["registration_access_token"]))
    assert read.status_code == 200
    current = read.get_json()
    assert "client_secret" not in current
    assert current["redirect_uris"] == [REDIRECT_URI]
    renewed = current["registration_access_token"]
    assert renewed != info["registration_access_token"]
    stale = client.get(configuration, headers=bearer(info["registration_access_token"]))
    assert stale.status_code == 401 and "invalid_token" in stale.headers["WWW-Authenticate"]

    # RFC 7592 2.2: a full replacement; omitted fields are cleared.
    replaced = client.put(
        configuration,
        headers=bearer(renewed),
        json=metadata(
            client_id=info["client_id"],
            client_secret=info["client_secret"],
            redirect_uris=[REDIRECT_URI, "https://portal.example.gov.cn/other"],
            post_logout_redirect_uris=None,
            contacts=None,
        ),
    )
    assert replaced.status_code == 200, replaced.get_json()
    updated = replaced.get_json()
    assert updated["redirect_uris"] == [REDIRECT_URI, "https://portal.example.gov.cn/other"]
    assert "post_logout_redirect_uris" not in updated and "contacts" not in updated
    signs_in(rp, user)  # the secret is unchanged

    # RFC 7592 2.3: delete; the client and everything issued to it are gone.
    deleted = client.delete(configuration, headers=bearer(updated["registration_access_token"]))
    assert deleted.status_code == 204
    assert rp.userinfo(tokens["access_token"]).status_code == 401
    assert rp.refresh(tokens["refresh_token"]).status_code in (400, 401)
    assert rp.authorize().response.status_code == 400
    gone = client.get(configuration, headers=bearer(updated["registration_access_token"]))
    assert gone.status_code == 401


def test_initial_access_token_is_single_use_by_default(client, cli):
    token = initial_token(cli)

    assert register(client, token, metadata()).status_code == 201
    again = register(client, token, metadata(client_name="Another portal"))

    assert again.status_code == 401
    assert again.get_json()["error"] == "invalid_token"
    assert again.headers["WWW-Authenticate"].startswith("Bearer")


def test_initial_access_token_with_counted_uses(client, cli):
    token = initial_token(cli, "--uses", "2", "--days", "1")

    first = register(client, token, metadata(**{"client_name": "One", "client_name#en": None}))
    second = register(client, token, metadata(**{"client_name": "Two", "client_name#en": None}))
    third = register(client, token, metadata(**{"client_name": "Three", "client_name#en": None}))

    assert [first.status_code, second.status_code, third.status_code] == [201, 201, 401]


def test_refused_metadata_does_not_use_up_the_token(client, cli):
    token = initial_token(cli)

    bad = register(client, token, metadata(redirect_uris=["https://portal.example.gov.cn/#x"]))

    assert bad.status_code == 400
    assert register(client, token, metadata()).status_code == 201


def test_expired_initial_access_token_is_refused(client, cli, provider):
    token = initial_token(cli)
    with provider.db.engine.begin() as connection:  # a week later
        connection.execute(
            text("UPDATE initial_access_tokens SET expires_at = :past"),
            {"past": "2000-01-01 00:00:00.000000"},
        )

    assert register(client, token, metadata()).status_code == 401


@pytest.mark.parametrize("token", [None, "made-up-token"], ids=["missing", "unknown"])
def test_registration_without_a_valid_initial_access_token(client, token):
    response = register(client, token, metadata())

    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_token"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    ("overrides", "error", "field"),
    [
        ({"redirect_uris": ["https://portal.example.gov.cn/cb#x"]}, "invalid_redirect_uri", None),
        ({"redirect_uris": ["http://portal.example.gov.cn/cb*"]}, "invalid_redirect_uri", None),
        ({"scope": "openid everything"}, "invalid_client_metadata", "scope"),
        ({"client_name": None}, "invalid_client_metadata", "client_name"),
        ({"jwks_uri": "ftp://portal.example.gov.cn/jwks"}, "invalid_client_metadata", "jwks_uri"),
        ({"grant_types": ["implicit"]}, "invalid_client_metadata", "grant_types"),
        ({"response_types": ["token"]}, "invalid_client_metadata", "response_types"),
        ({"trusted": True}, "invalid_client_metadata", "trusted"),
        ({"allowed_sensitive_claims": ["id_number"]}, "invalid_client_metadata", "allowed"),
        ({"subject_type": "anonymous"}, "invalid_client_metadata", "subject_type"),
    ],
)
def test_rfc7591_errors_name_the_field(client, cli, overrides, error, field):
    """RFC 7591 3.2.2: invalid_redirect_uri, or invalid_client_metadata naming the field."""
    response = register(client, initial_token(cli), metadata(**overrides))

    assert response.status_code == 400
    body = response.get_json()
    assert body["error"] == error
    assert field is None or body["error_description"].startswith(field)


def test_duplicate_name_is_refused_as_in_the_console(client, cli):
    AdminApi(client, admin_api_token(cli)).create(name="衢州市政务服务网")

    response = register(client, initial_token(cli), metadata())

    assert response.status_code == 400
    assert response.get_json()["error_description"].startswith("client_name:")


def test_non_json_body_is_invalid_client_metadata(client, cli):
    response = client.post(
        "/register-client",
        data="client_name=x",
        headers=bearer(initial_token(cli)),
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_client_metadata"


def test_update_must_name_this_client_and_its_current_secret(client, cli):
    info = register(client, initial_token(cli), metadata()).get_json()
    path = f"/register-client/{info['client_id']}"
    headers = bearer(info["registration_access_token"])

    wrong_id = client.put(path, headers=headers, json=metadata(client_id="someone-else"))
    wrong_secret = client.put(
        path, headers=headers, json=metadata(client_id=info["client_id"], client_secret="guess")
    )

    assert wrong_id.status_code == 400 and wrong_secret.status_code == 400
    assert wrong_id.get_json()["error"] == "invalid_client_metadata"
    assert "client_secret" in wrong_secret.get_json()["error_description"]


def test_one_portals_token_cannot_reach_another_registration(client, cli):
    token = initial_token(cli, "--uses", "2")
    first = register(client, token, metadata(**{"client_name": "First"})).get_json()
    second = register(
        client, token, metadata(**{"client_name": "Second", "client_name#en": "Second"})
    ).get_json()

    response = client.get(
        f"/register-client/{second['client_id']}",
        headers=bearer(first["registration_access_token"]),
    )

    assert response.status_code == 401


def test_registration_cannot_escalate_what_an_administrator_set(client, cli):
    """RFC 7592 2.2 replaces the metadata, but never the administrator's decisions."""
    info = register(client, initial_token(cli), metadata()).get_json()
    api = AdminApi(client, admin_api_token(cli))
    api.patch(f"/clients/{info['client_id']}", {"status": "disabled"})

    replaced = client.put(
        f"/register-client/{info['client_id']}",
        headers=bearer(info["registration_access_token"]),
        json=metadata(client_id=info["client_id"]),
    )

    assert replaced.status_code == 200
    shown = api.get(f"/clients/{info['client_id']}").get_json()
    assert shown["status"] == "disabled" and shown["registered_dynamically"] is True
    refused = client.put(
        f"/register-client/{info['client_id']}",
        headers=bearer(replaced.get_json()["registration_access_token"]),
        json=metadata(client_id=info["client_id"], status="active"),
    )
    assert refused.status_code == 400


def test_wrong_methods_answer_json(client):
    response = client.get("/register-client")

    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"
    assert response.get_json()["error"] == "invalid_request"
