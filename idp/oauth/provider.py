"""The provider: wires storage, keys and Authlib together and runs the authorization flow.

An authorization request is validated (``idp.oauth.authorize``), then either answered at once
(a live session and a remembered consent) or *parked* as an interaction in Redis under a random
id. The person walks the interaction's steps (login, consent) at ``/interaction/<id>``; each step
calls :meth:`Provider.resume`, which decides the next step or issues the code and ends the
interaction. Parking keeps the protocol code apart from the pages (node-oidc-provider's model).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

import redis
from sqlalchemy import select, update

from idp.config import Config
from idp.identity import agreements, disclosures, levels
from idp.identity.entities import Entities, Option
from idp.identity.passwords import Passwords
from idp.identity.people import Checked, People
from idp.identity.personal_data import PersonalData
from idp.identity.sms import SmsCodes
from idp.identity.verifiers import Result, build_verifier
from idp.models import (
    Account,
    AgreementAcceptance,
    AgreementKind,
    AuditEvent,
    Client,
    Consent,
    DisclosureRecord,
    Grant,
)
from idp.models.base import Database, utcnow
from idp.oauth import authorize, logout, responses
from idp.oauth import claims as claims_module
from idp.oauth import consent as consent_policy
from idp.oauth.authorize import AuthorizationRequest, Progress
from idp.oauth.backchannel import BackchannelDispatcher
from idp.oauth.client_auth import PrivateKeyJWT
from idp.oauth.discovery import metadata
from idp.oauth.errors import (
    AccessDeniedError,
    OAuth2Error,
    UnmetAuthenticationRequirementsError,
)
from idp.oauth.grants import (
    AuthorizationCodeGrant,
    OpenIDTokenExtension,
    RefreshTokenGrant,
    S256CodeChallenge,
)
from idp.oauth.id_token import IdTokenFactory
from idp.oauth.introspection import IntrospectionEndpoint
from idp.oauth.keys import KeyRing
from idp.oauth.logout import EndSessionRequest
from idp.oauth.requests import ProtocolRequest, ProtocolResponse
from idp.oauth.responses import AuthorizationResponse
from idp.oauth.revocation import RevocationEndpoint
from idp.oauth.server import AuthorizationServer
from idp.oauth.subjects import Subjects
from idp.oauth.tokens import TokenService
from idp.oauth.userinfo import userinfo
from idp.store import ShortLivedStore
from idp.store.connection import is_embedded
from idp.store.ratelimit import HourlyLimit, LoginThrottle
from idp.store.sessions import LoginSession, SessionStore

log = logging.getLogger(__name__)

UI_LOCALES = ["zh-CN", "en"]


@dataclass
class Interaction:
    """A parked authorization request and where the person is in it."""

    id: str
    request: AuthorizationRequest
    step: str
    progress: Progress
    client_name: str
    # The browser that started it; other browsers cannot continue it.
    binding: str


def login_acr(request: AuthorizationRequest, account: Account) -> str:
    """The ``acr`` of a login: the level the account reached. When the portal demanded an
    essential ``acr`` with values, the highest of those values the level meets (OIDC Core
    5.5.1.1: the value returned must be one of those requested)."""
    demanded = claims_module.essential_acr_values(request.claims) or []
    met = [
        (levels.rank(level), value)
        for value in demanded
        if (level := levels.from_acr(value)) and levels.at_least(account.verification_level, level)
    ]
    return max(met)[1] if met else account.acr


class Provider:
    def __init__(self, config: Config, db: Database, redis_client: redis.Redis) -> None:
        self.config = config
        self.issuer = config.ISSUER
        self.db = db
        self.redis = redis_client
        self.keys = KeyRing(
            config.keys_path,
            retired_grace=config.key_retired_grace,
            reload_interval=config.KEYS_RELOAD_INTERVAL,
        )
        self.passwords = Passwords(
            time_cost=config.ARGON2_TIME_COST,
            memory_kib=config.ARGON2_MEMORY_KIB,
            parallelism=config.ARGON2_PARALLELISM,
        )
        self.tokens = TokenService(
            db,
            access_ttl=config.ACCESS_TOKEN_TTL,
            refresh_idle_ttl=config.REFRESH_TOKEN_IDLE_TTL,
            absolute_ttl=config.REFRESH_TOKEN_ABSOLUTE_TTL,
        )
        self.personal_data = PersonalData.from_settings(
            config.DATA_KEY, config.DATA_INDEX_KEY, config.keys_path
        )
        self.people = People(db, self.personal_data, self.passwords, build_verifier(config))
        self.subjects = Subjects(self.personal_data)
        self.claims = claims_module.ClaimReleaser(
            self.people, config.TRUST_FRAMEWORK, self.subjects
        )
        self.entities = Entities(
            db,
            self.people,
            self.people.verifier,
            max_administrators=config.ENTITY_MAX_ADMINISTRATORS,
            grant_days=config.HANDLER_GRANT_DAYS,
        )
        self.sms = SmsCodes.from_config(config, redis_client)
        self.verification_failures = HourlyLimit(
            redis_client, "verify", config.VERIFY_ATTEMPTS_PER_HOUR
        )
        self.id_tokens = IdTokenFactory(self.keys, self.issuer, config.ID_TOKEN_TTL, self.claims)
        self.codes = ShortLivedStore(redis_client, "code", hash_ids=True)
        self.interactions = ShortLivedStore(redis_client, "interaction")
        self.sessions = SessionStore(
            redis_client, config.SESSION_IDLE_TTL, config.SESSION_ABSOLUTE_TTL
        )
        self.throttle = LoginThrottle(
            redis_client,
            free=config.LOGIN_FREE_FAILURES,
            max_wait=config.LOGIN_MAX_WAIT,
            lock=config.LOGIN_LOCK_FAILURES,
            per_address_hour=config.LOGIN_ADDRESS_FAILURES_PER_HOUR,
            secret=config.SECRET_KEY.encode(),
        )
        self.metadata = metadata(self.issuer, UI_LOCALES, config.TRUST_FRAMEWORK)
        self.sensitive_claims = claims_module.BUILTIN_SENSITIVE_CLAIMS | config.sensitive_claims
        self.server = self._build_server()
        self.backchannel = BackchannelDispatcher(
            db,
            self.keys,
            issuer=self.issuer,
            timeout=config.BACKCHANNEL_TIMEOUT,
            give_up_after=config.BACKCHANNEL_GIVE_UP,
            poll_interval=config.BACKCHANNEL_POLL_INTERVAL,
        )

    def _build_server(self) -> AuthorizationServer:
        server = AuthorizationServer(self)
        server.register_token_generator("default", self.tokens.generate)
        server.register_client_auth_method(
            PrivateKeyJWT.CLIENT_AUTH_METHOD,
            PrivateKeyJWT(
                issuer=self.issuer,
                token_endpoint=self.metadata["token_endpoint"],
                redis_client=self.redis,
                public_only=not self.config.development,
            ),
        )
        openid = OpenIDTokenExtension(self)
        code_grant = type("CodeGrant", (AuthorizationCodeGrant,), {"provider": self})
        refresh_grant = type("RefreshGrant", (RefreshTokenGrant,), {"provider": self})
        server.register_grant(code_grant, [S256CodeChallenge(required=True), openid])
        server.register_grant(refresh_grant, [openid])
        server.register_endpoint(
            type("Introspection", (IntrospectionEndpoint,), {"provider": self})(server)
        )
        server.register_endpoint(
            type("Revocation", (RevocationEndpoint,), {"provider": self})(server)
        )
        return server

    def close(self) -> None:
        """Stop the background dispatcher and close the stores (tests, embedded use)."""
        self.backchannel.stop()
        self.db.dispose()
        if not is_embedded(self.redis):
            self.redis.close()

    # -- lookups -----------------------------------------------------------------------------
    def find_client(self, client_id: str | None) -> Client | None:
        if not client_id or len(client_id) > 64:
            return None
        client = self.db.session.get(Client, client_id)
        return client if client is not None and client.active else None

    def find_account(self, account_id: str) -> Account | None:
        return self.db.session.get(Account, account_id)

    def current_session(self, session_id: str | None) -> tuple[LoginSession | None, Account | None]:
        """The live SSO session and its account, or (None, None) if either no longer holds."""
        session = self.sessions.get(session_id)
        if session is None:
            return None, None
        account = self.find_account(session.account_id)
        if (
            account is None
            or not account.active
            or account.security_stamp != session.security_stamp
        ):
            assert session_id is not None
            self.sessions.destroy(session_id)
            return None, None
        return session, account

    def find_consent(self, account_id: str, client_id: str) -> Consent | None:
        return self.db.session.scalar(
            select(Consent).where(Consent.account_id == account_id, Consent.client_id == client_id)
        )

    def claim_request(self, request: AuthorizationRequest) -> consent_policy.ClaimRequest:
        return consent_policy.ClaimRequest.split(
            request.scopes,
            claims_module.requested_claims(request.scopes, request.claims),
            self.sensitive_claims,
        )

    # -- authorization endpoint --------------------------------------------------------------
    def validate_authorization(self, params: dict[str, list[str]]) -> AuthorizationRequest:
        """Raises UntrustedRedirectError (show a page) or RedirectableError (tell the portal)."""
        ctx = authorize.CheckContext(
            params=params,
            find_client=self.find_client,
            verify_own_jwt=lambda token: self.keys.verify(token)[1],
            issuer=self.issuer,
            scopes_supported=tuple(self.metadata["scopes_supported"]),
        )
        return authorize.validate(ctx)

    def error_response(
        self, request_data: dict[str, Any], error: OAuth2Error
    ) -> AuthorizationResponse:
        return responses.error(
            request_data["redirect_uri"],
            request_data.get("response_mode", "query"),
            error,
            request_data.get("state"),
            self.issuer,
        )

    def authorize(
        self,
        request: AuthorizationRequest,
        session_id: str | None,
        binding: str,
        progress: Progress | None = None,
    ) -> AuthorizationResponse | Interaction:
        """Answer at once, or park the request as an interaction for the person to complete."""
        progress = progress or Progress()
        session, account = self.current_session(session_id)
        client = self.find_client(request.client_id)
        if client is None:
            return self.error_response(
                request.to_dict(), AccessDeniedError("The portal is no longer registered.")
            )
        claim_request = self.claim_request(request)
        consent = self.find_consent(account.id, client.client_id) if account else None
        if session is not None:
            # The portal knows the person by its own (possibly pairwise) ``sub``: compare the
            # id_token_hint with that.
            session = replace(session, subject=self.subjects.for_client(client, session.subject))
        try:
            step = authorize.next_step(
                request,
                session,
                account,
                progress,
                agreement=self._agreement_mode(account),
                consent_needed=consent_policy.needs_page(
                    claim_request,
                    consent,
                    trusted=client.trusted,
                    forced="consent" in request.prompt,
                ),
                required=authorize.required_level(request, client),
                reachable=self.people.reachable(account) if account else None,
            )
        except OAuth2Error as error:
            return self.error_response(request.to_dict(), error)
        if step == "issue":
            assert session is not None and account is not None and session_id is not None
            released = consent_policy.released_claims(claim_request, consent)
            acting: Option | None = None
            if progress.acting_as not in (None, "self"):
                acting = next(
                    (
                        option
                        for option in self.acting_options(request, account)
                        if option.entity.id == progress.acting_as and option.delegation
                    ),
                    None,
                )
                if acting is None:
                    return self.error_response(
                        request.to_dict(),
                        AccessDeniedError("The person may no longer act for this company."),
                    )
            return self._issue_code(request, session_id, session, account, client, released, acting)
        interaction = Interaction(
            id=secrets.token_urlsafe(24),
            request=request,
            step=step,
            progress=progress,
            client_name=client.name,
            binding=binding,
        )
        self._save_interaction(interaction)
        return interaction

    def _save_interaction(self, interaction: Interaction) -> None:
        self.interactions.put(
            interaction.id,
            {
                "request": interaction.request.to_dict(),
                "step": interaction.step,
                "progress": interaction.progress.__dict__,
                "client_name": interaction.client_name,
                "binding": interaction.binding,
            },
            ttl=self.config.INTERACTION_TTL,
        )

    def load_interaction(self, interaction_id: str, binding: str | None) -> Interaction | None:
        if not interaction_id or len(interaction_id) > 64:
            return None
        data = self.interactions.get(interaction_id)
        if data is None or not binding or not secrets.compare_digest(data["binding"], binding):
            return None
        return Interaction(
            id=interaction_id,
            request=AuthorizationRequest.from_dict(data["request"]),
            step=data["step"],
            progress=Progress(**data["progress"]),
            client_name=data["client_name"],
            binding=data["binding"],
        )

    def resume(
        self, interaction: Interaction, session_id: str | None
    ) -> AuthorizationResponse | Interaction | None:
        """Continue after a step: the next step, or the final response to the portal.

        The interaction is consumed atomically, so a replayed form cannot complete it twice;
        None means it was already used or has expired.
        """
        if not self.take_step(interaction):
            return None
        return self.proceed(interaction, session_id)

    def take_step(self, interaction: Interaction) -> bool:
        """Take the interaction's current step for this request alone (atomic, single use):
        a step that stores evidence takes it first, so a form replayed concurrently is
        refused instead of recorded twice."""
        return self.interactions.consume(interaction.id)[0] is not None

    def proceed(
        self, interaction: Interaction, session_id: str | None
    ) -> AuthorizationResponse | Interaction:
        """The next step (or the portal's response) after a step taken with take_step."""
        return self.authorize(
            interaction.request, session_id, interaction.binding, interaction.progress
        )

    def abort(self, interaction: Interaction) -> AuthorizationResponse | None:
        """The person gave up or refused: ``access_denied`` to the portal."""
        if not self.take_step(interaction):
            return None
        return self.error_response(
            interaction.request.to_dict(),
            AccessDeniedError("The person declined or cancelled the login."),
        )

    def record_consent(
        self,
        account: Account,
        client_id: str,
        request: consent_policy.ClaimRequest,
        ticked_sensitive: list[str],
    ) -> None:
        """Remember what was asked and decided. Sensitive claims are decided anew each time
        they are asked about: a tick grants, no tick refuses (PIPL article 29)."""
        ticked = {c for c in ticked_sensitive if c in request.sensitive}
        with self.db.transaction() as session:
            consent = session.scalar(
                select(Consent).where(
                    Consent.account_id == account.id, Consent.client_id == client_id
                )
            )
            if consent is None:
                consent = Consent(
                    account_id=account.id,
                    client_id=client_id,
                    scopes=[],
                    claims_asked=[],
                    sensitive_claims=[],
                )
                session.add(consent)
            consent.scopes = sorted(set(consent.scopes) | set(request.scopes))
            consent.claims_asked = sorted(set(consent.claims_asked) | set(request.all_claims))
            kept = set(consent.sensitive_claims) - set(request.sensitive)
            consent.sensitive_claims = sorted(kept | ticked)

    def withdraw_consent(self, account: Account, client_id: str) -> bool:
        """Forget the consent and revoke every grant of this portal for this account, so its
        refresh and access tokens stop working at once."""
        with self.db.transaction() as session:
            consent = session.scalar(
                select(Consent).where(
                    Consent.account_id == account.id, Consent.client_id == client_id
                )
            )
            if consent is None:
                return False
            session.delete(consent)
        self.tokens.revoke_grants_for(account.id, client_id, "consent_withdrawn")
        self.audit(
            "consent_withdrawn", actor=account.id, account_id=account.id, client_id=client_id
        )
        return True

    # -- the user space (what a person sees about their own account) -------------------------
    def consents_of(self, account_id: str) -> list[Consent]:
        """The portals this account consented to, most recently decided first."""
        return list(
            self.db.session.scalars(
                select(Consent)
                .where(Consent.account_id == account_id)
                .order_by(Consent.updated_at.desc())
            )
        )

    def client_names(self, client_ids: Iterable[str | None]) -> dict[str, str]:
        """Display names of portals, suspended ones included; a deleted portal has none."""
        wanted = {c for c in client_ids if c}
        if not wanted:
            return {}
        rows = self.db.session.execute(
            select(Client.client_id, Client.name).where(Client.client_id.in_(wanted))
        )
        return {client_id: name for client_id, name in rows}

    def agreement_history(self, account_id: str) -> list[tuple[AgreementAcceptance, str]]:
        """The account's acceptances (newest first), each with its agreement's title."""
        titles = {
            kind: title
            for kind, title in self.db.session.execute(
                select(AgreementKind.kind, AgreementKind.title)
            )
        }
        return [
            (row, titles.get(row.kind, row.kind))
            for row in agreements.history(self.db.session(), account_id)
        ]

    def disclosures_of(self, account_id: str) -> list[DisclosureRecord]:
        return disclosures.for_account(self.db.session(), account_id)

    # -- agreements --------------------------------------------------------------------------
    def _agreement_mode(self, account: Account | None) -> str | None:
        requirement = self.pending_agreement(account) if account is not None else None
        return requirement.mode if requirement is not None else None

    def pending_agreement(self, account: Account) -> agreements.Requirement | None:
        return agreements.pending(self.db.session(), account.id, account.user_type)

    def record_agreement(
        self,
        account: Account,
        version_id: str,
        *,
        client_id: str | None,
        ip_address: str | None,
        user_agent: str | None,
    ) -> bool:
        """Store the evidence, if ``version_id`` is still what the account must see now."""
        requirement = self.pending_agreement(account)
        if requirement is None or requirement.version.id != version_id:
            return False
        with self.db.transaction() as session:
            agreements.record(
                session,
                account_id=account.id,
                version=requirement.version,
                action="accepted" if requirement.mode == "accept" else "notified",
                ip_address=ip_address,
                user_agent=user_agent,
                client_id=client_id,
            )
        return True

    def accept_agreements(
        self,
        account: Account,
        *,
        client_id: str | None,
        ip_address: str | None,
        user_agent: str | None,
    ) -> list[str]:
        """Record acceptance of every agreement the account must accept or be told about: at
        registration, where the form's ``accept_agreement`` tick covers the texts it showed.
        Returns the kinds recorded."""
        with self.db.transaction() as session:
            return agreements.accept_pending(
                session,
                account.id,
                account.user_type,
                ip_address=ip_address,
                user_agent=user_agent,
                client_id=client_id,
            )

    def agreement_links(self, user_type: str) -> list[tuple[str, str]]:
        """Titles of the agreements that apply to ``user_type``, with where to read them."""
        return [
            (kind.title, f"/terms#{kind.kind}")
            for kind in agreements.kinds_for(self.db.session(), user_type)
        ]

    # -- real-name verification --------------------------------------------------------------
    def verify_identity(
        self,
        account: Account,
        method: str,
        extra: dict[str, str],
        *,
        ip_address: str | None,
    ) -> Checked:
        """Check the account's identity elements with ``method``'s authority (the registry
        first, when a second authority is asked for before the registry ever matched)."""
        if method != levels.REGISTRY_CHECK and not levels.at_least(
            account.verification_level, "L2"
        ):
            first = self.people.verify(account, levels.REGISTRY_CHECK, {})
            self._audit_check(account, first, ip_address)
            if first.result != Result.MATCH:
                return first
        checked = self.people.verify(account, method, extra)
        self._audit_check(account, checked, ip_address)
        return checked

    def _audit_check(self, account: Account, checked: Checked, ip_address: str | None) -> None:
        self.audit(
            "identity_verified" if checked.result == Result.MATCH else "identity_check_failed",
            actor=account.id,
            account_id=account.id,
            ip_address=ip_address,
            details={
                "check": checked.verdict.check if checked.verdict else None,
                "result": checked.result.value,
                "level_before": checked.level_before,
                "level_after": checked.level_after,
            },
        )

    # -- acting for a company (legal-person issue) -------------------------------------------
    def required_matters(self, request: AuthorizationRequest, client: Client) -> list[str]:
        """What a company login is for: the classes the request names, else those the portal
        serves."""
        return list(request.matters or client.matters or [])

    def acting_options(self, request: AuthorizationRequest, account: Account) -> list[Option]:
        client = self.find_client(request.client_id)
        if client is None:
            return []
        entity_ids = {role.entity_id for role in self.entities.roles_of(account.id)}
        entity_ids |= {grant.entity_id for grant in self.entities.grants_of(account.id)}
        session = self.db.session()
        pending = {
            entity_id
            for entity_id in entity_ids
            if (requirement := agreements.pending(session, entity_id, "legal_person"))
            and requirement.mode == "accept"
        }
        return self.entities.options(
            account,
            self.required_matters(request, client),
            client.region,
            pending_agreement=pending,
        )

    def recheck_delegation(self, grant: Grant) -> bool:
        """At every refresh of a company login (legal-person issue, item 6): the role or handler
        grant must still hold; a narrower one narrows the login, none revokes it."""
        current = self.entities.current(grant)
        if current is None:
            self.tokens.revoke_grant(grant.id, "delegation_ended")
            return False
        snapshot = {**(grant.delegation or {}), **current.claim()}
        if snapshot != grant.delegation:
            with self.db.transaction() as session:
                row = session.get(Grant, grant.id)
                assert row is not None
                row.delegation = snapshot
            grant.delegation = snapshot
        return True

    def give_up_step_up(self, interaction: Interaction) -> AuthorizationResponse | None:
        """The person cannot reach the level the portal requires (OIDC Core 3.1.2.6)."""
        if not self.take_step(interaction):
            return None
        return self.error_response(
            interaction.request.to_dict(),
            UnmetAuthenticationRequirementsError(
                "The person could not verify their identity to the level the portal requires."
            ),
        )

    def required_level(self, request: AuthorizationRequest) -> str | None:
        client = self.find_client(request.client_id)
        if client is None:
            return None
        try:
            return authorize.required_level(request, client)
        except OAuth2Error:
            return None

    # -- disclosures -------------------------------------------------------------------------
    def record_disclosure(self, grant: Grant, channel: str, claims: list[str]) -> None:
        """Append to the tamper-evident disclosure log (claim names, never values)."""
        with self.db.transaction() as session:
            disclosures.append(
                session,
                account_id=grant.account_id,
                client_id=grant.client_id,
                channel=channel,
                claims=claims,
            )

    def _issue_code(
        self,
        request: AuthorizationRequest,
        session_id: str,
        session: LoginSession,
        account: Account,
        client: Client,
        released_claims: list[str],
        acting: Option | None = None,
    ) -> AuthorizationResponse:
        company: dict[str, Any] = {}
        if acting is not None and acting.delegation is not None:
            snapshot = {
                **acting.delegation.claim(),
                "requested_matters": self.required_matters(request, client),
                "region": client.region,
            }
            company = {
                "entity_id": acting.entity.id,
                "delegation_source": acting.delegation.source,
                "delegation": snapshot,
            }
        acr = login_acr(request, account)
        grant = self.tokens.create_grant(
            account=account,
            client=client,
            scope=request.scope,
            claims=request.claims,
            released_claims=released_claims,
            sid=session.sid,
            auth_time=session.auth_time,
            acr=acr,
            amr=session.amr,
            **company,
        )
        if company:
            self.audit(
                "company_login",
                actor=account.id,
                account_id=account.id,
                client_id=client.client_id,
                entity_id=company["entity_id"],
                details={"role": company["delegation"]["role"], "grant_id": grant.id},
            )
        code = secrets.token_urlsafe(32)  # 256 bits (RFC 6749 10.10 asks for at least 128)
        self.codes.put(
            code,
            {
                "grant_id": grant.id,
                "client_id": client.client_id,
                "redirect_uri": request.redirect_uri,
                "scope": request.scope,
                "nonce": request.nonce,
                "code_challenge": request.code_challenge,
                "code_challenge_method": request.code_challenge_method,
                "auth_time": session.auth_time,
                "acr": acr,
                "amr": session.amr,
            },
            ttl=self.config.AUTHORIZATION_CODE_TTL,
        )
        self.sessions.add_client(session_id, session, client.client_id)
        return responses.success(
            request.redirect_uri, request.response_mode, code, request.state, self.issuer
        )

    def consume_code(self, code: str) -> tuple[dict[str, Any] | None, str | None]:
        if not code or len(code) > 256:
            return None, None
        return self.codes.consume(
            code, remember_field="grant_id", remember_ttl=self.config.CODE_REUSE_MEMORY
        )

    # -- login -------------------------------------------------------------------------------
    def start_session(self, account: Account, amr: list[str]) -> tuple[str, LoginSession]:
        return self.sessions.create(
            account_id=account.id,
            subject=account.subject,
            amr=amr,
            acr=account.acr,
            security_stamp=account.security_stamp,
        )

    # -- logout, suspension, cancellation ----------------------------------------------------
    def validate_end_session(self, params: dict[str, list[str]]) -> EndSessionRequest:
        """RP-Initiated Logout 1.0; raises InvalidLogoutRequest."""
        return logout.validate_end_session(
            params,
            issuer=self.issuer,
            find_client=self.find_client,
            verify_own_jwt=lambda token: self.keys.verify(token)[1],
        )

    def end_session(
        self, session_id: str | None, reason: str = "logout", ip_address: str | None = None
    ) -> LoginSession | None:
        """End the provider session and, through the back channel, every portal session in it;
        the refresh tokens issued in the session stop working."""
        session = self.sessions.destroy(session_id) if session_id else None
        if session is None:
            return None
        self._session_ended([session], reason)
        self.audit(
            "logout",
            actor=session.account_id,
            account_id=session.account_id,
            ip_address=ip_address,
            details={"reason": reason, "portals": len(session.clients)},
        )
        return session

    def end_sessions_of(self, account_id: str, reason: str) -> int:
        """End every SSO session of an account as a logout does (an administrator's action);
        returns how many ended."""
        ended = self.sessions.destroy_all(account_id)
        self._session_ended(ended, reason)
        return len(ended)

    def _session_ended(self, ended: list[LoginSession], reason: str) -> None:
        """The refresh tokens issued in the sessions stop, and every portal of each session
        hears through the back channel, under the ``sub`` it knows."""
        for session in ended:
            self.tokens.revoke_grants_of_session(session.sid, reason)
        with self.db.transaction() as db_session:
            for session in ended:
                for client_id in session.clients:
                    client = db_session.get(Client, client_id)
                    if client is not None:
                        self.backchannel.enqueue(
                            db_session,
                            client,
                            subject=self.subjects.for_client(client, session.subject),
                            sid=session.sid,
                            reason=reason,
                        )
        self.backchannel.wake()

    def _end_everything(self, account: Account, reason: str) -> None:
        """End every session and grant of an account and tell every portal (clause 7, 8)."""
        ended = self.sessions.destroy_all(account.id)
        notified: set[str] = set()
        with self.db.transaction() as db_session:
            for session in ended:
                for client_id in session.clients:
                    client = db_session.get(Client, client_id)
                    if client is not None:
                        notified.add(client_id)
                        self.backchannel.enqueue(
                            db_session,
                            client,
                            subject=self.subjects.for_client(client, account.subject),
                            sid=session.sid,
                            reason=reason,
                        )
            # Portals holding tokens outside any live session (refresh tokens) hear by `sub`.
            holders = db_session.scalars(
                select(Grant.client_id)
                .where(Grant.account_id == account.id, Grant.revoked_at.is_(None))
                .distinct()
            ).all()
            for client_id in holders:
                client = db_session.get(Client, client_id)
                if client is not None and client_id not in notified:
                    self.backchannel.enqueue(
                        db_session,
                        client,
                        subject=self.subjects.for_client(client, account.subject),
                        sid=None,
                        reason=reason,
                    )
            db_session.execute(
                update(Grant)
                .where(Grant.account_id == account.id, Grant.revoked_at.is_(None))
                .values(revoked_at=utcnow(), revoked_reason=reason)
            )
        self.backchannel.wake()

    def suspend_account(self, account: Account, reason: str, actor: str) -> None:
        """Natural-person agreement clause 7: the authority stops serving a violating account."""
        with self.db.transaction() as session:
            row = session.get(Account, account.id)
            assert row is not None
            row.status = "suspended"
            row.security_stamp += 1
        self._end_everything(account, "suspension")
        self.audit(
            "account_suspended", actor=actor, account_id=account.id, details={"reason": reason}
        )

    def reinstate_account(self, account: Account, reason: str, actor: str) -> None:
        with self.db.transaction() as session:
            row = session.get(Account, account.id)
            assert row is not None
            row.status = "active"
        self.audit(
            "account_reinstated", actor=actor, account_id=account.id, details={"reason": reason}
        )

    def reset_password(self, account: Account, password: str, ip_address: str | None) -> None:
        """A new password after recovery by SMS code: every session and token of the account
        ends (whoever knew the old password is out) and the portals are told."""
        with self.db.transaction() as session:
            row = session.get(Account, account.id)
            assert row is not None
            row.password_hash = self.passwords.hash(password)
            row.password_changed_at = utcnow()
            row.security_stamp += 1
        self._end_everything(account, "password_reset")
        self.audit("password_reset", actor=account.id, account_id=account.id, ip_address=ip_address)

    def cancel_account(self, account: Account) -> None:
        """Natural-person agreement clause 8: the person cancels. Sessions and tokens end, the
        portals are told, and the account row with every personal datum is deleted. Audit,
        agreement evidence and disclosure records keep only the pseudonymous account id; the
        ID number, the phone number and the username are free to register again."""
        self._end_everything(account, "cancellation")
        with self.db.transaction() as session:
            row = session.get(Account, account.id)
            if row is not None:
                session.delete(row)
        self.audit("account_cancelled", actor=account.id, account_id=account.id)

    # -- back-channel endpoints --------------------------------------------------------------
    def token(self, request: ProtocolRequest) -> ProtocolResponse:
        return self.server.create_token_response(request)

    def introspect(self, request: ProtocolRequest) -> ProtocolResponse:
        return self.server.create_endpoint_response("introspection", request)

    def revoke(self, request: ProtocolRequest) -> ProtocolResponse:
        return self.server.create_endpoint_response("revocation", request)

    def userinfo(self, request: ProtocolRequest) -> ProtocolResponse:
        return userinfo(request, self.tokens, self.claims, self.record_disclosure)

    # -- audit -------------------------------------------------------------------------------
    def audit(
        self,
        action: str,
        *,
        actor: str | None = None,
        account_id: str | None = None,
        client_id: str | None = None,
        ip_address: str | None = None,
        details: dict[str, Any] | None = None,
        entity_id: str | None = None,
    ) -> None:
        with self.db.transaction() as session:
            session.add(
                AuditEvent(
                    action=action,
                    actor=actor,
                    account_id=account_id,
                    client_id=client_id,
                    ip_address=ip_address,
                    details=details or {},
                    entity_id=entity_id,
                )
            )
        log.info("audit %s account=%s client=%s", action, account_id, client_id)
