"""The QR code on the login page itself (issue 19 item 6): a frame that refreshes itself while
the password form around it stays as typed; once the phone confirmed, one button completes the
login in the whole window. Framing is allowed for that frame only, and only by our own pages."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from idp.views.interaction.scan import qr_svg
from tests.scan_login.test_scan_login import CHROME_ON_WINDOWS, phone, phone_decides, refresh_url
from tests.support import ISSUER, AuthorizationAttempt, RelyingParty

__all__ = ["phone"]  # the fixture, shared with the page tests


def login_page(rp: RelyingParty) -> tuple[AuthorizationAttempt, Any, str]:
    attempt = rp.authorize(ui_locales="en")
    rp.follow(attempt)
    page = attempt.response
    html = page.get_data(as_text=True)
    match = re.search(r'<iframe[^>]+src="([^"]+/scan/frame)"', html)
    assert match, "the login page frames the QR code"
    return attempt, page, match.group(1)


def open_frame(rp: RelyingParty, frame_url: str) -> tuple[str, Any]:
    started = rp.browser.get(frame_url, headers={"User-Agent": CHROME_ON_WINDOWS})
    assert started.status_code == 303
    location = started.headers["Location"]
    ticket = parse_qs(urlsplit(location).query)["ticket"][0]
    return ticket, rp.browser.get(location)


def test_the_login_page_shows_the_qr_code_and_completes(public_rp, phone, user):
    attempt, page, frame_url = login_page(public_rp)
    # Only the login page may frame, and only our own frames.
    assert "frame-src 'self'" in page.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY"
    assert 'http-equiv="refresh"' not in page.get_data(as_text=True)  # the form is not reloaded

    ticket, frame = open_frame(public_rp, frame_url)
    html = frame.get_data(as_text=True)
    assert frame.status_code == 200
    assert str(qr_svg(f"{ISSUER}/scan/{ticket}")) in html
    assert "frame-ancestors 'self'" in frame.headers["Content-Security-Policy"]
    assert frame.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert 'data-state="waiting"' in public_rp.browser.get(refresh_url(frame)).get_data(
        as_text=True
    )

    phone_decides(phone, ticket, "confirm")
    ready = public_rp.browser.get(refresh_url(frame))
    ready_html = ready.get_data(as_text=True)
    assert 'data-state="ready"' in ready_html
    match = re.search(r'id="scan-continue" href="([^"]+)" target="_top"', ready_html)
    assert match, "the confirmed frame opens the login in the whole window"
    # The frame itself never logs in: the ticket is still there for the whole window.
    assert 'data-state="ready"' in public_rp.browser.get(refresh_url(frame)).get_data(as_text=True)

    attempt.response = public_rp.browser.get(match.group(1).replace("&amp;", "&"))
    assert attempt.response.status_code == 303
    if attempt.response.headers["Location"].startswith("/interaction/"):
        public_rp.follow(attempt)
        public_rp.submit_consent(attempt)
    public_rp._capture(attempt)
    tokens = public_rp.exchange(attempt).get_json()
    claims = public_rp.validate_id_token(tokens["id_token"], attempt.params["nonce"])
    assert claims["sub"] == user["sub"]
    assert claims["amr"] == ["mca", "qr"]


def test_showing_the_login_page_again_shows_the_same_code(public_rp):
    _attempt, _page, frame_url = login_page(public_rp)
    first, _frame = open_frame(public_rp, frame_url)
    # A mistyped password shows the login page again: its frame keeps the waiting code.
    second, _frame = open_frame(public_rp, frame_url)
    assert second == first


def test_a_refused_code_offers_a_new_one_in_the_frame(public_rp, phone):
    _attempt, _page, frame_url = login_page(public_rp)
    ticket, frame = open_frame(public_rp, frame_url)
    phone_decides(phone, ticket, "refuse")
    refused = public_rp.browser.get(refresh_url(frame)).get_data(as_text=True)
    assert 'data-state="declined"' in refused
    assert 'id="scan-new-code"' in refused
    again, _frame = open_frame(public_rp, frame_url)
    assert again != ticket


def test_the_frame_of_another_browser_or_a_finished_login_is_gone(app, public_rp):
    _attempt, _page, frame_url = login_page(public_rp)
    stranger = app.test_client().get(frame_url)
    assert stranger.status_code == 400
    assert 'data-state="gone"' in stranger.get_data(as_text=True)
    assert "scan-new-code" not in stranger.get_data(as_text=True)
