"""Scale-out: two provider processes on one PostgreSQL and one Redis, as behind a load balancer.

Everything a request needs is in the shared stores, never in one process: a login at one server
is exchanged at the other, refreshed at either; a logout, an account's suspension or a portal's
suspension at one is felt by the other at its next request. Portals and agreements are cached
per process, with a version number in Redis (``idp.store.versions``): a change bumps the
version, and every process drops its copy when it sees a newer one.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import requests

from tests.reliability.conftest import PASSWORD, create_users
from tests.reliability.portal import Portal, Recorder, claims_of_token


def bases(servers: Any) -> tuple[str, str]:
    return f"http://127.0.0.1:{servers[0].port}", f"http://127.0.0.1:{servers[1].port}"


def silent_login(portal: Portal, base: str, browser: requests.Session) -> dict[str, str]:
    """OIDC Core 3.1.2.1 prompt=none: the answer at the redirect URI (a code or an error)."""
    params = {
        "response_type": "code",
        "client_id": portal.client_id,
        "redirect_uri": portal.redirect_uri,
        "scope": "openid",
        "state": "s",
        "nonce": "n",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
        "prompt": "none",
    }
    answer = browser.get(f"{base}/authorize?{urlencode(params)}", allow_redirects=False, timeout=10)
    assert answer.status_code in (302, 303), (answer.status_code, answer.text[:300])
    location = answer.headers["Location"]
    assert location.startswith(portal.redirect_uri), location
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def signed_in(
    servers: Any, portal: Portal, username: str
) -> tuple[requests.Session, dict[str, Any]]:
    """Log in at the first server, exchange the code at the second."""
    first, second = bases(servers)
    browser = requests.Session()
    login = portal.log_in(first, browser, username, PASSWORD)
    with requests.Session() as http:
        answer = portal.exchange(second, http, login)
    assert answer.status_code == 200, answer.text
    return browser, answer.json()


def test_login_on_one_exchange_on_the_other_refresh_on_either(servers):
    portal = Portal.register(servers[0], "Scale portal flow", Recorder())
    (username,) = create_users(servers[0], "scale-flow", 1)
    first, second = bases(servers)
    browser, tokens = signed_in(servers, portal, username)
    sub = claims_of_token(tokens["id_token"])["sub"]
    with requests.Session() as http:
        current = tokens
        for base in (first, second, second, first):
            renewed = portal.refresh(base, http, current["refresh_token"])
            assert renewed.status_code == 200, renewed.text
            current = renewed.json()
            for other in (first, second):
                info = portal.userinfo(other, http, current["access_token"])
                assert info.status_code == 200 and info.json()["sub"] == sub
    # The single sign-on session is shared too: a silent login at the other server.
    assert "code" in silent_login(portal, second, browser)
    assert portal.recorder.violations == []


def test_logout_on_one_is_felt_on_both(servers):
    portal = Portal.register(servers[0], "Scale portal logout", Recorder())
    (username,) = create_users(servers[0], "scale-logout", 1)
    first, second = bases(servers)
    browser, tokens = signed_in(servers, portal, username)
    assert "code" in silent_login(portal, second, browser)

    ended = browser.get(
        f"{first}/logout", params={"id_token_hint": tokens["id_token"]}, allow_redirects=False,
        timeout=10,
    )  # fmt: skip
    # No post_logout_redirect_uri: the provider's own "logged out" page (RP-Initiated 1.0 2).
    assert ended.status_code == 200 and 'name="confirmation"' not in ended.text

    for base in (first, second):
        assert silent_login(portal, base, browser)["error"] == "login_required"
    with requests.Session() as http:
        refused = portal.refresh(second, http, tokens["refresh_token"])
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"


def test_suspension_by_the_command_is_felt_on_both_at_once(servers):
    portal = Portal.register(servers[0], "Scale portal suspension", Recorder())
    (username,) = create_users(servers[0], "scale-suspend", 1)
    first, second = bases(servers)
    browser, tokens = signed_in(servers, portal, username)

    servers[1].idp("users", "suspend", username, "--reason", "scale-out test")

    with requests.Session() as http:
        for base in (first, second):
            assert portal.userinfo(base, http, tokens["access_token"]).status_code == 401
            seen = portal.introspect(base, http, tokens["access_token"])
            assert seen.json() == {"active": False}
            assert silent_login(portal, base, browser)["error"] == "login_required"
        refused = portal.refresh(first, http, tokens["refresh_token"])
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"


def test_portal_disabled_through_one_servers_admin_api_is_refused_by_the_other(servers):
    """The portal cache of the second process holds the portal (it served it a moment ago);
    the change made through the first one's admin API bumps the version in Redis, so the second
    drops its copy at its next request."""
    portal = Portal.register(servers[0], "Scale portal disabled", Recorder())
    (operator, username) = create_users(servers[0], "scale-admin", 2)
    servers[0].idp("admins", "grant", operator, "--role", "operator", "--reason", "scale-out")
    api_token = servers[0].idp_json("admins", "api-token", operator, "--name", "scale-out")["token"]
    first, second = bases(servers)
    browser, tokens = signed_in(servers, portal, username)
    with requests.Session() as http:  # both processes have the portal cached now
        for base in (first, second):
            assert portal.introspect(base, http, tokens["access_token"]).json()["active"]

    changed = requests.patch(
        f"{first}/admin/api/clients/{portal.client_id}",
        json={"status": "disabled", "reason": "scale-out test"},
        headers={"Authorization": f"Bearer {api_token}"},
        timeout=10,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["status"] == "disabled"

    with requests.Session() as http:
        refused = portal.refresh(second, http, tokens["refresh_token"])
        assert refused.status_code in (400, 401), refused.text
        assert refused.json()["error"] in ("invalid_client", "invalid_grant"), refused.text
        assert portal.userinfo(second, http, tokens["access_token"]).status_code == 401
    page = requests.get(
        f"{second}/authorize",
        params={"response_type": "code", "client_id": portal.client_id,
                "redirect_uri": portal.redirect_uri, "scope": "openid"},
        allow_redirects=False,
        timeout=10,
    )  # fmt: skip
    assert page.status_code == 400, page.status_code  # untrusted: no redirect (RFC 9700 4.11)


def test_agreement_published_by_the_command_is_asked_for_by_both(servers, stores, tmp_path):
    """The agreements are cached per process too: a material version published with the
    command (another process again) is asked for at the next login at either server."""
    portal = Portal.register(servers[0], "Scale portal agreement", Recorder())
    (username,) = create_users(servers[0], "scale-agreement", 1)
    first, second = bases(servers)
    for base in (first, second):  # both processes have the current agreements cached now
        with requests.Session() as browser:
            portal.log_in(base, browser, username, PASSWORD)
    text = tmp_path / "agreement.txt"
    text.write_text("自然人用户服务协议（扩展测试版）\n\n第一条 本协议经更新。\n", encoding="utf-8")

    servers[0].idp(
        "agreements", "publish", "--kind", "natural_person", "--file", str(text), "--material"
    )

    for base in (second, first):
        with requests.Session() as browser:
            login = portal.log_in(base, browser, username, PASSWORD)
        assert login.accepted_agreement == (base == second), base
    (latest,) = stores.rows(
        "SELECT max(version) AS v FROM agreement_versions WHERE kind = 'natural_person'"
    )
    accepted = stores.rows(
        "SELECT a.version FROM agreement_acceptances a JOIN accounts u ON u.id = a.account_id "
        "WHERE u.username = :u AND a.kind = 'natural_person'",
        u=username,
    )
    assert latest["v"] in {row["version"] for row in accepted}
