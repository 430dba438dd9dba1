"""Matters (办件): portals report a person's matters with their client-credentials token
(RFC 6749 4.4), and the person sees them at /account/matters (issue 12, item 1)."""

from __future__ import annotations

import re
from typing import Any

from tests.account.helpers import create_user, signed_in_page
from tests.support import CliRunner
from tests.user_space.portal_api_helpers import (
    call,
    make_portal,
    signed_in_browser,
)

SUBMITTED = "2026-11-02T09:30:00+08:00"


def matter_body(sub: str, **overrides: Any) -> dict[str, Any]:
    body = {
        "sub": sub,
        "id": "TAX-2026-0001",
        "matter_class": "tax.declaration",
        "title": "个人所得税年度汇算",
        "submitted_at": SUBMITTED,
        "link": "https://tax.example.gov.cn/matters/TAX-2026-0001",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


# -- the token -------------------------------------------------------------------------------


def test_discovery_advertises_client_credentials_and_portal_scopes(client: Any) -> None:
    metadata = client.get("/.well-known/openid-configuration").get_json()
    assert "client_credentials" in metadata["grant_types_supported"]
    assert {"matters:write", "messages:send"} <= set(metadata["scopes_supported"])


def test_client_credentials_token_carries_only_registered_portal_scopes(
    cli: CliRunner, client: Any
) -> None:
    portal = make_portal(cli, client, scopes=("matters:write",))
    answer = portal.token()
    assert answer.status_code == 200
    token = answer.get_json()
    assert token["token_type"] == "Bearer"
    assert token["scope"] == "matters:write"
    assert "refresh_token" not in token and "id_token" not in token
    assert answer.headers["Cache-Control"] == "no-store"
    refused = portal.token("messages:send")
    assert refused.status_code == 400
    assert refused.get_json()["error"] == "invalid_scope"
    assert portal.token("openid").get_json()["error"] == "invalid_scope"


def test_portal_without_portal_scope_may_not_use_client_credentials(
    cli: CliRunner, client: Any, confidential_rp: Any
) -> None:
    answer = confidential_rp.token_request(grant_type="client_credentials")
    assert answer.status_code == 400
    assert answer.get_json()["error"] == "unauthorized_client"


def test_wrong_secret_is_invalid_client(cli: CliRunner, client: Any) -> None:
    portal = make_portal(cli, client)
    portal.client_secret = "wrong"
    answer = portal.token()
    assert answer.status_code == 401
    assert answer.get_json()["error"] == "invalid_client"


def test_portal_scopes_are_refused_at_the_authorization_endpoint(
    cli: CliRunner, client: Any
) -> None:
    portal = make_portal(cli, client)
    attempt = portal.rp.authorize(scope="openid matters:write")
    assert attempt.result["error"] == "invalid_scope"


# -- the API ---------------------------------------------------------------------------------


def test_a_portal_reports_a_matter_and_the_person_follows_it(
    app: Any, cli: CliRunner, client: Any, user: dict[str, str]
) -> None:
    portal = make_portal(cli, client)
    sub = portal.sub_of(user)
    token = portal.access_token()

    created = call(client, "POST", "/api/matters", token, matter_body(sub))
    assert created.status_code == 201, created.get_json()
    assert created.headers["Location"] == "/api/matters/TAX-2026-0001"
    assert created.get_json()["status"] == "received"
    # Idempotent by the portal's id: the same report again answers the same matter.
    again = call(client, "POST", "/api/matters", token, matter_body(sub, title="changed"))
    assert again.status_code == 200
    assert again.get_json()["title"] == "个人所得税年度汇算"

    for status, time, note in (
        ("accepted", "2026-11-03T10:00:00+08:00", None),
        ("supplement_requested", "2026-11-04T10:00:00+08:00", "请补充收入证明\n（原件扫描件）"),
    ):
        body = {"status": status, "time": time}
        if note:
            body["note"] = note
        step = call(client, "POST", "/api/matters/TAX-2026-0001/steps", token, body)
        assert step.status_code == 201, step.get_json()
    # The same step again (a retry) adds nothing.
    retry = call(
        client,
        "POST",
        "/api/matters/TAX-2026-0001/steps",
        token,
        {"status": "accepted", "time": "2026-11-03T10:00:00+08:00"},
    )
    assert retry.status_code == 200
    shown = call(client, "GET", "/api/matters/TAX-2026-0001", token).get_json()
    assert [s["status"] for s in shown["steps"]] == ["accepted", "supplement_requested"]
    assert shown["status"] == "supplement_requested"

    browser = signed_in_browser(app, user)
    html = signed_in_page(browser, "/account/matters?lang=en")
    assert 'data-matter="TAX-2026-0001"' in html
    assert "个人所得税年度汇算" in html
    assert "请补充收入证明" in html
    assert 'data-status="supplement_requested"' in html
    assert 'href="https://tax.example.gov.cn/matters/TAX-2026-0001"' in html
    # Newest step first in the timeline.
    assert html.index('data-step="supplement_requested"') < html.index('data-step="accepted"')


def test_matters_across_portals_newest_first_with_filters(
    app: Any, cli: CliRunner, client: Any, user: dict[str, str]
) -> None:
    tax = make_portal(cli, client)
    social = make_portal(
        cli,
        client,
        name="Social Portal",
        redirect="https://si.example.gov.cn/callback",
        matters=("social_insurance",),
    )
    tax_token, social_token = tax.access_token(), social.access_token()
    tax_sub, social_sub = tax.sub_of(user), social.sub_of(user)
    assert call(client, "POST", "/api/matters", tax_token, matter_body(tax_sub)).status_code == 201
    newer = matter_body(
        social_sub,
        id="SI-9",
        matter_class="social_insurance.enrolment",
        title="参保登记",
        submitted_at="2026-11-20T08:00:00+08:00",
        link=None,
    )
    assert call(client, "POST", "/api/matters", social_token, newer).status_code == 201
    call(
        client,
        "POST",
        "/api/matters/SI-9/steps",
        social_token,
        {"status": "closed", "time": "2026-11-21T08:00:00+08:00"},
    )

    browser = signed_in_browser(app, user)
    html = signed_in_page(browser, "/account/matters")
    assert html.index('data-matter="SI-9"') < html.index('data-matter="TAX-2026-0001"')
    only_tax = signed_in_page(browser, f"/account/matters?portal={tax.client_id}")
    assert 'data-matter="SI-9"' not in only_tax and 'data-matter="TAX-2026-0001"' in only_tax
    closed = signed_in_page(browser, "/account/matters?status=closed")
    assert 'data-matter="SI-9"' in closed and 'data-matter="TAX-2026-0001"' not in closed
    # Unknown filter values show everything (never an error).
    assert 'data-matter="SI-9"' in signed_in_page(browser, "/account/matters?status=bogus&portal=x")
    # The filter is a GET form, no script.
    assert re.search(r'<form class="filters" method="get"', html)
    assert "<script" not in html


def test_only_subjects_who_logged_in_to_the_portal(
    cli: CliRunner, client: Any, user: dict[str, str]
) -> None:
    portal = make_portal(cli, client)
    other = make_portal(
        cli, client, name="Other Portal", redirect="https://other.example.gov.cn/callback"
    )
    token = portal.access_token()
    # A sub this portal never saw: the person logged in to another portal only.
    other_sub = other.sub_of(user)
    stranger = create_user(cli, "bob", "李四")
    answer = call(client, "POST", "/api/matters", token, matter_body(stranger["sub"]))
    assert answer.status_code == 404
    problem = answer.get_json()
    assert answer.mimetype == "application/problem+json"
    assert problem["code"] == "unknown_subject"
    assert problem["errors"][0]["pointer"] == "/sub"
    answer = call(client, "POST", "/api/matters", token, matter_body(other_sub))
    # The other portal is public too, so the sub is the account's own, but this portal never saw
    # a login of it.
    assert answer.status_code == 404


def test_pairwise_portal_reports_under_its_own_sub(
    cli: CliRunner, client: Any, user: dict[str, str], provider: Any
) -> None:
    portal = make_portal(cli, client)
    provider.clients.update(
        portal.client_id, {"subject_type": "pairwise"}, actor=_actor(), reason=None
    )
    sub = portal.sub_of(user)
    assert sub != user["sub"]
    token = portal.access_token()
    assert call(client, "POST", "/api/matters", token, matter_body(sub)).status_code == 201
    # The public sub means nothing to a pairwise portal.
    refused = call(client, "POST", "/api/matters", token, matter_body(user["sub"], id="X-2"))
    assert refused.status_code == 404


def _actor() -> Any:
    from idp.oauth.clients import Actor

    return Actor("cli", "cli")


def test_only_the_portals_classes_of_matters(
    cli: CliRunner, client: Any, user: dict[str, str]
) -> None:
    portal = make_portal(cli, client)
    sub, token = portal.sub_of(user), portal.access_token()
    answer = call(
        client,
        "POST",
        "/api/matters",
        token,
        matter_body(sub, matter_class="social_insurance.enrolment"),
    )
    assert answer.status_code == 403
    assert answer.get_json()["code"] == "matter_class_not_served"
    answer = call(client, "POST", "/api/matters", token, matter_body(sub, matter_class="tax.nope"))
    assert answer.status_code == 400
    assert answer.get_json()["code"] == "unknown_matter_class"


def test_another_portals_matter_is_not_found(
    cli: CliRunner, client: Any, user: dict[str, str]
) -> None:
    portal = make_portal(cli, client)
    other = make_portal(
        cli, client, name="Other Portal", redirect="https://other.example.gov.cn/callback"
    )
    sub = portal.sub_of(user)
    token = portal.access_token()
    assert call(client, "POST", "/api/matters", token, matter_body(sub)).status_code == 201
    other_token = other.access_token()
    step = {"status": "accepted", "time": "2026-11-03T10:00:00+08:00"}
    answer = call(client, "POST", "/api/matters/TAX-2026-0001/steps", other_token, step)
    assert answer.status_code == 404
    assert answer.get_json()["code"] == "matter_not_found"
    assert call(client, "GET", "/api/matters/TAX-2026-0001", other_token).status_code == 404


def test_bad_input_is_refused_with_field_errors_and_stores_nothing(
    app: Any, cli: CliRunner, client: Any, user: dict[str, str], provider: Any
) -> None:
    portal = make_portal(cli, client)
    sub, token = portal.sub_of(user), portal.access_token()
    cases = [
        (matter_body(sub, id="has space"), "id"),
        (matter_body(sub, title=""), "title"),
        (matter_body(sub, title="x" * 201), "title"),
        (matter_body(sub, submitted_at="yesterday"), "submitted_at"),
        (matter_body(sub, submitted_at="2026-11-02T09:30:00"), "submitted_at"),
        (matter_body(sub, submitted_at="2999-01-01T00:00:00Z"), "submitted_at"),
        (matter_body(sub, link="http://tax.example.gov.cn/x"), "link"),
        (matter_body(sub, link="https://evil.example.com/x"), "link"),
        (matter_body(sub, extra=1), "extra"),
        (matter_body(5), "sub"),  # type: ignore[arg-type]
    ]
    for body, field in cases:
        answer = call(client, "POST", "/api/matters", token, body)
        assert answer.status_code == 400, (field, answer.get_json())
        assert answer.mimetype == "application/problem+json"
        problem = answer.get_json()
        assert problem["errors"][0]["field"] == field, problem
    assert (
        client.post(
            "/api/matters",
            data="not json",
            headers={"Authorization": f"Bearer {token}", "Content-Type": "text/plain"},
        ).status_code
        == 415
    )
    assert call(client, "POST", "/api/matters", token, [1, 2]).status_code == 400
    assert call(client, "POST", "/api/matters", token, matter_body(sub)).status_code == 201
    bad_step = call(
        client,
        "POST",
        "/api/matters/TAX-2026-0001/steps",
        token,
        {"status": "teleported", "time": "2026-11-03T10:00:00+08:00"},
    )
    assert bad_step.status_code == 400
    assert bad_step.get_json()["errors"][0]["field"] == "status"
    # Nothing follows the closing step.
    closing = {"status": "closed", "time": "2026-11-05T10:00:00+08:00"}
    assert (
        call(client, "POST", "/api/matters/TAX-2026-0001/steps", token, closing).status_code == 201
    )
    late = {"status": "accepted", "time": "2026-11-06T10:00:00+08:00"}
    answer = call(client, "POST", "/api/matters/TAX-2026-0001/steps", token, late)
    assert answer.status_code == 409
    assert answer.get_json()["code"] == "matter_closed"
    # The same id for another subject or class is a conflict.
    conflict = call(
        client, "POST", "/api/matters", token, matter_body(sub, matter_class="tax.refund")
    )
    assert conflict.status_code == 409
    from idp.models import Matter, MatterStep

    assert provider.db.session.query(Matter).count() == 1
    assert provider.db.session.query(MatterStep).count() == 1


def test_bearer_errors_carry_www_authenticate(
    cli: CliRunner, client: Any, user: dict[str, str]
) -> None:
    portal = make_portal(cli, client, scopes=("matters:write", "messages:send"))
    none = call(client, "POST", "/api/matters", None, {})
    assert none.status_code == 401
    assert none.headers["WWW-Authenticate"].startswith('Bearer realm="portal-api"')
    bad = call(client, "POST", "/api/matters", "not-a-token", {})
    assert bad.status_code == 401
    assert 'error="invalid_token"' in bad.headers["WWW-Authenticate"]
    messages_only = portal.access_token("messages:send")
    narrow = call(client, "POST", "/api/matters", messages_only, {})
    assert narrow.status_code == 403
    assert 'error="insufficient_scope"' in narrow.headers["WWW-Authenticate"]
    assert 'scope="matters:write"' in narrow.headers["WWW-Authenticate"]
    # A user's access token from a login is no portal token.
    attempt = portal.rp.login(user["username"], user["password"])
    user_token = portal.rp.exchange(attempt).get_json()["access_token"]
    assert call(client, "POST", "/api/matters", user_token, {}).status_code == 401
    assert call(client, "GET", "/api/matters", messages_only).status_code == 405


def test_a_disabled_portal_loses_its_tokens_at_once(
    cli: CliRunner, client: Any, provider: Any
) -> None:
    portal = make_portal(cli, client)
    token = portal.access_token()
    provider.clients.update(portal.client_id, {"status": "disabled"}, actor=_actor(), reason=None)
    assert call(client, "POST", "/api/matters", token, {}).status_code == 401


def test_per_portal_rate_limit(make_app: Any, cli: CliRunner, user: dict[str, str]) -> None:
    app = make_app(PORTAL_API_REQUESTS_PER_MINUTE="3")
    browser = app.test_client()
    portal = make_portal(cli, browser)
    token = portal.access_token()
    answers = [call(browser, "GET", "/api/matters/none", token) for _ in range(4)]
    assert [a.status_code for a in answers] == [404, 404, 404, 429]
    assert int(answers[-1].headers["Retry-After"]) >= 1
    assert answers[-1].get_json()["code"] == "rate_limited"


def test_cancellation_erases_the_persons_matters(
    app: Any, cli: CliRunner, client: Any, user: dict[str, str], provider: Any
) -> None:
    portal = make_portal(cli, client)
    sub, token = portal.sub_of(user), portal.access_token()
    assert call(client, "POST", "/api/matters", token, matter_body(sub)).status_code == 201
    exported = provider.matters.export(user["id"])
    assert exported["matters"][0]["title"] == "个人所得税年度汇算"
    account = provider.people.find(user["id"])
    provider.accounts.cancel(account)
    from idp.models import Matter, PortalSubject

    assert provider.db.session.query(Matter).count() == 0
    assert provider.db.session.query(PortalSubject).count() == 0


def test_titles_are_sealed_at_rest(
    cli: CliRunner, client: Any, user: dict[str, str], provider: Any
) -> None:
    portal = make_portal(cli, client)
    sub, token = portal.sub_of(user), portal.access_token()
    call(client, "POST", "/api/matters", token, matter_body(sub))
    from idp.models import Matter

    row = provider.db.session.query(Matter).one()
    assert "个人所得税" not in row.title_sealed


def test_a_company_matter_is_seen_on_the_company_page(
    app: Any, cli: CliRunner, provider: Any
) -> None:
    from tests.admin_portals.helpers import AdminApi, admin_api_token
    from tests.companies.conftest import build_company
    from tests.companies.helpers import SAMPLE_CATALOGUE, act_for_company, company_portal

    cli.ok("db", "upgrade")
    cli.ok("matters", "import", str(SAMPLE_CATALOGUE))
    company = build_company(app, provider)
    browser = company.legal_representative
    rp = company_portal(cli, browser, matters=["tax"])
    api = AdminApi(browser, admin_api_token(cli))
    scopes = ["openid", "profile", "offline_access", "entity", "matters:write"]
    assert api.patch(f"/clients/{rp.client_id}", {"scopes": scopes}).status_code == 200
    _body, id_token = act_for_company(rp, company.entity_id, matters="tax.declaration")
    company_sub = id_token["sub"]
    token = rp.token_request(grant_type="client_credentials").get_json()["access_token"]
    answer = call(browser, "POST", "/api/matters", token, matter_body(company_sub, link=None))
    assert answer.status_code == 201, answer.get_json()
    html = signed_in_page(browser, f"{company.company}?lang=en")
    assert 'data-company-matter="TAX-2026-0001"' in html
    # Not among the person's own matters.
    assert 'data-matter="TAX-2026-0001"' not in signed_in_page(browser, "/account/matters")
    # A company's sub receives no messages (they go to people).
    rp_messages = ["openid", "profile", "offline_access", "entity", "messages:send"]
    api.patch(f"/clients/{rp.client_id}", {"scopes": rp_messages})
    token = rp.token_request(grant_type="client_credentials").get_json()["access_token"]
    body = {"sub": company_sub, "title": "通知", "body": "内容"}
    answer = call(browser, "POST", "/api/messages", token, body)
    assert answer.status_code == 400
    assert answer.get_json()["code"] == "not_a_person"


def test_dynamic_registration_cannot_grant_itself_portal_scopes(
    cli: CliRunner, client: Any, provider: Any
) -> None:
    from tests.admin_portals.test_registration import initial_token, metadata, register

    refused = register(client, initial_token(cli), metadata(scope="openid profile matters:write"))
    assert refused.status_code == 400
    assert refused.get_json()["error"] == "invalid_client_metadata"
    assert "administrator" in refused.get_json()["error_description"]
    info = register(client, initial_token(cli), metadata()).get_json()
    # An administrator grants the scope; the portal's RFC 7592 update keeps it.
    provider.clients.update(
        info["client_id"],
        {"scopes": ["openid", "profile", "offline_access", "matters:write"]},
        actor=_actor(),
        reason=None,
    )
    headers = {"Authorization": f"Bearer {info['registration_access_token']}"}
    read = client.get(f"/register-client/{info['client_id']}", headers=headers).get_json()
    assert "matters:write" not in read["scope"].split()
    assert "client_credentials" in read["grant_types"]
    body = {k: v for k, v in read.items() if k not in ("registration_access_token",)}
    body = {
        k: v
        for k, v in body.items()
        if k not in ("registration_client_uri", "client_id_issued_at", "client_secret_expires_at")
    }
    headers = {"Authorization": f"Bearer {read['registration_access_token']}"}
    updated = client.put(f"/register-client/{info['client_id']}", json=body, headers=headers)
    assert updated.status_code == 200, updated.get_json()
    provider.db.session.expire_all()
    assert "matters:write" in provider.clients.get(info["client_id"]).scopes
