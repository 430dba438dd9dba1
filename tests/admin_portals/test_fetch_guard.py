"""Registrant-chosen URLs (``jwks_uri``, ``sector_identifier_uri``) are fetched by the provider:
in production only from hosts that resolve to public addresses, so that registering a portal
cannot make the provider probe its own network (server-side request forgery)."""

from __future__ import annotations

import pytest

from idp.oauth.clients import FetchError, fetch_json
from tests.admin_portals.helpers import public_key_set, serving


def test_development_fetches_from_loopback() -> None:
    keys = public_key_set()
    with serving(keys) as server:
        assert fetch_json(server.url, 2.0) == keys
        assert server.fetches == 1


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]"])
def test_production_refuses_hosts_that_are_not_public(host: str) -> None:
    with serving(public_key_set()) as server:
        port = server.url.split(":")[2].split("/")[0]
        uri = f"http://{host}:{port}/document.json"

        with pytest.raises(FetchError) as refused:
            fetch_json(uri, 2.0, public_only=True)

        assert server.fetches == 0  # refused before any connection
        assert str(refused.value.reason) == "could not be reached"


@pytest.mark.parametrize(
    "uri",
    [
        "https://10.1.2.3/jwks.json",
        "https://169.254.169.254/latest/meta-data",
        "https://[fd00::1]/jwks.json",
        "https://no-such-host.invalid/jwks.json",
    ],
)
def test_production_refuses_private_link_local_and_unresolvable_hosts(uri: str) -> None:
    with pytest.raises(FetchError):
        fetch_json(uri, 1.0, public_only=True)
