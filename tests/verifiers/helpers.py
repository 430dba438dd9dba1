"""Helpers for the verifier tests: a scriptable identity gateway on a loopback port, and check
characters computed independently of the product code.

``Gateway`` stands in for an authoritative source's gateway (docs/registry.md, "HTTP gateway"):
a real HTTP server that records every call (path, headers, JSON body) and answers from a script
of ``Answer``s, the last one repeating.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from idp.config import load_config
from idp.identity.verifiers import Verifier, build_verifier

HANG_LIMIT = 10  # seconds a hanging answer holds a request at most
TOKEN = "gateway-token-for-tests"


@dataclass(frozen=True)
class Answer:
    status: int = 200
    body: bytes = b""
    hang: bool = False  # hold the request until Gateway.release() (or HANG_LIMIT)


def answer(result: str, reference: str = "ref-1", status: int = 200, **detail: str) -> Answer:
    body = {"result": result, "reference": reference, "detail": detail}
    return Answer(status, json.dumps(body).encode())


def raw(body: str, status: int = 200) -> Answer:
    return Answer(status, body.encode())


@dataclass(frozen=True)
class Call:
    path: str
    headers: dict[str, str]
    body: Any


class Gateway:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.script: list[Answer] = [answer("match")]
        self.released = threading.Event()
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length", 0))
                payload = self.rfile.read(length)
                reply = outer._next(self.path, dict(self.headers.items()), payload)
                if reply.hang:
                    outer.released.wait(HANG_LIMIT)
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except OSError:
                    pass  # the verifier gave up waiting (timeout tests)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/verify/{{check}}"
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def answers(self, *script: Answer) -> None:
        """Answer the next calls with ``script`` in order; the last answer then repeats."""
        with self._lock:
            self.script = list(script)

    def _next(self, path: str, headers: dict[str, str], payload: bytes) -> Answer:
        with self._lock:
            try:
                body = json.loads(payload)
            except ValueError:
                body = payload
            self.calls.append(Call(path, headers, body))
            return self.script.pop(0) if len(self.script) > 1 else self.script[0]

    def release(self) -> None:
        self.released.set()

    def stop(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)


def http_verifier(gateway: Gateway, **settings: Any) -> Verifier:
    """``build_verifier`` over ``load_config`` with the gateway's URL and the given settings."""
    config = load_config(
        {
            "VERIFIER": "http",
            "VERIFIER_HTTP_URL": gateway.url,
            "VERIFIER_HTTP_TOKEN": TOKEN,
            "VERIFIER_TIMEOUT": 1,
            "VERIFIER_RETRIES": 0,
            "VERIFIER_BREAKER_FAILURES": 3,
            "VERIFIER_BREAKER_COOLDOWN": 60,
            **settings,
        }
    )
    return build_verifier(config)


def wait_until(condition: Callable[[], Any], what: str, timeout: float = 10) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)
    return value


# -- check characters, computed independently of idp.identity ----------------------------------

RESIDENT_ID_WEIGHTS = [2 ** (17 - i) % 11 for i in range(17)]  # ISO 7064 MOD 11-2


def resident_id_check(first17: str) -> str:
    """GB 11643-1999: ISO 7064 MOD 11-2 over the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, RESIDENT_ID_WEIGHTS, strict=True))
    return "10X98765432"[total % 11]


USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = [3**i % 31 for i in range(17)]  # 1, 3, 9, 27, 19, 26, 16, ...


def uscc_check(first17: str) -> str:
    """GB 32100-2015: weights 3^i mod 31 over the 31-character alphabet."""
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


ORGANISATION_CODE_WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2]


def organisation_code_check(first8: str) -> str:
    """GB 11714-1997, the organisation code inside a USCC (characters 9 to 17)."""
    total = sum(int(c, 36) * w for c, w in zip(first8, ORGANISATION_CODE_WEIGHTS, strict=True))
    value = 11 - total % 11
    return {10: "X", 11: "0"}.get(value, str(value))


def luhn_valid(number: str) -> bool:
    total = 0
    for position, digit in enumerate(int(d) for d in reversed(number)):
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0
