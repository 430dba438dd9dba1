"""The logs of a whole journey hold no personal data and no secret (issue 20, "Done when").

A real ``idp serve`` (Granian, JSON logs) is walked like a browser and a portal would: a
real-name registration from inside an authorization request (SMS code from the development
outbox), consent, the code exchanged for tokens, UserInfo, a login by phone number and
password, a failed login, RP-Initiated Logout. Then every line the server wrote, and every line
the ``idp`` command wrote on stderr, must be a JSON object with the required fields, and none
may contain the registered name, ID number, phone number, bank card, the passwords, the SMS
code, the authorization code, the tokens or the client secret.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import pytest
import requests

from idp.identity.sms import SmsCodes
from tests.e2e.server import IDP, ProviderServer
from tests.realname.helpers import PASSWORD, ZHANG_SAN, link_ending
from tests.support import csrf_token, form_action, form_fields

PERSON = ZHANG_SAN
WRONG_PASSWORD = "not the right password 99"
REDIRECT_URI = "https://portal.example.gov.cn/callback"
RFC3339_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")


@pytest.fixture(scope="module")
def server() -> Iterator[ProviderServer]:
    provider = ProviderServer(workers=1, threads=4, IDP_LOG_FORMAT="json")
    try:
        provider.start()
        yield provider
    finally:
        provider.stop()


class Browser:
    """A ``requests.Session`` that walks the provider's pages: every answer a 303 or a page."""

    def __init__(self, server: ProviderServer) -> None:
        self.server = server
        self.session = requests.Session()

    def get(self, url: str) -> requests.Response:
        return self.session.get(urljoin(self.server.issuer, url), allow_redirects=False, timeout=10)

    def post(self, page: requests.Response, action: str, data: dict[str, Any]) -> requests.Response:
        html = page.text
        return self.session.post(
            urljoin(page.url, form_action(html, action)),
            data={"csrf_token": csrf_token(html), **data},
            allow_redirects=False,
            timeout=10,
        )


def authorization_url(server: ProviderServer, client_id: str, **extra: str) -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": "openid profile phone",
        "state": secrets.token_urlsafe(12),
        "nonce": secrets.token_urlsafe(12),
        "code_challenge": challenge.rstrip(b"=").decode(),
        "code_challenge_method": "S256",
        **extra,
    }
    return f"{server.issuer}/authorize?{urlencode(params)}", verifier


def walk(browser: Browser, response: requests.Response, login: tuple[str, str] | None) -> str:
    """Follow 303s through login (``login``: identifier, password), agreement and consent until
    the portal's redirect URI; returns the code."""
    for _ in range(8):
        assert response.status_code == 303, (response.status_code, response.text[:300])
        location = urljoin(response.url, response.headers["Location"])
        if location.startswith(REDIRECT_URI):
            return parse_qs(urlsplit(location).query)["code"][0]
        page = browser.get(location)
        assert page.status_code == 200, page.status_code
        html = page.text
        if 'name="password"' in html and login:
            response = browser.post(page, "/login", {"username": login[0], "password": login[1]})
        elif 'name="version_id"' in html:
            response = browser.post(
                page,
                "/agreement",
                {"version_id": form_fields(html)["version_id"], "accept_agreement": "yes"},
            )
        else:
            response = browser.post(page, "/consent", {"decision": "approve"})
    raise AssertionError("the login did not reach the portal")


def cli_stderr(server: ProviderServer, *args: str) -> str:
    """Run ``idp`` against the server's state and keep what it logs (stderr)."""
    done = subprocess.run(
        [IDP, *args], env=server.env(), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stderr


def sms_code(server: ProviderServer, outbox: Path, cli_logs: list[str]) -> str:
    cli_logs.append(cli_stderr(server, "sms", "send-pending"))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        entries = SmsCodes.read_outbox(outbox, phone=PERSON.phone, limit=1)
        if entries:
            return str(entries[0]["code"])
        time.sleep(0.2)
    raise AssertionError("no SMS code in the outbox")


def token(server: ProviderServer, portal: dict[str, str], code: str, verifier: str) -> Any:
    response = requests.post(
        f"{server.issuer}/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        },
        auth=(portal["client_id"], portal["client_secret"]),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    assert response.headers["X-Request-ID"]
    return response.json()


def test_journey_logs_hold_no_personal_data_and_no_secret(server: ProviderServer) -> None:
    portal = server.idp_json(
        "clients", "create", "--name", "Log Scan Portal", "--redirect-uri", REDIRECT_URI,
        "--scope", "profile", "--scope", "phone", "--json",
    )  # fmt: skip
    outbox = Path(server.settings["IDP_INSTANCE_DIR"]) / "sms-outbox.jsonl"
    cli_logs: list[str] = []
    secrets_seen: list[str] = [portal["client_secret"]]

    # 1. Registration from inside an authorization request, with the SMS code.
    browser = Browser(server)
    url, verifier = authorization_url(server, portal["client_id"])
    login_page = browser.get(browser.get(url).headers["Location"])
    register = browser.get(link_ending(login_page.text, "/register"))
    assert register.status_code == 200
    fields = {
        "name": PERSON.name,
        "id_type": "resident_id",
        "id_number": PERSON.id_number,
        "phone": PERSON.phone,
        "password": PASSWORD,
        "password_confirm": PASSWORD,
        "accept_agreement": "yes",
    }
    sent = browser.post(register, "/register", {"phone": PERSON.phone, "action": "send_code"})
    assert sent.status_code == 200, sent.status_code
    code = sms_code(server, outbox, cli_logs)
    secrets_seen.append(code)
    done = browser.post(sent, "/register", {**fields, "sms_code": code, "action": "register"})
    authorization_code = walk(browser, done, None)
    tokens = token(server, portal, authorization_code, verifier)
    secrets_seen += [authorization_code, tokens["access_token"], tokens["id_token"]]
    userinfo = requests.get(
        f"{server.issuer}/userinfo",
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
        timeout=10,
    )
    assert userinfo.status_code == 200, userinfo.text

    # 2. A login by phone number and password, in a new browser; then a failed one.
    again = Browser(server)
    url, verifier = authorization_url(server, portal["client_id"], prompt="login")
    second_code = walk(again, again.get(url), (PERSON.phone, PASSWORD))
    second = token(server, portal, second_code, verifier)
    secrets_seen += [second_code, second["access_token"], second["id_token"]]
    secrets_seen += [t["refresh_token"] for t in (tokens, second) if "refresh_token" in t]

    failing = Browser(server)
    url, _ = authorization_url(server, portal["client_id"], prompt="login")
    page = failing.get(failing.get(url).headers["Location"])
    refused = failing.post(page, "/login", {"username": PERSON.phone, "password": WRONG_PASSWORD})
    assert refused.status_code in (200, 400, 401, 429), refused.status_code
    assert refused.headers["X-Request-ID"]

    # 3. RP-Initiated Logout with the ID token as the hint.
    logout = again.get(
        "/logout?"
        + urlencode({"id_token_hint": second["id_token"], "client_id": portal["client_id"]})
    )
    assert logout.status_code in (200, 303), logout.status_code
    if logout.status_code == 200 and 'name="confirmation"' in logout.text:
        ended = again.post(
            logout, "/logout/confirm", {**form_fields(logout.text), "decision": "logout"}
        )
        assert ended.status_code in (200, 303), ended.status_code

    cli_logs.append(cli_stderr(server, "audit", "chain"))
    cli_logs.append(cli_stderr(server, "db", "upgrade"))  # Alembic logs through the same root
    time.sleep(0.5)  # the last access lines
    server_lines = server.log_path.read_text(encoding="utf-8").splitlines()
    cli_lines = [line for text in cli_logs for line in text.splitlines()]
    assert cli_lines, "the idp command wrote no log line"

    # Every line is one JSON event with the required fields.
    access = []
    for line in server_lines + cli_lines:
        event = json.loads(line)
        assert isinstance(event, dict), line
        assert {"time", "level", "logger", "message"} <= set(event), line
        assert RFC3339_UTC.fullmatch(event["time"]), event["time"]
        if event["logger"] == "idp.access":
            assert {"request_id", "method", "status", "duration_ms"} <= set(event), line
            access.append(event)
    routes = {event.get("route") for event in access}
    assert {"/authorize", "/token", "/userinfo", "/logout"} <= routes, routes
    assert any("/interaction/<" in (route or "") for route in routes), routes
    assert any(e.get("client_id") == portal["client_id"] for e in access if e["route"] == "/token")
    assert all("?" not in (event.get("route") or "") for event in access)
    steps = [e for e in access if (e.get("route") or "").startswith("/interaction/<")]
    assert all(e.get("client_id") == portal["client_id"] for e in steps), steps

    # None holds a personal value or a secret, in any spelling JSON may give it.
    forbidden = {
        "name": PERSON.name,
        "id number": PERSON.id_number,
        "phone": PERSON.phone,
        "password": PASSWORD,
        "wrong password": WRONG_PASSWORD,
        **{f"bank card {i}": card for i, card in enumerate(PERSON.bank_cards)},
        **{f"secret {i}": value for i, value in enumerate(secrets_seen)},
    }
    text = "\n".join(server_lines + cli_lines)
    for label, value in forbidden.items():
        for spelling in {value, json.dumps(value)[1:-1], value.replace("+", "%2B")}:
            assert spelling not in text, f"the logs contain the {label}"
    # The phone number as a person might type it, with spaces or dashes.
    phone = PERSON.phone
    for spelling in (
        f"{phone[:3]} {phone[3:7]} {phone[7:]}",
        f"{phone[:3]}-{phone[3:7]}-{phone[7:]}",
    ):
        assert spelling not in text, "the logs contain the phone number"
