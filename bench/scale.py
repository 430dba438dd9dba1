"""Scale bench: login and token latency with 10 thousand accounts and with a million.

Not a test (pytest collects only ``tests/``): ``.venv/bin/python bench/scale.py --help``.
PostgreSQL and Redis only, in schemas and a Redis database of the bench's own (emptied first
unless ``--keep``).

1. ``bench/seed.py`` seeds real-name accounts (COPY) into one schema per size of ``--sizes``
   (``idp_scale_10k``, ``idp_scale_1m``); with ``--sequential``, into one schema
   (``idp_scale``), grown from one size to the next between the measurements.
2. One provider per schema is started as ``bench/run.py`` starts idp (``tests/e2e/server.py``:
   ``idp db upgrade`` then ``idp serve``, gunicorn, here one worker with four threads,
   production argon2id parameters). They share Redis, the signing keys and the data keys.
3. Untimed warm-up, then, one request at a time and alternating between the providers (A B,
   B A, ...: whatever else the machine does falls on both alike; ``--sequential``: one at a time):
   - ``login``: ``--logins`` password logins of random seeded accounts, each a new browser:
     GET /authorize -> login page -> POST the form (the username is the account's phone number
     or ID number, alternately; one argon2id verification) -> 303 to the portal with the code.
     A trusted portal and the seeded agreement evidence mean no other page comes in between:
     anything else counts as an error;
   - ``token: code exchange``: ``--requests`` POST /token (authorization code, PKCE,
     client_secret_basic); the codes are made just before, untimed, with the logged-in browsers;
   - ``userinfo`` and ``introspection``: ``--requests`` each, with those access tokens;
   - ``lookup``: the product's own account lookup (``People.find_by_identifier``, the query of
     every login) in this process, ``--requests`` times, and its ``EXPLAIN (ANALYZE, BUFFERS)``.
4. Unless ``--no-two-servers``: a second provider process on another port over the largest
   schema, sharing the database, Redis, signing keys and issuer, against the first alone, on
   stateless requests (discovery, userinfo): wrk (one per provider, ``--concurrency``
   connections split between them) or, without wrk, Python threads; ``--rounds`` rounds of
   ``--duration`` s, one/two/two/one.

The table compares each scenario's median (and 99th percentile) at the largest size with the
smallest; the issue asks for a median within 20 %. Results go to ``bench/results/scale.json``.
The load generator, the providers, PostgreSQL and Redis all share this machine's cores.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import math
import os
import platform
import random
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import requests
import seed

T = TypeVar("T")
PROJECT_ROOT = Path(__file__).resolve().parent.parent
RESULTS = PROJECT_ROOT / "bench" / "results" / "scale.json"
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
REDIS = "redis://127.0.0.1:6379/14"
SCOPE = "openid profile offline_access"
REDIRECT_URI = "https://portal.example.gov.cn/scale/callback"
# Production argon2id parameters, as bench/run.py uses (the seeded hash is made with them too).
ARGON2 = {
    "IDP_ARGON2_TIME_COST": "3",
    "IDP_ARGON2_MEMORY_KIB": "65536",
    "IDP_ARGON2_PARALLELISM": "4",
}


def bench_key(purpose: str) -> str:
    """Fixed personal-data keys: the people are fictional and the schema is thrown away, and a
    fixed key lets ``--keep`` measure an already seeded schema again."""
    digest = hashlib.sha256(f"idp scale bench {purpose}".encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()


# -- measuring ------------------------------------------------------------------------------------


@dataclass
class Result:
    scenario: str
    operations: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list, repr=False)

    @property
    def per_second(self) -> float:
        return self.operations / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        """Nearest-rank percentile of the successful operations' latencies."""
        if not self.latencies_ms:
            return math.nan
        ordered = sorted(self.latencies_ms)
        return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]

    def summary(self) -> dict[str, Any]:
        values = self.latencies_ms
        return {
            "scenario": self.scenario,
            "operations": self.operations,
            "errors": self.errors,
            "seconds": round(self.seconds, 3),
            "per_second": round(self.per_second, 1),
            "p50_ms": round(self.percentile(50), 2),
            "p90_ms": round(self.percentile(90), 2),
            "p99_ms": round(self.percentile(99), 2),
            "mean_ms": round(sum(values) / len(values), 2) if values else None,
            "max_ms": round(max(values), 2) if values else None,
        }


def timed(result: Result, operation: Callable[[], bool]) -> None:
    """One sequential operation: timed when it returns True, an error otherwise."""
    began = time.perf_counter()
    try:
        ok = operation()
    except (requests.RequestException, RuntimeError, ValueError, KeyError) as exc:
        print(f"    {result.scenario}: {exc}")
        ok = False
    elapsed = time.perf_counter() - began
    if ok:
        result.latencies_ms.append(elapsed * 1000)
        result.operations += 1
    else:
        result.errors += 1
    result.seconds += elapsed


def concurrently(
    result: Result,
    clients: int,
    duration: float,
    operation: Callable[[requests.Session, int], bool],
) -> None:
    """``operation(session, index)`` from ``clients`` threads, each with its own keep-alive
    session, for ``duration`` seconds; ``result.seconds`` is the wall time."""
    lock = threading.Lock()
    counter = [0]
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    start_line = threading.Barrier(clients + 1)
    deadline = [math.inf]

    def client(slot: int) -> None:
        with requests.Session() as session:
            start_line.wait()
            while time.perf_counter() < deadline[0]:
                with lock:
                    index = counter[0]
                    counter[0] += 1
                began = time.perf_counter()
                try:
                    ok = operation(session, index)
                except (requests.RequestException, ValueError, KeyError):
                    ok = False
                if ok:
                    latencies[slot].append((time.perf_counter() - began) * 1000)
                else:
                    errors[slot] += 1

    with ThreadPoolExecutor(max_workers=clients) as pool:
        futures = [pool.submit(client, slot) for slot in range(clients)]
        began = time.perf_counter()
        deadline[0] = began + duration
        start_line.wait()
        for future in futures:
            future.result()
        result.seconds = time.perf_counter() - began
    for slot in range(clients):
        result.latencies_ms.extend(latencies[slot])
        result.errors += errors[slot]
    result.operations = len(result.latencies_ms)


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        # Other work on the machine skews the figures: the 1-minute load before the run.
        "load_average_before": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "system": platform.platform(),
        "python": platform.python_version(),
    }


# -- the portal and the browser --------------------------------------------------------------------


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def form_value(html: str, name: str) -> str:
    match = re.search(rf'name="{name}"[^>]*value="([^"]*)"', html)
    if not match:
        raise RuntimeError(f"no {name} in the page")
    return match.group(1)


def form_action(html: str, contains: str) -> str:
    for action in re.findall(r'<form[^>]*action="([^"]+)"', html):
        if contains in action:
            return action.replace("&amp;", "&")
    raise RuntimeError(f"no form posting to *{contains}*")


@dataclass
class Portal:
    """The bench's portal on one provider: a confidential client (client_secret_basic)."""

    issuer: str
    client_id: str
    client_secret: str

    @property
    def basic_auth(self) -> tuple[str, str]:
        return (self.client_id, self.client_secret)

    def authorization_url(self) -> tuple[str, str]:
        verifier, challenge = pkce_pair()
        query = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": REDIRECT_URI,
            "scope": SCOPE,
            "state": secrets.token_urlsafe(12),
            "nonce": secrets.token_urlsafe(12),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        return f"{self.issuer}/authorize?{urlencode(query)}", verifier

    @staticmethod
    def code_from(response: requests.Response) -> str | None:
        location = response.headers.get("Location", "")
        if response.status_code != 303 or not location.startswith(REDIRECT_URI + "?"):
            return None
        return parse_qs(urlsplit(location).query).get("code", [None])[0]

    def exchange(
        self, session: requests.Session, code: str, verifier: str
    ) -> dict[str, Any] | None:
        response = session.post(
            f"{self.issuer}/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT_URI,
                "code_verifier": verifier,
            },
            auth=self.basic_auth,
            timeout=30,
        )
        return response.json() if response.status_code == 200 else None


# -- the provider ---------------------------------------------------------------------------------


@dataclass
class Setup:
    """What every provider of the run shares: Redis, the signing keys, the data keys."""

    postgres: str
    redis_url: str
    keys_dir: Path
    settings: dict[str, str] = field(default_factory=dict)

    def database_url(self, schema: str) -> str:
        return f"{self.postgres}?options=-csearch_path%3D{schema}"

    def server(self, schema: str, issuer: str | None = None) -> Any:
        from tests.e2e.server import ProviderServer

        extra = {"IDP_ISSUER": issuer} if issuer else {}
        database = {"IDP_DATABASE_URL": self.database_url(schema)}
        return ProviderServer(workers=1, threads=4, **self.settings, **database, **extra)

    @classmethod
    def make(cls, postgres: str, redis_url: str, keys_dir: Path) -> Setup:
        settings = {
            **ARGON2,
            "IDP_REDIS_URL": redis_url,
            "IDP_KEYS_DIR": str(keys_dir),  # shared by every server: one set of signing keys
            "IDP_DATA_KEY": bench_key("data key"),
            "IDP_DATA_INDEX_KEY": bench_key("index key"),
        }
        return cls(postgres, redis_url, keys_dir, settings)


@contextmanager
def running(server: Any) -> Iterator[Any]:
    try:
        server.start(timeout=60)
        yield server
    except Exception:
        print(server.log(), file=sys.stderr)
        raise
    finally:
        server.stop()


def services_for(server: Any) -> Any:
    """The provider's services in this process, with the server's settings (the lookup)."""
    from idp.config import load_config
    from idp.services import Services

    overrides = {k.removeprefix("IDP_"): v for k, v in server.settings.items()}
    return Services(load_config(overrides))


def reset(postgres: str, schemas: list[str], redis_url: str) -> None:
    import psycopg
    import redis

    with psycopg.connect(postgres.replace("+psycopg", "", 1), autocommit=True) as connection:
        for schema in schemas:
            connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            connection.execute(f'CREATE SCHEMA "{schema}"')
    client = redis.Redis.from_url(redis_url)
    client.flushdb()  # this database only (the URL's number)
    client.close()


def seed_to(server: Any, count: int, batch: int) -> dict[str, Any]:
    """``bench/seed.py`` with the server's environment, in its own process; its progress is
    printed as it comes, its last line is the summary (JSON)."""
    command = [sys.executable, str(Path(seed.__file__)), "--count", str(count)]
    command += ["--batch", str(batch), "--json"]
    with subprocess.Popen(command, env=server.env(), stdout=subprocess.PIPE, text=True) as child:
        assert child.stdout is not None
        lines = []
        for line in child.stdout:
            lines.append(line)
            if not line.startswith("{"):
                print("  " + line.rstrip(), flush=True)
    if child.returncode != 0 or not lines:
        raise RuntimeError(f"bench/seed.py exited with {child.returncode}")
    return dict(json.loads(lines[-1]))


def make_portal(server: Any) -> Portal:
    """A trusted portal (a same-authority portal: no consent page for ordinary claims)."""
    data = server.idp_json(
        "clients",
        "create",
        "--name",
        "Scale bench portal",
        "--redirect-uri",
        REDIRECT_URI,
        "--trusted",
        "--json",
    )
    return Portal(server.issuer, data["client_id"], data["client_secret"])


# -- one size --------------------------------------------------------------------------------------


def strict_login(portal: Portal, browser: requests.Session, username: str) -> tuple[str, str]:
    """GET /authorize -> login page -> POST -> the code: any other page is an error."""
    url, verifier = portal.authorization_url()
    response = browser.get(url, allow_redirects=False, timeout=30)
    if response.status_code != 303:
        raise RuntimeError(f"/authorize answered {response.status_code}")
    page = browser.get(urljoin(url, response.headers["Location"]), timeout=30)
    if page.status_code != 200 or 'name="password"' not in page.text:
        raise RuntimeError(f"no login page ({page.status_code})")
    response = browser.post(
        urljoin(page.url, form_action(page.text, "/login")),
        data={
            "csrf_token": form_value(page.text, "csrf_token"),
            "username": username,
            "password": seed.PASSWORD,
        },
        allow_redirects=False,
        timeout=30,
    )
    code = portal.code_from(response)
    if code is None:
        where = response.headers.get("Location", "")
        raise RuntimeError(f"login answered {response.status_code} {where[:80]}, not the code")
    return code, verifier


def username_of(number: int, turn: int) -> str:
    who = seed.person(number)
    return who.phone if turn % 2 == 0 else who.id_number


SCENARIOS = ("login", "token: code exchange", "userinfo", "introspection", "lookup (in process)")


@dataclass
class Target:
    """One provider over one set of accounts, and what was measured on it."""

    size: int
    server: Any
    portal: Portal
    chooser: random.Random
    results: dict[str, Result] = field(default_factory=dict)
    browsers: list[requests.Session] = field(default_factory=list)
    back: requests.Session = field(default_factory=requests.Session)
    access: list[str] = field(default_factory=list)
    plans: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.results = {name: Result(name) for name in SCENARIOS}

    def account(self, turn: int) -> str:
        return username_of(self.chooser.randrange(self.size), turn)

    def close(self) -> None:
        self.back.close()
        for browser in self.browsers:
            browser.close()


def in_turn(targets: list[T], turn: int) -> list[T]:
    """Every target once per turn, the order reversed every other turn (A B, B A, ...), so that
    whatever else the machine does falls on each alike."""
    return targets if turn % 2 == 0 else targets[::-1]


def measure_targets(targets: list[Target], args: argparse.Namespace) -> None:
    """The sequential scenarios, one request at a time, alternating between the targets."""
    for turn in range(args.warmup):  # untimed: the worker's first requests, caches
        for t in targets:
            with requests.Session() as browser:
                t.portal.exchange(t.back, *strict_login(t.portal, browser, t.account(turn)))

    for turn in range(args.logins):
        for t in in_turn(targets, turn):
            browser = requests.Session()
            t.browsers.append(browser)
            codes: list[tuple[str, str]] = []

            def one_login(
                t: Target = t,
                browser: requests.Session = browser,
                username: str = t.account(turn),
                codes: list[tuple[str, str]] = codes,
            ) -> bool:
                codes.append(strict_login(t.portal, browser, username))
                return True

            timed(t.results["login"], one_login)
            if codes:  # the login's own code is redeemed too, as a portal would
                t.portal.exchange(t.back, *codes[0])
    for t in targets:
        if not any(b.cookies for b in t.browsers):
            raise RuntimeError(f"no login succeeded on {t.server.issuer}:\n{t.server.log()}")

    for turn in range(args.requests):
        for t in in_turn(targets, turn):
            live = [b for b in t.browsers if b.cookies]
            url, verifier = t.portal.authorization_url()
            # Untimed: a logged-in browser and a trusted portal get the code at once.
            code = t.portal.code_from(live[turn % len(live)].get(url, allow_redirects=False))
            if code is None:
                t.results["token: code exchange"].errors += 1
                continue

            def one_exchange(t: Target = t, code: str = code, verifier: str = verifier) -> bool:
                token = t.portal.exchange(t.back, code, verifier)
                if token is not None:
                    t.access.append(token["access_token"])
                return token is not None

            timed(t.results["token: code exchange"], one_exchange)

    def userinfo(t: Target, token: str) -> bool:
        response = t.back.get(
            f"{t.portal.issuer}/userinfo", headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
        return response.status_code == 200

    def introspection(t: Target, token: str) -> bool:
        response = t.back.post(
            f"{t.portal.issuer}/introspect",
            data={"token": token},
            auth=t.portal.basic_auth,
            timeout=30,
        )
        return response.status_code == 200 and response.json()["active"] is True

    for name, call in (("userinfo", userinfo), ("introspection", introspection)):
        for turn in range(args.requests):
            for t in in_turn(targets, turn):
                token = t.access[turn % len(t.access)]
                timed(t.results[name], lambda t=t, token=token, call=call: call(t, token))

    account_lookup(targets, args.requests)


def account_lookup(targets: list[Target], count: int) -> None:
    """``People.find_by_identifier`` in this process (no HTTP, no argon2id): the query of every
    login timed alone, and its plan (``EXPLAIN (ANALYZE, BUFFERS)``) by phone and by ID number."""
    from sqlalchemy import event

    everyone = [services_for(t.server) for t in targets]
    try:
        for t, services in zip(targets, everyone, strict=True):  # untimed: the connection
            services.people.find_by_identifier(t.account(0))
            services.db.remove()
        for turn in range(count):
            for t, services in in_turn(list(zip(targets, everyone, strict=True)), turn):
                username = t.account(turn)
                people = services.people
                timed(
                    t.results["lookup (in process)"],
                    lambda people=people, username=username: (
                        people.find_by_identifier(username) is not None
                    ),
                )
                services.db.remove()
        for t, services in zip(targets, everyone, strict=True):
            t.plans = explain_lookup(services, t, event)
    finally:
        for services in everyone:
            services.db.remove()
            services.close()


def explain_lookup(services: Any, target: Target, event: Any) -> dict[str, list[str]]:
    """The statement ``find_by_identifier`` sends, caught on its way out, explained."""
    statements: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        statements.append((statement, parameters))

    db, plans = services.db, {}
    for kind, turn in (("phone", 0), ("id_number", 1)):
        statements.clear()
        event.listen(db.engine, "before_cursor_execute", capture)
        try:
            services.people.find_by_identifier(target.account(turn))
        finally:
            event.remove(db.engine, "before_cursor_execute", capture)
            db.remove()
        statement, parameters = statements[-1]
        raw = db.engine.raw_connection()
        try:
            with raw.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
                plans[kind] = [row[0] for row in cursor.fetchall()]
        finally:
            raw.rollback()
            raw.close()
    return plans


# -- one provider process or two -----------------------------------------------------------------


WRK_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk_figures(output: str) -> dict[str, Any]:
    """Requests, rate, errors and latency percentiles from ``wrk --latency``'s report."""

    def latency(percent: str) -> float | None:
        match = re.search(rf"^\s*{percent}%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
        return float(match.group(1)) * WRK_UNITS[match.group(2)] if match else None

    done = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s)", output)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    if not done or not rate:
        raise RuntimeError(f"wrk said:\n{output}")
    errors = int(bad.group(1)) if bad else 0
    errors += sum(int(n) for n in sockets.groups()) if sockets else 0
    return {
        "operations": int(done.group(1)),
        "errors": errors,
        "per_second": float(rate.group(1)),
        "p50_ms": latency("50"),
        "p99_ms": latency("99"),
    }


def with_wrk(wrk: str, urls: list[str], connections: int, duration: float, header: str) -> Any:
    """One wrk (one thread) per server at once, the connections split between them; the rates
    add up, the latencies are the worse of the two."""
    share = max(1, connections // len(urls))
    command = [wrk, "-t1", f"-c{share}", f"-d{duration:g}s", "--latency"]
    command += ["-H", header] if header else []
    runs = [subprocess.Popen([*command, url], stdout=subprocess.PIPE, text=True) for url in urls]
    figures = [wrk_figures(run.communicate()[0]) for run in runs]
    return {
        "operations": sum(f["operations"] for f in figures),
        "errors": sum(f["errors"] for f in figures),
        "per_second": round(sum(f["per_second"] for f in figures), 1),
        "p50_ms": max(f["p50_ms"] or 0 for f in figures),
        "p99_ms": max(f["p99_ms"] or 0 for f in figures),
        "client": f"wrk -t1 -c{share} per server",
    }


def with_python(urls: list[str], clients: int, duration: float, header: str) -> Any:
    """Without wrk: Python threads, the requests spread over the servers in turn."""
    headers = {"Authorization": header.split(": ", 1)[1]} if header else {}

    def call(session: requests.Session, index: int) -> bool:
        return session.get(urls[index % len(urls)], headers=headers, timeout=30).ok

    result = Result("stateless")
    concurrently(result, clients, duration, call)
    return {**result.summary(), "client": f"python-requests, {clients} threads"}


def two_servers(
    setup: Setup, schema: str, first: Any, access: list[str], args: argparse.Namespace
) -> list[dict[str, Any]]:
    """Stateless requests (discovery; userinfo, which reads the token and the account and
    appends to the disclosure chain) from ``--concurrency`` connections: to the first server
    alone, then split over it and a second process sharing the database, Redis, the keys and
    the issuer, as two processes behind a load balancer would."""
    second = setup.server(schema, issuer=first.issuer)
    wrk = shutil.which("wrk")
    rows = []
    with running(second):
        for name, path, header in (
            ("discovery", "/.well-known/openid-configuration", ""),
            ("userinfo", "/userinfo", f"Authorization: Bearer {access[-1]}"),
        ):
            row: dict[str, Any] = {"workload": name}
            runs: dict[str, list[dict[str, Any]]] = {"one": [], "two": []}
            for turn in range(args.rounds):  # one, two, two, one, ...: drift falls on both
                for how in in_turn(["one", "two"], turn):
                    urls = [s.issuer + path for s in ([first] if how == "one" else [first, second])]
                    if wrk:
                        figures = with_wrk(wrk, urls, args.concurrency, args.duration, header)
                    else:
                        figures = with_python(urls, args.concurrency, args.duration, header)
                    runs[how].append(figures)
            for how, figures in runs.items():
                row[how] = {
                    "operations": sum(f["operations"] for f in figures),
                    "errors": sum(f["errors"] for f in figures),
                    "per_second": round(statistics.mean(f["per_second"] for f in figures), 1),
                    "p50_ms": round(statistics.mean(f["p50_ms"] for f in figures), 2),
                    "p99_ms": max(f["p99_ms"] for f in figures),
                    "client": figures[0]["client"],
                    "rounds": figures,
                }
            row["throughput_ratio"] = round(row["two"]["per_second"] / row["one"]["per_second"], 2)
            print(
                f"  {name}: {row['one']['per_second']:.0f}/s with one process, "
                f"{row['two']['per_second']:.0f}/s with two ({row['throughput_ratio']:.2f}x)"
            )
            rows.append(row)
    return rows


# -- report ---------------------------------------------------------------------------------------


def label(size: int) -> str:
    if size >= 1_000_000 and size % 1_000_000 == 0:
        return f"{size // 1_000_000}M"
    if size >= 1000 and size % 1000 == 0:
        return f"{size // 1000}k"
    return str(size)


def comparison(sizes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    small, large = sizes[0], sizes[-1]
    rows = []
    for before in small["results"]:
        after = next(r for r in large["results"] if r["scenario"] == before["scenario"])
        rows.append(
            {
                "scenario": before["scenario"],
                "small": before,
                "large": after,
                "p50_ratio": round(after["p50_ms"] / before["p50_ms"], 3),
                "p99_ratio": round(after["p99_ms"] / before["p99_ms"], 3),
                "within_20_percent": after["p50_ms"] <= 1.2 * before["p50_ms"],
            }
        )
    return rows


def print_report(sizes: list[dict[str, Any]], rows: list[dict[str, Any]]) -> None:
    a, b = label(sizes[0]["accounts"]), label(sizes[-1]["accounts"])
    header = (
        f"{'scenario':<22}{'n':>5}{'err':>5}{a + ' p50':>10}{b + ' p50':>10}{'ratio':>7}"
        f"{a + ' p99':>10}{b + ' p99':>10}{'ratio':>7}  median within 20 %"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        small, large = row["small"], row["large"]
        errors = small["errors"] + large["errors"]
        print(
            f"{row['scenario']:<22}{large['operations']:>5}{errors:>5}"
            f"{small['p50_ms']:>10.1f}{large['p50_ms']:>10.1f}{row['p50_ratio']:>7.2f}"
            f"{small['p99_ms']:>10.1f}{large['p99_ms']:>10.1f}{row['p99_ratio']:>7.2f}"
            f"  {'yes' if row['within_20_percent'] else 'NO'}"
        )


def print_two(rows: list[dict[str, Any]]) -> None:
    header = f"{'workload':<12}{'1 server/s':>12}{'2 servers/s':>13}{'ratio':>7}"
    print(f"\n{header}{'p50 1':>8}{'p50 2':>8}")
    for row in rows:
        one, two = row["one"], row["two"]
        print(
            f"{row['workload']:<12}{one['per_second']:>12.1f}{two['per_second']:>13.1f}"
            f"{row['throughput_ratio']:>7.2f}{one['p50_ms']:>8.1f}{two['p50_ms']:>8.1f}"
        )


def summary(result: Result) -> dict[str, Any]:
    data = result.summary()
    data["median_ms"] = (
        round(statistics.median(result.latencies_ms), 2) if result.latencies_ms else None
    )
    return data


# -- main -----------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--sizes", default="10000,1000000", help="account counts, ascending")
    parser.add_argument("--postgres", default=POSTGRES, help="PostgreSQL server and database")
    parser.add_argument(
        "--schema",
        default="idp_scale",
        help="the schema with --sequential, else the prefix of one schema per size (_10k, _1m)",
    )
    parser.add_argument("--redis", default=REDIS, help="Redis database (emptied)")
    parser.add_argument(
        "--sequential",
        action="store_true",
        help="one schema, grown between the measurements, instead of one schema per size "
        "measured alternately",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the schemas and Redis data (seeding appends)"
    )
    parser.add_argument("--logins", type=int, default=30, help="timed logins per size")
    parser.add_argument("--requests", type=int, default=300, help="timed requests per scenario")
    parser.add_argument("--warmup", type=int, default=3, help="untimed logins first")
    parser.add_argument("--batch", type=int, default=20_000, help="accounts per seeding batch")
    parser.add_argument("--no-two-servers", action="store_true", help="skip the 1 vs 2 servers")
    parser.add_argument("--concurrency", type=int, default=8, help="clients, 1 vs 2 servers")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds, 1 vs 2 servers")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of 1 vs 2 servers")
    parser.add_argument("--output", type=Path, default=RESULTS, help="the JSON report")
    args = parser.parse_args(argv)
    args.size_list = [int(s) for s in args.sizes.split(",") if s.strip()]
    if not args.size_list or args.size_list != sorted(args.size_list) or args.size_list[0] < 1:
        parser.error("--sizes: positive account counts, ascending")
    if args.logins < 1 or args.requests < 1:
        parser.error("--logins and --requests must be positive")
    return args


def record(target: Target, schema: str, seeding: dict[str, Any]) -> dict[str, Any]:
    results = [summary(target.results[name]) for name in SCENARIOS]
    print(f"== {label(target.size)} accounts (schema {schema}):")
    for s in results:
        print(
            f"  {s['scenario']:<22} n={s['operations']:<4} errors={s['errors']:<3}"
            f" p50={s['p50_ms']:.1f} ms p99={s['p99_ms']:.1f} ms"
        )
    return {
        "accounts": target.size,
        "schema": schema,
        "seeding": seeding,
        "results": results,
        "lookup_plans": target.plans,
    }


def run(setup: Setup, args: argparse.Namespace) -> tuple[list[dict[str, Any]], list[Any]]:
    """Seed, start, measure; returns each size's figures and the 1 vs 2 servers rows."""
    sizes: list[dict[str, Any]] = []
    parallel: list[Any] = []
    if args.sequential:  # one schema, grown: measure, seed more, measure
        for number, size in enumerate(args.size_list):
            with ExitStack() as stack:
                server = setup.server(args.schema)
                stack.callback(server.stop)  # its temporary folder, even if seeding fails
                print(f"\n== {label(size)} accounts: seeding schema {args.schema}")
                seeding = seed_to(server, size, args.batch)
                stack.enter_context(running(server))
                target = Target(seeding["count"], server, make_portal(server), random.Random(size))
                stack.callback(target.close)
                print(f"== measuring on {server.issuer}")
                measure_targets([target], args)
                sizes.append(record(target, args.schema, seeding))
                if number == len(args.size_list) - 1 and not args.no_two_servers:
                    print(f"== one provider process vs two ({args.concurrency} clients)")
                    parallel = two_servers(setup, args.schema, server, target.access, args)
        return sizes, parallel

    # Interleaved: one schema per size, all seeded first, one provider on each; every scenario
    # alternates its requests between them.
    schemas = [schema_of(args, size) for size in args.size_list]
    with ExitStack() as stack:
        servers = []
        for schema in schemas:
            servers.append(setup.server(schema))
            stack.callback(servers[-1].stop)  # its temporary folder, even if seeding fails
        seedings = []
        for size, schema, server in zip(args.size_list, schemas, servers, strict=True):
            print(f"\n== {label(size)} accounts: seeding schema {schema}")
            seedings.append(seed_to(server, size, args.batch))
        targets = []
        for size, seeding, server in zip(args.size_list, seedings, servers, strict=True):
            stack.enter_context(running(server))
            target = Target(seeding["count"], server, make_portal(server), random.Random(size))
            stack.callback(target.close)
            targets.append(target)
        print("\n== measuring, alternating between " + ", ".join(s.issuer for s in servers))
        measure_targets(targets, args)
        for target, schema, seeding in zip(targets, schemas, seedings, strict=True):
            sizes.append(record(target, schema, seeding))
        if not args.no_two_servers:
            print(f"== one provider process vs two ({args.concurrency} clients)")
            last = targets[-1]
            parallel = two_servers(setup, schemas[-1], last.server, last.access, args)
    return sizes, parallel


def schema_of(args: argparse.Namespace, size: int) -> str:
    return args.schema if args.sequential else f"{args.schema}_{label(size).lower()}"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    host = machine()
    sys.path.insert(0, str(PROJECT_ROOT))  # tests.e2e.server, the harness bench/run.py uses
    schemas = sorted({schema_of(args, size) for size in args.size_list})
    if not args.keep:
        print(f"emptying schema {', '.join(schemas)} and Redis {args.redis}")
        reset(args.postgres, schemas, args.redis)
    keys_dir = Path(tempfile.mkdtemp(prefix="idp-scale-keys-"))
    try:
        sizes, parallel = run(Setup.make(args.postgres, args.redis, keys_dir), args)
    finally:
        shutil.rmtree(keys_dir, ignore_errors=True)

    print()
    for line in sizes[-1]["lookup_plans"].get("phone", []):
        print(line)
    print()
    rows = comparison(sizes)
    print_report(sizes, rows)
    if parallel:
        print_two(parallel)
    report = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": host,
        "mode": "sequential" if args.sequential else "interleaved",
        "server": {
            "command": "idp serve --workers 1 --threads 4",
            "database": "postgresql, schemas " + ", ".join(schemas),
            "redis": args.redis,
            "argon2id": {k.removeprefix("IDP_ARGON2_").lower(): int(v) for k, v in ARGON2.items()},
            "portal": "trusted (no consent page), scope " + SCOPE,
        },
        "load": {
            "sequential_requests": True,
            "logins": args.logins,
            "requests": args.requests,
            "client": f"python-requests {requests.__version__}, same machine",
        },
        "sizes": sizes,
        "comparison": rows,
        "one_vs_two_servers": {
            "concurrency": args.concurrency,
            "duration_s": args.duration,
            "workers_per_server": 1,
            "threads_per_worker": 4,
            "rows": parallel,
        },
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(f"\nwritten to {args.output}")
    return 1 if any(r["small"]["errors"] or r["large"]["errors"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
