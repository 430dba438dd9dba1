"""Graded and classified authorisation, end to end (legal-person issue, "Done when"): the legal
representative appoints an administrator with a scope (SMS code required), the administrator
authorises a handler within it (never beyond), the handler confirms, logs in to a portal as the
company, and the ID token, userinfo and introspection say which company, who acts, and what they
may do; revoking the grant ends the handler's tokens at once."""

from __future__ import annotations

import re
import time
from typing import Any

from tests.companies.helpers import (
    CHEN_XIAOMING,
    HANGZHOU,
    LI_SI,
    WANG_WU,
    ZHANG_SAN,
    act_for_company,
    appoint,
    authorise,
    choose,
    company_portal,
    company_rows,
    company_tokens,
    entity_id_of,
    entity_path,
    errors_of,
    get,
    grant_rows,
    location,
    page,
    post,
    problem,
    raise_to_l3,
    register_company,
    registered,
    scope_form,
    send_grant_code,
    to_choice,
)
from tests.support import CliRunner


def test_a_handler_acts_for_the_company_within_the_grant_until_it_is_revoked(
    app: Any, provider: Any, cli: CliRunner, seeded: None
) -> None:
    # The legal representative registers the company (L3 through a bank card).
    chen = registered(app, provider, CHEN_XIAOMING)
    raise_to_l3(chen, CHEN_XIAOMING)
    company = entity_path(register_company(chen))
    entity_id = entity_id_of(company)
    zhang = registered(app, provider, ZHANG_SAN)
    li = registered(app, provider, LI_SI)

    # Appointing an administrator needs the legal representative's SMS code.
    appoint_form = f"{company}/administrators/new"
    assert get(chen, appoint_form).status_code == 200
    without = post(
        chen, appoint_form, scope_form(member=ZHANG_SAN.phone, grade="apply", matters=["tax"])
    )
    assert without.status_code == 400
    assert set(errors_of(without)) == {"sms_code"}
    assert company_rows(provider)["entity_roles"] == 1
    wrong = post(
        chen,
        appoint_form,
        scope_form(member=ZHANG_SAN.phone, grade="apply", matters=["tax"], sms_code="000000"),
    )
    assert set(errors_of(wrong)) == {"sms_code"}
    assert company_rows(provider)["entity_roles"] == 1
    done = appoint(
        chen, company, provider, CHEN_XIAOMING, ZHANG_SAN, grade="apply", matters=["tax"]
    )
    assert location(done).endswith("?done=appointed")
    members = page(get(chen, company))
    assert 'data-role="administrator"' in members and "*三" in members
    assert ZHANG_SAN.name not in members and ZHANG_SAN.phone not in members

    # The administrator sees their own scope, and cannot grant beyond it: nothing is stored.
    mine = page(get(zhang, company))
    assert 'data-role="administrator"' in mine and 'id="own-scope"' in mine
    grant_form = f"{company}/grants/new"
    for grade, matters in (("sign", ["tax.declaration"]), ("apply", ["social_insurance"])):
        refused = post(
            zhang,
            grant_form,
            scope_form(member=LI_SI.phone, grade=grade, matters=matters, sms_code="123456"),
        )
        assert refused.status_code == 403, (grade, matters)
        assert "wider than your own authorisation" in problem(page(refused))
    assert company_rows(provider)["handler_grants"] == 0

    # Within it, with the administrator's own SMS code, the grant waits for the handler.
    code = send_grant_code(zhang, grant_form, provider, ZHANG_SAN.phone)
    granted = post(
        zhang,
        grant_form,
        scope_form(
            member=LI_SI.id_number, grade="apply", matters=["tax.declaration"], sms_code=code
        ),
    )
    assert location(granted).endswith("?done=granted")

    # The handler sees it pending, and cannot use it before confirming.
    overview = page(get(li, "/account/companies"))
    ((grant_id, status),) = grant_rows(overview).items()
    assert status == "pending"
    assert 'id="pending"' in overview and 'value="confirm"' in overview
    rp = company_portal(cli, li, matters=["tax.declaration"])
    waiting = to_choice(rp)
    assert waiting.usable == ["self"]
    assert "not confirmed" in waiting.unavailable[entity_id]
    confirmed = post(li, f"/account/companies/grants/{grant_id}/respond", {"decision": "confirm"})
    assert location(confirmed).endswith("?done=confirmed")
    assert grant_rows(page(get(li, "/account/companies"))) == {grant_id: "active"}

    # The handler logs in to the portal as the company.
    choice = to_choice(rp)
    assert choice.usable == ["self", entity_id]
    body, id_token = company_tokens(rp, choose(rp, choice, entity_id))
    company_sub = cli.ok("entities", "show", HANGZHOU["uscc"], "--json")["sub"]
    li_sub = cli.ok("users", "show", LI_SI.phone, "--json")["sub"]
    assert company_sub != HANGZHOU["uscc"]
    expected = {
        "sub": company_sub,
        "user_type": "legal_person",
        "entity": {
            "uscc": HANGZHOU["uscc"],
            "name": HANGZHOU["name"],
            "type": "limited_company",
            "region": "330106",
            "verification_level": "L2",
        },
        "act": {"sub": li_sub, "verification_level": "L2", "name": LI_SI.name},
    }
    for name, value in expected.items():
        assert id_token[name] == value, name
    delegation = id_token["delegation"]
    assert {k: v for k, v in delegation.items() if k != "expires_at"} == {
        "role": "handler",
        "grade": "apply",
        "matters": ["tax.declaration"],
        "regions": [],
    }
    # The default validity: HANDLER_GRANT_DAYS (30) days, to the end of the last day (UTC+8).
    assert 29 * 86400 < delegation["expires_at"] - time.time() < 32 * 86400

    info = rp.userinfo(body["access_token"])
    assert info.status_code == 200
    assert {k: info.get_json()[k] for k in (*expected, "delegation")} == {
        **expected,
        "delegation": delegation,
    }
    introspected = rp.introspect(body["access_token"]).get_json()
    assert introspected["active"] is True
    assert {k: introspected[k] for k in (*expected, "delegation")} == {
        **expected,
        "delegation": delegation,
    }

    # A refresh re-checks the grant and still holds.
    refreshed = rp.refresh(body["refresh_token"])
    assert refreshed.status_code == 200, refreshed.get_json()
    tokens = refreshed.get_json()

    # The administrator revokes it: the refresh token fails, the access token is inactive.
    revoked = post(zhang, f"{company}/grants/{grant_id}/status", {"action": "revoke"})
    assert location(revoked).endswith("?done=revoked")
    assert rp.introspect(tokens["access_token"]).get_json() == {"active": False}
    failed = rp.refresh(tokens["refresh_token"])
    assert failed.status_code == 400
    assert failed.get_json()["error"] == "invalid_grant"
    assert rp.userinfo(tokens["access_token"]).status_code == 401
    after = to_choice(rp)
    assert after.usable == ["self"]
    assert grant_rows(page(get(li, "/account/companies"))) == {grant_id: "revoked"}

    # Every change is in the company's audit trail, shown to the legal representative.
    trail = page(get(chen, company))
    for action in (
        "entity_registered",
        "administrator_appointed",
        "handler_grant_created",
        "handler_grant_confirmed",
        "company_login",
        "handler_grant_revoked",
    ):
        assert f'data-action="{action}"' in trail, action
    # The trail names the classes of matters given, as the catalogue does (not their codes).
    trail_section = trail[trail.index('id="trail"') :]
    named = re.findall(r'data-matter="tax.declaration">([^<]+)<', trail_section)
    assert named and all(name != "tax.declaration" for name in named), named
    # A handler sees their own grant only: no members, no other grants, no trail.
    handler_view = page(get(li, company))
    assert 'id="my-grants"' in handler_view
    assert 'id="members"' not in handler_view and 'id="trail"' not in handler_view


def test_the_legal_representative_acts_for_the_company_with_every_right(
    world: Any, provider: Any, cli: CliRunner
) -> None:
    rp = company_portal(cli, world.legal_representative, matters=["social_insurance.enrolment"])
    _body, id_token = act_for_company(rp, world.entity_id)
    assert id_token["user_type"] == "legal_person"
    assert id_token["act"]["sub"] == cli.ok("users", "show", CHEN_XIAOMING.phone, "--json")["sub"]
    assert id_token["act"]["verification_level"] == "L3"
    assert id_token["delegation"] == {
        "role": "legal_representative",
        "grade": "sign",
        "matters": ["*"],
        "regions": [],
        "expires_at": None,
    }


def test_the_administrator_acts_within_their_scope(world: Any, cli: CliRunner) -> None:
    rp = company_portal(cli, world.administrator, matters=["tax.invoice"])
    _body, id_token = act_for_company(rp, world.entity_id)
    assert id_token["delegation"]["role"] == "administrator"
    assert id_token["delegation"]["grade"] == "apply"
    assert id_token["delegation"]["matters"] == ["tax"]


def test_a_handler_can_decline_and_only_the_named_handler_answers(
    app: Any, provider: Any, represented: Any
) -> None:
    chen, company = represented.legal_representative, represented.company
    wang = registered(app, provider, WANG_WU)
    li = registered(app, provider, LI_SI)
    location(
        authorise(
            chen, company, provider, CHEN_XIAOMING, WANG_WU, grade="view", matters=["customs"]
        )
    )
    (grant_id,) = grant_rows(page(get(wang, "/account/companies")))
    respond = f"/account/companies/grants/{grant_id}/respond"

    assert post(li, respond, {"decision": "confirm"}).status_code == 404
    assert post(wang, respond, {"decision": "maybe"}).status_code == 400
    assert location(post(wang, respond, {"decision": "decline"})).endswith("?done=declined")
    assert grant_rows(page(get(wang, "/account/companies"))) == {grant_id: "declined"}
    assert post(wang, respond, {"decision": "confirm"}).status_code == 409
    assert grant_rows(page(get(chen, company))) == {grant_id: "declined"}
