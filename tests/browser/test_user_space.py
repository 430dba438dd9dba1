"""The user space in a real browser (issue 12, "Done when"), with the example portal.

1. A person logs in to the tax portal (example portal, real server process) for the first time.
2. The portal's back end, with its own token (client credentials), reports a matter with a step
   and sends a message about it (docs/user-space.md, "The portal API").
3. The person sees the matter with its timeline and the message (unread count on every page).
4. The person uploads a material and adds a delivery address.
5. The next login to the portal asks again: the person ticks the material on the consent page;
   the portal receives the address (UserInfo) and fetches the material once; the disclosure log
   lists both.
6. The person enrols an authenticator app (TOTP); the next login asks for its code, and the ID
   token's ``amr`` carries ``otp`` and ``mfa``.

Every page is saved at 1280 px and 375 px in tests/browser/artifacts/ (ignored by git).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests
from playwright.sync_api import Page, expect

from idp.identity.totp import totp, totp_step
from tests.browser.portals import ROOT, PortalProcess, register
from tests.browser.walk import chromium, claim, new_context, shoot, walk_provider
from tests.e2e.server import ProviderServer
from tests.user_space.materials_support import pdf

USERNAME = "zhaoliu"
PASSWORD = "user space walk lantern 7"
MATTER_ID = "TAX-2026-0042"
MATERIAL = pdf("income certificate 2026")
STREET = "杭州市西湖区文三路90号 3幢201室"


@dataclass
class Walk:
    provider: ProviderServer
    portal: PortalProcess
    client_secret: str

    @property
    def issuer(self) -> str:
        return self.provider.issuer


@pytest.fixture(scope="module")
def walk() -> Iterator[Walk]:
    provider = ProviderServer(workers=1, threads=8)
    portal: PortalProcess | None = None
    try:
        provider.start()
        provider.idp("matters", "import", str(ROOT / "idp" / "data" / "matters.sample.json"))
        provider.idp(
            "users", "create", "--username", USERNAME, "--password", PASSWORD, "--name", "赵六"
        )
        portal = PortalProcess(
            client_id="tax-portal",
            name="示例市税务服务网",
            issuer=provider.issuer,
            scope="openid profile address materials",
        )
        scopes = ("profile", "address", "materials", "matters:write", "messages:send")
        secret = register(provider, portal, scopes, matters=("tax",))
        portal.start(secret)
        portal.wait_ready()
        yield Walk(provider, portal, secret)
    finally:
        if portal is not None:
            portal.stop()
        provider.stop()


@pytest.fixture(scope="module")
def page(walk: Walk) -> Iterator[Page]:
    with chromium() as browser:
        context = new_context(browser)
        try:
            yield context.new_page()
        finally:
            context.close()


def log_in_to_portal(page: Page, walk: Walk, prefix: str, **options: object) -> list[str]:
    page.goto(walk.portal.base_url + "/")
    expect(page.locator("#logged-out")).to_be_visible()
    with page.expect_navigation():
        page.click("#login")
    seen = walk_provider(
        page,
        walk.issuer,
        back_to=walk.portal.base_url,
        prefix=prefix,
        username=USERNAME,
        password=PASSWORD,
        **options,  # type: ignore[arg-type]
    )
    expect(page.locator("#logged-in")).to_be_visible()
    return seen


def log_out_of_portal(page: Page, walk: Walk) -> None:
    """RP-Initiated Logout from the portal: the provider's session ends too."""
    page.goto(walk.portal.base_url + "/")
    with page.expect_navigation():
        page.click("#logout")
    for _ in range(2):
        confirm = page.locator("button[name=decision][value=logout]")
        if page.url.startswith(walk.portal.base_url) or not confirm.count():
            break
        with page.expect_navigation():
            confirm.first.click()
    page.goto(walk.portal.base_url + "/")
    expect(page.locator("#logged-out")).to_be_visible()


def portal_token(walk: Walk) -> str:
    answer = requests.post(
        f"{walk.issuer}/token",
        data={"grant_type": "client_credentials", "scope": "matters:write messages:send"},
        auth=(walk.portal.client_id, walk.client_secret),
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def api(walk: Walk, token: str, path: str, body: dict[str, object]) -> requests.Response:
    return requests.post(
        f"{walk.issuer}{path}",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )


def test_the_user_space_walk(walk: Walk, page: Page) -> None:
    # 1. The first login to the portal.
    log_in_to_portal(page, walk, "us-1-first-login")
    sub = claim(page, "用户标识 sub").inner_text()
    shoot(page, "us-1-portal")

    # 2. The portal's back end reports a matter, a step, and a message about it.
    token = portal_token(walk)
    reported = api(
        walk,
        token,
        "/api/matters",
        {
            "sub": sub,
            "id": MATTER_ID,
            "matter_class": "tax.declaration",
            "title": "个人所得税年度汇算",
            "submitted_at": "2026-11-02T09:30:00+08:00",
            "link": f"{walk.portal.base_url}/",
        },
    )
    assert reported.status_code == 201, reported.text
    step = api(
        walk,
        token,
        f"/api/matters/{MATTER_ID}/steps",
        {
            "status": "supplement_requested",
            "time": "2026-11-04T10:00:00+08:00",
            "note": "请补充收入证明",
        },
    )
    assert step.status_code == 201, step.text
    sent = api(
        walk,
        token,
        "/api/messages",
        {
            "sub": sub,
            "title": "补充材料通知",
            "body": "请于 11 月 30 日前补充收入证明。",
            "matter": MATTER_ID,
        },
    )
    assert sent.status_code == 201, sent.text
    # Another portal's matter id, a wrong scope: clear refusals (covered in full by the HTTP tests).
    assert (
        api(
            walk,
            token,
            "/api/matters/NOT-OURS/steps",
            {"status": "accepted", "time": "2026-11-05T10:00:00+08:00"},
        ).status_code
        == 404
    )

    # 3. The person sees the matter with its timeline, and the message.
    page.goto(f"{walk.issuer}/account/matters")
    expect(page.locator("main")).to_contain_text("个人所得税年度汇算")
    expect(page.locator("main")).to_contain_text("请补充收入证明")
    # The portal's message, and the provider's own notice of the new login.
    expect(page.locator("#unread-count")).to_have_attribute("data-unread", "2")
    shoot(page, "us-3-matters")
    page.goto(f"{walk.issuer}/account/messages")
    expect(page.locator("main")).to_contain_text("补充材料通知")
    shoot(page, "us-3-messages")
    with page.expect_navigation():
        page.click("a:has-text('补充材料通知')")
    expect(page.locator("main")).to_contain_text("请于 11 月 30 日前补充收入证明。")
    shoot(page, "us-3-message")
    page.goto(f"{walk.issuer}/account/messages")
    expect(page.locator("#unread-count")).to_have_attribute("data-unread", "1")

    # 4. A material and a delivery address.
    page.goto(f"{walk.issuer}/account/materials")
    page.select_option("select[name=type_code]", "other")
    page.fill("input[name=title]", "2026 年收入证明")
    page.set_input_files(
        "input[name=file]",
        files=[{"name": "收入证明.pdf", "mimeType": "application/pdf", "buffer": MATERIAL}],
    )
    shoot(page, "us-4-materials-form")
    with page.expect_navigation():
        page.locator("form:has(input[name=file]) button[type=submit]").click()
    expect(page.locator("main")).to_contain_text("2026 年收入证明")
    shoot(page, "us-4-materials")
    page.goto(f"{walk.issuer}/account/addresses/new")
    page.fill("input[name=recipient]", "赵六")
    page.fill("input[name=phone]", "13800138000")
    page.fill("input[name=region_code]", "330106")
    page.fill("input[name=street]", STREET)
    page.fill("input[name=postal_code]", "310012")
    shoot(page, "us-4-address-form")
    with page.expect_navigation():
        page.locator("form:has(input[name=street]) button[type=submit]").click()
    expect(page.locator("main")).to_contain_text(STREET)
    shoot(page, "us-4-addresses")

    # 5. The next login: the material is chosen on the consent page; the portal gets both.
    log_out_of_portal(page, walk)

    def choose_material(consent: Page) -> None:
        expect(consent.locator("#consent-materials")).to_contain_text("2026 年收入证明")
        consent.locator("#consent-materials input[name=materials]").check()

    seen = log_in_to_portal(page, walk, "us-5-login", on_consent=choose_material)
    assert "consent" in seen, seen
    expect(claim(page, "地址 Address")).to_contain_text("文三路90号")
    received = page.locator("#materials li")
    expect(received).to_have_count(1)
    expect(received).to_have_attribute("data-sha256", hashlib.sha256(MATERIAL).hexdigest())
    shoot(page, "us-5-portal-received")
    page.goto(f"{walk.issuer}/account/disclosures?lang=en")
    disclosures = page.locator("main")
    expect(disclosures).to_contain_text("示例市税务服务网")
    expect(disclosures).to_contain_text("Material fetched by the portal")
    expect(disclosures).to_contain_text("Address")
    shoot(page, "us-5-disclosures")

    # 6. An authenticator app; the next login asks for its code and amr says so.
    page.goto(f"{walk.issuer}/account/security/totp")
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    enrolled_at = totp_step()
    page.fill("input[name=code]", totp(secret, enrolled_at))
    page.fill("input[name=name]", "我的手机")
    shoot(page, "us-6-totp")
    with page.expect_navigation():
        page.locator("form:has(input[name=code]) button[type=submit]").click()
    shoot(page, "us-6-recovery-codes")
    log_out_of_portal(page, walk)
    # The next time step (accepted within one step of now): a code is never taken twice.
    seen = log_in_to_portal(
        page, walk, "us-6-login", second_factor=lambda: totp(secret, enrolled_at + 1)
    )
    assert "second-factor" in seen, seen
    amr = json.loads(claim(page, "认证方式 amr").inner_text())
    assert {"pwd", "otp", "mfa"} <= set(amr), amr
    shoot(page, "us-6-portal-mfa")
