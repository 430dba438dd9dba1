"""Rich authorization requests (RFC 9396) of the type ``gov_matter`` (issue 18, item 5):
validated at /authorize and /par, shown on the consent page in the person's words, narrowed to
the handler's grant in a company login, carried by the token response and introspection, and
narrowed further at the token endpoint."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.admin_portals.helpers import REDIRECT_URI, AdminApi, admin_api_token
from tests.companies.conftest import World, build_world
from tests.companies.helpers import HANGZHOU, choose, company_portal, to_choice
from tests.support import RelyingParty

SAMPLE_CATALOGUE = Path(__file__).resolve().parents[2] / "idp" / "data" / "matters.sample.json"


def details(*items: dict[str, Any]) -> str:
    return json.dumps(list(items))


def matter(matter_class: str = "tax.declaration", region: str = "330106", **more: Any) -> dict:
    return {"type": "gov_matter", "matter_class": matter_class, "region": region, **more}


@pytest.fixture
def catalogue(cli: Any) -> None:
    cli.ok("matters", "import", str(SAMPLE_CATALOGUE))


@pytest.fixture
def world(app: Any, provider: Any, cli: Any) -> World:
    """The company of tests/companies: 李四 handles tax.declaration for it with ``apply``."""
    cli.ok("db", "upgrade")
    cli.ok("matters", "import", str(SAMPLE_CATALOGUE))
    return build_world(app, provider)


@pytest.fixture
def portal(cli: Any, client: Any, catalogue: None) -> RelyingParty:
    """A portal of Hangzhou (330100) serving tax declarations and social insurance
    enrolment."""
    created = AdminApi(client, admin_api_token(cli)).create()
    return RelyingParty(client, created["client_id"], created["client_secret"], REDIRECT_URI)


def to_consent(rp: RelyingParty, user: dict[str, str], **authorize: Any) -> Any:
    attempt = rp.authorize(**authorize)
    html = rp.follow(attempt)
    if 'name="password"' in html:
        rp.submit_login(attempt, user["username"], user["password"])
        html = rp.follow(attempt)
    assert 'name="decision"' in html, html[-800:]
    return attempt, html


def test_person_consents_to_a_matter_and_the_token_carries_it(portal, user):
    asked = matter(actions=["apply"])
    attempt, html = to_consent(
        portal, user, authorization_details=details(asked), ui_locales="zh-CN"
    )
    # The consent page names the matter from the catalogue and the region.
    section = html[html.index('id="consent-details"') :]
    assert 'data-detail="tax.declaration"' in section
    assert "纳税申报" in section
    assert "330106" in section
    portal.submit_consent(attempt)
    response = portal.exchange(attempt)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["authorization_details"] == [asked]
    introspected = portal.introspect(body["access_token"]).get_json()
    assert introspected["active"] is True
    assert introspected["authorization_details"] == [asked]
    # A refresh carries the same grant.
    refreshed = portal.refresh(body["refresh_token"]) if "refresh_token" in body else None
    if refreshed is not None:
        assert refreshed.get_json()["authorization_details"] == [asked]


def test_each_request_with_details_asks_for_consent_again(portal, user):
    first = portal.login(user["username"], user["password"])
    assert first.result.get("code")
    attempt, _ = to_consent(portal, user, authorization_details=details(matter()))
    assert attempt is not None  # the remembered consent does not cover a new matter


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("not json", "JSON array"),
        (json.dumps({"type": "gov_matter"}), "JSON array"),
        (details({"type": "payment_initiation"}), "unknown type"),
        (details(matter(matter_class="housing_fund.withdrawal")), "not registered"),
        (details(matter(matter_class="Tax")), "matter_class"),
        (details(matter(region="33010")), "region"),
        (details(matter(region="440305")), "outside the portal's region"),
        (details(matter(colour="red")), "unknown member"),
        (details(matter(actions=["delete"])), "actions"),
        (details(matter(acting_for="91330106064307423H")), "entity"),
        (details(matter(acting_for="not-a-uscc")), "acting_for"),
    ],
)
def test_invalid_details_are_refused_at_authorize(portal, value, reason):
    attempt = portal.authorize(authorization_details=value)
    assert attempt.result.get("error") == "invalid_authorization_details", attempt.result
    assert reason in attempt.result["error_description"]
    assert attempt.result["state"] == attempt.params["state"]


def test_token_request_may_ask_for_a_subset(portal, user):
    granted = [matter(actions=["view", "apply"]), matter("social_insurance.enrolment")]
    attempt, _ = to_consent(portal, user, authorization_details=details(*granted))
    portal.submit_consent(attempt)
    # Something that was not granted is refused, and the code is not spent on it.
    refused = portal.exchange(
        attempt, authorization_details=details(matter(actions=["view", "apply", "sign"]))
    )
    assert refused.status_code == 400
    assert refused.get_json()["error"] == "invalid_authorization_details"
    attempt2, _ = to_consent(portal, user, authorization_details=details(*granted))
    portal.submit_consent(attempt2)
    subset = [matter(actions=["view"])]
    response = portal.exchange(attempt2, authorization_details=details(*subset))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["authorization_details"] == subset
    assert portal.introspect(body["access_token"]).get_json()["authorization_details"] == subset


def test_par_checks_the_details_too(portal):
    headers, fields = portal.client_auth()
    params, _ = portal.authorization_params(authorization_details=details({"type": "other"}))
    response = portal.browser.post("/par", data={**fields, **params}, headers=headers)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.get_json()["error"] == "invalid_authorization_details"


def test_discovery_advertises_the_type(client):
    document = client.get("/.well-known/openid-configuration").get_json()
    assert document["authorization_details_types_supported"] == ["gov_matter"]


# -- company logins: narrowed to the handler's grant ------------------------------------------


def handler_portal(world: World, cli: Any) -> RelyingParty:
    return company_portal(
        cli,
        world.handler,
        matters=["tax.declaration", "social_insurance.enrolment"],
        region="330100",
    )


def test_handler_details_are_narrowed_to_the_grant(world, cli):
    """李四 handles tax declarations for the company with the grade ``apply``: ``sign`` is
    dropped (narrowed), the company is named in the granted detail."""
    rp = handler_portal(world, cli)
    asked = matter(actions=["apply", "sign"], acting_for=HANGZHOU["uscc"])
    choice = to_choice(rp, authorization_details=details(asked))
    attempt = choose(rp, choice, world.entity_id)
    html = rp.follow(attempt)
    section = html[html.index('id="consent-details"') :]
    assert f'data-acting-for="{HANGZHOU["uscc"]}"' in section
    assert HANGZHOU["name"] in section
    assert 'data-actions="apply"' in section
    rp.submit_consent(attempt)
    response = rp.exchange(attempt)
    assert response.status_code == 200, response.get_json()
    granted = response.get_json()["authorization_details"]
    assert granted == [
        {
            "type": "gov_matter",
            "matter_class": "tax.declaration",
            "region": "330106",
            "acting_for": HANGZHOU["uscc"],
            "actions": ["apply"],
        }
    ]
    answer = rp.introspect(response.get_json()["access_token"]).get_json()
    assert answer["authorization_details"] == granted


@pytest.mark.parametrize(
    "beyond",
    [
        # Social insurance enrolment is served by the portal but not in 李四's grant.
        matter("social_insurance.enrolment", actions=["view"]),
        # Signing is above 李四's grade (apply): nothing is left to grant.
        matter(actions=["sign"]),
    ],
)
def test_handler_asking_beyond_the_grant_is_refused(world, cli, beyond):
    """Beyond the grant's classes (or with no action left within its grade) the login ends
    with ``invalid_authorization_details``: refused, not narrowed. (Without ``matters``, the
    classes of the details decide which companies are offered at all.)"""
    rp = handler_portal(world, cli)
    choice = to_choice(rp, matters="tax.declaration", authorization_details=details(beyond))
    assert world.entity_id in choice.usable, choice.unavailable
    attempt = choose(rp, choice, world.entity_id)
    rp.follow(attempt)
    rp.submit_consent(attempt)
    assert attempt.result.get("error") == "invalid_authorization_details", attempt.result
    assert "beyond" in attempt.result["error_description"]
    # Without ``matters`` the company is not even offered for a class beyond the grant.
    choice = to_choice(rp, authorization_details=details(beyond))
    if beyond["matter_class"] != "tax.declaration":
        assert world.entity_id not in choice.usable


def test_acting_for_another_company_is_refused(world, cli):
    rp = handler_portal(world, cli)
    other = matter(actions=["view"], acting_for="91440305524185755D")
    choice = to_choice(rp, authorization_details=details(other))
    attempt = choose(rp, choice, world.entity_id)
    rp.follow(attempt)
    rp.submit_consent(attempt)
    assert attempt.result.get("error") == "invalid_authorization_details", attempt.result


def test_the_matters_parameter_keeps_working(world, cli):
    rp = handler_portal(world, cli)
    choice = to_choice(rp, matters="tax.declaration")
    assert world.entity_id in choice.usable
    choice = to_choice(rp, matters="social_insurance.enrolment")
    assert world.entity_id not in choice.usable
    assert re.search(r"data-unavailable", choice.html)
