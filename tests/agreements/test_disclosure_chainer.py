"""The disclosure chainer (issue 11): releases are recorded unchained by the request and linked
into the hash chain later, in batches, by a chainer in every server process or by
``idp audit chain``.

What must hold: nothing recorded is lost when a chainer dies or the database refuses part of a
batch (the batch is one transaction), two chainers never link the same record (the chain head
is locked per batch; on PostgreSQL a second chainer skips instead of waiting, and a request
never waits for a chainer), and the chain still verifies afterwards.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from idp.config import PROJECT_ROOT, ConfigError, load_config
from tests.agreements.helpers import rows, scalar
from tests.logout.helpers import wait_until
from tests.support import RelyingParty
from tests.token.helpers import obtain

KILL_AFTER = 60  # seconds: a chainer process that never pauses is killed, and the test fails


def _postgresql(provider: Any) -> bool:
    return provider.db.engine.dialect.name == "postgresql"


def _queued(provider: Any) -> int:
    return int(scalar(provider, "SELECT count(*) FROM disclosure_queue"))


def _chained(provider: Any) -> int:
    return int(scalar(provider, "SELECT count(*) FROM disclosures"))


def _write_lock_is_held(provider: Any) -> bool:
    """SQLite: whether another connection holds the database's write lock now."""
    connection = sqlite3.connect(provider.db.engine.url.database, timeout=0.1, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError as error:
        return "locked" in str(error)
    finally:
        connection.close()


def _release(rp: RelyingParty, user: dict[str, str], userinfo_calls: int) -> dict[str, Any]:
    """The code exchange (ID token), then UserInfo ``userinfo_calls`` times and one
    introspection: ``userinfo_calls + 2`` releases."""
    _attempt, tokens = obtain(rp, user)
    for _ in range(userinfo_calls):
        assert rp.userinfo(tokens["access_token"]).status_code == 200
    assert rp.introspect(tokens["access_token"]).get_json()["active"] is True
    return tokens


def _verified(cli: Any, entries: int) -> None:
    code, out, err = cli.run("audit", "verify")
    assert (code, err) == (0, ""), err
    assert f"disclosure chain intact: {entries} entries; 0 queued" in out


# -- a chainer killed in the middle of its batch ------------------------------------------------


@pytest.mark.parametrize("point", ["after-the-lock", "after-the-inserts", "before-the-commit"])
def test_a_chainer_killed_mid_batch_loses_nothing(point, confidential_rp, user, provider, cli):
    """SIGKILL to a chainer process holding the head (after the lock, after inserting the batch
    into the chain, just before the commit): every record is still queued, none is chained; the
    next chainer links them all, and the chain verifies. While the doomed chainer holds the
    head, on PostgreSQL a request still records at once and a second chainer skips at once;
    on SQLite it holds the database's write lock."""
    tokens = _release(confidential_rp, user, userinfo_calls=4)
    before = rows(provider, "SELECT * FROM disclosure_queue ORDER BY id")
    assert len(before) == 6
    chainer = subprocess.Popen(
        [sys.executable, "-m", "tests.agreements.chainer_process", point],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    watchdog = threading.Timer(KILL_AFTER, chainer.kill)
    watchdog.start()
    try:
        assert chainer.stdout is not None
        assert chainer.stdout.readline().strip() == "paused", chainer.communicate()[1]
        if _postgresql(provider):
            started = time.monotonic()
            assert confidential_rp.userinfo(tokens["access_token"]).status_code == 200
            code, _out, err = cli.run("audit", "chain", "--wait", "0")
            assert time.monotonic() - started < 5
            assert code == 2 and "another chainer held the disclosure chain head" in err
            assert _queued(provider) == 7
        else:
            assert _write_lock_is_held(provider)
        chainer.send_signal(signal.SIGKILL)
        chainer.communicate(timeout=KILL_AFTER)
    finally:
        watchdog.cancel()
        if chainer.poll() is None:
            chainer.kill()
            chainer.communicate()
    assert chainer.returncode == -signal.SIGKILL
    if not _postgresql(provider):
        assert not _write_lock_is_held(provider)  # it died with the process

    expected = 7 if _postgresql(provider) else 6
    assert _chained(provider) == 0
    assert rows(provider, "SELECT * FROM disclosure_queue ORDER BY id")[:6] == before
    assert f"0 entries; {expected} queued" in cli.ok("audit", "verify")
    assert cli.ok("audit", "chain").strip() == f"chained {expected} disclosures; 0 queued"
    _verified(cli, expected)
    assert scalar(provider, "SELECT seq FROM disclosure_chain_head") == expected


# -- a batch the database refuses ---------------------------------------------------------------

REFUSALS = {
    # (table, statement, the rows refused: SQL that SQLite and PostgreSQL both read alike)
    "the-third-chain-insert": ("disclosures", "INSERT", "NEW.seq = 3"),
    "the-queue-delete": ("disclosure_queue", "DELETE", "1 = 1"),
    # Not the chainer's first UPDATE on SQLite, which takes the write lock and changes nothing.
    "the-head-update": ("disclosure_chain_head", "UPDATE", "NEW.seq <> OLD.seq"),
}


@pytest.fixture
def refusing(provider: Any) -> Iterator[Any]:
    """``refuse(name)``: a trigger that makes the database refuse one statement of the batch."""
    installed: list[str] = []
    postgresql = _postgresql(provider)

    def refuse(name: str) -> None:
        table, operation, when = REFUSALS[name]
        with provider.db.engine.begin() as connection:
            if postgresql:
                connection.execute(
                    text(
                        "CREATE OR REPLACE FUNCTION refuse_for_the_test() RETURNS trigger "
                        "LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused by the test'; "
                        "END $$"
                    )
                )
                connection.execute(
                    text(
                        f"CREATE TRIGGER refuse_for_the_test BEFORE {operation} ON {table} "
                        f"FOR EACH ROW WHEN ({when}) "
                        "EXECUTE FUNCTION refuse_for_the_test()"
                    )
                )
            else:
                connection.execute(
                    text(
                        f"CREATE TRIGGER refuse_for_the_test BEFORE {operation} ON {table} "
                        f"WHEN {when} BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
                    )
                )
        installed.append(table)

    def allow() -> None:
        with provider.db.engine.begin() as connection:
            for table in installed:
                suffix = f" ON {table}" if postgresql else ""
                connection.execute(text(f"DROP TRIGGER IF EXISTS refuse_for_the_test{suffix}"))
            if postgresql:
                connection.execute(text("DROP FUNCTION IF EXISTS refuse_for_the_test()"))
        installed.clear()

    refuse.allow = allow  # type: ignore[attr-defined]
    yield refuse
    allow()


@pytest.mark.parametrize("refused", list(REFUSALS))
def test_a_batch_the_database_refuses_is_rolled_back_whole(
    refused, refusing, confidential_rp, user, provider, cli
):
    """The database refuses one statement in the middle of a batch (the third entry's insert,
    the removal from the queue, the move of the head): ``idp audit chain`` fails, nothing of the
    batch remains in the chain and every record is still queued; once the database accepts
    again, one run links them all and the chain verifies."""
    _release(confidential_rp, user, userinfo_calls=3)
    refusing(refused)

    with pytest.raises(DBAPIError, match="refused by the test"):
        cli.run("audit", "chain")

    assert (_chained(provider), _queued(provider)) == (0, 5)
    assert scalar(provider, "SELECT seq FROM disclosure_chain_head") == 0
    refusing.allow()
    assert cli.ok("audit", "chain").strip() == "chained 5 disclosures; 0 queued"
    _verified(cli, 5)


# -- chainers side by side ---------------------------------------------------------------------


def test_concurrent_chainers_never_chain_a_record_twice(app, confidential_rp, user, provider, cli):
    """Three chainer processes started at the same moment, one record per transaction, while
    portals keep calling UserInfo: every record is linked exactly once (what the processes
    report adds up to the releases), the sequence has no gap, and the chain verifies."""
    tokens = _release(confidential_rp, user, userinfo_calls=58)  # 60 releases
    chainers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.agreements.chainer_process", "race", "1"],
            cwd=PROJECT_ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    for chainer in chainers:
        assert chainer.stdout is not None and chainer.stdout.readline().strip() == "ready"
    statuses: list[int] = []

    def call_userinfo() -> None:
        browser = app.test_client()
        for _ in range(10):
            response = browser.get(
                "/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
            )
            statuses.append(response.status_code)

    callers = [threading.Thread(target=call_userinfo) for _ in range(3)]
    for caller in callers:
        caller.start()
    for chainer in chainers:  # all at once
        assert chainer.stdin is not None
        chainer.stdin.write("go\n")
        chainer.stdin.flush()
    outputs = [chainer.communicate(timeout=120) for chainer in chainers]
    for caller in callers:
        caller.join()

    assert statuses == [200] * 30
    assert [chainer.returncode for chainer in chainers] == [0, 0, 0], outputs
    reported = [int(out) for out, _err in outputs]
    last = int(cli.ok("audit", "chain").split()[1])
    assert sum(reported) + last == 90
    assert _queued(provider) == 0
    assert [r["seq"] for r in rows(provider, "SELECT seq FROM disclosures ORDER BY seq")] == list(
        range(1, 91)
    )
    _verified(cli, 90)


def _chainer_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "disclosure-chainer" and t.is_alive()]


def test_each_server_process_chains_in_a_thread_started_by_its_first_request(
    make_app, confidential_rp, user, provider, cli
):
    """With ``IDP_DISCLOSURE_CHAIN_INTERVAL`` set, an application starts its chainer thread at
    its first request (so in each worker, after the server forked), not when it is built; two
    applications chain side by side without linking a record twice; closing an application
    stops its thread."""
    apps = [make_app(DISCLOSURE_CHAIN_INTERVAL="0.1") for _ in range(2)]
    assert _chainer_threads() == []
    portals = [
        RelyingParty(
            application.test_client(),
            confidential_rp.client_id,
            confidential_rp.client_secret,
            confidential_rp.redirect_uri,
        )
        for application in apps
    ]

    tokens = _release(portals[0], user, userinfo_calls=2)
    assert len(_chainer_threads()) == 1
    for _ in range(3):
        for portal in portals:
            assert portal.userinfo(tokens["access_token"]).status_code == 200
    assert len(_chainer_threads()) == 2

    wait_until(lambda: _chained(provider) == 10, 15, "the chainer threads to link 10 records")
    assert _queued(provider) == 0
    _verified(cli, 10)
    for application in apps:
        application.extensions["idp"].close()
    assert _chainer_threads() == []


def test_the_chainer_thread_survives_a_refused_batch(
    make_app, refusing, confidential_rp, user, provider, cli
):
    """A round that fails (here the database refuses to move the head) is rolled back and
    logged; the thread keeps running and links everything once the database accepts again."""
    application = make_app(DISCLOSURE_CHAIN_INTERVAL="0.1")
    portal = RelyingParty(
        application.test_client(),
        confidential_rp.client_id,
        confidential_rp.client_secret,
        confidential_rp.redirect_uri,
    )
    refusing("the-head-update")

    _release(portal, user, userinfo_calls=1)
    time.sleep(0.5)  # several rounds, each refused

    assert (_chained(provider), _queued(provider)) == (0, 3)
    assert len(_chainer_threads()) == 1
    refusing.allow()
    wait_until(lambda: _queued(provider) == 0, 15, "the chainer thread to link the records")
    _verified(cli, 3)


# -- the setting ----------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["-1", "0.05", "3601", "nan", "soon"])
def test_the_chain_interval_must_be_off_or_sensible(value):
    with pytest.raises(ConfigError, match="IDP_DISCLOSURE_CHAIN_INTERVAL"):
        load_config({"DISCLOSURE_CHAIN_INTERVAL": value})


def test_the_chain_interval_takes_seconds_or_zero():
    assert load_config({"DISCLOSURE_CHAIN_INTERVAL": "2.5"}).DISCLOSURE_CHAIN_INTERVAL == 2.5
    assert load_config({"DISCLOSURE_CHAIN_INTERVAL": "0"}).DISCLOSURE_CHAIN_INTERVAL == 0
