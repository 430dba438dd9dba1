"""Clients: the portals that rely on the provider (OpenID Connect relying parties)."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from idp.models.base import Base, UTCDateTime, utcnow

PUBLIC_AUTH_METHOD = "none"
SECRET_AUTH_METHODS = ("client_secret_basic", "client_secret_post")
KEY_AUTH_METHODS = ("private_key_jwt",)
# Scopes of a portal's own token (client credentials): the matters and messages API.
PORTAL_SCOPES = ("matters:write", "messages:send")


def hash_client_secret(secret: str) -> str:
    """Client secrets are 256-bit random values, so a plain SHA-256 is a sufficient one-way hash."""
    return hashlib.sha256(secret.encode()).hexdigest()


class Client(Base):
    __tablename__ = "clients"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_secret_hash: Mapped[str | None] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(255))
    redirect_uris: Mapped[list[str]] = mapped_column(JSON, default=list)
    post_logout_redirect_uris: Mapped[list[str]] = mapped_column(JSON, default=list)
    backchannel_logout_uri: Mapped[str | None] = mapped_column(Text)
    token_endpoint_auth_method: Mapped[str] = mapped_column(String(32))
    id_token_signed_response_alg: Mapped[str] = mapped_column(String(8), default="RS256")
    # OIDC Registration 2 / Core 10.2: encrypted ID tokens and signed or encrypted UserInfo
    # answers, to the portal's key with ``use: enc`` (idp.oauth.encryption).
    id_token_encrypted_response_alg: Mapped[str | None] = mapped_column(String(32))
    id_token_encrypted_response_enc: Mapped[str | None] = mapped_column(String(32))
    userinfo_signed_response_alg: Mapped[str | None] = mapped_column(String(8))
    userinfo_encrypted_response_alg: Mapped[str | None] = mapped_column(String(32))
    userinfo_encrypted_response_enc: Mapped[str | None] = mapped_column(String(32))
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    jwks: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    jwks_uri: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="active")
    trusted: Mapped[bool] = mapped_column(Boolean, default=False)
    # Sensitive claims (idp.oauth.claims.BUILTIN_SENSITIVE_CLAIMS, e.g. the full ``id_number``) an
    # administrator allowed this portal to ask for; the person still decides each one.
    allowed_sensitive_claims: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The lowest verification level (L1..L4) a login to this portal must reach (step-up).
    minimum_verification_level: Mapped[str | None] = mapped_column(String(4))
    # A login to this portal must include a second factor (TOTP or a passkey: amr "mfa").
    require_mfa: Mapped[bool] = mapped_column(Boolean, default=False)
    # RFC 9449 5.2: every token request of this portal must carry a DPoP proof (its access
    # tokens are always DPoP-bound).
    dpop_bound_access_tokens: Mapped[bool] = mapped_column(Boolean, default=False)
    # FAPI 2.0 (docs/portals.md, "FAPI 2.0"; migration 0018). ``profile``: None or "fapi2"
    # (idp.oauth.fapi: what the profile requires is enforced at registration and at request time).
    profile: Mapped[str | None] = mapped_column(String(16))
    # RFC 9126 6: authorization requests only through /par.
    require_pushed_authorization_requests: Mapped[bool] = mapped_column(Boolean, default=False)
    # RFC 9101 10.5: authorization requests only as a signed request object; the one algorithm
    # accepted for it (OIDC Registration 2; None: any we support).
    require_signed_request_object: Mapped[bool] = mapped_column(Boolean, default=False)
    request_object_signing_alg: Mapped[str | None] = mapped_column(String(8))
    # OpenID JARM 3: the algorithm of signed authorization responses (None: RS256).
    authorization_signed_response_alg: Mapped[str | None] = mapped_column(String(8))
    # Portal administration (idp.oauth.clients; docs/portals.md). ``name`` above is the
    # Chinese display name, ``name_en`` the English one.
    name_en: Mapped[str | None] = mapped_column(String(255))
    # GB/T 2260 administrative division code of the region the portal serves (6 digits).
    region: Mapped[str | None] = mapped_column(String(6))
    # OIDC Core 8: "public" or "pairwise"; the sector identifier (OIDC Registration 5) if any.
    subject_type: Mapped[str] = mapped_column(String(16), default="public")
    sector_identifier_uri: Mapped[str | None] = mapped_column(Text)
    # Classes of matters the portal serves (codes such as "tax.declaration").
    matters: Mapped[list[str]] = mapped_column(JSON, default=list)
    # RFC 7591 2: e-mail addresses or phone numbers of the people responsible for the portal.
    contacts: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Secret rotation: the previous secret stays valid until ``previous_secret_expires_at``.
    previous_client_secret_hash: Mapped[str | None] = mapped_column(String(128))
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # RFC 7592 2: SHA-256 of the registration access token of a dynamically registered portal.
    registration_access_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    # -- authlib.oauth2.rfc6749.ClientMixin ------------------------------------------------
    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        # RFC 9700 2.1: exact matching; never guess a default for an OpenID request.
        return None

    def get_allowed_scope(self, scope: str) -> str:
        if not scope:
            return ""
        allowed = set(self.scopes)
        return " ".join(s for s in scope.split() if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        """Exact string comparison (RFC 9700 section 2.1, OIDC Core 3.1.2.1)."""
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        """The current secret, or the previous one until its grace period ends (secret rotation,
        ``IDP_CLIENT_SECRET_GRACE_PERIOD``; docs/portals.md)."""
        if not client_secret:
            return False
        candidate = hash_client_secret(client_secret)
        current = bool(self.client_secret_hash) and hmac.compare_digest(
            self.client_secret_hash or "", candidate
        )
        previous = (
            bool(self.previous_client_secret_hash)
            and self.previous_secret_expires_at is not None
            and self.previous_secret_expires_at > utcnow()
            and hmac.compare_digest(self.previous_client_secret_hash or "", candidate)
        )
        return current or previous

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        # Authlib's endpoint names; the registered method applies to all three (OIDC Core 9).
        # RFC 9126 2: the pushed authorization request endpoint authenticates as the token one.
        if endpoint in {"token", "revocation", "introspection", "pushed_authorization"}:
            return method == self.token_endpoint_auth_method
        return True

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        if grant_type == "client_credentials":
            # RFC 6749 4.4: confidential portals only, registered for a portal scope
            # (matters:write, messages:send; docs/user-space.md).
            return not self.public and any(scope in PORTAL_SCOPES for scope in self.scopes)
        return grant_type in {"authorization_code", "refresh_token"}

    @property
    def public(self) -> bool:
        return self.token_endpoint_auth_method == PUBLIC_AUTH_METHOD

    @property
    def active(self) -> bool:
        return self.status == "active"


class ClientName(Base):
    """A display name a portal holds (``name`` or ``name_en``), case-folded: the primary key
    makes names unique across portals and languages in the database itself, so that two
    registrations racing with one name cannot both pass (the registry's check answers first
    when there is no race; both give the same ``duplicate`` error)."""

    __tablename__ = "client_names"

    name_key: Mapped[str] = mapped_column(String(1024), primary_key=True)
    client_id: Mapped[str] = mapped_column(
        ForeignKey("clients.client_id", ondelete="CASCADE"), index=True
    )
