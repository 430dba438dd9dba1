"""The page contract (docs/page-contract.md): form field names, and pages without JavaScript."""

from __future__ import annotations

import re

from tests.login.helpers import open_login_page


def _inputs(html: str) -> dict[str, str]:
    """name -> type of every <input> in the page."""
    found = {}
    for tag in re.findall(r"<input\b[^>]*>", html):
        name = re.search(r'name="([^"]+)"', tag)
        kind = re.search(r'type="([^"]+)"', tag)
        if name:
            found[name.group(1)] = kind.group(1) if kind else "text"
    return found


def _forms(html: str) -> list[str]:
    return re.findall(r"<form\b.*?</form>", html, flags=re.S)


def test_login_form_has_username_password_and_hidden_csrf_token(public_rp):
    """Page contract, login.html: POST with username, password (type=password), csrf_token."""
    html = open_login_page(public_rp).response.get_data(as_text=True)

    login_form = next(form for form in _forms(html) if 'name="password"' in form)
    assert re.search(r'<form[^>]*method="post"', login_form)
    assert _inputs(login_form) == {
        "csrf_token": "hidden",
        "username": "text",
        "password": "password",
    }


def test_consent_form_submits_decision_approve_or_deny(public_rp, user):
    """Page contract, consent.html: csrf_token and decision=approve|deny buttons."""
    attempt = open_login_page(public_rp)
    public_rp.submit_login(attempt, user["username"], user["password"])
    html = public_rp.follow(attempt)

    (form,) = _forms(html)
    assert re.search(r'<form[^>]*method="post"', form)
    assert _inputs(form) == {"csrf_token": "hidden"}
    buttons = re.findall(r'<button[^>]*name="decision"[^>]*value="([^"]+)"', form)
    assert sorted(buttons) == ["approve", "deny"]


def test_pages_work_without_javascript(client, public_rp, user):
    """Page contract: no <script> on the login, consent, error and not-found pages."""
    attempt = open_login_page(public_rp)
    pages = {"login": attempt.response.get_data(as_text=True)}
    public_rp.submit_login(attempt, user["username"], user["password"])
    pages["consent"] = public_rp.follow(attempt)
    pages["error"] = client.get("/authorize?client_id=unknown").get_data(as_text=True)
    pages["not found"] = client.get("/no-such-page").get_data(as_text=True)

    for name, html in pages.items():
        assert "<html" in html, name
        assert "<script" not in html.lower(), name
        assert not re.search(r"\son[a-z]+=", html), name  # no inline event handlers
