"""Per-portal rate limits of the portal API (issue 12: matters and messages).

A fixed window per portal and kind of call (``requests`` per minute, ``messages`` per hour),
counted in Redis. :meth:`PortalLimits.take` counts ``cost`` units at once and atomically (one
Lua script): a batch of 10,000 messages costs 10,000 and is refused whole when it does not fit,
so nothing of it is counted and nothing is stored.
"""

from __future__ import annotations

import redis

# KEYS[1] the window's counter; ARGV: cost, limit, window seconds. Returns {allowed, ttl}.
_TAKE = """
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local cost = tonumber(ARGV[1])
if used + cost > tonumber(ARGV[2]) then
  local ttl = redis.call('TTL', KEYS[1])
  if ttl < 1 then ttl = tonumber(ARGV[3]) end
  return {0, ttl}
end
local now = redis.call('INCRBY', KEYS[1], cost)
if now == cost then redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3])) end
return {1, 0}
"""


class PortalLimits:
    """``limits``: kind -> (units allowed, window in seconds)."""

    def __init__(self, client: redis.Redis, limits: dict[str, tuple[int, int]]) -> None:
        self.client = client
        self.limits = limits
        self._take = client.register_script(_TAKE)

    def take(self, client_id: str, kind: str, cost: int = 1) -> int:
        """0 when the call may go on (its cost counted), else the seconds to wait."""
        allowed, window = self.limits[kind]
        ok, ttl = self._take(
            keys=[f"idp:portal-limit:{kind}:{client_id}"], args=[cost, allowed, window]
        )
        return 0 if ok else max(1, int(ttl))
