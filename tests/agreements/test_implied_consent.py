"""Implied consent of a trusted portal is recorded, shown and withdrawable (issue #21 item 1;
PIPL articles 14 and 15).

A trusted portal (``--trusted``, ``idp clients set-trusted``) skips the consent page for
ordinary claims; what it received is recorded all the same as an *implied* consent: listed in
``/account/consents`` as 默认同意 (implied), withdrawn there like a given one (its grants are
revoked, RFC 6749 5.2 ``invalid_grant``), after which the portal asks at the next login. Once the
portal loses its trusted flag, the implied consent no longer counts: the next login asks.
"""

from __future__ import annotations

import re

from tests.agreements.helpers import portal, walk
from tests.support import csrf_token


def _consents(browser, lang: str = "zh-CN") -> str:  # type: ignore[no-untyped-def]
    response = browser.get(f"/account/consents?lang={lang}")
    assert response.status_code == 200, response.headers.get("Location")
    return response.get_data(as_text=True)


def _section(html: str, client_id: str) -> str:
    match = re.search(
        rf'<section class="section" data-client="{client_id}".*?</section>', html, re.S
    )
    assert match, f"{client_id} is not listed"
    return match.group(0)


def _tokens(rp, result):  # type: ignore[no-untyped-def]
    response = rp.exchange(result.attempt)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_a_trusted_portal_login_is_listed_as_implied_consent(cli, client, user):
    """No consent page, yet the portal is listed, marked 默认同意 in Chinese (the default) and
    "Implied consent" in English, with what it may receive and a withdraw form."""
    trusted = portal(cli, client, "Government Portal", 8781, "--trusted")

    result = walk(trusted, user["username"], user["password"])
    assert result.kinds == ["login"]

    section = _section(_consents(client), trusted.client_id)
    assert 'data-implied="1"' in section and "默认同意" in section
    assert "<code>openid profile</code>" in section
    assert f'name="client_id" value="{trusted.client_id}"' in section
    assert "Implied consent" in _section(_consents(client, "en"), trusted.client_id)


def test_a_consent_given_on_the_page_is_not_marked_implied(cli, client, user):
    ordinary = portal(cli, client, "Ordinary Portal", 8782)
    assert walk(ordinary, user["username"], user["password"]).kinds == ["login", "consent"]

    assert 'data-implied="1"' not in _section(_consents(client), ordinary.client_id)


def test_withdrawing_an_implied_consent_revokes_and_the_portal_asks_next_time(cli, client, user):
    """Withdrawal revokes the trusted portal's refresh and access tokens at once and removes the
    row; the next login shows the consent page even though the portal is trusted, and what is
    approved there is a given consent."""
    trusted = portal(cli, client, "Government Portal", 8783, "--trusted")
    tokens = _tokens(
        trusted, walk(trusted, user["username"], user["password"], scope="openid offline_access")
    )
    html = _consents(client)

    response = client.post(
        "/account/consents/withdraw",
        data={"csrf_token": csrf_token(html), "client_id": trusted.client_id},
    )

    assert response.status_code == 303
    assert response.headers["Location"] == "/account/consents?withdrawn=1"
    refreshed = trusted.refresh(tokens["refresh_token"])
    assert refreshed.status_code == 400 and refreshed.get_json()["error"] == "invalid_grant"
    assert trusted.userinfo(tokens["access_token"]).status_code == 401
    assert f'data-client="{trusted.client_id}"' not in _consents(client)

    again = walk(trusted, user["username"], user["password"])
    assert again.kinds == ["consent"]
    assert "code" in again.attempt.result
    assert 'data-implied="1"' not in _section(_consents(client), trusted.client_id)
    assert walk(trusted, user["username"], user["password"]).kinds == []


def test_implied_consent_ends_with_the_trusted_flag(cli, client, user):
    """``idp clients set-trusted ... no``: the implied consent stops counting, the next login
    asks; set trusted again, the consent given on the page is kept (not implied)."""
    trusted = portal(cli, client, "Government Portal", 8784, "--trusted")
    assert walk(trusted, user["username"], user["password"]).kinds == ["login"]

    cli.ok("clients", "set-trusted", trusted.client_id, "no")

    assert walk(trusted, user["username"], user["password"]).kinds == ["consent"]
    assert 'data-implied="1"' not in _section(_consents(client), trusted.client_id)
    cli.ok("clients", "set-trusted", trusted.client_id, "yes")
    assert walk(trusted, user["username"], user["password"]).kinds == []
    assert 'data-implied="1"' not in _section(_consents(client), trusted.client_id)


def test_implied_consent_ends_when_the_api_turns_trust_off(cli, client, user):
    """The same through the admin API (PATCH ``trusted: false``)."""
    from tests.admin_portals.helpers import AdminApi, admin_api_token

    trusted = portal(cli, client, "Government Portal", 8785, "--trusted")
    assert walk(trusted, user["username"], user["password"]).kinds == ["login"]
    api = AdminApi(client, admin_api_token(cli))

    changed = api.patch(f"/clients/{trusted.client_id}", {"trusted": False})

    assert changed.status_code == 200, changed.get_json()
    assert walk(trusted, user["username"], user["password"]).kinds == ["consent"]
