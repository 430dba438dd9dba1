"""The disclosure log: every release of claims to a portal, in a hash chain (issue #3 item 5).

Natural-person agreement clause 5 and PIPL article 23: each release through the ID token,
userinfo or introspection is appended with time, portal, account and claim *names* (never
values); each entry hashes the one before, and ``idp audit verify`` names the first entry that
no longer verifies (edited, removed in the middle, or removed from the end).
"""

from __future__ import annotations

import json
import threading
from datetime import datetime

import pytest
from sqlalchemy import JSON, DateTime, column, delete, table, update

from tests.agreements.helpers import rows, walk
from tests.support import ISSUER

DISCLOSURES = table(
    "disclosures", column("seq"), column("claims", JSON), column("created_at", DateTime)
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


def _tamper(provider, *statements) -> None:  # type: ignore[no-untyped-def]
    with provider.db.engine.begin() as connection:
        for statement in statements:
            assert connection.execute(statement).rowcount == 1


def test_each_release_is_recorded_with_claim_names_only(confidential_rp, user, provider, cli):
    """ID token, userinfo and introspection each add an entry: portal, account, channel and
    claim names; the person's name (a value) appears nowhere in the log."""
    _release_three_times(confidential_rp, user)

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

    code, out, err = cli.run("audit", "verify")
    assert (code, err) == (0, "")
    assert "3 entries" in out


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
    ],
    ids=["claims-edited", "time-edited", "middle-removed", "last-removed", "last-and-head-removed"],
)
def test_audit_verify_names_the_first_broken_entry(
    confidential_rp, user, provider, cli, tampering, expected
):
    """``idp audit verify`` exits 2 naming the entry where the chain breaks: an edited entry,
    a gap in the sequence, or a chain shorter than its head (the last entry removed, with or
    without the head row)."""
    _release_three_times(confidential_rp, user)
    assert cli.run("audit", "verify")[0] == 0

    _tamper(provider, *tampering)
    code, out, err = cli.run("audit", "verify")

    assert code == 2
    assert out == ""
    assert f"disclosure chain broken at {expected}" in err


def test_concurrent_releases_leave_one_unbroken_chain(app, confidential_rp, user, provider, cli):
    """Appends are serialised by the chain head: 20 userinfo calls from 5 threads give 20 new
    entries with consecutive sequence numbers, each linked to the one before; no 500s (no
    "database is locked" on SQLite)."""
    tokens = confidential_rp.exchange(
        walk(confidential_rp, user["username"], user["password"]).attempt
    ).get_json()
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
    (row,) = rows(provider, "SELECT claims FROM disclosures WHERE channel = 'introspection'")
    assert _names(row["claims"]) == ["sub"]


def test_discovery_advertises_the_agreement_pages(client):
    """Discovery 1.0 section 3: op_policy_uri and op_tos_uri point at the pages that render the
    current agreements (issue #3 item 7)."""
    metadata = client.get("/.well-known/openid-configuration").get_json()

    assert metadata["op_policy_uri"] == f"{ISSUER}/policy"
    assert metadata["op_tos_uri"] == f"{ISSUER}/terms"
