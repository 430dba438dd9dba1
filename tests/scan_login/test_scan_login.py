"""Scan-to-log-in (issue 19 item 6, docs/scan-login.md): the computer shows a QR code, the phone
(logged in already) confirms, the computer's page refreshes itself into the login.

Two Flask test clients: ``client`` is the computer's browser, ``phone`` the phone's. The flow goes
authorize -> login page -> QR page -> phone confirms -> refresh -> consent -> code -> token, and
the ID token is validated with jwcrypto (tests.support.RelyingParty).
"""

from __future__ import annotations

import re
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from idp.oauth.scan import device_summary, masked_address
from idp.views.interaction.scan import qr_svg
from tests.login.helpers import rows
from tests.support import ISSUER, AuthorizationAttempt, RelyingParty, csrf_token, form_action

CHROME_ON_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)


@pytest.fixture
def phone(app, user):  # type: ignore[no-untyped-def]
    """A second browser, logged in to the provider (its user space)."""
    browser = app.test_client()
    page = browser.get("/account/login")
    html = page.get_data(as_text=True)
    response = browser.post(
        form_action(html, "/account/login"),
        data={
            "csrf_token": csrf_token(html),
            "username": user["username"],
            "password": user["password"],
        },
    )
    assert response.status_code == 303
    assert browser.get_cookie("idp_session") is not None
    return browser


def show_qr(rp: RelyingParty) -> tuple[AuthorizationAttempt, str, Any]:
    """authorize -> login page -> the QR page; (attempt, ticket, the QR page response)."""
    attempt = rp.authorize(ui_locales="en")
    html = rp.follow(attempt)
    match = re.search(r'href="([^"]+/scan)"', html)
    assert match, "the login page links to the scan-to-log-in"
    started = rp.browser.get(match.group(1), headers={"User-Agent": CHROME_ON_WINDOWS})
    assert started.status_code == 303
    wait_url = started.headers["Location"]
    ticket = parse_qs(urlsplit(wait_url).query)["ticket"][0]
    page = rp.browser.get(wait_url)
    return attempt, ticket, page


def refresh_url(page: Any) -> str:
    match = re.search(
        r'http-equiv="refresh" content="\d+;url=([^"]+)"', page.get_data(as_text=True)
    )
    assert match, "the waiting page refreshes itself"
    return match.group(1).replace("&amp;", "&")


def phone_decides(phone: Any, ticket: str, decision: str) -> Any:
    page = phone.get(f"/scan/{ticket}")
    assert page.status_code == 200, page.status_code
    html = page.get_data(as_text=True)
    return phone.post(
        f"/scan/{ticket}", data={"csrf_token": csrf_token(html), "decision": decision}
    )


def test_scan_login_completes_to_the_portal_with_amr(public_rp, phone, user):
    attempt, ticket, page = show_qr(public_rp)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    # The SVG is the QR code of the phone's page at the provider.
    expected = qr_svg(f"{ISSUER}/scan/{ticket}")
    assert "<svg" in html and str(expected) in html
    assert 'http-equiv="refresh"' in html
    # Before the phone decides, the refresh only waits.
    assert 'http-equiv="refresh"' in public_rp.browser.get(refresh_url(page)).get_data(as_text=True)

    shown = phone.get(f"/scan/{ticket}").get_data(as_text=True)
    assert "Public Portal" in shown
    assert "Chrome" in shown and "Windows" in shown
    done = phone_decides(phone, ticket, "confirm")
    assert done.status_code == 200
    assert 'data-confirmed="yes"' in done.get_data(as_text=True)

    attempt.response = public_rp.browser.get(refresh_url(page))
    assert attempt.response.status_code == 303
    location = attempt.response.headers["Location"]
    if location.startswith("/interaction/"):  # the consent step comes after, as after a password
        public_rp.follow(attempt)
        public_rp.submit_consent(attempt)
    public_rp._capture(attempt)
    assert "code" in attempt.result
    assert attempt.result["state"] == attempt.params["state"]
    tokens = public_rp.exchange(attempt).get_json()
    claims = public_rp.validate_id_token(tokens["id_token"], attempt.params["nonce"])
    assert claims["sub"] == user["sub"]
    assert claims["amr"] == ["mca", "qr"]
    assert public_rp.browser.get_cookie("idp_session") is not None


def test_a_ticket_is_used_once(public_rp, phone):
    _attempt, ticket, page = show_qr(public_rp)
    phone_decides(phone, ticket, "confirm")
    url = refresh_url(page)
    assert public_rp.browser.get(url).status_code == 303

    again = public_rp.browser.get(url)
    # The interaction moved on: the old page cannot log in a second time.
    assert again.status_code == 400
    # And the phone cannot decide it again.
    assert phone.get(f"/scan/{ticket}").status_code == 410


def test_a_confirmed_ticket_is_taken_once_by_the_step(provider, public_rp, phone):
    """Two refreshes at once: the atomic take lets one through."""
    _attempt, ticket, page = show_qr(public_rp)
    phone_decides(phone, ticket, "confirm")
    interaction_id = urlsplit(refresh_url(page)).path.split("/")[2]
    binding = public_rp.browser.get_cookie("idp_browser").value
    interaction = provider.interactions.load(interaction_id, binding)

    assert provider.scan_login.take(ticket, interaction) is not None
    assert provider.scan_login.take(ticket, interaction) is None


def test_another_browser_cannot_claim_the_ticket(app, public_rp, phone):
    _attempt, ticket, page = show_qr(public_rp)
    phone_decides(phone, ticket, "confirm")
    stranger = app.test_client()

    response = stranger.get(refresh_url(page))

    assert response.status_code == 400
    assert "显示二维码的浏览器" in response.get_data(as_text=True)
    assert stranger.get_cookie("idp_session") is None
    # The desktop that showed it still can.
    assert public_rp.browser.get(refresh_url(page)).status_code == 303


def test_a_ticket_of_another_interaction_is_refused(provider, public_rp, phone):
    _attempt, ticket, page = show_qr(public_rp)
    phone_decides(phone, ticket, "confirm")
    # A second login request in the same browser cannot use the first one's ticket.
    other = public_rp.authorize(ui_locales="en")
    other_id = other.response.headers["Location"].split("/")[2]

    response = public_rp.browser.get(f"/interaction/{other_id}/scan/wait?ticket={ticket}")

    assert response.status_code == 200
    assert 'data-state="gone"' in response.get_data(as_text=True)


def test_refusing_on_the_phone(public_rp, phone, provider):
    _attempt, ticket, page = show_qr(public_rp)

    done = phone_decides(phone, ticket, "refuse")

    assert 'data-confirmed="no"' in done.get_data(as_text=True)
    refreshed = public_rp.browser.get(refresh_url(page))
    html = refreshed.get_data(as_text=True)
    assert 'data-state="declined"' in html and 'http-equiv="refresh"' not in html
    assert public_rp.browser.get_cookie("idp_session") is None
    assert len(rows(provider, "SELECT * FROM audit_events WHERE action = 'scan_refused'")) == 1


def test_an_expired_ticket(make_app, public_rp, user):
    app = make_app(SCAN_TICKET_TTL=1)
    desktop = app.test_client()
    rp = RelyingParty(desktop, public_rp.client_id, None, public_rp.redirect_uri)
    _attempt, ticket, page = show_qr(rp)

    time.sleep(2.1)

    assert 'data-state="gone"' in desktop.get(refresh_url(page)).get_data(as_text=True)
    assert app.test_client().get(f"/scan/{ticket}").status_code == 410


def test_the_phone_logs_in_first_and_comes_back(app, public_rp, user):
    _attempt, ticket, _page = show_qr(public_rp)
    phone = app.test_client()

    response = phone.get(f"/scan/{ticket}")

    assert response.status_code == 303
    login_url = response.headers["Location"]
    assert login_url.startswith("/account/login?next=")
    html = phone.get(login_url).get_data(as_text=True)
    back = phone.post(
        form_action(html, "/account/login"),
        data={
            "csrf_token": csrf_token(html),
            "username": user["username"],
            "password": user["password"],
        },
    )
    assert back.status_code == 303
    assert back.headers["Location"] == f"/scan/{ticket}"
    assert "Public Portal" in phone.get(f"/scan/{ticket}").get_data(as_text=True)


def test_the_phone_posts_with_csrf(public_rp, phone):
    _attempt, ticket, _page = show_qr(public_rp)

    response = phone.post(f"/scan/{ticket}", data={"decision": "confirm"})

    assert response.status_code == 400
    assert phone.get(f"/scan/{ticket}").status_code == 200  # still pending


def test_audit_events(provider, public_rp, phone):
    _attempt, ticket, page = show_qr(public_rp)
    phone_decides(phone, ticket, "confirm")
    public_rp.browser.get(refresh_url(page))

    events = rows(provider, "SELECT * FROM audit_events WHERE action LIKE 'scan_%'")
    assert sorted(event["action"] for event in events) == ["scan_confirmed", "scan_used"]
    assert all(event["client_id"] == public_rp.client_id for event in events)
    logins = rows(provider, "SELECT * FROM audit_events WHERE action = 'login'")
    assert any("scan" in str(event["details"]) for event in logins)


def test_ticket_creation_is_limited_per_browser(make_app, public_rp):
    app = make_app(SCAN_TICKETS_PER_HOUR=2)
    desktop = app.test_client()
    rp = RelyingParty(desktop, public_rp.client_id, None, public_rp.redirect_uri)
    attempt = rp.authorize(ui_locales="en")
    interaction_id = attempt.response.headers["Location"].split("/")[2]

    answers = [desktop.get(f"/interaction/{interaction_id}/scan").status_code for _ in range(3)]

    assert answers == [303, 303, 429]


def test_device_summary_and_masked_address():
    assert device_summary(CHROME_ON_WINDOWS) == ("Chrome", "Windows")
    iphone = (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
    )
    assert device_summary(iphone) == ("Safari", "iOS")
    assert device_summary("") == ("", "")
    assert masked_address("203.0.113.7") == "203.0.113.*"
    assert masked_address("2001:db8::1") == "2001:0db8:0000:*"
    assert masked_address("not an address") == ""
