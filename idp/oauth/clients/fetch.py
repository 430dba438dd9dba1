"""Fetching a portal's documents, and the checks of what they answer.

A portal's ``jwks_uri`` and ``sector_identifier_uri`` are fetched when they are registered or
changed (OIDC Registration 2 and 5; RFC 7591 2). The URIs are chosen by a registrant, so the
fetch is guarded (:func:`fetch_json`): no redirects, at most 64 KiB, a timeout, and in
production only hosts that resolve to public addresses (no probing of the provider's own
network), with the connection pinned to the address that was checked (no DNS rebinding between
the check and the connection). A failure is a field error (``unreachable``, ``no_key_set``,
...), never a server error.
"""

from __future__ import annotations

import ipaddress
import json
import socket
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import urllib3
from requests.utils import DEFAULT_CA_BUNDLE_PATH

from idp.errors import IdpError
from idp.oauth.clients.validation import Check, key_set_problem

MAX_FETCH_BYTES = 64 * 1024
# Codes of the checks that fetch a document (a caller may downgrade them to warnings: the CLI
# registers a portal whose key set is not published yet).
REMOTE_CODES = frozenset({"unreachable", "no_key_set"})

# (uri, timeout in seconds) -> the JSON document; raises FetchError.
Fetcher = Callable[[str, float], Any]
# (host, port) -> its addresses, from one lookup; raises OSError. Tests give their own.
Resolver = Callable[[str, int], list[str]]


class FetchError(IdpError):
    """A document could not be had: ``reason`` is safe to show; ``answered``: the server
    answered, but not JSON."""

    code = "fetch_failed"

    def __init__(self, reason: str, *, answered: bool = False) -> None:
        super().__init__(public_message=reason)
        self.reason = reason
        self.answered = answered


def system_resolver(host: str, port: int) -> list[str]:
    """The addresses the system resolver gives for ``host`` (raises ``OSError``)."""
    infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    return [str(info[4][0]) for info in infos]


def fetch_json(
    uri: str, timeout: float, *, public_only: bool = False, resolve: Resolver = system_resolver
) -> Any:
    """GET a small JSON document: no redirects, at most 64 KiB, a timeout for connecting and
    for each read. Raises :class:`FetchError` with a reason safe to show. ``public_only``
    (production) refuses hosts that resolve to loopback, private, link-local or other
    non-global addresses: registrants must not make the provider probe its own network.

    The host is resolved once, here, and the connection goes to an address of that one answer
    (no second lookup a DNS rebinding could answer differently); TLS still sends the host name
    (SNI) and verifies the certificate against it, and ``Host`` names it."""
    parts = urlsplit(uri)
    try:
        host, port = parts.hostname, parts.port
    except ValueError:  # a port that is not a number
        raise FetchError("could not be reached") from None
    if parts.scheme not in ("http", "https") or not host:
        raise FetchError("could not be reached")
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = list(dict.fromkeys(resolve(host, port)))
    except (OSError, UnicodeError):
        raise FetchError("could not be reached") from None
    if not addresses or (public_only and not all(_is_public(a) for a in addresses)):
        raise FetchError("could not be reached")
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    headers = {"Host": parts.netloc.rpartition("@")[2], "Accept": "application/json"}
    deadline = urllib3.Timeout(connect=timeout, read=timeout)
    for number, address in enumerate(addresses):
        pool = _pool(parts.scheme, address, port, host, deadline)
        try:
            response = pool.urlopen(
                "GET",
                target,
                headers=headers,
                redirect=False,
                retries=False,
                preload_content=False,
            )
        except urllib3.exceptions.NewConnectionError:
            pool.close()
            if number + 1 < len(addresses):
                continue  # the next address of the same (checked) answer
            raise FetchError("could not be reached") from None
        except urllib3.exceptions.TimeoutError:
            pool.close()
            raise FetchError("did not answer in time") from None
        except (urllib3.exceptions.HTTPError, OSError):
            pool.close()
            raise FetchError("could not be reached") from None
        try:
            return _read_json(response)
        finally:
            response.release_conn()
            pool.close()
    raise FetchError("could not be reached")  # pragma: no cover (the loop returns or raises)


def _pool(
    scheme: str, address: str, port: int, host: str, timeout: urllib3.Timeout
) -> urllib3.HTTPConnectionPool:
    """A connection to ``address`` only; for https, SNI and certificate checks use ``host``."""
    if scheme == "https":
        return urllib3.HTTPSConnectionPool(
            address,
            port,
            timeout=timeout,
            retries=False,
            maxsize=1,
            cert_reqs="CERT_REQUIRED",
            ca_certs=DEFAULT_CA_BUNDLE_PATH,  # the bundle requests uses
            server_hostname=host,
            assert_hostname=host,
        )
    return urllib3.HTTPConnectionPool(address, port, timeout=timeout, retries=False, maxsize=1)


def _read_json(response: urllib3.BaseHTTPResponse) -> Any:
    try:
        if response.status != 200:
            raise FetchError(f"answered HTTP {response.status}")
        body = b""
        for chunk in response.stream(8192):
            body += chunk
            if len(body) > MAX_FETCH_BYTES:
                raise FetchError("answered more than 64 KiB")
    except urllib3.exceptions.TimeoutError:
        raise FetchError("did not answer in time") from None
    except (urllib3.exceptions.HTTPError, OSError):
        raise FetchError("could not be reached") from None
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise FetchError("did not answer JSON", answered=True) from None


def _is_public(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.split("%")[0]).is_global
    except ValueError:
        return False


def check_remote(check: Check, fetch: Fetcher) -> None:
    """Fetch what changed: the jwks_uri must answer a public key set (RFC 7591 2); the sector
    identifier must list every redirect URI (OIDC Registration 5). Runs after the field checks,
    and only for fields they found nothing wrong with."""
    jwks_uri = check.result.get("jwks_uri")
    if (
        jwks_uri
        and check.changed("jwks_uri")
        and not check.failed("jwks_uri")
        and not check.failed("jwks")
    ):
        try:
            problem = key_set_problem(fetch(jwks_uri, check.policy.fetch_timeout))
        except FetchError as exc:
            check.error("jwks_uri", "no_key_set" if exc.answered else "unreachable", exc.reason)
        else:
            if problem:
                check.error(
                    "jwks_uri",
                    "no_key_set",
                    f"did not answer a usable key set: it {problem[1]}",
                )
    sector = check.result.get("sector_identifier_uri")
    redirects = check.result.get("redirect_uris") or []
    if (
        sector
        and (check.changed("sector_identifier_uri") or check.changed("redirect_uris"))
        and not check.failed("sector_identifier_uri")
        and not check.failed("redirect_uris")
    ):
        try:
            listed = fetch(sector, check.policy.fetch_timeout)
        except FetchError as exc:
            code = "invalid" if exc.answered else "unreachable"
            check.error("sector_identifier_uri", code, exc.reason)
            return
        if not isinstance(listed, list) or not all(isinstance(u, str) for u in listed):
            check.error(
                "sector_identifier_uri",
                "invalid",
                "must answer a JSON array of redirect URIs",
            )
            return
        missing = [uri for uri in redirects if uri not in listed]
        if missing:
            check.error(
                "sector_identifier_uri",
                "not_listed",
                "does not list every redirect URI (missing: " + ", ".join(missing) + ")",
            )
