"""What each portal received, shown to the person (PIPL article 44; natural-person agreement
clause 5; issue #3 item 5: "users can see what each portal received and when").

The page lists the disclosure log's entries for the signed-in account: time, portal, channel and
claim names in plain words, never claim values. A release is listed at once, before the chainer
links it into the hash chain (issue 11), marked as still being sealed.
"""

from __future__ import annotations

import re

from tests.account.helpers import account_login, create_user, signed_in_page
from tests.token.helpers import obtain


def _rows(html: str, client_id: str) -> list[tuple[str, str]]:
    """(channel, chained "yes" or "no") of the portal's rows, top to bottom."""
    return re.findall(
        rf'<tr data-client="{client_id}" data-channel="([^"]+)" data-chained="(yes|no)">', html
    )


def _channels(html: str, client_id: str) -> list[str]:
    return [channel for channel, _chained in _rows(html, client_id)]


def test_disclosures_show_the_portal_channels_and_claim_names(client, confidential_rp, user):
    """After the ID token and a userinfo call: both channels, the portal, the claim names in
    plain words, newest first, and none of the released values."""
    _attempt, tokens = obtain(confidential_rp, user)
    userinfo = confidential_rp.userinfo(tokens["access_token"]).get_json()
    assert userinfo["name"] == user["name"]

    html = signed_in_page(client, "/account/disclosures?lang=en")

    assert _channels(html, confidential_rp.client_id) == ["userinfo", "id_token"]
    assert "Confidential Portal" in html
    assert 'data-claim="name">Your real name<' in html
    assert 'data-claim="preferred_username">' in html
    for value in (user["name"], userinfo["sub"], userinfo["preferred_username"]):
        assert value not in html


def test_releases_are_shown_at_once_and_stay_shown_once_chained(client, cli, confidential_rp, user):
    """Each release (code exchange, userinfo, introspection) is on the page as soon as the
    portal has its answer, marked as being sealed; chaining changes only the mark, and records
    chained and not yet chained are listed together, newest first, each once."""
    _attempt, tokens = obtain(confidential_rp, user)
    at_once = signed_in_page(client, "/account/disclosures?lang=en")
    assert confidential_rp.userinfo(tokens["access_token"]).status_code == 200
    after_userinfo = signed_in_page(client, "/account/disclosures?lang=en")

    cli.ok("audit", "chain")
    chained = signed_in_page(client, "/account/disclosures?lang=en")
    assert confidential_rp.introspect(tokens["access_token"]).get_json()["active"] is True
    mixed = signed_in_page(client, "/account/disclosures?lang=zh-CN")

    client_id = confidential_rp.client_id
    assert _rows(at_once, client_id) == [("id_token", "no")]
    assert "being sealed into the tamper-evident log" in at_once
    assert _rows(after_userinfo, client_id) == [("userinfo", "no"), ("id_token", "no")]
    assert _rows(chained, client_id) == [("userinfo", "yes"), ("id_token", "yes")]
    assert "data-pending" not in chained
    assert _rows(mixed, client_id) == [
        ("introspection", "no"),
        ("userinfo", "yes"),
        ("id_token", "yes"),
    ]
    assert mixed.count("data-pending") == 1
    assert "正在写入防篡改记录" in mixed


def test_disclosures_of_one_person_are_not_shown_to_another(app, cli, confidential_rp, user):
    """Each person sees only their own entries, queued or chained."""
    obtain(confidential_rp, user)
    bob = create_user(cli, "bob", "李四")
    bob_browser = app.test_client()
    account_login(bob_browser, bob["username"], bob["password"])

    queued = signed_in_page(bob_browser, "/account/disclosures")
    cli.ok("audit", "chain")
    chained = signed_in_page(bob_browser, "/account/disclosures")

    for html in (queued, chained):
        assert _channels(html, confidential_rp.client_id) == []
        assert "Confidential Portal" not in html
