"""Authorization codes (RFC 6749 4.1.2): 256 random bits, at most ``IDP_AUTHORIZATION_CODE_TTL``
seconds, single use. Redis holds each under the SHA-256 of the code (``idp:code:{<sha256>}``); the
take is atomic, and a second redemption is told which grant the first one made, so that the
token endpoint can revoke it (RFC 9700 4.2.4).
"""

from __future__ import annotations

import secrets
from typing import Any

import redis

from idp.store import ShortLivedStore

MAX_CODE_LENGTH = 256


class AuthorizationCodes:
    """Codes in Redis (``idp:code:{<sha256>}``): single use, and a second redemption is told who
    the first one was (the grant to revoke: RFC 6749 4.1.2, RFC 9700 4.2.4)."""

    def __init__(self, redis_client: redis.Redis, ttl: int, reuse_memory: int) -> None:
        self._store = ShortLivedStore(redis_client, "code", hash_ids=True)
        self._ttl = ttl
        self._reuse_memory = reuse_memory

    def issue(self, payload: dict[str, Any]) -> str:
        code = secrets.token_urlsafe(32)  # 256 bits (RFC 6749 10.10 asks for at least 128)
        self._store.put(code, payload, ttl=self._ttl)
        return code

    def consume(self, code: str) -> tuple[dict[str, Any] | None, str | None]:
        """``(payload, None)`` the first time; ``(None, grant_id)`` for a reused code."""
        if not code or len(code) > MAX_CODE_LENGTH:
            return None, None
        return self._store.consume(code, remember_field="grant_id", remember_ttl=self._reuse_memory)
