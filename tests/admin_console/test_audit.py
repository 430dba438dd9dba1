"""The audit and disclosure logs in the console, and the disclosure chain check.

Issue 7, item 6 (search by account, portal, action and time; verify the chain); PIPL articles
23 and 29 (disclosures are recorded); docs/administration.md (what is audited).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from sqlalchemy import text

from tests.admin_console.helpers import PERSON, alert, console_admin, page, register_person
from tests.logout.helpers import audit_events, log_in
from tests.support import csrf_token

CST = timezone(timedelta(hours=8))


def _events(html: str) -> list[str]:
    return re.findall(r'<tr data-event="([^"]+)"', html)


def _search(browser, **fields: str):  # type: ignore[no-untyped-def]
    html = page(browser, "/admin/audit?lang=en")
    return browser.post("/admin/audit?lang=en", data={"csrf_token": csrf_token(html), **fields})


def test_search_by_id_number_never_puts_it_in_a_url(client, cli, app, provider, public_rp):
    account_id = register_person(client, cli, public_rp, provider)
    admin = console_admin(app.test_client(), cli, "auditor")

    response = _search(admin.client, account=PERSON["id_number"])
    html = page(admin.client, response.headers["Location"] + "&lang=en")

    assert response.status_code == 303
    assert response.headers["Location"] == f"/admin/audit?account={account_id}"
    assert PERSON["id_number"] not in response.headers["Location"]
    assert set(_events(html)) >= {"account_registered"}
    assert all(
        f'data-account="{account_id}"' in row for row in re.findall(r"<tr data-event[^>]*>", html)
    )
    missing = _search(admin.client, account="13900000000")
    assert missing.status_code == 400
    assert 'data-error-for="account"' in missing.get_data(as_text=True)
    assert "13900000000" not in missing.get_data(as_text=True)


def test_search_by_action_portal_and_time(client, cli, app, provider, confidential_rp, user):
    log_in(confidential_rp, user["username"], user["password"])
    admin = console_admin(app.test_client(), cli)
    today = datetime.now(CST).date()

    by_action = page(admin.client, "/admin/audit?action=login")
    by_portal = page(admin.client, f"/admin/audit?portal={confidential_rp.client_id}")
    by_account = page(admin.client, f"/admin/audit?account={user['id']}&action=login")
    today_only = page(admin.client, f"/admin/audit?from={today}&to={today}&action=login")
    tomorrow = page(admin.client, f"/admin/audit?from={today + timedelta(days=1)}")
    until_yesterday = page(admin.client, f"/admin/audit?to={today - timedelta(days=1)}")
    bad = admin.client.get("/admin/audit?from=yesterday&lang=en")
    backwards = admin.client.get(f"/admin/audit?from={today}&to={today - timedelta(days=2)}")

    assert _events(by_action) == ["login"]
    assert _events(by_portal) and all(
        f"<code>{confidential_rp.client_id}</code>" in row
        for row in re.findall(r"<tr data-event.*?</tr>", by_portal, re.S)
    )
    assert _events(by_account) == ["login"]
    assert _events(today_only) == ["login"]
    assert _events(tomorrow) == [] and 'id="no-results"' in tomorrow
    assert _events(until_yesterday) == []
    assert bad.status_code == 400 and 'data-error-for="from"' in bad.get_data(as_text=True)
    assert backwards.status_code == 400


def test_results_are_paginated(client, cli, provider):
    admin = console_admin(client, cli)
    for n in range(55):
        cli.ok("agreements", "add-kind", "--kind", f"kind_{n:02d}", "--title", f"Kind {n}")

    first = page(client, "/admin/audit?action=agreement_kind_added&lang=en")
    next_url = re.search(r'<a href="([^"]+)" rel="next">', first).group(1).replace("&amp;", "&")
    second = page(client, next_url)

    assert len(_events(first)) == 50
    assert 'rel="prev"' not in first
    assert next_url == "/admin/audit?action=agreement_kind_added&page=2"
    assert len(_events(second)) == 5
    assert 'rel="next"' not in second and 'rel="prev"' in second
    assert admin.account_id


def test_disclosure_log_and_chain_verification(client, cli, app, provider, confidential_rp, user):
    """The disclosure search lists a release at once, marked as not yet chained, and with its
    sequence number once chained; the chain check counts what is queued and verifies what is
    chained, and a record changed in the database is found (as `idp audit verify` finds it);
    auditors may run the check."""
    log_in(confidential_rp, user["username"], user["password"])
    log_in(confidential_rp, user["username"], user["password"], prompt="login")
    auditor = console_admin(app.test_client(), cli, "auditor")
    search = f"/admin/audit?log=disclosures&account={user['id']}&lang=en"

    queued = page(auditor.client, search)
    html = page(auditor.client, "/admin/audit?lang=en")
    verify = {"csrf_token": csrf_token(html)}
    counted = auditor.client.post("/admin/audit/verify-chain?lang=en", data=verify)
    counted_page = page(auditor.client, counted.headers["Location"] + "&lang=en")
    cli.ok("audit", "chain")
    chained = page(auditor.client, search)
    intact = auditor.client.post("/admin/audit/verify-chain?lang=en", data=verify)
    intact_page = page(auditor.client, intact.headers["Location"] + "&lang=en")
    with provider.db.engine.begin() as connection:
        connection.execute(text("UPDATE disclosures SET claims = '[\"name\"]' WHERE seq = 1"))
    broken = auditor.client.post("/admin/audit/verify-chain?lang=en", data=verify)
    broken_page = page(auditor.client, broken.headers["Location"] + "&lang=en")

    waiting = re.findall(r'<tr data-seq="" data-account="([^"]+)" [^>]*data-chained="no">', queued)
    assert waiting and set(waiting) == {user["id"]}
    assert queued.count("not yet chained</span>") == len(waiting)
    seqs = re.findall(
        r'<tr data-seq="(\d+)" data-account="([^"]+)" [^>]*data-chained="yes">', chained
    )
    assert sorted(int(seq) for seq, _account in seqs) == list(range(1, len(waiting) + 1))
    assert all(account == user["id"] for _seq, account in seqs)
    assert "not yet chained</span>" not in chained
    assert counted.status_code == intact.status_code == 303
    assert intact.headers["Location"] == "/admin/audit?log=disclosures"
    entries = len(seqs)
    assert alert(counted_page) == (
        f"The disclosure chain is intact: 0 entries. {entries} more are recorded and not yet "
        "chained."
    )
    assert alert(intact_page) == f"The disclosure chain is intact: {entries} entries."
    assert 'class="info-note" role="status" id="admin-notice"' in intact_page
    assert alert(broken_page) == "The disclosure chain is broken at entry 1: the entry was changed."
    assert 'class="alert" role="status" id="admin-notice"' in broken_page
    checks = sorted(
        audit_events(provider, "disclosure_chain_verified"), key=lambda e: e["created_at"]
    )
    assert [(e["details"]["ok"], e["details"]["queued"]) for e in checks] == [
        (True, entries),
        (True, 0),
        (False, 0),
    ]
    assert all(e["actor"] == auditor.account_id for e in checks)
