"""Back-channel logout deliveries run in parallel (Back-Channel Logout 1.0 section 2.5).

A portal that holds the request until the provider's timeout (``IDP_BACKCHANNEL_TIMEOUT``) must
not delay the logout tokens of the other portals of the same session: the dispatcher hands every
due delivery to a bounded pool of threads (``idp.oauth.backchannel.DELIVERY_THREADS``).
"""

from __future__ import annotations

import time

from tests.logout.helpers import (
    Receivers,
    deliveries,
    log_in,
    register_portal,
    validate_logout_token,
    wait_until,
)

TIMEOUT = 4  # seconds the provider waits for a portal


def test_one_hanging_portal_does_not_delay_the_others(make_app, cli, user):
    app = make_app(BACKCHANNEL_TIMEOUT=TIMEOUT)
    browser = app.test_client()
    receivers = Receivers()
    try:
        hanging = receivers(hang=True)
        answering = [receivers() for _ in range(4)]
        # The hanging portal first: its delivery is the first one due.
        portals = [
            register_portal(
                cli, browser, f"P{i}", f"p{i}.example.gov.cn", backchannel_uri=r.url, trusted=True
            )
            for i, r in enumerate([hanging, *answering])
        ]
        tokens = [log_in(rp, user["username"], user["password"]) for rp in portals]

        started = time.monotonic()
        assert browser.get("/logout", query_string={"id_token_hint": tokens[0]["id_token"]})
        for receiver, rp in zip(answering, portals[1:], strict=True):
            token = receiver.wait_for_tokens(timeout=TIMEOUT)[0]
            validate_logout_token(browser, token, rp.client_id)
        elapsed = time.monotonic() - started

        assert elapsed < TIMEOUT - 1, f"the answering portals waited {elapsed:.1f} s"
        # The hanging portal was reached too, and is still being waited for.
        wait_until(lambda: hanging.tokens, TIMEOUT, "the hanging portal's request")
        provider = app.extensions["idp"]
        (row,) = deliveries(provider, portals[0].client_id)
        assert row["status"] == "sending" and row["attempts"] == 0
        done = wait_until(
            lambda: [r for r in deliveries(provider, portals[0].client_id) if r["attempts"] >= 1],
            TIMEOUT + 5,
            "the hanging delivery's timeout",
        )
        assert done[0]["status"] == "pending" and done[0]["last_error"] == "ReadTimeout"
    finally:
        receivers.stop_all()
