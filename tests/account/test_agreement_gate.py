"""Agreements gate the user space too (issue #21 item 3; natural-person agreement clause 10: a
material new version is accepted before the service is used, wherever the person logs in; a
supplementary one is told).

After a login at ``/account/login`` with a pending material version, every user-space page
(company pages included) first shows the agreement, on the rules of the portal login's
agreement step; accepting records the evidence and returns to the page asked for; declining ends
the session. A supplementary version is shown once as a notice.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from tests.account.helpers import account_login, publish_agreement, signed_in_page
from tests.agreements.helpers import acceptances, hidden_value, portal, walk
from tests.support import csrf_token, form_action

TEXT = "隐私告知\n第一条 我们只为办理政务服务处理您的个人信息。\n"
SUPPLEMENT = TEXT + "第二条 补充规则：短信验证码五分钟内有效。\n"


def _gated(browser, path: str) -> str:  # type: ignore[no-untyped-def]
    """``path`` answers 303 to the agreement page, with ``next`` back to it."""
    response = browser.get(path)
    assert response.status_code == 303, (path, response.status_code)
    location = urlsplit(response.headers["Location"])
    assert location.path == "/account/agreement", path
    assert parse_qs(location.query)["next"] == [path]
    return response.headers["Location"]


def _answer(browser, page_path: str, *, decision: str = "approve", tick: bool = True):  # type: ignore[no-untyped-def]
    html = signed_in_page(browser, page_path)
    data = {
        "csrf_token": csrf_token(html),
        "version_id": hidden_value(html, "version_id"),
        "decision": decision,
    }
    if tick:
        data["accept_agreement"] = "yes"
    return browser.post(form_action(html, "/account/agreement"), data=data)


def test_a_pending_material_version_comes_before_every_account_page(
    client, cli, user, provider, tmp_path
):
    publish_agreement(cli, tmp_path, "privacy_notice", "个人信息处理告知", TEXT)

    login = account_login(client, user["username"], user["password"], "/account/consents")
    assert login.status_code == 303

    agreement = _gated(client, "/account/consents")
    for path in ("/account", "/account/disclosures", "/account/companies"):
        _gated(client, path)
    html = signed_in_page(client, agreement)
    assert "个人信息处理告知" in html and 'name="accept_agreement"' in html
    assert acceptances(provider) == []

    unticked = _answer(client, agreement, tick=False)
    assert unticked.status_code == 400
    assert 'id="agreement-error"' in unticked.get_data(as_text=True)
    assert acceptances(provider) == []

    accepted = _answer(client, agreement)
    assert accepted.status_code == 303
    assert accepted.headers["Location"] == "/account/consents"
    signed_in_page(client, "/account/consents")
    signed_in_page(client, "/account")
    (row,) = acceptances(provider)
    assert row["action"] == "accepted" and row["account_id"] == user["id"]
    assert row["client_id"] is None


def test_accepted_in_the_user_space_is_not_asked_again_at_a_portal(client, cli, user, tmp_path):
    publish_agreement(cli, tmp_path, "privacy_notice", "个人信息处理告知", TEXT)
    account_login(client, user["username"], user["password"])
    _answer(client, _gated(client, "/account"))

    rp = portal(cli, client, "Portal", 8791)
    assert walk(rp, user["username"], user["password"]).kinds == ["consent"]


def test_declining_logs_the_person_out(client, cli, user, provider, tmp_path):
    publish_agreement(cli, tmp_path, "privacy_notice", "个人信息处理告知", TEXT)
    account_login(client, user["username"], user["password"])
    agreement = _gated(client, "/account")

    declined = _answer(client, agreement, decision="deny", tick=False)

    assert declined.status_code == 303
    assert declined.headers["Location"] == "/account/logged-out?declined=1"
    page = client.get(declined.headers["Location"] + "&lang=en").get_data(as_text=True)
    assert "You declined the agreement" in page
    after = client.get("/account")
    assert after.status_code == 303
    assert urlsplit(after.headers["Location"]).path == "/account/login"
    assert acceptances(provider) == []


def test_a_stale_form_records_nothing_and_shows_what_is_pending(
    client, cli, user, provider, tmp_path
):
    publish_agreement(cli, tmp_path, "privacy_notice", "个人信息处理告知", TEXT)
    account_login(client, user["username"], user["password"])
    agreement = _gated(client, "/account")
    html = signed_in_page(client, agreement)

    forged = client.post(
        form_action(html, "/account/agreement"),
        data={
            "csrf_token": csrf_token(html),
            "version_id": "not-the-version",
            "accept_agreement": "yes",
            "decision": "approve",
        },
    )

    assert forged.status_code == 303
    assert urlsplit(forged.headers["Location"]).path == "/account/agreement"
    assert acceptances(provider) == []


def test_a_supplementary_version_is_told_once(client, cli, user, provider, tmp_path):
    publish_agreement(cli, tmp_path, "privacy_notice", "个人信息处理告知", TEXT)
    account_login(client, user["username"], user["password"])
    _answer(client, _gated(client, "/account"))
    supplement = tmp_path / "supplement.txt"
    supplement.write_text(SUPPLEMENT, encoding="utf-8")
    cli.ok("agreements", "publish", "--kind", "privacy_notice", "--file", str(supplement))

    notice = _gated(client, "/account")
    html = signed_in_page(client, notice + "&lang=en")
    assert "Supplementary rules have been published" in html
    assert 'name="accept_agreement"' not in html
    told = _answer(client, notice, tick=False)

    assert told.status_code == 303 and told.headers["Location"] == "/account"
    signed_in_page(client, "/account")
    assert [row["action"] for row in acceptances(provider)] == ["accepted", "notified"]


def test_without_pending_agreements_the_pages_open_at_once(client, user):
    account_login(client, user["username"], user["password"])

    signed_in_page(client, "/account")
    page = client.get("/account/agreement")
    assert page.status_code == 303 and page.headers["Location"] == "/account"
