"""Security events reach the person as essential provider messages (issue 12 items 2 and 5):
turning on two-step verification, and new recovery codes, each leave a notice in the inbox
(worded in the reader's language, never silenced by the per-portal choices)."""

from __future__ import annotations

from tests.account.helpers import account_login, create_user
from tests.support import csrf_token
from tests.user_space.factor_helpers import enrol_totp


def inbox(browser) -> str:  # type: ignore[no-untyped-def]
    return browser.get("/account/messages?lang=en").get_data(as_text=True)


def test_second_factor_changes_are_announced(cli, app) -> None:
    user = create_user(cli, "notice", "孙七")
    browser = app.test_client()
    assert account_login(browser, user["username"], user["password"]).status_code == 303
    enrol_totp(browser)
    html = inbox(browser)
    assert "Two-step verification was turned on" in html

    page = browser.get("/account/security/recovery-codes?lang=en").get_data(as_text=True)
    browser.post("/account/security/recovery-codes", data={"csrf_token": csrf_token(page)})
    assert "New recovery codes" in inbox(browser)
    chinese = browser.get("/account/messages?lang=zh_Hans_CN").get_data(as_text=True)
    assert "已开启两步验证" in chinese


def test_a_suspension_is_told_once_the_account_is_back(cli, app) -> None:
    user = create_user(cli, "suspended", "周八")
    cli.ok("users", "suspend", user["username"], "--reason", "identity check")
    cli.ok("users", "reinstate", user["username"], "--reason", "checked at the counter")
    browser = app.test_client()
    assert account_login(browser, user["username"], user["password"]).status_code == 303
    assert "Your account was suspended" in inbox(browser)
