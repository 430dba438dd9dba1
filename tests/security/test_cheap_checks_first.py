"""Cheap checks before costly steps (issue 17, item 2): lengths, formats and check digits are
checked before an SMS is sent, and the message says what is wrong."""

from __future__ import annotations

from typing import Any

import pytest

from tests.realname.helpers import (
    ZHANG_SAN,
    RegistrationForm,
    field_errors,
    form_for,
    outbox_count,
)
from tests.security.hostile import assert_page_refusal


@pytest.fixture
def form(app: Any) -> RegistrationForm:
    return RegistrationForm.open(app.test_client(), lang="en")


def wrong_check_character(number: str) -> str:
    return number[:-1] + ("9" if number[-1] != "9" else "8")


def test_no_code_is_sent_for_an_id_number_with_a_wrong_check_digit(
    form: RegistrationForm, provider: Any
) -> None:
    typed = form_for(ZHANG_SAN, id_number=wrong_check_character(ZHANG_SAN.id_number))
    sent = outbox_count(provider, ZHANG_SAN.phone)  # the outbox file outlives a test
    response = form.send_code(typed["phone"], name=typed["name"], id_number=typed["id_number"])
    assert response.status_code == 400
    assert field_errors(form.html) == {
        "id_number": "The last character (the check digit) does not fit the number: check it."
    }
    assert outbox_count(provider, ZHANG_SAN.phone) == sent


def test_a_code_is_sent_before_the_other_fields_are_filled_in(
    form: RegistrationForm, provider: Any
) -> None:
    sent = outbox_count(provider, ZHANG_SAN.phone)
    assert form.send_code(ZHANG_SAN.phone).status_code == 200
    assert outbox_count(provider, ZHANG_SAN.phone) == sent + 1


def test_a_long_name_is_too_long_not_a_bad_character(form: RegistrationForm, provider: Any) -> None:
    typed = form_for(ZHANG_SAN, name="王" * 100)
    sent = outbox_count(provider, ZHANG_SAN.phone)  # the outbox file outlives a test
    response = form.send_code(typed["phone"], name=typed["name"], id_number=typed["id_number"])
    assert response.status_code == 400
    assert field_errors(form.html) == {"name": "The name is too long: at most 64 characters."}
    assert outbox_count(provider, ZHANG_SAN.phone) == sent


def test_a_five_thousand_character_name_is_refused_as_too_long(
    form: RegistrationForm, provider: Any
) -> None:
    typed = form_for(ZHANG_SAN, name="王" * 5000)
    sent = outbox_count(provider, ZHANG_SAN.phone)  # the outbox file outlives a test
    response = form.send_code(typed["phone"], name=typed["name"], id_number=typed["id_number"])
    page = assert_page_refusal(response, 400, "name")
    assert "too long: at most 255 characters" in page
    assert "not allowed" not in page
    assert outbox_count(provider, ZHANG_SAN.phone) == sent
