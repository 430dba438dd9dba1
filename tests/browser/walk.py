"""What the browser walks share: Chromium with Playwright, contexts at the desktop width,
screenshots at each width into tests/browser/artifacts/ (ignored by git), and the walk through
the provider's pages (login, second factor, agreement, company choice, consent) back to a portal."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, BrowserContext, Locator, Page, sync_playwright

from tests.browser.portals import CHROMIUM, CHROMIUM_ARGS, ROOT

ARTIFACTS = ROOT / "tests" / "browser" / "artifacts"
WIDTHS = (1280, 375)


@contextmanager
def chromium() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: `make browser` installs it"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def new_context(browser: Browser, **options: Any) -> BrowserContext:
    context = browser.new_context(
        locale="zh-CN", viewport={"width": WIDTHS[0], "height": 900}, **options
    )
    context.set_default_timeout(15_000)
    return context


def shoot(page: Page, name: str) -> None:
    """The page as it is, at each width (full page), then back to the desktop width."""
    page.wait_for_load_state()
    original = page.viewport_size or {"width": WIDTHS[0], "height": 900}
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": original["height"]})
        page.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size(original)


def claim(page: Page, label: str) -> Locator:
    """A claim row of the example portal's home page."""
    return page.locator(f"tr:has(th:text-is('{label}')) td")


def walk_provider(
    page: Page,
    issuer: str,
    *,
    back_to: str,
    prefix: str,
    username: str | None = None,
    password: str = "",
    acting_as: str | None = None,
    on_consent: Callable[[Page], None] | None = None,
    second_factor: Callable[[], str] | None = None,
) -> list[str]:
    """Through the provider's pages until the browser is at ``back_to``; a screenshot of each
    page. Returns the kinds of page seen."""
    seen: list[str] = []
    for _ in range(8):
        page.wait_for_load_state()
        if page.url.startswith(back_to):
            return seen
        assert page.url.startswith(issuer + "/"), f"unexpected page {page.url}"
        if page.locator("input[name=password]").count():
            assert username is not None, f"a password was asked for at {page.url}"
            kind = "login"
            page.fill("input[name=username]", username)
            page.fill("input[name=password]", password)
            submit = page.locator("form:has(input[name=password]) button[type=submit]")
        elif page.locator("#code-form input[name=code]").count():
            assert second_factor is not None, f"a second factor was asked for at {page.url}"
            kind = "second-factor"
            page.fill("#code-form input[name=code]", second_factor())
            submit = page.locator("#code-form button[type=submit]")
        elif page.locator("input[name=version_id]").count():
            kind = "agreement"
            accept = page.locator("input[name=accept_agreement]")
            if accept.count():
                accept.check()
            submit = page.locator("button[name=decision][value=approve]")
        elif page.locator("input[name=acting_as]").count():
            kind = "choose"
            choice = page.locator("li[data-acting-as]", has_text=acting_as) if acting_as else None
            if choice is not None:
                choice.locator("input[name=acting_as]").check()
            submit = page.locator("form:has(input[name=acting_as]) button[type=submit]")
        elif page.locator("button[name=decision][value=approve]").count():
            kind = "consent"
            for tick in page.locator("input[name=sensitive_claims]").all():
                tick.check()
            if on_consent is not None:
                on_consent(page)
            submit = page.locator("button[name=decision][value=approve]")
        else:
            raise AssertionError(f"unknown provider page {page.url}:\n{page.content()[:2000]}")
        seen.append(kind)
        shoot(page, f"{prefix}-{len(seen):02d}-{kind}")
        with page.expect_navigation():
            submit.click()
    raise AssertionError(f"never got back to {back_to}; last page {page.url}; seen {seen}")
