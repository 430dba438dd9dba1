"""Helpers for the portal API tests (matters and messages): a portal registered for the portal
scopes, its client-credentials token, a person who logged in to it, and the calls."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.account.helpers import account_login
from tests.support import CliRunner, RelyingParty

CATALOGUE = Path(__file__).resolve().parents[2] / "idp" / "data" / "matters.sample.json"
REDIRECT = "https://tax.example.gov.cn/callback"


@dataclass
class Portal:
    rp: RelyingParty
    client_id: str
    client_secret: str

    def token(self, scope: str | None = None, **extra: Any) -> Any:
        basic = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        form = {"grant_type": "client_credentials", **extra}
        if scope is not None:
            form["scope"] = scope
        return self.rp.browser.post(
            "/token", data=form, headers={"Authorization": f"Basic {basic}"}
        )

    def access_token(self, scope: str | None = None) -> str:
        response = self.token(scope)
        assert response.status_code == 200, response.get_json()
        return str(response.get_json()["access_token"])

    def sub_of(self, user: dict[str, str]) -> str:
        """Log ``user`` in to this portal (a fresh browser) and return the ``sub`` it sees."""
        browser = self.rp.browser.application.test_client()
        rp = RelyingParty(browser, self.client_id, self.client_secret, self.rp.redirect_uri)
        attempt = rp.login(user["username"], user["password"])
        tokens = rp.exchange(attempt).get_json()
        return str(rp.validate_id_token(tokens["id_token"])["sub"])


def make_portal(
    cli: CliRunner,
    browser: Any,
    *,
    name: str = "Tax Portal",
    redirect: str = REDIRECT,
    scopes: tuple[str, ...] = ("matters:write", "messages:send"),
    matters: tuple[str, ...] = ("tax",),
    extra: tuple[str, ...] = (),
) -> Portal:
    cli.ok("matters", "import", str(CATALOGUE))
    args = ["clients", "create", "--name", name, "--redirect-uri", redirect, "--json"]
    for scope in ("openid", "profile", *scopes):
        args += ["--scope", scope]
    for matter in matters:
        args += ["--matter", matter]
    data = cli.ok(*args, *extra)
    rp = RelyingParty(browser, data["client_id"], data["client_secret"], redirect)
    return Portal(rp, data["client_id"], data["client_secret"])


def call(browser: Any, method: str, path: str, token: str | None, body: Any = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return browser.open(path, method=method, json=body, headers=headers)


def signed_in_browser(app: Any, user: dict[str, str]) -> Any:
    browser = app.test_client()
    response = account_login(browser, user["username"], user["password"])
    assert response.status_code == 303, response.status_code
    return browser
