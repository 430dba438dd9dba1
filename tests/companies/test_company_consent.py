"""Consent in a company login (issue 19, item 2; PIPL article 17): after choosing a company the
consent page names the company, the person's role and the delegation the portal receives, the
audit records the company consented for, and the disclosure log of the ID token and UserInfo
lists the company claims."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.companies.helpers import (
    HANGZHOU,
    choose,
    company_portal,
    company_tokens,
    page,
    to_choice,
)
from tests.realname.helpers import rows
from tests.support import CliRunner, csrf_token

COMPANY_CLAIMS = {"entity", "act", "delegation"}


def _to_consent(world: Any, cli: CliRunner, **authorize: Any) -> tuple[Any, Any, str]:
    rp = company_portal(cli, world.handler, matters=["tax.declaration"], trusted=False)
    choice = to_choice(rp, **authorize)
    attempt = choose(rp, choice, world.entity_id)
    assert attempt.response.status_code == 303, attempt.response.status_code
    assert not attempt.result, attempt.result
    html = rp.follow(attempt)
    return rp, attempt, html


def test_the_consent_of_a_company_login_names_the_company_role_and_delegation(
    world: Any, cli: CliRunner
) -> None:
    _rp, _attempt, html = _to_consent(world, cli)

    section = re.search(r'<section class="acting-for".*?</section>', html, flags=re.S)
    assert section, html[-2000:]
    company = section.group(0)
    assert f'data-entity="{world.entity_id}"' in company
    assert HANGZHOU["name"] in company
    assert HANGZHOU["uscc"] in company
    assert 'data-role="handler"' in company and ">Handler<" in company
    assert 'data-grade="apply"' in company and ">Apply<" in company
    # The class of matters by its catalogue name, not only its code.
    matter = re.search(r'data-matter="tax.declaration">([^<]+)<', company)
    assert matter and matter.group(1) != "tax.declaration"
    assert "All regions" in company
    assert re.search(r'data-expires><time datetime="[^"]+">\d{4}-\d{2}-\d{2}', company)
    assert set(re.findall(r'data-claim="([^"]+)"', company)) == COMPANY_CLAIMS


def test_the_company_consent_page_is_in_chinese_by_default(world: Any, cli: CliRunner) -> None:
    _rp, _attempt, html = _to_consent(world, cli, ui_locales="zh-CN")

    assert "您代表" in html and HANGZHOU["name"] in html
    assert "经办人" in html


def test_a_company_login_records_the_company_claims_in_audit_and_disclosure_log(
    world: Any, cli: CliRunner, provider: Any
) -> None:
    rp, attempt, html = _to_consent(world, cli)
    response = rp.browser.post(
        re.search(r'<form method="post" action="([^"]+/consent)"', html).group(1),  # type: ignore[union-attr]
        data={"csrf_token": csrf_token(html), "decision": "approve"},
    )
    attempt.response = response
    rp._capture(attempt)
    body, claims = company_tokens(rp, attempt)
    assert claims["entity"]["uscc"] == HANGZHOU["uscc"]
    assert rp.userinfo(body["access_token"]).status_code == 200

    (consented,) = rows(
        provider, "SELECT details FROM audit_events WHERE action = 'consent_granted'"
    )
    details = consented["details"]
    details = json.loads(details) if isinstance(details, str) else details
    assert details["acting_for"] == world.entity_id
    assert set(details["company_claims"]) == COMPANY_CLAIMS

    records = rows(
        provider,
        "SELECT channel, claims FROM disclosure_queue WHERE client_id = :client_id"
        " UNION ALL SELECT channel, claims FROM disclosures WHERE client_id = :client_id",
        client_id=rp.client_id,
    )
    by_channel = {
        record["channel"]: set(
            json.loads(record["claims"]) if isinstance(record["claims"], str) else record["claims"]
        )
        for record in records
    }
    assert COMPANY_CLAIMS | {"sub", "user_type"} <= by_channel["id_token"]
    assert COMPANY_CLAIMS <= by_channel["userinfo"]

    # The handler reads the release in words on their own disclosure page.
    shared = page(world.handler.get("/account/disclosures?lang=en"))
    assert 'data-claim="entity"' in shared and "The company you act for" in shared
    assert 'data-claim="delegation"' in shared and "Your role and authorisation" in shared
