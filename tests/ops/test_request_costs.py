"""What one hot request costs in store round trips: SQL statements and Redis commands.

Speed itself is measured by ``make bench`` (bench/README.md), never by a timed test. What a
test can hold fixed is the work: each hot endpoint does the statements and Redis round trips
listed here, on the state a real installation has (the shipped agreements accepted, a remembered
consent, cached portals and agreements warmed by a first request). A change that adds a query to
a hot path fails here and has to say why in this table.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
import redis.connection
from sqlalchemy import event

from tests.agreements.helpers import walk
from tests.support import CliRunner, RelyingParty

SCOPE = "openid profile offline_access"


@dataclass
class Costs:
    statements: list[str] = field(default_factory=list)
    redis: list[str] = field(default_factory=list)

    def summary(self) -> tuple[list[str], list[str]]:
        return [_verb(s) for s in self.statements], self.redis


def _verb(statement: str) -> str:
    """``SELECT tokens``, ``INSERT disclosure_queue``: the verb and the first table."""
    words = statement.split()
    verb = words[0].upper()
    match = re.search(r"\b(?:FROM|INTO|UPDATE)\s+([a-z_]+)", statement, re.IGNORECASE)
    return f"{verb} {match.group(1) if match else '?'}"


@pytest.fixture
def measure(provider, monkeypatch) -> Callable[[], Any]:  # type: ignore[no-untyped-def]
    """``with measure() as costs:`` counts the statements the app's engine sends and the Redis
    round trips (a pipeline is one) of everything inside, in this thread: the test client runs
    each request here, while the provider's background threads (the back-channel dispatcher
    polling ``logout_deliveries``, say) are not the request's cost."""
    original = redis.connection.AbstractConnection.send_packed_command

    @contextmanager
    def measuring() -> Iterator[Costs]:
        costs = Costs()
        here = threading.get_ident()

        def on_statement(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
            if threading.get_ident() == here:
                costs.statements.append(statement)

        def send(self, command, check_health=True):  # type: ignore[no-untyped-def]
            if threading.get_ident() != here:
                return original(self, command, check_health)
            packed = b"".join(command) if isinstance(command, list) else command
            # The first word of the first command (a pipeline counts once).
            parts = packed.split(b"\r\n")
            costs.redis.append(parts[2].decode().upper() if len(parts) > 2 else "?")
            return original(self, command, check_health)

        event.listen(provider.db.engine, "before_cursor_execute", on_statement)
        monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", send)
        try:
            yield costs
        finally:
            monkeypatch.setattr(
                redis.connection.AbstractConnection, "send_packed_command", original
            )
            event.remove(provider.db.engine, "before_cursor_execute", on_statement)

    return measuring


@pytest.fixture
def installed(cli: CliRunner) -> None:
    """The shipped agreements published, as ``idp db upgrade`` leaves a new installation."""
    cli.ok("db", "upgrade")


@pytest.fixture
def logged_in(installed, confidential_rp: RelyingParty, user) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """A person who has logged in through the portal once (agreements accepted, consent
    remembered, an SSO session in the browser), and the tokens of that login."""
    walked = walk(confidential_rp, user["username"], user["password"], scope=SCOPE)
    assert "agreement" in walked.kinds, walked.kinds
    attempt = walked.attempt
    assert attempt.result.get("code"), "the first login did not complete"
    tokens = confidential_rp.exchange(attempt).get_json()
    assert "refresh_token" in tokens
    # Warm the per-process caches (portals, agreements) as any earlier request would.
    assert confidential_rp.authorize(scope=SCOPE).result.get("code")
    return tokens


def test_discovery_and_jwks_touch_no_store(client, measure) -> None:  # type: ignore[no-untyped-def]
    client.get("/jwks.json")
    with measure() as costs:
        assert client.get("/.well-known/openid-configuration").status_code == 200
        assert client.get("/jwks.json").status_code == 200
    assert costs.summary() == ([], [])


def test_revalidated_documents_answer_304(client) -> None:  # type: ignore[no-untyped-def]
    for path in ("/.well-known/openid-configuration", "/jwks.json"):
        first = client.get(path)
        assert first.headers["ETag"] and "max-age" in first.headers["Cache-Control"]
        again = client.get(path, headers={"If-None-Match": first.headers["ETag"]})
        assert again.status_code == 304 and again.get_data() == b""


def test_documents_are_the_same_in_front_of_flask_and_behind_it(client) -> None:  # type: ignore[no-untyped-def]
    """The plain GET is answered in front of the application (idp.views.discovery
    PublishedDocuments); with a query string the application answers: same bytes, same headers
    that matter."""
    for path in ("/.well-known/openid-configuration", "/jwks.json"):
        fast = client.get(path)
        routed = client.get(path + "?lang=en")
        assert fast.get_data() == routed.get_data() and fast.get_json()
        assert fast.headers["ETag"] == routed.headers["ETag"]
        for name in ("Cache-Control", "X-Content-Type-Options", "X-Frame-Options"):
            assert fast.headers[name] == routed.headers[name], name
        assert "default-src 'none'" in fast.headers["Content-Security-Policy"]
        head = client.head(path)
        assert head.status_code == 200 and head.get_data() == b""
        assert head.headers["Content-Length"] == str(len(fast.get_data()))


def test_userinfo_is_one_lookup_and_one_disclosure_insert(  # type: ignore[no-untyped-def]
    confidential_rp, logged_in, measure
) -> None:
    with measure() as costs:
        assert confidential_rp.userinfo(logged_in["access_token"]).status_code == 200
    assert costs.summary() == (["SELECT tokens", "INSERT disclosure_queue"], [])


def test_introspection_adds_only_the_portal_cache_check(  # type: ignore[no-untyped-def]
    confidential_rp, logged_in, measure
) -> None:
    with measure() as costs:
        answer = confidential_rp.introspect(logged_in["access_token"])
    assert answer.get_json()["active"] is True
    assert costs.summary() == (["SELECT tokens", "INSERT disclosure_queue"], ["MGET"])


def test_refresh_claims_the_old_token_and_stores_the_new_one(  # type: ignore[no-untyped-def]
    confidential_rp, logged_in, measure
) -> None:
    with measure() as costs:
        answer = confidential_rp.refresh(logged_in["refresh_token"])
    assert answer.status_code == 200
    assert costs.summary() == (
        ["SELECT tokens", "UPDATE tokens", "INSERT tokens", "INSERT disclosure_queue"],
        ["MGET"],
    )


def test_code_exchange(confidential_rp, logged_in, measure) -> None:  # type: ignore[no-untyped-def]
    attempt = confidential_rp.authorize(scope=SCOPE)
    with measure() as costs:
        answer = confidential_rp.exchange(attempt)
    assert answer.status_code == 200
    assert costs.summary() == (
        ["SELECT grants", "INSERT tokens", "INSERT disclosure_queue"],
        # The cache versions; the code taken once (a script: read and delete atomically).
        ["MGET", "EVALSHA"],
    )


def test_silent_authorization_with_a_session(  # type: ignore[no-untyped-def]
    confidential_rp, logged_in, measure
) -> None:
    with measure() as costs:
        attempt = confidential_rp.authorize(scope=SCOPE, prompt="none")
    assert attempt.result.get("code")
    assert costs.summary() == (
        [
            "SELECT accounts",
            "SELECT consents",
            "SELECT agreement_acceptances",
            # The sub this portal sees, remembered once (INSERT .. ON CONFLICT DO NOTHING, in
            # the grant's transaction): the evidence of a login for the portal API (issue 12).
            "INSERT portal_subjects",
            "INSERT grants",
        ],
        # The cache versions (portals, agreements), the SSO session, the code.
        ["MGET", "GETEX", "SET"],
    )


def test_a_portal_changed_elsewhere_is_seen_by_the_next_request(  # type: ignore[no-untyped-def]
    cli, confidential_rp, logged_in
) -> None:
    """The ``idp`` command is another process with its own caches: what it commits reaches the
    web application's cached portal at the very next request (idp.store.versions)."""
    assert confidential_rp.introspect(logged_in["access_token"]).status_code == 200
    cli.ok("clients", "delete", confidential_rp.client_id)
    refused = confidential_rp.introspect(logged_in["access_token"])
    assert refused.status_code == 401 and refused.get_json()["error"] == "invalid_client"


def test_a_published_agreement_is_asked_at_the_next_login(  # type: ignore[no-untyped-def]
    cli, confidential_rp, logged_in, tmp_path
) -> None:
    assert confidential_rp.authorize(scope=SCOPE, prompt="none").result.get("code")
    text = tmp_path / "new.txt"
    text.write_text("第一条 新的用户服务协议。\n第二条 重要变更。\n", encoding="utf-8")
    kinds = cli.ok("agreements", "list", "--json")
    kind = kinds[0]["kind"] if isinstance(kinds, list) else "natural_person"
    cli.ok("agreements", "publish", "--kind", kind, "--file", str(text), "--material")
    again = confidential_rp.authorize(scope=SCOPE, prompt="none")
    # prompt=none cannot show the new text: the portal is told an interaction is needed.
    assert again.result.get("error") == "interaction_required", again.result
