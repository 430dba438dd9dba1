"""The verification page of the user space (issue 19, item 5): each way to verify says what it
checks and the level it gives (docs/verification-levels.md), and only the recommended next step
has a primary button; the others are secondary."""

from __future__ import annotations

import re
from typing import Any

from tests.realname.helpers import ZHANG_SAN, page, post_account_form, register


def options(html: str) -> dict[str, str]:
    """``data-method`` -> the whole form of each way offered."""
    forms = re.findall(r'<form class="section verify-option".*?</form>', html, flags=re.S)
    return {re.search(r'data-method="([^"]+)"', form).group(1): form for form in forms}  # type: ignore[union-attr]


def primary_buttons(html: str) -> int:
    main = re.search(r"<main\b.*?</main>", html, flags=re.S)
    assert main
    return len(re.findall(r'class="button button-primary"', main.group(0)))


def signed_in(app: Any, provider: Any) -> Any:
    browser = app.test_client()
    assert register(browser, ZHANG_SAN, provider=provider).status_code == 303
    return browser


def test_each_way_says_the_level_it_gives_and_one_is_primary(app: Any, provider: Any) -> None:
    browser = signed_in(app, provider)  # registered at L2: the registry matched
    html = page(browser.get("/account/verification?lang=en"))

    offered = options(html)
    assert list(offered) == [
        "phone_three_elements",
        "bank_card_four_elements",
        "social_security",
        "housing_fund",
    ]
    for method, form in offered.items():
        assert 'data-gives="L3"' in form, method
        assert "Level it gives: L3: verified with the registry and a second authority" in form
        assert re.search(r'<p class="verify-explanation">[^<]{20,}</p>', form), method
    assert primary_buttons(html) == 1
    assert "button-primary" in offered["phone_three_elements"]
    assert "Recommended next step" in offered["phone_three_elements"]
    for method in ("bank_card_four_elements", "social_security", "housing_fund"):
        assert "button-secondary" in offered[method] and "Recommended" not in offered[method]
    assert "Level L4 is given only in person" in html


def test_the_page_is_in_chinese_by_default(app: Any, provider: Any) -> None:
    browser = signed_in(app, provider)
    html = page(browser.get("/account/verification"))

    assert "建议下一步" in html and "可达到的等级" in html
    assert primary_buttons(html) == 1


def test_at_the_highest_online_level_no_way_is_offered(app: Any, provider: Any) -> None:
    browser = signed_in(app, provider)
    response = post_account_form(
        browser,
        "/account/verification",
        {"method": "bank_card_four_elements", "bank_card": ZHANG_SAN.bank_cards[0]},
    )
    html = page(response)
    assert 'data-level="L3"' in html
    assert options(html) == {}
    assert primary_buttons(html) == 0
