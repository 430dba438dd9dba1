"""What each portal received, shown to the person (PIPL article 44; natural-person agreement
clause 5; issue #3 item 5: "users can see what each portal received and when").

The page lists the disclosure log's entries for the signed-in account: time, portal, channel and
claim names in plain words, never claim values.
"""

from __future__ import annotations

import re

from tests.account.helpers import account_login, create_user, signed_in_page
from tests.token.helpers import obtain


def _channels(html: str, client_id: str) -> list[str]:
    return re.findall(rf'<tr data-client="{client_id}" data-channel="([^"]+)">', html)


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


def test_disclosures_of_one_person_are_not_shown_to_another(app, cli, confidential_rp, user):
    """Each person sees only their own entries."""
    obtain(confidential_rp, user)
    bob = create_user(cli, "bob", "李四")
    bob_browser = app.test_client()
    account_login(bob_browser, bob["username"], bob["password"])

    html = signed_in_page(bob_browser, "/account/disclosures")

    assert _channels(html, confidential_rp.client_id) == []
    assert "Confidential Portal" not in html
