"""Single sign-on and single logout in a real browser: headless Chromium (Playwright) drives
two example portals (``clients/portal``) and the provider, each a real server process.

Portal A and portal B are two registered confidential clients. The person logs in at A through
the provider's own pages, arrives at B already logged in (SSO: no credentials typed), logs out
at A (OpenID Connect RP-Initiated Logout 1.0), and finds B logged out too, because the provider
told B over the back channel (OpenID Connect Back-Channel Logout 1.0).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import RSAKey
from playwright.sync_api import Browser, ConsoleMessage, Locator, Page, expect
from playwright.sync_api import Error as PlaywrightError

from tests.browser.portals import PortalProcess, register
from tests.browser.walk import chromium
from tests.e2e.server import ProviderServer

PASSWORD = "browser correct horse battery"
SCREENSHOT = Path("/tmp/portal-a-logged-in.png")
# Back-channel logout is delivered by the provider's background dispatcher: B may need a moment.
BACKCHANNEL_WAIT = 10.0


class SSO:
    def __init__(self, provider: ProviderServer, a: PortalProcess, b: PortalProcess) -> None:
        self.provider, self.a, self.b = provider, a, b

    def create_user(self, username: str, name: str) -> None:
        self.provider.idp(
            "users", "create", "--username", username, "--password", PASSWORD, "--name", name
        )


@pytest.fixture(scope="module")
def sso() -> Iterator[SSO]:
    provider = ProviderServer(workers=1, threads=8)
    a = b = None
    try:
        provider.start()
        a = PortalProcess(client_id="portal-a", name="杭州市政务服务网", issuer=provider.issuer)
        # B reaches the provider under another name than the browser does, as a portal in a
        # container would (docker-compose.yml): discovery, token and JWKS go there.
        b = PortalProcess(
            client_id="portal-b",
            name="宁波市政务服务网",
            issuer=provider.issuer,
            provider_url=f"http://localhost:{provider.port}",
        )
        for portal in (a, b):
            portal.start(register(provider, portal, ("profile",)))
        for portal in (a, b):
            portal.wait_ready()
        yield SSO(provider, a, b)
    finally:
        for portal in (a, b):
            if portal is not None:
                portal.stop()
        provider.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser profile per test: no cookie from another test."""
    context = browser.new_context(locale="zh-CN")
    context.set_default_timeout(15_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def on_provider(page: Page, sso: SSO) -> bool:
    return page.url.startswith(sso.provider.issuer + "/")


def walk_provider_pages(page: Page, sso: SSO, *, username: str | None, back_to: str) -> list[str]:
    """Go through the provider's pages until the browser is back at ``back_to``.

    Types the credentials only when ``username`` is given (and fails if a password is asked for
    otherwise); accepts the registration agreement (first login: `idp db upgrade` publishes it)
    and allows the consent. Returns the kinds of page seen, in order.
    """
    seen: list[str] = []
    console: list[str] = []  # the browser's own errors, e.g. a Content-Security-Policy refusal

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            console.append(message.text)

    page.on("console", on_console)
    try:
        for _ in range(6):
            page.wait_for_load_state()
            if page.url.startswith(back_to):
                return seen
            submit = _next_form(page, sso, username, seen)
            try:
                with page.expect_navigation():
                    submit.click()
            except PlaywrightError as exc:
                reason = exc.message.splitlines()[0]
                page.wait_for_timeout(300)  # the console message may trail the failure
                raise AssertionError(
                    f"the {seen[-1]} form at {page.url} led nowhere ({reason});"
                    f" browser console: {console}"
                ) from None
    finally:
        page.remove_listener("console", on_console)
    raise AssertionError(f"never got back to {back_to}; last page {page.url}")


def _next_form(page: Page, sso: SSO, username: str | None, seen: list[str]) -> Locator:
    """Fill in the provider page shown and return the button that submits it."""
    assert on_provider(page, sso), f"unexpected page {page.url}"
    if page.locator("input[name=password]").count():
        assert username is not None, "the provider asked for a password during SSO"
        seen.append("login")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", PASSWORD)
        return page.locator("form:has(input[name=password]) button[type=submit]")
    if page.locator("input[name=version_id]").count():
        seen.append("agreement")
        accept = page.locator("input[name=accept_agreement]")
        if accept.count():
            accept.check()
        return page.locator("button[name=decision][value=approve]")
    if page.locator("button[name=decision][value=approve]").count():
        seen.append("consent")
        return page.locator("button[name=decision][value=approve]")
    raise AssertionError(f"unknown provider page {page.url}:\n{page.content()[:2000]}")


def log_in(page: Page, sso: SSO, portal: PortalProcess, username: str | None) -> list[str]:
    page.goto(portal.base_url + "/")
    expect(page.locator("#logged-out")).to_be_visible()
    with page.expect_navigation():
        page.click("#login")
    return walk_provider_pages(page, sso, username=username, back_to=portal.base_url)


def claim(page: Page, label: str) -> str:
    return page.locator(f"tr:has(th:text-is('{label}')) td").inner_text()


def forged_logout_token(sso: SSO, portal: PortalProcess, sid: str) -> str:
    """A well-formed logout token for a real session, signed with a key the provider never
    published."""
    foreign = RSAKey.generate_key(2048, parameters={"kid": "foreign"})
    return jwt.encode(
        {"alg": "RS256", "kid": "foreign", "typ": "logout+jwt"},
        {
            "iss": sso.provider.issuer,
            "aud": portal.client_id,
            "iat": int(time.time()),
            "exp": int(time.time()) + 120,
            "jti": "forged",
            "sid": sid,
            "events": {"http://schemas.openid.net/event/backchannel-logout": {}},
        },
        foreign,
    )


def test_single_sign_on_then_single_logout(sso: SSO, page: Page) -> None:
    """One person, two portals, one provider session:

    1. OIDC Core 3.1 code flow at portal A (PKCE, state, nonce), through the provider's pages.
    2. A page needing level L3: the portal demands acr urn:idp:loa:L3 as an essential claim
       (OIDC Core 5.5.1.1, with acr_values, 3.1.2.1); an L0 account gets
       unmet_authentication_requirements, which the portal explains.
    3. SSO at portal B: no credentials typed, the provider session answers (OIDC Core 3.1.2.3).
    4. Back-Channel Logout 1.0 section 2.6 and 2.8: a logout token the provider did not sign is
       answered 400 invalid_request (no-store) and ends nothing.
    5. RP-Initiated Logout 1.0 at A: back at A's registered post_logout_redirect_uri with state.
    6. Back-Channel Logout 1.0 sections 2.5 to 2.7: B's own session ends too.
    """
    sso.create_user("browser-citizen", "王小明")

    # 1. Portal A: the full login, through the provider's real pages.
    steps = log_in(page, sso, sso.a, "browser-citizen")
    assert steps[0] == "login" and "consent" in steps, steps
    expect(page).to_have_url(re.compile(rf"^{re.escape(sso.a.base_url)}/$"))
    expect(page.locator("#name")).to_have_text("王小明")
    assert claim(page, "认证级别 acr") == "urn:idp:loa:L0"
    # The verification level travels as a claim too: an operator-made account is unverified.
    assert claim(page, "实名等级 Verification level") == "L0"
    sid = claim(page, "会话 sid")
    assert sid != "—"
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    # The portal's own session cookie: not readable by scripts, not sent on cross-site posts.
    cookie = next(c for c in page.context.cookies(sso.a.base_url) if c["name"] == "portal_portal_a")
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Lax"

    # 2. Level L3 asked for, refused with an explanation; the L0 login at A stays.
    with page.expect_request(re.compile(r".*/authorize\?.*")) as sent:
        page.goto(sso.a.base_url + "/secure")
    asked = {k: v[0] for k, v in parse_qs(urlsplit(sent.value.url).query).items()}
    assert asked["acr_values"] == "urn:idp:loa:L3"
    assert json.loads(asked["claims"])["id_token"]["acr"]["essential"] is True
    expect(page.locator("#step-up-refused")).to_contain_text("unmet_authentication_requirements")
    page.goto(sso.a.base_url + "/")
    expect(page.locator("#name")).to_have_text("王小明")

    # 3. Portal B: logged in without typing anything (its consent is asked once: per portal).
    steps = log_in(page, sso, sso.b, username=None)
    assert "login" not in steps and "agreement" not in steps, steps
    expect(page).to_have_url(re.compile(rf"^{re.escape(sso.b.base_url)}/$"))
    expect(page.locator("#name")).to_have_text("王小明")
    # One provider session: both portals received the same sid.
    assert claim(page, "会话 sid") == sid

    # 4. A forged logout token naming that very session is refused, and B stays logged in.
    for form in (
        {},
        {"logout_token": "not-a-jwt"},
        {"logout_token": forged_logout_token(sso, sso.b, sid)},
    ):
        answer = requests.post(f"{sso.b.base_url}/backchannel-logout", data=form, timeout=10)
        assert answer.status_code == 400, form
        assert answer.json() == {"error": "invalid_request"}
        assert answer.headers["Cache-Control"] == "no-store"
    page.reload()
    expect(page.locator("#name")).to_have_text("王小明")

    # 5. Log out at A: RP-initiated, back at A's registered post_logout_redirect_uri.
    page.goto(sso.a.base_url + "/")
    with page.expect_navigation(url=re.compile(rf"^{re.escape(sso.a.base_url)}/")):
        page.click("#logout")
    page.wait_for_url(re.compile(rf"^{re.escape(sso.a.base_url)}/\?state="))
    expect(page.locator("#logged-out")).to_be_visible()
    expect(page.locator("#notice")).to_contain_text("You have been logged out")

    # 6. B learns it over the back channel: its session ends without the browser visiting B.
    deadline = time.monotonic() + BACKCHANNEL_WAIT
    page.goto(sso.b.base_url + "/")
    while page.locator("#logged-in").count() and time.monotonic() < deadline:
        time.sleep(0.25)
        page.reload()
    expect(page.locator("#logged-out")).to_be_visible()
    expect(page.locator("#notice")).to_contain_text("You were logged out at the identity provider")

    # The provider session is gone too: logging in at B asks for the password again.
    page.click("#login")
    page.wait_for_load_state()
    assert on_provider(page, sso)
    expect(page.locator("input[name=password]")).to_be_visible()
