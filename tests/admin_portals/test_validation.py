"""Field-level errors for every bad input (issue 7, "Bad input"): the admin API answers 400
problem details with one member of ``errors`` per problem (field, code, message, pointer), and
registers nothing. The rules are idp.oauth.clients, shared with the console, RFC 7591
and the CLI."""

from __future__ import annotations

from typing import Any

import pytest

from idp.config import DEMO_REGISTRY
from tests.admin_portals.helpers import (
    AdminApi,
    admin_api_token,
    field_errors,
    portal,
    private_key_set,
    public_key_set,
    serving,
)


@pytest.fixture
def api(client, cli) -> AdminApi:  # type: ignore[no-untyped-def]
    return AdminApi(client, admin_api_token(cli, "operator"))


def refused(api: AdminApi, **overrides: Any) -> dict[str, list[str]]:
    """Post a portal that must be refused: 400, nothing registered; its errors by field."""
    before = api.get("/clients").get_json()["clients"]
    response = api.post("/clients", portal(**overrides))
    assert response.status_code == 400, response.get_json()
    assert api.get("/clients").get_json()["clients"] == before
    return field_errors(response)


@pytest.mark.parametrize(
    ("uris", "code"),
    [
        (["https://portal.example.gov.cn/cb#done"], "fragment"),
        (["https://*.example.gov.cn/cb"], "wildcard"),
        (["https://user:pw@portal.example.gov.cn/cb"], "userinfo"),
        (["/relative/callback"], "not_absolute"),
        (["https:///no-host"], "not_absolute"),
        (["ftp://portal.example.gov.cn/cb"], "https_required"),
        (["https://portal.example.gov.cn/a b"], "invalid_uri"),
        ([], "required"),
    ],
)
def test_bad_redirect_uris(api, uris, code):
    """RFC 6749 3.1.2 (absolute, no fragment), RFC 9700 2.1 (exact, https)."""
    assert refused(api, redirect_uris=uris) == {"redirect_uris": [code]}


def test_every_problem_is_reported_at_once_with_pointers(api):
    response = api.post(
        "/clients",
        portal(
            redirect_uris=["https://ok.example.gov.cn/cb", "https://bad.example.gov.cn/cb#x"],
            scopes=["profile", "payroll"],
            region="990000",
            contacts=["ops@example.gov.cn", "call me"],
            matters=["Tax Declaration"],
            trusted="yes",
            colour="blue",
        ),
    )

    assert response.status_code == 400
    errors = response.get_json()["errors"]
    pointers = {(e["pointer"], e["code"]) for e in errors}
    assert pointers == {
        ("/redirect_uris/1", "fragment"),
        ("/scopes/1", "unknown_scope"),
        ("/region", "invalid"),
        ("/contacts/1", "invalid"),
        ("/matters/0", "invalid"),
        ("/trusted", "type"),
        ("/colour", "unknown_field"),
    }


def test_unknown_scope(api):
    assert refused(api, scopes=["openid", "everything"]) == {"scopes": ["unknown_scope"]}


def test_sensitive_claim_must_be_one_of_the_providers(api):
    assert refused(api, allowed_sensitive_claims=["id_number", "name"]) == {
        "allowed_sensitive_claims": ["unknown_value"]
    }
    created = api.create(allowed_sensitive_claims=["id_number"], scopes=["id_number"])
    assert created["allowed_sensitive_claims"] == ["id_number"]


def test_duplicate_display_names_are_refused_in_either_language(api):
    first = api.create(name="宁波市政务服务网", name_en="Ningbo Services")

    assert refused(api, name="宁波市政务服务网") == {"name": ["duplicate"]}
    assert refused(api, name_en="NINGBO services") == {"name_en": ["duplicate"]}
    assert refused(api, name="Ningbo Services") == {"name": ["duplicate"]}
    other = api.create(name="温州市政务服务网", name_en="Wenzhou Services")
    renamed = api.patch(f"/clients/{other['client_id']}", {"name": "宁波市政务服务网"})
    assert renamed.status_code == 400
    assert field_errors(renamed) == {"name": ["duplicate"]}
    # Changing another field of a portal keeps its own name.
    assert api.patch(f"/clients/{first['client_id']}", {"region": "330200"}).status_code == 200


def test_minimum_level_status_and_methods_are_enumerations(api):
    assert refused(api, minimum_verification_level="L9") == {
        "minimum_verification_level": ["unknown_value"]
    }
    assert refused(api, status="paused") == {"status": ["unknown_value"]}
    assert refused(api, token_endpoint_auth_method="client_secret_jwt") == {
        "token_endpoint_auth_method": ["unknown_value"]
    }
    assert refused(api, id_token_signed_response_alg="HS256") == {
        "id_token_signed_response_alg": ["unknown_value"]
    }


def test_jwks_must_hold_public_keys_only(api):
    assert refused(api, jwks=private_key_set()) == {"jwks": ["private_key"]}
    assert refused(api, jwks={"keys": []}) == {"jwks": ["no_key_set"]}
    assert refused(api, token_endpoint_auth_method="private_key_jwt") == {"jwks": ["required"]}
    created = api.create(token_endpoint_auth_method="private_key_jwt", jwks=public_key_set())
    assert created["jwks"]["keys"][0]["kid"] == "portal-key" and "client_secret" not in created


def test_jwks_and_jwks_uri_together_are_refused(api):
    assert refused(
        api, jwks=public_key_set(), jwks_uri="https://portal.example.gov.cn/jwks.json"
    ) == {"jwks": ["conflict"]}


def test_jwks_uri_must_answer_a_key_set(api):
    """The jwks_uri is fetched at registration (a real http.server on a loopback port)."""
    with serving({"hello": "world"}) as server:
        assert refused(api, jwks_uri=server.url) == {"jwks_uri": ["no_key_set"]}
        assert server.fetches == 1
    with serving(b"<html>not json</html>") as server:
        assert refused(api, jwks_uri=server.url) == {"jwks_uri": ["no_key_set"]}
    with serving({"error": "gone"}, status=404) as server:
        assert refused(api, jwks_uri=server.url) == {"jwks_uri": ["unreachable"]}
    with serving(private_key_set()) as server:
        assert refused(api, jwks_uri=server.url) == {"jwks_uri": ["no_key_set"]}
    assert refused(api, jwks_uri="http://127.0.0.1:9/jwks.json") == {"jwks_uri": ["unreachable"]}
    with serving(public_key_set()) as server:
        created = api.create(token_endpoint_auth_method="private_key_jwt", jwks_uri=server.url)
    assert created["jwks_uri"] == server.url


def test_jwks_uri_that_answers_too_late_is_a_field_error(make_app, cli):
    slow_app = make_app(CLIENT_METADATA_FETCH_TIMEOUT=1, BACKCHANNEL_DISPATCHER=False)
    api = AdminApi(slow_app.test_client(), admin_api_token(cli))
    with serving(public_key_set(), delay=3) as server:
        errors = refused(api, jwks_uri=server.url)
    assert errors == {"jwks_uri": ["unreachable"]}


def test_pairwise_sector_identifier_must_list_every_redirect_uri(api):
    """OpenID Connect Registration 5; Core 8.1 (several hosts need a sector identifier)."""
    uris = ["https://a.example.gov.cn/cb", "https://b.example.gov.cn/cb"]
    assert refused(api, subject_type="pairwise", redirect_uris=uris) == {
        "sector_identifier_uri": ["required"]
    }
    with serving(uris[:1]) as server:
        assert refused(
            api, subject_type="pairwise", redirect_uris=uris, sector_identifier_uri=server.url
        ) == {"sector_identifier_uri": ["not_listed"]}
    with serving({"not": "a list"}) as server:
        assert refused(
            api, subject_type="pairwise", redirect_uris=uris, sector_identifier_uri=server.url
        ) == {"sector_identifier_uri": ["invalid"]}
    with serving([*uris, "https://c.example.gov.cn/cb"]) as server:
        created = api.create(
            subject_type="pairwise", redirect_uris=uris, sector_identifier_uri=server.url
        )
    assert created["subject_type"] == "pairwise"


def test_patch_cannot_touch_read_only_members(api):
    created = api.create()

    response = api.patch(
        f"/clients/{created['client_id']}", {"client_id": "other", "created_at": "now"}
    )

    assert response.status_code == 400
    assert field_errors(response) == {"client_id": ["read_only"], "created_at": ["read_only"]}


def test_client_id_rules(api):
    api.create(client_id="taken")
    bad = api.post("/clients", {**portal(), "client_id": "-bad id"})
    assert field_errors(bad) == {"client_id": ["invalid"]}
    taken = api.post("/clients", {**portal(), "client_id": "taken"})
    assert field_errors(taken) == {"client_id": ["taken"]}


@pytest.fixture
def production_api(make_app, cli) -> AdminApi:  # type: ignore[no-untyped-def]
    """The API of a production configuration (https issuer): http is refused."""
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
    return AdminApi(browser, admin_api_token(cli))


def test_non_https_uris_are_refused_outside_development(production_api):
    """RFC 9700 2.1: https; RFC 8252 7.3: http only for loopback redirect URIs."""
    errors = refused(
        production_api,
        redirect_uris=["http://portal.example.gov.cn/cb", "http://127.0.0.1:8765/cb"],
        post_logout_redirect_uris=["http://portal.example.gov.cn/"],
        backchannel_logout_uri="http://portal.example.gov.cn/logout",
        jwks_uri="http://portal.example.gov.cn/jwks.json",
    )

    assert errors == {
        "redirect_uris": ["https_required"],
        "post_logout_redirect_uris": ["https_required"],
        "backchannel_logout_uri": ["https_required"],
        "jwks_uri": ["https_required"],
    }
    created = production_api.create(redirect_uris=["http://[::1]:8765/cb"])
    assert created["redirect_uris"] == ["http://[::1]:8765/cb"]
