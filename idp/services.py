"""The composition root: every service of the provider, built once from the ``Config``.

``create_app`` builds one :class:`Services` for the web application and the ``idp`` command
builds one per command: nothing else constructs services. Each service is made on first use
(``cached_property``) and receives what it needs in its constructor, so a command touches only
what it uses (``idp db upgrade`` never starts Redis). The web application builds them all at
start-up (:meth:`Services.warm`), before any request thread can race to build one twice.

Who depends on whom (arrows point down; nobody reaches through a service to another's parts):

    flow, steps, endpoints, end_session, clients, retention         (idp.oauth: the protocol)
      sso, consents, company_logins, portals, codes, interactions, scan_login,
      tokens, id_tokens, claims, subjects, keys, backchannel, metadata
    accounts, sign_in, recovery, keeping_current, registration,     (idp.identity: the rules)
      agreements, people, entities, company_members,
      admins, sms, sms_outbox, sms_sender, audit, disclosures, disclosure_chainer,
      installation, resealing, verifier
    db, redis, sessions, throttle, console_sessions,                (idp.models, idp.store)
      verification_failures

``accounts`` needs ``sso.end_everything`` (ending sessions and telling portals is protocol
work): it receives it as a callable, so the identity layer imports nothing above it.
"""

from __future__ import annotations

import functools
import hashlib
import json
from functools import partial
from typing import Any

import redis

from idp.config import Config
from idp.identity.accounts import AccountLifecycle
from idp.identity.admins import Administrators
from idp.identity.agreements import Agreements
from idp.identity.audit import Audit
from idp.identity.disclosures import DisclosureChainer, DisclosureLog
from idp.identity.entities import Entities, MemberLookup
from idp.identity.installation import Installation
from idp.identity.keeping_current import KeepingCurrent
from idp.identity.login import SignIn
from idp.identity.passwords import Passwords
from idp.identity.people import People
from idp.identity.personal_data import PersonalData
from idp.identity.recovery import PasswordRecovery
from idp.identity.registration import Registration
from idp.identity.resealing import Resealing
from idp.identity.sms import SmsCodes, build_sender, one_time_codes
from idp.identity.sms_outbox import LEASE_MARGIN, SmsOutbox, SmsOutboxSender
from idp.identity.verification import IdentityChecks
from idp.identity.verifiers import Verifier, build_verifier
from idp.models import AgreementKind, AgreementVersion, Base, Client
from idp.models.base import Database
from idp.oauth import claims as claims_module
from idp.oauth.backchannel import BackchannelDispatcher
from idp.oauth.clients import ClientRegistry, RegistryPolicy
from idp.oauth.codes import AuthorizationCodes
from idp.oauth.company_logins import CompanyLogins
from idp.oauth.consents import Consents
from idp.oauth.discovery import metadata
from idp.oauth.end_session import EndSession
from idp.oauth.endpoints import TokenEndpoints
from idp.oauth.flow import AuthorizationFlow
from idp.oauth.id_token import IdTokenFactory
from idp.oauth.interaction import InteractionStore
from idp.oauth.keys import KeyRing
from idp.oauth.portals import Portals
from idp.oauth.registration import DynamicRegistration
from idp.oauth.retention import Retention
from idp.oauth.scan import ScanLogin
from idp.oauth.sso import SingleSignOn
from idp.oauth.steps import (
    AgreementStep,
    ChooseStep,
    ConsentStep,
    LoginStep,
    StepEngine,
    VerifyStep,
)
from idp.oauth.subjects import Subjects
from idp.oauth.tokens import TokenService
from idp.store import connect
from idp.store.connection import is_embedded
from idp.store.console import ConsoleSessions
from idp.store.ratelimit import HourlyLimit, LoginThrottle
from idp.store.scan import ScanTickets
from idp.store.sessions import SessionStore
from idp.store.versions import SharedVersions

UI_LOCALES = ["zh-CN", "en"]
# A console login must finish its second factor within this many seconds.
CONSOLE_PENDING_TTL = 300

cached = functools.cached_property

# Rows cached in every process, by the area of their shared version (idp.store.versions).
CACHED_AREAS: dict[str, tuple[type[Base], ...]] = {
    "clients": (Client,),
    "agreements": (AgreementKind, AgreementVersion),
}


class Services:
    """Every service, built from one ``Config``."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.issuer = config.ISSUER

    # -- persistence -------------------------------------------------------------------------
    @cached
    def db(self) -> Database:
        database = Database(self.config.DATABASE_URL)
        # Whatever code commits a change to cached rows (console, API, command, RFC 7592), every
        # process reloads them at its next read (idp.store.versions). Redis is reached only
        # when such a change is committed.
        for area, models in CACHED_AREAS.items():
            database.on_commit_of(models, partial(self._bump, area))
        return database

    def _bump(self, area: str) -> None:
        self.cache_versions.bump(area)

    @cached
    def cache_versions(self) -> SharedVersions:
        return SharedVersions(lambda: self.redis, tuple(CACHED_AREAS))

    @cached
    def redis(self) -> redis.Redis:
        return connect(self.config.REDIS_URL, self.config.REDIS_EMBEDDED_PATH)

    @cached
    def sessions(self) -> SessionStore:
        return SessionStore(
            self.redis, self.config.SESSION_IDLE_TTL, self.config.SESSION_ABSOLUTE_TTL
        )

    @cached
    def throttle(self) -> LoginThrottle:
        config = self.config
        return LoginThrottle(
            self.redis,
            free=config.LOGIN_FREE_FAILURES,
            max_wait=config.LOGIN_MAX_WAIT,
            lock=config.LOGIN_LOCK_FAILURES,
            per_address_hour=config.LOGIN_ADDRESS_FAILURES_PER_HOUR,
            secret=config.SECRET_KEY.encode(),
        )

    @cached
    def verification_failures(self) -> HourlyLimit:
        """Failed identity verifications per account and hour (people and company lookups)."""
        return HourlyLimit(self.redis, "verify", self.config.VERIFY_ATTEMPTS_PER_HOUR)

    @cached
    def console_sessions(self) -> ConsoleSessions:
        return ConsoleSessions(
            self.redis,
            idle_ttl=self.config.ADMIN_SESSION_IDLE_TTL,
            absolute_ttl=self.config.ADMIN_SESSION_ABSOLUTE_TTL,
            pending_ttl=CONSOLE_PENDING_TTL,
        )

    # -- keys and personal data --------------------------------------------------------------
    @cached
    def keys(self) -> KeyRing:
        config = self.config
        return KeyRing(
            config.keys_path,
            retired_grace=config.key_retired_grace,
            reload_interval=config.KEYS_RELOAD_INTERVAL,
        )

    @cached
    def personal_data(self) -> PersonalData:
        config = self.config
        return PersonalData.from_settings(config.DATA_KEY, config.DATA_INDEX_KEY, config.keys_path)

    @cached
    def passwords(self) -> Passwords:
        config = self.config
        return Passwords(
            time_cost=config.ARGON2_TIME_COST,
            memory_kib=config.ARGON2_MEMORY_KIB,
            parallelism=config.ARGON2_PARALLELISM,
        )

    # -- identity ----------------------------------------------------------------------------
    @cached
    def audit(self) -> Audit:
        return Audit(self.db)

    @cached
    def disclosures(self) -> DisclosureLog:
        return DisclosureLog(self.db)

    @cached
    def disclosure_chainer(self) -> DisclosureChainer:
        """Links queued disclosures into the chain in a thread of this process; the web
        application starts it at its first request (in each worker process of the server)."""
        return DisclosureChainer(self.disclosures, self.config.DISCLOSURE_CHAIN_INTERVAL)

    @cached
    def agreements(self) -> Agreements:
        return Agreements(self.db, self.cache_versions)

    @cached
    def verifier(self) -> Verifier:
        return build_verifier(self.config)

    @cached
    def people(self) -> People:
        return People(self.db, self.personal_data, self.passwords, self.verifier)

    @cached
    def entities(self) -> Entities:
        return Entities(
            self.db,
            self.people,
            self.verifier,
            max_administrators=self.config.ENTITY_MAX_ADMINISTRATORS,
            grant_days=self.config.HANDLER_GRANT_DAYS,
            local_zone=self.config.local_zone,
            # Telling portals is protocol work (idp.oauth.sso); built only when logins end.
            logins_ended=lambda *ended: self.sso.company_logins_ended(*ended),
        )

    @cached
    def company_members(self) -> MemberLookup:
        """The person a company form names, behind the hourly verification limit."""
        return MemberLookup(self.people, self.verification_failures)

    @cached
    def registration(self) -> Registration:
        """Registering people and companies, and raising a person's level. The identity checks
        are reached only through it, behind its hourly limit of failed verifications."""
        return Registration(
            self.people,
            self.entities,
            self.agreements,
            IdentityChecks(self.people, self.audit),
            self.sms,
            self.audit,
            self.verification_failures,
            local_zone=self.config.local_zone,
        )

    @cached
    def sms(self) -> SmsCodes:
        """Codes in Redis; their messages queued in the durable outbox (no gateway call)."""
        return SmsCodes(one_time_codes(self.config, self.redis), self.sms_outbox)

    @cached
    def sms_outbox(self) -> SmsOutbox:
        """Queued SMS messages and their sending through the gateway (``IDP_SMS_SENDER``)."""
        config = self.config
        return SmsOutbox(
            self.db,
            self.personal_data,
            build_sender(config),
            code_ttl=config.SMS_CODE_TTL,
            lease_seconds=2 * config.SMS_HTTP_TIMEOUT + LEASE_MARGIN,
        )

    @cached
    def sms_sender(self) -> SmsOutboxSender:
        """Sends queued SMS messages in a thread of this process; the web application starts
        it at its first request (in each worker process of the server)."""
        return SmsOutboxSender(self.sms_outbox, self.config.SMS_OUTBOX_INTERVAL)

    @cached
    def sign_in(self) -> SignIn:
        return SignIn(
            self.db,
            self.passwords,
            self.throttle,
            self.people.find_by_identifier,
            self.sms,
            self.audit,
        )

    @cached
    def accounts(self) -> AccountLifecycle:
        return AccountLifecycle(
            self.db,
            self.passwords,
            self.audit,
            self.sso.end_everything,
            sign_in=self.sign_in,
            entities=self.entities,
        )

    @cached
    def keeping_current(self) -> KeepingCurrent:
        return KeepingCurrent(self.people, self.audit)

    @cached
    def recovery(self) -> PasswordRecovery:
        return PasswordRecovery(self.people, self.sms, self.throttle, self.accounts)

    @cached
    def admins(self) -> Administrators:
        # Redis on first use only (second factors): ``idp admins`` never starts one.
        return Administrators(self.db, self.personal_data, lambda: self.redis)

    @cached
    def installation(self) -> Installation:
        return Installation(self.db, self.personal_data, self.config.AUTHORITY_NAME)

    @cached
    def resealing(self) -> Resealing:
        return Resealing(self.db, self.personal_data)

    # -- protocol ----------------------------------------------------------------------------
    @cached
    def metadata(self) -> dict[str, Any]:
        return metadata(self.issuer, UI_LOCALES, self.config.TRUST_FRAMEWORK)

    @cached
    def metadata_document(self) -> tuple[bytes, str]:
        """The metadata as JSON bytes and its entity tag (it changes only with the settings)."""
        body = json.dumps(self.metadata, separators=(",", ":"), sort_keys=True).encode()
        return body, hashlib.sha256(body).hexdigest()[:32]

    @cached
    def sensitive_claims(self) -> frozenset[str]:
        return frozenset(claims_module.BUILTIN_SENSITIVE_CLAIMS | self.config.sensitive_claims)

    @cached
    def portals(self) -> Portals:
        return Portals(self.db, self.cache_versions)

    @cached
    def retention(self) -> Retention:
        return Retention(self.db, evidence_retention_days=self.config.EVIDENCE_RETENTION_DAYS)

    @cached
    def clients(self) -> ClientRegistry:
        """Portal administration: the console, the admin API, RFC 7591/7592, ``idp clients``."""
        return ClientRegistry(
            self.db, RegistryPolicy.from_config(self.config, self.sensitive_claims)
        )

    @cached
    def dynamic_registration(self) -> DynamicRegistration:
        """RFC 7591/7592 over the portal rules (``clients``)."""
        return DynamicRegistration(self.clients, self.issuer)

    @cached
    def tokens(self) -> TokenService:
        config = self.config
        return TokenService(
            self.db,
            access_ttl=config.ACCESS_TOKEN_TTL,
            refresh_idle_ttl=config.REFRESH_TOKEN_IDLE_TTL,
            absolute_ttl=config.REFRESH_TOKEN_ABSOLUTE_TTL,
        )

    @cached
    def subjects(self) -> Subjects:
        return Subjects(self.personal_data)

    @cached
    def claims(self) -> claims_module.ClaimReleaser:
        return claims_module.ClaimReleaser(self.people, self.config.TRUST_FRAMEWORK, self.subjects)

    @cached
    def id_tokens(self) -> IdTokenFactory:
        return IdTokenFactory(self.keys, self.issuer, self.config.ID_TOKEN_TTL, self.claims)

    @cached
    def backchannel(self) -> BackchannelDispatcher:
        config = self.config
        return BackchannelDispatcher(
            self.db,
            self.keys,
            issuer=self.issuer,
            timeout=config.BACKCHANNEL_TIMEOUT,
            give_up_after=config.BACKCHANNEL_GIVE_UP,
            poll_interval=config.BACKCHANNEL_POLL_INTERVAL,
        )

    @cached
    def sso(self) -> SingleSignOn:
        return SingleSignOn(
            self.db, self.sessions, self.tokens, self.backchannel, self.subjects, self.audit
        )

    @cached
    def end_session(self) -> EndSession:
        return EndSession(self.issuer, self.portals, self.keys, self.sso, self.subjects, self.redis)

    @cached
    def consents(self) -> Consents:
        return Consents(self.db, self.tokens, self.audit, self.sensitive_claims)

    @cached
    def company_logins(self) -> CompanyLogins:
        return CompanyLogins(self.entities, self.agreements, self.tokens)

    @cached
    def codes(self) -> AuthorizationCodes:
        return AuthorizationCodes(
            self.redis, self.config.AUTHORIZATION_CODE_TTL, self.config.CODE_REUSE_MEMORY
        )

    @cached
    def interactions(self) -> InteractionStore:
        return InteractionStore(self.redis, self.config.INTERACTION_TTL)

    @cached
    def scan_login(self) -> ScanLogin:
        """Scan-to-log-in: QR tickets in Redis, at most so many a browser and hour."""
        return ScanLogin(
            ScanTickets(self.redis, self.config.SCAN_TICKET_TTL),
            HourlyLimit(self.redis, "scan", self.config.SCAN_TICKETS_PER_HOUR),
            self.db,
            self.audit,
            self.issuer,
        )

    @cached
    def flow(self) -> AuthorizationFlow:
        return AuthorizationFlow(
            issuer=self.issuer,
            scopes_supported=tuple(self.metadata["scopes_supported"]),
            portals=self.portals,
            keys=self.keys,
            sso=self.sso,
            subjects=self.subjects,
            consents=self.consents,
            agreements=self.agreements,
            people=self.people,
            company_logins=self.company_logins,
            tokens=self.tokens,
            codes=self.codes,
            interactions=self.interactions,
            audit=self.audit,
        )

    @cached
    def steps(self) -> StepEngine:
        """The interaction's steps (``authorize.next_step`` decides which comes when); each has
        its page in ``idp.views.interaction.PAGES``."""
        return StepEngine(
            self.flow,
            self.interactions,
            self.sso,
            self.audit,
            [
                LoginStep(self.sign_in, self.scan_login),
                AgreementStep(self.agreements),
                VerifyStep(self.flow),
                ChooseStep(self.flow),
                ConsentStep(self.consents),
            ],
        )

    @cached
    def endpoints(self) -> TokenEndpoints:
        return TokenEndpoints(
            issuer=self.issuer,
            token_endpoint=self.metadata["token_endpoint"],
            portals=self.portals,
            tokens=self.tokens,
            codes=self.codes,
            id_tokens=self.id_tokens,
            claims=self.claims,
            subjects=self.subjects,
            company_logins=self.company_logins,
            disclosures=self.disclosures,
            audit=self.audit,
            redis_client=self.redis,
            public_only=not self.config.development,
        )

    # -- life --------------------------------------------------------------------------------
    def warm(self) -> Services:
        """Build every service now (the web application, before it serves requests)."""
        for name, member in vars(type(self)).items():
            if isinstance(member, functools.cached_property):
                getattr(self, name)
        return self

    def close(self) -> None:
        """Stop the background threads and close the stores that were opened."""
        built = vars(self)
        if "backchannel" in built:
            self.backchannel.stop()
        if "disclosure_chainer" in built:
            self.disclosure_chainer.stop()
        if "sms_sender" in built:
            self.sms_sender.stop()
        if "db" in built:
            self.db.dispose()
        if "redis" in built and not is_embedded(self.redis):
            self.redis.close()
