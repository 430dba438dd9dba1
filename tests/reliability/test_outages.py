"""Store outages under load: PostgreSQL, then Redis, stopped and restarted mid-run.

RFC 6749 5.2 and OIDC Core 3.1.2.6 (``temporarily_unavailable``), RFC 9110 15.6.4 (503 with
Retry-After). Six clients walk the whole flow against two ``idp serve`` processes (login,
agreement at an account's first login, consent, code exchange, UserInfo, introspection,
refresh) while the test stops each store for a few seconds. Promised (docs/reliability.md):

- during an outage every answer is a 503 with the spec's body, or a correct success (a request
  that needed only the store that is up); never a 500, never a 200 with a wrong result, never a
  refusal (4xx) caused by the outage;
- ``/readyz`` names the store that is down;
- after the restart the same processes (same worker pids) serve again;
- afterwards no accepted agreement, consent, disclosure record or issued token is missing, and
  ``idp audit verify`` passes.

Redis keeps nothing across its restart (no snapshot): logins under way lose their interaction,
codes not yet exchanged are gone. Such refusals are expected for flows begun before the Redis
restart, and are counted apart (``stale after restart``).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import psutil
import requests

from tests.reliability.conftest import PASSWORD, create_users
from tests.reliability.portal import Portal, Recorder, Refused, Unavailable, claims_of_token

CLIENTS = 6
PHASE_SECONDS = 3.0
GRACE_SECONDS = 1.0  # after a restart: the first requests may still meet a dead connection


@dataclass
class Outage:
    store: str
    started: float
    ended: float = float("inf")
    readyz: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Confirmed:
    """What the clients saw succeed: each must be found in the stores afterwards."""

    agreements: set[str] = field(default_factory=set)
    consents: set[str] = field(default_factory=set)
    disclosures: Counter[str] = field(default_factory=Counter)
    tokens: list[tuple[str, str]] = field(default_factory=list)
    iterations: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)


class Load:
    def __init__(self, servers: Any, portal: Portal, users: list[str]) -> None:
        self.bases = [f"http://127.0.0.1:{server.port}" for server in servers]
        self.portal = portal
        self.fresh = list(users)
        self.used: list[str] = []
        self.last_fresh = 0.0
        self.confirmed = Confirmed()
        self.outages: list[Outage] = []
        self.stop = threading.Event()
        self.lock = threading.Lock()

    def user(self, worker: int) -> str:
        with self.lock:
            if self.fresh and (len(self.used) < CLIENTS or time.monotonic() - self.last_fresh > 1):
                self.last_fresh = time.monotonic()
                self.used.append(self.fresh.pop())
                return self.used[-1]
            return self.used[worker % len(self.used)]

    def overlaps(self, started: float, ended: float, store: str | None = None) -> bool:
        return any(
            o.started <= ended and started <= o.ended + GRACE_SECONDS
            for o in self.outages
            if store is None or o.store == store
        )

    def after_redis_restart(self, started: float) -> bool:
        """A flow begun before a Redis restart may find its short-lived state gone."""
        return any(o.store == "redis" and started <= o.ended for o in self.outages)

    def worker(self, number: int) -> None:
        while not self.stop.is_set():
            started = time.monotonic()
            try:
                self.iteration(number)
                outcome = "complete"
            except Unavailable:
                outcome = "ended by a 503"
                time.sleep(0.2)
            except Refused as refused:
                if self.after_redis_restart(started):
                    outcome = "stale after restart"
                else:
                    outcome = "refused"
                    with self.portal.recorder.lock:
                        self.portal.recorder.violations.append(f"refusal: {refused}")
            except requests.RequestException:
                outcome = "no answer"
            except AssertionError as wrong:
                outcome = "wrong result"
                with self.portal.recorder.lock:
                    self.portal.recorder.violations.append(f"wrong result: {wrong}")
            with self.confirmed.lock:
                self.confirmed.iterations[outcome] += 1

    def iteration(self, number: int) -> None:
        """One person's visit: login at one server, back channel at the other (scale-out)."""
        front, back = self.bases[number % 2], self.bases[(number + 1) % 2]
        username = self.user(number)
        portal, confirmed = self.portal, self.confirmed
        with requests.Session() as browser, requests.Session() as http:
            login = portal.log_in(front, browser, username, PASSWORD)
            with confirmed.lock:
                if login.accepted_agreement:
                    confirmed.agreements.add(username)
                if login.consented:
                    confirmed.consents.add(username)
            answer = portal.exchange(back, http, login)
            if answer.status_code != 200:
                raise Refused("code exchange", answer)
            tokens = answer.json()
            assert tokens["token_type"].lower() == "bearer" and tokens["access_token"], tokens
            sub = claims_of_token(tokens["id_token"])["sub"]
            assert claims_of_token(tokens["id_token"])["nonce"] == login.nonce
            with confirmed.lock:
                confirmed.disclosures["id_token"] += 1

            info = portal.userinfo(front, http, tokens["access_token"])
            if info.status_code != 200:
                raise Refused("userinfo", info)
            assert info.json()["sub"] == sub, "UserInfo for another subject"
            with confirmed.lock:
                confirmed.disclosures["userinfo"] += 1

            seen = portal.introspect(back, http, tokens["access_token"])
            if seen.status_code != 200:
                raise Refused("introspection", seen)
            assert seen.json().get("active") is True, f"live token introspected as {seen.json()}"
            assert seen.json()["sub"] == sub
            with confirmed.lock:
                confirmed.disclosures["introspection"] += 1

            renewed = portal.refresh(front, http, tokens["refresh_token"])
            if renewed.status_code != 200:
                raise Refused("refresh", renewed)
            fresh = renewed.json()
            assert fresh["refresh_token"] != tokens["refresh_token"]
            with confirmed.lock:
                if "id_token" in fresh:
                    confirmed.disclosures["id_token"] += 1
                confirmed.tokens.append((fresh["access_token"], fresh["refresh_token"]))

    def watch_readyz(self, outage: Outage, until: threading.Event) -> None:
        while not until.is_set():
            for base in self.bases:
                try:
                    answer = requests.get(f"{base}/readyz", timeout=5)
                    outage.readyz.append({**answer.json(), "http": answer.status_code})
                except requests.RequestException:
                    outage.readyz.append({"http": None})
            until.wait(0.3)


def worker_pids(server: Any) -> set[int]:
    return {child.pid for child in psutil.Process(server.process.pid).children(recursive=True)}


def break_store(load: Load, store: str, stop: Any, start: Any) -> Outage:
    outage = Outage(store, time.monotonic())
    load.outages.append(outage)
    stop()
    down = threading.Event()
    watcher = threading.Thread(target=load.watch_readyz, args=(outage, down))
    watcher.start()
    time.sleep(PHASE_SECONDS)
    down.set()
    watcher.join()
    start()
    outage.ended = time.monotonic()
    return outage


def test_store_outages_under_load(servers, stores, figures):
    recorder = Recorder()
    first = servers[0]
    portal = Portal.register(first, "Outage portal", recorder)
    users = create_users(first, "outage", 12)
    pids = [worker_pids(server) for server in servers]
    load = Load(servers, portal, users)
    threads = [threading.Thread(target=load.worker, args=(n,)) for n in range(CLIENTS)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    try:
        time.sleep(PHASE_SECONDS)
        database = break_store(load, "database", stores.postgres.stop, stores.postgres.start)
        time.sleep(PHASE_SECONDS)
        cache = break_store(load, "redis", stores.redis.stop, stores.redis.start)
        time.sleep(PHASE_SECONDS)
    finally:
        load.stop.set()
        for thread in threads:
            thread.join(30)
    ended = time.monotonic()

    # Every answer was right, in and out of the outages.
    assert recorder.violations == [], recorder.violations[:10]
    for outage, down in ((database, "database"), (cache, "redis")):
        during = recorder.by_status(outage.started, outage.ended)
        assert during[503] > 0, (down, during)
        assert not {s for s in during if s >= 500} - {503}, during
        # /readyz names the store that is down, and only that one.
        assert outage.readyz, down
        for seen in outage.readyz:
            assert seen["http"] == 503, seen
            assert seen["checks"][down] == "unavailable", seen
            assert all(v == "ok" for k, v in seen["checks"].items() if k != down), seen
    # Out of the outages (and their grace), everything succeeded.
    for answer in recorder.answers:
        if not load.overlaps(answer.started, answer.ended):
            assert answer.status < 500, answer

    # The same processes serve again.
    for server, before in zip(servers, pids, strict=True):
        assert server.process.poll() is None
        assert worker_pids(server) == before
        assert requests.get(f"{server.issuer}/readyz", timeout=5).status_code == 200
    confirmed = load.confirmed
    assert confirmed.iterations["complete"] >= CLIENTS, confirmed.iterations

    # Nothing confirmed is missing.
    checked = verify_records(stores, servers[1], portal, confirmed)
    first.idp("audit", "chain")
    verified = first.idp("audit", "verify")  # exits non-zero on a broken chain

    figures.update(
        {
            "seconds": round(ended - began, 1),
            "requests": sum(recorder.by_status().values()),
            "by status": dict(sorted(recorder.by_status().items())),
            "database outage": recorder.by_kind_and_status(database.started, database.ended),
            "redis outage": recorder.by_kind_and_status(cache.started, cache.ended),
            "iterations": dict(confirmed.iterations),
            "records checked": checked,
            "audit verify": verified.strip().splitlines()[-1] if verified.strip() else "ok",
        }
    )


def verify_records(stores, server, portal: Portal, confirmed: Confirmed) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Each confirmed agreement, consent and disclosure is stored; each last token pair is live."""
    accounts = {
        row["username"]: row["id"]
        for row in stores.rows("SELECT id, username FROM accounts WHERE username LIKE 'outage-%'")
    }
    accepted = {
        row["account_id"] for row in stores.rows("SELECT account_id FROM agreement_acceptances")
    }
    for username in confirmed.agreements:
        assert accounts[username] in accepted, f"agreement of {username} missing"
    consented = {
        row["account_id"]
        for row in stores.rows(
            "SELECT account_id FROM consents WHERE client_id = :c", c=portal.client_id
        )
    }
    for username in confirmed.consents:
        assert accounts[username] in consented, f"consent of {username} missing"
    recorded: Counter[str] = Counter()
    for table in ("disclosures", "disclosure_queue"):
        for row in stores.rows(
            f"SELECT channel, count(*) AS n FROM {table} WHERE client_id = :c GROUP BY channel",
            c=portal.client_id,
        ):
            recorded[row["channel"]] += row["n"]
    for channel, seen in confirmed.disclosures.items():
        assert recorded[channel] >= seen, (channel, recorded[channel], seen)
    base = f"http://127.0.0.1:{server.port}"
    with requests.Session() as http:
        for access, refresh in confirmed.tokens:
            for token in (access, refresh):
                answer = portal.introspect(base, http, token)
                assert answer.json().get("active") is True, "an issued token is missing"
    return {
        "agreements": len(confirmed.agreements),
        "consents": len(confirmed.consents),
        "disclosures": sum(confirmed.disclosures.values()),
        "tokens": 2 * len(confirmed.tokens),
    }
