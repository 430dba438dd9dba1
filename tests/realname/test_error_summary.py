"""The registration form after an error (issue 19, item 3): what was typed is kept (the tick,
and the SMS code unless it was wrong), every field's problem is reported at once, and the error
summary (GOV.UK pattern, no JavaScript) comes first in ``main``, takes focus and links to every
refused field."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.realname.helpers import (
    ZHANG_SAN,
    RegistrationForm,
    count,
    field_errors,
    form_for,
    input_values,
    outbox_code,
    selected_option,
)


@pytest.fixture
def form(app: Any) -> RegistrationForm:
    return RegistrationForm.open(app.test_client(), lang="en")


def summary(html: str) -> str:
    """The error summary, which must be the first element of ``main``."""
    main = re.search(r"<main\b[^>]*>\s*(.*?)</main>", html, flags=re.S)
    assert main, "no main"
    content = main.group(1)
    assert content.startswith('<div class="error-summary"'), content[:300]
    block, card, _rest = content.partition('<div class="card">')
    assert card, content[:600]
    return block


def summary_links(html: str) -> list[tuple[str, str]]:
    return re.findall(r'<a href="#([^"]+)" data-summary-for="[^"]+">([^<]+)</a>', summary(html))


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_every_problem_is_reported_at_once_in_a_summary_that_takes_focus(
    form: RegistrationForm, provider: Any
) -> None:
    assert form.send_code(ZHANG_SAN.phone).status_code == 200
    code = outbox_code(provider, ZHANG_SAN.phone)
    typed = form_for(
        ZHANG_SAN,
        id_number=ZHANG_SAN.id_number[:-1] + ("9" if ZHANG_SAN.id_number[-1] != "9" else "8"),
        password_confirm="something else entirely",
    )
    response = form.submit({**typed, "sms_code": wrong(code)})

    assert response.status_code == 400
    html = form.html
    errors = field_errors(html)
    # The wrong SMS code gets its message although other fields are wrong too.
    assert set(errors) == {"id_number", "sms_code", "password_confirm"}
    assert errors["sms_code"] == "The SMS code is not correct."
    block = summary(html)
    assert 'role="alert"' in block and 'tabindex="-1"' in block and "autofocus" in block
    assert "There is a problem" in block
    links = summary_links(html)
    assert [target for target, _text in links] == ["id_number", "sms_code", "password_confirm"]
    assert dict(links) == errors  # each item says what is wrong with its field
    for target, _text in links:
        assert f'id="{target}"' in html, target
    # Kept: name, document, phone and the tick; the wrong code and the passwords are not.
    values = input_values(html)
    assert values["name"] == ZHANG_SAN.name
    assert values["id_number"] == typed["id_number"]
    assert values["phone"] == ZHANG_SAN.phone
    assert selected_option(html, "id_type") == "resident_id"
    assert values["sms_code"] == ""
    assert re.search(r'<input type="checkbox" id="accept_agreement"[^>]*\bchecked', html)
    assert not re.search(r'name="password(_confirm)?"[^>]*value=', html)
    assert count(provider, "accounts") == 0


def test_a_right_code_is_kept_after_another_error_and_still_registers(
    form: RegistrationForm, provider: Any
) -> None:
    assert form.send_code(ZHANG_SAN.phone).status_code == 200
    code = outbox_code(provider, ZHANG_SAN.phone)
    typed = form_for(ZHANG_SAN, accept_agreement=None)
    assert form.submit({**typed, "sms_code": code}).status_code == 400
    assert summary_links(form.html) == [
        ("accept_agreement", "Tick the box to confirm that you have read and accept the agreement.")
    ]
    kept = input_values(form.html)
    assert kept["sms_code"] == code
    assert 'id="accept_agreement"' in form.html

    # The person ticks the box and submits again with what the page kept.
    response = form.submit({**typed, **kept, "accept_agreement": "yes"})
    assert response.status_code == 303, field_errors(form.html)
    assert count(provider, "accounts") == 1


def test_a_form_wide_problem_heads_the_summary_too(form: RegistrationForm) -> None:
    assert form.post({"action": "something else"}).status_code == 400
    block = summary(form.html)
    assert 'id="form-problem"><p>Something is wrong with the form. Try again.</p>' in block


def test_the_send_code_button_keeps_its_distance_from_the_next_label(
    form: RegistrationForm,
) -> None:
    button = re.search(
        r'<div class="([^"]*)">\s*<button[^>]*value="send_code"', form.html, flags=re.S
    )
    assert button and "field-action" in button.group(1).split()
    assert ".field-action {" in form.html  # its spacing is in the page's one style element
    # No summary on a page without errors.
    assert 'class="error-summary"' not in form.html
