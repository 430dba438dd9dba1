"""The company's account over time: cancellation by the legal representative, and a change of
legal representative taken from a registry re-check (legal-person agreement)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from idp.config import DEMO_REGISTRY
from tests.companies.helpers import (
    HANGZHOU,
    ZHANG_SAN,
    act_for_company,
    company_portal,
    location,
    page,
    post,
    raise_to_l3,
    register_company,
    registered,
)
from tests.realname.helpers import PASSWORD
from tests.support import CliRunner, RelyingParty


def _portal_for(cli: CliRunner, browser: Any) -> RelyingParty:
    return company_portal(cli, browser, matters=["tax.declaration"])


def test_the_legal_representative_cancels_the_company(world: Any, cli: CliRunner) -> None:
    handler_rp = _portal_for(cli, world.handler)
    body, _claims = act_for_company(handler_rp, world.entity_id)
    cancel = f"{world.company}/cancel"

    unconfirmed = post(world.legal_representative, cancel, {"password": PASSWORD})
    wrong = post(
        world.legal_representative,
        cancel,
        {"password": "not the password", "confirm_cancel": "yes"},
    )
    by_administrator = post(
        world.administrator,
        cancel,
        {"password": PASSWORD, "confirm_cancel": "yes"},
    )

    assert (unconfirmed.status_code, wrong.status_code, by_administrator.status_code) == (
        400,
        401,
        403,
    )
    assert cli.ok("entities", "show", HANGZHOU["uscc"], "--json")["status"] == "active"
    location(
        post(
            world.legal_representative,
            cancel,
            {"password": PASSWORD, "confirm_cancel": "yes"},
        )
    )
    shown = cli.ok("entities", "show", HANGZHOU["uscc"], "--json")
    assert shown["status"] == "cancelled"
    assert handler_rp.refresh(body["refresh_token"]).get_json()["error"] == "invalid_grant"
    assert handler_rp.introspect(body["access_token"]).get_json() == {"active": False}
    # Nobody acts for a cancelled company any more.
    assert world.entity_id not in [option for option in _choices(handler_rp) if option != "self"]


def _choices(rp: RelyingParty) -> list[str]:
    from tests.companies.helpers import to_choice

    return to_choice(rp).usable


def test_a_new_legal_representative_named_by_the_registry_takes_the_role_over(
    represented: Any, make_app: Any, provider: Any, cli: CliRunner, tmp_path: Path
) -> None:
    """The registry now names 张三 as the legal representative of 杭州示例科技有限公司: when he
    registers the company, the role moves to him and 陈晓明's company logins end."""
    chen_rp = _portal_for(cli, represented.legal_representative)
    body, claims = act_for_company(chen_rp, represented.entity_id)
    assert claims["delegation"]["role"] == "legal_representative"
    registry = json.loads(DEMO_REGISTRY.read_text())
    for entity in registry["entities"]:
        if entity["uscc"] == HANGZHOU["uscc"]:
            entity["legal_representative"] = {
                "name": ZHANG_SAN.name,
                "id_number": ZHANG_SAN.id_number,
            }
    changed = tmp_path / "registry.json"
    changed.write_text(json.dumps(registry, ensure_ascii=False))
    later = make_app(REGISTRY_FILE=str(changed))
    zhang = registered(later, provider, ZHANG_SAN)
    raise_to_l3(zhang, ZHANG_SAN)

    moved = register_company(zhang)

    assert location(moved).startswith(f"/account/companies/{represented.entity_id}")
    shown = cli.ok("entities", "show", HANGZHOU["uscc"], "--json")
    representatives = [r for r in shown["roles"] if r["role"] == "legal_representative"]
    assert len(representatives) == 1
    assert representatives[0]["person"]["phone"] == "138****" + ZHANG_SAN.phone[-4:]
    assert chen_rp.refresh(body["refresh_token"]).get_json()["error"] == "invalid_grant"
    # 陈晓明 is no member any more: the company page is not his to see.
    assert represented.legal_representative.get(represented.company).status_code == 404


def test_a_legal_representative_cancels_their_own_account_only_after_the_company(
    represented: Any,
) -> None:
    """The company must not be left without its legal representative (natural-person agreement
    clause 8 with the legal-person agreement)."""
    from tests.support import csrf_token

    chen = represented.legal_representative

    def cancel_own_account() -> Any:
        form = page(chen.get("/account/cancel?lang=en"))
        return chen.post(
            "/account/cancel?lang=en",
            data={
                "csrf_token": csrf_token(form),
                "password": PASSWORD,
                "confirm_cancel": "yes",
            },
        )

    refused = cancel_own_account()
    assert refused.status_code == 409
    assert "legal representative" in page(refused)
    location(
        post(
            chen,
            f"{represented.company}/cancel",
            {"password": PASSWORD, "confirm_cancel": "yes"},
        )
    )
    assert location(cancel_own_account()).endswith("/account/cancelled")
