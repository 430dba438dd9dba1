"""The error summary (issue 19, item 3) on the forms beyond registration: login by SMS code and
the verification page. It comes first in ``main``, takes focus, and says what is wrong; a field's
problem links to that field."""

from __future__ import annotations

from typing import Any

from tests.realname.helpers import ZHANG_SAN, page, post_account_form, register
from tests.realname.test_error_summary import summary, summary_links
from tests.realname.test_login_identifiers import open_sms_login, post_sms_login
from tests.support import RelyingParty


def test_sms_login_a_mistyped_number_links_to_the_phone_field(portal: RelyingParty) -> None:
    attempt = open_sms_login(portal)
    refused = post_sms_login(portal, attempt, action="send_code", phone="1380013")
    html = page(refused)
    block = summary(html)
    assert 'tabindex="-1" autofocus' in block
    [(field, message)] = summary_links(html)
    assert field == "phone" and message
    assert 'id="phone" name="phone" value="1380013"' in html  # kept as typed
    assert 'aria-describedby="login-error"' in html


def test_sms_login_a_wrong_code_is_the_forms_problem(
    portal: RelyingParty, register_person: Any
) -> None:
    register_person(ZHANG_SAN)
    attempt = open_sms_login(portal)
    post_sms_login(portal, attempt, action="send_code", phone=ZHANG_SAN.phone)
    refused = post_sms_login(
        portal, attempt, action="login", phone=ZHANG_SAN.phone, sms_code="000000"
    )
    assert refused.status_code == 401
    html = page(refused)
    assert "The phone number or the code is not correct." in summary(html)
    assert summary_links(html) == []  # it cannot say which of the two was wrong
    assert (
        'name="sms_code" autocomplete="one-time-code" inputmode="numeric" aria-invalid="true"'
        in html
    )


def test_the_verification_page_summarises_a_refused_card(app: Any, provider: Any) -> None:
    browser = app.test_client()
    assert register(browser, ZHANG_SAN, provider=provider).status_code == 303
    response = post_account_form(
        browser,
        "/account/verification?lang=en",
        {"method": "bank_card_four_elements", "bank_card": "12345"},
    )
    html = page(response)
    assert response.status_code in (400, 422), response.status_code
    [(field, message)] = summary_links(html)
    assert field == "bank_card" and message
    assert 'id="bank_card-error"' in html
