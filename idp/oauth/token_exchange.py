"""Token exchange (RFC 8693) between paired portals: a portal's back end calls another
government service on the person's behalf.

``grant_type=urn:ietf:params:oauth:grant-type:token-exchange`` at ``/token``, for a confidential
portal A (it authenticates as at every grant) that the operator paired with the target portal B
(``idp.oauth.portal_pairs``; ``idp clients pair A B``):

- ``subject_token``: an access token we issued to A from a person's login (or one A itself
  received by an exchange), ``subject_token_type``
  ``urn:ietf:params:oauth:token-type:access_token``; ``actor_token`` is not supported;
- ``audience`` (B's ``client_id``) and/or ``resource`` (an absolute URI on a host of B's
  redirect URIs) name B; both given must name the same portal;
- ``scope``: a subset of the subject token's scope that B is registered for (none asked: all
  of those); ``offline_access`` never (no refresh token, RFC 8693 2.2.1);
- ``requested_token_type``, if given, must be the access token type.

The issued token is an access token of a new grant for B (so that B introspects it and sees
its own, possibly pairwise, ``sub``), with ``act: {"sub": A}`` (RFC 8693 4.1; nested when the
subject token carried an ``act`` already), ``aud`` B, the login's ``sid``, ``acr``, ``amr`` and
company delegation, the subject's granted authorization details of matters B serves, and a
lifetime of ``IDP_TOKEN_EXCHANGE_TTL`` (never beyond the subject token). Revoking the login's
grant revokes what was exchanged from it. Every exchange is audited (``token_exchange``) in the
transaction that issues the token, and recorded in the disclosure log as a release to B
(channel ``token_exchange``, the claim names B may read with the token).

Errors (RFC 8693 2.2.2, RFC 6749 5.2): ``invalid_request`` (a missing or unsupported
parameter), ``unauthorized_client`` (A is paired with no portal), ``invalid_target`` (the
audience or resource names no portal A is paired with), ``invalid_grant`` (the subject token
is unknown, inactive or not A's), ``invalid_scope``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import OAuth2Error
from sqlalchemy import or_, select

from idp.identity import delegation
from idp.identity.audit import event as audit_event
from idp.identity.disclosures import DisclosureLog
from idp.models import Client, Grant, Token
from idp.models.base import Database, utcnow
from idp.oauth import claims as claims_module
from idp.oauth.errors import (
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
    UnauthorizedClientError,
    printable,
)
from idp.oauth.portal_pairs import PortalPairs
from idp.oauth.portal_tokens import CONFIDENTIAL_AUTH_METHODS
from idp.oauth.portals import Portals
from idp.oauth.tokens import IssuedToken, TokenService, new_token, token_hash
from idp.observability import metrics

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
# Never carried over: an exchanged token is an access token only.
NOT_EXCHANGED = frozenset({"offline_access"})


class InvalidTargetError(OAuth2Error):
    """RFC 8707 2 / RFC 8693 2.2.2: the target named is unknown or not acceptable."""

    error = "invalid_target"


@dataclass
class Exchange:
    """A validated exchange request."""

    client: Client
    target: Client
    subject: IssuedToken
    scope: str


class TokenExchange:
    def __init__(
        self,
        *,
        db: Database,
        tokens: TokenService,
        portals: Portals,
        pairs: PortalPairs,
        disclosures: DisclosureLog,
        ttl: int,
    ) -> None:
        self._db = db
        self._tokens = tokens
        self._portals = portals
        self._pairs = pairs
        self._disclosures = disclosures
        self.ttl = ttl

    # -- validation ------------------------------------------------------------------------
    def validate(self, client: Client, data: dict[str, Any]) -> Exchange:
        paired = self._pairs.targets_of(client.client_id)
        if client.public or not paired:
            raise UnauthorizedClientError(
                "This portal is not paired with another portal for token exchange."
            )
        subject_token = _text(data, "subject_token")
        if not subject_token:
            raise InvalidRequestError("Missing 'subject_token'.")
        if _text(data, "subject_token_type") != ACCESS_TOKEN_TYPE:
            raise InvalidRequestError(f"'subject_token_type' must be {ACCESS_TOKEN_TYPE}.")
        if data.get("actor_token") or data.get("actor_token_type"):
            raise InvalidRequestError("'actor_token' is not supported.")
        requested = _text(data, "requested_token_type")
        if requested and requested != ACCESS_TOKEN_TYPE:
            raise InvalidRequestError(f"Only {ACCESS_TOKEN_TYPE} can be requested.")
        target = self._target(_text(data, "audience"), _text(data, "resource"), paired)
        subject = self._tokens.find(subject_token, "access_token")
        if (
            subject is None
            or subject.kind != "access_token"
            or not subject.active
            or subject.grant.client_id != client.client_id
        ):
            raise InvalidGrantError(
                "The subject token is invalid, expired, or was not issued to this portal."
            )
        scope = _narrowed_scope(_text(data, "scope"), subject.row.scope, target)
        return Exchange(client, target, subject, scope)

    def _target(self, audience: str | None, resource: str | None, paired: list[str]) -> Client:
        if not audience and not resource:
            raise InvalidRequestError("Name the target portal with 'audience' or 'resource'.")
        candidates = [
            client
            for client_id in paired
            if (client := self._portals.find(client_id)) is not None and client.active
        ]
        chosen: Client | None = None
        if audience:
            chosen = next((c for c in candidates if c.client_id == audience), None)
            if chosen is None:
                raise InvalidTargetError(
                    f"The audience {printable(audience)} is not a portal paired with this one."
                )
        if resource:
            by_resource = [c for c in candidates if _serves_resource(c, resource)]
            if len(by_resource) != 1 or (chosen is not None and by_resource[0] is not chosen):
                raise InvalidTargetError(
                    "The resource names no portal paired with this one (or another one than "
                    "the audience)."
                )
            chosen = by_resource[0]
        assert chosen is not None
        return chosen

    # -- issuing ---------------------------------------------------------------------------
    def issue(self, exchange: Exchange) -> dict[str, Any]:
        subject = exchange.subject.grant
        caller, target = exchange.client, exchange.target
        now = utcnow()
        expires_at = min(now + timedelta(seconds=self.ttl), exchange.subject.expires_at)
        scopes = exchange.scope.split()
        readable = claims_module.claim_names_for(scopes, None)
        if subject.released_claims is not None:
            readable = [name for name in readable if name in subject.released_claims]
        act: dict[str, Any] = {"sub": caller.client_id}
        if subject.act:
            act["act"] = subject.act
        details = [
            detail
            for detail in subject.authorization_details or []
            if delegation.matters_cover(target.matters or [], [detail["matter_class"]])
        ]
        value = new_token()
        with self._db.transaction() as session:
            grant = Grant(
                account_id=subject.account_id,
                client_id=target.client_id,
                scope=exchange.scope,
                claims=None,
                released_claims=readable,
                sid=subject.sid,
                auth_time=subject.auth_time,
                acr=subject.acr,
                amr=list(subject.amr or []),
                security_stamp=subject.security_stamp,
                expires_at=expires_at,
                entity_id=subject.entity_id,
                delegation_source=subject.delegation_source,
                delegation=subject.delegation,
                authorization_details=details or None,
                act=act,
                exchanged_from=subject.exchanged_from or subject.id,
            )
            session.add(grant)
            session.flush()
            session.add(
                Token(
                    grant_id=grant.id,
                    access_token_hash=token_hash(value),
                    scope=exchange.scope,
                    issued_at=now,
                    access_expires_at=expires_at,
                )
            )
            session.add(
                audit_event(
                    "token_exchange",
                    actor=caller.client_id,
                    account_id=subject.account_id,
                    client_id=caller.client_id,
                    entity_id=subject.entity_id,
                    details={
                        "target_client_id": target.client_id,
                        "scope": exchange.scope,
                        "grant_id": grant.id,
                        "subject_grant_id": subject.id,
                    },
                )
            )
        # A release to B of what the token lets it read (PIPL art. 23: the log the person sees).
        self._disclosures.record(
            subject.account_id, target.client_id, "token_exchange", ["sub", *readable]
        )
        answer: dict[str, Any] = {
            "access_token": value,
            "issued_token_type": ACCESS_TOKEN_TYPE,
            "token_type": "Bearer",
            "expires_in": max(1, int((expires_at - now).total_seconds())),
            "scope": exchange.scope,
        }
        if details:
            answer["authorization_details"] = details
        metrics.count_token(TOKEN_EXCHANGE, caller.client_id)
        return answer

    def export(self, account_id: str) -> dict[str, Any]:
        """PIPL art. 45: the person's own copy of what was exchanged for them (to which
        portal, by which, with what scope) and of the authorization details of their grants."""
        grants = self._db.session.scalars(
            select(Grant)
            .where(
                Grant.account_id == account_id,
                or_(Grant.act.is_not(None), Grant.authorization_details.is_not(None)),
            )
            .order_by(Grant.created_at)
        )
        exchanges, details = [], []
        for grant in grants:
            if grant.act is not None:
                exchanges.append(
                    {
                        "created_at": grant.created_at.isoformat(),
                        "portal": grant.client_id,
                        "act": grant.act,
                        "scope": grant.scope,
                        "expires_at": grant.expires_at.isoformat(),
                    }
                )
            if grant.authorization_details:
                details.append(
                    {
                        "created_at": grant.created_at.isoformat(),
                        "portal": grant.client_id,
                        "authorization_details": grant.authorization_details,
                    }
                )
        return {"token_exchanges": exchanges, "authorization_details": details}


def _text(data: dict[str, Any], name: str) -> str | None:
    value = data.get(name)
    return value if isinstance(value, str) and value else None


def _serves_resource(client: Client, resource: str) -> bool:
    """``resource`` (RFC 8707 2: an absolute URI without a fragment) is on the origin of one of
    the portal's redirect URIs."""
    try:
        wanted = urlsplit(resource)
    except ValueError:
        return False
    if not wanted.scheme or not wanted.netloc or wanted.fragment:
        return False
    for uri in client.redirect_uris or []:
        parts = urlsplit(uri)
        if (parts.scheme, parts.netloc.lower()) == (wanted.scheme, wanted.netloc.lower()):
            return True
    return False


def _narrowed_scope(asked: str | None, subject_scope: str, target: Client) -> str:
    """RFC 8693 2.1: the scope asked for, each in the subject token's scope and one the target
    portal is registered for; none asked: every such one."""
    held = [s for s in subject_scope.split() if s not in NOT_EXCHANGED]
    allowed = set(target.scopes or []) | {"openid"}
    if asked:
        wanted = list(dict.fromkeys(asked.split()))
        refused = [s for s in wanted if s not in held or s not in allowed]
        if refused:
            shown = " ".join(printable(s) for s in refused)
            raise InvalidScopeError(f"Scope beyond the subject token or the target: {shown}.")
        return " ".join(wanted)
    scope = [s for s in held if s in allowed]
    if not scope:
        raise InvalidScopeError("The subject token holds no scope the target portal may have.")
    return " ".join(scope)


class TokenExchangeGrant(grants.BaseGrant, grants.TokenEndpointMixin):
    """The grant as Authlib runs it; ``exchange`` is set on a subclass when the server is
    built (``idp.oauth.endpoints``), as for the other grants."""

    GRANT_TYPE = TOKEN_EXCHANGE
    TOKEN_ENDPOINT_AUTH_METHODS = CONFIDENTIAL_AUTH_METHODS
    exchange: TokenExchange

    def validate_token_request(self) -> None:
        client = self.authenticate_token_endpoint_client()
        self.request.client = client
        self.request.exchange = self.exchange.validate(client, self.request.payload.data)  # type: ignore[attr-defined]

    def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        body = self.exchange.issue(self.request.exchange)  # type: ignore[attr-defined]
        return 200, body, list(self.TOKEN_RESPONSE_HEADER)
