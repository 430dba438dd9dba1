"""Accounts in the console: find by phone or ID number (blind indexes), look (masked), act.

Issue 7, item 4 and "done when": searching an account by ID number finds it without any
plaintext ID number in the database; suspension from the console ends the account's sessions.
Natural-person agreement clause 7 (suspension); docs/verification-levels.md (L4 at a counter).
"""

from __future__ import annotations

import json

from sqlalchemy import select

from idp.models import Base
from tests.admin_console.helpers import (
    PERSON,
    alert,
    console_admin,
    page,
    post_form,
    register_person,
)
from tests.logout.helpers import audit_events, log_in, logged_in, on_browser, rows
from tests.support import csrf_token

REASON = "clause 7: fraud reported by the Ningbo portal (ticket 4711)"


def _search(admin_browser, query: str):  # type: ignore[no-untyped-def]
    return post_form(
        admin_browser, "/admin/accounts?lang=en", "/admin/accounts/search", query=query
    )


def _act(admin_browser, account_id: str, action: str, **fields: str):  # type: ignore[no-untyped-def]
    return post_form(admin_browser, f"/admin/accounts/{account_id}?lang=en", f"/{action}", **fields)


def _stored_text(provider) -> str:  # type: ignore[no-untyped-def]
    """Every value of every row of every table, as text."""
    with provider.db.engine.connect() as connection:
        return "\n".join(
            repr(tuple(row))
            for table in Base.metadata.sorted_tables
            for row in connection.execute(select(table))
        )


def _redis_text(redis_client) -> str:  # type: ignore[no-untyped-def]
    found = []
    for key in redis_client.scan_iter():
        found.append(repr(key))
        kind = redis_client.type(key).decode()
        if kind == "string":
            found.append(repr(redis_client.get(key)))
        elif kind == "hash":
            found.append(repr(redis_client.hgetall(key)))
        elif kind == "set":
            found.append(repr(redis_client.smembers(key)))
    return "\n".join(found)


def test_search_by_id_number_finds_a_registered_account_without_storing_it(
    client, cli, app, provider, public_rp, redis_client
):
    """The person registers through the real registration page; the operator types the ID
    number; the account is found through the blind index, and the plaintext ID number is in no
    table, no Redis value and no page."""
    account_id = register_person(client, cli, public_rp, provider)
    admin = console_admin(app.test_client(), cli)

    found = _search(admin.client, PERSON["id_number"])
    html = page(admin.client, found.headers["Location"] + "?lang=en")

    assert found.status_code == 303
    assert found.headers["Location"] == f"/admin/accounts/{account_id}"
    assert 'data-id-type="resident_id">Resident identity card 110105********0178<' in html
    assert 'data-field="name">*三<' in html
    assert 'data-field="phone">138****1001<' in html
    for plaintext in (PERSON["id_number"], PERSON["phone"], PERSON["name"]):
        assert plaintext not in html
    stored = _stored_text(provider)
    assert account_id in stored
    assert PERSON["id_number"] not in stored
    assert PERSON["id_number"].lower() not in stored.lower()
    assert PERSON["id_number"] not in _redis_text(redis_client)
    (search,) = audit_events(provider, "admin_account_search")
    assert search["actor"] == admin.account_id and search["account_id"] == account_id
    assert search["details"] == {"by": "id_number", "found": True}
    assert audit_events(provider, "admin_account_viewed")[0]["account_id"] == account_id


def test_search_by_phone_sub_and_username(client, cli, app, provider, public_rp, user):
    account_id = register_person(client, cli, public_rp, provider)
    sub = rows(provider, "SELECT subject FROM accounts WHERE id = :a", a=account_id)[0]["subject"]
    admin = console_admin(app.test_client(), cli, "auditor")

    by_phone = _search(admin.client, " 138 0013 1001 ")
    by_sub = _search(admin.client, sub)
    by_username = _search(admin.client, user["username"])

    assert by_phone.headers["Location"] == f"/admin/accounts/{account_id}"
    assert by_sub.headers["Location"] == f"/admin/accounts/{account_id}"
    assert by_username.headers["Location"] == f"/admin/accounts/{user['id']}"
    searches = sorted(audit_events(provider, "admin_account_search"), key=lambda e: e["created_at"])
    assert [e["details"]["by"] for e in searches] == [
        "phone",
        "subject",
        "username",
    ]


def test_no_match_does_not_echo_what_was_typed(client, cli):
    admin = console_admin(client, cli)

    missing = _search(client, "110105198503120178")
    empty = _search(client, "   ")
    unknown_page = client.get("/admin/accounts/not-an-account?lang=en")

    assert missing.status_code == 404
    assert "No account matches exactly." in missing.get_data(as_text=True)
    assert "110105198503120178" not in missing.get_data(as_text=True)
    assert empty.status_code == 400
    assert unknown_page.status_code == 404
    assert admin.account_id


def test_suspension_from_the_console_ends_sessions_and_refresh_tokens(
    client, cli, app, provider, confidential_rp, user
):
    """Clause 7: the person's SSO session ends (a portal login needs a new login), the refresh
    and access tokens stop, and the audit records who, what and why."""
    tokens = log_in(confidential_rp, user["username"], user["password"])
    assert logged_in(confidential_rp)
    admin = console_admin(app.test_client(), cli)
    before = page(admin.client, f"/admin/accounts/{user['id']}?lang=en")
    assert before.count("data-sid=") == 1

    response = _act(admin.client, user["id"], "suspend", reason=REASON)
    after = page(admin.client, response.headers["Location"] + "?lang=en")

    assert response.status_code == 303
    assert 'data-field="status" data-value="suspended">' in after
    assert 'id="no-sessions"' in after and 'id="no-grants"' in after
    assert "The account is suspended" in alert(after)
    assert not logged_in(confidential_rp)
    refreshed = confidential_rp.refresh(tokens["refresh_token"])
    assert refreshed.status_code == 400 and refreshed.get_json()["error"] == "invalid_grant"
    assert confidential_rp.userinfo(tokens["access_token"]).status_code == 401
    (event,) = audit_events(provider, "account_suspended")
    assert event["actor"] == admin.account_id
    assert event["account_id"] == user["id"]
    assert event["details"]["reason"] == REASON

    # Reinstated, the person logs in again (a new login); the old refresh token stays dead.
    reinstated = _act(admin.client, user["id"], "reinstate", reason="appeal upheld")
    assert reinstated.status_code == 303
    assert not logged_in(confidential_rp)
    log_in(confidential_rp, user["username"], user["password"])
    assert confidential_rp.refresh(tokens["refresh_token"]).status_code == 400
    (event,) = audit_events(provider, "account_reinstated")
    assert event["actor"] == admin.account_id and event["details"]["reason"] == "appeal upheld"


def test_every_action_needs_a_reason(client, cli, app, provider, user):
    admin = console_admin(app.test_client(), cli)

    answers = [
        _act(admin.client, user["id"], action, reason="  ", reference="CTR-1")
        for action in ("suspend", "end-sessions", "counter-verification")
    ]

    assert [r.status_code for r in answers] == [400, 400, 400]
    for response in answers:
        assert "This field is required." in response.get_data(as_text=True)
    assert rows(provider, "SELECT status FROM accounts WHERE id = :a", a=user["id"]) == [
        {"status": "active"}
    ]
    assert audit_events(provider, "account_suspended") == []


def test_an_operator_cannot_suspend_their_own_account(client, cli, provider):
    admin = console_admin(client, cli)

    response = _act(client, admin.account_id, "suspend", reason="oops")

    assert response.status_code == 400
    assert "You cannot suspend your own account." in response.get_data(as_text=True)
    assert page(client, "/admin")


def test_ending_every_session_logs_the_person_out_everywhere(
    client, cli, app, provider, confidential_rp, user
):
    tokens = log_in(confidential_rp, user["username"], user["password"])
    other_browser = app.test_client()
    log_in(on_browser(confidential_rp, other_browser), user["username"], user["password"])
    admin = console_admin(app.test_client(), cli)
    assert page(admin.client, f"/admin/accounts/{user['id']}").count("data-sid=") == 2

    response = _act(admin.client, user["id"], "end-sessions", reason="lost phone reported")
    after = page(admin.client, f"/admin/accounts/{user['id']}?lang=en")

    assert "2 sessions ended." in alert(after)
    assert 'id="no-sessions"' in after
    assert 'data-field="status" data-value="active">' in after
    assert response.status_code == 303
    assert not logged_in(confidential_rp)
    assert not logged_in(on_browser(confidential_rp, other_browser))
    assert confidential_rp.refresh(tokens["refresh_token"]).status_code == 400
    (event,) = audit_events(provider, "admin_sessions_ended")
    assert event["details"] == {"reason": "lost phone reported", "sessions": 2}
    assert event["actor"] == admin.account_id


def test_recording_an_in_person_verification_raises_the_level_to_l4(
    client, cli, app, provider, public_rp, user
):
    account_id = register_person(client, cli, public_rp, provider)
    admin = console_admin(app.test_client(), cli)

    response = _act(
        admin.client,
        account_id,
        "counter-verification",
        reference="HZ-XH-2026-000123",
        reason="seen at the Xihu service hall",
    )
    html = page(admin.client, f"/admin/accounts/{account_id}?lang=en")
    no_document = _act(
        admin.client, user["id"], "counter-verification", reference="X-1", reason="test"
    )

    assert response.status_code == 303
    assert 'data-field="verification_level">L4<' in html
    assert '<tr data-check="counter" data-result="match">' in html
    assert "HZ-XH-2026-000123" in html
    (evidence,) = rows(
        provider,
        "SELECT * FROM verifications WHERE account_id = :a AND \"check\" = 'counter'",
        a=account_id,
    )
    assert evidence["reference"] == "HZ-XH-2026-000123"
    assert evidence["actor"] == admin.account_id
    assert evidence["level_after"] == "L4"
    (event,) = audit_events(provider, "counter_verification_recorded")
    assert event["details"]["reason"] == "seen at the Xihu service hall"
    assert event["details"]["reference"] == "HZ-XH-2026-000123"
    assert event["actor"] == admin.account_id
    assert no_document.status_code == 409


def test_the_account_page_lists_consents_and_grants(client, cli, app, confidential_rp, user):
    log_in(confidential_rp, user["username"], user["password"])
    admin = console_admin(app.test_client(), cli, "auditor")

    html = page(admin.client, f"/admin/accounts/{user['id']}?lang=en")

    assert html.count(f'<tr data-client="{confidential_rp.client_id}">') == 2  # consent, grant
    assert "Confidential Portal" in html
    assert 'data-field="name">**明<' in html
    assert "王小明" not in html
    assert json.dumps(user["name"]) not in html
    assert csrf_token(html)
