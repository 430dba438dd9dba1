"""Fixtures of the reliability tests: private stores, and two provider processes over them.

``stores``: a PostgreSQL cluster (initdb) and a redis-server, each on a private loopback port,
for the whole session; tests stop and restart them. ``servers``: two ``idp serve`` processes
(Granian) on those stores, sharing the signing keys and the issuer as behind a load balancer.
Without the server binaries the tests are skipped locally; under CI they fail instead, because
CI installs them (.ci/run).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from tests.e2e.server import ProviderServer
from tests.reliability.stores import PostgresCluster, RedisProcess, postgres_bin, redis_server_bin

PASSWORD = "reliable correct horse battery"
FIGURES_PROPERTY = "reliability figures"


@dataclass
class Stores:
    postgres: PostgresCluster
    redis: RedisProcess

    def rows(self, sql: str, **params: Any) -> list[dict[str, Any]]:
        engine = create_engine(self.postgres.url)
        try:
            with engine.connect() as connection:
                return [dict(r) for r in connection.execute(text(sql), params).mappings()]
        finally:
            engine.dispose()


@pytest.fixture(scope="session")
def stores() -> Iterator[Stores]:
    bin_dir, redis_bin = postgres_bin(), redis_server_bin()
    if bin_dir is None or redis_bin is None:
        reason = (
            "needs the PostgreSQL server binaries (/usr/lib/postgresql/<version>/bin/initdb, "
            "Debian package postgresql) and redis-server (package redis-server)"
        )
        if os.environ.get("CI"):
            pytest.fail(f"CI must install them: {reason}")
        pytest.skip(reason)
    postgres, redis = PostgresCluster(bin_dir), RedisProcess(redis_bin)
    try:
        postgres.init()
        postgres.start()
        redis.start()
        yield Stores(postgres, redis)
    finally:
        redis.destroy()
        postgres.destroy()


@pytest.fixture(scope="session")
def servers(stores: Stores) -> Iterator[tuple[ProviderServer, ProviderServer]]:
    """Two provider processes on one PostgreSQL and one Redis (docs/reliability.md)."""
    shared = {
        "IDP_DATABASE_URL": stores.postgres.url,
        "IDP_REDIS_URL": stores.redis.url,
        "IDP_BACKCHANNEL_TIMEOUT": "2",
    }
    first = ProviderServer(workers=2, threads=4, **shared)
    second: ProviderServer | None = None
    try:
        first.start()
        second = ProviderServer(
            workers=1,
            threads=4,
            IDP_ISSUER=first.issuer,
            IDP_KEYS_DIR=first.settings["IDP_KEYS_DIR"],
            **shared,
        )
        second.start()
        yield first, second
    finally:
        if second is not None:
            second.stop()
        first.stop()


def create_users(server: ProviderServer, prefix: str, count: int) -> list[str]:
    """``idp users create`` for ``count`` accounts, a few at a time; their usernames."""
    names = [f"{prefix}-{i}" for i in range(count)]
    with ThreadPoolExecutor(4) as pool:
        list(
            pool.map(
                lambda name: server.idp(
                    "users", "create", "--username", name, "--password", PASSWORD
                ),
                names,
            )
        )
    return names


@pytest.fixture
def figures(record_property: Any) -> Iterator[dict[str, Any]]:
    """Figures of this test, printed at the end of the run (docs/reliability.md quotes them);
    carried in the report's user properties, so pytest-xdist workers hand them over too."""
    found: dict[str, Any] = {}
    yield found
    if found:
        record_property(FIGURES_PROPERTY, json.dumps(found, sort_keys=True))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    lines = [
        f"{report.nodeid.rsplit('::', 1)[-1]}: {value}"
        for reports in terminalreporter.stats.values()
        for report in reports
        if getattr(report, "when", None) == "teardown" or getattr(report, "when", None) == "call"
        for name, value in getattr(report, "user_properties", [])
        if name == FIGURES_PROPERTY
    ]
    if lines:
        terminalreporter.section("reliability figures")
        for line in dict.fromkeys(lines):
            terminalreporter.write_line(line)
