"""Back-Channel Logout 1.0: every portal of the ended session receives a signed logout token.

Section 2.4 (the logout token: iss, aud, iat, exp, jti, sid and/or sub, events, never nonce;
``typ`` logout+jwt), 2.5 (POSTed form-encoded to the portal's backchannel_logout_uri), 2.8 (200
or 204 means done). Delivery is durable: a portal that is down, answers errors or hangs gets
the token later, with growing waits, until the give-up time, when the row is abandoned and the
abandonment audited. The person's own logout never waits for a portal.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

from tests.logout.helpers import (
    audit_events,
    deliveries,
    log_in,
    logged_in,
    on_browser,
    register_portal,
    validate_logout_token,
    wait_until,
)


def as_datetime(value) -> datetime:  # type: ignore[no-untyped-def]
    """A timestamp column read with plain SQL (SQLite gives text, PostgreSQL a datetime)."""
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def attempted(provider, client_id: str, timeout: float = 10) -> dict:  # type: ignore[no-untyped-def,type-arg]
    """The portal's delivery row once it has been attempted and failed at least once."""
    found = wait_until(
        lambda: [
            r
            for r in deliveries(provider, client_id)
            if r["attempts"] >= 1 and r["status"] in ("pending", "abandoned")
        ],
        timeout,
        "a failed delivery attempt",
    )
    return found[0]  # type: ignore[no-any-return]


def delivered(provider, client_id: str, timeout: float = 10) -> dict:  # type: ignore[no-untyped-def,type-arg]
    found = wait_until(
        lambda: [r for r in deliveries(provider, client_id) if r["status"] == "delivered"],
        timeout,
        "a delivered row",
    )
    return found[0]  # type: ignore[no-any-return]


def test_every_portal_of_the_session_receives_a_valid_logout_token(
    client, provider, portal_a, portal_b, user
):
    """Sections 2.4-2.6: one token per portal, each for its own aud, same sid and sub,
    verifiable with the published JWKS; refresh tokens of the session stop working."""
    at_a = log_in(portal_a.rp, user["username"], user["password"])
    at_b = log_in(portal_b.rp, user["username"], user["password"])
    sid = at_a["claims"]["sid"]

    response = client.get(
        "/logout",
        query_string={
            "id_token_hint": at_b["id_token"],
            "post_logout_redirect_uri": "https://b.example.gov.cn/logged-out",
        },
    )

    assert response.status_code == 303
    token_a = portal_a.receiver.wait_for_tokens()[0]
    token_b = portal_b.receiver.wait_for_tokens()[0]
    claims_a = validate_logout_token(client, token_a, portal_a.rp.client_id)
    claims_b = validate_logout_token(client, token_b, portal_b.rp.client_id)
    assert claims_a["sid"] == claims_b["sid"] == sid
    assert claims_a["sub"] == claims_b["sub"] == user["sub"]
    assert claims_a["jti"] != claims_b["jti"]
    assert portal_a.receiver.content_types[0].startswith("application/x-www-form-urlencoded")
    assert delivered(provider, portal_a.rp.client_id)["attempts"] == 1
    assert delivered(provider, portal_b.rp.client_id)["attempts"] == 1
    for rp, tokens in ((portal_a.rp, at_a), (portal_b.rp, at_b)):
        assert rp.refresh(tokens["refresh_token"]).get_json()["error"] == "invalid_grant"
        assert rp.introspect(tokens["access_token"]).get_json() == {"active": False}
    assert not logged_in(portal_a.rp)


def test_portals_outside_the_session_are_not_told(cli, client, provider, portal_a, receivers, user):
    """Section 2.5: the token goes to the portals of the ended session only."""
    elsewhere = receivers()
    other = register_portal(
        cli, client, "Portal C", "c.example.gov.cn", backchannel_uri=elsewhere.url
    )
    tokens = log_in(portal_a.rp, user["username"], user["password"])

    client.get("/logout", query_string={"id_token_hint": tokens["id_token"]})

    portal_a.receiver.wait_for_tokens()
    assert deliveries(provider, other.client_id) == []
    assert elsewhere.tokens == []


def test_other_sessions_of_the_same_person_go_on(client, portal_a, user):
    """Section 2.1: the token names one sid; the person's session in another browser, and its
    refresh tokens, are not affected."""
    here = log_in(portal_a.rp, user["username"], user["password"])
    other_rp = on_browser(portal_a.rp, client.application.test_client())
    there = log_in(other_rp, user["username"], user["password"])

    client.get("/logout", query_string={"id_token_hint": here["id_token"]})

    claims = validate_logout_token(
        client, portal_a.receiver.wait_for_tokens()[0], other_rp.client_id
    )
    assert claims["sid"] == here["claims"]["sid"] != there["claims"]["sid"]
    assert logged_in(other_rp)
    assert "access_token" in other_rp.refresh(there["refresh_token"]).get_json()


def test_portal_down_at_logout_receives_the_token_when_it_is_back(
    cli, client, provider, portal_a, receivers, user
):
    """Durable delivery: the failed attempt is recorded and retried after a wait (2**attempts
    seconds); the portal gets a fresh, valid token once it listens again."""
    port = receivers.closed_port()
    down = register_portal(
        cli,
        client,
        "Portal D",
        "d.example.gov.cn",
        backchannel_uri=f"http://127.0.0.1:{port}/backchannel",
        trusted=True,
    )
    log_in(portal_a.rp, user["username"], user["password"])
    at_down = log_in(down, user["username"], user["password"])

    response = client.get("/logout", query_string={"id_token_hint": at_down["id_token"]})

    assert response.status_code == 200  # the person is logged out, whatever the portal does
    assert not logged_in(down)
    row = attempted(provider, down.client_id)
    assert row["status"] == "pending"
    assert row["last_error"] == "ConnectionError"
    due = as_datetime(row["next_attempt_at"])
    assert due > as_datetime(row["created_at"])
    portal_a.receiver.wait_for_tokens()  # the other portal is not held up

    back = receivers(port)
    time.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds() + 0.2))
    result = cli.ok("backchannel", "deliver")

    assert set(result) == {"delivered_now", "by_status"}
    token = back.wait_for_tokens()[0]
    claims = validate_logout_token(client, token, down.client_id)
    assert claims["sid"] == at_down["claims"]["sid"]
    assert claims["sub"] == user["sub"]
    final = delivered(provider, down.client_id)
    assert final["attempts"] >= 2 and final["last_error"] is None


def test_error_answers_are_retried_and_do_not_stop_other_portals(
    cli, client, provider, portal_a, receivers, user
):
    """Section 2.8: anything but 200/204 is a failed delivery, recorded and retried later."""
    failing = receivers(status=500)
    broken = register_portal(
        cli, client, "Portal E", "e.example.gov.cn", backchannel_uri=failing.url, trusted=True
    )
    tokens = log_in(portal_a.rp, user["username"], user["password"])
    log_in(broken, user["username"], user["password"])

    response = client.get(
        "/logout",
        query_string={
            "id_token_hint": tokens["id_token"],
            "post_logout_redirect_uri": "https://a.example.gov.cn/logged-out",
            "state": "s",
        },
    )

    assert response.status_code == 303
    assert response.headers["Location"] == "https://a.example.gov.cn/logged-out?state=s"
    row = attempted(provider, broken.client_id)
    assert row["status"] == "pending" and row["last_error"] == "HTTP 500"
    assert failing.tokens  # it was reached, and answered an error
    portal_a.receiver.wait_for_tokens()
    assert delivered(provider, portal_a.rp.client_id)


def test_no_content_answer_counts_as_delivered(cli, client, provider, receivers, user):
    """Section 2.8: OPs should also accept 204 No Content as success."""
    receiver = receivers(status=204)
    rp = register_portal(cli, client, "Portal F", "f.example.gov.cn", backchannel_uri=receiver.url)
    tokens = log_in(rp, user["username"], user["password"])

    client.get("/logout", query_string={"id_token_hint": tokens["id_token"]})

    receiver.wait_for_tokens()
    assert delivered(provider, rp.client_id)["attempts"] == 1


def test_hanging_portal_does_not_hold_up_the_logout(make_app, cli, receivers, user):
    """Bad input: a portal that never answers times out (BACKCHANNEL_TIMEOUT) in the
    background; the person's logout completes and the failure is recorded for a retry."""
    quick = make_app(BACKCHANNEL_TIMEOUT=1)
    browser = quick.test_client()
    hanging = receivers(hang=True)
    fine = receivers()
    slow_rp = register_portal(
        cli, browser, "Portal H", "h.example.gov.cn", backchannel_uri=hanging.url
    )
    fine_rp = register_portal(
        cli, browser, "Portal G", "g.example.gov.cn", backchannel_uri=fine.url, trusted=True
    )
    tokens = log_in(slow_rp, user["username"], user["password"])
    log_in(fine_rp, user["username"], user["password"])

    response = browser.get(
        "/logout",
        query_string={
            "id_token_hint": tokens["id_token"],
            "post_logout_redirect_uri": "https://h.example.gov.cn/logged-out",
        },
    )

    assert response.status_code == 303
    assert response.headers["Location"] == "https://h.example.gov.cn/logged-out"
    assert not logged_in(slow_rp)
    provider = quick.extensions["idp"]
    row = attempted(provider, slow_rp.client_id, timeout=15)
    assert row["status"] == "pending" and row["last_error"] == "ReadTimeout"
    assert hanging.tokens
    validate_logout_token(browser, fine.wait_for_tokens()[0], fine_rp.client_id)


def test_delivery_is_abandoned_after_the_give_up_time_and_audited(make_app, cli, receivers, user):
    """Durable delivery ends: after BACKCHANNEL_GIVE_UP the row is abandoned and audited."""
    brief = make_app(BACKCHANNEL_GIVE_UP=1, BACKCHANNEL_POLL_INTERVAL=1)
    browser = brief.test_client()
    port = receivers.closed_port()
    rp = register_portal(
        cli, browser, "Portal X", "x.example.gov.cn", backchannel_uri=f"http://127.0.0.1:{port}/bc"
    )
    tokens = log_in(rp, user["username"], user["password"])
    provider = brief.extensions["idp"]

    browser.get("/logout", query_string={"id_token_hint": tokens["id_token"]})

    row = wait_until(
        lambda: [r for r in deliveries(provider, rp.client_id) if r["status"] == "abandoned"],
        10,
        "an abandoned delivery",
    )[0]
    assert row["attempts"] >= 2 and row["last_error"] == "ConnectionError"
    events = audit_events(provider, "backchannel_logout_abandoned")
    assert [e["client_id"] for e in events] == [rp.client_id]
    assert events[0]["details"]["delivery"] == row["id"]
    assert events[0]["details"]["attempts"] == row["attempts"]
    assert cli.ok("backchannel", "deliver")["by_status"] == {"abandoned": 1}


def test_portal_without_backchannel_uri_gets_no_delivery(cli, client, provider, user):
    """Section 2.2: only portals that registered a backchannel_logout_uri are called."""
    rp = register_portal(cli, client, "Portal N", "n.example.gov.cn")
    tokens = log_in(rp, user["username"], user["password"])

    response = client.get("/logout", query_string={"id_token_hint": tokens["id_token"]})

    assert response.status_code == 200
    assert deliveries(provider) == []
    assert rp.refresh(tokens["refresh_token"]).get_json()["error"] == "invalid_grant"


def test_user_space_logout_also_tells_the_portals(client, portal_a, user):
    """RP-Initiated Logout 1.0 section 2 / Back-Channel Logout 1.0: logging out at the
    provider's own pages ends every portal session of the SSO session too."""
    from tests.support import csrf_token, form_action

    tokens = log_in(portal_a.rp, user["username"], user["password"])
    page = client.get("/account").get_data(as_text=True)

    response = client.post(
        form_action(page, "/account/logout"), data={"csrf_token": csrf_token(page)}
    )

    assert response.status_code == 303
    claims = validate_logout_token(
        client, portal_a.receiver.wait_for_tokens()[0], portal_a.rp.client_id
    )
    assert claims["sid"] == tokens["claims"]["sid"]
    assert portal_a.rp.refresh(tokens["refresh_token"]).get_json()["error"] == "invalid_grant"


def test_another_person_logging_in_ends_the_previous_session_everywhere(
    cli, client, portal_a, portal_b, user
):
    """A browser holds one SSO session: when another person logs in on it (a shared
    counter computer), the previous person's session ends and its portals are told."""
    alice = log_in(portal_a.rp, user["username"], user["password"])
    cli.ok("users", "create", "--username", "bob", "--password", "bob long password")

    bob = log_in(portal_b.rp, "bob", "bob long password", prompt="login")

    assert bob["claims"]["sub"] != user["sub"]
    claims = validate_logout_token(
        client, portal_a.receiver.wait_for_tokens()[0], portal_a.rp.client_id
    )
    assert claims["sub"] == user["sub"] and claims["sid"] == alice["claims"]["sid"]
    assert portal_a.rp.refresh(alice["refresh_token"]).get_json()["error"] == "invalid_grant"
    assert portal_b.receiver.tokens == []


def test_reauthentication_still_lets_logout_reach_earlier_portals(client, portal_a, portal_b, user):
    """Back-Channel Logout 1.0 section 2.5: no portal session outlives the provider session it
    belongs to. prompt=login starts a new session with a new sid, so the earlier session ends
    and its portal is told (and its refresh token stops), rather than being forgotten."""
    before = log_in(portal_a.rp, user["username"], user["password"])
    after = log_in(portal_b.rp, user["username"], user["password"], prompt="login")

    client.get("/logout", query_string={"id_token_hint": after["id_token"]})

    sids = {
        validate_logout_token(client, token, portal_a.rp.client_id)["sid"]
        for token in portal_a.receiver.wait_for_tokens()
    }
    assert sids == {before["claims"]["sid"]}
    assert portal_a.rp.refresh(before["refresh_token"]).get_json()["error"] == "invalid_grant"
    assert not logged_in(portal_a.rp)


def test_portals_logging_in_at_the_same_moment_are_all_told(cli, client, receivers, user):
    """Every portal of the session receives the token, even when several logged in silently at
    the same moment (tabs or iframes doing prompt=none together): none is lost from the
    session's list of portals."""
    portals = [
        (
            receiver,
            register_portal(
                cli,
                client,
                f"P{i}",
                f"p{i}.example.gov.cn",
                backchannel_uri=receiver.url,
                trusted=True,
            ),
        )
        for i, receiver in enumerate(receivers() for _ in range(6))
    ]
    first = log_in(portals[0][1], user["username"], user["password"])
    cookie = client.get_cookie("idp_session").value
    tabs = []
    for _receiver, rp in portals[1:]:
        tab = client.application.test_client()
        tab.set_cookie("idp_session", cookie)
        tabs.append(on_browser(rp, tab))
    start = threading.Barrier(len(tabs))
    results: list[dict[str, str]] = []

    def silent_login(rp) -> None:  # type: ignore[no-untyped-def]
        start.wait()
        results.append(rp.authorize(prompt="none").result)

    threads = [threading.Thread(target=silent_login, args=(rp,)) for rp in tabs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == len(tabs) and all("code" in r for r in results)

    client.get("/logout", query_string={"id_token_hint": first["id_token"]})

    for receiver, rp in portals:
        claims = validate_logout_token(client, receiver.wait_for_tokens()[0], rp.client_id)
        assert claims["sid"] == first["claims"]["sid"]
