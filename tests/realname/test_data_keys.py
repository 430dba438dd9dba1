"""Data key rotation (issue: real-name registration, item 8): ``idp keys rotate-data``
re-encrypts every sealed value under a new key; lookups and logins go on."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.realname.helpers import ZHANG_SAN, password_login, rows, tokens
from tests.support import CliRunner, RelyingParty

SEALED = ("name_sealed", "id_number_sealed", "phone_sealed")


def key_ids(provider: Any) -> set[str]:
    [account] = rows(provider, "SELECT name_sealed, id_number_sealed, phone_sealed FROM accounts")
    found = set()
    for column in SEALED:
        version, key_id, _blob = account[column].split(".")
        assert version == "v1"
        found.add(key_id)
    return found


def test_rotating_the_data_key_reseals_every_value_and_logins_go_on(
    register_person: Callable[..., Any], cli: CliRunner, provider: Any, portal: RelyingParty
) -> None:
    register_person(ZHANG_SAN)
    [old_key] = key_ids(provider)

    result = cli.ok("keys", "rotate-data")
    assert result["current_key"] != old_key
    # The account's name, ID number and phone, and the sealed text of the provider's notice of
    # the login that registration started (docs/user-space.md, "Messages").
    assert result["resealed"] == 4
    assert key_ids(provider) == {result["current_key"]}

    shown = cli.ok("users", "show", ZHANG_SAN.phone, "--json")
    assert (shown["name"], shown["id_number"], shown["phone"]) == (
        "*三",
        ZHANG_SAN.masked_id_number,
        ZHANG_SAN.masked_phone,
    )
    # The running server opens the values sealed under the new key.
    attempt = password_login(portal, ZHANG_SAN.id_number, scope="openid profile phone")
    body, claims = tokens(portal, attempt)
    assert claims["name"] == ZHANG_SAN.name
    info = portal.userinfo(body["access_token"]).get_json()
    assert info["phone_number"] == f"+86{ZHANG_SAN.phone}"
