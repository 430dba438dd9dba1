"""The portal pages of the console (/admin/portals): an operator with TOTP registers a portal
and it logs people in at once; field errors under each field; edit, rotate, disable, delete;
an initial access token issued in the console registers a portal (RFC 7591); an auditor sees
everything and changes nothing."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.admin_console.helpers import console_admin, page
from tests.admin_portals.helpers import REDIRECT_URI, signs_in
from tests.support import RelyingParty, csrf_token, form_action


def metadata_form(**overrides: Any) -> dict[str, Any]:
    form: dict[str, Any] = {
        "client_id": "",
        "name": "丽水市政务服务网",
        "name_en": "Lishui government services",
        "region": "331100",
        "redirect_uris": REDIRECT_URI,
        "post_logout_redirect_uris": "https://portal.example.gov.cn/",
        "backchannel_logout_uri": "",
        "token_endpoint_auth_method": "client_secret_basic",
        "jwks": "",
        "jwks_uri": "",
        "id_token_signed_response_alg": "RS256",
        "scopes": ["openid", "profile"],
        "minimum_verification_level": "",
        "subject_type": "public",
        "sector_identifier_uri": "",
        "matters": "tax.declaration\nhousing_fund.deposit",
        "contacts": "ops@lishui.example.gov.cn",
        "reason": "ticket 7",
    }
    form.update(overrides)
    return {k: v for k, v in form.items() if v is not None}


def submit(browser: Any, page_path: str, action: str, form: dict[str, Any]) -> Any:
    html = page(browser, page_path)
    return browser.post(form_action(html, action), data={"csrf_token": csrf_token(html), **form})


def errors_on(response: Any) -> set[str]:
    return set(re.findall(r'data-error-for="([^"]+)"', response.get_data(as_text=True)))


def shown_secret(html: str) -> str | None:
    match = re.search(r'data-secret="([^"]+)"', html)
    return match.group(1) if match else None


@pytest.fixture
def operator(client, cli) -> Any:  # type: ignore[no-untyped-def]
    return console_admin(client, cli, "operator").client


def register_in_console(operator: Any, **overrides: Any) -> tuple[str, str | None]:
    response = submit(
        operator, "/admin/portals/new?lang=en", "/admin/portals", metadata_form(**overrides)
    )
    assert response.status_code == 303, errors_on(response)
    location = response.headers["Location"]
    html = page(operator, location + "?lang=en")
    return location.rsplit("/", 1)[1], shown_secret(html)


def test_portal_registered_in_the_console_logs_a_person_in_at_once(operator, app, user):
    """Issue 7 "done when": an operator with TOTP registers a portal; it works at once."""
    client_id, secret = register_in_console(operator)

    assert secret
    rp = RelyingParty(app.test_client(), client_id, secret, REDIRECT_URI)
    signs_in(rp, user)
    # Shown once: the portal's page no longer holds it.
    assert shown_secret(page(operator, f"/admin/portals/{client_id}")) is None
    listing = page(operator, "/admin/portals")
    assert f'data-client="{client_id}"' in listing and "丽水市政务服务网" in listing


def test_form_errors_are_shown_under_each_field_and_nothing_is_registered(operator):
    response = submit(
        operator,
        "/admin/portals/new?lang=en",
        "/admin/portals",
        metadata_form(
            redirect_uris="https://portal.example.gov.cn/cb#fragment\nhttps://*.example.gov.cn/cb",
            region="12",
            jwks="{not json",
            contacts="nobody",
            reason="",
        ),
    )

    assert response.status_code == 400
    assert errors_on(response) == {"redirect_uris", "region", "jwks", "contacts", "reason"}
    html = response.get_data(as_text=True)
    assert "must not contain a fragment" in html or "fragment (#)" in html
    assert 'aria-invalid="true" aria-describedby="redirect_uris-error"' in html
    assert "https://portal.example.gov.cn/cb#fragment" in html  # what was typed stays
    assert 'id="no-portals"' in page(operator, "/admin/portals")


def test_duplicate_name_is_refused_in_the_console(operator):
    register_in_console(operator)

    response = submit(operator, "/admin/portals/new?lang=en", "/admin/portals", metadata_form())

    assert response.status_code == 400
    assert errors_on(response) == {"name", "name_en"}


def test_edit_rotate_disable_enable_delete(operator, app, user):
    client_id, secret = register_in_console(operator)
    path = f"/admin/portals/{client_id}?lang=en"
    rp = RelyingParty(app.test_client(), client_id, secret, REDIRECT_URI)
    tokens = signs_in(rp, user)

    edited = submit(
        operator,
        path,
        f"/admin/portals/{client_id}",
        metadata_form(name_en="Lishui", reason="rename"),
    )
    assert edited.status_code == 303
    assert 'value="Lishui"' in page(operator, path)

    bad_edit = submit(
        operator,
        path,
        f"/admin/portals/{client_id}",
        metadata_form(scopes=["openid", "x"], reason=""),
    )
    assert bad_edit.status_code == 400
    assert errors_on(bad_edit) == {"scopes", "edit.reason"}

    rotated = submit(operator, path, "/rotate-secret", {"reason": "yearly"})
    assert rotated.status_code == 303
    html = page(operator, path)
    new_secret = shown_secret(html)
    assert new_secret and new_secret != secret
    assert 'data-field="previous_secret_expires_at"' in html
    assert (
        RelyingParty(rp.browser, client_id, new_secret, REDIRECT_URI)
        .introspect(tokens["access_token"])
        .status_code
        == 200
    )
    assert rp.introspect(tokens["access_token"]).status_code == 200  # grace period

    refused = submit(operator, path, "/disable", {"reason": ""})
    assert refused.status_code == 400 and errors_on(refused) == {"disable.reason"}
    assert submit(operator, path, "/disable", {"reason": "incident 9"}).status_code == 303
    assert 'data-status="disabled"' in page(operator, "/admin/portals")
    assert rp.authorize().response.status_code == 400
    assert submit(operator, path, "/enable", {"reason": "fixed"}).status_code == 303
    signs_in(rp, user)

    deleted = submit(operator, path, "/delete", {"reason": "closed"})
    assert deleted.status_code == 303 and deleted.headers["Location"] == "/admin/portals"
    assert operator.get(path).status_code == 404
    assert rp.userinfo(tokens["access_token"]).status_code == 401


def test_initial_access_token_issued_in_the_console_registers_a_portal(operator, client):
    response = submit(
        operator,
        "/admin/portals?lang=en",
        "/initial-access-tokens",
        {"uses": "1", "days": "3", "reason": "onboarding"},
    )
    assert response.status_code == 303
    html = page(operator, "/admin/portals?lang=en")
    token = re.search(r'data-token="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    assert 'data-token="' not in page(operator, "/admin/portals")  # shown once

    registered = client.post(
        "/register-client",
        json={"client_name": "Self-registered", "redirect_uris": [REDIRECT_URI]},
        headers={"Authorization": f"Bearer {token}"},
    )

    assert registered.status_code == 201
    assert "registered dynamically" in page(operator, "/admin/portals?lang=en")


def test_initial_access_token_form_errors(operator):
    response = submit(
        operator,
        "/admin/portals?lang=en",
        "/initial-access-tokens",
        {"uses": "0", "days": "x", "reason": ""},
    )

    assert response.status_code == 400
    assert errors_on(response) == {"token.uses", "token.days", "token.reason"}


def test_auditor_sees_portals_but_cannot_change_anything(client, cli, app):
    operator = console_admin(app.test_client(), cli, "operator").client
    client_id, _secret = register_in_console(operator)
    auditor = console_admin(client, cli, "auditor").client

    listing = page(auditor, "/admin/portals?lang=en")
    detail = page(auditor, f"/admin/portals/{client_id}?lang=en")

    assert f'data-client="{client_id}"' in listing
    assert 'id="new-portal"' not in listing and 'id="token-form"' not in listing
    assert 'id="portal-settings"' in detail and "<form" not in detail.split("</nav>", 1)[1]
    token = csrf_token(listing)
    posts = {
        "/admin/portals": metadata_form(name="Auditor's portal"),
        f"/admin/portals/{client_id}": metadata_form(name_en="Changed"),
        f"/admin/portals/{client_id}/rotate-secret": {"reason": "x"},
        f"/admin/portals/{client_id}/disable": {"reason": "x"},
        f"/admin/portals/{client_id}/delete": {"reason": "x"},
        "/admin/portals/initial-access-tokens": {"uses": "1", "days": "1", "reason": "x"},
    }
    for path, form in posts.items():
        assert auditor.post(path, data={"csrf_token": token, **form}).status_code == 403, path
    assert auditor.get("/admin/portals/new").status_code == 403
    after = page(operator, f"/admin/portals/{client_id}?lang=en")
    assert "Changed" not in after and 'data-field="status">active' in after


def test_pages_need_a_console_login(client):
    response = client.get("/admin/portals")

    assert response.status_code == 303
    assert response.headers["Location"].startswith("/admin/login")
