"""A namespaced JSON key-value store with time-to-live and atomic single use."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import redis

# Atomically take a value and remember that it was taken, so that a second attempt can be told
# apart from a value that never existed (RFC 6749 section 4.1.2: codes are single use, and reuse
# must revoke what the first use issued).
_CONSUME = """
local value = redis.call('GET', KEYS[1])
if value then
  redis.call('DEL', KEYS[1])
  if ARGV[1] ~= '' then
    local memo = cjson.decode(value)[ARGV[1]]
    if memo then
      redis.call('SET', KEYS[2], tostring(memo), 'EX', tonumber(ARGV[2]))
    end
  end
  return {1, value}
end
return {0, redis.call('GET', KEYS[2])}
"""


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class ShortLivedStore:
    """``put`` / ``get`` / ``consume`` / ``delete`` for one namespace."""

    def __init__(self, client: redis.Redis, namespace: str, *, hash_ids: bool = False) -> None:
        self.client = client
        self.namespace = namespace
        self.hash_ids = hash_ids
        self._consume = client.register_script(_CONSUME)

    def key(self, id_: str) -> str:
        """``idp:<namespace>:{<id>}``: the id is the key's hash tag, so the value and the keys
        named after it (``...:used``, an interaction's ``...:held``) lie in one Redis Cluster
        slot and ``consume`` can touch them in one script."""
        return f"idp:{self.namespace}:{{{digest(id_) if self.hash_ids else id_}}}"

    def put(self, id_: str, payload: dict[str, Any], ttl: int) -> None:
        self.client.set(self.key(id_), json.dumps(payload, separators=(",", ":")), ex=ttl)

    def get(self, id_: str) -> dict[str, Any] | None:
        raw = self.client.get(self.key(id_))
        return json.loads(raw) if raw else None

    def delete(self, id_: str) -> None:
        self.client.delete(self.key(id_))

    def consume(
        self, id_: str, *, remember_field: str = "", remember_ttl: int = 1
    ) -> tuple[dict[str, Any] | None, str | None]:
        """Take the value once, in one round trip.

        Returns ``(payload, None)`` on first use. Afterwards returns ``(None, memo)``, where
        ``memo`` is the payload's ``remember_field`` as it was at first use (kept for
        ``remember_ttl`` seconds), or ``(None, None)`` when the value never existed or expired.
        """
        found, value = self._consume(
            keys=[self.key(id_), self.key(id_) + ":used"], args=[remember_field, remember_ttl]
        )
        if found:
            return json.loads(value), None
        return None, value.decode() if value else None
