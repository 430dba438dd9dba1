"""Cache versions shared by every provider process, in Redis.

Portals, agreement versions and other rarely edited data are cached in each process
(:class:`VersionedCache`). Whoever changes them (the console, the admin API, the ``idp`` command,
RFC 7592 dynamic registration: every process) bumps the area's version after the change is
committed; each cached read first asks Redis for the current version (one ``GET``, about a tenth
of the database query it replaces) and reloads when it differs. So an edit is seen by the very
next request of every process, never later.

A version is a random token, not a counter: after Redis loses its data (a restart without
persistence) a counter would start again at 1 and could match what a process cached before, a
random token never does. A missing key is a version too (``None``). As a safety net for a bump
lost to a Redis outage right after a commit, entries are also reloaded after ``max_age`` seconds.
While Redis does not answer, reads go to the database every time and nothing is cached: the
database is the truth, so what works without Redis (UserInfo, introspection) keeps working, and
no change made during the outage can be missed.
"""

from __future__ import annotations

import functools
import secrets
import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

import redis

# One hash tag for every area: the versions are read together in one MGET, which Redis Cluster
# allows only for keys of one hash slot (docs/operations.md, "High availability").
PREFIX = "idp:{cache-version}:"

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)


class SharedVersions:
    """The versions of ``areas``. ``connect`` gives the Redis client on first use: a command
    that reads no cache and changes nothing cached never starts the embedded Redis.

    Within a web request (between :meth:`begin` and :meth:`end`, which the views call) the
    versions of every area are read once, in one ``MGET``, and kept for the rest of the request:
    a request that looks up its portal twice and the agreements once asks Redis once.
    """

    def __init__(self, connect: Callable[[], redis.Redis], areas: tuple[str, ...]) -> None:
        self._connect = connect
        self._areas = areas
        self._keys = [PREFIX + area for area in areas]
        self._local = threading.local()

    @functools.cached_property
    def _redis(self) -> redis.Redis:
        return self._connect()

    def begin(self) -> None:
        self._local.active = True
        self._local.memo = None

    def end(self) -> None:
        self._local.active = False
        self._local.memo = None

    def current(self, area: str) -> bytes | None:
        local = self._local
        if not getattr(local, "active", False):
            return _as_bytes(self._redis.get(PREFIX + area))
        if local.memo is None:
            values = self._redis.mget(self._keys)
            local.memo = {a: _as_bytes(v) for a, v in zip(self._areas, values, strict=True)}
        memo: dict[str, bytes | None] = local.memo
        return memo[area]

    def bump(self, *areas: str) -> None:
        """After a committed change: every process reloads at its next read (this request
        included)."""
        if not areas:
            return
        tokens = {area: secrets.token_hex(8).encode() for area in areas}
        with self._redis.pipeline(transaction=False) as pipe:
            for area, token in tokens.items():
                pipe.set(PREFIX + area, token)
            pipe.execute()
        memo = getattr(self._local, "memo", None)
        if memo is not None:
            memo.update(tokens)


def _as_bytes(value: object) -> bytes | None:
    if value is None or isinstance(value, bytes):
        return value
    return str(value).encode()


class VersionedCache(Generic[K, T]):
    """Values loaded by key from the database, kept while the area's version is unchanged.

    A value of ``None`` (not found) is cached as well: an unknown portal asked for again and
    again costs no query either. Values must be treated as read-only by their users.
    """

    def __init__(
        self,
        versions: SharedVersions,
        area: str,
        load: Callable[[K], T],
        *,
        max_age: float = 60.0,
        max_entries: int = 10_000,
    ) -> None:
        self._versions = versions
        self._area = area
        self._load = load
        self._max_age = max_age
        self._max_entries = max_entries
        self._lock = threading.Lock()
        self._version: bytes | None = None
        self._loaded_at = 0.0
        self._entries: dict[K, T] = {}

    def get(self, key: K) -> T:
        try:
            version = self._versions.current(self._area)
        except (redis.RedisError, OSError):
            self.clear()
            return self._load(key)
        now = time.monotonic()
        with self._lock:
            if version != self._version or now - self._loaded_at > self._max_age:
                self._entries = {}
                self._version = version
                self._loaded_at = now
            entries = self._entries
            if key in entries:
                return entries[key]
        # Loaded outside the lock (a database query); a concurrent load of the same key is
        # harmless. Stored only if no newer version replaced the entries meanwhile.
        value = self._load(key)
        with self._lock:
            if self._entries is entries and len(entries) < self._max_entries:
                entries[key] = value
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries = {}
            self._loaded_at = 0.0
