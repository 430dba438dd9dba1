"""A portal and its users over real HTTP (``requests``), against one or more provider servers.

``Portal`` walks the real pages (authorize -> login -> agreement -> consent, every step a 303),
exchanges codes, refreshes, calls UserInfo and introspection. ``Recorder`` keeps every answer
with its timing and checks each one as it comes: a 5xx other than 503 is a violation, and so is
a 503 whose body is not the spec's (``temporarily_unavailable`` in JSON with ``Retry-After`` on
the protocol endpoints, the HTML error page with ``Retry-After`` on pages).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import requests

from tests.support import csrf_token, form_action, form_fields

JSON_PATHS = ("/token", "/userinfo", "/introspect", "/revoke")
SCOPE = "openid profile offline_access"
TIMEOUT = 15


def claims_of_token(jwt: str) -> dict[str, Any]:
    """A JWT's payload, unverified (tests/e2e validates signatures; here only values matter)."""
    payload = jwt.split(".")[1]
    decoded: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return decoded


class Unavailable(Exception):
    """The provider answered 503 (correctly): the step may be tried again later."""


class Refused(Exception):
    """The provider refused a step with a 4xx answer."""

    def __init__(self, what: str, response: requests.Response) -> None:
        super().__init__(f"{what}: {response.status_code} {response.text[:300]}")
        self.response = response


@dataclass
class Answer:
    kind: str
    status: int
    started: float
    ended: float


@dataclass
class Recorder:
    answers: list[Answer] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def call(
        self, kind: str, session: requests.Session, method: str, url: str, **kwargs: Any
    ) -> requests.Response:
        started = time.monotonic()
        try:
            response = session.request(
                method, url, timeout=TIMEOUT, allow_redirects=False, **kwargs
            )
        except requests.RequestException as exc:
            with self.lock:
                self.violations.append(f"{kind}: no answer ({type(exc).__name__})")
            raise
        ended = time.monotonic()
        problem = self.check(urlsplit(url).path, response)
        with self.lock:
            self.answers.append(Answer(kind, response.status_code, started, ended))
            if problem:
                self.violations.append(f"{kind} {response.status_code}: {problem}")
        if response.status_code == 503:
            raise Unavailable(kind)
        return response

    @staticmethod
    def check(path: str, response: requests.Response) -> str | None:
        status = response.status_code
        if status < 500:
            return None
        if status != 503:
            return response.text[:200]
        if not response.headers.get("Retry-After"):
            return "503 without Retry-After"
        if path.startswith(JSON_PATHS):
            try:
                body = response.json()
            except ValueError:
                return "503 without a JSON body"
            if body.get("error") != "temporarily_unavailable":
                return f"503 with error {body.get('error')!r}"
        elif not response.headers.get("Content-Type", "").startswith("text/html"):
            return "503 page that is not HTML"
        return None

    def by_status(self, started: float = 0.0, ended: float = float("inf")) -> Counter[int]:
        with self.lock:
            return Counter(
                a.status for a in self.answers if a.ended >= started and a.started <= ended
            )

    def by_kind_and_status(self, started: float, ended: float) -> dict[str, dict[int, int]]:
        table: dict[str, Counter[int]] = {}
        with self.lock:
            for a in self.answers:
                if a.ended >= started and a.started <= ended:
                    table.setdefault(a.kind, Counter())[a.status] += 1
        return {kind: dict(counts) for kind, counts in sorted(table.items())}


@dataclass
class Login:
    code: str
    verifier: str
    nonce: str
    accepted_agreement: bool
    consented: bool


@dataclass
class Portal:
    client_id: str
    client_secret: str
    redirect_uri: str
    recorder: Recorder

    @classmethod
    def register(cls, server: Any, name: str, recorder: Recorder, *extra: str) -> Portal:
        redirect = f"https://{name.lower().replace(' ', '-')}.example.gov.cn/callback"
        data = server.idp_json(
            "clients", "create", "--name", name, "--redirect-uri", redirect, "--json", *extra
        )
        return cls(data["client_id"], data["client_secret"], redirect, recorder)

    @property
    def basic(self) -> dict[str, str]:
        raw = f"{self.client_id}:{self.client_secret}".encode()
        return {"Authorization": "Basic " + base64.b64encode(raw).decode()}

    # -- front channel -------------------------------------------------------------------------
    def log_in(
        self, base: str, browser: requests.Session, username: str, password: str, **extra: str
    ) -> Login:
        """The whole front channel (prompt=consent by default: consent is asked every time)."""
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        nonce = secrets.token_urlsafe(12)
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": SCOPE,
            "state": secrets.token_urlsafe(12),
            "nonce": nonce,
            "code_challenge": challenge.rstrip(b"=").decode(),
            "code_challenge_method": "S256",
            "prompt": "consent",
            **extra,
        }
        rec = self.recorder
        response = rec.call("authorize", browser, "GET", f"{base}/authorize?{urlencode(params)}")
        accepted = consented = False
        for _ in range(6):
            if response.status_code != 303:
                raise Refused("authorize", response)
            location = urljoin(response.url, response.headers["Location"])
            if location.startswith(self.redirect_uri):
                query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
                if "code" not in query:
                    raise Refused(f"authorize: {query.get('error')}", response)
                assert query["state"] == params["state"]
                return Login(query["code"], verifier, nonce, accepted, consented)
            page = rec.call("page", browser, "GET", location)
            if page.status_code != 200:
                raise Refused("page", page)
            html = page.text
            if 'name="password"' in html:
                kind, action = "login", form_action(html, "/login")
                form = {"username": username, "password": password}
            elif 'name="version_id"' in html:
                kind, action = "agreement", form_action(html, "/agreement")
                form = {
                    "version_id": form_fields(html)["version_id"],
                    "accept_agreement": "yes",
                    "decision": "approve",
                }
            else:
                kind, action = "consent", form_action(html, "/consent")
                form = {"decision": "approve"}
            response = rec.call(
                kind,
                browser,
                "POST",
                urljoin(page.url, action),
                data={"csrf_token": csrf_token(html), **form},
            )
            if response.status_code == 303:
                accepted = accepted or kind == "agreement"
                consented = consented or kind == "consent"
        raise AssertionError("no redirect to the portal")

    # -- back channel --------------------------------------------------------------------------
    def exchange(self, base: str, http: requests.Session, login: Login) -> requests.Response:
        return self.recorder.call(
            "code exchange",
            http,
            "POST",
            f"{base}/token",
            headers=self.basic,
            data={
                "grant_type": "authorization_code",
                "code": login.code,
                "redirect_uri": self.redirect_uri,
                "code_verifier": login.verifier,
            },
        )

    def refresh(self, base: str, http: requests.Session, refresh_token: str) -> requests.Response:
        return self.recorder.call(
            "refresh",
            http,
            "POST",
            f"{base}/token",
            headers=self.basic,
            data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        )

    def userinfo(self, base: str, http: requests.Session, access_token: str) -> requests.Response:
        return self.recorder.call(
            "userinfo",
            http,
            "GET",
            f"{base}/userinfo",
            headers={"Authorization": f"Bearer {access_token}"},
        )

    def introspect(self, base: str, http: requests.Session, token: str) -> requests.Response:
        return self.recorder.call(
            "introspection", http, "POST", f"{base}/introspect", headers=self.basic,
            data={"token": token},
        )  # fmt: skip

    def revoke(self, base: str, http: requests.Session, token: str) -> requests.Response:
        return self.recorder.call(
            "revocation", http, "POST", f"{base}/revoke", headers=self.basic,
            data={"token": token},
        )  # fmt: skip
