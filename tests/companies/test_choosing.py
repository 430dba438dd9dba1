"""Choosing whom to act as inside a login (legal-person issue, item 4): only companies where a
confirmed grant (or a role) covers the classes of matters the portal serves or asks for, in the
portal's region; the others are listed with the reason, and giving up tells the portal
``access_denied``."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from tests.companies.helpers import (
    CHEN_XIAOMING,
    LI_SI,
    act_for_company,
    authorise,
    choose,
    company_portal,
    company_tokens,
    errors_of,
    get,
    grant_rows,
    location,
    page,
    post,
    registered,
    to_choice,
)
from tests.realname.helpers import rows
from tests.support import CliRunner, csrf_token, form_action


def test_a_portal_serving_a_class_the_handler_lacks_offers_no_company_choice(
    world: Any, cli: CliRunner
) -> None:
    rp = company_portal(cli, world.handler, matters=["social_insurance.enrolment"])
    choice = to_choice(rp)

    assert choice.usable == ["self"]
    assert "does not cover the matters this portal handles" in choice.unavailable[world.entity_id]
    # Posting the company anyway is refused on the page, and the login goes on.
    forged = choose(rp, choice, world.entity_id)
    assert forged.response.status_code == 400
    assert not forged.result

    html = choice.html
    response = rp.browser.post(
        form_action(html, "/abort"), data={"csrf_token": csrf_token(html), "decision": "deny"}
    )
    choice.attempt.response = response
    rp._capture(choice.attempt)
    assert choice.attempt.result["error"] == "access_denied"
    assert choice.attempt.result["state"] == choice.attempt.params["state"]


def test_the_matters_parameter_selects_the_classes_of_the_login(world: Any, cli: CliRunner) -> None:
    rp = company_portal(
        cli, world.handler, matters=["tax.declaration", "social_insurance.enrolment"]
    )
    # The portal serves a class the handler lacks: no company, unless the request narrows.
    assert to_choice(rp).usable == ["self"]
    _body, id_token = act_for_company(rp, world.entity_id, matters="tax.declaration")
    assert id_token["delegation"]["matters"] == ["tax.declaration"]
    assert to_choice(rp, matters="social_insurance.enrolment").usable == ["self"]
    # Classes the portal does not serve cannot be asked for (wider than its registration).
    wider = rp.authorize(scope="openid profile entity", matters="social_insurance")
    assert wider.result["error"] == "invalid_request"
    # The same through a ``delegation`` claim request (OIDC Core 5.5).
    claims = {"id_token": {"delegation": {"essential": True, "matters": ["tax.declaration"]}}}
    _body, id_token = act_for_company(rp, world.entity_id, claims=json.dumps(claims))
    assert id_token["delegation"]["role"] == "handler"
    # A malformed code is the portal's error, told at once.
    bad = rp.authorize(scope="openid profile entity", matters="Tax!")
    assert bad.result["error"] == "invalid_request"


def test_a_silent_login_cannot_choose(world: Any, cli: CliRunner) -> None:
    rp = company_portal(cli, world.handler, matters=["tax.declaration"])
    attempt = rp.authorize(scope="openid profile entity", prompt="none")
    assert attempt.result["error"] == "interaction_required"


def test_acting_as_oneself_gives_the_persons_own_claims(world: Any, cli: CliRunner) -> None:
    rp = company_portal(cli, world.handler, matters=["tax.declaration"])
    attempt = choose(rp, to_choice(rp), "self")
    _body, id_token = company_tokens(rp, attempt)
    assert id_token["sub"] == cli.ok("users", "show", LI_SI.phone, "--json")["sub"]
    assert "delegation" not in id_token and "act" not in id_token
    assert id_token.get("user_type", "natural_person") == "natural_person"


def test_a_grant_limited_to_regions_serves_portals_of_those_regions_only(
    app: Any, provider: Any, represented: Any, cli: CliRunner
) -> None:
    chen, company = represented.legal_representative, represented.company
    li = registered(app, provider, LI_SI)
    location(
        authorise(
            chen,
            company,
            provider,
            CHEN_XIAOMING,
            LI_SI,
            grade="view",
            matters=["tax"],
            regions="330000",
        )
    )
    (grant_id,) = grant_rows(page(get(li, "/account/companies")))
    location(post(li, f"/account/companies/grants/{grant_id}/respond", {"decision": "confirm"}))

    shanghai = company_portal(cli, li, matters=["tax.invoice"], region="310100", name="Shanghai")
    assert to_choice(shanghai).usable == ["self"]
    hangzhou = company_portal(cli, li, matters=["tax.invoice"], region="330100", name="Hangzhou")
    _body, id_token = act_for_company(hangzhou, represented.entity_id)
    assert id_token["delegation"]["regions"] == ["330000"]
    assert id_token["delegation"]["grade"] == "view"


def test_a_new_material_agreement_stops_company_logins_until_the_legal_representative_accepts(
    world: Any, cli: CliRunner, provider: Any, tmp_path: Path
) -> None:
    text = tmp_path / "legal-person-v2.txt"
    text.write_text("法人实名注册协议（第二版）\n第一条 新增条款。\n", encoding="utf-8")
    cli.ok("agreements", "publish", "--kind", "legal_person", "--file", str(text), "--material")
    rp = company_portal(cli, world.handler, matters=["tax.declaration"])
    waiting = to_choice(rp)
    assert waiting.usable == ["self"]
    assert "legal representative must first accept" in waiting.unavailable[world.entity_id]
    # Only the legal representative is shown the new version.
    assert 'id="agreement"' not in page(get(world.administrator, world.company))
    html = page(get(world.legal_representative, world.company))
    assert 'id="agreement"' in html
    version_id = re.search(r'name="version_id" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    path = f"{world.company}/agreement"

    unticked = post(world.legal_representative, path, {"version_id": version_id})
    assert unticked.status_code == 400
    assert set(errors_of(unticked)) == {"accept_agreement"}
    assert post(world.administrator, path, {"version_id": version_id}).status_code == 403
    accepted = post(
        world.legal_representative, path, {"version_id": version_id, "accept_agreement": "yes"}
    )
    assert location(accepted).endswith("?done=agreement")

    evidence = rows(
        provider,
        "SELECT version, action FROM agreement_acceptances WHERE account_id = :id ORDER BY version",
        id=world.entity_id,
    )
    assert evidence == [
        {"version": 1, "action": "accepted"},
        {"version": 2, "action": "accepted"},
    ]
    assert 'id="agreement"' not in page(get(world.legal_representative, world.company))
    _body, id_token = act_for_company(rp, world.entity_id)
    assert id_token["delegation"]["role"] == "handler"
