"""No personal data in URLs (issue 17, item 3): no page repeats an ``id_token_hint``, a
``login_hint`` or any other token of the query into its links; the language links carry only
the page's own parameters."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from tests.account.helpers import account_login
from tests.support import RelyingParty

HINT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMTAxMDExOTkwMDMwNzQ0NzcifQ.c2lnbmF0dXJl"


def links(html: str) -> list[str]:
    return [href.replace("&amp;", "&") for href in re.findall(r'href="([^"]*)"', html)]


def test_a_refused_logout_repeats_no_hint_in_its_links(
    client: Any, confidential_rp: RelyingParty
) -> None:
    query = urlencode(
        {
            "id_token_hint": HINT,
            "client_id": confidential_rp.client_id,
            "post_logout_redirect_uri": "https://elsewhere.example.com/",
            "state": "s1",
            "logout_hint": "13800138000",
        }
    )
    response = client.get(f"/logout?{query}")
    assert response.status_code == 400
    assert "Location" not in response.headers
    html = response.get_data(as_text=True)
    language_links = [href for href in links(html) if "lang=" in href]
    assert language_links, "the page offers its languages"
    for href in language_links:
        assert href.startswith("/logout?lang="), href
    assert HINT not in html
    assert "13800138000" not in html


def test_a_refused_authorization_repeats_no_hint_in_its_links(client: Any) -> None:
    query = urlencode({"client_id": "no-such-portal", "id_token_hint": HINT, "login_hint": "x@y"})
    response = client.get(f"/authorize?{query}")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert HINT not in html
    assert "login_hint" not in html


def test_language_links_keep_the_pages_own_parameters(client: Any, user: dict[str, str]) -> None:
    account_login(client, user["username"], user["password"])
    html = client.get("/account/consents?withdrawn=0&token=abc&lang=en").get_data(as_text=True)
    language_links = [href for href in links(html) if "lang=" in href]
    assert "/account/consents?withdrawn=0&lang=zh_Hans_CN" in language_links
    assert not any("token" in href for href in language_links)
