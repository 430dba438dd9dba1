"""Helpers for the user-space tests: log in at ``/account/login``, read and post account pages."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from tests.support import (
    AuthorizationAttempt,
    CliRunner,
    RelyingParty,
    csrf_token,
    form_action,
    form_fields,
)


def account_login(browser: Any, username: str, password: str, next_path: str | None = None) -> Any:
    """GET the user-space login page (optionally with ``next``) and post it with its CSRF token;
    returns the POST response."""
    query = "?" + urlencode({"next": next_path, "lang": "en"}) if next_path else "?lang=en"
    page = browser.get("/account/login" + query)
    assert page.status_code == 200, page.status_code
    html = page.get_data(as_text=True)
    return browser.post(
        form_action(html, "/account/login"),
        data={"csrf_token": csrf_token(html), "username": username, "password": password},
    )


def signed_in_page(browser: Any, path: str) -> str:
    """The HTML of an account page that must be shown (not a redirect to the login)."""
    response = browser.get(path)
    assert response.status_code == 200, (response.status_code, response.headers.get("Location"))
    return response.get_data(as_text=True)


def withdraw(browser: Any, client_id: str, *, with_csrf: bool = True) -> Any:
    """Post the withdraw form of the consents page for ``client_id``."""
    html = signed_in_page(browser, "/account/consents")
    data = {"client_id": client_id}
    if with_csrf:
        data["csrf_token"] = csrf_token(html)
    return browser.post("/account/consents/withdraw", data=data)


def logout(browser: Any, *, with_csrf: bool = True) -> Any:
    html = signed_in_page(browser, "/account")
    data = {"csrf_token": csrf_token(html)} if with_csrf else {}
    return browser.post(form_action(html, "/account/logout"), data=data)


def consent_rows(html: str) -> list[str]:
    """The client ids of the portals listed on the consents page."""
    return re.findall(r'<section class="section" data-client="([^"]+)"', html)


def create_user(cli: CliRunner, username: str, name: str) -> dict[str, str]:
    password = f"{username} long password"
    result = cli.ok(
        "users", "create", "--username", username, "--password", password, "--name", name
    )
    return {"username": username, "password": password, "name": name, **result}


def publish_agreement(cli: CliRunner, directory: Path, kind: str, title: str, text: str) -> Any:
    """An operator adds an agreement kind for every account and publishes a material version."""
    cli.ok("agreements", "add-kind", "--kind", kind, "--title", title, "--applies-to", "all")
    path = directory / f"{kind}.txt"
    path.write_text(text, encoding="utf-8")
    return cli.ok("agreements", "publish", "--kind", kind, "--file", str(path), "--material")


def login_accepting_agreement(
    rp: RelyingParty, username: str, password: str
) -> AuthorizationAttempt:
    """Portal login that walks login -> agreement (ticked, approved) -> consent -> code."""
    attempt = rp.authorize()
    html = rp.follow(attempt)
    assert 'name="password"' in html
    rp.submit_login(attempt, username, password)
    html = rp.follow(attempt)
    assert 'name="accept_agreement"' in html, "no agreement page"
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
    html = rp.follow(attempt)
    assert 'action="/interaction/' in html and "/consent" in html, "no consent page"
    rp.submit_consent(attempt)
    assert "code" in attempt.result, attempt.result
    return attempt
