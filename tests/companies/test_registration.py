"""Registering a legal person (legal-person issue, item 1): a legal representative at L3 registers
a company that the market regulation registry confirms, and accepts the legal-person agreement on
its behalf. Every refusal says why, and stores nothing."""

from __future__ import annotations

from typing import Any

from tests.companies.helpers import (
    CHEN_XIAOMING,
    HANGZHOU,
    LIU_FANG,
    SHENZHEN,
    WANG_WU,
    company_rows,
    entity_id_of,
    entity_path,
    errors_of,
    get,
    page,
    problem,
    raise_to_l3,
    register_company,
    registered,
)
from tests.realname.helpers import account_login, rows
from tests.support import CliRunner

NOTHING = {"legal_entities": 0, "entity_roles": 0, "handler_grants": 0}


def test_a_legal_representative_at_l3_registers_a_company_from_the_registry(
    app: Any, provider: Any, cli: CliRunner, seeded: None
) -> None:
    chen = registered(app, provider, CHEN_XIAOMING)
    raise_to_l3(chen, CHEN_XIAOMING)
    form = get(chen, "/account/companies/register")
    assert form.status_code == 200
    assert "Real-Name Registration Agreement for Legal Persons" in page(
        form
    )  # its title (issue 19)

    response = register_company(chen)

    company = entity_path(response)
    assert response.headers["Location"].endswith("?done=registered")
    entity_id = entity_id_of(company)
    html = page(get(chen, company))
    assert HANGZHOU["name"] in html and HANGZHOU["uscc"] in html
    assert 'data-role="legal_representative"' in html
    assert 'data-action="entity_registered"' in html  # the company's own audit trail
    # The agreement is accepted for the company: the evidence names the company, not the person.
    evidence = rows(
        provider,
        "SELECT kind, version, action FROM agreement_acceptances WHERE account_id = :id",
        id=entity_id,
    )
    assert evidence == [{"kind": "legal_person", "version": 1, "action": "accepted"}]
    assert 'id="agreement"' not in html  # nothing left to accept

    shown = cli.ok("entities", "show", HANGZHOU["uscc"], "--json")
    assert shown["id"] == entity_id
    assert shown["sub"] != HANGZHOU["uscc"]
    assert (shown["name"], shown["type"], shown["region"], shown["status"]) == (
        HANGZHOU["name"],
        "limited_company",
        "330106",
        "active",
    )
    (role,) = shown["roles"]
    assert role["role"] == "legal_representative"
    assert role["person"]["name"] == "**明"  # masked, never in clear
    assert CHEN_XIAOMING.name not in str(shown) and CHEN_XIAOMING.phone not in str(shown)

    overview = page(get(chen, "/account/companies"))
    assert f'data-entity="{entity_id}" data-role="legal_representative"' in overview


def test_a_person_below_l3_is_refused_with_a_403_page_and_nothing_is_stored(
    app: Any, provider: Any, seeded: None
) -> None:
    chen = registered(app, provider, CHEN_XIAOMING)  # L2: name and ID number only
    page_response = get(chen, "/account/companies/register")
    assert page_response.status_code == 403
    assert "L3" in problem(page(page_response))

    response = register_company(chen)

    assert response.status_code == 403
    assert "L3" in problem(page(response))
    assert company_rows(provider) == NOTHING
    overview = page(get(chen, "/account/companies"))
    assert 'id="register-hint"' in overview and 'id="register-link"' not in overview


def test_refusals_say_why_and_store_nothing(app: Any, provider: Any, seeded: None) -> None:
    chen = registered(app, provider, CHEN_XIAOMING)
    raise_to_l3(chen, CHEN_XIAOMING)
    acceptances = rows(provider, "SELECT account_id FROM agreement_acceptances")

    cases: list[tuple[dict[str, str], dict[str, str], int]] = [
        # the name is not the registered one
        ({"name": "杭州示例网络有限公司"}, {"uscc": "market regulation registry"}, 400),
        # the check character (GB 32100 section 4.3) does not fit
        ({"uscc": "91330106064307423J"}, {"uscc": "check character"}, 400),
        ({"uscc": "91330106"}, {"uscc": "18 characters"}, 400),
        ({"uscc": "91330106064307423O"}, {"uscc": "capital letters"}, 400),
        # another person's company: the registry does not name 陈晓明
        (
            {"uscc": "91310104246029102B", "name": "上海示例贸易有限公司"},
            {"uscc": "market regulation registry"},
            400,
        ),
        ({"region": "33010"}, {"region": "six-digit"}, 400),
        ({"entity_type": "kingdom"}, {"entity_type": "type of organisation"}, 400),
        ({"accept_agreement": ""}, {"accept_agreement": "accept"}, 400),
    ]
    for fields, expected, status in cases:
        response = register_company(chen, **fields)
        assert response.status_code == status, (fields, response.status_code)
        errors = errors_of(response)
        assert set(errors) == set(expected), (fields, errors)
        for name, words in expected.items():
            assert words in errors[name], (fields, errors[name])
        # What was typed is shown again.
        assert (fields.get("name") or HANGZHOU["name"]) in page(response)

    assert company_rows(provider) == NOTHING
    assert rows(provider, "SELECT account_id FROM agreement_acceptances") == acceptances


def test_a_company_is_registered_once(app: Any, provider: Any, seeded: None) -> None:
    chen = registered(app, provider, CHEN_XIAOMING)
    raise_to_l3(chen, CHEN_XIAOMING)
    entity_path(register_company(chen))
    before = company_rows(provider)

    again = register_company(chen, uscc=HANGZHOU["uscc"].lower())

    assert again.status_code == 409
    assert "already registered" in errors_of(again)["uscc"]
    assert company_rows(provider) == before


def test_a_revoked_company_cannot_be_registered(app: Any, provider: Any, seeded: None) -> None:
    liu = registered(app, provider, LIU_FANG)
    raise_to_l3(liu, LIU_FANG)

    response = register_company(liu, **SHENZHEN)

    assert response.status_code == 400
    assert "not active" in errors_of(response)["uscc"]
    assert company_rows(provider) == NOTHING


def test_company_pages_are_for_members_only(app: Any, provider: Any, seeded: None) -> None:
    chen = registered(app, provider, CHEN_XIAOMING)
    raise_to_l3(chen, CHEN_XIAOMING)
    company = entity_path(register_company(chen))
    wang = registered(app, provider, WANG_WU)

    assert get(wang, company).status_code == 404
    assert get(wang, f"{company}/grants/new").status_code == 404
    assert get(app.test_client(), company).status_code == 303  # to the login page
    assert get(chen, "/account/companies/no-such-company").status_code == 404


def test_an_unreachable_registry_stores_nothing(
    app: Any, provider: Any, make_app: Any, seeded: None
) -> None:
    chen = registered(app, provider, CHEN_XIAOMING)
    raise_to_l3(chen, CHEN_XIAOMING)
    # The same stores, with the registry behind a gateway that does not answer.
    offline = make_app(
        VERIFIER="http", VERIFIER_HTTP_URL="http://127.0.0.1:9/verify/{check}", VERIFIER_RETRIES=0
    )
    browser = offline.test_client()
    assert account_login(browser, CHEN_XIAOMING.phone).status_code == 303

    response = register_company(browser)

    assert response.status_code == 503
    assert "cannot be reached" in problem(page(response))
    assert company_rows(provider) == NOTHING
