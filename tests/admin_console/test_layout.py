"""The console's pages fit (issue 19, item 4): a wide layout for its data tables, tables that
scroll or stack on small screens, long values that wrap inside their card, one title."""

from __future__ import annotations

import re
from typing import Any

from tests.admin_console.helpers import console_login, create_admin, page, password_step


def _title(html: str) -> str:
    match = re.search(r"<title>(.*?)</title>", html, re.S)
    assert match is not None
    return match.group(1).strip()


def test_the_home_title_is_not_doubled(client: Any, cli: Any) -> None:
    console = console_login(client, cli)
    chinese = _title(page(console, "/admin?lang=zh_Hans_CN"))
    assert chinese.count("管理控制台") == 1, chinese
    english = _title(page(console, "/admin?lang=en"))
    assert english.count("Administration console") == 1, english


def test_the_console_has_a_wide_layout_and_tables_that_fit(client: Any, cli: Any) -> None:
    console = console_login(client, cli)
    home = page(console, "/admin?lang=en")
    assert '<main class="wide console"' in home
    assert "main.console { max-width: 76rem; }" in home
    for rule in (".wide-table {", ".stack-table thead", ".details {", ".break-anywhere {"):
        assert rule in home, rule
    audit = page(console, "/admin/audit?lang=en")
    if 'id="results"' in audit:
        assert 'class="data-table wide-table" id="results"' in audit
        assert 'class="meta details"' in audit
    cli.ok(
        "clients", "create", "--name", "Layout Portal", "--redirect-uri", "https://rp.example/cb"
    )
    portals = page(console, "/admin/portals?lang=en")
    assert 'class="data-table wide-table" id="portals"' in portals


def test_the_totp_setup_address_wraps_inside_its_card(client: Any, cli: Any) -> None:
    created = create_admin(cli)
    password_step(client, created["username"], created["password"])
    html = page(client, "/admin/enrol?lang=en")
    assert '<code class="break-anywhere" id="otpauth-uri">otpauth://' in html
    assert 'class="data-table stack-table"' in html
