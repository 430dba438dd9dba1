"""Bad registration input (issue: real-name registration, item 2 and "Bad input"): each is refused
with a message on its field, in the person's language; what was typed is kept except passwords
(the agreement tick too, and the SMS code unless it was wrong or used up: issue 19); nothing is
stored."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.realname.helpers import (
    PASSWORD,
    ZHANG_SAN,
    ZHAO_LIU,
    RegistrationForm,
    alert,
    count,
    field_errors,
    form_for,
    input_values,
    outbox_code,
    selected_option,
)
from tests.support import RelyingParty

CHECK_DIGIT_MESSAGE = "The last character (the check digit) does not fit the number: check it."


def with_check_character(first17: str) -> str:
    """GB 11643-1999 (ISO 7064 MOD 11-2), computed here independently of the product."""
    total = sum(int(digit) * pow(2, 17 - i, 11) for i, digit in enumerate(first17))
    return first17 + "10X98765432"[total % 11]


def wrong_check_character(number: str) -> str:
    return number[:-1] + ("9" if number[-1] != "9" else "8")


@pytest.fixture
def form(app: Any) -> RegistrationForm:
    """The registration page of a new browser, in English."""
    return RegistrationForm.open(app.test_client(), lang="en")


def assert_refused_and_kept(
    provider: Any, form: RegistrationForm, typed: dict[str, str], sms_code: str = ""
) -> None:
    """Typed values are shown again, the tick included (never the password; the SMS code only
    when it was not wrong and is not used up: ``sms_code``); nothing stored."""
    html = form.html
    values = input_values(html)
    for name in ("name", "id_number", "phone"):
        assert values[name] == typed[name], name
    assert selected_option(html, "id_type") == typed["id_type"]
    assert values["sms_code"] == sms_code
    tick = re.search(r'<input type="checkbox" id="accept_agreement"[^>]*>', html)
    assert tick and ("checked" in tick.group(0)) == (typed.get("accept_agreement") == "yes")
    if typed.get("password"):
        assert typed["password"] not in html
    assert not re.search(r'name="password(_confirm)?"[^>]*value=', html)
    assert count(provider, "accounts") == 0
    assert count(provider, "verifications") == 0


FIELD_CASES = {
    "wrong check digit": (
        {"id_number": wrong_check_character(ZHANG_SAN.id_number)},
        "id_number",
        CHECK_DIGIT_MESSAGE,
    ),
    "impossible birth date": (
        {"id_number": with_check_character("11010519850230017")},
        "id_number",
        "The date of birth in the ID number is not a real date.",
    ),
    "future birth date": (
        {"id_number": with_check_character("11010520991231017")},
        "id_number",
        "The date of birth in the ID number is in the future.",
    ),
    "wrong length": (
        {"id_number": ZHANG_SAN.id_number[:17]},
        "id_number",
        "A resident ID number has 18 characters.",
    ),
    "password too short": (
        {"password": "tea4two", "password_confirm": "tea4two"},
        "password",
        "The password must have at least 8 characters.",
    ),
    "common password": (
        {"password": "qwertyuiop", "password_confirm": "qwertyuiop"},
        "password",
        "This password is too common and easy to guess. Choose another one.",
    ),
    "password containing the phone": (
        {
            "password": f"tea {ZHANG_SAN.phone} cup",
            "password_confirm": f"tea {ZHANG_SAN.phone} cup",
        },
        "password",
        "The password must not contain your phone number.",
    ),
    "password containing the ID number": (
        {
            "password": f"id {ZHANG_SAN.id_number.lower()}!",
            "password_confirm": f"id {ZHANG_SAN.id_number.lower()}!",
        },
        "password",
        "The password must not contain your ID number.",
    ),
    "password_confirm mismatch": (
        {"password_confirm": PASSWORD + " but different"},
        "password_confirm",
        "The two passwords are not the same.",
    ),
    "agreement not accepted": (
        {"accept_agreement": None},
        "accept_agreement",
        "Tick the box to confirm that you have read and accept the agreement.",
    ),
}


@pytest.mark.parametrize("case", list(FIELD_CASES))
def test_a_bad_field_is_refused_on_the_field(
    case: str, form: RegistrationForm, provider: Any
) -> None:
    overrides, field, message = FIELD_CASES[case]
    typed = form_for(ZHANG_SAN, **overrides)
    assert form.send_code(ZHANG_SAN.phone).status_code == 200
    code = outbox_code(provider, ZHANG_SAN.phone)
    response = form.submit({**typed, "sms_code": code})

    assert response.status_code == 400
    assert field_errors(form.html) == {field: message}
    # The right code was not used up by the refused submit: it is kept, and still works.
    assert_refused_and_kept(provider, form, typed, sms_code=code)


def test_a_malformed_phone_number_is_refused_at_the_code_and_at_registration(
    form: RegistrationForm, provider: Any
) -> None:
    typed = form_for(ZHANG_SAN, phone="1380013100")  # ten digits
    message = "Enter a mainland China mobile number of 11 digits."
    sent = form.send_code(typed["phone"], name=typed["name"], id_number=typed["id_number"])
    assert sent.status_code == 400
    assert field_errors(form.html) == {"phone": message}
    assert input_values(form.html)["name"] == ZHANG_SAN.name

    response = form.submit({**typed, "sms_code": "123456"})
    assert response.status_code == 400
    assert field_errors(form.html) == {"phone": message}
    # Without a valid phone the code cannot be checked: it is kept as typed.
    assert_refused_and_kept(provider, form, typed, sms_code="123456")


def test_a_wrong_sms_code_is_refused(form: RegistrationForm, provider: Any) -> None:
    typed = form_for(ZHANG_SAN)
    assert form.send_code(ZHANG_SAN.phone).status_code == 200
    right = outbox_code(provider, ZHANG_SAN.phone)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    response = form.submit({**typed, "sms_code": wrong})
    assert response.status_code == 400
    assert field_errors(form.html) == {"sms_code": "The SMS code is not correct."}
    assert_refused_and_kept(provider, form, typed)


def test_a_code_never_sent_is_refused(form: RegistrationForm, provider: Any) -> None:
    typed = form_for(ZHANG_SAN)
    response = form.submit({**typed, "sms_code": "123456"})
    assert response.status_code == 400
    assert field_errors(form.html) == {
        "sms_code": "The SMS code has expired or was never sent. Request a new code."
    }
    assert_refused_and_kept(provider, form, typed)


def test_after_too_many_wrong_codes_even_the_right_one_is_refused(
    form: RegistrationForm, provider: Any
) -> None:
    typed = form_for(ZHANG_SAN)
    assert form.send_code(ZHANG_SAN.phone).status_code == 200
    right = outbox_code(provider, ZHANG_SAN.phone)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    answers = []
    for _ in range(provider.config.SMS_MAX_ATTEMPTS):
        assert form.submit({**typed, "sms_code": wrong}).status_code == 400
        answers.append(field_errors(form.html)["sms_code"])
    assert answers[-1] == "Too many wrong codes. Request a new code."

    response = form.submit({**typed, "sms_code": right})
    assert response.status_code == 400
    assert field_errors(form.html) == {"sms_code": "Too many wrong codes. Request a new code."}
    assert_refused_and_kept(provider, form, typed)


def test_a_registry_mismatch_reveals_nothing_of_the_registry(
    form: RegistrationForm, provider: Any
) -> None:
    typed = form_for(ZHANG_SAN, name="王小明")  # not the name the registry holds for this number
    assert form.send_code(ZHANG_SAN.phone).status_code == 200
    response = form.submit({**typed, "sms_code": outbox_code(provider, ZHANG_SAN.phone)})

    assert response.status_code == 400
    errors = field_errors(form.html)
    assert errors == {
        "name": "The name and the ID number do not match the population registry. Check both."
    }
    assert ZHANG_SAN.name not in form.html
    assert "*三" not in form.html
    assert_refused_and_kept(provider, form, typed)


def test_a_deceased_person_cannot_register(form: RegistrationForm, provider: Any) -> None:
    typed = form_for(ZHAO_LIU)
    assert form.send_code(ZHAO_LIU.phone).status_code == 200
    response = form.submit({**typed, "sms_code": outbox_code(provider, ZHAO_LIU.phone)})

    assert response.status_code == 400
    # The same answer as any mismatch: the registry's status of a person is not told.
    assert field_errors(form.html) == {
        "name": "The name and the ID number do not match the population registry. Check both."
    }
    assert "deceased" not in form.html.lower()
    assert_refused_and_kept(provider, form, typed)


def test_messages_follow_the_language_of_the_request(
    portal: RelyingParty, app: Any, provider: Any
) -> None:
    typed = form_for(ZHANG_SAN, id_number=wrong_check_character(ZHANG_SAN.id_number))

    english = RegistrationForm.open(portal, ui_locales="en")
    assert english.submit({**typed, "sms_code": "123456"}).status_code == 400
    assert '<html lang="en"' in english.html
    assert field_errors(english.html)["id_number"] == CHECK_DIGIT_MESSAGE
    assert alert(english.html) == "Please correct the fields marked below."

    english_by_link = RegistrationForm.open(app.test_client(), lang="en")
    assert english_by_link.submit({**typed, "sms_code": "123456"}).status_code == 400
    assert field_errors(english_by_link.html)["id_number"] == CHECK_DIGIT_MESSAGE

    # No language asked for: Simplified Chinese, the default.
    browser = app.test_client()
    chinese = RegistrationForm.open(
        RelyingParty(browser, portal.client_id, portal.client_secret, portal.redirect_uri)
    )
    assert chinese.submit({**typed, "sms_code": "123456"}).status_code == 400
    assert '<html lang="zh-CN"' in chinese.html
    messages = field_errors(chinese.html)
    # Every field's problem at once: the code was never sent, so it is refused too.
    assert set(messages) == {"id_number", "sms_code"}
    for text in messages.values():
        assert re.search(r"[\u4e00-\u9fff]", text), text
    assert count(provider, "accounts") == 0
