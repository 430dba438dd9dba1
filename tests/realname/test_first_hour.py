"""A new person's first pages (issue 19): the agreement's title in the page's language, the
login label naming every identifier that works, and the portal named in the evidence of an
acceptance made while registering inside a portal login."""

from __future__ import annotations

import re
from typing import Any

from tests.realname.helpers import ZHANG_SAN, RegistrationForm, page, register
from tests.support import RelyingParty

NATURAL_EN = "Real-Name Registration Agreement for Natural Persons"
NATURAL_ZH = "自然人实名注册协议"


def test_the_english_registration_page_shows_the_english_agreement_title(
    seeded: None, app: Any
) -> None:
    english = RegistrationForm.open(app.test_client(), lang="en").html
    assert NATURAL_EN in english and NATURAL_ZH not in english
    chinese = RegistrationForm.open(app.test_client()).html
    assert NATURAL_ZH in chinese and NATURAL_EN not in chinese


def test_the_english_terms_page_titles_the_agreements_in_english(seeded: None, app: Any) -> None:
    html = page(app.test_client().get("/terms?lang=en"))
    assert NATURAL_EN in html
    assert "Real-Name Registration Agreement for Legal Persons" in html


def test_the_login_label_names_usernames_too(seeded: None, app: Any) -> None:
    browser = app.test_client()
    english = page(browser.get("/account/login?lang=en"))
    assert "Phone number, ID number or username" in english
    chinese = page(browser.get("/account/login?lang=zh_Hans_CN"))
    assert "手机号码、证件号码或用户名" in chinese


def test_an_acceptance_made_registering_in_a_portal_login_names_the_portal(
    seeded: None, portal: RelyingParty, provider: Any
) -> None:
    response = register(portal, ZHANG_SAN, provider=provider)
    assert response.status_code in (302, 303), response.status_code
    html = page(portal.browser.get("/account/agreements?lang=en"))
    rows = re.findall(r'<tr data-kind="([^"]+)" data-version="\d+">(.*?)</tr>', html, re.S)
    assert rows, html[-2000:]
    kind, cells = rows[0]
    assert kind == "natural_person"
    assert "Trusted Portal" in cells and "—" not in cells
    assert NATURAL_EN in cells
