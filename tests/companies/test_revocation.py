"""Revocation takes effect at once (legal-person issue, item 6): suspending or revoking a grant,
removing an administrator, or suspending the company makes the refresh tokens issued under it
fail and their access tokens inactive; a refresh re-checks the grant and narrows the login to
what the grant still gives."""

from __future__ import annotations

from typing import Any

from tests.companies.helpers import (
    CHEN_XIAOMING,
    HANGZHOU,
    LI_SI,
    WANG_WU,
    ZHANG_SAN,
    act_for_company,
    authorise,
    company_portal,
    company_rows,
    errors_of,
    get,
    grant_rows,
    location,
    outbox_code,
    page,
    post,
    problem,
    registered,
    scope_form,
    send_grant_code,
    to_choice,
)
from tests.companies.test_resume_confirmed import same_person_elsewhere
from tests.realname.helpers import rows
from tests.support import CliRunner, RelyingParty


def handler_login(world: Any, cli: CliRunner) -> tuple[RelyingParty, dict[str, Any]]:
    rp = company_portal(cli, world.handler, matters=["tax.declaration"])
    body, _id_token = act_for_company(rp, world.entity_id, scope="openid profile entity")
    return rp, body


def assert_ended(rp: RelyingParty, body: dict[str, Any]) -> None:
    assert rp.introspect(body["access_token"]).get_json() == {"active": False}
    refreshed = rp.refresh(body["refresh_token"])
    assert refreshed.status_code == 400
    assert refreshed.get_json()["error"] == "invalid_grant"


def test_suspending_the_grant_ends_the_handlers_tokens_and_resuming_allows_new_logins(
    world: Any, cli: CliRunner, provider: Any, make_app: Any
) -> None:
    rp, body = handler_login(world, cli)
    status = f"{world.company}/grants/{world.grant_id}/status"

    assert location(post(world.administrator, status, {"action": "suspend"})).endswith(
        "?done=suspended"
    )
    assert_ended(rp, body)
    assert world.entity_id not in to_choice(rp).usable
    assert grant_rows(page(get(world.handler, "/account/companies"))) == {
        world.grant_id: "suspended"
    }

    # Resuming needs the SMS code (tests/companies/test_resume_confirmed.py).
    resume_page = location(post(world.administrator, status, {"action": "resume"}))
    zhang = same_person_elsewhere(make_app, world.administrator)
    code = send_grant_code(zhang, resume_page, provider, ZHANG_SAN.phone)
    assert location(post(zhang, resume_page, {"action": "resume", "sms_code": code})).endswith(
        "?done=resumed"
    )
    assert_ended(rp, body)  # revoked tokens stay revoked
    _new, id_token = act_for_company(rp, world.entity_id)
    assert id_token["delegation"]["role"] == "handler"

    assert post(world.administrator, status, {"action": "explode"}).status_code == 400
    assert post(world.handler, status, {"action": "suspend"}).status_code == 403


def test_suspending_the_company_from_the_command_line_ends_every_company_login(
    world: Any, cli: CliRunner
) -> None:
    rp, body = handler_login(world, cli)
    lr_portal = company_portal(cli, world.legal_representative, matters=["tax.refund"], name="LR")
    lr_body, _ = act_for_company(lr_portal, world.entity_id, scope="openid profile entity")

    code, _out, err = cli.run("entities", "suspend", HANGZHOU["uscc"], "--reason", " ")
    assert code == 2 and "--reason" in err
    out = cli.ok("entities", "suspend", HANGZHOU["uscc"], "--reason", "court order 2024-17")
    assert HANGZHOU["uscc"] in out
    code, _out, err = cli.run("entities", "suspend", HANGZHOU["uscc"], "--reason", "again")
    assert code == 2 and "suspended" in err

    assert_ended(rp, body)
    assert_ended(lr_portal, lr_body)
    choice = to_choice(rp)
    assert choice.usable == ["self"]
    assert "suspended" in choice.unavailable[world.entity_id]
    html = page(get(world.legal_representative, world.company))
    assert 'id="entity-inactive"' in html and 'data-action="entity_suspended"' in html
    # Nothing can be changed while the company is suspended.
    status = f"{world.company}/grants/{world.grant_id}/status"
    assert post(world.administrator, status, {"action": "suspend"}).status_code == 409

    cli.ok("entities", "reinstate", HANGZHOU["uscc"], "--reason", "order lifted")
    assert_ended(rp, body)
    _new, id_token = act_for_company(rp, world.entity_id)
    assert id_token["entity"]["uscc"] == HANGZHOU["uscc"]


def test_a_narrowing_edit_narrows_the_login_at_the_next_refresh(world: Any, cli: CliRunner) -> None:
    rp, body = handler_login(world, cli)
    edit = f"{world.company}/grants/{world.grant_id}/edit"
    assert get(world.administrator, edit).status_code == 200

    # apply -> view: narrower, so no SMS code is needed.
    narrowed = post(world.administrator, edit, scope_form(grade="view", matters=["tax"]))
    assert narrowed.status_code == 400  # tax is wider than tax.declaration: needs the code
    assert set(errors_of(narrowed)) == {"sms_code"}
    narrowed = post(
        world.administrator, edit, scope_form(grade="view", matters=["tax.declaration"])
    )
    assert location(narrowed).endswith("?done=edited")

    refreshed = rp.refresh(body["refresh_token"])
    assert refreshed.status_code == 200, refreshed.get_json()
    tokens = refreshed.get_json()
    id_token = rp.validate_id_token(tokens["id_token"])
    assert id_token["delegation"]["grade"] == "view"
    assert rp.introspect(tokens["access_token"]).get_json()["delegation"]["grade"] == "view"
    assert rp.userinfo(tokens["access_token"]).get_json()["delegation"]["grade"] == "view"


def test_an_edit_that_leaves_out_the_portals_region_ends_the_login_at_the_next_refresh(
    world: Any, cli: CliRunner
) -> None:
    rp, body = handler_login(world, cli)  # the portal serves region 330100 (Hangzhou)
    edit = f"{world.company}/grants/{world.grant_id}/edit"
    # Every region -> Shanghai only: narrower, so no SMS code is needed.
    shanghai = scope_form(grade="apply", matters=["tax.declaration"], regions="310000")
    assert location(post(world.administrator, edit, shanghai)).endswith("?done=edited")
    refreshed = rp.refresh(body["refresh_token"])
    assert refreshed.status_code == 400
    assert refreshed.get_json()["error"] == "invalid_grant"
    assert rp.introspect(body["access_token"]).get_json() == {"active": False}


def test_removing_the_administrator_ends_their_company_logins(
    world: Any, cli: CliRunner, provider: Any
) -> None:
    rp = company_portal(cli, world.administrator, matters=["tax.invoice"])
    body, _ = act_for_company(rp, world.entity_id, scope="openid profile entity")
    html = page(get(world.legal_representative, world.company))
    (role_id,) = [
        row["id"]
        for row in rows(provider, "SELECT id FROM entity_roles WHERE role = 'administrator'")
    ]
    assert f'data-member="{role_id}"' in html
    remove = f"{world.company}/administrators/{role_id}/remove"

    assert post(world.administrator, remove, {}).status_code == 403
    assert location(post(world.legal_representative, remove, {})).endswith("?done=removed")
    assert_ended(rp, body)
    assert post(world.legal_representative, remove, {}).status_code == 404
    assert get(world.administrator, world.company).status_code == 404


def test_a_widening_edit_needs_the_editors_sms_code(
    app: Any, provider: Any, represented: Any
) -> None:
    """The administrator is appointed through the module interface here, so that the legal
    representative's one SMS code of the minute is left for the widening."""
    chen, company = represented.legal_representative, represented.company
    zhang = registered(app, provider, ZHANG_SAN)
    li = registered(app, provider, LI_SI)
    entities = provider.entities
    entity = entities.get(represented.entity_id)
    from idp.identity.delegation import Scope

    by = provider.people.find_by_identifier(CHEN_XIAOMING.phone)
    member = provider.people.find_by_identifier(ZHANG_SAN.phone)
    entities.appoint_administrator(entity, by, member.id, Scope("apply", ("tax",)))
    location(
        authorise(zhang, company, provider, ZHANG_SAN, LI_SI, grade="view", matters=["tax.invoice"])
    )
    (grant_id,) = grant_rows(page(get(li, "/account/companies")))
    edit = f"{company}/grants/{grant_id}/edit"
    wider = scope_form(grade="apply", matters=["tax.invoice", "customs"])

    # Beyond the administrator's own scope: refused before any code is asked for.
    beyond = post(zhang, edit, {**wider, "sms_code": "123456"})
    assert beyond.status_code == 403
    assert "wider than your own authorisation" in problem(page(beyond))
    # The legal representative may widen it, with the SMS code sent to their own phone.
    without = post(chen, edit, wider)
    assert set(errors_of(without)) == {"sms_code"}
    code = send_grant_code(chen, edit, provider, CHEN_XIAOMING.phone, **wider)
    assert outbox_code(provider, CHEN_XIAOMING.phone) == code
    assert location(post(chen, edit, {**wider, "sms_code": code})).endswith("?done=edited")
    (grant,) = rows(provider, "SELECT grade, matters FROM handler_grants")
    assert grant["grade"] == "apply"
    assert "customs" in str(grant["matters"])


def test_an_administrator_manages_only_grants_within_their_scope(
    app: Any, provider: Any, represented: Any
) -> None:
    chen, company = represented.legal_representative, represented.company
    zhang = registered(app, provider, ZHANG_SAN)
    registered(app, provider, WANG_WU)
    entities = provider.entities
    from idp.identity.delegation import Scope

    by = provider.people.find_by_identifier(CHEN_XIAOMING.phone)
    member = provider.people.find_by_identifier(ZHANG_SAN.phone)
    entities.appoint_administrator(
        entities.get(represented.entity_id), by, member.id, Scope("apply", ("tax",))
    )
    location(
        authorise(
            chen, company, provider, CHEN_XIAOMING, WANG_WU, grade="view", matters=["customs"]
        )
    )
    ((grant_id, _status),) = grant_rows(page(get(chen, company))).items()
    before = rows(provider, "SELECT status, valid_until, grade FROM handler_grants")

    html = page(get(zhang, company))
    assert f'data-grant="{grant_id}"' in html
    assert f"/grants/{grant_id}/edit" not in html  # listed, but not theirs to manage
    for action in ("suspend", "renew", "revoke"):
        response = post(zhang, f"{company}/grants/{grant_id}/status", {"action": action})
        assert response.status_code == 403, action
    edit = post(
        zhang, f"{company}/grants/{grant_id}/edit", scope_form(grade="view", matters=["tax"])
    )
    assert edit.status_code == 403
    assert rows(provider, "SELECT status, valid_until, grade FROM handler_grants") == before
    assert company_rows(provider)["handler_grants"] == 1
