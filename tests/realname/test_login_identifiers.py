"""Login identifiers (issue: real-name registration, item 10): the phone number or the ID number
as ``username``, and login by phone and SMS code; one throttle per account whichever was typed,
and the same answers for unknown accounts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.realname.helpers import (
    PASSWORD,
    SUN_LI,
    ZHANG_SAN,
    alert,
    link_ending,
    notice,
    outbox_code,
    outbox_count,
    page,
    password_login,
    tokens,
)
from tests.support import AuthorizationAttempt, CliRunner, RelyingParty, csrf_token, form_action

UNKNOWN_PHONE = "13900139777"
UNKNOWN_ID_NUMBER = "11010519900101001X"  # not registered (check character valid)


def test_the_phone_number_and_the_id_number_are_usernames(
    portal: RelyingParty, register_person: Callable[..., Any]
) -> None:
    register_person(SUN_LI)
    for username in (SUN_LI.phone, SUN_LI.id_number, SUN_LI.id_number.lower(), " 138 0013 1007 "):
        attempt = password_login(portal, username)
        assert attempt.result.get("code"), (username, attempt.response.status_code)
        _body, claims = tokens(portal, attempt)
        assert claims["amr"] == ["pwd"]
        assert claims["acr"] == "urn:idp:loa:L2"


def test_failures_by_phone_count_for_the_id_number_and_unknown_accounts_get_the_same_answer(
    make_app: Callable[..., Any],
    portal: RelyingParty,
    register_person: Callable[..., Any],
    cli: CliRunner,
) -> None:
    strict = make_app(LOGIN_LOCK_FAILURES=3, LOGIN_FREE_FAILURES=10)
    register_person(ZHANG_SAN, browser=strict.test_client())
    rp = RelyingParty(
        strict.test_client(), portal.client_id, portal.client_secret, portal.redirect_uri
    )

    answers = []
    for username in (ZHANG_SAN.phone, ZHANG_SAN.phone, UNKNOWN_PHONE, UNKNOWN_ID_NUMBER):
        attempt = password_login(rp, username, "not the password", ui_locales="en")
        answers.append((attempt.response.status_code, alert(page(attempt.response))))
    assert len(set(answers)) == 1, answers
    assert answers[0][0] == 401

    # The third failure on the account, typed as the ID number, locks it for every identifier.
    password_login(rp, ZHANG_SAN.id_number, "not the password")
    locked = password_login(rp, ZHANG_SAN.id_number, PASSWORD, ui_locales="en")
    assert locked.response.status_code == 403
    assert "locked" in alert(page(locked.response))
    assert password_login(rp, ZHANG_SAN.phone, PASSWORD).response.status_code == 403

    cli.ok("users", "unlock", ZHANG_SAN.id_number)
    assert password_login(rp, ZHANG_SAN.phone, PASSWORD).result.get("code")


def open_sms_login(rp: RelyingParty) -> AuthorizationAttempt:
    attempt = rp.authorize(ui_locales="en", prompt="login")
    login_html = rp.follow(attempt)
    response = rp.browser.get(link_ending(login_html, "/login/sms"))
    assert response.status_code == 200
    attempt.response = response
    return attempt


def post_sms_login(rp: RelyingParty, attempt: AuthorizationAttempt, **data: str) -> Any:
    html = page(attempt.response)
    response = rp.browser.post(
        form_action(html, "/login/sms"), data={"csrf_token": csrf_token(html), **data}
    )
    attempt.response = response
    rp._capture(attempt)
    return response


def test_login_by_phone_and_sms_code(
    portal: RelyingParty, register_person: Callable[..., Any], provider: Any
) -> None:
    register_person(ZHANG_SAN)
    attempt = open_sms_login(portal)
    sent = post_sms_login(portal, attempt, action="send_code", phone=ZHANG_SAN.phone)
    assert sent.status_code == 200
    known_notice = notice(page(sent))
    code = outbox_code(provider, ZHANG_SAN.phone)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"

    refused = post_sms_login(portal, attempt, action="login", phone=ZHANG_SAN.phone, sms_code=wrong)
    assert refused.status_code == 401
    assert not attempt.result
    assert alert(page(refused)) == "The phone number or the code is not correct."

    post_sms_login(portal, attempt, action="login", phone=ZHANG_SAN.phone, sms_code=code)
    _body, claims = tokens(portal, attempt)
    assert claims["amr"] == ["sms"]
    assert claims["acr"] == "urn:idp:loa:L2"

    # An unknown phone: the same notice (with its own masked number), and no SMS is sent.
    before = outbox_count(provider, UNKNOWN_PHONE)
    other = open_sms_login(portal)
    unknown = post_sms_login(portal, other, action="send_code", phone=UNKNOWN_PHONE)
    assert unknown.status_code == 200
    assert notice(page(unknown)) == known_notice.replace(ZHANG_SAN.masked_phone, "139****9777")
    assert outbox_count(provider, UNKNOWN_PHONE) == before
    guessed = post_sms_login(portal, other, action="login", phone=UNKNOWN_PHONE, sms_code=code)
    assert guessed.status_code == 401
    assert alert(page(guessed)) == "The phone number or the code is not correct."
