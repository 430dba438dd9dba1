"""Helpers for the agreement, consent and disclosure tests.

``walk`` drives a whole front-channel login like a browser and records every interaction page it
went through (login, agreement, consent), answering each the way the test asks. The page parsers
read what the person was actually shown: the agreement text, the list of changes, the claims on
the consent page.
"""

from __future__ import annotations

import hashlib
import html as html_module
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import text
from werkzeug.datastructures import MultiDict

from tests.support import AuthorizationAttempt, CliRunner, RelyingParty, csrf_token, form_action

USER_AGENT = "AgreementTestBrowser/1.0 (evidence check)"
BROWSER_ADDRESS = "203.0.113.7"


def portal(cli: CliRunner, browser: Any, name: str, port: int, *extra: str) -> RelyingParty:
    """Register a public portal with the real CLI and drive it from ``browser``."""
    redirect_uri = f"http://127.0.0.1:{port}/callback"
    data = cli.ok(
        "clients",
        "create",
        "--name",
        name,
        "--public",
        "--redirect-uri",
        redirect_uri,
        *extra,
        "--json",
    )
    return RelyingParty(browser, data["client_id"], None, redirect_uri)


# -- pages ------------------------------------------------------------------------------------


def page_kind(page: str) -> str:
    if 'name="password"' in page:
        return "login"
    if 'name="version_id"' in page:
        return "agreement"
    if 'action="/interaction/' in page and "/consent" in page:
        return "consent"
    raise AssertionError("unexpected interaction page")


def shown_agreement_text(page: str) -> str:
    """The agreement text exactly as the person's browser displays it (HTML unescaped)."""
    match = re.search(r'<div class="agreement-text"[^>]*>(.*?)</div>', page, re.DOTALL)
    assert match, "no agreement text on the page"
    return html_module.unescape(match.group(1))


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def shown_changes(page: str) -> list[tuple[str, str]]:
    """(class, line) of each entry in the page's "what changed" list."""
    match = re.search(r'<section class="changes"[^>]*>(.*?)</section>', page, re.DOTALL)
    if not match:
        return []
    entries = re.findall(r'<li class="(added|removed)">(.*?)</li>', match.group(1), re.DOTALL)
    return [
        (kind, html_module.unescape(re.sub(r"<span[^>]*>.*?</span>", "", body)).strip())
        for kind, body in entries
    ]


def hidden_value(page: str, name: str) -> str:
    match = re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', page)
    assert match, f"no {name} field on the page"
    return match.group(1)


def consent_claims(page: str) -> tuple[list[str], list[str]]:
    """(ordinary claims listed, sensitive claims with their own checkbox) on a consent page."""
    listed = re.findall(r'<li data-claim="([^"]+)">', page)
    boxes = re.findall(r'<input type="checkbox" name="sensitive_claims" value="([^"]+)"', page)
    return [c for c in listed if c not in boxes], boxes


# -- walking a login ---------------------------------------------------------------------------


@dataclass
class Walk:
    attempt: AuthorizationAttempt
    pages: list[tuple[str, str]] = field(default_factory=list)  # (kind, html)

    @property
    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.pages]

    def page(self, kind: str, index: int = 0) -> str:
        return [html for k, html in self.pages if k == kind][index]


def post_agreement(
    rp: RelyingParty,
    page: str,
    *,
    decision: str = "approve",
    accept: bool = True,
    **replace: str | None,
) -> Any:
    """Post the agreement form shown on ``page``; ``replace`` overrides or (None) drops fields."""
    data: dict[str, str | None] = {
        "csrf_token": csrf_token(page),
        "version_id": hidden_value(page, "version_id"),
        "decision": decision,
    }
    if accept:
        data["accept_agreement"] = "yes"
    data.update(replace)
    return rp.browser.post(
        form_action(page, "/agreement"), data={k: v for k, v in data.items() if v is not None}
    )


def post_consent(
    rp: RelyingParty, page: str, *, decision: str = "approve", tick: tuple[str, ...] = ()
) -> Any:
    data = MultiDict([("csrf_token", csrf_token(page)), ("decision", decision)])
    for claim in tick:
        data.add("sensitive_claims", claim)
    return rp.browser.post(form_action(page, "/consent"), data=data)


def walk(
    rp: RelyingParty,
    username: str,
    password: str,
    *,
    agreement: str = "approve",
    consent: str = "approve",
    tick: tuple[str, ...] = (),
    **overrides: Any,
) -> Walk:
    """Authorize and answer every interaction page until the provider returns to the portal."""
    attempt = rp.authorize(**overrides)
    result = Walk(attempt)
    for _ in range(8):
        if attempt.result:
            return result
        location = attempt.response.headers.get("Location", "")
        if attempt.response.status_code != 303 or not location.startswith("/interaction/"):
            return result
        page = rp.follow(attempt)
        kind = page_kind(page)
        result.pages.append((kind, page))
        if kind == "login":
            rp.submit_login(attempt, username, password)
            continue
        if kind == "agreement":
            attempt.response = post_agreement(rp, page, decision=agreement)
        else:
            attempt.response = post_consent(rp, page, decision=consent, tick=tick)
        rp._capture(attempt)
    raise AssertionError(f"the login did not end: {result.kinds}")


def submit_concurrently(
    app: Any, rp: RelyingParty, post: Callable[[RelyingParty], Any], copies: int = 4
) -> list[int]:
    """Send the same form from ``copies`` clones of ``rp``'s browser (same cookies) at once,
    like a double click or a replay racing the original; returns the status codes."""
    cookies = {
        name: rp.browser.get_cookie(name) for name in ("idp_browser", "idp_session", "idp_csrf")
    }
    assert all(cookies.values()), cookies
    start = threading.Barrier(copies)
    statuses: list[int] = []

    def submit() -> None:
        browser = app.test_client()
        for name, cookie in cookies.items():
            browser.set_cookie(name, cookie.value, domain=cookie.domain, path=cookie.path)
        clone = RelyingParty(browser, rp.client_id, rp.client_secret, rp.redirect_uri)
        start.wait()
        statuses.append(post(clone).status_code)

    threads = [threading.Thread(target=submit) for _ in range(copies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(statuses)


# -- storage and files -----------------------------------------------------------------------


def rows(provider: Any, sql: str, **params: Any) -> list[dict[str, Any]]:
    with provider.db.engine.connect() as connection:
        return [dict(r) for r in connection.execute(text(sql), params).mappings()]


def scalar(provider: Any, sql: str, **params: Any) -> Any:
    with provider.db.engine.connect() as connection:
        return connection.execute(text(sql), params).scalar()


def execute(provider: Any, sql: str, **params: Any) -> int:
    with provider.db.engine.begin() as connection:
        return int(connection.execute(text(sql), params).rowcount)


def acceptances(provider: Any) -> list[dict[str, Any]]:
    return rows(provider, "SELECT * FROM agreement_acceptances ORDER BY accepted_at")


def write_text(folder: Path, name: str, content: str | bytes) -> str:
    path = folder / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return str(path)


def publish(cli: CliRunner, folder: Path, kind: str, content: str, *options: str) -> dict[str, Any]:
    """``idp agreements publish`` with ``content`` in a UTF-8 file; returns its JSON answer."""
    path = write_text(folder, f"{kind}-{sha256(content)[:8]}.txt", content)
    result: dict[str, Any] = cli.ok(
        "agreements", "publish", "--kind", kind, "--file", path, *options
    )
    return result


def current_text(provider: Any, kind: str) -> str:
    text_value: str = scalar(
        provider,
        "SELECT text FROM agreement_versions WHERE kind = :kind ORDER BY version DESC LIMIT 1",
        kind=kind,
    )
    return text_value
