"""Test helpers: a relying party that drives the provider through its public interface.

It builds authorization requests (state, nonce, PKCE S256), walks the real login and consent
forms like a browser (following 303s, posting the CSRF token), exchanges codes, and validates
ID tokens with an independent JOSE library (jwcrypto) against the published JWKS.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import re
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from jwcrypto import jwk, jwt

ISSUER = "http://localhost"


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def form_fields(html: str) -> dict[str, str]:
    return dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', html))


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "no csrf_token in page"
    return match.group(1)


def form_action(html: str, contains: str = "") -> str:
    for action in re.findall(r'<form[^>]*action="([^"]+)"', html):
        if contains in action:
            return action.replace("&amp;", "&")
    raise AssertionError(f"no form posting to *{contains}* in page")


class CliRunner:
    """Runs ``idp.cli.main`` in-process and captures its output."""

    def run(self, *args: str) -> tuple[int, str, str]:
        from idp.cli import main

        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(args))
        return code, out.getvalue(), err.getvalue()

    def ok(self, *args: str) -> Any:
        code, out, err = self.run(*args)
        assert code == 0, f"idp {' '.join(args)} failed ({code}): {err}"
        try:
            return json.loads(out)
        except ValueError:
            return out


@dataclass
class AuthorizationAttempt:
    params: dict[str, str]
    verifier: str | None
    response: Any = None  # the last HTTP response seen
    result: dict[str, str] = field(default_factory=dict)  # parameters returned to redirect_uri


@dataclass
class RelyingParty:
    browser: Any  # Flask test client
    client_id: str
    client_secret: str | None
    redirect_uri: str

    # -- authorization -----------------------------------------------------------------------
    def authorization_params(self, **overrides: Any) -> tuple[dict[str, str], str | None]:
        verifier, challenge = pkce_pair()
        params: dict[str, Any] = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": "openid profile",
            "state": secrets.token_urlsafe(12),
            "nonce": secrets.token_urlsafe(12),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        params.update(overrides)
        params = {k: v for k, v in params.items() if v is not None}
        if "code_challenge" not in params:
            verifier = None
        return params, verifier

    def authorize(self, **overrides: Any) -> AuthorizationAttempt:
        """GET /authorize and return the attempt (response = the provider's first answer)."""
        params, verifier = self.authorization_params(**overrides)
        response = self.browser.get("/authorize?" + urlencode(params))
        attempt = AuthorizationAttempt(params, verifier, response)
        self._capture(attempt)
        return attempt

    def _capture(self, attempt: AuthorizationAttempt) -> None:
        location = attempt.response.headers.get("Location", "")
        if attempt.response.status_code in (302, 303) and location.startswith(self.redirect_uri):
            parts = urlsplit(location)
            attempt.result = {k: v[0] for k, v in parse_qs(parts.query or parts.fragment).items()}

    def follow(self, attempt: AuthorizationAttempt) -> str:
        """Follow a redirect to an interaction page and return its HTML."""
        location = attempt.response.headers["Location"]
        assert location.startswith("/interaction/"), location
        page = self.browser.get(location)
        assert page.status_code == 200, page.status_code
        attempt.response = page
        return page.get_data(as_text=True)

    def submit_login(self, attempt: AuthorizationAttempt, username: str, password: str) -> Any:
        html = attempt.response.get_data(as_text=True)
        response = self.browser.post(
            form_action(html, "/login"),
            data={"csrf_token": csrf_token(html), "username": username, "password": password},
        )
        attempt.response = response
        self._capture(attempt)
        return response

    def submit_consent(self, attempt: AuthorizationAttempt, decision: str = "approve") -> Any:
        html = attempt.response.get_data(as_text=True)
        response = self.browser.post(
            form_action(html, "/consent"),
            data={"csrf_token": csrf_token(html), "decision": decision},
        )
        attempt.response = response
        self._capture(attempt)
        return response

    def login(
        self, username: str, password: str, *, consent: str = "approve", **overrides: Any
    ) -> AuthorizationAttempt:
        """The whole front channel: authorize, log in if asked, consent if asked."""
        attempt = self.authorize(**overrides)
        for _ in range(4):
            if attempt.result:
                return attempt
            location = attempt.response.headers.get("Location", "")
            if attempt.response.status_code != 303 or not location.startswith("/interaction/"):
                return attempt
            html = self.follow(attempt)
            if 'name="password"' in html:
                self.submit_login(attempt, username, password)
            elif 'name="decision"' in html:
                self.submit_consent(attempt, consent)
            else:
                raise AssertionError("unexpected interaction page")
        return attempt

    # -- back channel ------------------------------------------------------------------------
    def client_auth(self) -> tuple[dict[str, str], dict[str, str]]:
        """(headers, form fields) for this client's authentication."""
        if self.client_secret is None:
            return {}, {"client_id": self.client_id}
        basic = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        return {"Authorization": f"Basic {basic}"}, {}

    def token_request(self, **form: Any) -> Any:
        headers, auth_fields = self.client_auth()
        return self.browser.post("/token", data={**auth_fields, **form}, headers=headers)

    def exchange(self, attempt: AuthorizationAttempt, **extra: Any) -> Any:
        form = {
            "grant_type": "authorization_code",
            "code": attempt.result["code"],
            "redirect_uri": self.redirect_uri,
        }
        if attempt.verifier:
            form["code_verifier"] = attempt.verifier
        form.update(extra)
        return self.token_request(**form)

    def refresh(self, refresh_token: str, **extra: Any) -> Any:
        return self.token_request(grant_type="refresh_token", refresh_token=refresh_token, **extra)

    def introspect(self, token: str, **extra: Any) -> Any:
        headers, auth_fields = self.client_auth()
        return self.browser.post(
            "/introspect", data={**auth_fields, "token": token, **extra}, headers=headers
        )

    def revoke(self, token: str, **extra: Any) -> Any:
        headers, auth_fields = self.client_auth()
        return self.browser.post(
            "/revoke", data={**auth_fields, "token": token, **extra}, headers=headers
        )

    def userinfo(self, access_token: str) -> Any:
        return self.browser.get("/userinfo", headers={"Authorization": f"Bearer {access_token}"})

    def validate_id_token(self, id_token: str, nonce: str | None = None) -> dict[str, Any]:
        """Verify signature and standard claims with jwcrypto, independently of the provider."""
        keys = jwk.JWKSet.from_json(self.browser.get("/jwks.json").get_data(as_text=True))
        token = jwt.JWT(jwt=id_token, key=keys, algs=["RS256", "ES256"], expected_type="JWS")
        claims = json.loads(token.claims)
        assert claims["iss"] == ISSUER
        assert claims["aud"] == self.client_id or self.client_id in claims["aud"]
        assert claims["exp"] > claims["iat"]
        if nonce is not None:
            assert claims["nonce"] == nonce
        return claims


class AppFactory:
    """Builds extra applications with ``idp.create_app(overrides)``: the same stores as the
    suite's app (the settings come from the environment), with some settings changed. Each is
    closed afterwards: back-channel dispatcher stopped, database and Redis connections closed."""

    def __init__(self) -> None:
        self.built: list[Any] = []

    def __call__(self, **overrides: Any) -> Any:
        from idp import create_app

        application = create_app(overrides)
        self.built.append(application)
        return application

    def close(self) -> None:
        for application in self.built:
            application.extensions["idp"].close()
