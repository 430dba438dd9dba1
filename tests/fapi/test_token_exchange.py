"""Token exchange (RFC 8693) between portals the operator paired (issue 18, item 6): a portal's
back end exchanges the person's access token for a short-lived token for another portal, with
``act`` naming it, the scope narrowed, recorded in the disclosure log and audited."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from tests.admin_console.helpers import console_admin, page
from tests.admin_portals.helpers import AdminApi, admin_api_token
from tests.support import CliRunner, RelyingParty, csrf_token, form_action

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN = "urn:ietf:params:oauth:token-type:access_token"
TARGET_URI = "https://social.example.gov.cn/callback"


def make_portal(cli: CliRunner, browser: Any, name: str, redirect_uri: str, *scopes: str) -> Any:
    args = [a for scope in scopes for a in ("--scope", scope)]
    data = cli.ok(
        "clients", "create", "--name", name, "--redirect-uri", redirect_uri, "--json", *args
    )
    return RelyingParty(browser, data["client_id"], data["client_secret"], redirect_uri)


@pytest.fixture
def caller(cli: CliRunner, client: Any) -> RelyingParty:
    return make_portal(
        cli,
        client,
        "Tax portal",
        "https://tax.example.gov.cn/callback",
        "profile",
        "phone",
        "offline_access",
    )


@pytest.fixture
def target(cli: CliRunner, client: Any) -> RelyingParty:
    return make_portal(cli, client, "Social insurance portal", TARGET_URI, "profile")


@pytest.fixture
def paired(cli: CliRunner, caller: RelyingParty, target: RelyingParty) -> None:
    cli.ok("clients", "pair", caller.client_id, target.client_id, "--reason", "joint service")


def login_token(rp: RelyingParty, user: dict[str, str], scope: str = "openid profile phone") -> Any:
    attempt = rp.login(user["username"], user["password"], scope=scope)
    response = rp.exchange(attempt)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def exchange(rp: RelyingParty, subject_token: str, **form: Any) -> Any:
    fields = {
        "grant_type": TOKEN_EXCHANGE,
        "subject_token": subject_token,
        "subject_token_type": ACCESS_TOKEN,
        **form,
    }
    return rp.token_request(**{k: v for k, v in fields.items() if v is not None})


def rows(provider: Any, sql: str, **params: Any) -> list[Any]:
    with provider.db.engine.connect() as connection:
        return list(connection.execute(text(sql), params))


def test_exchange_issues_a_token_for_the_target_with_act(provider, caller, target, paired, user):
    tokens = login_token(caller, user, scope="openid profile phone offline_access")
    response = exchange(caller, tokens["access_token"], audience=target.client_id)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["issued_token_type"] == ACCESS_TOKEN
    assert body["token_type"] == "Bearer"
    assert "refresh_token" not in body and "id_token" not in body
    # Narrowed to what the subject holds and the target may have: no phone, no offline_access.
    assert body["scope"].split() == ["openid", "profile"]
    assert 0 < body["expires_in"] <= 300
    # The target introspects it: aud is the target, act names the calling portal.
    answer = target.introspect(body["access_token"]).get_json()
    assert answer["active"] is True
    assert answer["aud"] == target.client_id
    assert answer["act"] == {"sub": caller.client_id}
    assert answer["client_id"] == caller.client_id
    # The calling portal cannot introspect it (it is the target's token).
    assert caller.introspect(body["access_token"]).get_json() == {"active": False}
    # UserInfo answers with the target's view of the person.
    info = target.userinfo(body["access_token"])
    assert info.status_code == 200 and info.get_json()["sub"]
    assert "phone_number" not in info.get_json()
    # Disclosure log: a release to the target; audit: the exchange.
    released = rows(
        provider,
        "SELECT client_id, channel FROM disclosure_queue WHERE channel = 'token_exchange'",
    )
    assert [(r.client_id, r.channel) for r in released] == [(target.client_id, "token_exchange")]
    audited = rows(
        provider, "SELECT client_id, details FROM audit_events WHERE action = 'token_exchange'"
    )
    assert len(audited) == 1 and audited[0].client_id == caller.client_id
    # The person's own export (PIPL art. 45) lists the exchange.
    exported = provider.token_exchange.export(user["id"])["token_exchanges"]
    assert [(e["portal"], e["act"]) for e in exported] == [
        (target.client_id, {"sub": caller.client_id})
    ]


def test_scope_asked_must_be_within_the_subject_token(caller, target, paired, user):
    tokens = login_token(caller, user)
    ok = exchange(caller, tokens["access_token"], audience=target.client_id, scope="openid")
    assert ok.status_code == 200 and ok.get_json()["scope"] == "openid"
    wider = exchange(caller, tokens["access_token"], audience=target.client_id, scope="phone")
    assert wider.status_code == 400 and wider.get_json()["error"] == "invalid_scope"


def test_resource_names_the_target(caller, target, paired, user):
    tokens = login_token(caller, user)
    response = exchange(
        caller, tokens["access_token"], resource="https://social.example.gov.cn/api/records"
    )
    assert response.status_code == 200, response.get_json()
    unknown = exchange(caller, tokens["access_token"], resource="https://elsewhere.example.com/")
    assert unknown.get_json()["error"] == "invalid_target"


def test_nested_act_when_the_target_exchanges_again(cli, client, caller, target, paired, user):
    third = make_portal(
        cli, client, "Housing portal", "https://housing.example.gov.cn/cb", "profile"
    )
    cli.ok("clients", "pair", target.client_id, third.client_id)
    tokens = login_token(caller, user)
    first = exchange(caller, tokens["access_token"], audience=target.client_id).get_json()
    second = exchange(target, first["access_token"], audience=third.client_id)
    assert second.status_code == 200, second.get_json()
    answer = third.introspect(second.get_json()["access_token"]).get_json()
    assert answer["act"] == {"sub": target.client_id, "act": {"sub": caller.client_id}}


def test_revoking_the_login_revokes_what_was_exchanged(caller, target, paired, user):
    tokens = login_token(caller, user, scope="openid profile offline_access")
    exchanged = exchange(caller, tokens["access_token"], audience=target.client_id).get_json()
    assert caller.revoke(tokens["refresh_token"]).status_code == 200
    assert target.introspect(exchanged["access_token"]).get_json() == {"active": False}


@pytest.mark.parametrize(
    ("form", "status", "error"),
    [
        ({"subject_token": None}, 400, "invalid_request"),
        (
            {"subject_token_type": "urn:ietf:params:oauth:token-type:id_token"},
            400,
            "invalid_request",
        ),
        ({"actor_token": "x", "actor_token_type": ACCESS_TOKEN}, 400, "invalid_request"),
        (
            {"requested_token_type": "urn:ietf:params:oauth:token-type:refresh_token"},
            400,
            "invalid_request",
        ),
        ({"audience": None}, 400, "invalid_request"),
        ({"audience": "somebody-else"}, 400, "invalid_target"),
        ({"subject_token": "not-a-token"}, 400, "invalid_grant"),
    ],
)
def test_refusals(caller, target, paired, user, form, status, error):
    tokens = login_token(caller, user)
    fields: dict[str, Any] = {
        "grant_type": TOKEN_EXCHANGE,
        "subject_token": tokens["access_token"],
        "subject_token_type": ACCESS_TOKEN,
        "audience": target.client_id,
        **form,
    }
    response = caller.token_request(**{k: v for k, v in fields.items() if v is not None})
    assert response.status_code == status, response.get_json()
    assert response.get_json()["error"] == error


def test_unpaired_portal_is_unauthorized(cli, caller, target, user):
    tokens = login_token(caller, user)
    response = exchange(caller, tokens["access_token"], audience=target.client_id)
    assert response.get_json()["error"] == "unauthorized_client"
    cli.ok("clients", "pair", caller.client_id, target.client_id)
    assert exchange(caller, tokens["access_token"], audience=target.client_id).status_code == 200
    cli.ok("clients", "unpair", caller.client_id, target.client_id)
    response = exchange(caller, tokens["access_token"], audience=target.client_id)
    assert response.get_json()["error"] == "unauthorized_client"


def test_a_token_of_another_portal_is_an_invalid_grant(cli, client, caller, target, paired, user):
    other = make_portal(cli, client, "Other portal", "https://other.example.gov.cn/cb", "profile")
    tokens = login_token(other, user, scope="openid profile")
    response = exchange(caller, tokens["access_token"], audience=target.client_id)
    assert response.get_json()["error"] == "invalid_grant"


def test_public_portals_cannot_exchange_nor_be_paired(cli, public_rp, target):
    code, _, err = cli.run("clients", "pair", public_rp.client_id, target.client_id)
    assert code == 2 and "public portal" in err
    code, _, err = cli.run("clients", "pair", target.client_id, target.client_id)
    assert code == 2 and "itself" in err
    code, _, err = cli.run("clients", "pair", "nobody", target.client_id)
    assert code == 2 and "no client nobody" in err


def test_pairs_through_the_admin_api(cli, client, caller, target):
    api = AdminApi(client, admin_api_token(cli))
    path = f"/clients/{caller.client_id}/pairs/{target.client_id}"
    made = client.put(f"/admin/api{path}", json={"reason": "joint"}, headers=api.headers())
    assert made.status_code == 200, made.get_json()
    assert made.get_json()["target_client_id"] == target.client_id
    listed = api.get(f"/clients/{caller.client_id}/pairs").get_json()["pairs"]
    assert [p["target_client_id"] for p in listed] == [target.client_id]
    assert api.delete(path).status_code == 204
    assert api.delete(path).status_code == 404
    auditor = AdminApi(client, admin_api_token(cli, "auditor"))
    assert client.put(f"/admin/api{path}", headers=auditor.headers()).status_code == 403
    assert cli.ok("clients", "pairs", "--json") == []


def test_discovery_advertises_the_grant(client):
    document = client.get("/.well-known/openid-configuration").get_json()
    assert TOKEN_EXCHANGE in document["grant_types_supported"]


def test_secret_rotation_from_the_cli(cli, caller, user):
    """Item 7 (secret rotation with a grace period) from the command too."""
    rotated = cli.ok("clients", "rotate-secret", caller.client_id, "--json")
    assert rotated["client_secret"] != caller.client_secret
    assert rotated["previous_secret_expires_at"]
    # Both secrets work during the grace period.
    assert login_token(caller, user)["access_token"]
    fresh = RelyingParty(
        caller.browser, caller.client_id, rotated["client_secret"], caller.redirect_uri
    )
    assert login_token(fresh, user)["access_token"]


def test_pairs_in_the_console(cli, client, caller, target, user):
    operator = console_admin(client, cli, "operator").client
    path = f"/admin/portals/{caller.client_id}?lang=en"
    html = page(operator, path)
    assert 'id="pair-form"' in html

    def post(action: str, reason: str = "joint service") -> Any:
        current = page(operator, path)
        return operator.post(
            form_action(current, "/pairs"),
            data={
                "csrf_token": csrf_token(current),
                "target": target.client_id,
                "action": action,
                "reason": reason,
            },
        )

    assert post("pair").status_code == 303
    assert f'data-pair="{target.client_id}"' in page(operator, path)
    tokens = login_token(caller, user)
    assert exchange(caller, tokens["access_token"], audience=target.client_id).status_code == 200
    assert post("unpair").status_code == 303
    assert f'data-pair="{target.client_id}"' not in page(operator, path)
    # A reason is required, as for every console action.
    assert post("pair", reason="").status_code == 400
