"""Benchmark: idp side by side with node-oidc-provider, the same workloads against both.

Not a test (pytest collects only ``tests/``, and no test is timed). Run ``make bench``, or
``.venv/bin/python bench/run.py --help`` for the options; bench/README.md explains the figures.

Each server runs on one core (``--server-core``, 0): idp is ``idp db upgrade`` then ``idp serve
--workers W --threads T`` (one worker process by default) started by the end-to-end harness
(tests/e2e/server.py) and then pinned, every thread of the main process, its workers and the
embedded Redis; the peer is bench/peer/server.js (node-oidc-provider 9, in memory, one process)
started under ``taskset``. The load comes from the other core (``--load-core``, 1): wrk with the
Lua scripts of bench/wrk/ (one thread, ``--connections`` keep-alive connections), and a
sequential Python client for the full password login. Only loopback traffic.

Workloads (``--workloads``), each ``--duration`` seconds: discovery, jwks, userinfo,
userinfo-dpop, introspection, code-exchange, refresh, silent-authorize, login. The peer runs
once and is compared with idp on each backend (``--backends``): ``sqlite`` (SQLite and embedded
Redis, the defaults) and ``postgresql`` (the servers of ``IDP_BENCH_DATABASE_URL`` /
``IDP_BENCH_REDIS_URL``, by default the machine's, in schema ``idp_bench`` and Redis database 15,
both emptied first). Passwords use the
production argon2id parameters (t=3, m=64 MiB, p=4); just before each provider's login workload,
the raw verify rate of its argon2id library at those parameters on the server core is measured,
to compare the login rate with it.

The tables are printed; the figures go to ``bench/results/latest.json`` and the servers' logs
beside it. Exit status 1 if any request got an unexpected answer (or a set-up step failed).
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
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urljoin, urlsplit

import requests

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BENCH = PROJECT_ROOT / "bench"
WRK_DIR = BENCH / "wrk"
PEER_DIR = BENCH / "peer"
RESULTS = BENCH / "results"
REDIRECT_URI = "https://portal.example.gov.cn/bench/callback"
SCOPE = "openid profile offline_access"
PASSWORD = "bench correct horse battery staple"
NAME = "张三"  # a real name: idp seals it (AES-256-GCM) and opens it for userinfo and the ID token
# Production argon2id parameters (idp.config defaults, RFC 9106), for idp and the peer alike.
ARGON2 = {"time_cost": 3, "memory_kib": 65536, "parallelism": 4}
WORKLOADS = (
    "discovery",
    "jwks",
    "userinfo",
    "userinfo-dpop",
    "introspection",
    "code-exchange",
    "refresh",
    "silent-authorize",
    "login",
)
BACKENDS = ("sqlite", "postgresql")
DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"
PG_SCHEMA = "idp_bench"
# The access and refresh tokens made untimed for userinfo, introspection and the refresh chain
# (at least two per connection).
PREPARED_TOKENS = 64
# userinfo-dpop: DPoP proofs signed beforehand per second of the run, well above the rate one
# core reaches (when they run out the thread stops, and the rate is counted up to then).
DPOP_PROOFS_PER_SECOND = 4000
# idp's iat window for the bench (IDP_DPOP_IAT_WINDOW): the proofs are signed before the run,
# so the window covers signing them and a long --duration (the peer's is its own, 300 s).
DPOP_IAT_WINDOW = 3600
# Codes live 60 s (RFC 9700; idp allows no more): making them and exchanging them fit in this.
CODE_WINDOW = 55
# Issue 11's targets.
TARGET_P99_MS = 50.0
TARGET_LOGIN_RATIO = 0.7


class BenchError(RuntimeError):
    """A set-up step failed, or a provider answered what the bench did not expect."""


def log(message: str) -> None:
    print(message, flush=True)


# -- tools ----------------------------------------------------------------------------------------


def ensure_wrk() -> str:
    """wrk from Debian's package; installed when missing and running as root."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0:
        raise BenchError("wrk is missing; install it: sudo apt-get install wrk")
    log("installing Debian's wrk ...")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "wrk"], check=True, env=env
    )
    found = shutil.which("wrk")
    if not found:
        raise BenchError("apt-get installed wrk, but it is not on PATH")
    return found


def ensure_peer() -> dict[str, str]:
    """node and the peer's node_modules (``npm ci`` from the lock file when missing)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        raise BenchError("node and npm are missing; install Node.js 20.19 or later")
    if not (PEER_DIR / "node_modules" / "oidc-provider" / "package.json").exists():
        log("installing the peer's packages (npm ci in bench/peer) ...")
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=PEER_DIR, check=True
        )
    versions = {"node": run_text([node, "--version"]).strip()}
    for package in ("oidc-provider", "argon2"):
        manifest = PEER_DIR / "node_modules" / package / "package.json"
        versions[package] = json.loads(manifest.read_text())["version"]
    return versions


def run_text(command: list[str], **kwargs: Any) -> str:
    return subprocess.run(command, capture_output=True, text=True, check=True, **kwargs).stdout


def pin_process_tree(pids: list[int], core: int) -> list[int]:
    """Pin every thread of these processes and of their children to ``core``; return the pids."""
    import psutil

    processes: dict[int, psutil.Process] = {}
    for pid in pids:
        try:
            process = psutil.Process(pid)
        except psutil.NoSuchProcess:
            continue
        processes[pid] = process
        for child in process.children(recursive=True):
            processes[child.pid] = child
    for pid in processes:
        try:
            tasks = list(Path(f"/proc/{pid}/task").iterdir())
        except FileNotFoundError:
            continue  # a process that just ended
        for task in tasks:
            try:
                os.sched_setaffinity(int(task.name), {core})
            except (ProcessLookupError, FileNotFoundError):
                pass  # a thread that just ended
    return sorted(processes)


def stray_threads(pids: list[int], core: int) -> list[str]:
    """Threads of these processes (and their children) allowed on more than ``core``: the proof,
    after the workloads, that the server stayed on its core."""
    import psutil

    stray = []
    for pid in pids:
        try:
            tree = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
        for process in tree:
            try:
                tasks = list(Path(f"/proc/{process.pid}/task").iterdir())
            except FileNotFoundError:
                continue
            for task in tasks:
                try:
                    allowed = os.sched_getaffinity(int(task.name))
                except (ProcessLookupError, FileNotFoundError):
                    continue
                if allowed != {core}:
                    stray.append(f"{process.pid}/{task.name} on {sorted(allowed)}")
    return stray


# -- a provider as the bench sees it --------------------------------------------------------------


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def form_value(html: str, name: str) -> str | None:
    match = re.search(rf'name="{name}"[^>]*value="([^"]*)"', html)
    return match.group(1) if match else None


def form_action(html: str, contains: str) -> str | None:
    for action in re.findall(r'<form[^>]*action="([^"]+)"', html):
        if contains in action:
            return action.replace("&amp;", "&")
    return None


@dataclass
class Target:
    """One provider under test: its discovery document, its client and its account.

    All codes of a run are asked with one PKCE challenge, so that the wrk scripts can exchange
    codes that another run made (the verifier is a secret of the bench, not of a browser)."""

    label: str
    issuer: str
    client_id: str
    client_secret: str
    username: str
    argon2: str  # whose argon2id it verifies passwords with: "python" (argon2-cffi) or "node"
    metadata: dict[str, Any] = field(default_factory=dict)
    verifier: str = ""
    challenge: str = ""

    def __post_init__(self) -> None:
        self.verifier, self.challenge = pkce_pair()

    def discover(self) -> None:
        response = requests.get(f"{self.issuer}/.well-known/openid-configuration", timeout=10)
        if response.status_code != 200:
            raise BenchError(f"{self.label}: discovery answered {response.status_code}")
        self.metadata = response.json()

    def endpoint(self, name: str) -> str | None:
        value = self.metadata.get(name)
        return value if isinstance(value, str) and value else None

    def path(self, name: str) -> str:
        """The path (and query) of an endpoint of the discovery document, for wrk."""
        url = self.endpoint(name)
        if url is None:
            raise BenchError(f"{self.label}: no {name} in the discovery document")
        parts = urlsplit(url)
        if f"{parts.scheme}://{parts.netloc}" != self.issuer:
            raise BenchError(f"{self.label}: {name} {url} is not on {self.issuer}")
        return parts.path + (f"?{parts.query}" if parts.query else "")

    @property
    def basic_auth_header(self) -> str:
        # RFC 6749 2.3.1: both parts form-encoded before base64.
        raw = f"{quote(self.client_id, safe='')}:{quote(self.client_secret, safe='')}"
        return "Basic " + base64.b64encode(raw.encode()).decode()

    def authorize_query(self, prompt: str | None) -> dict[str, str]:
        query = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": REDIRECT_URI,
            "scope": SCOPE,
            "nonce": "bench-nonce",
            "code_challenge": self.challenge,
            "code_challenge_method": "S256",
        }
        if prompt:
            query["prompt"] = prompt
        return query

    def authorize_url(self, prompt: str | None = None) -> str:
        query = {**self.authorize_query(prompt), "state": secrets.token_urlsafe(12)}
        return f"{self.endpoint('authorization_endpoint')}?{urlencode(query)}"

    @staticmethod
    def code_from(response: requests.Response) -> str | None:
        location = response.headers.get("Location", "")
        if response.status_code not in (302, 303) or not location.startswith(REDIRECT_URI + "?"):
            return None
        return parse_qs(urlsplit(location).query).get("code", [None])[0]

    def login(self, browser: requests.Session, consent: bool = False) -> str | None:
        """The front channel of a browser: the authorization request, then the provider's pages
        (login form, idp's agreement page, the consent form when ``consent``) until the redirect
        back with a code; None on any surprise."""
        response = browser.get(self.authorize_url(), allow_redirects=False, timeout=30)
        for _ in range(8):
            code = self.code_from(response)
            if code:
                return code
            if response.status_code in (302, 303):
                location = urljoin(response.url, response.headers["Location"])
                response = browser.get(location, allow_redirects=False, timeout=30)
                continue
            if response.status_code != 200:
                return None
            page = response.text
            form: dict[str, str]
            if 'name="password"' in page:
                form = {"username": self.username, "password": PASSWORD}
                action = form_action(page, "/login")
            elif 'name="version_id"' in page:  # idp's agreements, on an account's first login
                form = {
                    "version_id": form_value(page, "version_id") or "",
                    "accept_agreement": "yes",
                    "decision": "approve",
                }
                action = form_action(page, "/agreement")
            elif consent and 'name="decision"' in page:
                form = {"decision": "approve"}
                action = form_action(page, "/consent") or form_action(page, "/confirm")
            else:
                return None
            if action is None:
                return None
            csrf = form_value(page, "csrf_token")
            if csrf is not None:
                form["csrf_token"] = csrf
            response = browser.post(
                urljoin(response.url, action), data=form, allow_redirects=False, timeout=30
            )
        return None

    def exchange(
        self, session: requests.Session, code: str, dpop: DPoPKey | None = None
    ) -> dict[str, Any] | None:
        """The code for tokens; with ``dpop``, bound to its key (RFC 9449 5)."""
        headers = {"Authorization": self.basic_auth_header}
        if dpop is not None:
            headers["DPoP"] = dpop.proof("POST", self.endpoint("token_endpoint") or "")
        response = session.post(
            self.endpoint("token_endpoint") or "",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT_URI,
                "code_verifier": self.verifier,
            },
            headers=headers,
            timeout=30,
        )
        return response.json() if response.status_code == 200 else None


# -- DPoP proofs (RFC 9449 4.2), signed ahead of the run ------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class DPoPKey:
    """An ES256 key pair of the bench's portal, and the proofs it signs (with ``cryptography``,
    idp's own dependency: no JOSE library of the provider's)."""

    def __init__(self) -> None:
        from cryptography.hazmat.primitives.asymmetric import ec

        self._key = ec.generate_private_key(ec.SECP256R1())
        numbers = self._key.public_key().public_numbers()
        self.jwk = {
            "kty": "EC",
            "crv": "P-256",
            "x": b64url(numbers.x.to_bytes(32, "big")),
            "y": b64url(numbers.y.to_bytes(32, "big")),
        }
        header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": self.jwk}
        self._header = b64url(json.dumps(header, separators=(",", ":")).encode())

    def proof(self, htm: str, htu: str, access_token: str | None = None) -> str:
        """One proof for one request: its own jti, iat now, and ath for ``access_token``."""
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

        claims: dict[str, Any] = {
            "jti": secrets.token_urlsafe(16),
            "htm": htm,
            "htu": htu,
            "iat": int(time.time()),
        }
        if access_token is not None:
            claims["ath"] = b64url(hashlib.sha256(access_token.encode("ascii")).digest())
        body = b64url(json.dumps(claims, separators=(",", ":")).encode())
        signing_input = f"{self._header}.{body}"
        r, s = decode_dss_signature(
            self._key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
        )
        return f"{signing_input}.{b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


# -- measuring ------------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


@dataclass
class Outcome:
    """One workload against one provider."""

    workload: str
    ok: int = 0
    errors: int = 0
    seconds: float = 0.0
    p50_ms: float = math.nan
    p99_ms: float = math.nan
    statuses: dict[str, int] = field(default_factory=dict)
    note: str = ""
    unsupported: str = ""  # why the provider cannot do this workload
    raw_argon2: dict[str, Any] | None = None  # login only: the raw verify rate just before

    @property
    def per_second(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def summary(self) -> dict[str, Any]:
        if self.unsupported:
            return {"workload": self.workload, "unsupported": self.unsupported}
        result: dict[str, Any] = {
            "workload": self.workload,
            "operations": self.ok,
            "errors": self.errors,
            "seconds": round(self.seconds, 3),
            "per_second": round(self.per_second, 1),
            "p50_ms": none_if_nan(self.p50_ms),
            "p99_ms": none_if_nan(self.p99_ms),
        }
        if self.statuses:
            result["unexpected_statuses"] = self.statuses
        if self.note:
            result["note"] = self.note
        if self.raw_argon2:
            result["argon2id_raw"] = self.raw_argon2
        return result


def none_if_nan(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 2)


@dataclass
class Load:
    wrk: str
    core: int
    connections: int
    duration: int
    workdir: Path
    server_core: int  # where the raw argon2id rate is measured, as the servers run there


def run_wrk(
    load: Load, target: Target, script: str, env: dict[str, str], duration: int | None = None
) -> dict[str, Any]:
    """One wrk run of bench/wrk/<script>.lua against the target; the JSON its done() prints."""
    seconds = duration or load.duration
    command = [
        "taskset",
        "-c",
        str(load.core),
        load.wrk,
        "-t1",
        f"-c{load.connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(WRK_DIR / f"{script}.lua"),
        target.issuer,
    ]
    full_env = {
        **os.environ,
        "BENCH_WRK_DIR": str(WRK_DIR),
        "BENCH_FILLER_PATH": target.path("jwks_uri"),
        **env,
    }
    done = subprocess.run(
        command, env=full_env, capture_output=True, text=True, timeout=seconds + 60
    )
    for line in done.stdout.splitlines():
        if line.startswith("BENCH_RESULT "):
            return json.loads(line.removeprefix("BENCH_RESULT "))
    raise BenchError(
        f"wrk {script} against {target.label} printed no result (exit {done.returncode}):\n"
        f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    )


def outcome_of(workload: str, result: dict[str, Any]) -> Outcome:
    outcome = Outcome(
        workload,
        ok=int(result["ok"]),
        errors=int(result["errors"]),
        seconds=float(result["duration_s"]),
        p50_ms=float(result["p50_ms"]),
        p99_ms=float(result["p99_ms"]),
        statuses={str(k): int(v) for k, v in (result.get("statuses") or {}).items()},
    )
    sockets = {k: v for k, v in (result.get("socket_errors") or {}).items() if v}
    if sockets:
        outcome.note = "socket errors: " + ", ".join(f"{k} {v}" for k, v in sockets.items())
    return outcome


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(f"{line}\n" for line in lines))
    return path


# -- preparation (untimed) ------------------------------------------------------------------------


@dataclass
class Prepared:
    cookie: str  # the SSO cookie of a logged-in browser, as a Cookie header
    access_tokens: Path
    refresh_tokens: Path


def prepare(target: Target, load: Load) -> Prepared:
    """A browser logs in and consents; with its session, PREPARED_TOKENS more codes are asked
    silently and exchanged: their access tokens serve userinfo and introspection, their refresh
    tokens seed the refresh chain."""
    target.discover()
    browser = requests.Session()
    code = target.login(browser, consent=True)
    if code is None or target.exchange(browser, code) is None:
        raise BenchError(f"{target.label}: the preparation login failed")
    authorize = requests.Request("GET", target.endpoint("authorization_endpoint")).prepare()
    authorize.prepare_cookies(browser.cookies)
    cookie = str(authorize.headers.get("Cookie", ""))
    if not cookie:
        raise BenchError(f"{target.label}: the browser holds no cookie for the authorization path")
    access, refresh = [], []
    with requests.Session() as client:
        for _ in range(max(PREPARED_TOKENS, 2 * load.connections)):
            response = client.get(
                target.authorize_url(), headers={"Cookie": cookie}, allow_redirects=False
            )
            code = target.code_from(response)
            token = target.exchange(client, code) if code else None
            if token is None:
                raise BenchError(
                    f"{target.label}: a silent authorization or its exchange failed "
                    f"(authorize answered {response.status_code})"
                )
            access.append(token["access_token"])
            if "refresh_token" not in token:
                raise BenchError(f"{target.label}: the code exchange issued no refresh token")
            refresh.append(token["refresh_token"])
    workdir = load.workdir / slug(target.label)
    workdir.mkdir(parents=True, exist_ok=True)
    return Prepared(
        cookie,
        write_lines(workdir / "access-tokens.txt", access),
        write_lines(workdir / "refresh-tokens.txt", refresh),
    )


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


# -- workloads ------------------------------------------------------------------------------------


def workload_get(load: Load, target: Target, name: str, endpoint: str) -> Outcome:
    if target.endpoint(endpoint) is None:
        return Outcome(name, unsupported=f"no {endpoint} in its discovery document")
    return outcome_of(name, run_wrk(load, target, name, {"BENCH_PATH": target.path(endpoint)}))


def workload_tokens(
    load: Load, target: Target, prepared: Prepared, name: str, endpoint: str
) -> Outcome:
    if target.endpoint(endpoint) is None:
        return Outcome(name, unsupported=f"no {endpoint} in its discovery document")
    env = {
        "BENCH_PATH": target.path(endpoint),
        "BENCH_TOKENS_FILE": str(prepared.access_tokens),
        "BENCH_BASIC_AUTH": target.basic_auth_header,
    }
    return outcome_of(name, run_wrk(load, target, name, env))


def dpop_proofs(
    load: Load, target: Target, prepared: Prepared, key: DPoPKey, count: int
) -> tuple[Path, float]:
    """DPoP-bound access tokens (silent authorizations, exchanged with a proof: one per
    connection and more), and ``count`` userinfo proofs over them, one a line
    ``<token>\t<proof>``; and the seconds it took."""
    began = time.perf_counter()
    tokens = []
    with requests.Session() as client:
        for _ in range(2 * load.connections):
            response = client.get(
                target.authorize_url(), headers={"Cookie": prepared.cookie}, allow_redirects=False
            )
            code = target.code_from(response)
            token = target.exchange(client, code, dpop=key) if code else None
            if token is None or str(token.get("token_type", "")).lower() != "dpop":
                raise BenchError(f"{target.label}: no DPoP-bound token from a code exchange")
            tokens.append(token["access_token"])
    url = target.endpoint("userinfo_endpoint") or ""
    lines = []
    for index in range(count):
        token = tokens[index % len(tokens)]
        lines.append(f"{token}\t{key.proof('GET', url, token)}")
    path = write_lines(load.workdir / slug(target.label) / "dpop-proofs.txt", lines)
    return path, time.perf_counter() - began


def workload_userinfo_dpop(load: Load, target: Target, prepared: Prepared) -> Outcome:
    """UserInfo with DPoP-bound tokens (RFC 9449 7.1): the same request as ``userinfo`` plus a
    proof to verify (an ES256 signature) and its jti to claim. The proofs are signed first,
    untimed (wrk's Lua cannot sign), each used once."""
    name = "userinfo-dpop"
    if target.endpoint("userinfo_endpoint") is None:
        return Outcome(name, unsupported="no userinfo_endpoint in its discovery document")
    if "ES256" not in (target.metadata.get("dpop_signing_alg_values_supported") or []):
        return Outcome(name, unsupported="no DPoP (dpop_signing_alg_values_supported) with ES256")
    count = DPOP_PROOFS_PER_SECOND * load.duration
    proofs, seconds = dpop_proofs(load, target, prepared, DPoPKey(), count)
    env = {"BENCH_PATH": target.path("userinfo_endpoint"), "BENCH_PROOFS_FILE": str(proofs)}
    result = run_wrk(load, target, "userinfo_dpop", env)
    outcome = outcome_of(name, result)
    notes = [f"{count} proofs signed beforehand in {seconds:.1f} s"]
    if result.get("stopped_early"):
        notes.append(f"all used after {result['duration_s']:.1f} s: the rate is up to then")
    outcome.note = "; ".join(notes + ([outcome.note] if outcome.note else []))
    return outcome


def workload_code_exchange(load: Load, target: Target, prepared: Prepared) -> Outcome:
    """Codes first (untimed: the silent-authorize script without prompt, so that offline_access
    and its refresh token are part of every code, collecting the codes), then their exchange."""
    duration = min(load.duration, CODE_WINDOW - 10)
    # Three times as long as the exchange: an exchange costs more than an authorization on both
    # providers, so the codes last; if they do not, the rate is counted up to the last one.
    making = max(1, min(3 * duration + 2, CODE_WINDOW - duration - 5))
    codes = load.workdir / slug(target.label) / "codes.txt"
    made = run_wrk(
        load,
        target,
        "silent_authorize",
        {
            "BENCH_PATH": target.path("authorization_endpoint"),
            "BENCH_QUERY": urlencode(target.authorize_query(None)),
            "BENCH_COOKIE": prepared.cookie,
            "BENCH_CODES_OUT": str(codes),
        },
        duration=making,
    )
    if made["errors"] or not made.get("codes_written"):
        outcome = outcome_of("code-exchange", made)
        outcome.note = f"making the codes failed: {made['errors']} errors; " + outcome.note
        outcome.ok = 0
        return outcome
    env = {
        "BENCH_PATH": target.path("token_endpoint"),
        "BENCH_BASIC_AUTH": target.basic_auth_header,
        "BENCH_CODES_FILE": str(codes),
        "BENCH_CODE_VERIFIER": target.verifier,
        "BENCH_REDIRECT_URI": quote(REDIRECT_URI, safe=""),
    }
    result = run_wrk(load, target, "code_exchange", env, duration=duration)
    outcome = outcome_of("code-exchange", result)
    notes = [f"{made['codes_written']} codes made in {making} s beforehand"]
    if result.get("stopped_early"):
        notes.append(f"all used after {result['duration_s']:.1f} s: the rate is up to then")
    if duration < load.duration:
        notes.append(f"{duration} s, so that no code outlives its 60 s")
    outcome.note = "; ".join(notes + ([outcome.note] if outcome.note else []))
    return outcome


def workload_refresh(load: Load, target: Target, prepared: Prepared) -> Outcome:
    env = {
        "BENCH_PATH": target.path("token_endpoint"),
        "BENCH_BASIC_AUTH": target.basic_auth_header,
        "BENCH_TOKENS_FILE": str(prepared.refresh_tokens),
    }
    outcome = outcome_of("refresh", run_wrk(load, target, "refresh", env))
    if outcome.seconds < load.duration - 0.5:
        outcome.note = "the chain ran dry (answers without a new refresh token); " + outcome.note
    return outcome


def workload_silent_authorize(load: Load, target: Target, prepared: Prepared) -> Outcome:
    env = {
        "BENCH_PATH": target.path("authorization_endpoint"),
        "BENCH_QUERY": urlencode(target.authorize_query("none")),
        "BENCH_COOKIE": prepared.cookie,
    }
    return outcome_of("silent-authorize", run_wrk(load, target, "silent_authorize", env))


def workload_login(load: Load, target: Target) -> Outcome:
    """Sequential, one at a time: a new browser (no cookie) through the provider's login pages
    (one argon2id verification) to the code, then the code exchange. Just before, the raw verify
    rate of the provider's argon2id library on the server core, to compare with: measured next to
    the logins, so that other work on the machine weighs on both alike."""
    raw = argon2_rate(load.server_core, max(2.0, float(load.duration)), target.argon2)
    outcome = Outcome("login", raw_argon2=raw)
    latencies: list[float] = []
    began = time.perf_counter()
    with requests.Session() as client:
        while time.perf_counter() - began < load.duration:
            start = time.perf_counter()
            try:
                with requests.Session() as browser:
                    code = target.login(browser)
                success = code is not None and target.exchange(client, code) is not None
            except (requests.RequestException, ValueError, KeyError):
                success = False
            if success:
                latencies.append((time.perf_counter() - start) * 1000)
            else:
                outcome.errors += 1
    outcome.seconds = time.perf_counter() - began
    outcome.ok = len(latencies)
    outcome.p50_ms, outcome.p99_ms = percentile(latencies, 50), percentile(latencies, 99)
    return outcome


def run_workloads(target: Target, load: Load, workloads: list[str]) -> list[Outcome]:
    prepared = prepare(target, load)
    outcomes: list[Outcome] = []
    for name in workloads:
        log(f"  {target.label}: {name}")
        if name == "discovery":
            outcome = outcome_of(
                name,
                run_wrk(load, target, name, {"BENCH_PATH": "/.well-known/openid-configuration"}),
            )
        elif name == "jwks":
            outcome = workload_get(load, target, name, "jwks_uri")
        elif name == "userinfo":
            outcome = workload_tokens(load, target, prepared, name, "userinfo_endpoint")
        elif name == "userinfo-dpop":
            outcome = workload_userinfo_dpop(load, target, prepared)
        elif name == "introspection":
            outcome = workload_tokens(load, target, prepared, name, "introspection_endpoint")
        elif name == "code-exchange":
            outcome = workload_code_exchange(load, target, prepared)
        elif name == "refresh":
            outcome = workload_refresh(load, target, prepared)
        elif name == "silent-authorize":
            outcome = workload_silent_authorize(load, target, prepared)
        else:
            outcome = workload_login(load, target)
        if outcome.errors:
            log(f"    {outcome.errors} errors {outcome.statuses or ''} {outcome.note}")
        outcomes.append(outcome)
    return outcomes


# -- argon2id, raw --------------------------------------------------------------------------------

PYTHON_ARGON2 = """
import json, sys, time
from argon2 import PasswordHasher
t, m, p, seconds = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
hasher = PasswordHasher(time_cost=t, memory_cost=m, parallelism=p)
digest = hasher.hash("bench correct horse battery staple")
times = []
began = time.perf_counter()
while time.perf_counter() - began < seconds or len(times) < 3:
    start = time.perf_counter()
    hasher.verify(digest, "bench correct horse battery staple")
    times.append((time.perf_counter() - start) * 1000)
print(json.dumps({"verifies": len(times), "seconds": time.perf_counter() - began, "ms": times}))
"""


def argon2_rate(core: int, seconds: float, runtime: str) -> dict[str, Any]:
    """Sequential verifications at the production parameters on ``core``: argon2-cffi (what idp
    uses) or the npm argon2 package (the peer's)."""
    params = [str(ARGON2[k]) for k in ("time_cost", "memory_kib", "parallelism")]
    if runtime == "python":
        command = [sys.executable, "-c", PYTHON_ARGON2, *params, str(seconds)]
    else:
        command = ["node", str(PEER_DIR / "argon2-rate.js"), *params, str(seconds)]
    done = subprocess.run(
        ["taskset", "-c", str(core), *command],
        capture_output=True,
        text=True,
        cwd=PEER_DIR,
        timeout=seconds + 60,
    )
    if done.returncode != 0:
        raise BenchError(f"the raw argon2id measure ({runtime}) failed:\n{done.stderr[-2000:]}")
    data = json.loads(done.stdout)
    return {
        "library": "argon2-cffi" if runtime == "python" else "argon2 (npm)",
        "verifies": data["verifies"],
        "per_second": round(data["verifies"] / data["seconds"], 2),
        "p50_ms": round(percentile(data["ms"], 50), 1),
        "p99_ms": round(percentile(data["ms"], 99), 1),
    }


# -- the servers ----------------------------------------------------------------------------------


def free_port() -> int:
    from tests.e2e.server import free_port as harness_free_port

    return harness_free_port()


class Peer:
    """bench/peer/server.js under ``taskset``, its log in the results folder."""

    def __init__(self, core: int, log_path: Path) -> None:
        self.core = core
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.client_secret = secrets.token_urlsafe(32)
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30) -> Target:
        env = {
            **os.environ,
            "NODE_ENV": "production",
            "PEER_ISSUER": self.issuer,
            "PEER_CLIENT_ID": "bench-portal",
            "PEER_CLIENT_SECRET": self.client_secret,
            "PEER_REDIRECT_URI": REDIRECT_URI,
            "PEER_USERNAME": "bench",
            "PEER_PASSWORD": PASSWORD,
            "PEER_NAME": NAME,
            "PEER_ARGON2_TIME_COST": str(ARGON2["time_cost"]),
            "PEER_ARGON2_MEMORY_KIB": str(ARGON2["memory_kib"]),
            "PEER_ARGON2_PARALLELISM": str(ARGON2["parallelism"]),
        }
        with open(self.log_path, "wb") as output:
            self.process = subprocess.Popen(
                ["taskset", "-c", str(self.core), "node", "server.js", str(self.port)],
                cwd=PEER_DIR,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError(f"the peer exited ({self.process.returncode}):\n{self.log()}")
            try:
                discovery = f"{self.issuer}/.well-known/openid-configuration"
                if requests.get(discovery, timeout=2).status_code == 200:
                    return Target(
                        "peer", self.issuer, "bench-portal", self.client_secret, "bench", "node"
                    )
            except requests.ConnectionError:
                pass
            time.sleep(0.2)
        raise BenchError(f"the peer did not answer after {timeout} s:\n{self.log()}")

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


def postgresql_stores() -> tuple[str, str] | str:
    """(database URL, Redis URL) for the postgresql backend, both emptied; or why not."""
    import redis
    from sqlalchemy import create_engine, text

    base = os.environ.get("IDP_BENCH_DATABASE_URL") or DEFAULT_DATABASE_URL
    redis_url = os.environ.get("IDP_BENCH_REDIS_URL") or DEFAULT_REDIS_URL
    try:
        engine = create_engine(base, connect_args={"connect_timeout": 5})
        with engine.begin() as connection:
            connection.execute(text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
            connection.execute(text(f"CREATE SCHEMA {PG_SCHEMA}"))
        engine.dispose()
    except Exception as error:  # any driver error: the server is not there, or refuses
        return f"PostgreSQL at {safe_url(base)} does not answer: {first_line(error)}"
    try:
        client = redis.Redis.from_url(redis_url, socket_connect_timeout=5)
        client.flushdb()
        client.close()
    except Exception as error:
        return f"Redis at {safe_url(redis_url)} does not answer: {first_line(error)}"
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}options=-csearch_path%3D{PG_SCHEMA}", redis_url


def safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url)


def first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def describe_backend(backend: str, stores: tuple[str, str] | None) -> str:
    if stores is None:
        return "SQLite and embedded Redis"
    return f"PostgreSQL ({safe_url(stores[0])}) and Redis ({safe_url(stores[1])})"


def run_idp(
    backend: str,
    stores: tuple[str, str] | None,
    args: argparse.Namespace,
    load: Load,
    workloads: list[str],
) -> tuple[list[Outcome], list[str]]:
    """The workloads against idp on one backend; and the threads found off the server core."""
    from tests.e2e.server import ProviderServer  # the harness of the end-to-end test

    settings = {
        "IDP_ARGON2_TIME_COST": str(ARGON2["time_cost"]),
        "IDP_ARGON2_MEMORY_KIB": str(ARGON2["memory_kib"]),
        "IDP_ARGON2_PARALLELISM": str(ARGON2["parallelism"]),
        "IDP_DPOP_IAT_WINDOW": str(DPOP_IAT_WINDOW),
    }
    if stores is not None:
        settings["IDP_DATABASE_URL"], settings["IDP_REDIS_URL"] = stores
    server = ProviderServer(workers=args.workers, threads=args.threads, **settings)
    try:
        log(f"idp on {describe_backend(backend, stores)}: starting ...")
        server.start()
        assert server.process is not None
        pids = [server.process.pid] + ([server.redis_pid] if server.redis_pid else [])
        pinned = pin_process_tree(pids, args.server_core)
        log(f"  pinned to core {args.server_core}: pids {' '.join(map(str, pinned))}")
        client = server.idp_json(
            "clients", "create", "--name", "Bench portal", "--redirect-uri", REDIRECT_URI, "--json"
        )
        username = f"bench-{secrets.token_hex(4)}"
        server.idp(
            "users", "create", "--username", username, "--password", PASSWORD, "--name", NAME
        )
        target = Target(
            f"idp ({backend})",
            server.issuer,
            client["client_id"],
            client["client_secret"],
            username,
            "python",
        )
        outcomes = run_workloads(target, load, workloads)
        return outcomes, stray_threads(pids, args.server_core)
    finally:
        if server.log_path.exists():  # the access log and any traceback
            shutil.copyfile(server.log_path, args.output.parent / f"idp-{backend}.log")
        server.stop()


# -- report ---------------------------------------------------------------------------------------


def cell(value: float, width: int, digits: int = 1) -> str:
    return f"{'-' if math.isnan(value) else f'{value:.{digits}f}':>{width}}"


def print_table(
    title: str,
    idp: list[Outcome],
    peer: dict[str, Outcome],
    peer_rows: bool = False,
) -> None:
    """One backend's table; with ``peer_rows``, the rows are the peer's workloads (no idp)."""
    log(f"\n{title}")
    if peer_rows:
        idp = [Outcome(name, unsupported="not run") for name in peer]
    header = (
        f"{'workload':<22}{'idp req/s':>11}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'peer req/s':>12}{'p50 ms':>9}{'p99 ms':>9}{'idp/peer':>10}"
    )
    log(header)
    log("-" * len(header))
    for outcome in idp:
        other = peer.get(outcome.workload)
        row = f"{outcome.workload:<22}"
        row += side(outcome, 11)
        row += side(other, 12) if other else f"{'not run':>30}"
        if other and not outcome.unsupported and not other.unsupported and other.per_second:
            row += f"{outcome.per_second / other.per_second:>10.2f}"
        log(row)
    mine = next((o.raw_argon2 for o in idp if o.raw_argon2), None)
    theirs = peer["login"].raw_argon2 if "login" in peer else None
    if mine or theirs:
        row = f"{'argon2id verify (raw)':<22}"
        if mine:
            row += f"{mine['per_second']:>11.1f}{mine['p50_ms']:>9.1f}{mine['p99_ms']:>9.1f}"
        else:
            row += f"{'':>29}"
        if theirs:
            row += f"{theirs['per_second']:>12.1f}{theirs['p50_ms']:>9.1f}{theirs['p99_ms']:>9.1f}"
        log(row)
    for label, outcomes in (("idp", idp), ("peer", list(peer.values()))):
        for o in outcomes:
            if o.errors or o.note:
                errors = f"{o.errors} errors {o.statuses or ''} " if o.errors else ""
                log(f"  {label} {o.workload}: {errors}{o.note}".rstrip())
    verdicts = targets(idp, peer)
    for line in verdicts:
        log(f"  {line}")


def side(outcome: Outcome, width: int) -> str:
    """req/s, p50 and p99 of one provider, ``width`` + 18 characters."""
    if outcome.unsupported:
        text = "not run" if outcome.unsupported == "not run" else "not supported"
        return f"{text:>{width + 18}}"
    return f"{outcome.per_second:>{width}.1f}{cell(outcome.p50_ms, 9)}{cell(outcome.p99_ms, 9)}"


def targets(idp: list[Outcome], peer: dict[str, Outcome]) -> list[str]:
    """Issue 11's targets, as measured in this run."""
    lines = []
    by_name = {o.workload: o for o in idp}
    for name in ("userinfo", "introspection"):
        o = by_name.get(name)
        if o and not o.unsupported and not math.isnan(o.p99_ms):
            verdict = "met" if o.p99_ms < TARGET_P99_MS else "missed"
            limit = f"{TARGET_P99_MS:.0f} ms"
            lines.append(f"target {name} p99 < {limit}: {o.p99_ms:.1f} ms, {verdict}")
    login = by_name.get("login")
    python = login.raw_argon2 if login else None
    if login and not login.unsupported and python and python["per_second"]:
        ratio = login.per_second / python["per_second"]
        verdict = "met" if ratio >= TARGET_LOGIN_RATIO else "missed"
        lines.append(
            f"target login >= {TARGET_LOGIN_RATIO} x raw argon2id verify: idp "
            f"{login.per_second:.2f}/s / {python['per_second']:.2f}/s = {ratio:.2f}, {verdict}"
        )
    peer_login = peer.get("login")
    node = peer_login.raw_argon2 if peer_login else None
    if peer_login and node and node["per_second"]:
        lines.append(
            f"peer login / its raw argon2id verify: {peer_login.per_second:.2f}/s / "
            f"{node['per_second']:.2f}/s = {peer_login.per_second / node['per_second']:.2f}"
        )
    return lines


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
        memory_gib = round(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**30, 1)
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


# -- main -----------------------------------------------------------------------------------------


def names(value: str, known: tuple[str, ...], what: str) -> list[str]:
    chosen = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [v for v in chosen if v not in known]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(f"unknown {what}: {', '.join(unknown)}; known: {known}")
    return [k for k in known if k in chosen]  # always in the documented order


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=5, help="seconds per workload (5)")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections (8)")
    parser.add_argument(
        "--workloads",
        type=lambda v: names(v, WORKLOADS, "workload"),
        default=list(WORKLOADS),
        help="comma-separated, of: " + ",".join(WORKLOADS),
    )
    parser.add_argument(
        "--backends",
        type=lambda v: names(v, BACKENDS, "backend"),
        default=list(BACKENDS),
        help="comma-separated, of: " + ",".join(BACKENDS),
    )
    parser.add_argument("--workers", type=int, default=1, help="idp's gunicorn workers (1)")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker (4)")
    parser.add_argument("--server-core", type=int, default=0, help="the servers' core (0)")
    parser.add_argument("--load-core", type=int, default=1, help="the load generators' core (1)")
    parser.add_argument("--output", type=Path, default=RESULTS / "latest.json")
    args = parser.parse_args(argv)
    cores = os.sched_getaffinity(0)
    for option in ("server_core", "load_core"):
        if getattr(args, option) not in cores:
            parser.error(f"--{option.replace('_', '-')}: core not available ({sorted(cores)})")
    if args.duration < 1 or args.connections < 1:
        parser.error("--duration and --connections must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    host = machine()
    sys.path.insert(0, str(PROJECT_ROOT))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    if args.server_core == args.load_core:
        log(f"warning: servers and load share core {args.server_core}")
    try:
        if not shutil.which("taskset"):
            raise BenchError("taskset is missing; install it: apt-get install util-linux")
        wrk = ensure_wrk()
        versions = ensure_peer()
    except (BenchError, subprocess.CalledProcessError) as error:
        log(f"bench: {error}")
        return 1
    # This process, the Python load (login) and every command it starts run on the load core;
    # the servers are moved to theirs.
    os.sched_setaffinity(0, {args.load_core})
    banner = subprocess.run([wrk, "-v"], capture_output=True, text=True).stdout
    versions["wrk"] = (banner.splitlines() or [""])[0]
    workdir = Path(tempfile.mkdtemp(prefix="idp-bench-"))
    load = Load(wrk, args.load_core, args.connections, args.duration, workdir, args.server_core)
    report: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": host,
        "settings": {
            "duration_s": args.duration,
            "connections": args.connections,
            "idp": f"idp serve --workers {args.workers} --threads {args.threads}",
            "server_core": args.server_core,
            "load_core": args.load_core,
            "argon2id": ARGON2,
            "versions": versions,
        },
        "backends": {},
    }
    failed = False
    try:
        peer_server = Peer(args.server_core, args.output.parent / "peer.log")
        try:
            log(f"peer: node-oidc-provider {versions['oidc-provider']} on core {args.server_core}")
            peer_target = peer_server.start()
            peer_outcomes = run_workloads(peer_target, load, args.workloads)
            assert peer_server.process is not None
            peer_stray = stray_threads([peer_server.process.pid], args.server_core)
        finally:
            peer_server.stop()
        report["peer"] = [o.summary() for o in peer_outcomes]
        report["peer_threads_off_core"] = peer_stray
        if peer_stray:
            log(f"warning: peer threads off core {args.server_core}: {', '.join(peer_stray)}")
        peer = {o.workload: o for o in peer_outcomes}
        failed |= any(o.errors for o in peer_outcomes)

        for backend in args.backends:
            stores: tuple[str, str] | None = None
            if backend == "postgresql":
                found = postgresql_stores()
                if isinstance(found, str):
                    log(f"\nskipping the postgresql backend: {found}")
                    report["backends"][backend] = {"skipped": found}
                    continue
                stores = found
            outcomes, stray = run_idp(backend, stores, args, load, args.workloads)
            failed |= any(o.errors for o in outcomes)
            report["backends"][backend] = {
                "stores": describe_backend(backend, stores),
                "results": [o.summary() for o in outcomes],
                "threads_off_core": stray,
            }
            if stray:
                log(f"warning: idp threads off core {args.server_core}: {', '.join(stray)}")
            title = (
                f"idp on {describe_backend(backend, stores)} vs the peer (node-oidc-provider "
                f"{versions['oidc-provider']}, in memory); {args.connections} connections, "
                f"{args.duration} s each, idp --workers {args.workers} --threads {args.threads}"
            )
            print_table(title, outcomes, peer)
        if not any("results" in v for v in report["backends"].values()):
            print_table("the peer alone (no idp backend ran)", [], peer, peer_rows=True)
    except (RuntimeError, subprocess.CalledProcessError) as error:  # BenchError, ServerError
        log(f"\nbench failed: {error}")
        report["failure"] = str(error)
        failed = True
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
        log(f"\nwritten to {args.output}; server logs beside it")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
