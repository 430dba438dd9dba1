"""A member of a company cancels their personal account (issue 21, docs/legal-persons.md):
an administrator's role goes, the handler grants they gave stay; a handler's grants are
revoked (kept as the company's record), their company logins end, and each change is in the
company's trail."""

from __future__ import annotations

import json
from typing import Any

from tests.companies.helpers import get, grant_rows, location, page
from tests.companies.test_revocation import assert_ended, handler_login
from tests.realname.helpers import PASSWORD, rows
from tests.support import CliRunner, csrf_token


def cancel_own_account(browser: Any) -> Any:
    form = page(browser.get("/account/cancel?lang=en"))
    return browser.post(
        "/account/cancel?lang=en",
        data={"csrf_token": csrf_token(form), "password": PASSWORD, "confirm_cancel": "yes"},
    )


def _trail(provider: Any, entity_id: str, action: str) -> list[dict[str, Any]]:
    found = rows(
        provider,
        "SELECT actor, account_id, details FROM audit_events "
        "WHERE entity_id = :entity AND action = :action",
        entity=entity_id,
        action=action,
    )
    for row in found:
        if isinstance(row["details"], str):  # SQLite returns JSON as text
            row["details"] = json.loads(row["details"])
    return found


def test_an_administrator_who_cancels_leaves_the_grants_they_gave(
    world: Any, cli: CliRunner, provider: Any
) -> None:
    [admin] = rows(
        provider,
        "SELECT account_id FROM entity_roles WHERE entity_id = :e AND role = 'administrator'",
        e=world.entity_id,
    )
    assert location(cancel_own_account(world.administrator)).endswith("/account/cancelled")

    assert not rows(
        provider, "SELECT id FROM entity_roles WHERE account_id = :a", a=admin["account_id"]
    )
    [removed] = _trail(provider, world.entity_id, "administrator_removed")
    assert removed["details"] == {
        "member": admin["account_id"],
        "reason": "account_cancelled",
        "grants_given_kept": 1,
    }
    # The grant the administrator gave is the company's: the handler still acts for it.
    [grant] = rows(provider, "SELECT status FROM handler_grants WHERE id = :g", g=world.grant_id)
    assert grant["status"] == "active"
    rp, body = handler_login(world, cli)
    assert rp.introspect(body["access_token"]).get_json()["active"] is True
    # The legal representative sees the grant, given by a cancelled account.
    assert world.grant_id in grant_rows(page(get(world.legal_representative, world.company)))


def test_a_handler_who_cancels_has_their_grants_revoked_with_their_logins(
    world: Any, cli: CliRunner, provider: Any
) -> None:
    rp, body = handler_login(world, cli)
    [grant] = rows(
        provider, "SELECT account_id FROM handler_grants WHERE id = :g", g=world.grant_id
    )
    handler = grant["account_id"]

    assert location(cancel_own_account(world.handler)).endswith("/account/cancelled")

    assert_ended(rp, body)
    assert not rows(provider, "SELECT id FROM accounts WHERE id = :a", a=handler)
    [kept] = rows(
        provider, "SELECT status, account_id FROM handler_grants WHERE id = :g", g=world.grant_id
    )
    assert kept == {"status": "revoked", "account_id": handler}
    [revoked] = _trail(provider, world.entity_id, "handler_grant_revoked")
    assert revoked["actor"] == handler
    assert revoked["details"] == {
        "grant_id": world.grant_id,
        "handler": handler,
        "reason": "account_cancelled",
    }
    # The company's pages still list it, revoked, under a cancelled account.
    html = page(get(world.legal_representative, world.company))
    assert grant_rows(html).get(world.grant_id) == "revoked"
