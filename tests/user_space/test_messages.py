"""Messages (消息): portals push messages with their own token (scope ``messages:send``), the
authority from the console and the admin API, the provider its own security notices; the
person reads, marks and deletes them and may turn a sender's non-essential messages off
(agreement clause 4(4)) (issue 12, item 2)."""

from __future__ import annotations

import re
from typing import Any

from tests.account.helpers import account_login, create_user, signed_in_page
from tests.admin_portals.helpers import admin_api_token
from tests.support import CliRunner, csrf_token
from tests.user_space.portal_api_helpers import call, make_portal, signed_in_browser


def message(sub: str, **overrides: Any) -> dict[str, Any]:
    body = {
        "sub": sub,
        "title": "补充材料通知",
        "body": "请于 11 月 30 日前补充收入证明。",
        "link": "https://tax.example.gov.cn/matters/TAX-1",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def stored(provider: Any) -> int:
    from idp.models import Message

    provider.db.session.expire_all()
    return int(provider.db.session.query(Message).filter(Message.sender == "portal").count())


def unread_badge(html: str) -> int:
    found = re.search(r'id="unread-count" data-unread="(\d+)"', html)
    return int(found.group(1)) if found else 0


def test_a_portal_message_reaches_the_inbox_with_the_unread_count(
    app: Any, cli: CliRunner, client: Any, user: dict[str, str], provider: Any
) -> None:
    portal = make_portal(cli, client)
    sub, token = portal.sub_of(user), portal.access_token("messages:send")
    sent = call(client, "POST", "/api/messages", token, message(sub))
    assert sent.status_code == 201, sent.get_json()
    assert sent.get_json()["status"] == "delivered"
    message_id = sent.get_json()["id"]

    browser = signed_in_browser(app, user)
    inbox = signed_in_page(browser, "/account/messages?lang=en")
    assert f'data-message="{message_id}"' in inbox
    assert "补充材料通知" in inbox
    # Each login (to the portal, to the user space) left a provider notice: three unread,
    # shown on every account page.
    assert unread_badge(inbox) == 3
    assert unread_badge(signed_in_page(browser, "/account/consents")) == 3
    # Opening the message shows its body and marks it read.
    page = signed_in_page(browser, f"/account/messages/{message_id}")
    assert "请于 11 月 30 日前补充收入证明。" in page
    assert 'href="https://tax.example.gov.cn/matters/TAX-1"' in page
    assert unread_badge(signed_in_page(browser, "/account")) == 2
    # Unread again, then deleted.
    html = signed_in_page(browser, "/account/messages")
    browser.post(
        f"/account/messages/{message_id}/read",
        data={"csrf_token": csrf_token(html), "decision": "unread"},
    )
    assert unread_badge(signed_in_page(browser, "/account")) == 3
    answer = browser.post(
        f"/account/messages/{message_id}/delete", data={"csrf_token": csrf_token(html)}
    )
    assert answer.status_code == 303
    assert f'data-message="{message_id}"' not in signed_in_page(browser, "/account/messages")
    # Without the CSRF token nothing happens.
    assert browser.post("/account/messages/read-all").status_code == 400


def test_another_persons_message_cannot_be_read_or_deleted(
    app: Any, cli: CliRunner, client: Any, user: dict[str, str]
) -> None:
    portal = make_portal(cli, client)
    sub, token = portal.sub_of(user), portal.access_token("messages:send")
    message_id = call(client, "POST", "/api/messages", token, message(sub)).get_json()["id"]
    bob = create_user(cli, "bob", "李四")
    browser = signed_in_browser(app, bob)
    assert browser.get(f"/account/messages/{message_id}").status_code == 404
    html = signed_in_page(browser, "/account/messages")
    browser.post(f"/account/messages/{message_id}/delete", data={"csrf_token": csrf_token(html)})
    alice = signed_in_browser(app, user)
    assert f'data-message="{message_id}"' in signed_in_page(alice, "/account/messages")


def test_a_message_links_to_the_persons_matter(
    app: Any, cli: CliRunner, client: Any, user: dict[str, str]
) -> None:
    portal = make_portal(cli, client)
    sub, token = portal.sub_of(user), portal.access_token()
    matter = {
        "sub": sub,
        "id": "TAX-1",
        "matter_class": "tax.declaration",
        "title": "个人所得税年度汇算",
        "submitted_at": "2026-11-02T09:30:00+08:00",
    }
    assert call(client, "POST", "/api/matters", token, matter).status_code == 201
    sent = call(client, "POST", "/api/messages", token, message(sub, matter="TAX-1"))
    assert sent.status_code == 201
    browser = signed_in_browser(app, user)
    page = signed_in_page(browser, f"/account/messages/{sent.get_json()['id']}")
    assert 'id="message-matter"' in page and "个人所得税年度汇算" in page
    unknown = call(client, "POST", "/api/messages", token, message(sub, matter="NOPE"))
    assert unknown.status_code == 404
    assert unknown.get_json()["errors"][0]["pointer"] == "/matter"


def test_turning_off_a_portals_messages_is_a_recorded_consent(
    app: Any, cli: CliRunner, client: Any, user: dict[str, str], provider: Any
) -> None:
    portal = make_portal(cli, client)
    sub, token = portal.sub_of(user), portal.access_token("messages:send")
    browser = signed_in_browser(app, user)
    html = signed_in_page(browser, "/account/messages?lang=en")
    assert f'data-sender-choice="{portal.client_id}" data-allowed="1"' in html
    answer = browser.post(
        "/account/messages/senders",
        data={"csrf_token": csrf_token(html), "client_id": portal.client_id, "decision": "off"},
    )
    assert answer.status_code == 303
    html = signed_in_page(browser, "/account/messages")
    assert f'data-sender-choice="{portal.client_id}" data-allowed="0"' in html
    declined = call(client, "POST", "/api/messages", token, message(sub))
    assert declined.status_code == 201
    assert declined.get_json() == {"id": None, "status": "declined"}
    assert stored(provider) == 0
    events = [e.action for e in provider.audit.search(account_id=user["id"])]
    assert "message_consent_withdrawn" in events
    # Given again.
    browser.post(
        "/account/messages/senders",
        data={"csrf_token": csrf_token(html), "client_id": portal.client_id, "decision": "on"},
    )
    assert call(client, "POST", "/api/messages", token, message(sub)).get_json()["id"]
    assert "message_consent_given" in [
        e.action for e in provider.audit.search(account_id=user["id"])
    ]
    assert provider.messages.export(user["id"])["message_preferences"] == [
        {"sender": portal.client_id, "non_essential_messages": True}
    ]


def test_essential_notices_always_arrive(
    app: Any, cli: CliRunner, client: Any, user: dict[str, str], provider: Any
) -> None:
    browser = signed_in_browser(app, user)
    html = signed_in_page(browser, "/account/messages")
    browser.post(
        "/account/messages/senders",
        data={"csrf_token": csrf_token(html), "client_id": "", "decision": "off"},
    )
    from idp.identity.messages import Draft

    draft = Draft(user["id"], "服务协议更新", "协议已更新。")
    assert (
        provider.messages.send_from_authority(draft, essential=False, actor="x", via="test") is None
    )
    assert provider.messages.send_from_authority(draft, essential=True, actor="x", via="test")
    provider.messages.notify(user["id"], "password_changed")
    html = signed_in_page(browser, "/account/messages?lang=en")
    assert "服务协议更新" in html
    assert "Your password was changed" in html


def test_a_new_login_leaves_a_security_notice_but_silent_authorizations_do_not(
    app: Any, cli: CliRunner, client: Any, user: dict[str, str], provider: Any
) -> None:
    portal = make_portal(cli, client)
    attempt = portal.rp.login(user["username"], user["password"])
    assert attempt.result.get("code")
    # The same browser logs in to the portal again silently: no new login, no new notice.
    again = portal.rp.authorize(prompt="none")
    assert again.result.get("code")
    notices = [item for item in provider.messages.inbox(user["id"]) if item.kind == "new_login"]
    assert len(notices) == 1
    assert notices[0].params["portal"] == portal.client_id
    assert notices[0].essential
    from idp.models import Message

    row = provider.db.session.get(Message, notices[0].id)
    assert row.params_sealed and portal.client_id not in row.params_sealed
    browser = app.test_client()
    account_login(browser, user["username"], user["password"])
    html = signed_in_page(browser, "/account/messages?lang=en")
    assert html.count("New login to your account") == 2


def test_batches_are_all_or_nothing_and_ten_thousand_are_refused(
    make_app: Any, cli: CliRunner, user: dict[str, str], provider: Any
) -> None:
    app = make_app(PORTAL_MESSAGE_BATCH_MAX="5", PORTAL_MESSAGES_PER_HOUR="8")
    browser = app.test_client()
    portal = make_portal(cli, browser)
    sub, token = portal.sub_of(user), portal.access_token("messages:send")
    # 10,000 at once: refused whole, before anything is looked at.
    flood = {"messages": [message(sub, link=None) for _ in range(10_000)]}
    answer = call(browser, "POST", "/api/messages", token, flood)
    assert answer.status_code == 413
    assert answer.mimetype == "application/problem+json"
    assert stored(provider) == 0
    six = {"messages": [message(sub) for _ in range(6)]}
    answer = call(browser, "POST", "/api/messages", token, six)
    assert answer.status_code == 413
    assert answer.get_json()["code"] == "too_many_messages"
    # One bad message in a batch: nothing of it is stored.
    bad = {"messages": [message(sub), message(sub, title=""), message(sub)]}
    answer = call(browser, "POST", "/api/messages", token, bad)
    assert answer.status_code == 400
    assert answer.get_json()["errors"][0]["pointer"] == "/messages/1/title"
    assert stored(provider) == 0
    stranger = {"messages": [message(sub), message("nobody")]}
    answer = call(browser, "POST", "/api/messages", token, stranger)
    assert answer.status_code == 404
    assert answer.get_json()["errors"][0]["pointer"] == "/messages/1/sub"
    assert stored(provider) == 0
    five = {"messages": [message(sub) for _ in range(5)]}
    answer = call(browser, "POST", "/api/messages", token, five)
    assert answer.status_code == 201
    assert [m["status"] for m in answer.get_json()["messages"]] == ["delivered"] * 5
    # The hourly budget (8) has room for 3 more: a batch of 4 is refused whole.
    four = {"messages": [message(sub) for _ in range(4)]}
    answer = call(browser, "POST", "/api/messages", token, four)
    assert answer.status_code == 429
    assert int(answer.headers["Retry-After"]) >= 1
    assert stored(provider) == 5


def test_a_body_too_large_is_413(cli: CliRunner, client: Any, user: dict[str, str]) -> None:
    portal = make_portal(cli, client)
    sub, token = portal.sub_of(user), portal.access_token("messages:send")
    flood = {"messages": [message(sub) for _ in range(10_000)]}
    answer = call(client, "POST", "/api/messages", token, flood)
    assert answer.status_code == 413


def test_scope_and_subject_rules(cli: CliRunner, client: Any, user: dict[str, str]) -> None:
    portal = make_portal(cli, client, scopes=("matters:write",))
    sub, token = portal.sub_of(user), portal.access_token()
    answer = call(client, "POST", "/api/messages", token, message(sub))
    assert answer.status_code == 403
    assert 'scope="messages:send"' in answer.headers["WWW-Authenticate"]
    sender = make_portal(
        cli, client, name="Sender", redirect="https://send.example.gov.cn/callback"
    )
    token = sender.access_token("messages:send")
    # The person never logged in to this portal.
    answer = call(client, "POST", "/api/messages", token, message(user["sub"], link=None))
    assert answer.status_code == 404
    assert answer.get_json()["code"] == "unknown_subject"
    # Links lead back to the sending portal only.
    sender.sub_of(user)
    answer = call(client, "POST", "/api/messages", token, message(user["sub"]))
    assert answer.status_code == 400
    assert answer.get_json()["errors"][0]["field"] == "link"


def test_the_authority_sends_through_the_admin_api(
    cli: CliRunner, client: Any, user: dict[str, str], provider: Any
) -> None:
    token = admin_api_token(cli)
    headers = {"Authorization": f"Bearer {token}"}
    body = {"account": user["sub"], "title": "系统维护通知", "body": "本周六停机维护。"}
    answer = client.post("/admin/api/messages", json=body, headers=headers)
    assert answer.status_code == 201, answer.get_json()
    assert answer.get_json()["status"] == "delivered"
    assert "message_sent" in [e.action for e in provider.audit.search(account_id=user["id"])]
    missing = client.post(
        "/admin/api/messages", json={**body, "account": "nobody"}, headers=headers
    )
    assert missing.status_code == 404
    invalid = client.post("/admin/api/messages", json={**body, "title": ""}, headers=headers)
    assert invalid.status_code == 400
    assert invalid.get_json()["errors"][0]["field"] == "title"
    document = client.get("/admin/api/openapi.json").get_json()
    assert "/messages" in document["paths"]


def test_cancellation_erases_messages_and_choices(
    app: Any, cli: CliRunner, client: Any, user: dict[str, str], provider: Any
) -> None:
    portal = make_portal(cli, client)
    sub, token = portal.sub_of(user), portal.access_token("messages:send")
    call(client, "POST", "/api/messages", token, message(sub))
    provider.messages.choose(user["id"], "", allowed=False)
    exported = provider.messages.export(user["id"])
    assert any(m["title"] == "补充材料通知" for m in exported["messages"])
    provider.accounts.cancel(provider.people.find(user["id"]))
    from idp.models import Message, MessagePreference

    assert provider.db.session.query(Message).count() == 0
    assert provider.db.session.query(MessagePreference).count() == 0


def test_the_authority_sends_from_the_console(
    app: Any, cli: CliRunner, user: dict[str, str], provider: Any
) -> None:
    from tests.admin_console.helpers import console_login, page

    console = console_login(app.test_client(), cli)
    html = page(console, f"/admin/accounts/{user['id']}?lang=en")
    assert 'id="message-form"' in html
    action = f"/admin/accounts/{user['id']}/message"
    refused = console.post(action, data={"csrf_token": csrf_token(html), "title": "", "body": "x"})
    assert refused.status_code == 400
    sent = console.post(
        action,
        data={
            "csrf_token": csrf_token(html),
            "title": "账号安全提醒",
            "body": "请及时修改密码。\n谢谢。",
            "essential": "yes",
        },
    )
    assert sent.status_code == 303, sent.get_data(as_text=True)[-3000:]
    [item] = [i for i in provider.messages.inbox(user["id"]) if i.sender == "authority"]
    assert item.essential and item.title == "账号安全提醒"
    browser = signed_in_browser(app, user)
    inbox = signed_in_page(browser, "/account/messages?lang=zh_Hans_CN")
    assert "必要通知" in inbox and "账号安全提醒" in inbox
    assert "您已同意接收管理机构及您使用的门户推送的消息" in inbox
    assert "消息" in inbox and "我的办件" in inbox


def test_messages_are_sealed_and_resealed_with_a_new_key(
    cli: CliRunner, client: Any, user: dict[str, str], provider: Any
) -> None:
    portal = make_portal(cli, client)
    sub, token = portal.sub_of(user), portal.access_token()
    call(client, "POST", "/api/messages", token, message(sub))
    from idp.models import Message

    row = provider.db.session.query(Message).filter(Message.sender == "portal").one()
    assert "补充材料" not in (row.title_sealed or "")
    result = cli.ok("keys", "rotate-data")
    provider.db.session.expire_all()
    row = provider.db.session.query(Message).filter(Message.sender == "portal").one()
    assert row.title_sealed.split(".")[1] == result["current_key"]
    assert [i.title for i in provider.messages.inbox(user["id"]) if i.sender == "portal"] == [
        "补充材料通知"
    ]


def test_a_portal_revokes_its_own_token(cli: CliRunner, client: Any, user: dict[str, str]) -> None:
    portal = make_portal(cli, client)
    other = make_portal(
        cli, client, name="Other Portal", redirect="https://other.example.gov.cn/callback"
    )
    sub, token = portal.sub_of(user), portal.access_token()
    # Another portal cannot revoke it (RFC 7009 2.1: invalid_grant, as for any token).
    assert other.rp.revoke(token).get_json()["error"] == "invalid_grant"
    assert call(client, "POST", "/api/messages", token, message(sub)).status_code == 201
    assert portal.rp.revoke(token).status_code == 200
    assert call(client, "POST", "/api/messages", token, message(sub)).status_code == 401
