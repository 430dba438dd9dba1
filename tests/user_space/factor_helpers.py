"""Helpers for the second-factor tests: TOTP codes computed independently (RFC 6238 with
HMAC-SHA-1, as an authenticator app does), a software WebAuthn authenticator (ES256, ``none``
attestation: what a browser and a platform authenticator would send), and the walk through a
portal login that stops at the second factor."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import struct
import time
from dataclasses import dataclass, field
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from tests.support import ISSUER, AuthorizationAttempt, RelyingParty, csrf_token, form_action


def totp_code(secret: str, at: float | None = None, offset: int = 0) -> str:
    compact = secret.replace(" ", "").upper()
    key = base64.b32decode(compact + "=" * (-len(compact) % 8))
    step = int((time.time() if at is None else at) // 30) + offset
    mac = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    pos = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[pos : pos + 4])[0] & 0x7FFFFFFF
    return str(value % 10**6).zfill(6)


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64u(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class SoftAuthenticator:
    """One passkey on a software authenticator: user present and verified, a counter."""

    origin: str = ISSUER
    rp_id: str = "localhost"
    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    credential_id: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    sign_count: int = 0

    def _client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        return json.dumps(
            {
                "type": kind,
                "challenge": challenge,
                "origin": origin or self.origin,
                "crossOrigin": False,
            }
        ).encode()

    def _cose_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return cbor2.dumps(
            {
                1: 2,
                3: -7,
                -1: 1,
                -2: numbers.x.to_bytes(32, "big"),
                -3: numbers.y.to_bytes(32, "big"),
            }
        )

    def create(self, options: dict[str, Any], *, origin: str | None = None) -> str:
        """The JSON the page's script posts after ``navigator.credentials.create``."""
        rp_hash = hashlib.sha256(self.rp_id.encode()).digest()
        flags = 0x01 | 0x04 | 0x40  # user present, user verified, attested credential data
        attested = bytes(16) + struct.pack(">H", len(self.credential_id)) + self.credential_id
        auth_data = rp_hash + bytes([flags]) + struct.pack(">I", self.sign_count) + attested
        auth_data += self._cose_key()
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        client_data = self._client_data("webauthn.create", options["challenge"], origin)
        return json.dumps(
            {
                "id": b64u(self.credential_id),
                "rawId": b64u(self.credential_id),
                "type": "public-key",
                "response": {
                    "clientDataJSON": b64u(client_data),
                    "attestationObject": b64u(attestation),
                    "transports": ["internal"],
                },
                "clientExtensionResults": {},
            }
        )

    def get(self, options: dict[str, Any], *, origin: str | None = None) -> str:
        """The JSON the page's script posts after ``navigator.credentials.get``."""
        self.sign_count += 1
        rp_hash = hashlib.sha256(self.rp_id.encode()).digest()
        auth_data = rp_hash + bytes([0x05]) + struct.pack(">I", self.sign_count)
        client_data = self._client_data("webauthn.get", options["challenge"], origin)
        signed = auth_data + hashlib.sha256(client_data).digest()
        signature = self.key.sign(signed, ec.ECDSA(hashes.SHA256()))
        return json.dumps(
            {
                "id": b64u(self.credential_id),
                "rawId": b64u(self.credential_id),
                "type": "public-key",
                "response": {
                    "clientDataJSON": b64u(client_data),
                    "authenticatorData": b64u(auth_data),
                    "signature": b64u(signature),
                    "userHandle": None,
                },
                "clientExtensionResults": {},
            }
        )


def options_from(html: str, element_id: str) -> dict[str, Any]:
    match = re.search(
        rf'<script type="application/json" id="{element_id}">(.*?)</script>', html, re.S
    )
    assert match, f"no {element_id} on the page"
    return json.loads(match.group(1))


def totp_secret_on(html: str) -> tuple[str, str]:
    """(secret, factor_id) shown on the enrolment page."""
    secret = re.search(r'<code id="totp-secret">([A-Z2-7 ]+)</code>', html)
    factor = re.search(r'name="factor_id" value="([0-9a-f]+)"', html)
    assert secret and factor, html[:2000]
    return secret.group(1).replace(" ", ""), factor.group(1)


def recovery_codes_on(html: str) -> list[str]:
    return re.findall(r"<li><code>([a-z2-7-]+)</code></li>", html)


def enrol_totp(
    browser: Any, *, at: float | None = None, name: str = "My phone"
) -> tuple[str, list[str]]:
    """Enrol an authenticator app for the signed-in person; (secret, recovery codes)."""
    page = browser.get("/account/security/totp?lang=en")
    assert page.status_code == 200, (page.status_code, page.headers.get("Location"))
    html = page.get_data(as_text=True)
    secret, factor_id = totp_secret_on(html)
    done = browser.post(
        "/account/security/totp",
        data={
            "csrf_token": csrf_token(html),
            "factor_id": factor_id,
            "code": totp_code(secret, at, offset=-1),
            "name": name,
        },
    )
    assert done.status_code == 200, done.get_data(as_text=True)[:3000]
    return secret, recovery_codes_on(done.get_data(as_text=True))


def enrol_passkey(browser: Any, authenticator: SoftAuthenticator, name: str = "Laptop") -> Any:
    page = browser.get("/account/security/passkeys?lang=en")
    assert page.status_code == 200, (page.status_code, page.headers.get("Location"))
    html = page.get_data(as_text=True)
    options = options_from(html, "registration-options")
    return browser.post(
        "/account/security/passkeys",
        data={
            "csrf_token": csrf_token(html),
            "name": name,
            "credential": authenticator.create(options),
        },
    )


def to_second_factor(
    rp: RelyingParty, username: str, password: str, **params: Any
) -> tuple[AuthorizationAttempt, str]:
    """Authorize and log in with the password; returns the attempt at the second-factor page
    and its HTML."""
    attempt = rp.authorize(ui_locales="en", **params)
    html = rp.follow(attempt)
    if 'name="password"' in html:
        rp.submit_login(attempt, username, password)
        html = rp.follow(attempt)
    assert 'id="second-factor"' in html, html[:3000]
    return attempt, html


def submit_factor(rp: RelyingParty, attempt: AuthorizationAttempt, html: str, **fields: str) -> Any:
    response = rp.browser.post(
        form_action(html, "/second_factor"), data={"csrf_token": csrf_token(html), **fields}
    )
    attempt.response = response
    rp._capture(attempt)
    return response


def finish(rp: RelyingParty, attempt: AuthorizationAttempt) -> dict[str, Any]:
    """From after the second factor: consent if asked, then the ID token's claims."""
    for _ in range(3):
        if attempt.result:
            break
        html = rp.follow(attempt)
        assert 'name="decision" value="approve"' in html, html[:3000]
        rp.submit_consent(attempt)
    assert "code" in attempt.result, attempt.result
    tokens = rp.exchange(attempt).get_json()
    return rp.validate_id_token(tokens["id_token"], attempt.params["nonce"])
