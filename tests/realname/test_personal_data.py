"""Personal data at rest and in output (issue: real-name registration, item 8): no plaintext
name, ID number or phone in any table or Redis key or value; ``idp users show`` is masked."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.realname.helpers import (
    LI_SI,
    PASSWORD,
    ZHANG_SAN,
    account_login,
    every_value,
    password_login,
    post_account_form,
    redis_strings,
    register,
    tokens,
)
from tests.support import CliRunner, RelyingParty


def test_the_database_and_redis_hold_no_plaintext_name_id_number_or_phone(
    portal: RelyingParty,
    app: Any,
    provider: Any,
    cli: CliRunner,
    redis_client: Any,
    seeded: None,
) -> None:
    # Registration inside a login, a bank card check, a userinfo call (disclosure log), failed
    # logins by phone and by ID number (throttle keys), and SMS codes outstanding.
    attempt = portal.authorize(scope="openid profile phone realname")
    register(portal, LI_SI, provider=provider, attempt=attempt)
    body, _claims = tokens(portal, attempt)
    assert portal.userinfo(body["access_token"]).status_code == 200
    browser = app.test_client()
    for username in (LI_SI.phone, LI_SI.id_number.lower(), "13900139555"):
        assert account_login(browser, username, "not the password").status_code == 401
    assert account_login(browser, LI_SI.phone, PASSWORD).status_code == 303
    verified = post_account_form(
        browser,
        "/account/verification",
        {"method": "bank_card_four_elements", "bank_card": LI_SI.bank_cards[1]},
    )
    assert verified.status_code == 200
    post_account_form(browser, "/account/phone", {"action": "send_code", "phone": "13900139556"})
    assert cli.ok("users", "show", LI_SI.phone, "--json")["verification_level"] == "L3"

    secrets_ = {
        "name": LI_SI.name,
        "id_number": LI_SI.id_number,
        "id_number (lower case)": LI_SI.id_number.lower(),
        "phone": LI_SI.phone,
        "bank card": LI_SI.bank_cards[1],
        "new phone": "13900139556",
        "unknown phone": "13900139555",
    }
    cli.ok("audit", "chain")  # the disclosure records, from the queue into the chain
    cells = every_value(provider)
    assert cells, "no rows read"
    assert {table for table, _column, _value in cells} >= {
        "accounts",
        "verifications",
        "audit_events",
        "agreement_acceptances",
        "disclosures",
    }
    sealed = {column: value for table, column, value in cells if table == "accounts"}
    for column in ("name_sealed", "id_number_sealed", "phone_sealed"):
        assert sealed[column].startswith("v1."), column
    for what, secret in secrets_.items():
        leaks = [(table, column) for table, column, value in cells if secret in value]
        assert not leaks, f"{what} in {leaks}"

    stored = redis_strings(redis_client)
    assert any(key.startswith("idp:fail:account:") for key in stored)
    assert any(key.startswith("idp:sms:code:") for key in stored)
    for what, secret in secrets_.items():
        assert not [entry for entry in stored if secret in entry], f"{what} in Redis"


def test_users_show_is_masked(
    register_person: Callable[..., Any], cli: CliRunner, portal: RelyingParty
) -> None:
    register_person(ZHANG_SAN)
    for identifier in (ZHANG_SAN.phone, ZHANG_SAN.id_number):
        shown = cli.ok("users", "show", identifier, "--json")
        assert shown["name"] == "*三"
        assert shown["id_number"] == ZHANG_SAN.masked_id_number == "110105********0178"
        assert shown["phone"] == ZHANG_SAN.masked_phone == "138****1001"
        assert shown["verification_level"] == "L2"
    code, out, err = cli.run("users", "show", ZHANG_SAN.id_number)
    assert code == 0, err
    assert "138****1001" in out
    for secret in (ZHANG_SAN.name, ZHANG_SAN.id_number, ZHANG_SAN.phone):
        assert secret not in out + err
    # The same data opens for the portal: the mask is only for output.
    attempt = password_login(portal, ZHANG_SAN.phone, scope="openid profile")
    _body, claims = tokens(portal, attempt)
    assert claims["name"] == ZHANG_SAN.name
