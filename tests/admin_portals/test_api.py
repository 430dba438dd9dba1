"""The admin JSON API for portals (docs/portals.md): a portal registered through it logs people
in at once; read, change, disable, delete; an auditor's token reads but never writes; errors
are RFC 9457 problem details."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.admin_portals.helpers import (
    REDIRECT_URI,
    AdminApi,
    admin_api_token,
    portal,
    signs_in,
)
from tests.support import RelyingParty


@pytest.fixture
def api(client, cli) -> AdminApi:  # type: ignore[no-untyped-def]
    return AdminApi(client, admin_api_token(cli, "operator"))


@pytest.fixture
def auditor_api(client, cli) -> AdminApi:  # type: ignore[no-untyped-def]
    return AdminApi(client, admin_api_token(cli, "auditor"))


def test_portal_created_through_the_api_logs_a_person_in_at_once(api, client, user):
    """Issue 7 "done when": registered through the admin API, usable at once."""
    created = api.create()

    assert created["client_secret"] and created["has_secret"] is True
    assert created["token_endpoint_auth_method"] == "client_secret_basic"
    assert created["scopes"] == ["openid", "profile"]
    rp = RelyingParty(client, created["client_id"], created["client_secret"], REDIRECT_URI)
    tokens = signs_in(rp, user)
    assert rp.userinfo(tokens["access_token"]).status_code == 200


def test_created_portal_is_listed_and_shown_without_its_secret(api, provider):
    created = api.create(client_id="hz-portal", minimum_verification_level="L2", trusted=True)

    shown = api.get("/clients/hz-portal")
    listed = api.get("/clients").get_json()["clients"]

    assert shown.status_code == 200
    assert shown.headers["Cache-Control"] == "no-store"
    body = shown.get_json()
    assert "client_secret" not in body
    assert body["minimum_verification_level"] == "L2" and body["trusted"] is True
    assert body["region"] == "330100" and body["matters"] == created["matters"]
    assert [c["client_id"] for c in listed] == ["hz-portal"]
    with provider.db.engine.connect() as connection:
        stored = connection.execute(
            text("SELECT client_secret_hash FROM clients WHERE client_id = 'hz-portal'")
        ).scalar()
    assert stored and created["client_secret"] not in stored


def test_patch_changes_only_the_fields_given_and_is_audited(api, provider):
    created = api.create()
    client_id = created["client_id"]

    response = api.patch(
        f"/clients/{client_id}",
        {"name_en": "Renamed portal", "contacts": ["12345"], "reason": "ticket 42"},
    )

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["name_en"] == "Renamed portal" and body["contacts"] == ["12345"]
    assert body["name"] == created["name"] and body["redirect_uris"] == [REDIRECT_URI]
    with provider.db.engine.connect() as connection:
        row = connection.execute(
            text(
                "SELECT actor, details FROM audit_events WHERE action = 'client_updated' "
                "AND client_id = :id"
            ),
            {"id": client_id},
        ).one()
    assert row.actor != "cli"
    assert "ticket 42" in str(row.details) and "contacts" in str(row.details)
    assert "12345" not in str(row.details)  # field names, never the contacts themselves


def test_disabled_portal_cannot_log_in_and_its_tokens_stop_working(api, client, user):
    created = api.create(scopes=["profile", "offline_access"])
    rp = RelyingParty(client, created["client_id"], created["client_secret"], REDIRECT_URI)
    tokens = signs_in(rp, user, scope="openid profile offline_access")
    assert tokens["refresh_token"]

    disabled = api.patch(f"/clients/{rp.client_id}", {"status": "disabled"})

    assert disabled.status_code == 200 and disabled.get_json()["status"] == "disabled"
    refused = rp.authorize()
    assert refused.response.status_code == 400 and "Location" not in refused.response.headers
    assert rp.userinfo(tokens["access_token"]).status_code == 401
    refreshed = rp.refresh(tokens["refresh_token"])
    assert refreshed.status_code in (400, 401)
    assert refreshed.get_json()["error"] in ("invalid_client", "invalid_grant")

    api.patch(f"/clients/{rp.client_id}", {"status": "active"})
    signs_in(rp, user)


def test_deleted_portal_is_gone_with_its_tokens(api, client, user):
    created = api.create()
    rp = RelyingParty(client, created["client_id"], created["client_secret"], REDIRECT_URI)
    tokens = signs_in(rp, user)

    deleted = api.delete(f"/clients/{rp.client_id}", query_string={"reason": "closed"})

    assert deleted.status_code == 204
    assert api.get(f"/clients/{rp.client_id}").status_code == 404
    assert rp.userinfo(tokens["access_token"]).status_code == 401
    assert rp.authorize().response.status_code == 400
    again = api.delete(f"/clients/{rp.client_id}")
    assert again.status_code == 404 and again.mimetype == "application/problem+json"


def test_auditor_token_reads_but_every_write_is_forbidden(api, auditor_api):
    created = api.create()
    client_id = created["client_id"]

    assert auditor_api.get("/clients").status_code == 200
    assert auditor_api.get(f"/clients/{client_id}").status_code == 200
    writes = [
        auditor_api.post("/clients", portal()),
        auditor_api.patch(f"/clients/{client_id}", {"status": "disabled"}),
        auditor_api.delete(f"/clients/{client_id}"),
        auditor_api.post(f"/clients/{client_id}/rotate-secret"),
        auditor_api.post("/initial-access-tokens", {"uses": 1}),
    ]

    for response in writes:
        assert response.status_code == 403
        assert response.mimetype == "application/problem+json"
        assert "Bearer" in response.headers["WWW-Authenticate"]
    after = api.get(f"/clients/{client_id}").get_json()
    assert after["status"] == "active" and after["updated_at"] == created["updated_at"]
    assert len(api.get("/clients").get_json()["clients"]) == 1


@pytest.mark.parametrize("token", [None, "not-a-token"], ids=["missing", "unknown"])
def test_requests_without_a_valid_token_get_401_problems(client, token):
    response = AdminApi(client, token).get("/clients")

    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_openapi_document_is_public_json(client):
    response = client.get("/admin/api/openapi.json")

    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"].startswith("3.1")
    assert "/clients/{client_id}/rotate-secret" in document["paths"]


def test_unknown_paths_methods_and_bodies_answer_problems(api):
    assert api.get("/nothing/here").status_code == 404
    assert api.get("/nothing/here").mimetype == "application/problem+json"
    put = api.client.put("/admin/api/clients", headers=api.headers())
    assert put.status_code == 405 and put.headers["Allow"] == "GET, POST"
    text_body = api.client.post(
        "/admin/api/clients", data="name=x", headers=api.headers(), content_type="text/plain"
    )
    assert text_body.status_code == 415
    not_object = api.post("/clients", ["a list"])
    assert not_object.status_code == 400 and not_object.mimetype == "application/problem+json"


def test_public_portal_has_no_secret_to_rotate(api):
    created = api.create(token_endpoint_auth_method="none")

    assert "client_secret" not in created and created["has_secret"] is False
    response = api.post(f"/clients/{created['client_id']}/rotate-secret")
    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"


def test_changing_to_a_secret_method_issues_a_secret_once(api, client, user):
    created = api.create(token_endpoint_auth_method="none")

    changed = api.patch(
        f"/clients/{created['client_id']}", {"token_endpoint_auth_method": "client_secret_post"}
    ).get_json()

    assert changed["client_secret"] and changed["has_secret"] is True
    again = api.patch(f"/clients/{created['client_id']}", {"name_en": "Again"}).get_json()
    assert "client_secret" not in again
