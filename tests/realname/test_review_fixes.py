"""Behaviour fixed after review: the ``acr`` of an essential request with values, recovery that
tells nothing before the code is proven, and company logins after an identity correction."""

from __future__ import annotations

import json
from typing import Any

from tests.realname.helpers import (
    PASSWORD,
    ZHANG_SAN,
    account_login,
    field_errors,
    follow_interaction,
    page,
    password_login,
    post_account_form,
    tokens,
)
from tests.support import RelyingParty


def test_an_essential_acr_with_values_is_answered_with_one_of_them(
    seeded: None, portal: RelyingParty, register_person: Any
) -> None:
    """OIDC Core 5.5.1.1: the acr returned must be one of the values requested; an L2 person
    asked for ``L1`` essentially gets ``L1`` (the highest requested value the level meets)."""
    register_person(ZHANG_SAN, browser=portal.browser)
    claims = {"id_token": {"acr": {"essential": True, "values": ["urn:idp:loa:L1"]}}}
    attempt = password_login(portal, ZHANG_SAN.phone, claims=json.dumps(claims))
    assert follow_interaction(portal, attempt) is None

    _body, id_token = tokens(portal, attempt)

    assert id_token["acr"] == "urn:idp:loa:L1"
    assert id_token["verification_level"] == "L2"  # the claim still tells the real level


def _reset(browser: Any, identifier: str, password: str) -> Any:
    return post_account_form(
        browser,
        "/account/recover",
        {
            "action": "reset",
            "identifier": identifier,
            "sms_code": "123456",
            "password": password,
            "password_confirm": password + " mismatch",
        },
    )


def test_recovery_answers_alike_for_known_and_unknown_identifiers(
    seeded: None, app: Any, register_person: Any
) -> None:
    """Issue 4 item 10: nothing about the account (its phone, whether it exists) can be
    learned before the SMS code is proven."""
    register_person(ZHANG_SAN)
    stranger = app.test_client()
    with_phone = f"x{ZHANG_SAN.phone}x longer passphrase"

    known = _reset(stranger, ZHANG_SAN.id_number, with_phone)
    unknown = _reset(stranger, "11010519491231002X", with_phone)

    assert known.status_code == unknown.status_code
    assert field_errors(page(known)) == field_errors(page(unknown))
    assert "password" not in field_errors(page(known))  # no "contains your phone" before the code


def test_a_wrong_recovery_code_counts_in_the_login_throttle(
    seeded: None, make_app: Any, register_person: Any
) -> None:
    """Wrong codes are failed logins of the account: after the free ones, recovery and the
    password login of the same account both wait."""
    register_person(ZHANG_SAN)
    strict = make_app(LOGIN_FREE_FAILURES="1").test_client()

    def wrong_code() -> int:
        return int(
            post_account_form(
                strict,
                "/account/recover",
                {
                    "action": "reset",
                    "identifier": ZHANG_SAN.phone,
                    "sms_code": "000000",
                    "password": PASSWORD,
                    "password_confirm": PASSWORD,
                },
            ).status_code
        )

    assert [wrong_code(), wrong_code()] == [400, 429]
    login = account_login(strict, ZHANG_SAN.id_number)
    assert login.status_code == 429
