"""Validation of a portal's metadata: every rule that needs neither the network nor the database.

Validation answers every problem at once, per field (:class:`~.metadata.FieldError`: the field, a
stable machine ``code`` and an English message), never just the first. The rules, by field:

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
- ``id_token_signed_response_alg``: RS256, ES256 or PS256 (the algorithms we sign with);
- ``id_token_encrypted_response_alg`` / ``_enc``, ``userinfo_signed_response_alg``,
  ``userinfo_encrypted_response_alg`` / ``_enc`` (OIDC Registration 2): known algorithms, and
  a key with ``use: "enc"`` in the portal's key set (``.encryption_keys``);
- ``scopes``: known ones only (``idp.oauth.claims.SCOPES_SUPPORTED``); ``openid`` is implied;
- ``allowed_sensitive_claims``: the provider's sensitive claims only (PIPL article 28);
- ``minimum_verification_level``: L1..L4 or none; ``trusted`` and ``require_mfa``: booleans;
- ``subject_type``: ``public`` or ``pairwise`` (OIDC Core 8); ``sector_identifier_uri``
  (OIDC Registration 2 and 5: https, fetched, a JSON array listing every redirect URI; required
  for pairwise when the redirect URIs span several hosts, OIDC Core 8.1);
- ``matters``: codes of the classes of matters served, such as ``tax.declaration``, each in the
  published catalogue (``idp matters``; :func:`check_known_matters`, with the codes the
  database holds);
- ``contacts``: e-mail addresses or phone numbers (RFC 7591 2);
- ``status``: ``active`` or ``disabled``;
- ``dpop_bound_access_tokens`` (RFC 9449 5.2): a boolean;
- FAPI 2.0: ``require_pushed_authorization_requests``, ``require_signed_request_object``,
  ``request_object_signing_alg``, ``authorization_signed_response_alg`` and ``profile``
  (``fapi2``): see ``.request_protection``.

A run is a :class:`Check`: :meth:`Check.start` runs the field checks (:data:`CHECKS`) in the
order their errors are reported; the registry (``.registry``) then adds the uniqueness of names
(:func:`check_duplicate_names`, with the names the database holds), the matter classes
(:func:`check_known_matters`, with the published catalogue), the sector of a pairwise
portal (:func:`check_sector_kept`) and the checks that fetch documents (``.fetch``), and ends it
with :meth:`Check.finish`.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from idp.models import Client
from idp.models.client import KEY_AUTH_METHODS
from idp.oauth.claims import SCOPES_SUPPORTED
from idp.oauth.clients.encryption_keys import check_encryption
from idp.oauth.clients.metadata import (
    AUTH_METHODS,
    DEFAULT_SCOPES,
    FIELDS,
    MATTER_PATTERN,
    MAX_KEYS,
    MAX_LIST,
    MAX_NAME_LENGTH,
    MAX_URI_LENGTH,
    MINIMUM_LEVELS,
    STATUSES,
    SUBJECT_TYPES,
    FieldError,
    InvalidMetadata,
    RegistryPolicy,
    metadata_of,
)
from idp.oauth.clients.request_protection import check_request_protection
from idp.oauth.keys import SUPPORTED_ALGORITHMS
from idp.oauth.subjects import sector_of

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


@dataclass
class Check:
    """State of one validation run: the input, the errors found, the normalized result."""

    data: dict[str, Any]
    current: dict[str, Any] | None
    policy: RegistryPolicy
    errors: list[FieldError] = field(default_factory=list)
    result: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def start(
        cls, data: Mapping[str, Any], current: Client | None, policy: RegistryPolicy
    ) -> Check:
        """Complete metadata checked field by field (unknown fields are errors)."""
        check = cls(dict(data), metadata_of(current) if current is not None else None, policy)
        for name in data:
            if name not in FIELDS:
                check.error(name, "unknown_field", "is not a portal metadata field")
        for run in CHECKS:
            run(check)
        return check

    def finish(self, advisory: Collection[str] = ()) -> tuple[dict[str, Any], list[FieldError]]:
        """The normalized metadata and the warnings (errors whose code is in ``advisory``);
        raises :class:`InvalidMetadata` with every other problem."""
        errors = [e for e in self.errors if e.code not in advisory]
        if errors:
            raise InvalidMetadata(errors)
        return self.result, [e for e in self.errors if e.code in advisory]

    def error(
        self,
        name: str,
        code: str,
        message: str,
        index: int | None = None,
        value: str | None = None,
    ) -> None:
        self.errors.append(FieldError(name, code, message, index, value))

    def failed(self, name: str) -> bool:
        return any(e.field == name for e in self.errors)

    def changed(self, name: str) -> bool:
        return self.current is None or self.current.get(name) != self.result.get(name)


def _text(check: Check, name: str, *, required: bool, maximum: int) -> str | None:
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


def _strings(check: Check, name: str) -> list[str]:
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


def _choice(check: Check, name: str, choices: Sequence[str]) -> str | None:
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


def _uri(check: Check, name: str, value: str, kind: str, index: int | None = None) -> bool:
    problem = uri_problem(value, kind=kind, development=check.policy.development)
    if problem is None:
        return True
    code, message = problem
    check.error(name, code, message, index)
    return False


def _uri_list(check: Check, name: str, *, required: bool) -> list[str]:
    values = _strings(check, name)
    if required and not values and not check.failed(name):
        check.error(name, "required", "needs at least one URI")
    return _unique([v for i, v in enumerate(values) if _uri(check, name, v, "redirect", i)])


def _optional_uri(check: Check, name: str, kind: str) -> str | None:
    value = check.data.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        check.error(name, "type", "must be a string")
        return None
    value = value.strip()
    return value if _uri(check, name, value, kind) else None


def _check_names(check: Check) -> None:
    check.result["name"] = _text(check, "name", required=True, maximum=MAX_NAME_LENGTH)
    check.result["name_en"] = _text(check, "name_en", required=False, maximum=MAX_NAME_LENGTH)


def _check_region(check: Check) -> None:
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


def _check_redirects(check: Check) -> None:
    check.result["redirect_uris"] = _uri_list(check, "redirect_uris", required=True)
    check.result["post_logout_redirect_uris"] = _uri_list(
        check, "post_logout_redirect_uris", required=False
    )
    check.result["backchannel_logout_uri"] = _optional_uri(
        check, "backchannel_logout_uri", "backchannel"
    )


def _check_keys(check: Check) -> None:
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


def _jwks(check: Check, value: Any) -> dict[str, Any] | None:
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


def _check_scopes(check: Check) -> None:
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


def _check_level_and_trust(check: Check) -> None:
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
    # Every login to the portal includes a second factor (idp.identity.factors).
    require_mfa = check.data.get("require_mfa", False)
    if require_mfa is None:
        require_mfa = False
    if not isinstance(require_mfa, bool):
        check.error("require_mfa", "type", "must be true or false")
    check.result["require_mfa"] = require_mfa is True


def _check_subject(check: Check) -> None:
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


def _check_matters_and_contacts(check: Check) -> None:
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


def _check_token_binding(check: Check) -> None:
    """RFC 9449 5.2: ``dpop_bound_access_tokens``, a boolean (default false): every token
    request of the portal must carry a DPoP proof (``idp.oauth.dpop``)."""
    value = check.data.get("dpop_bound_access_tokens", False)
    if value is None:
        value = False
    if not isinstance(value, bool):
        check.error("dpop_bound_access_tokens", "type", "must be true or false")
    check.result["dpop_bound_access_tokens"] = value is True


def _check_status(check: Check) -> None:
    check.result["status"] = _choice(check, "status", STATUSES)


# The checks, in the order their errors are reported. Remote checks run after these, only
# when these found nothing wrong with the fields they read.
CHECKS: tuple[Callable[[Check], None], ...] = (
    _check_names,
    _check_region,
    _check_redirects,
    _check_keys,
    check_encryption,
    _check_scopes,
    _check_level_and_trust,
    _check_subject,
    _check_matters_and_contacts,
    _check_status,
    _check_token_binding,
    # Last: the fapi2 profile checks the fields above (docs/portals.md, "FAPI 2.0").
    check_request_protection,
)


def check_sector_kept(check: Check, current: Client | None) -> None:
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


def check_known_matters(check: Check, published: Callable[[], Collection[str]]) -> None:
    """A portal serves classes of the published catalogue of matters only (``idp matters``):
    handler grants and company logins are decided per class (legal-person agreement, graded and
    classified authorisation), so a class the catalogue does not hold could never be authorised.
    ``published`` (the active classes' codes) is asked only when a class is added; classes the
    portal already serves stay, even if the catalogue has since retired them."""
    if check.failed("matters"):
        return
    before = set((check.current or {}).get("matters") or [])
    added = [m for m in check.result.get("matters") or [] if m not in before]
    if not added:
        return
    known = set(published())
    raw = check.data.get("matters")
    for matter in added:
        if matter in known:
            continue
        index = raw.index(matter) if isinstance(raw, list) and matter in raw else None
        check.error(
            "matters",
            "unknown_matter",
            f"{matter} is not a class of the published catalogue of matters (idp matters list)",
            index,
            matter,
        )


def check_duplicate_names(check: Check, taken_names: Callable[[], Collection[str]]) -> None:
    """Display names are unique across portals (either language, ignoring case), so that a
    person can tell portals apart on the login and consent pages. ``taken_names`` (the other
    portals' names, case-folded) is asked only when a name is new or changed."""
    wanted = {
        name: check.result[name].casefold()
        for name in ("name", "name_en")
        if check.result.get(name) and check.changed(name)
    }
    if not wanted:
        return
    taken = taken_names()
    for name, folded in wanted.items():
        if folded in taken:
            value = check.result[name]
            check.error(name, "duplicate", f"another portal is already named {value!r}")
