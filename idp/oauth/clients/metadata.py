"""What a portal's metadata is: its fields, their values and limits, and its errors.

The names and enumerations here are the ones the validation (:mod:`.validation`), the admin API's
OpenAPI document (``idp.views.admin.openapi``) and the console's forms share, so that they cannot
drift. Field names are the admin API's (docs/portals.md); RFC 7591 names are mapped onto them in
``idp.oauth.registration``. No I/O.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from idp.config import Config
from idp.errors import IdpError
from idp.identity import levels
from idp.identity.delegation import MATTER_CODE
from idp.models import Client
from idp.models.client import KEY_AUTH_METHODS, PUBLIC_AUTH_METHOD, SECRET_AUTH_METHODS
from idp.oauth.claims import SCOPES_SUPPORTED
from idp.oauth.keys import SUPPORTED_ALGORITHMS

AUTH_METHODS = (*SECRET_AUTH_METHODS, *KEY_AUTH_METHODS, PUBLIC_AUTH_METHOD)
SUBJECT_TYPES = ("public", "pairwise")
STATUSES = ("active", "disabled")
MINIMUM_LEVELS = tuple(level for level in levels.LEVELS if level != "L0")
DEFAULT_SCOPES = ("openid", "profile", "offline_access")
CLIENT_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
# The codes of the matters catalogue (idp.identity.delegation): ``tax`` or ``tax.declaration``.
MATTER_PATTERN = MATTER_CODE
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
    "id_token_encrypted_response_alg",
    "id_token_encrypted_response_enc",
    "userinfo_signed_response_alg",
    "userinfo_encrypted_response_alg",
    "userinfo_encrypted_response_enc",
    "scopes",
    "allowed_sensitive_claims",
    "minimum_verification_level",
    "require_mfa",
    "trusted",
    "subject_type",
    "sector_identifier_uri",
    "matters",
    "contacts",
    "status",
    # RFC 9449 5.2: every token request carries a DPoP proof (idp.oauth.dpop).
    "dpop_bound_access_tokens",
    # FAPI 2.0 (idp.oauth.fapi, docs/portals.md "FAPI 2.0"): the profile last, as it checks
    # the other fields.
    "require_pushed_authorization_requests",
    "require_signed_request_object",
    "request_object_signing_alg",
    "authorization_signed_response_alg",
    "profile",
)


@dataclass(frozen=True)
class FieldError:
    """One problem with one field (``index``: the position in a list field)."""

    field: str
    code: str
    message: str
    index: int | None = None
    value: str | None = None  # the offending value, when a message names it (a matter class)

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


class RegistryError(IdpError):
    """Base of the refusals of portal administration (``idp.oauth.clients``)."""

    code = "portal_refused"


class InvalidMetadata(RegistryError):
    """The metadata breaks one or more rules; ``errors`` lists every problem found."""

    code = "invalid_metadata"

    def __init__(self, errors: Sequence[FieldError]) -> None:
        super().__init__(
            field=errors[0].field if len(errors) == 1 else None,
            detail="; ".join(f"{e.label}: {e.message}" for e in errors),
        )
        self.errors = list(errors)


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
        "id_token_encrypted_response_alg": client.id_token_encrypted_response_alg,
        "id_token_encrypted_response_enc": client.id_token_encrypted_response_enc,
        "userinfo_signed_response_alg": client.userinfo_signed_response_alg,
        "userinfo_encrypted_response_alg": client.userinfo_encrypted_response_alg,
        "userinfo_encrypted_response_enc": client.userinfo_encrypted_response_enc,
        "scopes": list(client.scopes or []),
        "allowed_sensitive_claims": list(client.allowed_sensitive_claims or []),
        "minimum_verification_level": client.minimum_verification_level,
        "require_mfa": bool(client.require_mfa),
        "dpop_bound_access_tokens": bool(client.dpop_bound_access_tokens),
        "trusted": bool(client.trusted),
        "subject_type": client.subject_type or "public",
        "sector_identifier_uri": client.sector_identifier_uri,
        "matters": list(client.matters or []),
        "contacts": list(client.contacts or []),
        "status": client.status,
        "require_pushed_authorization_requests": bool(client.require_pushed_authorization_requests),
        "require_signed_request_object": bool(client.require_signed_request_object),
        "request_object_signing_alg": client.request_object_signing_alg,
        "authorization_signed_response_alg": client.authorization_signed_response_alg,
        "profile": client.profile,
    }


def defaults() -> dict[str, Any]:
    """The metadata of a portal for which nothing optional was given."""
    return {
        "token_endpoint_auth_method": SECRET_AUTH_METHODS[0],
        "id_token_signed_response_alg": SUPPORTED_ALGORITHMS[0],
        "scopes": list(DEFAULT_SCOPES),
        "trusted": False,
        "require_mfa": False,
        "dpop_bound_access_tokens": False,
        "subject_type": "public",
        "status": "active",
    }


def initial_token_problems(uses: Any, days: Any) -> list[FieldError]:
    """What is wrong with the uses and lifetime asked for an initial access token (RFC 7591 3:
    a bounded number of registrations within a bounded time)."""
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
