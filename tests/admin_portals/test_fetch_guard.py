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


class RebindingResolver:
    """A DNS server under a registrant's control: one answer for the check, another after
    (DNS rebinding). Records every lookup."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.lookups: list[tuple[str, int]] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.lookups.append((host, port))
        return [self.answers[min(len(self.lookups), len(self.answers)) - 1]]


# A global address (not loopback, private, link-local or documentation) where nothing answers
# this test: the connection to it fails or times out.
PUBLIC_ADDRESS = "1.0.0.19"


def test_production_connects_to_the_checked_address_never_to_a_second_answer() -> None:
    with serving(public_key_set()) as server:
        port = int(server.url.split(":")[2].split("/")[0])
        resolver = RebindingResolver(PUBLIC_ADDRESS, "127.0.0.1")

        with pytest.raises(FetchError) as failed:
            fetch_json(
                f"http://keys.rebind.example:{port}/document.json",
                0.5,
                public_only=True,
                resolve=resolver,
            )

        assert resolver.lookups == [("keys.rebind.example", port)]  # one lookup, the checked one
        assert server.fetches == 0  # 127.0.0.1, the second answer, was never contacted
        assert failed.value.reason in ("could not be reached", "did not answer in time")


def test_the_fetch_goes_to_the_resolved_address_with_the_host_name() -> None:
    """The connection is made to the address of the one lookup, and the request still names
    the host (``Host``; for https also SNI and the certificate check)."""
    keys = public_key_set()
    with serving(keys) as server:
        port = int(server.url.split(":")[2].split("/")[0])
        resolver = RebindingResolver("127.0.0.1", "10.0.0.1")

        fetched = fetch_json(
            f"http://keys.rebind.example:{port}/document.json", 2.0, resolve=resolver
        )

        assert fetched == keys
        assert resolver.lookups == [("keys.rebind.example", port)]
        assert server.hosts == [f"keys.rebind.example:{port}"]
