"""Registration inside a login (issue: real-name registration, items 1 and 3): the person comes
back to the same authorization request, and one account per person."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from tests.realname.helpers import (
    AYGUL,
    CHEN_XIAOMING,
    LI_SI,
    ZHANG_SAN,
    RegistrationForm,
    alert,
    count,
    field_errors,
    follow_interaction,
    form_for,
    link_ending,
    outbox_code,
    page,
    register,
    rows,
    tokens,
)
from tests.support import CliRunner, RelyingParty


def test_registration_inside_a_login_ends_with_a_code_for_that_request(
    consent_portal: RelyingParty, provider: Any, seeded: None
) -> None:
    rp = consent_portal
    attempt = rp.authorize(scope="openid profile")
    response = register(rp, ZHANG_SAN, provider=provider, attempt=attempt)

    # Registration logs the person in and resumes the request: the agreement was accepted with
    # the form's tick, so the next step is the portal's consent, never an agreement page.
    assert response.status_code == 303
    following = rp.browser.get(response.headers["Location"])
    html = page(following)
    assert 'name="version_id"' not in html
    assert "/consent" in html
    assert follow_interaction(rp, attempt) is None

    assert attempt.response.headers["Location"].startswith(rp.redirect_uri + "?")
    assert attempt.result["state"] == attempt.params["state"]
    assert attempt.result["iss"] == "http://localhost"
    body, claims = tokens(rp, attempt)
    assert claims["acr"] == "urn:idp:loa:L2"
    assert claims["amr"] == ["sms"]

    info = rp.userinfo(body["access_token"]).get_json()
    assert info["sub"] == claims["sub"]
    assert info["name"] == ZHANG_SAN.name
    assert info["user_type"] == "natural_person"
    assert info["verification_level"] == "L2"
    assert abs(info["verified_at"] - time.time()) < 300

    [account] = rows(provider, "SELECT id FROM accounts WHERE subject = :sub", sub=claims["sub"])
    accepted = rows(
        provider,
        "SELECT action FROM agreement_acceptances WHERE account_id = :id",
        id=account["id"],
    )
    assert accepted and {row["action"] for row in accepted} == {"accepted"}


def test_the_login_page_links_to_registration_in_the_user_space_too(
    client: Any, provider: Any
) -> None:
    response = register(client, CHEN_XIAOMING, provider=provider)
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/account/verification")
    overview = page(client.get("/account?lang=en"))
    assert "**明" in overview
    assert CHEN_XIAOMING.phone not in overview and CHEN_XIAOMING.id_number not in overview


def test_a_name_with_a_middle_dot_is_matched_in_the_registry(
    register_person: Callable[..., Any], cli: CliRunner
) -> None:
    register_person(AYGUL, name=f"  {AYGUL.name} ")  # surrounding spaces are not part of it
    shown = cli.ok("users", "show", AYGUL.id_number, "--json")
    assert shown["verification_level"] == "L2"
    assert shown["name"] == "*" * (len(AYGUL.name) - 1) + AYGUL.name[-1]


def test_a_second_account_for_the_same_id_number_is_refused_with_a_pointer_to_recovery(
    app: Any, provider: Any, register_person: Callable[..., Any]
) -> None:
    register_person(ZHANG_SAN)
    form = RegistrationForm.open(app.test_client())
    other_phone = "13900139111"
    fields = form_for(ZHANG_SAN, phone=other_phone)
    assert form.send_code(other_phone).status_code == 200
    response = form.submit({**fields, "sms_code": outbox_code(provider, other_phone)})

    assert response.status_code == 409
    html = form.html
    assert "id_number" in field_errors(html)
    problem = alert(html)
    assert ZHANG_SAN.masked_phone in problem  # 138****1001: at most the masked phone
    assert ZHANG_SAN.phone not in html
    assert "password" in problem.lower() or "密码" in problem
    link_ending(html, "/account/recover")
    assert count(provider, "accounts") == 1


def test_a_phone_number_of_another_account_is_refused(
    app: Any, make_app: Callable[..., Any], provider: Any, register_person: Callable[..., Any]
) -> None:
    # The first account registers through another process with its own secret (so its SMS
    # code's resend wait, keyed with that secret, does not hold up the code asked for below).
    other = make_app(SECRET_KEY="another-test-secret-key-that-is-long-enough-987")
    register_person(ZHANG_SAN, browser=other.test_client())

    form = RegistrationForm.open(app.test_client())
    fields = form_for(LI_SI, phone=ZHANG_SAN.phone)
    assert form.send_code(ZHANG_SAN.phone).status_code == 200
    response = form.submit({**fields, "sms_code": outbox_code(provider, ZHANG_SAN.phone)})

    assert response.status_code == 409
    assert "phone" in field_errors(form.html)
    assert count(provider, "accounts") == 1
