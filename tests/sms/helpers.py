"""Helpers for the SMS tests: an SMS gateway on a loopback port, and a Redis scan.

``Gateway`` answers what the operator's gateway would (the contract in docs/sms.md): it records
every POSTed JSON body with its ``Authorization`` header and answers ``status``.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import redis


class Gateway:
    def __init__(self, *, status: int = 200) -> None:
        self.requests: list[dict[str, Any]] = []
        self.status = status
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", 0))
                outer.requests.append(
                    {
                        "path": self.path,
                        "authorization": self.headers.get("Authorization"),
                        "content_type": self.headers.get("Content-Type", ""),
                        "body": json.loads(self.rfile.read(length)),
                    }
                )
                self.send_response(outer.status)
                if 300 <= outer.status < 400:
                    self.send_header("Location", "/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/sms/send"
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)


def closed_port_url() -> str:
    """A loopback URL where nothing listens (a gateway that is down)."""
    gateway = Gateway()
    gateway.stop()
    return gateway.url


def redis_contents(client: redis.Redis) -> list[tuple[str, str, int]]:
    """Every key under ``idp:sms:`` with its value as text and its TTL in seconds."""
    rows = []
    for key in client.scan_iter(match="idp:sms:*"):
        kind = client.type(key).decode()
        if kind == "hash":
            value = json.dumps(
                {k.decode(): v.decode() for k, v in client.hgetall(key).items()}, sort_keys=True
            )
        else:
            value = client.get(key).decode()
        rows.append((key.decode(), value, client.ttl(key)))
    return rows
