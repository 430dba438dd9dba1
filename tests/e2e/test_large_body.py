"""A body over the size limit on a keep-alive connection (issue 17, item 5), against the real
server (``idp serve``): the 413 says ``Connection: close`` (``idp.views.boundary``) and the
connection ends cleanly, so the client's next request opens a new one instead of failing on a
dropped one ("remote end closed connection", a broken pipe). A request of ordinary size keeps
its connection."""

from __future__ import annotations

import http.client
from collections.abc import Iterator

import pytest

from idp.config import MAX_REQUEST_BYTES
from tests.e2e.server import ProviderServer


@pytest.fixture(scope="module")
def server() -> Iterator[ProviderServer]:
    provider = ProviderServer(workers=1, threads=2)
    provider.start()
    yield provider
    provider.stop()


def test_after_a_413_the_connection_is_closed_cleanly(server: ProviderServer) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        body = b"grant_type=" + b"a" * (100 * 1024)
        assert len(body) > MAX_REQUEST_BYTES
        for _ in range(10):
            connection.request(
                "POST",
                "/token",
                body=body,
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
            response = connection.getresponse()
            response.read()
            assert response.status == 413
            assert response.getheader("Connection") == "close"
            # The same client goes on: http.client opens a new connection, as it was told.
            connection.request("GET", "/healthz")
            follow_up = connection.getresponse()
            assert follow_up.status == 200, follow_up.status
            follow_up.read()
    finally:
        connection.close()


def test_an_ordinary_request_keeps_its_connection(server: ProviderServer) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request(
            "POST",
            "/token",
            body=b"grant_type=password",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        response = connection.getresponse()
        response.read()
        assert response.status == 400
        assert response.getheader("Connection") != "close"
        socket = connection.sock
        connection.request("GET", "/healthz")
        follow_up = connection.getresponse()
        follow_up.read()
        assert follow_up.status == 200
        assert connection.sock is socket  # the same connection
    finally:
        connection.close()
