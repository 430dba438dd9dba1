"""Helpers for the public agreement pages: read what a browser shows, walk a login."""

from __future__ import annotations

import hashlib
import html as html_module
import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from tests.support import AuthorizationAttempt, RelyingParty, csrf_token, form_action

ISSUER = "http://localhost"


@dataclass
class ShownText:
    kind: str
    version: int
    language: str
    text: str  # exactly as the browser displays it (HTML unescaped, white-space kept)
    section: str  # the whole <section> of the page that holds it

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


def shown_texts(page: str) -> dict[str, ShownText]:
    """Every agreement text on a /terms or /policy page, by kind."""
    found = {}
    for section in re.findall(r"<section[^>]*>.*?</section>", page, re.DOTALL):
        match = re.search(
            r'<div class="agreement-text[^"]*" lang="([^"]+)" data-kind="([^"]+)" '
            r'data-version="(\d+)">(.*?)</div>',
            section,
            re.DOTALL,
        )
        assert match, "a section without an agreement text"
        language, kind, version, text = match.groups()
        found[kind] = ShownText(kind, int(version), language, html_module.unescape(text), section)
    return found


def listed(rows: list[dict], kind: str, language: str = "zh-CN", version: int | None = None):  # type: ignore[no-untyped-def]
    """The row of ``idp agreements list --json`` for a kind, language and (latest) version."""
    matching = [r for r in rows if r["kind"] == kind and r["language"] == language]
    if version is not None:
        matching = [r for r in matching if r["version"] == version]
    assert matching, f"no listed version of {kind} in {language}"
    return max(matching, key=lambda r: r["version"])


def login_through_agreement(
    rp: RelyingParty, username: str, password: str, **overrides: str
) -> tuple[AuthorizationAttempt, list[str]]:
    """Authorize, log in, accept every agreement shown, approve consent; return the attempt and
    the agreement pages seen on the way."""
    attempt = rp.authorize(**overrides)
    agreement_pages = []
    for _ in range(8):
        location = attempt.response.headers.get("Location", "")
        if location.startswith(rp.redirect_uri):
            parts = urlsplit(location)
            attempt.result = {k: v[0] for k, v in parse_qs(parts.query).items()}
            return attempt, agreement_pages
        assert attempt.response.status_code == 303 and location.startswith("/interaction/")
        page = rp.follow(attempt)
        if 'name="password"' in page:
            rp.submit_login(attempt, username, password)
        elif 'name="version_id"' in page:
            agreement_pages.append(page)
            version_id = re.search(r'name="version_id" value="([^"]+)"', page)
            assert version_id
            attempt.response = rp.browser.post(
                form_action(page, "/agreement"),
                data={
                    "csrf_token": csrf_token(page),
                    "version_id": version_id.group(1),
                    "accept_agreement": "yes",
                    "decision": "approve",
                },
            )
        else:
            rp.submit_consent(attempt)
    raise AssertionError("the login did not return to the portal")


def agreement_page_text(page: str) -> str:
    """The agreement text shown on the login's agreement step."""
    match = re.search(r'<div class="agreement-text"[^>]*>(.*?)</div>', page, re.DOTALL)
    assert match, "no agreement text on the page"
    return html_module.unescape(match.group(1))
