"""Accepting the registration agreement as part of login, and the evidence kept of it.

Issue #3 items 2 and 3: an account that has not accepted the current material version of its
agreement is shown the text and must accept it (checkbox ``accept_agreement``, ``decision``
approve) before it returns to the portal; declining ends the login with ``access_denied``
(RFC 6749 section 4.1.2.1, with ``iss`` per RFC 9207). Every acceptance is stored with the
SHA-256 of the exact text shown, language, time, IP address, user agent and portal.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from tests.agreements.helpers import (
    BROWSER_ADDRESS,
    USER_AGENT,
    acceptances,
    hidden_value,
    page_kind,
    post_agreement,
    publish,
    sha256,
    shown_agreement_text,
    walk,
)
from tests.support import ISSUER


def _to_agreement_page(rp, user):  # type: ignore[no-untyped-def]
    attempt = rp.authorize(ui_locales="en")
    rp.follow(attempt)
    rp.submit_login(attempt, user["username"], user["password"])
    assert attempt.response.status_code == 303
    page = rp.follow(attempt)
    return attempt, page


def test_first_login_shows_the_agreement_before_consent(public_rp, user, seeded):
    """Item 2: login -> agreement -> consent -> code, the agreement form as specified."""
    attempt, page = _to_agreement_page(public_rp, user)

    assert page_kind(page) == "agreement"
    assert re.search(r'<input type="checkbox" name="accept_agreement" value="yes"', page)
    assert re.search(r'<button[^>]*name="decision" value="approve"', page)
    assert re.search(r'<button[^>]*name="decision" value="deny"', page)
    assert hidden_value(page, "version_id")
    assert hidden_value(page, "csrf_token")
    assert "自然人实名注册协议" in page
    assert 'name="sensitive_claims"' not in page and "/consent" not in page

    response = post_agreement(public_rp, page)
    assert response.status_code == 303
    attempt.response = response
    assert page_kind(public_rp.follow(attempt)) == "consent"
    public_rp.submit_consent(attempt)
    assert attempt.result["state"] == attempt.params["state"]
    assert public_rp.exchange(attempt).status_code == 200


def test_approving_without_the_checkbox_shows_the_page_again_and_records_nothing(
    public_rp, user, provider, seeded
):
    """Item 2: acceptance needs the explicit tick; without it the same text is shown again."""
    attempt, page = _to_agreement_page(public_rp, user)

    refused = post_agreement(public_rp, page, accept=False)

    assert refused.status_code == 400
    again = refused.get_data(as_text=True)
    assert 'id="agreement-error"' in again
    assert hidden_value(again, "version_id") == hidden_value(page, "version_id")
    assert 'name="accept_agreement"' in again
    assert acceptances(provider) == []

    accepted = post_agreement(public_rp, again)
    assert accepted.status_code == 303
    attempt.response = accepted
    assert page_kind(public_rp.follow(attempt)) == "consent"
    assert len(acceptances(provider)) == 1


def test_evidence_holds_the_hash_of_the_exact_text_shown(public_rp, user, provider, seeded, cli):
    """Item 3: account, kind, version, language, SHA-256 of the text on the page, IP address,
    user agent and the portal of the login; nothing else is recorded."""
    public_rp.browser.environ_base["REMOTE_ADDR"] = BROWSER_ADDRESS
    public_rp.browser.environ_base["HTTP_USER_AGENT"] = USER_AGENT
    before = datetime.now(UTC) - timedelta(seconds=1)

    result = walk(public_rp, user["username"], user["password"])

    assert result.kinds == ["login", "agreement", "consent"]
    assert "code" in result.attempt.result
    shown = shown_agreement_text(result.page("agreement"))
    (row,) = acceptances(provider)
    assert row["account_id"] == user["id"]
    assert (row["kind"], row["version"], row["language"]) == ("natural_person", 1, "zh-CN")
    assert row["action"] == "accepted"
    assert row["text_sha256"] == sha256(shown)
    assert shown.startswith("自然人实名注册协议\n") and "示例市政务服务管理机构" in shown
    assert row["ip_address"] == BROWSER_ADDRESS
    assert row["user_agent"] == USER_AGENT
    assert row["client_id"] == public_rp.client_id

    history = cli.ok("agreements", "acceptances", "--account", user["username"], "--json")
    assert len(history) == 1
    entry = history[0]
    assert (entry["kind"], entry["version"], entry["action"]) == ("natural_person", 1, "accepted")
    assert entry["sha256"] == sha256(shown)
    assert (entry["ip_address"], entry["user_agent"]) == (BROWSER_ADDRESS, USER_AGENT)
    assert entry["client_id"] == public_rp.client_id
    assert entry["language"] == "zh-CN"
    assert datetime.fromisoformat(entry["time"]) >= before
    listed = cli.ok("agreements", "list", "--json")
    assert [r["accounts"] for r in listed if r["kind"] == "natural_person"][0] == 1
    # The same history by subject identifier and by account id.
    assert cli.ok("agreements", "acceptances", "--account", user["sub"], "--json") == history
    assert cli.ok("agreements", "acceptances", "--account", user["id"], "--json") == history


def test_accepted_agreement_is_not_asked_again(public_rp, second_rp, user, provider, seeded):
    """Item 2: once the current version is accepted, later logins go straight on."""
    walk(public_rp, user["username"], user["password"])

    again = walk(second_rp, user["username"], user["password"], prompt="login")

    assert again.kinds == ["login", "consent"]
    assert "code" in again.attempt.result
    assert len(acceptances(provider)) == 1


def test_declining_ends_the_login_with_access_denied(public_rp, user, provider, seeded):
    """Item 3 / RFC 6749 4.1.2.1: decision=deny returns access_denied with state and iss
    (RFC 9207) to the portal; no code, no evidence row, and the next login asks again."""
    result = walk(public_rp, user["username"], user["password"], agreement="deny")

    assert result.kinds == ["login", "agreement"]
    response = result.attempt.response
    assert response.status_code == 303
    assert response.headers["Location"].startswith(public_rp.redirect_uri + "?")
    assert result.attempt.result["error"] == "access_denied"
    assert result.attempt.result["state"] == result.attempt.params["state"]
    assert result.attempt.result["iss"] == ISSUER
    assert "code" not in result.attempt.result
    assert acceptances(provider) == []

    retry = walk(public_rp, user["username"], user["password"])
    assert retry.kinds[0] == "agreement"


def test_text_with_markup_is_shown_verbatim_and_hashed_as_shown(
    public_rp, user, provider, cli, tmp_path
):
    """The text is shown as text (escaped, never interpreted as HTML), so what the browser
    displays is exactly the stored text and the evidence hash covers precisely that."""
    cli.ok("agreements", "add-kind", "--kind", "privacy_notice", "--title", "告知书")
    text = '告知书\n<script>alert("x")</script> & <b>粗体</b> \'引号\' "双引号"\n'
    publish(cli, tmp_path, "privacy_notice", text, "--material")

    result = walk(public_rp, user["username"], user["password"])

    page = result.page("agreement")
    assert '<script>alert("x")</script>' not in page and "<b>粗体</b>" not in page
    assert shown_agreement_text(page) == text
    (row,) = acceptances(provider)
    assert row["text_sha256"] == sha256(text)


def test_acceptances_of_an_unknown_account_is_refused(cli):
    code, out, err = cli.run("agreements", "acceptances", "--account", "nobody", "--json")

    assert (code, out) == (2, "")
    assert "no such account" in err
