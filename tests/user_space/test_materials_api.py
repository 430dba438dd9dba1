"""Releasing materials to a portal (issue 12, item 3; docs/user-space.md "Materials"): the
scope ``materials``, the person's choice on the consent page, the disclosure log, and the
portals' API (``/api/materials``: bearer tokens, RFC 6750; each item fetched once)."""

from __future__ import annotations

import io
import re
import shutil
from typing import Any

import pytest

from tests.account.helpers import account_login, create_user, signed_in_page
from tests.support import RelyingParty, csrf_token, form_action
from tests.user_space.materials_support import material_ids, pdf, png, upload

REDIRECT = "https://materials.example.gov.cn/callback"


@pytest.fixture(autouse=True)
def empty_materials_folder(provider: Any) -> None:
    shutil.rmtree(provider.config.MATERIALS_DIR, ignore_errors=True)


@pytest.fixture
def portal(cli: Any, client: Any) -> RelyingParty:
    data = cli.ok(
        "clients",
        "create",
        "--name",
        "Materials Portal",
        "--redirect-uri",
        REDIRECT,
        "--scope",
        "openid",
        "--scope",
        "profile",
        "--scope",
        "materials",
        "--json",
    )
    return RelyingParty(client, data["client_id"], data["client_secret"], REDIRECT)


@pytest.fixture
def person(client: Any, cli: Any) -> dict[str, Any]:
    created = create_user(cli, "lan", "陈兰")
    assert account_login(client, created["username"], created["password"]).status_code == 303
    assert upload(client, pdf("id-card-bytes"), title="身份证正反面扫描").status_code == 303
    assert (
        upload(
            client, png(), filename="d.png", type_code="education_certificate", title="学位证"
        ).status_code
        == 303
    )
    html = signed_in_page(client, "/account/materials?lang=en")
    ids = material_ids(html)  # newest first
    return {**created, "diploma": ids[0], "id_card": ids[1]}


def _consent_page(portal: RelyingParty, scope: str = "openid profile materials") -> tuple[Any, str]:
    attempt = portal.authorize(scope=scope)
    html = portal.follow(attempt)
    assert 'name="decision"' in html, "no consent page"
    return attempt, html


def _approve(portal: RelyingParty, attempt: Any, html: str, materials: list[str]) -> dict[str, Any]:
    attempt.response = portal.browser.post(
        form_action(html, "/consent"),
        data={"csrf_token": csrf_token(html), "decision": "approve", "materials": materials},
    )
    portal._capture(attempt)
    assert "code" in attempt.result, attempt.result
    tokens = portal.exchange(attempt)
    assert tokens.status_code == 200, tokens.get_json()
    return tokens.get_json()


def _api(browser: Any, path: str, token: str | None = None, **headers: str) -> Any:
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return browser.get(path, headers=headers)


def test_the_person_chooses_and_the_portal_fetches_each_item_once(client, portal, person, cli):
    attempt, html = _consent_page(portal)
    assert 'id="consent-materials"' in html
    offered = re.findall(r'name="materials" value="([^"]+)"', html)
    assert sorted(offered) == sorted([person["id_card"], person["diploma"]])
    assert "身份证正反面扫描" in html and 'data-scope="materials"' in html

    tokens = _approve(portal, attempt, html, [person["id_card"]])
    access = tokens["access_token"]

    listing = _api(client, "/api/materials", access)
    assert listing.status_code == 200 and listing.headers["Cache-Control"] == "no-store"
    [item] = listing.get_json()["items"]
    assert item["type"] == "id_card" and item["type_name"] == "身份证正反面"
    assert item["title"] == "身份证正反面扫描" and item["media_type"] == "application/pdf"
    assert item["fetched"] is False and item["available"] is True
    assert item["href"] == f"http://localhost/api/materials/{item['id']}"
    assert person["id_card"] not in listing.get_data(as_text=True)  # the release's own id

    fetched = _api(client, f"/api/materials/{item['id']}", access)
    assert fetched.status_code == 200
    assert fetched.data == pdf("id-card-bytes")
    assert fetched.mimetype == "application/pdf"
    assert fetched.headers["Content-Disposition"].startswith("attachment;")
    assert fetched.headers["X-Content-Type-Options"] == "nosniff"
    assert fetched.headers["Cache-Control"] == "no-store"

    again = _api(client, f"/api/materials/{item['id']}", access)
    assert again.status_code == 410 and again.get_json()["error"] == "already_fetched"
    assert _api(client, "/api/materials", access).get_json()["items"][0]["fetched"] is True

    # The disclosure log lists the type (never the title or the bytes); the person sees it.
    disclosures = signed_in_page(client, "/account/disclosures?lang=en")
    assert f'data-client="{portal.client_id}" data-channel="materials"' in disclosures
    assert 'data-claim="material:id_card">Material: ' in disclosures
    assert "身份证正反面扫描" not in disclosures
    cli.ok("audit", "chain")
    assert "intact" in cli.ok("audit", "verify")
    # The materials page says where it went.
    page = signed_in_page(client, "/account/materials?lang=en")
    assert "Materials Portal" in page and "(fetched)" in page


def test_nothing_ticked_releases_nothing(client, portal, person):
    attempt, html = _consent_page(portal)
    tokens = _approve(portal, attempt, html, [])
    assert _api(client, "/api/materials", tokens["access_token"]).get_json() == {"items": []}


def test_another_persons_materials_cannot_be_released(client, app, cli, portal, person):
    other = app.test_client()
    someone = create_user(cli, "yun", "周云")
    assert account_login(other, someone["username"], someone["password"]).status_code == 303
    rp = RelyingParty(other, portal.client_id, portal.client_secret, REDIRECT)
    attempt, html = _consent_page(rp)
    assert 'id="consent-no-materials"' in html
    tokens = _approve(rp, attempt, html, [person["id_card"], "not-an-id"])
    assert _api(other, "/api/materials", tokens["access_token"]).get_json() == {"items": []}


def test_the_page_is_shown_every_time_the_scope_is_asked(client, portal, person):
    attempt, html = _consent_page(portal)
    _approve(portal, attempt, html, [person["diploma"]])
    # A remembered consent does not skip the choice of materials.
    _attempt, again = _consent_page(portal)
    assert 'id="consent-materials"' in again
    # Without the scope, a remembered consent needs no page and nothing is offered.
    plain = portal.authorize(scope="openid profile")
    assert plain.response.status_code == 303
    assert plain.response.headers["Location"].startswith(REDIRECT)


def test_a_material_renewed_after_release_is_not_sent(client, portal, person):
    attempt, html = _consent_page(portal)
    access = _approve(portal, attempt, html, [person["id_card"]])["access_token"]
    page = signed_in_page(client, f"/account/materials/{person['id_card']}?lang=en")
    renewed = client.post(
        f"/account/materials/{person['id_card']}/renew",
        data={
            "csrf_token": csrf_token(page),
            "expires_on": "",
            "file": (io.BytesIO(pdf("new card")), "n.pdf", "application/pdf"),
        },
        content_type="multipart/form-data",
    )
    assert renewed.status_code == 303
    [item] = _api(client, "/api/materials", access).get_json()["items"]
    assert item["available"] is False
    refused = _api(client, f"/api/materials/{item['id']}", access)
    assert refused.status_code == 410 and refused.get_json()["error"] == "material_changed"


def test_a_deleted_material_is_gone_for_the_portal(client, portal, person):
    attempt, html = _consent_page(portal)
    access = _approve(portal, attempt, html, [person["id_card"]])["access_token"]
    [item] = _api(client, "/api/materials", access).get_json()["items"]
    page = signed_in_page(client, f"/account/materials/{person['id_card']}?lang=en")
    client.post(
        f"/account/materials/{person['id_card']}/delete", data={"csrf_token": csrf_token(page)}
    )
    assert _api(client, "/api/materials", access).get_json() == {"items": []}
    gone = _api(client, f"/api/materials/{item['id']}", access)
    assert gone.status_code == 404 and gone.get_json()["error"] == "not_found"


def test_bearer_errors_follow_rfc_6750(client, portal, person, confidential_rp, user):
    for path in ("/api/materials", "/api/materials/x"):
        bare = _api(client, path)
        assert bare.status_code == 401
        assert bare.headers["WWW-Authenticate"] == 'Bearer realm="materials"'
        basic = _api(client, path, Authorization="Basic YTpi")
        assert basic.status_code == 401
        invalid = _api(client, path, "not-a-token")
        assert invalid.status_code == 401 and invalid.get_json()["error"] == "invalid_token"
        assert 'error="invalid_token"' in invalid.headers["WWW-Authenticate"]
        malformed = _api(client, path, Authorization="Bearer ")
        assert malformed.status_code == 400
        assert malformed.get_json()["error"] == "invalid_request"
        controls = _api(client, path, Authorization="Bearer a\x01b")
        assert controls.status_code in (400, 401) and controls.is_json
    # A token of a login without the scope.
    attempt = confidential_rp.login(user["username"], user["password"])
    other_token = confidential_rp.exchange(attempt).get_json()["access_token"]
    scoped = _api(client, "/api/materials", other_token)
    assert scoped.status_code == 403 and scoped.get_json()["error"] == "insufficient_scope"
    assert 'scope="materials"' in scoped.headers["WWW-Authenticate"]


def test_an_item_of_another_login_is_unknown_and_a_revoked_token_is_refused(client, portal, person):
    attempt, html = _consent_page(portal)
    first = _approve(portal, attempt, html, [person["id_card"]])
    [item] = _api(client, "/api/materials", first["access_token"]).get_json()["items"]
    attempt, html = _consent_page(portal)
    second = _approve(portal, attempt, html, [])
    unknown = _api(client, f"/api/materials/{item['id']}", second["access_token"])
    assert unknown.status_code == 404
    long_id = _api(client, "/api/materials/" + "a" * 200, second["access_token"])
    assert long_id.status_code == 404 and long_id.is_json
    assert portal.revoke(first["access_token"]).status_code == 200
    revoked = _api(client, f"/api/materials/{item['id']}", first["access_token"])
    assert revoked.status_code == 401


def test_discovery_names_the_scope(client):
    metadata = client.get("/.well-known/openid-configuration").get_json()
    assert "materials" in metadata["scopes_supported"]


def test_cancellation_ends_the_releases(client, portal, person, provider):
    attempt, html = _consent_page(portal)
    access = _approve(portal, attempt, html, [person["id_card"]])["access_token"]
    form = signed_in_page(client, "/account/cancel?lang=en")
    client.post(
        "/account/cancel?lang=en",
        data={
            "csrf_token": csrf_token(form),
            "password": person["password"],
            "confirm_cancel": "yes",
        },
    )
    assert _api(client, "/api/materials", access).status_code == 401
    from sqlalchemy import func, select

    from idp.models import MaterialRelease

    provider.db.remove()
    assert provider.db.session.scalar(select(func.count()).select_from(MaterialRelease)) == 0


def test_the_portal_calls_are_limited_with_the_portal_api(client, portal, person, provider):
    attempt, html = _consent_page(portal)
    access = _approve(portal, attempt, html, [person["id_card"]])["access_token"]
    # The portal spent its calls of this minute on the matters and messages API.
    allowed = provider.config.PORTAL_API_REQUESTS_PER_MINUTE
    assert provider.portal_limits.take(portal.client_id, "requests", cost=allowed) == 0
    limited = _api(client, "/api/materials", access)
    assert limited.status_code == 429
    assert limited.get_json()["error"] == "rate_limited"
    assert int(limited.headers["Retry-After"]) >= 1
