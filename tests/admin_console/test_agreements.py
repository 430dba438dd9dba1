"""Agreements in the console: versions with acceptance counts; publishing through a preview.

Issue 7, item 5; docs/agreements.md; clause 10 of both registration agreements (a material
version is accepted again, a supplementary one is shown once).
"""

from __future__ import annotations

import hashlib
import html as html_module
import re

from tests.account.helpers import login_accepting_agreement, publish_agreement
from tests.admin_console.helpers import alert, console_admin, page
from tests.logout.helpers import audit_events, on_browser, rows
from tests.support import csrf_token, form_action, form_fields

V1 = "隐私告知\n第一条 我们只为办理政务服务处理您的个人信息。\n第二条 旧的保存期限为五年。\n"
V2 = "隐私告知\n第一条 我们只为办理政务服务处理您的个人信息。\n第二条 新的保存期限为三年。\n"


def _form(html: str, form_id: str) -> dict[str, str]:
    """The hidden fields of the form with ``id=form_id``."""
    match = re.search(rf'<form[^>]*id="{form_id}".*?</form>', html, re.S)
    assert match, f"no form {form_id}"
    return {
        name: html_module.unescape(value)
        for name, value in re.findall(
            r'<input type="hidden" name="([^"]+)" value="([^"]*)"', match.group(0)
        )
    }


def _post(browser, path: str, page_html: str, **fields: str):  # type: ignore[no-untyped-def]
    return browser.post(
        path,
        data={"csrf_token": csrf_token(page_html), **fields},
        content_type="multipart/form-data",
    )


def _preview(browser, kind: str, **fields: str):  # type: ignore[no-untyped-def]
    html = page(browser, f"/admin/agreements/{kind}/publish?lang=en")
    return _post(browser, f"/admin/agreements/{kind}/preview?lang=en", html, **fields)


def _accept_again(rp, user) -> None:  # type: ignore[no-untyped-def]
    """A new portal login in another browser: log in, accept the agreement, get the code."""
    attempt = rp.authorize()
    rp.follow(attempt)
    rp.submit_login(attempt, user["username"], user["password"])
    html = rp.follow(attempt)
    fields = form_fields(html)
    attempt.response = rp.browser.post(
        form_action(html, "/agreement"),
        data={
            "csrf_token": fields["csrf_token"],
            "version_id": fields["version_id"],
            "accept_agreement": "yes",
            "decision": "approve",
        },
    )
    rp._capture(attempt)
    assert "code" in attempt.result, attempt.response.headers.get("Location")


def test_publish_a_version_through_a_preview(client, cli, app, provider, public_rp, user, tmp_path):
    publish_agreement(cli, tmp_path, "privacy", "个人信息处理告知", V1)
    login_accepting_agreement(public_rp, user["username"], user["password"])
    admin = console_admin(app.test_client(), cli)

    listing = page(admin.client, "/admin/agreements?lang=en")
    form = page(admin.client, "/admin/agreements/privacy/publish?lang=en")
    preview = _preview(
        admin.client, "privacy", text=V2, nature="supplementary", reason="retention shortened"
    )
    preview_html = preview.get_data(as_text=True)
    versions_after_preview = rows(provider, "SELECT version FROM agreement_versions")

    assert re.search(
        r'<tr data-kind="privacy" data-version="1" data-language="zh-CN">.*?data-accepted="1"',
        listing,
        re.S,
    )
    assert "第二条 旧的保存期限为五年。" in form  # the current text, to edit
    assert preview.status_code == 200
    sha = hashlib.sha256(V2.encode()).hexdigest()
    assert f'id="preview" data-version="2" data-sha256="{sha}"' in preview_html
    assert '<li class="added" data-change="+">第二条 新的保存期限为三年。</li>' in preview_html
    assert '<li class="removed" data-change="-">第二条 旧的保存期限为五年。</li>' in preview_html
    assert versions_after_preview == [{"version": 1}]  # a preview stores nothing

    confirmed = _post(
        admin.client,
        "/admin/agreements/privacy/publish",
        preview_html,
        **_form(preview_html, "confirm-form"),
    )
    listing = page(admin.client, "/admin/agreements?lang=en")

    assert confirmed.status_code == 303
    assert confirmed.headers["Location"] == "/admin/agreements"
    assert alert(listing) == "Version 2 of 个人信息处理告知 is published."
    assert re.search(
        r'<tr data-kind="privacy" data-version="2" data-language="zh-CN">.*?data-accepted="0"',
        listing,
        re.S,
    )
    (stored,) = rows(provider, "SELECT * FROM agreement_versions WHERE version = 2")
    assert stored["text"] == V2 and stored["text_sha256"] == sha
    assert not stored["material"]
    assert stored["published_by"] == admin.account_id
    (event,) = [e for e in audit_events(provider, "agreement_published") if e["actor"] != "cli"]
    assert event["actor"] == admin.account_id
    assert event["details"]["reason"] == "retention shortened"
    assert event["details"]["sha256"] == sha and event["details"]["version"] == 2
    # The person is told about the supplementary version at the next portal login.
    assert public_rp.authorize().response.headers["Location"].startswith("/interaction/")


def test_material_version_counts_fresh_acceptances(
    client, cli, app, provider, public_rp, user, tmp_path
):
    publish_agreement(cli, tmp_path, "privacy", "个人信息处理告知", V1)
    login_accepting_agreement(public_rp, user["username"], user["password"])
    admin = console_admin(app.test_client(), cli)
    preview_html = _preview(
        admin.client, "privacy", text=V2, nature="material", reason="new retention"
    ).get_data(as_text=True)
    _post(
        admin.client,
        "/admin/agreements/privacy/publish",
        preview_html,
        **_form(preview_html, "confirm-form"),
    )

    _accept_again(on_browser(public_rp, app.test_client()), user)
    listing = page(admin.client, "/admin/agreements")

    for version in ("1", "2"):
        assert re.search(
            rf'data-kind="privacy" data-version="{version}" [^>]*>.*?data-accepted="1"',
            listing,
            re.S,
        ), version


def test_the_form_refuses_what_publish_would_refuse(client, cli, provider, tmp_path):
    publish_agreement(cli, tmp_path, "privacy", "个人信息处理告知", V1)
    console_admin(client, cli)

    empty = _preview(client, "privacy", text="  \n", nature="material", reason="r")
    no_nature = _preview(client, "privacy", text=V2, reason="r")
    no_reason = _preview(client, "privacy", text=V2, nature="material")
    bad_time = _preview(
        client, "privacy", text=V2, nature="material", reason="r", effective_at="soon"
    )
    control = _preview(client, "privacy", text="第一条\x07", nature="material", reason="r")
    unknown = client.get("/admin/agreements/nope/publish")

    for response, field in (
        (empty, "text"),
        (no_nature, "nature"),
        (no_reason, "reason"),
        (bad_time, "effective_at"),
        (control, "text"),
    ):
        assert response.status_code == 400, field
        assert f'data-error-for="{field}"' in response.get_data(as_text=True), field
    assert unknown.status_code == 303 and unknown.headers["Location"] == "/admin/agreements"
    assert rows(provider, "SELECT version FROM agreement_versions") == [{"version": 1}]


def test_a_preview_overtaken_by_another_version_is_not_published(client, cli, provider, tmp_path):
    publish_agreement(cli, tmp_path, "privacy", "个人信息处理告知", V1)
    console_admin(client, cli)
    preview_html = _preview(
        client, "privacy", text=V2, nature="material", reason="new retention"
    ).get_data(as_text=True)
    (tmp_path / "other.txt").write_text("另一位管理员的版本\n", encoding="utf-8")
    cli.ok("agreements", "publish", "--kind", "privacy", "--file", str(tmp_path / "other.txt"))

    stale = _post(
        client,
        "/admin/agreements/privacy/publish?lang=en",
        preview_html,
        **_form(preview_html, "confirm-form"),
    )
    tampered_fields = {**_form(preview_html, "confirm-form"), "text": "改过的文字"}
    tampered = _post(client, "/admin/agreements/privacy/publish", preview_html, **tampered_fields)

    assert stale.status_code == 409
    assert "changed since the preview" in stale.get_data(as_text=True)
    assert 'id="preview" data-version="3"' in stale.get_data(as_text=True)  # a fresh preview
    assert tampered.status_code == 409
    assert rows(provider, "SELECT version, text FROM agreement_versions ORDER BY version") == [
        {"version": 1, "text": V1},
        {"version": 2, "text": "另一位管理员的版本\n"},
    ]
    assert {e["actor"] for e in audit_events(provider, "agreement_published")} == {"cli"}
