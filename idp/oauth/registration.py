"""Dynamic client registration: RFC 7591 (register) and RFC 7592 (read, update, delete).

A portal registers at ``/register-client`` with an initial access token an administrator issued
(RFC 7591 3: the endpoint is protected; one use per successful registration, with an expiry).
The answer carries the ``registration_access_token`` and ``registration_client_uri``
(``/register-client/<client_id>``) with which the portal reads, replaces or deletes its own
registration (RFC 7592 2). Every successful read or update issues a new registration access
token and the previous one stops working (RFC 7592 3 lets the server rotate it; we hold only
hashes, so a token cannot be shown twice).

The metadata goes through the same validation as the console and the admin API
(``idp.oauth.clients``). Names follow RFC 7591 2 and OpenID Connect Dynamic Client
Registration 2: ``client_name`` (with ``client_name#en`` and ``client_name#zh-CN`` language
variants), ``scope`` as a space-separated string. Metadata we do not understand is ignored
(RFC 7591 2). What only an administrator may decide (``trusted``,
``allowed_sensitive_claims``, ``status``, ``require_mfa``) is refused with
``invalid_client_metadata``.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from idp.errors import IdpError
from idp.identity import levels
from idp.models import Client, InitialAccessToken
from idp.models.client import PORTAL_SCOPES, SECRET_AUTH_METHODS
from idp.oauth.clients import (
    FIELDS,
    Actor,
    ClientNotFound,
    ClientRegistry,
    FieldError,
    InvalidMetadata,
    Refused,
    defaults,
    metadata_of,
)

# RFC 7591 / OIDC Registration names that map one to one onto ours.
SAME_NAMES = (
    "redirect_uris",
    "post_logout_redirect_uris",
    "backchannel_logout_uri",
    "token_endpoint_auth_method",
    "jwks",
    "jwks_uri",
    "id_token_signed_response_alg",
    # OIDC Registration 2: encrypted ID tokens, signed or encrypted UserInfo (issue 18).
    "id_token_encrypted_response_alg",
    "id_token_encrypted_response_enc",
    "userinfo_signed_response_alg",
    "userinfo_encrypted_response_alg",
    "userinfo_encrypted_response_enc",
    "subject_type",
    "sector_identifier_uri",
    "contacts",
    # FAPI 2.0: RFC 9126 6, RFC 9101 10.5, OIDC Registration 2, OpenID JARM 3 (issue 18).
    "require_pushed_authorization_requests",
    "require_signed_request_object",
    "request_object_signing_alg",
    "authorization_signed_response_alg",
    # Extensions of this provider (docs/portals.md).
    "region",
    "matters",
    "minimum_verification_level",
    "profile",  # "fapi2" (docs/portals.md, "FAPI 2.0")
)
# ``require_mfa`` too: a portal must not drop the second factor an administrator required.
ADMINISTRATOR_ONLY = ("trusted", "allowed_sensitive_claims", "status", "require_mfa")
# A portal may raise its minimum verification level itself, never lower or clear it (an
# administrator may have set it: issue "real-name registration", item 6).
RAISE_ONLY = "minimum_verification_level"
GRANT_TYPES = ("authorization_code", "refresh_token")
# A portal's own token (RFC 6749 4.4) for the portal scopes, which only an administrator grants
# (docs/user-space.md): never asked for here, shown and kept as an administrator set them.
PORTAL_GRANT = "client_credentials"
RESPONSE_TYPES = ("code",)
# Our field name -> the RFC 7591 name used in error descriptions.
RFC_NAMES = {"name": "client_name", "name_en": "client_name#en", "scopes": "scope"}


@dataclass
class RegistrationError(IdpError):
    """An RFC 7591 3.2.2 error (400) or an RFC 6750 3.1 token error (401): ``error`` is its
    code and ``description`` its public message (both go in the answer, :meth:`body`)."""

    error: str
    description: str
    status: int = 400
    headers: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(self.error, public_message=self.description, status=self.status)

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


def invalid_token(
    description: str = "The access token is missing, invalid or used up.",
) -> RegistrationError:
    """RFC 6750 3.1: 401 with a ``WWW-Authenticate: Bearer`` challenge."""
    return RegistrationError(
        "invalid_token",
        description,
        401,
        [("WWW-Authenticate", 'Bearer error="invalid_token"')],
    )


def _metadata_error(errors: list[FieldError]) -> RegistrationError:
    """``invalid_redirect_uri`` when a redirect URI is at fault, else
    ``invalid_client_metadata``; the description names every field (RFC 7591 3.2.2)."""
    code = (
        "invalid_redirect_uri"
        if any(e.field == "redirect_uris" for e in errors)
        else "invalid_client_metadata"
    )
    parts = []
    for error in errors:
        label = RFC_NAMES.get(error.field, error.field)
        if error.index is not None:
            label += f"[{error.index}]"
        parts.append(f"{label}: {error.message}")
    return RegistrationError(code, "; ".join(parts))


def translate(body: Any) -> dict[str, Any]:
    """RFC 7591 client metadata -> the registry's field names; raises
    :class:`RegistrationError` for what cannot be accepted at all."""
    if not isinstance(body, Mapping):
        raise RegistrationError(
            "invalid_client_metadata", "The request body must be a JSON object."
        )
    # RFC 7591 2: a member is given with a value or left out; null is neither.
    nulls = sorted(str(name) for name, value in body.items() if value is None)
    if nulls:
        raise RegistrationError(
            "invalid_client_metadata", f"{', '.join(nulls)}: null is not a value; leave it out."
        )
    refused = [name for name in ADMINISTRATOR_ONLY if name in body]
    if refused:
        raise RegistrationError(
            "invalid_client_metadata",
            f"{', '.join(refused)}: set only by an administrator of the provider.",
        )
    errors: list[FieldError] = []
    data: dict[str, Any] = {name: body[name] for name in SAME_NAMES if name in body}
    for name, value in body.items():
        if not isinstance(name, str):
            continue
        if name == "client_name" or name.lower().startswith("client_name#zh"):
            data["name"] = value
        elif name.lower().startswith("client_name#en"):
            data["name_en"] = value
    if "scope" in body:
        scope = body["scope"]
        if not isinstance(scope, str):
            errors.append(FieldError("scopes", "type", "must be a space-separated string"))
        else:
            data["scopes"] = scope.split()
            asked = [s for s in data["scopes"] if s in PORTAL_SCOPES]
            if asked:
                errors.append(
                    FieldError(
                        "scopes",
                        "administrator_only",
                        f"{', '.join(asked)}: granted only by an administrator of the provider",
                    )
                )
    for name, allowed in (
        ("grant_types", (*GRANT_TYPES, PORTAL_GRANT)),
        ("response_types", RESPONSE_TYPES),
    ):
        values = body.get(name)
        if values is None:
            continue
        if not isinstance(values, list) or not all(v in allowed for v in values):
            errors.append(FieldError(name, "unknown_value", f"may only list {', '.join(allowed)}"))
    if errors:
        raise _metadata_error(errors)
    return data


def client_information(
    client: Client,
    *,
    issuer: str,
    registration_access_token: str,
    client_secret: str | None = None,
) -> dict[str, Any]:
    """The client information response (RFC 7591 3.2.1, RFC 7592 3)."""
    metadata = metadata_of(client)
    info: dict[str, Any] = {
        "client_id": client.client_id,
        "client_id_issued_at": int(client.created_at.timestamp()),
        "registration_access_token": registration_access_token,
        "registration_client_uri": f"{issuer}/register-client/{client.client_id}",
    }
    if client_secret:
        info["client_secret"] = client_secret
    if client.token_endpoint_auth_method in SECRET_AUTH_METHODS:
        info["client_secret_expires_at"] = 0  # the secret does not expire
    info["client_name"] = metadata["name"]
    if metadata["name_en"]:
        info["client_name#en"] = metadata["name_en"]
    for name in SAME_NAMES:
        value = metadata[name]
        if value not in (None, [], ""):
            info[name] = value
    if client.backchannel_logout_uri:
        info["backchannel_logout_session_required"] = True  # we always send sid
    info["scope"] = " ".join(s for s in metadata["scopes"] if s not in PORTAL_SCOPES)
    info["grant_types"] = (
        list(GRANT_TYPES) if "offline_access" in metadata["scopes"] else [GRANT_TYPES[0]]
    )
    if client.check_grant_type(PORTAL_GRANT):
        info["grant_types"].append(PORTAL_GRANT)
    info["response_types"] = list(RESPONSE_TYPES)
    return info


class DynamicRegistration:
    """The registration endpoint and the client configuration endpoint, framework-neutral."""

    def __init__(self, registry: ClientRegistry, issuer: str) -> None:
        self.registry = registry
        self.issuer = issuer

    @staticmethod
    def _actor(actor_id: str, ip_address: str | None) -> Actor:
        return Actor(actor_id, "registration", ip_address)

    def initial_access(self, token: str | None) -> InitialAccessToken:
        """RFC 7591 3: the initial access token, usable (uses left, not expired), else 401."""
        if not token:
            raise RegistrationError(
                "invalid_token",
                "An initial access token is required.",
                401,
                [("WWW-Authenticate", "Bearer")],
            )
        granted = self.registry.find_initial_access_token(token)
        if granted is None:
            raise invalid_token()
        return granted

    def register(
        self, body: Any, initial_access_token: str | None, *, ip_address: str | None = None
    ) -> dict[str, Any]:
        """RFC 7591 3.1: validate, take one use of the initial access token, register."""
        granted = self.initial_access(initial_access_token)
        token = initial_access_token or ""  # initial_access refused an empty one
        data = translate(body)
        registration_token = secrets.token_urlsafe(32)
        try:
            outcome = self.registry.create(
                data,
                actor=self._actor(f"initial-access-token:{granted.id}", ip_address),
                registration_access_token=registration_token,
                session_hook=lambda session: self.registry.take_initial_access_token_use(
                    session, token
                ),
            )
        except InvalidMetadata as exc:
            raise _metadata_error(exc.errors) from None
        except Refused:
            raise invalid_token() from None
        return client_information(
            outcome.client,
            issuer=self.issuer,
            registration_access_token=registration_token,
            client_secret=outcome.client_secret,
        )

    def access(self, client_id: str, token: str | None) -> Client:
        """RFC 7592 2: the registration access token of this very client, else 401."""
        if not token:
            raise RegistrationError(
                "invalid_token",
                "A registration access token is required.",
                401,
                [("WWW-Authenticate", "Bearer")],
            )
        client = self.registry.find_by_registration_token(client_id, token)
        if client is None:
            raise invalid_token()
        return client

    def read(self, client_id: str, token: str | None) -> dict[str, Any]:
        """RFC 7592 2.1."""
        client = self.access(client_id, token)
        renewed = self.registry.renew_registration_token(client)
        return client_information(client, issuer=self.issuer, registration_access_token=renewed)

    def update(
        self, client_id: str, token: str | None, body: Any, *, ip_address: str | None = None
    ) -> dict[str, Any]:
        """RFC 7592 2.2: the body replaces the registration; omitted fields are cleared (back
        to their defaults). ``client_id`` must be given and match; a ``client_secret``, when
        given, must be the current one."""
        client = self.access(client_id, token)
        if not isinstance(body, Mapping) or body.get("client_id") != client.client_id:
            raise RegistrationError(
                "invalid_client_metadata", "client_id: must be given and match this client."
            )
        secret = body.get("client_secret")
        if secret is not None and (
            not isinstance(secret, str) or not client.check_client_secret(secret)
        ):
            raise RegistrationError(
                "invalid_client_metadata", "client_secret: does not match this client."
            )
        data = translate({k: v for k, v in body.items() if k not in ("client_id", "client_secret")})
        # Omitted fields are cleared (RFC 7592 2.2); what only an administrator sets is kept.
        current = metadata_of(client)
        full: dict[str, Any] = {name: None for name in FIELDS}
        full.update(defaults())
        full.update(data)
        full.update({name: current[name] for name in ADMINISTRATOR_ONLY})
        # The portal scopes an administrator granted stay (they are not in the body).
        granted = [s for s in current["scopes"] if s in PORTAL_SCOPES]
        if granted:
            full["scopes"] = [*(full.get("scopes") or []), *granted]
        kept = current[RAISE_ONLY]
        if levels.rank(full.get(RAISE_ONLY)) < levels.rank(kept):
            full[RAISE_ONLY] = kept
        try:
            outcome = self.registry.update(
                client_id, full, actor=self._actor(client_id, ip_address)
            )
        except InvalidMetadata as exc:
            raise _metadata_error(exc.errors) from None
        except ClientNotFound:
            raise invalid_token() from None
        renewed = self.registry.renew_registration_token(outcome.client)
        return client_information(
            outcome.client,
            issuer=self.issuer,
            registration_access_token=renewed,
            client_secret=outcome.client_secret,
        )

    def delete(self, client_id: str, token: str | None, *, ip_address: str | None = None) -> None:
        """RFC 7592 2.3: the registration, its secret, its token and its grants are gone."""
        self.access(client_id, token)
        try:
            self.registry.delete(client_id, actor=self._actor(client_id, ip_address))
        except ClientNotFound:
            raise invalid_token() from None
