"""Behaviour fixed after review: a portal that names no classes of matters, and a handler
whose identity was corrected (level back to L1)."""

from __future__ import annotations

from typing import Any

from tests.admin_portals.helpers import AdminApi, admin_api_token
from tests.companies.helpers import (
    LI_SI,
    REDIRECT_URI,
    act_for_company,
    company_portal,
    post,
    to_choice,
)
from tests.realname.helpers import PASSWORD
from tests.support import CliRunner, RelyingParty


def _portal_without_matters(cli: CliRunner, browser: Any, name: str) -> RelyingParty:
    data = cli.ok(
        "clients",
        "create",
        "--name",
        name,
        "--redirect-uri",
        REDIRECT_URI,
        "--scope",
        "profile",
        "--scope",
        "entity",
        "--trusted",
        "--json",
    )
    return RelyingParty(browser, data["client_id"], data["client_secret"], REDIRECT_URI)


def test_a_portal_that_names_no_matters_is_served_only_by_the_legal_representative(
    world: Any, cli: CliRunner
) -> None:
    """Issue 5 item 4: a grant must cover the classes the portal serves or asks for; with none
    named, only a scope over every class (the legal representative's) covers them."""
    handler_view = to_choice(_portal_without_matters(cli, world.handler, "Portal without matters"))
    representative = _portal_without_matters(cli, world.legal_representative, "Another portal")

    assert handler_view.usable == ["self"]
    assert "does not cover" in handler_view.unavailable[world.entity_id]
    _body, claims = act_for_company(representative, world.entity_id)
    assert claims["delegation"]["role"] == "legal_representative"


def test_a_corrected_identity_ends_company_logins_until_verified_again(
    world: Any, cli: CliRunner
) -> None:
    """Issue 4 item 11 with issue 5 item 2: the level drops to L1 on a correction, and nobody
    below L2 acts for a company; the running company login ends at once."""
    rp = company_portal(cli, world.handler, matters=["tax.declaration"])
    body, _claims = act_for_company(rp, world.entity_id)

    corrected = post(
        world.handler,
        "/account/identity",
        {
            "name": "Anna Schmidt",
            "id_type": "passport",
            "id_number": "C01X00T47",
            "password": PASSWORD,
        },
    )

    assert corrected.status_code == 303, corrected.status_code
    assert rp.refresh(body["refresh_token"]).get_json()["error"] == "invalid_grant"
    choice = to_choice(rp)
    assert choice.usable == ["self"]
    assert "level L2" in choice.unavailable[world.entity_id]
    assert cli.ok("users", "show", LI_SI.phone, "--json")["verification_level"] == "L1"


def test_a_pairwise_portal_cannot_move_to_another_sector(cli: CliRunner, client: Any) -> None:
    """OIDC Core 8.1: a pairwise portal's subjects are those of its sector; changing the host of
    its redirect URIs would hand it another sector's subjects."""
    api = AdminApi(client, admin_api_token(cli))
    created = api.create(
        redirect_uris=["https://tax.example.gov.cn/callback"],
        post_logout_redirect_uris=None,
        subject_type="pairwise",
        matters=None,  # no catalogue published here
    )

    moved = api.patch(
        f"/clients/{created['client_id']}",
        {"redirect_uris": ["https://health.example.gov.cn/callback"]},
    )
    public_again = api.patch(f"/clients/{created['client_id']}", {"subject_type": "public"})
    same_sector = api.patch(
        f"/clients/{created['client_id']}",
        {"redirect_uris": ["https://tax.example.gov.cn/other"]},
    )

    assert moved.status_code == 400
    assert any(e["code"] == "sector_changed" for e in moved.get_json()["errors"])
    assert public_again.status_code == 400
    assert same_sector.status_code == 200
