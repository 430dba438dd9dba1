"""The pages of "My companies" (legal-person issue, item 7) and their bad input: every refusal
is a message on the field concerned (or a 403 page), told before the acting person's SMS code is
spent, and stores nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from idp.views import cookies
from tests.companies.conftest import build_company
from tests.companies.helpers import (
    CHEN_XIAOMING,
    LI_SI,
    PASSPORT_HOLDER,
    WANG_WU,
    ZHANG_SAN,
    appoint,
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
)
from tests.realname.helpers import rows
from tests.support import CliRunner

CHINA = timezone(timedelta(hours=8))


def day(offset: int) -> str:
    return (datetime.now(CHINA) + timedelta(days=offset)).date().isoformat()


def test_grant_form_refusals_are_per_field_and_spend_no_sms_code(
    app: Any, provider: Any, represented: Any
) -> None:
    chen, company = represented.legal_representative, represented.company
    registered(app, provider, LI_SI)
    registered(app, provider, PASSPORT_HOLDER)  # L1
    form = f"{company}/grants/new"
    assert get(chen, form).status_code == 200
    good = {"member": LI_SI.phone, "grade": "apply", "matters": ["tax.declaration"]}
    # The code is sent first; what is typed survives the send_code button.
    typed = scope_form(**good, valid_until=day(3), regions="330000")
    html = page(post(chen, form, {**typed, "action": "send_code"}))
    assert 'value="330000"' in html and f'value="{day(3)}"' in html
    assert 'value="tax.declaration" checked' in html and 'value="apply" selected' in html
    code = outbox_code(provider, CHEN_XIAOMING.phone)
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"member": ""}, "member", "mobile phone number or ID number"),
        ({"member": "13912345678"}, "member", "No active account"),
        ({"member": PASSPORT_HOLDER.phone}, "member", "level L2"),
        ({"member": CHEN_XIAOMING.phone}, "member", "already holds a role"),
        ({"grade": "emperor"}, "grade", "Choose a grade"),
        ({"matters": []}, "matters", "at least one class"),
        ({"matters": ["astrology"]}, "matters", "from the catalogue"),
        ({"regions": "33, 330100"}, "regions", "six-digit region codes"),
        ({"valid_until": "next week"}, "valid_until", "2030-01-31"),
        ({"valid_until": "2001-01-01"}, "valid_until", "in the future"),
        ({"valid_until": day(400)}, "valid_until", "at most 366 days"),
    ]
    for change, field, words in cases:
        # A wrong code with each: were it checked, five would kill the code sent.
        response = post(chen, form, scope_form(**{**good, **change}, sms_code="000000"))
        assert response.status_code in (400, 409), change
        errors = errors_of(response)
        assert list(errors) == [field], (change, errors)
        assert words in errors[field], (change, errors[field])
    assert company_rows(provider)["handler_grants"] == 0

    assert location(post(chen, form, {**typed, "sms_code": code})).endswith("?done=granted")
    wang = registered(app, provider, WANG_WU)  # another person sees nothing of it
    assert grant_rows(page(get(wang, "/account/companies"))) == {}


def test_expiring_grants_are_shown_apart_and_can_be_renewed(
    app: Any, provider: Any, represented: Any, make_app: Any
) -> None:
    chen, company = represented.legal_representative, represented.company
    li = registered(app, provider, LI_SI)
    form = f"{company}/grants/new"
    code = send_grant_code(chen, form, provider, CHEN_XIAOMING.phone)
    data = scope_form(
        member=LI_SI.id_number.lower(), grade="view", matters=["tax"], valid_until=day(2)
    )
    location(post(chen, form, {**data, "sms_code": code}))
    (grant_id,) = grant_rows(page(get(li, "/account/companies")))
    location(post(li, f"/account/companies/grants/{grant_id}/respond", {"decision": "confirm"}))
    overview = page(get(li, "/account/companies"))
    expiring = overview.split('id="expiring"', 1)[1].split("</section>", 1)[0]
    assert f'data-grant="{grant_id}"' in expiring

    renew_page = location(post(chen, f"{company}/grants/{grant_id}/status", {"action": "renew"}))
    assert renew_page.endswith(f"/grants/{grant_id}/renew")
    # Another period of validity widens the grant: it needs the renewing person's SMS code.
    refused = post(chen, renew_page, {"action": "renew", "sms_code": "000000"})
    assert refused.status_code == 400
    assert "sms_code" in errors_of(refused)
    # The code sent for the grant a moment ago blocks a resend for 60 s; another instance
    # with its own secret keys its codes apart (the SSO session is shared through Redis).
    elsewhere = make_app(SECRET_KEY="another-secret-key-that-is-long-enough-01234").test_client()
    session = chen.get_cookie(cookies.SESSION)
    assert session is not None
    elsewhere.set_cookie(cookies.SESSION, session.value)
    code = send_grant_code(elsewhere, renew_page, provider, CHEN_XIAOMING.phone)
    renewed = post(elsewhere, renew_page, {"action": "renew", "sms_code": code})
    assert location(renewed).endswith("?done=renewed")
    (row,) = rows(provider, "SELECT valid_until FROM handler_grants")
    until = row["valid_until"]
    until = datetime.fromisoformat(str(until)) if not isinstance(until, datetime) else until
    until = until if until.tzinfo else until.replace(tzinfo=UTC)
    assert until - datetime.now(UTC) > timedelta(days=29)
    assert 'id="expiring"' not in page(get(li, "/account/companies"))
    assert 'data-action="handler_grant_renewed"' in page(get(chen, company))


def test_administrator_appointment_refusals(
    app: Any, provider: Any, make_app: Any, seeded: None
) -> None:
    one = make_app(ENTITY_MAX_ADMINISTRATORS=1)
    built = build_company(one, provider)
    chen, company = built.legal_representative, built.company
    registered(one, provider, ZHANG_SAN)
    registered(one, provider, WANG_WU)
    form = f"{company}/administrators/new"

    self_appointed = post(
        chen, form, scope_form(member=CHEN_XIAOMING.phone, grade="view", matters=["tax"])
    )
    assert "already holds a role" in errors_of(self_appointed)["member"]
    location(
        appoint(chen, company, provider, CHEN_XIAOMING, ZHANG_SAN, grade="view", matters=["tax"])
    )
    assert 'id="appoint-link"' not in page(get(chen, company))  # the limit is reached
    again = post(chen, form, scope_form(member=WANG_WU.phone, grade="view", matters=["tax"]))
    assert again.status_code == 409
    assert "as many administrators as allowed" in problem(page(again))
    assert company_rows(provider)["entity_roles"] == 2

    # Only the legal representative appoints.
    zhang = registered(one, provider, LI_SI)
    assert get(zhang, form).status_code == 404  # not a member at all


def test_forms_need_the_csrf_token_and_a_login(world: Any) -> None:
    status = f"{world.company}/grants/{world.grant_id}/status"
    assert world.administrator.post(status, data={"action": "revoke"}).status_code == 400
    anonymous = world.app.test_client().post(status, data={"action": "revoke"})
    assert anonymous.status_code in (303, 400)
    assert grant_rows(page(get(world.administrator, world.company)))[world.grant_id] == "active"


def test_pages_are_in_chinese_by_default_and_never_cached(world: Any) -> None:
    world.administrator.delete_cookie("idp_lang")  # the helpers chose English with ?lang=en
    for path in ("/account/companies", world.company, f"{world.company}/grants/new"):
        response = world.administrator.get(path)
        assert response.status_code == 200, path
        assert '<html lang="zh-CN">' in page(response)
        assert response.headers["Cache-Control"] == "no-store"
    handler_page = world.handler.get(world.company)
    assert 'id="my-grants"' in page(handler_page)
    assert world.handler.get(f"{world.company}/grants/new").status_code == 403


def test_the_console_shows_a_persons_company_roles_and_grants(
    world: Any, cli: CliRunner, app: Any
) -> None:
    """Issue 7, item 4: the account page of the console lists company roles and grants."""
    from tests.admin_console.helpers import console_login

    console = console_login(app.test_client(), cli, role="auditor")
    handler = cli.ok("users", "show", LI_SI.phone, "--json")
    administrator = cli.ok("users", "show", ZHANG_SAN.phone, "--json")

    handler_page = console.get(f"/admin/accounts/{handler['id']}?lang=en")
    administrator_page = console.get(f"/admin/accounts/{administrator['id']}?lang=en")

    html = handler_page.get_data(as_text=True)
    assert handler_page.status_code == 200
    assert 'data-uscc="91330106064307423H" data-grant-status="active"' in html
    roles = html.split('id="company-roles"', 1)[1].split("</table>", 1)[0]
    # Issue 19: catalogue names and grade labels, not codes; a stacking table.
    assert "Tax declaration" in roles and "tax.declaration" not in roles
    assert 'class="data-table stack-table" id="company-roles"' in html
    assert '<td data-label="Classes of matters">' in roles
    # The grant's status as a label, not its code.
    assert "Handler · Active ·" in roles and "· active ·" not in roles
    html = administrator_page.get_data(as_text=True)
    assert '<tr data-uscc="91330106064307423H"><td data-label="Company">' in html
    assert "Administrator" in html
