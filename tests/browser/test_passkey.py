"""A passkey in a real browser: headless Chromium (Playwright) with a virtual authenticator
(Chrome DevTools Protocol ``WebAuthn.addVirtualAuthenticator``), the provider a real server
process reached as ``http://localhost:<port>`` (an IP address cannot be a WebAuthn RP ID).

The person logs in to the user space, registers a passkey on ``/account/security/passkeys``
(the page's one script runs the ceremony), then logs in to a portal: password, then the
passkey; the ID token's ``amr`` carries ``hwk`` (RFC 8176) and ``mfa``.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterator
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import KeySet
from playwright.sync_api import Browser, Page, expect

from tests.browser.walk import chromium
from tests.e2e.server import ProviderServer

PASSWORD = "passkey correct horse battery"


@pytest.fixture(scope="module")
def server() -> Iterator[ProviderServer]:
    server = ProviderServer(workers=1, threads=4)
    server.issuer = f"http://localhost:{server.port}"
    server.settings["IDP_ISSUER"] = server.issuer
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


def _accept_agreement_if_asked(page: Page) -> None:
    if page.locator("input[name=version_id]").count():
        accept = page.locator("input[name=accept_agreement]")
        if accept.count():
            accept.check()
        with page.expect_navigation():
            page.click("button[name=decision][value=approve]")


def test_register_a_passkey_and_log_in_with_it(server: ProviderServer, browser: Browser) -> None:
    server.idp(
        "users", "create", "--username", "passkey-user", "--password", PASSWORD, "--name", "王五"
    )
    # The portal's callback is a path of the provider's own host: the browser lands there
    # (a 404 page) with the code in its address.
    redirect_uri = f"{server.issuer}/portal-callback"
    portal = server.idp_json(
        "clients", "create", "--name", "门户", "--redirect-uri", redirect_uri, "--json"
    )
    context = browser.new_context(locale="zh-CN")
    context.set_default_timeout(15_000)
    errors: list[str] = []
    try:
        page = context.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        cdp = context.new_cdp_session(page)
        cdp.send("WebAuthn.enable")
        added = cdp.send(
            "WebAuthn.addVirtualAuthenticator",
            {
                "options": {
                    "protocol": "ctap2",
                    "transport": "internal",
                    "hasResidentKey": True,
                    "hasUserVerification": True,
                    "isUserVerified": True,
                    "automaticPresenceSimulation": True,
                }
            },
        )

        # 1. The user space: log in, register a passkey.
        page.goto(f"{server.issuer}/account/login?next=/account/security/passkeys")
        page.fill("input[name=username]", "passkey-user")
        page.fill("input[name=password]", PASSWORD)
        with page.expect_navigation():
            page.click("form:has(input[name=password]) button[type=submit]")
        _accept_agreement_if_asked(page)
        if not page.url.endswith("/account/security/passkeys"):
            page.goto(f"{server.issuer}/account/security/passkeys")
        expect(page.locator("#passkey-form")).to_be_visible()
        expect(page.locator("#passkey-unsupported")).to_be_hidden()
        page.fill("#name", "虚拟验证器")
        with page.expect_navigation():
            page.click("#create-passkey")
        expect(page.locator("#recovery-codes li")).to_have_count(10)
        credentials = cdp.send(
            "WebAuthn.getCredentials", {"authenticatorId": added["authenticatorId"]}
        )
        assert len(credentials["credentials"]) == 1

        # 2. A new login at a portal: password, then the passkey.
        context.clear_cookies()
        verifier = secrets.token_urlsafe(48)
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        nonce = secrets.token_urlsafe(12)
        params = {
            "response_type": "code",
            "client_id": portal["client_id"],
            "redirect_uri": redirect_uri,
            "scope": "openid profile",
            "state": "s1",
            "nonce": nonce,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        page.goto(f"{server.issuer}/authorize?{urlencode(params)}")
        page.fill("input[name=username]", "passkey-user")
        page.fill("input[name=password]", PASSWORD)
        with page.expect_navigation():
            page.click("form:has(input[name=password]) button[type=submit]")
        expect(page.locator("#second-factor")).to_have_attribute("data-state", "ask")
        with page.expect_navigation():
            page.click("#use-passkey")
        for _ in range(3):
            if page.url.startswith(redirect_uri):
                break
            _accept_agreement_if_asked(page)
            approve = page.locator("button[name=decision][value=approve]")
            if not page.url.startswith(redirect_uri) and approve.count():
                with page.expect_navigation():
                    approve.click()
        assert page.url.startswith(redirect_uri), f"at {page.url}; console: {errors}"
        code = parse_qs(urlsplit(page.url).query)["code"][0]
    finally:
        context.close()

    tokens = requests.post(
        f"{server.issuer}/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        },
        auth=(portal["client_id"], portal["client_secret"]),
        timeout=10,
    ).json()
    keys = KeySet.import_key_set(requests.get(f"{server.issuer}/jwks.json", timeout=10).json())
    claims = jwt.decode(tokens["id_token"], keys).claims
    assert claims["nonce"] == nonce
    assert {"pwd", "hwk", "mfa"} <= set(claims["amr"])
    assert not [e for e in errors if "Content Security Policy" in e], errors
