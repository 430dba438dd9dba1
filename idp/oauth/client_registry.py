"""Portals (OAuth clients): one validation of client metadata and the operations on portals.

The console (``/admin/portals``), the admin API (``/admin/api/clients``), dynamic registration
(RFC 7591 / RFC 7592, ``idp.oauth.registration``) and the ``idp clients`` command all go through
:class:`ClientRegistry`, so a portal is held to the same rules whichever way it is registered.

Validation answers every problem at once, per field (:class:`FieldError`: the field, a stable
machine ``code`` and an English message), never just the first. The rules, by field:

- ``name`` (Chinese display name, required) and ``name_en``: 1 to 255 characters, no control
  characters, not used by another portal (either name, compared case-insensitively);
- ``region``: a GB/T 2260 administrative division code (6 digits, a known province prefix);
- ``redirect_uris`` (at least one), ``post_logout_redirect_uris``: absolute, no fragment
  (RFC 6749 3.1.2), no userinfo, no wildcard, https (RFC 9700 2.1 / 4.1); http only for loopback
  hosts (RFC 8252 7.3) or in development;
- ``backchannel_logout_uri`` (Back-Channel Logout 1.0, 2.2): the same, but http only in
  development;
- ``token_endpoint_auth_method``: ``client_secret_basic``, ``client_secret_post``,
  ``private_key_jwt`` (needs ``jwks`` or ``jwks_uri``) or ``none`` (a public client, PKCE);
- ``jwks`` (a JWK set of RSA or EC *public* keys) or ``jwks_uri`` (https, fetched: it must
  answer such a set; RFC 7591 2: never both);
- ``id_token_signed_response_alg``: RS256 or ES256 (the algorithms we sign with);
- ``scopes``: known ones only (``idp.oauth.claims.SCOPES_SUPPORTED``); ``openid`` is implied;
- ``allowed_sensitive_claims``: the provider's sensitive claims only (PIPL article 28);
- ``minimum_verification_level``: L1..L4 or none; ``trusted``: a boolean;
- ``subject_type``: ``public`` or ``pairwise`` (OIDC Core 8); ``sector_identifier_uri``
  (OIDC Registration 2 and 5: https, fetched, a JSON array listing every redirect URI; required
  for pairwise when the redirect URIs span several hosts, OIDC Core 8.1);
- ``matters``: codes of the classes of matters served, such as ``tax.declaration``;
- ``contacts``: e-mail addresses or phone numbers (RFC 7591 2);
- ``status``: ``active`` or ``disabled``.

Operations: create, update (partial, or a full replacement for RFC 7592 PUT), disable/enable,
delete, rotate the secret (the previous one keeps working for the grace period,
``IDP_CLIENT_SECRET_GRACE_PERIOD``), and issue initial access tokens (RFC 7591 3). Every change
writes an audit event in the same transaction.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import ipaddress
import json
import re
import secrets
import socket
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import requests
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from idp.config import Config
from idp.identity import levels
from idp.identity.delegation import MATTER_CODE
from idp.models import AuditEvent, Client, InitialAccessToken
from idp.models.base import Database, utcnow
from idp.models.client import (
    KEY_AUTH_METHODS,
    PUBLIC_AUTH_METHOD,
    SECRET_AUTH_METHODS,
    hash_client_secret,
)
from idp.oauth.claims import SCOPES_SUPPORTED
from idp.oauth.keys import SUPPORTED_ALGORITHMS
from idp.oauth.subjects import sector_of

AUTH_METHODS = (*SECRET_AUTH_METHODS, *KEY_AUTH_METHODS, PUBLIC_AUTH_METHOD)
SUBJECT_TYPES = ("public", "pairwise")
STATUSES = ("active", "disabled")
MINIMUM_LEVELS = tuple(level for level in levels.LEVELS if level != "L0")
DEFAULT_SCOPES = ("openid", "profile", "offline_access")
CLIENT_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
# The codes of the matters catalogue (idp.identity.delegation): ``tax`` or ``tax.declaration``.
MATTER_PATTERN = MATTER_CODE
EMAIL_PATTERN = re.compile(
    r"^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$"
)
# Mainland mobile, fixed line with area code (and extension), E.164, service hotlines (12345).
PHONE_PATTERN = re.compile(
    r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8}(-\d{1,6})?|\+[1-9]\d{6,14}|1\d{4}|[48]00-?\d{3}-?\d{4})$"
)
# GB/T 2260 province-level prefixes (the first two digits of an administrative division code).
PROVINCE_PREFIXES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 "
    "50 51 52 53 54 61 62 63 64 65 71 81 82".split()
)
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
PRIVATE_KEY_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
MAX_URI_LENGTH = 2000
MAX_NAME_LENGTH = 255
MAX_LIST = {
    "redirect_uris": 20,
    "post_logout_redirect_uris": 20,
    "scopes": len(SCOPES_SUPPORTED),
    "allowed_sensitive_claims": 20,
    "matters": 100,
    "contacts": 20,
}
MAX_KEYS = 20
MAX_FETCH_BYTES = 64 * 1024
MAX_INITIAL_TOKEN_USES = 1000
MAX_INITIAL_TOKEN_DAYS = 365

# Every metadata field, in the order errors are reported and the console shows them.
FIELDS = (
    "name",
    "name_en",
    "region",
    "redirect_uris",
    "post_logout_redirect_uris",
    "backchannel_logout_uri",
    "token_endpoint_auth_method",
    "jwks",
    "jwks_uri",
    "id_token_signed_response_alg",
    "scopes",
    "allowed_sensitive_claims",
    "minimum_verification_level",
    "trusted",
    "subject_type",
    "sector_identifier_uri",
    "matters",
    "contacts",
    "status",
)
# Codes of the checks that fetch a document (a caller may downgrade them to warnings: the CLI
# registers a portal whose key set is not published yet).
REMOTE_CODES = frozenset({"unreachable", "no_key_set"})


@dataclass(frozen=True)
class FieldError:
    """One problem with one field (``index``: the position in a list field)."""

    field: str
    code: str
    message: str
    index: int | None = None

    @property
    def pointer(self) -> str:
        """JSON Pointer (RFC 6901) to the offending value in the request body ("": all of it)."""
        if not self.field:
            return ""
        return f"/{self.field}" + ("" if self.index is None else f"/{self.index}")

    @property
    def label(self) -> str:
        return self.field + ("" if self.index is None else f"[{self.index}]")

    def as_dict(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "code": self.code,
            "message": self.message,
            "pointer": self.pointer,
        }


class RegistryError(Exception):
    """Base of the errors of this module."""


class InvalidMetadata(RegistryError):
    """The metadata breaks one or more rules; ``errors`` lists every problem found."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        super().__init__("; ".join(f"{e.label}: {e.message}" for e in errors))
        self.errors = list(errors)


class ClientNotFound(RegistryError):
    """No portal with this client_id."""


class NoClientSecret(RegistryError):
    """The portal authenticates without a shared secret (``none`` or ``private_key_jwt``)."""


@dataclass(frozen=True)
class RegistryPolicy:
    """The settings validation depends on."""

    development: bool
    sensitive_claims: frozenset[str]
    secret_grace_period: int = 24 * 3600
    fetch_timeout: float = 5.0

    @classmethod
    def from_config(cls, config: Config, sensitive_claims: Collection[str]) -> RegistryPolicy:
        return cls(
            development=config.development,
            sensitive_claims=frozenset(sensitive_claims),
            secret_grace_period=config.CLIENT_SECRET_GRACE_PERIOD,
            fetch_timeout=float(config.CLIENT_METADATA_FETCH_TIMEOUT),
        )


@dataclass(frozen=True)
class Actor:
    """Who makes a change, for the audit trail: an administrator's account id, ``cli``, or the
    portal itself (RFC 7592); ``via`` is ``console``, ``api``, ``cli`` or ``registration``."""

    id: str
    via: str
    ip_address: str | None = None


@dataclass
class Outcome:
    """What an operation produced: the portal, a new secret (shown once) and warnings."""

    client: Client
    client_secret: str | None = None
    warnings: list[FieldError] = field(default_factory=list)


# -- fetching a portal's documents ------------------------------------------------------------


class FetchError(Exception):
    """A document could not be had: ``reason`` is safe to show; ``answered``: the server
    answered, but not JSON."""

    def __init__(self, reason: str, *, answered: bool = False) -> None:
        super().__init__(reason)
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


Fetcher = Callable[[str, float], Any]


# -- validation -------------------------------------------------------------------------------


@dataclass
class _Check:
    """State of one validation run: the input, the errors found, the normalized result."""

    data: dict[str, Any]
    current: dict[str, Any] | None
    policy: RegistryPolicy
    errors: list[FieldError] = field(default_factory=list)
    result: dict[str, Any] = field(default_factory=dict)

    def error(self, name: str, code: str, message: str, index: int | None = None) -> None:
        self.errors.append(FieldError(name, code, message, index))

    def failed(self, name: str) -> bool:
        return any(e.field == name for e in self.errors)

    def changed(self, name: str) -> bool:
        return self.current is None or self.current.get(name) != self.result.get(name)


def _text(check: _Check, name: str, *, required: bool, maximum: int) -> str | None:
    value = check.data.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            check.error(name, "required", "is required")
        return None
    if not isinstance(value, str):
        check.error(name, "type", "must be a string")
        return None
    value = value.strip()
    if len(value) > maximum:
        check.error(name, "too_long", f"must be at most {maximum} characters")
        return None
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        check.error(name, "invalid", "must not contain control characters")
        return None
    return value


def _strings(check: _Check, name: str) -> list[str]:
    """A list of strings, each stripped (indexes kept for error pointers; see ``_unique``)."""
    value = check.data.get(name)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        check.error(name, "type", "must be a list of strings")
        return []
    if len(value) > MAX_LIST[name]:
        check.error(name, "too_many", f"may have at most {MAX_LIST[name]} entries")
        return []
    return [v.strip() for v in value]


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _choice(check: _Check, name: str, choices: Sequence[str]) -> str | None:
    value = check.data.get(name)
    if not isinstance(value, str) or value not in choices:
        check.error(name, "unknown_value", f"must be one of: {', '.join(choices)}")
        return None
    return value


def uri_problem(uri: str, *, kind: str, development: bool) -> tuple[str, str] | None:
    """What is wrong with a portal's URI, as (code, message), or None.

    ``kind`` is ``redirect`` (redirect and post-logout redirect URIs: http allowed for loopback
    hosts, RFC 8252 7.3), ``backchannel`` or ``fetched`` (jwks_uri, sector_identifier_uri):
    https only, except in development (``IDP_ENV=development``), where http is accepted.
    """
    if len(uri) > MAX_URI_LENGTH:
        return "too_long", f"must be at most {MAX_URI_LENGTH} characters"
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in uri):
        return "invalid_uri", "must not contain spaces or control characters"
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 (raises ValueError on a bad port)
    except ValueError:
        return "invalid_uri", "is not a valid URI"
    if not parts.scheme or not parts.netloc or not parts.hostname:
        return "not_absolute", "must be an absolute URI (with a scheme and a host)"
    if "#" in uri:
        return "fragment", "must not contain a fragment (#)"
    if "@" in parts.netloc:
        return "userinfo", "must not contain a user name or password"
    if "*" in uri:
        return "wildcard", "must not contain wildcards (*); register each URI exactly"
    scheme = parts.scheme.lower()
    if scheme == "https":
        return None
    loopback = parts.hostname in LOOPBACK_HOSTS or _is_loopback_ip(parts.hostname)
    if scheme == "http" and (development or (kind == "redirect" and loopback)):
        return None
    if kind == "redirect":
        return "https_required", "must use https (http only for loopback addresses)"
    return "https_required", "must use https"


def _is_loopback_ip(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _uri(check: _Check, name: str, value: str, kind: str, index: int | None = None) -> bool:
    problem = uri_problem(value, kind=kind, development=check.policy.development)
    if problem is None:
        return True
    code, message = problem
    check.error(name, code, message, index)
    return False


def _uri_list(check: _Check, name: str, *, required: bool) -> list[str]:
    values = _strings(check, name)
    if required and not values and not check.failed(name):
        check.error(name, "required", "needs at least one URI")
    return _unique([v for i, v in enumerate(values) if _uri(check, name, v, "redirect", i)])


def _optional_uri(check: _Check, name: str, kind: str) -> str | None:
    value = check.data.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        check.error(name, "type", "must be a string")
        return None
    value = value.strip()
    return value if _uri(check, name, value, kind) else None


def _check_names(check: _Check) -> None:
    check.result["name"] = _text(check, "name", required=True, maximum=MAX_NAME_LENGTH)
    check.result["name_en"] = _text(check, "name_en", required=False, maximum=MAX_NAME_LENGTH)


def _check_region(check: _Check) -> None:
    value = check.data.get("region")
    if value in (None, ""):
        check.result["region"] = None
        return
    if (
        not isinstance(value, str)
        or not re.fullmatch(r"\d{6}", value)
        or value[:2] not in PROVINCE_PREFIXES
    ):
        check.error(
            "region",
            "invalid",
            "must be a 6-digit administrative division code (GB/T 2260), e.g. 330100",
        )
        return
    check.result["region"] = value


def _check_redirects(check: _Check) -> None:
    check.result["redirect_uris"] = _uri_list(check, "redirect_uris", required=True)
    check.result["post_logout_redirect_uris"] = _uri_list(
        check, "post_logout_redirect_uris", required=False
    )
    check.result["backchannel_logout_uri"] = _optional_uri(
        check, "backchannel_logout_uri", "backchannel"
    )


def _check_keys(check: _Check) -> None:
    method = _choice(check, "token_endpoint_auth_method", AUTH_METHODS)
    check.result["token_endpoint_auth_method"] = method
    check.result["jwks_uri"] = _optional_uri(check, "jwks_uri", "fetched")
    check.result["jwks"] = _jwks(check, check.data.get("jwks"))
    if check.data.get("jwks") is not None and check.data.get("jwks_uri") not in (None, ""):
        check.error("jwks", "conflict", "give jwks or jwks_uri, not both (RFC 7591 2)")
    elif (
        method in KEY_AUTH_METHODS
        and check.data.get("jwks") is None
        and check.data.get("jwks_uri") in (None, "")
    ):
        check.error("jwks", "required", f"{method} needs jwks or jwks_uri")
    check.result["id_token_signed_response_alg"] = _choice(
        check, "id_token_signed_response_alg", SUPPORTED_ALGORITHMS
    )


def _jwks(check: _Check, value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    problem = key_set_problem(value)
    if problem:
        check.error("jwks", problem[0], problem[1])
        return None
    return dict(value)


def key_set_problem(value: Any) -> tuple[str, str] | None:
    """What is wrong with a JWK set (RFC 7517 5) of public RSA or EC keys, or None."""
    if not isinstance(value, dict) or not isinstance(value.get("keys"), list):
        return "no_key_set", 'must be a JWK set: an object with a "keys" array'
    keys = value["keys"]
    if not keys or len(keys) > MAX_KEYS:
        return "no_key_set", f"must hold 1 to {MAX_KEYS} keys"
    for key in keys:
        if not isinstance(key, dict) or key.get("kty") not in ("RSA", "EC"):
            return "no_key_set", "must hold RSA or EC keys only"
        if PRIVATE_KEY_MEMBERS & set(key):
            return "private_key", "must hold public keys only (never private key members)"
    try:
        KeySet.import_key_set({"keys": keys})
    except (JoseError, ValueError, TypeError, KeyError):
        return "no_key_set", "holds a key that cannot be read"
    return None


def _check_scopes(check: _Check) -> None:
    if "scopes" not in check.data or check.data["scopes"] is None:
        check.result["scopes"] = list(DEFAULT_SCOPES)
    else:
        scopes = _strings(check, "scopes")
        for index, scope in enumerate(scopes):
            if scope not in SCOPES_SUPPORTED:
                check.error(
                    "scopes",
                    "unknown_scope",
                    f"unknown scope {scope!r} (known: {', '.join(SCOPES_SUPPORTED)})",
                    index,
                )
        check.result["scopes"] = _unique(["openid", *scopes])
    claims = _strings(check, "allowed_sensitive_claims")
    known = sorted(check.policy.sensitive_claims)
    for index, claim in enumerate(claims):
        if claim not in check.policy.sensitive_claims:
            check.error(
                "allowed_sensitive_claims",
                "unknown_value",
                f"{claim!r} is not a sensitive claim of this provider (known: {', '.join(known)})",
                index,
            )
    check.result["allowed_sensitive_claims"] = _unique(claims)


def _check_level_and_trust(check: _Check) -> None:
    level = check.data.get("minimum_verification_level")
    if level in (None, "", "none"):
        check.result["minimum_verification_level"] = None
    else:
        check.result["minimum_verification_level"] = _choice(
            check, "minimum_verification_level", MINIMUM_LEVELS
        )
    trusted = check.data.get("trusted", False)
    if not isinstance(trusted, bool):
        check.error("trusted", "type", "must be true or false")
    check.result["trusted"] = trusted is True


def _check_subject(check: _Check) -> None:
    check.result["subject_type"] = _choice(check, "subject_type", SUBJECT_TYPES)
    check.result["sector_identifier_uri"] = _optional_uri(check, "sector_identifier_uri", "fetched")
    hosts = {urlsplit(uri).hostname for uri in check.result["redirect_uris"]}
    if (
        check.result["subject_type"] == "pairwise"
        and len(hosts) > 1
        and not check.result["sector_identifier_uri"]
        and not check.failed("sector_identifier_uri")
    ):
        check.error(
            "sector_identifier_uri",
            "required",
            "is needed for pairwise subjects when the redirect URIs are on several hosts "
            "(OpenID Connect Core 8.1)",
        )


def _check_matters_and_contacts(check: _Check) -> None:
    matters = _strings(check, "matters")
    for index, matter in enumerate(matters):
        if not MATTER_PATTERN.match(matter):
            check.error(
                "matters",
                "invalid",
                "must be a code such as tax.declaration (lower-case words joined by dots)",
                index,
            )
    check.result["matters"] = _unique(matters)
    contacts = _strings(check, "contacts")
    for index, contact in enumerate(contacts):
        if not (EMAIL_PATTERN.match(contact) and len(contact) <= 254) and not PHONE_PATTERN.match(
            contact
        ):
            check.error(
                "contacts",
                "invalid",
                "must be an e-mail address or a phone number",
                index,
            )
    check.result["contacts"] = _unique(contacts)


def _check_status(check: _Check) -> None:
    check.result["status"] = _choice(check, "status", STATUSES)


# The checks, in the order their errors are reported. Remote checks run after these, only
# when these found nothing wrong with the fields they read.
CHECKS: tuple[Callable[[_Check], None], ...] = (
    _check_names,
    _check_region,
    _check_redirects,
    _check_keys,
    _check_scopes,
    _check_level_and_trust,
    _check_subject,
    _check_matters_and_contacts,
    _check_status,
)


# -- the registry -----------------------------------------------------------------------------


def hash_token(token: str) -> str:
    """Initial and registration access tokens are 256-bit random values: SHA-256 suffices."""
    return hashlib.sha256(token.encode()).hexdigest()


def metadata_of(client: Client) -> dict[str, Any]:
    """A portal's metadata in the form validation takes (the admin API's field names)."""
    return {
        "name": client.name,
        "name_en": client.name_en,
        "region": client.region,
        "redirect_uris": list(client.redirect_uris or []),
        "post_logout_redirect_uris": list(client.post_logout_redirect_uris or []),
        "backchannel_logout_uri": client.backchannel_logout_uri,
        "token_endpoint_auth_method": client.token_endpoint_auth_method,
        "jwks": client.jwks,
        "jwks_uri": client.jwks_uri,
        "id_token_signed_response_alg": client.id_token_signed_response_alg,
        "scopes": list(client.scopes or []),
        "allowed_sensitive_claims": list(client.allowed_sensitive_claims or []),
        "minimum_verification_level": client.minimum_verification_level,
        "trusted": bool(client.trusted),
        "subject_type": client.subject_type or "public",
        "sector_identifier_uri": client.sector_identifier_uri,
        "matters": list(client.matters or []),
        "contacts": list(client.contacts or []),
        "status": client.status,
    }


def describe(client: Client) -> dict[str, Any]:
    """The admin API's representation of a portal (never a secret or a token hash)."""
    expires = client.previous_secret_expires_at
    return {
        "client_id": client.client_id,
        **metadata_of(client),
        "has_secret": bool(client.client_secret_hash),
        "previous_secret_expires_at": (
            expires.isoformat() if expires is not None and expires > utcnow() else None
        ),
        "registered_dynamically": client.registration_access_token_hash is not None,
        "created_at": client.created_at.isoformat(),
        "updated_at": client.updated_at.isoformat(),
    }


def defaults() -> dict[str, Any]:
    """The metadata of a portal for which nothing optional was given."""
    return {
        "token_endpoint_auth_method": SECRET_AUTH_METHODS[0],
        "id_token_signed_response_alg": SUPPORTED_ALGORITHMS[0],
        "scopes": list(DEFAULT_SCOPES),
        "trusted": False,
        "subject_type": "public",
        "status": "active",
    }


class ClientRegistry:
    """Portal administration over the database: validation, changes, audit."""

    def __init__(self, db: Database, policy: RegistryPolicy, fetch: Fetcher | None = None) -> None:
        self.db = db
        self.policy = policy
        self.fetch: Fetcher = fetch or functools.partial(
            fetch_json, public_only=not policy.development
        )

    # -- reading -----------------------------------------------------------------------------
    def get(self, client_id: str) -> Client:
        client = self.db.session.get(Client, client_id) if _plausible_id(client_id) else None
        if client is None:
            raise ClientNotFound(client_id)
        return client

    def clients(self, status: str | None = None) -> list[Client]:
        query = select(Client).order_by(Client.created_at, Client.client_id)
        if status is not None:
            query = query.where(Client.status == status)
        return list(self.db.session.scalars(query))

    # -- validation --------------------------------------------------------------------------
    def validate(
        self,
        data: Mapping[str, Any],
        *,
        current: Client | None = None,
        advisory: Collection[str] = (),
    ) -> tuple[dict[str, Any], list[FieldError]]:
        """Check complete metadata (unknown fields are errors). Returns the normalized
        metadata and the warnings (errors whose code is in ``advisory``); raises
        :class:`InvalidMetadata` with every other problem."""
        unknown = [name for name in data if name not in FIELDS]
        check = _Check(
            dict(data), metadata_of(current) if current is not None else None, self.policy
        )
        for name in unknown:
            check.error(name, "unknown_field", "is not a portal metadata field")
        for run in CHECKS:
            run(check)
        self._check_duplicate_names(check, current)
        _check_sector_kept(check, current)
        self._check_remote(check)
        errors = [e for e in check.errors if e.code not in advisory]
        if errors:
            raise InvalidMetadata(errors)
        return check.result, [e for e in check.errors if e.code in advisory]

    def _check_duplicate_names(self, check: _Check, current: Client | None) -> None:
        """Display names are unique across portals (either language, ignoring case), so that a
        person can tell portals apart on the login and consent pages."""
        wanted = {
            name: check.result[name].casefold()
            for name in ("name", "name_en")
            if check.result.get(name) and check.changed(name)
        }
        if not wanted:
            return
        taken: set[str] = set()
        rows = self.db.session.execute(select(Client.client_id, Client.name, Client.name_en))
        for client_id, name, name_en in rows:
            if current is None or client_id != current.client_id:
                taken.update(n.casefold() for n in (name, name_en) if n)
        for name, folded in wanted.items():
            if folded in taken:
                value = check.result[name]
                check.error(name, "duplicate", f"another portal is already named {value!r}")

    def _check_remote(self, check: _Check) -> None:
        """Fetch what changed: the jwks_uri must answer a public key set; the sector
        identifier must list every redirect URI (OIDC Registration 5)."""
        jwks_uri = check.result.get("jwks_uri")
        if (
            jwks_uri
            and check.changed("jwks_uri")
            and not check.failed("jwks_uri")
            and not check.failed("jwks")
        ):
            try:
                problem = key_set_problem(self.fetch(jwks_uri, self.policy.fetch_timeout))
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
                listed = self.fetch(sector, self.policy.fetch_timeout)
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

    # -- changes -----------------------------------------------------------------------------
    def create(
        self,
        data: Mapping[str, Any],
        *,
        actor: Actor,
        client_id: str | None = None,
        advisory: Collection[str] = (),
        reason: str | None = None,
        registration_access_token: str | None = None,
        session_hook: Callable[[Session], bool] | None = None,
    ) -> Outcome:
        """Register a portal. ``data`` may leave out optional fields (defaults apply).

        ``session_hook`` runs inside the transaction before the portal is added; returning
        False aborts it (dynamic registration takes a use of its initial access token there).
        """
        errors: list[FieldError] = []
        if client_id is not None and not CLIENT_ID_PATTERN.match(client_id):
            errors.append(
                FieldError(
                    "client_id",
                    "invalid",
                    "must be 1 to 64 letters, digits, '.', '_' or '-' (not '.', '_', '-' first)",
                )
            )
        elif client_id is not None and self.db.session.get(Client, client_id) is not None:
            errors.append(FieldError("client_id", "taken", "is taken by another portal"))
        merged = {**defaults(), **{k: v for k, v in data.items() if v is not None}}
        try:
            metadata, warnings = self.validate(merged, advisory=advisory)
        except InvalidMetadata as exc:
            raise InvalidMetadata([*errors, *exc.errors]) from None
        if errors:
            raise InvalidMetadata(errors)
        secret = _new_secret(metadata["token_endpoint_auth_method"])
        client = Client(
            client_id=client_id or secrets.token_hex(16),  # never starts with "-"
            client_secret_hash=hash_client_secret(secret) if secret else None,
            registration_access_token_hash=(
                hash_token(registration_access_token) if registration_access_token else None
            ),
        )
        _apply(client, metadata)
        try:
            with self.db.transaction() as session:
                if session_hook is not None and not session_hook(session):
                    raise Refused("the change was refused")
                session.add(client)
                session.flush()
                session.add(
                    _audit(
                        "client_created",
                        actor,
                        client.client_id,
                        reason,
                        {"token_endpoint_auth_method": client.token_endpoint_auth_method},
                    )
                )
        except IntegrityError:
            raise InvalidMetadata(
                [FieldError("client_id", "taken", "is taken by another portal")]
            ) from None
        return Outcome(client, secret, warnings)

    def update(
        self,
        client_id: str,
        data: Mapping[str, Any],
        *,
        actor: Actor,
        advisory: Collection[str] = (),
        reason: str | None = None,
    ) -> Outcome:
        """Change the fields given (``None`` clears an optional field). A change of
        authentication method to a secret method issues a new secret; a change away from one
        removes the secrets."""
        client = self.get(client_id)
        merged = {**metadata_of(client), **data}
        metadata, warnings = self.validate(merged, current=client, advisory=advisory)
        before = metadata_of(client)
        changed = sorted(name for name in FIELDS if before.get(name) != metadata.get(name))
        secret = None
        method = metadata["token_endpoint_auth_method"]
        with self.db.transaction() as session:
            _apply(client, metadata)
            if method in SECRET_AUTH_METHODS and not client.client_secret_hash:
                secret = _new_secret(method)
                client.client_secret_hash = hash_client_secret(secret) if secret else None
            elif method not in SECRET_AUTH_METHODS:
                client.client_secret_hash = None
                client.previous_client_secret_hash = None
                client.previous_secret_expires_at = None
            if changed or secret:
                client.updated_at = utcnow()
                details: dict[str, Any] = {"fields": changed}
                if "trusted" in changed:
                    details["trusted"] = client.trusted
                action = _update_action(changed, client.status)
                session.add(_audit(action, actor, client.client_id, reason, details))
        return Outcome(client, secret, warnings)

    def set_status(
        self, client_id: str, status: str, *, actor: Actor, reason: str | None = None
    ) -> Client:
        """Disable (no new logins, tokens stop working) or enable a portal."""
        return self.update(client_id, {"status": status}, actor=actor, reason=reason).client

    def delete(self, client_id: str, *, actor: Actor, reason: str | None = None) -> None:
        """Delete a portal; its grants, tokens and consents go with it (ON DELETE CASCADE)."""
        with self.db.transaction() as session:
            client = session.get(Client, client_id) if _plausible_id(client_id) else None
            if client is None:
                raise ClientNotFound(client_id)
            session.delete(client)
            session.add(_audit("client_deleted", actor, client_id, reason, {}))

    def rotate_secret(self, client_id: str, *, actor: Actor, reason: str | None = None) -> Outcome:
        """A new secret (shown once); the previous one keeps working for the grace period."""
        with self.db.transaction() as session:
            client = session.get(Client, client_id) if _plausible_id(client_id) else None
            if client is None:
                raise ClientNotFound(client_id)
            if client.token_endpoint_auth_method not in SECRET_AUTH_METHODS:
                raise NoClientSecret(client_id)
            secret = secrets.token_urlsafe(32)
            grace = self.policy.secret_grace_period
            if grace > 0 and client.client_secret_hash:
                client.previous_client_secret_hash = client.client_secret_hash
                client.previous_secret_expires_at = utcnow() + timedelta(seconds=grace)
            else:
                client.previous_client_secret_hash = None
                client.previous_secret_expires_at = None
            client.client_secret_hash = hash_client_secret(secret)
            client.updated_at = utcnow()
            session.add(_audit("client_secret_rotated", actor, client_id, reason, {"grace": grace}))
        return Outcome(client, secret)

    # -- registration access tokens (RFC 7592) -----------------------------------------------
    def find_by_registration_token(self, client_id: str, token: str) -> Client | None:
        """The dynamically registered portal this registration access token belongs to."""
        if not token or not _plausible_id(client_id):
            return None
        client = self.db.session.get(Client, client_id)
        if client is None or client.registration_access_token_hash is None:
            return None
        if not hmac.compare_digest(client.registration_access_token_hash, hash_token(token)):
            return None
        return client

    def renew_registration_token(self, client: Client) -> str:
        """A new registration access token; the previous one stops working (RFC 7592 3)."""
        token = secrets.token_urlsafe(32)
        with self.db.transaction() as session:
            session.execute(
                update(Client)
                .where(Client.client_id == client.client_id)
                .values(registration_access_token_hash=hash_token(token))
            )
        client.registration_access_token_hash = hash_token(token)
        return token

    # -- initial access tokens (RFC 7591 3) --------------------------------------------------
    def issue_initial_access_token(
        self, *, uses: Any = 1, days: Any = 7, actor: Actor, reason: str | None = None
    ) -> tuple[InitialAccessToken, str]:
        """An initial access token for ``uses`` registrations within ``days`` days."""
        errors = initial_token_problems(uses, days)
        if errors:
            raise InvalidMetadata(errors)
        token = secrets.token_urlsafe(32)
        row = InitialAccessToken(
            token_hash=hash_token(token),
            uses_allowed=uses,
            uses_remaining=uses,
            expires_at=utcnow() + timedelta(days=days),
            created_by=actor.id,
        )
        with self.db.transaction() as session:
            session.add(row)
            session.flush()
            session.add(
                _audit(
                    "initial_access_token_issued",
                    actor,
                    None,
                    reason,
                    {"token_id": row.id, "uses": uses, "days": days},
                )
            )
        return row, token

    def find_initial_access_token(self, token: str) -> InitialAccessToken | None:
        """A usable initial access token (uses left, not expired), or None."""
        if not token or len(token) > 512:
            return None
        row = self.db.session.scalar(
            select(InitialAccessToken).where(InitialAccessToken.token_hash == hash_token(token))
        )
        return row if row is not None and row.usable else None

    @staticmethod
    def take_initial_access_token_use(session: Session, token: str) -> bool:
        """Take one use atomically (a conditional UPDATE only one request can win)."""
        now = utcnow()
        result = session.execute(
            update(InitialAccessToken)
            .where(
                InitialAccessToken.token_hash == hash_token(token),
                InitialAccessToken.uses_remaining > 0,
                InitialAccessToken.expires_at > now,
            )
            .values(
                uses_remaining=InitialAccessToken.uses_remaining - 1,
                last_used_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0) == 1)

    def initial_access_tokens(self) -> list[InitialAccessToken]:
        return list(
            self.db.session.scalars(
                select(InitialAccessToken).order_by(InitialAccessToken.created_at.desc())
            )
        )


class Refused(RegistryError):
    """A precondition checked inside the transaction failed (e.g. no use left on a token)."""


def initial_token_problems(uses: Any, days: Any) -> list[FieldError]:
    """What is wrong with the uses and lifetime asked for an initial access token."""
    errors = []
    for name, value, maximum in (
        ("uses", uses, MAX_INITIAL_TOKEN_USES),
        ("days", days, MAX_INITIAL_TOKEN_DAYS),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
            errors.append(
                FieldError(name, "invalid", f"must be a whole number from 1 to {maximum}")
            )
    return errors


def _new_secret(method: str | None) -> str | None:
    return secrets.token_urlsafe(32) if method in SECRET_AUTH_METHODS else None


def _plausible_id(client_id: str) -> bool:
    return bool(client_id) and len(client_id) <= 64


def _check_sector_kept(check: _Check, current: Client | None) -> None:
    """A pairwise portal keeps its sector (OIDC Core 8.1): its ``sub`` values are computed from
    it, so a new redirect host or sector identifier would hand it another sector's subjects."""
    if current is None or current.subject_type != "pairwise":
        return
    if check.result.get("subject_type") != "pairwise":
        check.error(
            "subject_type", "sector_changed", "a pairwise portal cannot become public again"
        )
        return
    after = Client(
        client_id=current.client_id,
        redirect_uris=check.result.get("redirect_uris") or [],
        sector_identifier_uri=check.result.get("sector_identifier_uri"),
    )
    if sector_of(after) != sector_of(current):
        field = "sector_identifier_uri" if current.sector_identifier_uri else "redirect_uris"
        check.error(
            field,
            "sector_changed",
            f"must stay in the sector {sector_of(current)} of this pairwise portal",
        )


def _apply(client: Client, metadata: Mapping[str, Any]) -> None:
    for name in FIELDS:
        setattr(client, name, metadata.get(name))


def _update_action(changed: list[str], status: str) -> str:
    if changed == ["status"]:
        return "client_enabled" if status == "active" else "client_disabled"
    if changed == ["trusted"]:
        return "client_trust_changed"
    return "client_updated"


def _audit(
    action: str,
    actor: Actor,
    client_id: str | None,
    reason: str | None,
    details: dict[str, Any],
) -> AuditEvent:
    """Who, what, when and why; identifiers and field names only, never contacts' values."""
    details = {"via": actor.via, **details}
    if reason:
        details["reason"] = reason
    return AuditEvent(
        action=action,
        actor=actor.id,
        client_id=client_id,
        ip_address=actor.ip_address,
        details=details,
    )


__all__ = [
    "AUTH_METHODS",
    "Actor",
    "FIELDS",
    "ClientNotFound",
    "ClientRegistry",
    "FieldError",
    "InvalidMetadata",
    "NoClientSecret",
    "Outcome",
    "Refused",
    "RegistryPolicy",
    "describe",
    "metadata_of",
    "uri_problem",
]
