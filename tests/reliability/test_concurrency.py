"""Races against real servers: many requests at the same moment, over two provider processes.

- RFC 6749 4.1.2: a code is used once; on a second use the provider SHOULD revoke the tokens
  already issued from it. 100 redemptions at once: exactly one succeeds, and what it issued is
  revoked.
- RFC 9700 4.14.2: a refresh token rotates; a rotated one redeemed again means it leaked, and
  the whole grant is revoked. Redeemed concurrently: one new pair, the reuse detected, the grant
  revoked (the new pair included).
- PIPL article 15: a withdrawn consent ends the portal's tokens at once, including tokens a
  refresh racing the withdrawal was issuing.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urljoin

import pytest
import requests

from tests.reliability.conftest import PASSWORD, create_users
from tests.reliability.portal import Portal, Recorder
from tests.support import csrf_token, form_action

WANG_PHONE = "13700137000"  # a phone of nobody in the demo registry
CLIENTS = 8  # threads firing the requests (the load stays bounded on a small machine)


def bases(servers: Any) -> list[str]:
    return [f"http://127.0.0.1:{server.port}" for server in servers]


def at_once(count: int, send: Any) -> list[requests.Response]:
    """``count`` requests from CLIENTS threads, released together by a barrier per wave."""
    barrier = threading.Barrier(CLIENTS)
    local = threading.local()

    def one(index: int) -> requests.Response:
        if not hasattr(local, "http"):
            local.http = requests.Session()
        if index < CLIENTS:
            barrier.wait(10)
        return send(index, local.http)  # type: ignore[no-any-return]

    with ThreadPoolExecutor(CLIENTS) as pool:
        return list(pool.map(one, range(count)))


def logged_in(server: Any, portal: Portal, username: str) -> tuple[requests.Session, Any]:
    browser = requests.Session()
    login = portal.log_in(bases([server])[0], browser, username, PASSWORD)
    return browser, login


def is_active(portal: Portal, base: str, token: str) -> bool:
    with requests.Session() as http:
        answer = portal.introspect(base, http, token)
    assert answer.status_code == 200, answer.text
    return answer.json()["active"] is True


def test_one_code_redeemed_100_times_at_once(servers, stores, figures):
    """Exactly one redemption takes the code (the Redis take-once) and is answered with tokens;
    the 99 others are ``invalid_grant`` and each revokes the grant (RFC 6749 4.1.2), so the
    tokens of the one that succeeded are revoked, whichever came first."""
    portal = Portal.register(servers[0], "Race portal code", Recorder())
    (username,) = create_users(servers[0], "race-code", 1)
    browser, login = logged_in(servers[0], portal, username)
    urls = bases(servers)

    answers = at_once(100, lambda i, http: portal.exchange(urls[i % 2], http, login))

    statuses = Counter(a.status_code for a in answers)
    assert set(statuses) == {200, 400} and statuses[200] == 1, statuses
    assert {a.json()["error"] for a in answers if a.status_code == 400} == {"invalid_grant"}
    # The 99 that found the code gone.
    gone = [a for a in answers if "Invalid 'code'" in a.text]
    assert len(gone) == 99, Counter(a.text for a in answers)
    (grant,) = stores.rows(
        "SELECT g.id, g.revoked_at, g.revoked_reason FROM grants g "
        "JOIN accounts a ON a.id = g.account_id WHERE a.username = :u AND g.client_id = :c",
        u=username,
        c=portal.client_id,
    )
    assert grant["revoked_at"] is not None and grant["revoked_reason"] == "code_reuse"
    issued = stores.rows("SELECT id FROM tokens WHERE grant_id = :g", g=grant["id"])
    assert len(issued) == statuses[200], issued  # one row per access + refresh pair
    for won in (a.json() for a in answers if a.status_code == 200):
        assert not is_active(portal, urls[0], won["access_token"])
        assert not is_active(portal, urls[1], won["refresh_token"])
    assert portal.recorder.violations == []
    figures.update({"code redemptions": dict(statuses), "code taken": 1})


def test_one_refresh_token_redeemed_at_once(servers, figures):
    portal = Portal.register(servers[0], "Race portal refresh", Recorder())
    (username,) = create_users(servers[0], "race-refresh", 1)
    urls = bases(servers)
    browser, login = logged_in(servers[0], portal, username)
    with requests.Session() as http:
        tokens = portal.exchange(urls[0], http, login).json()

    answers = at_once(
        24, lambda i, http: portal.refresh(urls[i % 2], http, tokens["refresh_token"])
    )

    statuses = Counter(a.status_code for a in answers)
    assert statuses[200] == 1 and statuses[400] == len(answers) - 1, statuses
    assert {a.json()["error"] for a in answers if a.status_code == 400} == {"invalid_grant"}
    (pair,) = [a.json() for a in answers if a.status_code == 200]
    # The reuse was detected: the grant is revoked, the new pair with it.
    for token in (tokens["access_token"], pair["access_token"], pair["refresh_token"]):
        assert not is_active(portal, urls[1], token)
    with requests.Session() as http:
        again = portal.refresh(urls[0], http, pair["refresh_token"])
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    figures.update({"refresh redemptions": dict(statuses)})


def test_consent_withdrawn_while_refreshing(servers, figures):
    """One thread refreshes as fast as it can (each answer's refresh token in the next request);
    another withdraws the consent in the user space. After the withdrawal has been answered, no
    token the portal ever received is active, whichever refresh won the race."""
    portal = Portal.register(servers[0], "Race portal withdrawal", Recorder())
    (username,) = create_users(servers[0], "race-withdraw", 1)
    urls = bases(servers)
    browser, login = logged_in(servers[0], portal, username)
    with requests.Session() as http:
        tokens = portal.exchange(urls[1], http, login).json()
    received = [tokens["access_token"], tokens["refresh_token"]]
    withdrawn = threading.Event()
    refreshed_after = 0

    def refresh_loop() -> None:
        nonlocal refreshed_after
        current = tokens["refresh_token"]
        with requests.Session() as http:
            for i in range(200):
                answer = portal.refresh(urls[i % 2], http, current)
                if answer.status_code != 200:
                    assert answer.json()["error"] == "invalid_grant", answer.text
                    return
                pair = answer.json()
                received.extend([pair["access_token"], pair["refresh_token"]])
                current = pair["refresh_token"]
                if withdrawn.is_set():
                    refreshed_after += 1

    refresher = threading.Thread(target=refresh_loop)
    refresher.start()
    deadline = time.monotonic() + 10
    while len(received) < 8 and refresher.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)  # the race begins with the refreshes well under way
    page = browser.get(f"{urls[0]}/account/consents", timeout=10)
    assert page.status_code == 200 and portal.client_id in page.text
    answer = browser.post(
        f"{urls[0]}/account/consents/withdraw",
        data={"csrf_token": csrf_token(page.text), "client_id": portal.client_id},
        allow_redirects=False,
        timeout=10,
    )
    withdrawn.set()
    refresher.join(60)

    assert answer.status_code == 303 and "withdrawn=1" in answer.headers["Location"]
    assert not refresher.is_alive()
    assert refreshed_after <= 1, "refreshes went on after the withdrawal"
    alive = [token for token in received if is_active(portal, urls[1], token)]
    assert alive == [], f"{len(alive)} of {len(received)} tokens survived the withdrawal"
    figures.update({"tokens checked after withdrawal": len(received)})


def outbox_code(servers: Any, phone: str, timeout: float = 10) -> str:
    """The code the servers' SMS sender threads wrote for ``phone`` (each server has its own
    development outbox file, IDP_SMS_OUTBOX under its instance folder)."""
    from idp.identity.sms import SmsCodes

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for server in servers:
            outbox = f"{server.settings['IDP_INSTANCE_DIR']}/sms-outbox.jsonl"
            entries = SmsCodes.read_outbox(outbox, phone=phone, limit=10)
            if entries:
                return str(entries[0]["code"])
        time.sleep(0.1)
    raise AssertionError(f"no SMS for {phone}")


def registration_form(base: str, browser: requests.Session) -> str:
    """The user space's registration page, reached from its login page's link."""
    login = browser.get(f"{base}/account/login", timeout=10)
    assert login.status_code == 200
    links = [
        h
        for h in re.findall(r'href="([^"]+)"', login.text)
        if h.split("?")[0].endswith("/register")
    ]
    page = browser.get(urljoin(login.url, links[0]), timeout=10)
    assert page.status_code == 200, page.status_code
    return page.text


@pytest.mark.parametrize("shared", ["id_number", "phone"])
def test_concurrent_registrations_make_one_account(servers, stores, figures, shared):
    """An ID number (GB 11643) and a phone belong to one account (their blind indexes are
    unique keys): two registrations sharing one of them at the same moment, on the two servers,
    leave exactly one account; the other person is refused, never shown a 500."""
    from tests.realname.helpers import LI_SI, WANG_WU, ZHANG_SAN, form_for

    if shared == "id_number":  # one person, two phones
        people, phones = [ZHANG_SAN, ZHANG_SAN], [ZHANG_SAN.phone, "13912345678"]
    else:  # two people, one phone
        people, phones = [LI_SI, WANG_WU], [WANG_PHONE, WANG_PHONE]
    urls = bases(servers)
    forms = []
    for base, phone in zip(urls, phones, strict=True):
        browser = requests.Session()
        html = registration_form(base, browser)
        action = urljoin(base + "/", form_action(html, "/register"))
        csrf = csrf_token(html)
        if phone not in [f[3] for f in forms]:  # one code per phone (and a minute between two)
            sent = browser.post(
                action, data={"csrf_token": csrf, "phone": phone, "action": "send_code"},
                timeout=10,
            )  # fmt: skip
            assert sent.status_code == 200, sent.status_code
            csrf = csrf_token(sent.text)
        forms.append((browser, action, csrf, phone))
    codes = [outbox_code(servers, phone) for phone in phones]
    before = stores.rows("SELECT count(*) AS n FROM accounts")[0]["n"]
    barrier = threading.Barrier(len(forms))

    def submit(index: int) -> requests.Response:
        browser, action, csrf, phone = forms[index]
        fields = {**form_for(people[index], phone=phone), "sms_code": codes[index]}
        barrier.wait(10)
        return browser.post(
            action,
            data={"csrf_token": csrf, **fields, "action": "register"},
            allow_redirects=False,
            timeout=30,
        )

    with ThreadPoolExecutor(len(forms)) as pool:
        answers = list(pool.map(submit, range(len(forms))))

    statuses = sorted(a.status_code for a in answers)
    after = stores.rows("SELECT count(*) AS n FROM accounts")[0]["n"]
    assert after - before == 1, (statuses, [a.text[:200] for a in answers])
    assert statuses[0] == 303 or statuses[1] == 303, statuses
    assert all(s < 500 for s in statuses), statuses
    figures.update({f"registrations sharing one {shared}": statuses})
