"""The person's own acceptance history (issue #3 item 3: "the user sees their own acceptance
history"; natural-person agreement clause 10: later versions bind through acceptance).
"""

from __future__ import annotations

import re

from tests.account.helpers import (
    account_login,
    login_accepting_agreement,
    publish_agreement,
    signed_in_page,
)

TEXT = "隐私告知\n第一条 我们只为办理政务服务处理您的个人信息。\n"


def test_acceptance_made_at_a_portal_login_is_listed(client, cli, public_rp, user, tmp_path):
    """An agreement accepted during a portal login appears with its title, version, action,
    portal and the SHA-256 prefix of the exact text shown, and links to the current text."""
    published = publish_agreement(cli, tmp_path, "privacy_notice", "个人信息处理告知", TEXT)
    login_accepting_agreement(public_rp, user["username"], user["password"])

    html = signed_in_page(client, "/account/agreements?lang=en")

    rows = re.findall(r'<tr data-kind="([^"]+)" data-version="(\d+)">(.*?)</tr>', html, re.S)
    assert [(kind, version) for kind, version, _ in rows] == [("privacy_notice", "1")]
    cells = rows[0][2]
    assert "个人信息处理告知" in cells
    assert "Accepted" in cells
    assert "Public Portal" in cells
    assert f'title="{published["sha256"]}">{published["sha256"][:16]}' in cells
    assert 'href="/terms"' in html


def test_no_acceptance_yet(client, user):
    """Before any acceptance the page says so (and still links to the current agreements)."""
    account_login(client, user["username"], user["password"])

    html = signed_in_page(client, "/account/agreements?lang=en")

    assert "data-kind=" not in html
    assert "No acceptance is recorded yet." in html
    assert 'href="/terms"' in html
