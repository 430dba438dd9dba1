"""Issuing, finding and revoking tokens.

Access and refresh tokens are opaque 256-bit random strings; only their SHA-256 hashes are stored.
A token is usable while its row, its grant, its account and its client all allow it; a lookup is
one indexed query that joins the four (see ``Token.grant`` and ``Grant.account``/``client``).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.orm import Session

from idp.models import Account, Client, Grant, PortalSubject, Token
from idp.models.base import Database, utcnow
from idp.models.matter import remember_subject

# Built once: a hot lookup binds only the digest (no statement construction per request).
_BY_HASH = {
    "access_token": select(Token).where(Token.access_token_hash == bindparam("digest")),
    "refresh_token": select(Token).where(Token.refresh_token_hash == bindparam("digest")),
}


def token_hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


@dataclass
class IssuedToken:
    """A stored token seen as one kind (``access_token`` or ``refresh_token``): Authlib's
    ``TokenMixin`` for the revocation and introspection endpoints."""

    row: Token
    kind: str

    @property
    def grant(self) -> Grant:
        return self.row.grant

    def check_client(self, client: Client) -> bool:
        return self.row.grant.client_id == client.client_id

    def get_scope(self) -> str:
        # RFC 6749 section 6: a rotated refresh token keeps the scope originally granted, even
        # when the refresh that issued it asked for a narrower access token.
        return self.row.grant.scope if self.kind == "refresh_token" else self.row.scope

    def get_expires_in(self) -> int:
        return max(0, int((self.expires_at - utcnow()).total_seconds()))

    @property
    def expires_at(self) -> datetime:
        if self.kind == "refresh_token":
            assert self.row.refresh_expires_at is not None
            return min(self.row.refresh_expires_at, self.row.grant.expires_at)
        return self.row.access_expires_at

    @property
    def jkt(self) -> str | None:
        """The DPoP key thumbprint the token is bound to (``cnf.jkt``, RFC 9449 6), or None."""
        return self.row.cnf_jkt

    def is_expired(self) -> bool:
        return self.expires_at <= utcnow()

    def is_revoked(self) -> bool:
        grant = self.row.grant
        if grant.revoked_at is not None or not grant.client.active:
            return True
        if grant.delegation_expired(utcnow()):
            return True
        if not grant.account.active or grant.account.security_stamp != grant.security_stamp:
            return True
        if self.kind == "refresh_token":
            return self.row.rotated_at is not None
        return self.row.revoked_at is not None

    @property
    def active(self) -> bool:
        return not self.is_expired() and not self.is_revoked()


class TokenService:
    def __init__(
        self, db: Database, *, access_ttl: int, refresh_idle_ttl: int, absolute_ttl: int
    ) -> None:
        self.db = db
        self.access_ttl = access_ttl
        self.refresh_idle_ttl = refresh_idle_ttl
        self.absolute_ttl = absolute_ttl

    # -- grants ------------------------------------------------------------------------------
    def create_grant(
        self,
        *,
        account: Account,
        client: Client,
        scope: str,
        claims: dict[str, Any] | None,
        released_claims: list[str],
        sid: str | None,
        auth_time: int,
        acr: str | None,
        amr: list[str],
        entity_id: str | None = None,
        delegation_source: str | None = None,
        delegation: dict[str, Any] | None = None,
        seen_as: Sequence[PortalSubject] = (),
        authorization_details: list[dict[str, Any]] | None = None,
    ) -> Grant:
        """``entity_id`` and the delegation make it a company login (legal-person issue).
        ``seen_as``: the ``sub`` values the portal sees in this login, remembered once (the
        evidence of a first login for the portal API, ``idp.oauth.portal_api``)."""
        with self.db.transaction() as session:
            for row in seen_as:
                remember_subject(session, row)
            grant = Grant(
                account_id=account.id,
                client_id=client.client_id,
                scope=scope,
                claims=claims,
                released_claims=released_claims,
                sid=sid,
                auth_time=auth_time,
                acr=acr,
                amr=amr,
                security_stamp=account.security_stamp,
                expires_at=utcnow() + timedelta(seconds=self.absolute_ttl),
                entity_id=entity_id,
                delegation_source=delegation_source,
                delegation=delegation,
                authorization_details=authorization_details,
            )
            session.add(grant)
        return grant

    @staticmethod
    def clients_holding_grants(session: Session, account_id: str) -> list[str]:
        """The portals with a grant of the account not yet revoked (in the caller's
        transaction)."""
        return list(
            session.scalars(
                select(Grant.client_id)
                .where(Grant.account_id == account_id, Grant.revoked_at.is_(None))
                .distinct()
            )
        )

    @staticmethod
    def revoke_grants_of_account(session: Session, account_id: str, reason: str) -> None:
        """Revoke every grant of the account, with its tokens, in the caller's transaction."""
        session.execute(
            update(Grant)
            .where(Grant.account_id == account_id, Grant.revoked_at.is_(None))
            .values(revoked_at=utcnow(), revoked_reason=reason)
        )

    def set_delegation(self, grant: Grant, delegation: dict[str, Any]) -> None:
        """A company login's delegation as it holds now (narrowed at a refresh)."""
        with self.db.transaction() as session:
            row = session.get(Grant, grant.id)
            assert row is not None
            row.delegation = delegation
        grant.delegation = delegation

    def active_grants_of(self, account_id: str, limit: int = 100) -> list[Grant]:
        """The account's grants that are neither revoked nor expired, newest first."""
        return list(
            self.db.session.scalars(
                select(Grant)
                .where(
                    Grant.account_id == account_id,
                    Grant.revoked_at.is_(None),
                    Grant.expires_at > utcnow(),
                )
                .order_by(Grant.created_at.desc())
                .limit(limit)
            )
        )

    def find_grant(self, grant_id: str) -> Grant | None:
        return self.db.session.get(Grant, grant_id)

    def revoke_grant(self, grant_id: str, reason: str) -> bool:
        """Revoke a grant and with it every token issued under it (the whole family), and
        the grants token exchange made from it (RFC 8693, ``idp.oauth.token_exchange``)."""
        with self.db.transaction() as session:
            result = session.execute(
                update(Grant)
                .where(
                    or_(Grant.id == grant_id, Grant.exchanged_from == grant_id),
                    Grant.revoked_at.is_(None),
                )
                .values(revoked_at=utcnow(), revoked_reason=reason)
            )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def revoke_grants_of_session(self, sid: str, reason: str) -> int:
        """The session ended: the refresh tokens issued in it stop working (Back-Channel
        Logout 1.0 section 2.7: the OP ends what was bound to the session)."""
        with self.db.transaction() as session:
            result = session.execute(
                update(Grant)
                .where(Grant.sid == sid, Grant.revoked_at.is_(None))
                .values(revoked_at=utcnow(), revoked_reason=reason)
            )
        return int(result.rowcount)  # type: ignore[attr-defined]

    def revoke_grants_for(self, account_id: str, client_id: str, reason: str) -> int:
        with self.db.transaction() as session:
            result = session.execute(
                update(Grant)
                .where(
                    Grant.account_id == account_id,
                    Grant.client_id == client_id,
                    Grant.revoked_at.is_(None),
                )
                .values(revoked_at=utcnow(), revoked_reason=reason)
            )
        return int(result.rowcount)  # type: ignore[attr-defined]

    # -- tokens ------------------------------------------------------------------------------
    def generate(
        self,
        grant_type: str,
        client: Client,
        user: Account | None = None,
        scope: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        """Authlib's token generator signature (``register_token_generator``)."""
        token: dict[str, Any] = {
            "token_type": "Bearer",
            "access_token": new_token(),
            "expires_in": expires_in or self.access_ttl,
            "scope": scope or "",
        }
        if include_refresh_token:
            token["refresh_token"] = new_token()
        return token

    def save(
        self,
        token: dict[str, Any],
        grant: Grant,
        replaces: Token | None = None,
        jkt: str | None = None,
    ) -> bool:
        """Store a new token under ``grant``. When it replaces a refresh token, claim the old one
        in the same transaction; returns False if another request already used it (reuse).
        ``jkt``: the DPoP key the token is bound to (RFC 9449 6, ``idp.oauth.dpop``)."""
        now = utcnow()
        refresh_expires = None
        if token.get("refresh_token"):
            refresh_expires = min(now + timedelta(seconds=self.refresh_idle_ttl), grant.expires_at)
        with self.db.transaction() as session:
            if replaces is not None:
                claimed = session.execute(
                    update(Token)
                    .where(Token.id == replaces.id, Token.rotated_at.is_(None))
                    .values(rotated_at=now)
                )
                if not claimed.rowcount:  # type: ignore[attr-defined]
                    session.rollback()
                    return False
            session.add(
                Token(
                    grant_id=grant.id,
                    access_token_hash=token_hash(token["access_token"]),
                    refresh_token_hash=(
                        token_hash(token["refresh_token"]) if token.get("refresh_token") else None
                    ),
                    scope=token["scope"],
                    issued_at=now,
                    # Never beyond the grant's absolute lifetime.
                    access_expires_at=min(
                        now + timedelta(seconds=int(token["expires_in"])), grant.expires_at
                    ),
                    refresh_expires_at=refresh_expires,
                    cnf_jkt=jkt,
                )
            )
        return True

    def find(self, value: str, hint: str | None = None) -> IssuedToken | None:
        """Find an access or refresh token by its value: one indexed query per kind tried."""
        if not value or len(value) > 512:
            return None
        digest = token_hash(value)
        kinds = (
            ["refresh_token", "access_token"]
            if hint == "refresh_token"
            else [
                "access_token",
                "refresh_token",
            ]
        )
        for kind in kinds:
            row = self.db.session.scalar(_BY_HASH[kind], {"digest": digest})
            if row is not None:
                return IssuedToken(row, kind)
        return None

    def set_authorization_details(self, access_token: str, details: list[dict[str, Any]]) -> None:
        """RFC 9396 6: the subset of the grant's details this access token carries."""
        with self.db.transaction() as session:
            session.execute(
                update(Token)
                .where(Token.access_token_hash == token_hash(access_token))
                .values(authorization_details=details)
            )

    def revoke_access_token(self, row: Token) -> None:
        with self.db.transaction() as session:
            session.execute(update(Token).where(Token.id == row.id).values(revoked_at=utcnow()))
