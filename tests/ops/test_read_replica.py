"""The optional read-only database replica (``IDP_DATABASE_REPLICA_URL``, docs/operations.md
"High availability").

The "replica" here is a second database the test fills itself with a snapshot of the primary
(a second SQLite file, or a second PostgreSQL schema), then lets lag behind: what the primary
got after the snapshot is missing from it, so every page tells which one it read. Real
streaming replication is PostgreSQL's own business and is not what is tested; the rules are:

- the user space's listings (agreements, consents, disclosures, matters, messages) and the
  console's portal list read the replica;
- every decision (login, consent check, code, token) reads the primary;
- read-your-writes: a request that wrote reads the primary for the rest of it, and the same
  browser does for ``IDP_DATABASE_REPLICA_STICKY`` seconds (the ``idp_recent_write`` cookie),
  so the page after a withdrawal never shows the withdrawn consent;
- a write inside ``Database.reading()`` is refused, and what is read from the replica is never
  kept in a process cache.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine, text, update
from sqlalchemy.engine import Engine

from idp.models import Account, Base
from idp.models.base import ReplicaWriteError
from idp.models.migrate import upgrade
from idp.views.replica import RECENT_WRITE_COOKIE
from tests.account.helpers import consent_rows, signed_in_page, withdraw
from tests.conftest import TMP, WORKER
from tests.support import RelyingParty


def replica_url() -> str:
    base = os.environ.get("IDP_TEST_DATABASE_URL")
    if not base:
        return f"sqlite:///{TMP / 'replica.sqlite3'}"
    schema = f"idp_test_{WORKER}_replica"
    engine = create_engine(base)
    with engine.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    engine.dispose()
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}options=-csearch_path%3D{schema}"


@pytest.fixture(scope="module")
def replica_engine(app) -> Iterator[tuple[str, Engine]]:  # type: ignore[no-untyped-def]
    url = replica_url()
    engine = create_engine(url)
    upgrade(engine)
    yield url, engine
    engine.dispose()


def catch_up(provider: Any, replica: Engine) -> None:
    """The replica becomes a copy of the primary as it is now (then lags again)."""
    tables = Base.metadata.sorted_tables
    with provider.db.engine.connect() as source, replica.begin() as target:
        for table in reversed(tables):
            target.execute(table.delete())
        for table in tables:
            rows = [dict(row) for row in source.execute(table.select()).mappings()]
            if rows:
                target.execute(table.insert(), rows)


@pytest.fixture
def replica_app(make_app, provider, replica_engine):  # type: ignore[no-untyped-def]
    url, engine = replica_engine
    application = make_app(DATABASE_REPLICA_URL=url)
    return application, engine


def test_listings_read_the_replica_and_a_browser_that_wrote_reads_the_primary(
    replica_app, provider, cli, user
):
    application, replica = replica_app
    data = cli.ok(
        "clients", "create", "--name", "Replica Portal",
        "--redirect-uri", "https://replica.example.gov.cn/cb", "--json",
    )  # fmt: skip
    client_id = data["client_id"]
    catch_up(provider, replica)  # the account and the portal; no consent yet
    browser = application.test_client()
    rp = RelyingParty(browser, client_id, data["client_secret"], data["redirect_uris"][0])

    attempt = rp.login(user["username"], user["password"])
    assert "code" in attempt.result  # the consent is on the primary only
    assert browser.get_cookie(RECENT_WRITE_COOKIE) is not None
    # A browser that just wrote reads the primary: its consent is listed.
    assert consent_rows(signed_in_page(browser, "/account/consents")) == [client_id]

    browser.delete_cookie(RECENT_WRITE_COOKIE)
    # The listing reads the replica, which has no consent yet ...
    assert consent_rows(signed_in_page(browser, "/account/consents")) == []
    # ... but the decision to ask for consent reads the primary: not asked again.
    again = rp.authorize()
    assert again.result is not None and "code" in again.result, again.response.status_code
    browser.delete_cookie(RECENT_WRITE_COOKIE)

    catch_up(provider, replica)  # the replica has the consent now
    assert consent_rows(signed_in_page(browser, "/account/consents")) == [client_id]
    assert browser.get_cookie(RECENT_WRITE_COOKIE) is None  # reading wrote nothing

    answer = withdraw(browser, client_id)  # the primary forgets the consent; the replica lags
    assert answer.status_code == 303
    assert browser.get_cookie(RECENT_WRITE_COOKIE) is not None
    # The page after the withdrawal reads the primary: the consent is gone ...
    assert consent_rows(signed_in_page(browser, answer.headers["Location"])) == []
    # ... while the replica, read once the cookie is gone, still has it (it lags).
    browser.delete_cookie(RECENT_WRITE_COOKIE)
    assert consent_rows(signed_in_page(browser, "/account/consents")) == [client_id]
    # Other listings read it too, and still answer.
    for path in ("/account/agreements", "/account/disclosures", "/account/matters"):
        signed_in_page(browser, path)
    assert browser.get("/account/messages").status_code == 200


def test_a_write_in_the_unit_of_work_keeps_its_reads_on_the_primary(replica_app, provider):
    application, _replica = replica_app
    db = application.extensions["idp"].db
    db.remove()
    try:
        with db.reading() as session:
            assert session.get_bind() is db.replica_engine
            assert db.session() is session  # code inside reads as usual, from the replica
            with pytest.raises(ReplicaWriteError):
                session.execute(update(Account).where(Account.id == "-").values(username="x"))
            with db.on_primary() as primary:  # a decision inside a listing: the primary
                assert primary.get_bind() is db.engine and db.session() is primary
            assert db.session() is session
        with db.transaction() as session:  # a write on the primary (no row matches)
            session.execute(update(Account).where(Account.id == "-").values(username="x"))
        assert db.wrote()
        with db.reading() as session:
            assert session.get_bind() is db.engine
        db.remove()  # the unit of work ends: the next one reads the replica again
        with db.reading() as session:
            assert session.get_bind() is db.replica_engine
        db.prefer_primary()
        with db.reading() as session:
            assert session.get_bind() is db.engine
    finally:
        db.remove()


def test_without_a_replica_reading_is_the_primary(provider):
    assert not provider.db.has_replica
    with provider.db.reading() as session:
        assert session is provider.db.session()
        assert session.get_bind() is provider.db.engine
    provider.db.remove()


def test_process_caches_load_from_the_primary_even_inside_reading(replica_app, provider, cli):
    """The cached portals and agreements load on their own primary session (``session_factory``),
    so a row read from a lagging replica never reaches a cache that decisions use."""
    application, replica = replica_app
    services = application.extensions["idp"]
    catch_up(provider, replica)
    data = cli.ok(
        "clients", "create", "--name", "Late Portal",
        "--redirect-uri", "https://late.example.gov.cn/cb", "--json",
    )  # fmt: skip
    try:
        with services.db.reading():
            assert services.portals.names([data["client_id"]]) == {}  # a listing: the replica
            found = services.portals.find(data["client_id"])  # a decision's lookup: the primary
            assert found is not None and found.name == "Late Portal"
        assert services.portals.names([data["client_id"]]) == {data["client_id"]: "Late Portal"}
    finally:
        services.db.remove()
