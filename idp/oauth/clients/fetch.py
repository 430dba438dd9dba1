"""Fetching a portal's documents, and the checks of what they answer.

A portal's ``jwks_uri`` and ``sector_identifier_uri`` are fetched when they are registered or
changed (OIDC Registration 2 and 5; RFC 7591 2). The URIs are chosen by a registrant, so the
fetch is guarded (:func:`fetch_json`): no redirects, at most 64 KiB, a timeout, and in
production only hosts that resolve to public addresses (no probing of the provider's own
network). A failure is a field error (``unreachable``, ``no_key_set``, ...), never a server error.
"""

from __future__ import annotations

import ipaddress
import json
import socket
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests

from idp.errors import IdpError
from idp.oauth.clients.validation import Check, key_set_problem

MAX_FETCH_BYTES = 64 * 1024
# Codes of the checks that fetch a document (a caller may downgrade them to warnings: the CLI
# registers a portal whose key set is not published yet).
REMOTE_CODES = frozenset({"unreachable", "no_key_set"})

# (uri, timeout in seconds) -> the JSON document; raises FetchError.
Fetcher = Callable[[str, float], Any]


class FetchError(IdpError):
    """A document could not be had: ``reason`` is safe to show; ``answered``: the server
    answered, but not JSON."""

    code = "fetch_failed"

    def __init__(self, reason: str, *, answered: bool = False) -> None:
        super().__init__(public_message=reason)
        self.reason = reason
        self.answered = answered


def fetch_json(uri: str, timeout: float, *, public_only: bool = False) -> Any:
    """GET a small JSON document: no redirects, at most 64 KiB, a timeout for connecting and
    for each read. Raises :class:`FetchError` with a reason safe to show. ``public_only``
    (production) refuses hosts that resolve to loopback, private, link-local or other
    non-global addresses: registrants must not make the provider probe its own network."""
    if public_only and not _resolves_to_public_addresses(uri):
        raise FetchError("could not be reached")
    try:
        with requests.get(
            uri,
            timeout=timeout,
            allow_redirects=False,
            stream=True,
            headers={"Accept": "application/json"},
        ) as response:
            if response.status_code != 200:
                raise FetchError(f"answered HTTP {response.status_code}")
            body = b""
            for chunk in response.iter_content(8192):
                body += chunk
                if len(body) > MAX_FETCH_BYTES:
                    raise FetchError("answered more than 64 KiB")
    except requests.Timeout:
        raise FetchError("did not answer in time") from None
    except requests.RequestException:
        raise FetchError("could not be reached") from None
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise FetchError("did not answer JSON", answered=True) from None


def _resolves_to_public_addresses(uri: str) -> bool:
    host = urlsplit(uri).hostname
    if not host:
        return False
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return False
    addresses = {info[4][0] for info in infos}
    return bool(addresses) and all(
        ipaddress.ip_address(str(address).split("%")[0]).is_global for address in addresses
    )


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
