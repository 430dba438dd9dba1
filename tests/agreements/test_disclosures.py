"""The disclosure log: every release of claims to a portal, in a hash chain (issue #3 item 5).

Natural-person agreement clause 5 and PIPL article 23: each release through the ID token,
userinfo or introspection is recorded with time, portal, account and claim *names* (never
values): at once in the queue, and by the chainer (``idp audit chain``; issue 11) in the chain.
Each entry hashes the one before, and ``idp audit verify`` names the first entry that no longer
verifies (edited, removed in the middle, removed from the end, or added beyond the head). The
chainer's crash safety and concurrency are in ``test_disclosure_chainer.py``.
"""

from __future__ import annotations

import json
import threading
from datetime import datetime

import pytest
from sqlalchemy import JSON, DateTime, column, delete, insert, table, update

from idp.identity.disclosures import entry_hash
from idp.models.base import utcnow
from tests.agreements.helpers import rows, walk
from tests.support import ISSUER

DISCLOSURES = table(
    "disclosures",
    *(column(name) for name in ("seq", "account_id", "client_id", "channel")),
    *(column(name) for name in ("prev_hash", "entry_hash")),
    column("claims", JSON),
    column("created_at", DateTime),
)
HEAD = table("disclosure_chain_head", column("id"))


def _names(value):  # type: ignore[no-untyped-def]
    return value if isinstance(value, list) else json.loads(value)


def _release_three_times(rp, user):  # type: ignore[no-untyped-def]
    """Code flow (ID token), userinfo and introspection: three releases to one portal."""
    result = walk(rp, user["username"], user["password"])
    tokens = rp.exchange(result.attempt).get_json()
    assert rp.userinfo(tokens["access_token"]).status_code == 200
    introspection = rp.introspect(tokens["access_token"])
    assert introspection.get_json()["active"] is True
    return tokens


def _chain(provider):  # type: ignore[no-untyped-def]
    return rows(provider, "SELECT * FROM disclosures ORDER BY seq")


def _queue(provider):  # type: ignore[no-untyped-def]
    return rows(provider, "SELECT * FROM disclosure_queue ORDER BY id")


def _entry_beyond_the_head(connection):  # type: ignore[no-untyped-def]
    """An entry 4 that links correctly to entry 3, written without moving the head."""
    last = connection.execute(DISCLOSURES.select().where(DISCLOSURES.c.seq == 3)).mappings().one()
    moment = utcnow()
    digest = entry_hash(
        last["entry_hash"], 4, moment, last["account_id"], "forged", "userinfo", ["sub"]
    )
    return insert(DISCLOSURES).values(
        seq=4,
        created_at=moment,
        account_id=last["account_id"],
        client_id="forged",
        channel="userinfo",
        claims=["sub"],
        prev_hash=last["entry_hash"],
        entry_hash=digest,
    )


def _tamper(provider, *statements) -> None:  # type: ignore[no-untyped-def]
    with provider.db.engine.begin() as connection:
        for statement in statements:
            if callable(statement):
                connection.execute(statement(connection))  # an insert
            else:
                assert connection.execute(statement).rowcount == 1


def test_each_release_is_recorded_with_claim_names_only(confidential_rp, user, provider, cli):
    """ID token, userinfo and introspection each record an entry at once (queued: the request
    touches no chain row), and ``idp audit chain`` links them into the chain with the time they
    were recorded: portal, account, channel and claim names; the person's name (a value)
    appears nowhere in the log."""
    _release_three_times(confidential_rp, user)
    queued = _queue(provider)
    assert [r["channel"] for r in queued] == ["id_token", "userinfo", "introspection"]
    assert _chain(provider) == []
    assert "intact: 0 entries; 3 queued" in cli.ok("audit", "verify")

    assert cli.ok("audit", "chain").strip() == "chained 3 disclosures; 0 queued"
    chain = _chain(provider)

    assert [(r["seq"], r["channel"]) for r in chain] == [
        (1, "id_token"),
        (2, "userinfo"),
        (3, "introspection"),
    ]
    assert _names(chain[0]["claims"]) == [
        "name",
        "preferred_username",
        "sub",
        "updated_at",
        "user_type",
        "verification_level",
    ]
    assert _names(chain[1]["claims"]) == [
        "name",
        "preferred_username",
        "sub",
        "updated_at",
        "user_type",
        "verification_level",
    ]
    assert "sub" in _names(chain[2]["claims"])
    for row in chain:
        assert row["account_id"] == user["id"]
        assert row["client_id"] == confidential_rp.client_id
        assert row["created_at"] is not None
        flat = " ".join(str(value) for value in row.values())
        assert user["name"] not in flat
        assert user["username"] not in flat
    assert [r["prev_hash"] for r in chain[1:]] == [r["entry_hash"] for r in chain[:-1]]
    assert chain[0]["prev_hash"] == "0" * 64
    assert [r["created_at"] for r in chain] == [r["created_at"] for r in queued]
    assert _queue(provider) == []

    code, out, err = cli.run("audit", "verify")
    assert (code, err) == (0, "")
    assert "3 entries; 0 queued" in out
    assert cli.ok("audit", "chain").strip() == "chained 0 disclosures; 0 queued"


@pytest.mark.parametrize(
    ("tampering", "expected"),
    [
        ([update(DISCLOSURES).where(DISCLOSURES.c.seq == 2).values(claims=["sub"])], "entry 2"),
        (
            [
                update(DISCLOSURES)
                .where(DISCLOSURES.c.seq == 2)
                .values(created_at=datetime(2020, 1, 1, 8, 0, 0))
            ],
            "entry 2",
        ),
        ([delete(DISCLOSURES).where(DISCLOSURES.c.seq == 2)], "entry 2"),
        ([delete(DISCLOSURES).where(DISCLOSURES.c.seq == 3)], "entry 3"),
        ([delete(DISCLOSURES).where(DISCLOSURES.c.seq == 3), delete(HEAD)], "entry 3"),
        ([_entry_beyond_the_head], "entry 4: an entry follows the chain head"),
    ],
    ids=[
        "claims-edited",
        "time-edited",
        "middle-removed",
        "last-removed",
        "last-and-head-removed",
        "added-beyond-the-head",
    ],
)
def test_audit_verify_names_the_first_broken_entry(
    confidential_rp, user, provider, cli, tampering, expected
):
    """``idp audit verify`` exits 2 naming the entry where the chain breaks: an edited entry,
    a gap in the sequence, a chain shorter than its head (the last entry removed, with or
    without the head row), or an entry beyond the head (only the chainer writes the chain, and
    it moves the head in the same transaction)."""
    _release_three_times(confidential_rp, user)
    cli.ok("audit", "chain")
    assert cli.run("audit", "verify")[0] == 0

    _tamper(provider, *tampering)
    code, out, err = cli.run("audit", "verify")

    assert code == 2
    assert out == ""
    assert f"disclosure chain broken at {expected}" in err


def test_the_chainer_refuses_a_chain_without_its_head(confidential_rp, user, provider, cli):
    """A removed head is evidence: the chainer does not recreate it (that would hide entries
    removed from the end); it refuses, and the records stay queued."""
    _release_three_times(confidential_rp, user)
    _tamper(provider, delete(HEAD))

    code, out, err = cli.run("audit", "chain")

    assert (code, out) == (2, "")
    assert "the disclosure chain head is missing" in err
    assert len(_queue(provider)) == 3
    assert _chain(provider) == []


def test_concurrent_releases_leave_one_unbroken_chain(app, confidential_rp, user, provider, cli):
    """20 userinfo calls from 5 threads record 20 entries (no 500s, no "database is locked" on
    SQLite); chained, they have consecutive sequence numbers, each linked to the one before."""
    tokens = confidential_rp.exchange(
        walk(confidential_rp, user["username"], user["password"]).attempt
    ).get_json()
    cli.ok("audit", "chain")
    before = len(_chain(provider))
    statuses: list[int] = []
    errors: list[str] = []
    lock = threading.Lock()

    def call_userinfo() -> None:
        browser = app.test_client()
        for _ in range(4):
            response = browser.get(
                "/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
            )
            with lock:
                statuses.append(response.status_code)
                if response.status_code != 200:
                    errors.append(response.get_data(as_text=True))

    threads = [threading.Thread(target=call_userinfo) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert statuses == [200] * 20
    assert len(_queue(provider)) == 20
    assert "chained 20 disclosures; 0 queued" in cli.ok("audit", "chain")
    chain = _chain(provider)
    assert len(chain) == before + 20
    assert [r["seq"] for r in chain] == list(range(1, len(chain) + 1))
    assert [r["prev_hash"] for r in chain[1:]] == [r["entry_hash"] for r in chain[:-1]]
    assert len({r["entry_hash"] for r in chain}) == len(chain)
    code, out, _err = cli.run("audit", "verify")
    assert code == 0
    assert f"{len(chain)} entries" in out


def test_introspection_releases_no_username_the_person_did_not_consent_to(
    confidential_rp, user, provider
):
    """RFC 7662 2.2 ``username`` is the person's username (``preferred_username``): a portal
    granted only ``openid`` (no profile claims consented) does not learn it by introspecting
    its token, and the disclosure log says so (claim-level consent, PIPL article 14)."""
    result = walk(confidential_rp, user["username"], user["password"], scope="openid")
    tokens = confidential_rp.exchange(result.attempt).get_json()

    body = confidential_rp.introspect(tokens["access_token"]).get_json()

    assert body["active"] is True and body["sub"] == user["sub"]
    assert "username" not in body
    assert user["username"] not in json.dumps(body)
    (row,) = rows(provider, "SELECT claims FROM disclosure_queue WHERE channel = 'introspection'")
    assert _names(row["claims"]) == ["sub"]


def test_discovery_advertises_the_agreement_pages(client):
    """Discovery 1.0 section 3: op_policy_uri and op_tos_uri point at the pages that render the
    current agreements (issue #3 item 7)."""
    metadata = client.get("/.well-known/openid-configuration").get_json()

    assert metadata["op_policy_uri"] == f"{ISSUER}/policy"
    assert metadata["op_tos_uri"] == f"{ISSUER}/terms"
