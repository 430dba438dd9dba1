"""Step-up inside a login (issue: real-name registration, item 6): a portal that needs a higher
level than the person has gets the verification page in the same login, then its code; if the
person cannot, ``unmet_authentication_requirements``."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.realname.helpers import (
    LI_SI,
    ZHANG_SAN,
    alert,
    field_errors,
    page,
    password_login,
    tokens,
)
from tests.support import AuthorizationAttempt, CliRunner, RelyingParty, csrf_token, form_action

L3 = "urn:idp:loa:L3"
WAYS_TO_ASK_FOR_L3: dict[str, dict[str, str]] = {
    "portal minimum": {},
    "acr_values": {"acr_values": L3},
    "essential verification_level claim": {
        "claims": json.dumps(
            {"id_token": {"verification_level": {"essential": True, "value": "L3"}}}
        )
    },
}


def post_verify(rp: RelyingParty, attempt: AuthorizationAttempt, **data: str) -> Any:
    html = page(attempt.response)
    response = rp.browser.post(
        form_action(html, "/verify"), data={"csrf_token": csrf_token(html), **data}
    )
    attempt.response = response
    rp._capture(attempt)
    return response


def login_to_verify_page(rp: RelyingParty, **authorize: str) -> AuthorizationAttempt:
    """Log Zhang San (L2) in with the password; the login must stop at the verify page."""
    attempt = password_login(rp, ZHANG_SAN.phone, ui_locales="en", **authorize)
    assert not attempt.result, attempt.result
    assert attempt.response.status_code == 303
    html = rp.follow(attempt)
    assert 'name="bank_card"' in html
    assert 'data-method="bank_card_four_elements"' in html
    return attempt


@pytest.fixture
def l2_person(register_person: Callable[..., Any]) -> None:
    register_person(ZHANG_SAN)


@pytest.mark.parametrize("way", list(WAYS_TO_ASK_FOR_L3))
def test_a_bank_card_raises_the_login_to_l3_and_the_portal_gets_its_code(
    way: str, portal: RelyingParty, cli: CliRunner, l2_person: None
) -> None:
    if way == "portal minimum":
        cli.ok("clients", "set-level", portal.client_id, "L3")
    attempt = login_to_verify_page(portal, **WAYS_TO_ASK_FOR_L3[way])
    post_verify(
        portal, attempt, method="bank_card_four_elements", bank_card=ZHANG_SAN.bank_cards[0]
    )

    assert attempt.result.get("code"), attempt.response.headers.get("Location")
    assert attempt.result["state"] == attempt.params["state"]
    _body, claims = tokens(portal, attempt)
    assert claims["acr"] == L3
    assert cli.ok("users", "show", ZHANG_SAN.phone, "--json")["verification_level"] == "L3"


def test_a_wrong_bank_card_shows_an_error_and_does_not_continue(
    portal: RelyingParty, cli: CliRunner, l2_person: None
) -> None:
    cli.ok("clients", "set-level", portal.client_id, "L3")
    attempt = login_to_verify_page(portal)

    refused = post_verify(
        portal, attempt, method="bank_card_four_elements", bank_card=LI_SI.bank_cards[0]
    )
    assert refused.status_code == 400
    assert not attempt.result
    assert "could not confirm" in alert(page(refused))

    malformed = post_verify(
        portal, attempt, method="bank_card_four_elements", bank_card="6222029542555031"
    )  # fails the Luhn check
    assert malformed.status_code == 400
    assert not attempt.result
    assert set(field_errors(page(malformed))) == {"bank_card"}
    assert cli.ok("users", "show", ZHANG_SAN.phone, "--json")["verification_level"] == "L2"


def test_giving_up_tells_the_portal_unmet_authentication_requirements(
    portal: RelyingParty, cli: CliRunner, l2_person: None
) -> None:
    cli.ok("clients", "set-level", portal.client_id, "L3")
    attempt = login_to_verify_page(portal)
    post_verify(portal, attempt, decision="deny")

    assert attempt.result["error"] == "unmet_authentication_requirements"
    assert attempt.result["state"] == attempt.params["state"]
    assert "code" not in attempt.result


def test_a_portal_requiring_l4_is_told_right_after_the_login(
    portal: RelyingParty, cli: CliRunner, l2_person: None
) -> None:
    cli.ok("clients", "set-level", portal.client_id, "L4")
    attempt = password_login(portal, ZHANG_SAN.phone)
    assert attempt.result["error"] == "unmet_authentication_requirements"
    assert attempt.result["state"] == attempt.params["state"]


def test_prompt_none_below_the_level_is_interaction_required(
    portal: RelyingParty, cli: CliRunner, l2_person: None
) -> None:
    # A live session at L2, from a login to a portal that asks for no level.
    first = password_login(portal, ZHANG_SAN.phone)
    assert first.result.get("code")
    cli.ok("clients", "set-level", portal.client_id, "L3")

    silent = portal.authorize(prompt="none")
    assert silent.result["error"] == "interaction_required"
    assert silent.result["state"] == silent.params["state"]


def test_a_verification_arriving_while_the_same_login_is_verified_asks_nobody(
    portal: RelyingParty, cli: CliRunner, l2_person: None, provider: Any
) -> None:
    """The step-up check records its evidence before the step can decide, so it runs for one
    request of an interaction at a time: a second one at the same moment (a double submit) is
    refused without asking the authority, and the first one goes on."""
    cli.ok("clients", "set-level", portal.client_id, "L3")
    attempt = login_to_verify_page(portal)
    html = page(attempt.response)
    interaction_id = form_action(html, "/verify").split("/")[2]
    evidence = len(cli.ok("users", "show", ZHANG_SAN.phone, "--json")["evidence"])

    held = f"idp:interaction:{{{interaction_id}}}:held"
    provider.redis.set(held, "1", ex=60)  # the first request is still with the authority
    second = portal.browser.post(
        form_action(html, "/verify"),
        data={
            "csrf_token": csrf_token(html),
            "method": "bank_card_four_elements",
            "bank_card": ZHANG_SAN.bank_cards[0],
        },
    )
    assert second.status_code == 400
    shown = cli.ok("users", "show", ZHANG_SAN.phone, "--json")
    assert (len(shown["evidence"]), shown["verification_level"]) == (evidence, "L2")

    provider.redis.delete(held)
    post_verify(
        portal, attempt, method="bank_card_four_elements", bank_card=ZHANG_SAN.bank_cards[0]
    )
    assert attempt.result.get("code")
