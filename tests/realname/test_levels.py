"""Verification levels (issue: real-name registration, items 4 and 5): L1 for a passport or while
the registry is unavailable, L2 through the registry, L3 through a second authority, L4 at a
service counter; each check kept as evidence, bank cards only as last four digits and a hash."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from typing import Any

import pytest

from tests.realname.helpers import (
    CHEN_XIAOMING,
    LI_SI,
    PASSPORT_HOLDER,
    WANG_WU,
    ZHANG_SAN,
    RegistrationForm,
    every_value,
    form_for,
    notice,
    outbox_code,
    page,
    password_login,
    post_account_form,
    register,
    rows,
    tokens,
)
from tests.support import CliRunner, RelyingParty


def closed_port_url() -> str:
    """A loopback gateway URL where nothing listens (the registry's source is down)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/verify/{{check}}"


def test_a_passport_registration_ends_at_l1(portal: RelyingParty, provider: Any) -> None:
    attempt = portal.authorize(scope="openid profile")
    response = register(portal, PASSPORT_HOLDER, provider=provider, attempt=attempt)
    assert response.status_code == 303, page(response)
    _body, claims = tokens(portal, attempt)
    assert claims["acr"] == "urn:idp:loa:L1"
    checks = rows(provider, 'SELECT "check", result, level_after FROM verifications')
    # No registry is asked about a passport: the SMS proof alone.
    assert checks == [{"check": "sms", "result": "match", "level_after": "L1"}]


def test_an_unavailable_registry_leaves_the_account_at_l1_with_a_notice(
    make_app: Callable[..., Any], provider: Any, cli: CliRunner
) -> None:
    offline = make_app(VERIFIER="http", VERIFIER_HTTP_URL=closed_port_url(), VERIFIER_RETRIES=0)
    browser = offline.test_client()
    form = RegistrationForm.open(browser, lang="en")
    fields = form_for(ZHANG_SAN)
    assert form.send_code(ZHANG_SAN.phone).status_code == 200
    response = form.submit({**fields, "sms_code": outbox_code(provider, ZHANG_SAN.phone)})

    assert response.status_code == 303
    shown = browser.get(response.headers["Location"])
    assert "could not be reached" in notice(page(shown))
    shown_account = cli.ok("users", "show", ZHANG_SAN.phone, "--json")
    assert shown_account["verification_level"] == "L1"
    results = {(row["check"], row["result"]) for row in shown_account["evidence"]}
    assert results == {("sms", "match"), ("two_elements", "unavailable")}


def test_an_unavailable_registry_inside_a_login_gives_acr_l1(
    make_app: Callable[..., Any], provider: Any, portal: RelyingParty
) -> None:
    offline = make_app(VERIFIER="http", VERIFIER_HTTP_URL=closed_port_url(), VERIFIER_RETRIES=0)
    rp = RelyingParty(
        offline.test_client(), portal.client_id, portal.client_secret, portal.redirect_uri
    )
    attempt = rp.authorize(scope="openid profile")
    response = register(rp, ZHANG_SAN, provider=provider, attempt=attempt)
    assert response.status_code == 303
    _body, claims = tokens(rp, attempt)
    assert claims["acr"] == "urn:idp:loa:L1"
    # The trusted portal got its code at once; the person is told at their next visit here,
    # in the language of the registration (Chinese by default).
    assert "人口信息库" in notice(page(rp.browser.get("/account")))


def test_the_registry_raises_a_resident_id_to_l2(
    register_person: Callable[..., Any], cli: CliRunner
) -> None:
    register_person(ZHANG_SAN)
    shown = cli.ok("users", "show", ZHANG_SAN.phone, "--json")
    assert shown["verification_level"] == "L2"
    [registry] = [row for row in shown["evidence"] if row["check"] == "two_elements"]
    assert registry["source"] == "population_registry"
    assert registry["result"] == "match"
    assert registry["level_after"] == "L2"


SECOND_AUTHORITIES = {
    "bank card": (ZHANG_SAN, "bank_card_four_elements", "bank_card", ZHANG_SAN.bank_cards[0]),
    "phone three elements": (CHEN_XIAOMING, "phone_three_elements", None, None),
    "social security": (LI_SI, "social_security", "social_security", LI_SI.social_security),
    "housing fund": (WANG_WU, "housing_fund", "housing_fund", WANG_WU.housing_fund),
}


@pytest.mark.parametrize("way", list(SECOND_AUTHORITIES))
def test_a_second_authority_raises_l2_to_l3_from_the_account_pages(
    way: str, register_person: Callable[..., Any], cli: CliRunner, provider: Any
) -> None:
    person, method, field, value = SECOND_AUTHORITIES[way]
    browser = register_person(person)
    offered = page(browser.get("/account/verification?lang=en"))
    assert f'data-method="{method}"' in offered
    data = {"method": method, **({field: value} if field else {})}
    response = post_account_form(browser, "/account/verification", data)

    assert response.status_code == 200
    html = page(response)
    assert 'data-level="L3"' in html
    assert "L3" in notice(html)
    shown = cli.ok("users", "show", person.phone, "--json")
    assert shown["verification_level"] == "L3"
    [row] = [row for row in shown["evidence"] if row["check"] == method]
    assert (row["result"], row["level_after"]) == ("match", "L3")

    stored = rows(
        provider,
        'SELECT detail, elements, source FROM verifications WHERE "check" = :check',
        check=method,
    )
    assert len(stored) == 1
    if field:
        assert value is not None
        assert_only_last_four_and_hash(stored[0]["detail"], field, value)
        assert not [cell for cell in every_value(provider) if value in cell[2]]


def assert_only_last_four_and_hash(detail: Any, field: str, value: str) -> None:
    detail = json.loads(detail) if isinstance(detail, str) else detail
    assert detail[f"{field}_last4"] == value[-4:]
    assert len(detail[f"{field}_hash"]) == 64
    assert value not in json.dumps(detail)


def test_a_wrong_bank_card_is_evidence_of_a_failed_check_and_changes_no_level(
    register_person: Callable[..., Any], cli: CliRunner, provider: Any
) -> None:
    browser = register_person(ZHANG_SAN)
    other_card = LI_SI.bank_cards[0]  # a real card, in another person's name
    response = post_account_form(
        browser,
        "/account/verification",
        {"method": "bank_card_four_elements", "bank_card": other_card},
    )
    assert response.status_code == 400
    assert 'data-level="L2"' in page(response)
    shown = cli.ok("users", "show", ZHANG_SAN.phone, "--json")
    assert shown["verification_level"] == "L2"
    [row] = [row for row in shown["evidence"] if row["check"] == "bank_card_four_elements"]
    assert (row["result"], row["level_after"]) == ("no_match", "L2")
    assert not [cell for cell in every_value(provider) if other_card in cell[2]]


def test_l4_is_recorded_in_person_by_an_administrator(
    register_person: Callable[..., Any], cli: CliRunner, portal: RelyingParty, provider: Any
) -> None:
    register_person(WANG_WU)
    cli.ok("users", "verify-in-person", WANG_WU.phone, "--reference", "CTR-2026-000123")

    shown = cli.ok("users", "show", WANG_WU.phone, "--json")
    assert shown["verification_level"] == "L4"
    [row] = [row for row in shown["evidence"] if row["check"] == "counter"]
    assert row["reference"] == "CTR-2026-000123"
    assert (row["source"], row["result"], row["level_after"]) == (
        "service_counter",
        "match",
        "L4",
    )

    attempt = password_login(portal, WANG_WU.phone, scope="openid profile")
    _body, claims = tokens(portal, attempt)
    assert claims["acr"] == "urn:idp:loa:L4"
