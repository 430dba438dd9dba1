"""RP-Initiated Logout 1.0 (the end-session request) and Back-Channel Logout 1.0 logout tokens.

A portal sends the person to ``end_session_endpoint`` with ``id_token_hint``, ``client_id``,
``post_logout_redirect_uri``, ``state`` and ``ui_locales``. The hint must be an ID token this
provider signed (any expiry accepted, ``alg: none`` refused); ``client_id`` must match its
audience; the post-logout URI must be registered for that portal, exactly. A request without a
valid hint is only carried out after the person confirms (no forced logout by a third party).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from idp.errors import IdpError
from idp.models import Client
from idp.oauth.keys import KeyRing

BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"


class InvalidLogoutRequest(IdpError):
    """The request cannot be trusted: nobody is logged out and nothing is redirected. The
    text says why (logged, never shown: the page only says the request is not valid)."""

    def __init__(self, detail: str) -> None:
        super().__init__("invalid_request", detail=detail)


@dataclass
class EndSessionRequest:
    client: Client | None
    hint_subject: str | None  # set only when a valid id_token_hint came
    hint_sid: str | None
    post_logout_redirect_uri: str | None  # set only when registered for ``client``
    state: str | None
    ui_locales: list[str]

    @property
    def trusted(self) -> bool:
        """A valid hint identifies the portal and the person: no confirmation needed."""
        return self.hint_subject is not None


def _single(params: dict[str, list[str]], name: str) -> str | None:
    values = params.get(name) or []
    if len(values) > 1:
        raise InvalidLogoutRequest(f"repeated parameter {name}")
    value = values[0] if values else None
    if value is not None and len(value) > 8192:
        raise InvalidLogoutRequest(f"parameter {name} is too long")
    return value or None


def validate_end_session(
    params: dict[str, list[str]],
    *,
    issuer: str,
    find_client: Callable[[str | None], Client | None],
    verify_own_jwt: Callable[[str], dict[str, Any]],
) -> EndSessionRequest:
    """RP-Initiated Logout 1.0 section 2 and 3; raises InvalidLogoutRequest."""
    hint = _single(params, "id_token_hint")
    client_id = _single(params, "client_id")
    redirect_uri = _single(params, "post_logout_redirect_uri")
    subject = sid = None
    if hint is not None:
        try:
            claims = verify_own_jwt(hint)
        except ValueError:
            raise InvalidLogoutRequest("id_token_hint does not verify") from None
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if claims.get("iss") != issuer or not isinstance(claims.get("sub"), str):
            raise InvalidLogoutRequest("id_token_hint was not issued by this provider")
        if "events" in claims:  # a logout token (Back-Channel Logout 1.0 2.4) is no ID token
            raise InvalidLogoutRequest("id_token_hint is not an ID token")
        if client_id is not None and client_id not in audiences:
            raise InvalidLogoutRequest("client_id does not match the id_token_hint")
        client_id = client_id or (audiences[0] if len(audiences) == 1 else None)
        subject = _person_subject(claims)
        sid = claims.get("sid") if isinstance(claims.get("sid"), str) else None
    client = find_client(client_id) if client_id else None
    if client_id is not None and client is None:
        raise InvalidLogoutRequest("unknown client")
    if redirect_uri is not None:
        if client is None or redirect_uri not in client.post_logout_redirect_uris:
            # Section 3: never redirect to an unregistered URI (no open redirect).
            raise InvalidLogoutRequest("post_logout_redirect_uri is not registered")
    return EndSessionRequest(
        client=client,
        hint_subject=subject,
        hint_sid=sid,
        post_logout_redirect_uri=redirect_uri,
        state=_single(params, "state"),
        ui_locales=(_single(params, "ui_locales") or "").split(),
    )


def logout_token(
    keys: KeyRing,
    *,
    issuer: str,
    client: Client,
    subject: str | None,
    sid: str | None,
    ttl: int = 120,
) -> str:
    """Back-Channel Logout 1.0 section 2.4: a signed JWT with ``events``, never a ``nonce``."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": client.client_id,
        "iat": now,
        "exp": now + ttl,
        "jti": secrets.token_urlsafe(16),
        "events": {BACKCHANNEL_EVENT: {}},
    }
    if subject:
        claims["sub"] = subject
    if sid:
        claims["sid"] = sid
    return keys.sign(claims, client.id_token_signed_response_alg or "RS256", typ="logout+jwt")


def _person_subject(claims: dict[str, Any]) -> str:
    """Who logged in: ``sub``, or for a company login the person acting (``act.sub``)."""
    act = claims.get("act")
    if isinstance(act, dict) and isinstance(act.get("sub"), str):
        return str(act["sub"])
    return str(claims["sub"])
