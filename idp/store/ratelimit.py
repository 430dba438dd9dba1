"""Failed-login throttling (NIST SP 800-63B section 5.2.2, OWASP Authentication Cheat Sheet).

Per account: after ``free`` consecutive failures every further attempt must wait
``2 ** (failures - free)`` seconds (capped at ``max_wait``) after the last failure, and at ``lock``
consecutive failures (at most 100) the account is locked until an operator unlocks it. A success
resets the count. Per address: at most ``per_address_hour`` failures an hour.

Accounts are keyed by a hash of the submitted username, whether or not such an account exists, so
that the answer and the timing are the same for unknown accounts.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from dataclasses import dataclass

import redis

from idp.store.kv import digest

_MONTH = 30 * 24 * 3600


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    wait_seconds: int = 0
    locked: bool = False


class LoginThrottle:
    def __init__(
        self,
        client: redis.Redis,
        *,
        free: int,
        max_wait: int,
        lock: int,
        per_address_hour: int,
        secret: bytes,
    ) -> None:
        self.client = client
        # Keys are HMACs: a typed phone or ID number is not recoverable from Redis.
        self.secret = secret
        self.free = free
        self.max_wait = max_wait
        self.lock = lock
        self.per_address_hour = per_address_hour

    def _account_key(self, username: str) -> str:
        mac = hmac.new(self.secret, username.strip().lower().encode(), hashlib.sha256)
        return f"idp:fail:account:{mac.hexdigest()}"

    @staticmethod
    def _address_key(address: str) -> str:
        return f"idp:fail:address:{address}"

    def check(self, username: str, address: str) -> Verdict:
        pipe = self.client.pipeline(transaction=False)
        pipe.hmget(self._account_key(username), "count", "last")
        pipe.get(self._address_key(address))
        pipe.ttl(self._address_key(address))
        (count, last), address_count, address_ttl = pipe.execute()
        count = int(count or 0)
        if count >= self.lock:
            return Verdict(allowed=False, locked=True)
        if address_count and int(address_count) >= self.per_address_hour:
            return Verdict(allowed=False, wait_seconds=max(1, int(address_ttl)))
        if count >= self.free and last:
            wait = min(2 ** (count - self.free), self.max_wait)
            # Round up: truncating would let the next attempt through during the last second.
            remaining = math.ceil(float(last) + wait - time.time())
            if remaining > 0:
                return Verdict(allowed=False, wait_seconds=remaining)
        return Verdict(allowed=True)

    def record_failure(self, username: str, address: str) -> None:
        """Count a failure for the account and for the address, in one round trip.

        A pipeline, not a transaction: the address's counter is shared by every account tried
        from it, so no hash tag puts it in the account's Redis Cluster slot, and a ``MULTI`` over
        both would fail with ``CROSSSLOT``. Each command is atomic on its own and they only add,
        so commands of other requests landing in between change no total; at worst ``check``
        reads a new count with the previous failure's time for a moment (a wait a few seconds
        shorter, once)."""
        key = self._account_key(username)
        pipe = self.client.pipeline(transaction=False)
        pipe.hincrby(key, "count", 1)
        pipe.hset(key, "last", repr(time.time()))
        pipe.expire(key, _MONTH)
        # SET NX then INCR: the hourly window starts at the first failure (works on Redis 6.2).
        pipe.set(self._address_key(address), 0, ex=3600, nx=True)
        pipe.incr(self._address_key(address))
        pipe.execute()

    def record_success(self, username: str) -> None:
        self.client.delete(self._account_key(username))

    def unlock(self, username: str) -> None:
        self.client.delete(self._account_key(username))


class HourlyLimit:
    """At most ``limit`` counted events an hour per key (a fixed window from the first event).

    Used for failed identity verifications (a registry is not an oracle to probe names and ID
    numbers against). Keys are hashed: they may be account ids or addresses.
    """

    def __init__(self, client: redis.Redis, namespace: str, limit: int) -> None:
        self.client = client
        self.namespace = namespace
        self.limit = limit

    def _key(self, key: str) -> str:
        return f"idp:limit:{self.namespace}:{digest(key)}"

    def exceeded(self, key: str) -> int:
        """0 when another event is allowed, else the seconds until the window ends."""
        pipe = self.client.pipeline(transaction=False)
        pipe.get(self._key(key))
        pipe.ttl(self._key(key))
        count, ttl = pipe.execute()
        if count is not None and int(count) >= self.limit:
            return max(1, int(ttl))
        return 0

    def count(self, key: str) -> None:
        pipe = self.client.pipeline(transaction=True)
        pipe.set(self._key(key), 0, ex=3600, nx=True)
        pipe.incr(self._key(key))
        pipe.execute()
