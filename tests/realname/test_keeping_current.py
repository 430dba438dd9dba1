"""Keeping real-name data current (natural-person agreement clause 4(3); issue: real-name
registration, item 11), password recovery by SMS code, cancellation and suspension."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.realname.helpers import (
    NEW_PASSWORD,
    PASSWORD,
    WANG_WU,
    ZHANG_SAN,
    account_login,
    alert,
    count,
    field_errors,
    notice,
    outbox_code,
    outbox_count,
    page,
    post_account_form,
)
from tests.realname.test_levels import closed_port_url
from tests.support import CliRunner

NEW_PHONE = "13900139222"


def shown(cli: CliRunner, identifier: str) -> dict[str, Any]:
    return dict(cli.ok("users", "show", identifier, "--json"))


def test_a_new_phone_number_proven_by_code_and_password(
    app: Any, register_person: Callable[..., Any], cli: CliRunner, provider: Any
) -> None:
    browser = register_person(ZHANG_SAN)
    sent = post_account_form(browser, "/account/phone", {"action": "send_code", "phone": NEW_PHONE})
    assert sent.status_code == 200
    assert "139****9222" in notice(page(sent))
    code = outbox_code(provider, NEW_PHONE)
    [latest] = cli.ok("sms", "outbox", "--phone", NEW_PHONE, "--limit", "1", "--json")
    assert (latest["code"], latest["purpose"]) == (code, "change_phone")

    wrong_password = post_account_form(
        browser,
        "/account/phone",
        {"action": "change", "phone": NEW_PHONE, "sms_code": code, "password": "not it at all"},
    )
    assert wrong_password.status_code == 401
    assert "password" in field_errors(page(wrong_password))
    assert shown(cli, ZHANG_SAN.id_number)["phone"] == ZHANG_SAN.masked_phone

    changed = post_account_form(
        browser,
        "/account/phone",
        {"action": "change", "phone": NEW_PHONE, "sms_code": code, "password": PASSWORD},
    )
    assert changed.status_code == 303
    assert shown(cli, ZHANG_SAN.id_number)["phone"] == "139****9222"
    assert shown(cli, NEW_PHONE)["verification_level"] == "L2"  # the identity is unchanged

    assert account_login(app.test_client(), NEW_PHONE).status_code == 303
    assert account_login(app.test_client(), ZHANG_SAN.phone).status_code == 401


def test_a_corrected_identity_is_verified_again(
    register_person: Callable[..., Any], cli: CliRunner
) -> None:
    browser = register_person(ZHANG_SAN)
    identity = {
        "name": WANG_WU.name,
        "id_type": "resident_id",
        "id_number": WANG_WU.id_number,
    }

    wrong_password = post_account_form(
        browser, "/account/identity", {**identity, "password": "not it at all"}
    )
    assert wrong_password.status_code == 401
    mismatch = post_account_form(
        browser, "/account/identity", {**identity, "name": ZHANG_SAN.name, "password": PASSWORD}
    )
    assert mismatch.status_code == 400
    assert set(field_errors(page(mismatch))) == {"name"}
    unchanged = shown(cli, ZHANG_SAN.phone)
    assert (unchanged["name"], unchanged["id_number"]) == ("*三", ZHANG_SAN.masked_id_number)
    assert unchanged["verification_level"] == "L2"

    corrected = post_account_form(browser, "/account/identity", {**identity, "password": PASSWORD})
    assert corrected.status_code == 303
    after = shown(cli, ZHANG_SAN.phone)
    assert (after["name"], after["id_number"]) == ("*五", WANG_WU.masked_id_number)
    assert after["verification_level"] == "L2"
    trail = [(row["check"], row["result"], row["level_after"]) for row in after["evidence"]]
    # Newest first: the level dropped to L1 with the correction, the registry brought it back.
    assert trail[:2] == [
        ("two_elements", "match", "L2"),
        ("identity_corrected", "declared", "L1"),
    ]


def test_a_correction_while_the_registry_is_unavailable_stays_at_l1_until_verified(
    app: Any, make_app: Callable[..., Any], register_person: Callable[..., Any], cli: CliRunner
) -> None:
    browser = register_person(ZHANG_SAN)
    offline = make_app(VERIFIER="http", VERIFIER_HTTP_URL=closed_port_url(), VERIFIER_RETRIES=0)
    offline_browser = offline.test_client()
    assert account_login(offline_browser, ZHANG_SAN.phone).status_code == 303
    corrected = post_account_form(
        offline_browser,
        "/account/identity",
        {
            "name": WANG_WU.name,
            "id_type": "resident_id",
            "id_number": WANG_WU.id_number,
            "password": PASSWORD,
        },
    )
    assert corrected.status_code == 303
    assert shown(cli, ZHANG_SAN.phone)["verification_level"] == "L1"

    # Verification re-run later, when the registry answers again.
    offered = page(browser.get("/account/verification?lang=en"))
    assert 'data-method="two_elements"' in offered
    verified = post_account_form(browser, "/account/verification", {"method": "two_elements"})
    assert verified.status_code == 200
    assert 'data-level="L2"' in page(verified)
    assert shown(cli, WANG_WU.id_number)["verification_level"] == "L2"


def test_password_recovery_by_sms_code_ends_every_session(
    app: Any, register_person: Callable[..., Any], provider: Any
) -> None:
    logged_in = register_person(ZHANG_SAN)
    assert logged_in.get("/account").status_code == 200
    browser = app.test_client()
    sent = post_account_form(
        browser, "/account/recover", {"action": "send_code", "identifier": ZHANG_SAN.id_number}
    )
    assert sent.status_code == 200
    known_notice = notice(page(sent))
    code = outbox_code(provider, ZHANG_SAN.phone)

    reset = post_account_form(
        browser,
        "/account/recover",
        {
            "action": "reset",
            "identifier": ZHANG_SAN.id_number,
            "sms_code": code,
            "password": NEW_PASSWORD,
            "password_confirm": NEW_PASSWORD,
        },
    )
    assert reset.status_code == 303
    assert reset.headers["Location"].endswith("/account/login")
    ended = logged_in.get("/account")
    assert ended.status_code == 303 and "/account/login" in ended.headers["Location"]
    assert account_login(app.test_client(), ZHANG_SAN.phone, PASSWORD).status_code == 401
    assert account_login(app.test_client(), ZHANG_SAN.phone, NEW_PASSWORD).status_code == 303

    # Unknown identifiers: the same notice, no SMS, and the same refusal of a code.
    unknown_phone = "13900139333"
    before = outbox_count(provider, unknown_phone)
    stranger = app.test_client()
    for identifier in (unknown_phone, "11010519900101001X"):
        answer = post_account_form(
            stranger, "/account/recover", {"action": "send_code", "identifier": identifier}
        )
        assert answer.status_code == 200
        assert notice(page(answer)) == known_notice
    assert outbox_count(provider, unknown_phone) == before
    guessed = post_account_form(
        stranger,
        "/account/recover",
        {
            "action": "reset",
            "identifier": unknown_phone,
            "sms_code": code,
            "password": NEW_PASSWORD,
            "password_confirm": NEW_PASSWORD,
        },
    )
    assert guessed.status_code == 400
    assert set(field_errors(page(guessed))) == {"sms_code"}


def test_cancellation_frees_the_id_number(
    app: Any, register_person: Callable[..., Any], cli: CliRunner, provider: Any
) -> None:
    browser = register_person(ZHANG_SAN)
    first_id = shown(cli, ZHANG_SAN.id_number)["id"]
    cancelled = post_account_form(
        browser, "/account/cancel", {"password": PASSWORD, "confirm_cancel": "yes"}
    )
    assert cancelled.status_code == 303
    assert count(provider, "accounts") == 0
    assert count(provider, "verifications") == 0

    register_person(ZHANG_SAN, phone=NEW_PHONE)
    again = shown(cli, ZHANG_SAN.id_number)
    assert again["id"] != first_id
    assert again["verification_level"] == "L2"


def test_suspension_by_phone_number(
    app: Any, register_person: Callable[..., Any], cli: CliRunner
) -> None:
    browser = register_person(ZHANG_SAN)
    output = cli.ok("users", "suspend", ZHANG_SAN.phone, "--reason", "reported stolen phone")
    assert "suspended" in output
    assert shown(cli, ZHANG_SAN.id_number)["status"] == "suspended"
    assert browser.get("/account").status_code == 303  # the session ended
    refused = account_login(app.test_client(), ZHANG_SAN.phone)
    assert refused.status_code == 403
    assert "suspended" in alert(page(refused))
