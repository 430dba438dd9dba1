"""Helpers for the SMS tests: an SMS gateway on a loopback port, and a Redis scan.

``Gateway`` answers what the operator's gateway would (the contract in docs/sms.md): it records
every POSTed JSON body with its ``Authorization`` header and answers ``status``; ``on_request``
runs between the two.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import redis
from sqlalchemy import update

from idp.models import SmsMessage


class Gateway:
    def __init__(self, *, status: int = 200) -> None:
        self.requests: list[dict[str, Any]] = []
        self.status = status
        # Called after a request is recorded, before it is answered (a sender killed meanwhile).
        self.on_request: Callable[[], None] | None = None
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
                if outer.on_request is not None:
                    outer.on_request()
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


def move_outbox_times(provider: Any, **moments: datetime) -> None:
    """Set time columns of every ``sms_outbox`` row (the passing of time: a lease or a
    code's lifetime ending), with the column types' own conversion on either database."""
    with provider.db.engine.begin() as connection:
        connection.execute(update(SmsMessage.__table__).values(**moments))
