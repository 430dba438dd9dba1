"""Helpers for the authorization endpoint tests: raw requests and reading the portal's answer."""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from tests.support import AuthorizationAttempt, RelyingParty

ISSUER = "http://localhost"


def returned(response: Any, redirect_uri: str, part: str = "query") -> dict[str, str]:
    """The parameters a 303 carries back to ``redirect_uri`` (in its query or fragment)."""
    assert response.status_code == 303, (response.status_code, response.get_data(as_text=True))
    location = response.headers["Location"]
    assert location.startswith(redirect_uri), location
    parts = urlsplit(location)
    raw = parts.fragment if part == "fragment" else parts.query
    values = parse_qs(raw, keep_blank_values=True)
    assert all(len(v) == 1 for v in values.values()), values
    return {name: v[0] for name, v in values.items()}


def assert_error_redirect(
    attempt: AuthorizationAttempt, rp: RelyingParty, error: str, *, state: bool = True
) -> dict[str, str]:
    """An OAuth error redirected to the portal, with ``state`` (when sent) and ``iss``."""
    result = returned(attempt.response, rp.redirect_uri)
    assert result["error"] == error, result
    assert result["iss"] == ISSUER
    assert "code" not in result
    if state:
        assert result["state"] == attempt.params["state"]
    return result


def assert_error_page(response: Any) -> str:
    """An HTML error page (400) and no redirect: the redirect URI is not trusted."""
    assert response.status_code == 400, response.status_code
    assert "Location" not in response.headers
    assert response.mimetype == "text/html"
    return str(response.get_data(as_text=True))


def get_authorize(browser: Any, params: list[tuple[str, str]] | dict[str, str]) -> Any:
    return browser.get("/authorize?" + urlencode(params))


def interaction_page(browser: Any, response: Any) -> str:
    """Follow a 303 to an interaction page; return its HTML."""
    assert response.status_code == 303, response.status_code
    location = response.headers["Location"]
    assert location.startswith("/interaction/"), location
    page = browser.get(location)
    assert page.status_code == 200, page.status_code
    return str(page.get_data(as_text=True))


def is_login_page(page: str) -> bool:
    return 'name="password"' in page


def is_consent_page(page: str) -> bool:
    return 'name="decision" value="approve"' in page


def html_lang(page: str) -> str:
    match = re.search(r'<html lang="([^"]+)"', page)
    assert match, "no <html lang>"
    return match.group(1)


def input_value(page: str, name: str) -> str:
    match = re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', page)
    assert match, f"no input {name}"
    return html.unescape(match.group(1))


def tokens_for(rp: RelyingParty, attempt: AuthorizationAttempt) -> dict[str, Any]:
    response = rp.exchange(attempt)
    assert response.status_code == 200, response.get_json()
    return dict(response.get_json())
