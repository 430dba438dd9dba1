"""Time-based one-time passwords and look-up secrets, shared by the administration console
(``idp.identity.admins``) and people's second factors (``idp.identity.factors``).

- **TOTP** (RFC 6238 with HMAC-SHA-1, 6 digits, a 30-second step; RFC 4226 section 5.3 for the
  truncation): the secret is 160 bits (RFC 4226 section 4, R6), shown in base32 and as an
  ``otpauth://`` URI. A code is accepted for the steps before, at and after the current one
  (RFC 6238 section 5.2: at most one step of network delay or clock drift); the replay guard
  (a step accepted at most once, never one older than the last) is
  ``idp.store.totp.TotpSteps``.
- **Recovery codes** (NIST SP 800-63B section 5.1.2, look-up secrets): codes of 120 bits each,
  shown once, stored as SHA-256 (at least 112 bits of entropy, so an unsalted approved hash
  suffices, 5.1.2.2), each usable once.

No I/O.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
import time
from urllib.parse import quote, urlencode

TOTP_DIGITS = 6
TOTP_PERIOD = 30
TOTP_WINDOW = 1  # steps accepted either side of the current one
TOTP_SECRET_BYTES = 20  # 160 bits
# How long a step must be remembered by the replay guard: while any code of it could pass.
TOTP_STEP_MEMORY = (2 * TOTP_WINDOW + 2) * TOTP_PERIOD
RECOVERY_CODE_COUNT = 10
RECOVERY_CODE_BYTES = 15  # 120 bits: 24 base32 characters


def new_totp_secret() -> str:
    """160 random bits in base32 without padding (the form authenticator apps expect)."""
    return base64.b32encode(secrets.token_bytes(TOTP_SECRET_BYTES)).decode().rstrip("=")


def _key(secret: str) -> bytes:
    compact = secret.replace(" ", "").upper()
    return base64.b32decode(compact + "=" * (-len(compact) % 8))


def hotp(key: bytes, counter: int, digits: int = TOTP_DIGITS) -> str:
    """RFC 4226 section 5.3: HMAC-SHA-1 of the 8-byte counter, dynamic truncation."""
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)


def totp_step(at: float | None = None) -> int:
    """RFC 6238 section 4.2: T = floor((now - T0) / X), with T0 = 0 and X = 30 s."""
    return int((time.time() if at is None else at) // TOTP_PERIOD)


def totp(secret: str, step: int) -> str:
    return hotp(_key(secret), step)


def looks_like_totp(code: str) -> bool:
    compact = code.strip().replace(" ", "")
    return len(compact) == TOTP_DIGITS and compact.isascii() and compact.isdigit()


def match_totp(secret: str, code: str, at: float | None = None) -> int | None:
    """The time step ``code`` belongs to, within one step of now, or None. Every candidate is
    compared in constant time, and all of them always are."""
    code = code.strip().replace(" ", "")
    if not looks_like_totp(code):
        return None
    now = totp_step(at)
    matched = None
    for step in range(now - TOTP_WINDOW, now + TOTP_WINDOW + 1):
        if hmac.compare_digest(totp(secret, step), code) and matched is None:
            matched = step
    return matched


def otpauth_uri(secret: str, issuer: str, account_label: str) -> str:
    """The Key Uri Format of authenticator apps: ``otpauth://totp/<issuer>:<account>?...``."""
    label = quote(f"{issuer}:{account_label}", safe=":@")
    query = urlencode(
        {
            "secret": secret,
            "issuer": issuer,
            "algorithm": "SHA1",
            "digits": TOTP_DIGITS,
            "period": TOTP_PERIOD,
        },
        quote_via=quote,
    )
    return f"otpauth://totp/{label}?{query}"


def grouped(secret: str, size: int = 4) -> str:
    """``JBSW Y3DP ...``: easier to type into an app by hand."""
    return " ".join(secret[i : i + size] for i in range(0, len(secret), size))


def new_recovery_codes(count: int = RECOVERY_CODE_COUNT) -> list[str]:
    """``abcd-efgh-ijkl-mnop-qrst-uvwx``: 120 random bits, lower-case base32 in groups of 4."""
    codes = []
    for _ in range(count):
        raw = base64.b32encode(secrets.token_bytes(RECOVERY_CODE_BYTES)).decode().lower()
        codes.append("-".join(raw[i : i + 4] for i in range(0, len(raw), 4)))
    return codes


def normalize_recovery_code(text: str) -> str:
    """Case, spaces and hyphens do not matter."""
    return "".join(ch for ch in text.lower() if ch.isascii() and ch.isalnum())


def recovery_code_hash(code: str) -> str:
    return hashlib.sha256(normalize_recovery_code(code).encode()).hexdigest()
