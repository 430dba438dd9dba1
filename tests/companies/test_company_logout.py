"""Ending company logins tells the portals (issue 21, item 4; Back-Channel Logout 1.0).

Suspending a company, or suspending or revoking a handler grant, ends the portal sessions that
act for the company: each portal receives a logout token whose ``sub`` is the company as that
portal sees it (pairwise here) and whose ``sid`` is the session of the login. The person's own
sessions go on: nothing is sent for them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.admin_portals.helpers import AdminApi, admin_api_token
from tests.companies.helpers import (
    HANGZHOU,
    act_for_company,
    choose,
    company_portal,
    company_tokens,
    location,
    post,
    to_choice,
)
from tests.logout.helpers import Receiver, Receivers, validate_logout_token
from tests.support import CliRunner, RelyingParty

WAIT = 15  # seconds: the dispatcher is woken at once, and polls every few seconds anyway


@pytest.fixture
def receivers() -> Iterator[Receivers]:
    started = Receivers()
    yield started
    started.stop_all()


def portal_with_backchannel(
    cli: CliRunner, browser: Any, receiver: Receiver, *, matters: list[str], name: str
) -> RelyingParty:
    """A company portal with a back-channel logout endpoint and pairwise subjects."""
    rp = company_portal(cli, browser, matters=matters, name=name)
    api = AdminApi(browser, admin_api_token(cli))
    changed = api.patch(
        f"/clients/{rp.client_id}",
        {"backchannel_logout_uri": receiver.url, "subject_type": "pairwise"},
    )
    assert changed.status_code == 200, changed.get_json()
    return rp


def test_suspending_the_company_logs_out_every_portal_session_acting_for_it(
    world: Any, cli: CliRunner, receivers: Any
) -> None:
    handler_receiver, lr_receiver = receivers(), receivers()
    handler_portal = portal_with_backchannel(
        cli, world.handler, handler_receiver, matters=["tax.declaration"], name="Tax"
    )
    lr_portal = portal_with_backchannel(
        cli, world.legal_representative, lr_receiver, matters=["tax.refund"], name="Refunds"
    )
    _body, handler_token = act_for_company(handler_portal, world.entity_id)
    _body, lr_token = act_for_company(lr_portal, world.entity_id)
    # The handler also has a session of their own at the same portal: it is not ended.
    own_attempt = choose(handler_portal, to_choice(handler_portal), "self")
    _own, own_token = company_tokens(handler_portal, own_attempt)
    assert own_token["sub"] != handler_token["sub"]

    cli.ok("entities", "suspend", HANGZHOU["uscc"], "--reason", "court order 2024-17")

    (handler_logout,) = handler_receiver.wait_for_tokens(1, WAIT)
    claims = validate_logout_token(world.handler, handler_logout, handler_portal.client_id)
    assert claims["sub"] == handler_token["sub"]  # the company, as this portal sees it
    assert claims["sid"] == handler_token["sid"]
    (lr_logout,) = lr_receiver.wait_for_tokens(1, WAIT)
    claims = validate_logout_token(world.legal_representative, lr_logout, lr_portal.client_id)
    assert (claims["sub"], claims["sid"]) == (lr_token["sub"], lr_token["sid"])
    # Suspending again changes nothing; reinstating sends nothing.
    cli.ok("entities", "reinstate", HANGZHOU["uscc"], "--reason", "order lifted")
    assert len(handler_receiver.tokens) == 1 and len(lr_receiver.tokens) == 1


@pytest.mark.parametrize(("action", "done"), [("suspend", "suspended"), ("revoke", "revoked")])
def test_suspending_or_revoking_a_handler_grant_logs_out_the_handlers_company_sessions(
    world: Any, cli: CliRunner, receivers: Any, action: str, done: str
) -> None:
    handler_receiver, lr_receiver = receivers(), receivers()
    handler_portal = portal_with_backchannel(
        cli, world.handler, handler_receiver, matters=["tax.declaration"], name="Tax"
    )
    lr_portal = portal_with_backchannel(
        cli, world.legal_representative, lr_receiver, matters=["tax.refund"], name="Refunds"
    )
    _body, handler_token = act_for_company(handler_portal, world.entity_id)
    _body, _lr_token = act_for_company(lr_portal, world.entity_id)
    status = f"{world.company}/grants/{world.grant_id}/status"

    assert location(post(world.administrator, status, {"action": action})).endswith(f"?done={done}")

    (logout,) = handler_receiver.wait_for_tokens(1, WAIT)
    claims = validate_logout_token(world.handler, logout, handler_portal.client_id)
    assert (claims["sub"], claims["sid"]) == (handler_token["sub"], handler_token["sid"])
    # The legal representative's company session, under their own role, goes on.
    assert lr_receiver.tokens == []
