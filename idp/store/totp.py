"""The replay guard of TOTP codes, in Redis (RFC 6238 section 5.2: a code is accepted at most
once): the last time step accepted for a key (an administrator, a person's TOTP factor), kept
for as long as a code of that step could still be accepted. Keys ``idp:<namespace>:<key>``."""

from __future__ import annotations

import redis

# KEYS: last step key. ARGV: step, ttl. 1 when the step is newer than any accepted, else 0.
_CLAIM_STEP = """
local last = tonumber(redis.call('GET', KEYS[1]) or '-1')
local step = tonumber(ARGV[1])
if step <= last then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', tonumber(ARGV[2]))
return 1
"""


class TotpSteps:
    """A time step is accepted once per key, and never one older than the last accepted."""

    def __init__(self, client: redis.Redis, namespace: str = "admin-totp-step") -> None:
        self.client = client
        self.namespace = namespace
        self._claim = client.register_script(_CLAIM_STEP)

    def claim(self, key: str, step: int, ttl: int) -> bool:
        """Atomically take ``step``; False when it (or a later step) was already used."""
        return bool(self._claim(keys=[f"idp:{self.namespace}:{key}"], args=[step, ttl]))

    def forget(self, key: str) -> None:
        self.client.delete(f"idp:{self.namespace}:{key}")
