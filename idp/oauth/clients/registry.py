"""The portal registry: portals (OAuth clients) over the database, with audit.

The console (``/admin/portals``), the admin API (``/admin/api/clients``), dynamic registration
(RFC 7591 / RFC 7592, ``idp.oauth.registration``) and the ``idp clients`` command all go through
:class:`ClientRegistry`, so a portal is held to the same rules whichever way it is registered
(``.validation``, ``.fetch``).

Operations: create, update (partial, or a full replacement for RFC 7592 PUT), disable/enable,
delete, rotate the secret (the previous one keeps working for the grace period,
``IDP_CLIENT_SECRET_GRACE_PERIOD``), and issue initial access tokens (RFC 7591 3). Every change
writes an audit event in the same transaction.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from idp.identity.audit import event as audit_event
from idp.models import AuditEvent, Client, ClientName, InitialAccessToken, MatterClass
from idp.models.base import Database, utcnow
from idp.models.client import SECRET_AUTH_METHODS, hash_client_secret
from idp.oauth.clients.encryption_keys import check_remote_encryption_keys
from idp.oauth.clients.fetch import Fetcher, check_remote, fetch_json
from idp.oauth.clients.metadata import (
    CLIENT_ID_PATTERN,
    FIELDS,
    FieldError,
    InvalidMetadata,
    RegistryError,
    RegistryPolicy,
    defaults,
    initial_token_problems,
    metadata_of,
)
from idp.oauth.clients.validation import (
    Check,
    check_duplicate_names,
    check_known_matters,
    check_sector_kept,
)


class ClientNotFound(RegistryError):
    """No portal with this client_id."""

    code = "client_not_found"
    status = 404

    def __init__(self, client_id: str) -> None:
        super().__init__(detail=client_id)
        self.client_id = client_id


class NoClientSecret(RegistryError):
    """The portal authenticates without a shared secret (``none`` or ``private_key_jwt``)."""

    code = "no_client_secret"
    status = 409

    def __init__(self, client_id: str) -> None:
        super().__init__(detail=client_id)
        self.client_id = client_id


class Refused(RegistryError):
    """A precondition checked inside the transaction failed (e.g. no use left on a token)."""

    code = "refused"
    status = 409

    def __init__(self, detail: str) -> None:
        super().__init__(detail=detail)


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


def hash_token(token: str) -> str:
    """Initial and registration access tokens are 256-bit random values: SHA-256 suffices."""
    return hashlib.sha256(token.encode()).hexdigest()


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
        check = Check.start(data, current, self.policy)
        check_duplicate_names(check, lambda: self._names_taken(current))
        check_known_matters(check, self._published_matters)
        check_sector_kept(check, current)
        check_remote(check, self.fetch)
        check_remote_encryption_keys(check, self.fetch)
        return check.finish(advisory)

    def _names_taken(self, current: Client | None) -> set[str]:
        """The display names of every other portal, case-folded."""
        taken: set[str] = set()
        rows = self.db.session.execute(select(Client.client_id, Client.name, Client.name_en))
        for client_id, name, name_en in rows:
            if current is None or client_id != current.client_id:
                taken.update(n.casefold() for n in (name, name_en) if n)
        return taken

    def _published_matters(self) -> set[str]:
        """The codes of the catalogue's active matter classes."""
        query = select(MatterClass.code).where(MatterClass.active.is_(True))
        return set(self.db.session.scalars(query))

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
                try:
                    session.flush()
                except IntegrityError:
                    raise InvalidMetadata(
                        [FieldError("client_id", "taken", "is taken by another portal")]
                    ) from None
                _claim_names(session, client)
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
            if "name" in changed or "name_en" in changed:
                _claim_names(session, client)
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

    def set_minimum_level(self, client_id: str, level: str | None) -> Client:
        """The lowest verification level a login to this portal must reach (step-up,
        docs/verification-levels.md); None: any level. The caller audits the change."""
        with self.db.transaction() as session:
            client = session.get(Client, client_id) if _plausible_id(client_id) else None
            if client is None:
                raise ClientNotFound(client_id)
            client.minimum_verification_level = level
        return client

    def allow_sensitive_claim(self, client_id: str, claim: str, allowed: bool) -> Client:
        """Allow (or stop allowing) the portal to ask for a sensitive claim; the person still
        decides each time with a separate tick. The caller audits the change."""
        with self.db.transaction() as session:
            client = session.get(Client, client_id) if _plausible_id(client_id) else None
            if client is None:
                raise ClientNotFound(client_id)
            claims = set(client.allowed_sensitive_claims or [])
            claims = claims | {claim} if allowed else claims - {claim}
            client.allowed_sensitive_claims = sorted(claims)
        return client

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


def _new_secret(method: str | None) -> str | None:
    return secrets.token_urlsafe(32) if method in SECRET_AUTH_METHODS else None


def _claim_names(session: Session, client: Client) -> None:
    """Hold the portal's display names, case-folded, in ``client_names``, whose primary key
    keeps them unique across portals and languages even when two changes race past
    :func:`check_duplicate_names`; the loser gets the same ``duplicate`` error."""
    wanted: dict[str, tuple[str, str]] = {}
    for field_name in ("name", "name_en"):
        value = getattr(client, field_name)
        if value:
            wanted.setdefault(value.casefold(), (field_name, value))
    held = set(
        session.scalars(select(ClientName.name_key).where(ClientName.client_id == client.client_id))
    )
    stale = held - wanted.keys()
    if stale:
        session.execute(
            delete(ClientName).where(
                ClientName.client_id == client.client_id, ClientName.name_key.in_(stale)
            )
        )
    for key, (field_name, value) in wanted.items():
        if key in held:
            continue
        session.add(ClientName(name_key=key, client_id=client.client_id))
        try:
            session.flush()
        except IntegrityError:  # the transaction is rolled back with the error
            raise InvalidMetadata(
                [FieldError(field_name, "duplicate", f"another portal is already named {value!r}")]
            ) from None


def _plausible_id(client_id: str) -> bool:
    return bool(client_id) and len(client_id) <= 64


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
    return audit_event(
        action, actor=actor.id, client_id=client_id, ip_address=actor.ip_address, details=details
    )
