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
import time
from functools import partial
from pathlib import Path
from typing import Any

import redis

from idp.config import Config
from idp.identity import export as export_sections
from idp.identity.accounts import AccountLifecycle
from idp.identity.addresses import Addresses
from idp.identity.admins import Administrators
from idp.identity.agreements import Agreements
from idp.identity.audit import Audit
from idp.identity.disclosures import DisclosureChainer, DisclosureLog
from idp.identity.entities import Entities, MemberLookup
from idp.identity.export import PersonalDataExport
from idp.identity.factors import SecondFactors
from idp.identity.installation import Installation
from idp.identity.keeping_current import KeepingCurrent
from idp.identity.login import SignIn
from idp.identity.materials import Materials
from idp.identity.matters import Matters
from idp.identity.messages import Messages
from idp.identity.passwords import Passwords
from idp.identity.people import People
from idp.identity.personal_data import PersonalData
from idp.identity.recovery import PasswordRecovery
from idp.identity.registration import Registration
from idp.identity.resealing import Resealing
from idp.identity.security import AccountSecurity, LoginHistory
from idp.identity.sms import SmsCodes, build_sender, one_time_codes
from idp.identity.sms_outbox import LEASE_MARGIN, SmsOutbox, SmsOutboxSender
from idp.identity.verification import IdentityChecks
from idp.identity.verifiers import Verifier, build_verifier
from idp.models import AgreementKind, AgreementVersion, Base, Client
from idp.models.base import Database
from idp.oauth import claims as claims_module
from idp.oauth.backchannel import BackchannelDispatcher
from idp.oauth.client_auth import PortalKeys
from idp.oauth.clients import ClientRegistry, RegistryPolicy
from idp.oauth.codes import AuthorizationCodes
from idp.oauth.company_logins import CompanyLogins
from idp.oauth.consents import Consents
from idp.oauth.discovery import metadata
from idp.oauth.dpop import DPoP
from idp.oauth.encryption import ResponseEncryption
from idp.oauth.end_session import EndSession
from idp.oauth.endpoints import TokenEndpoints
from idp.oauth.flow import AuthorizationFlow
from idp.oauth.id_token import IdTokenFactory
from idp.oauth.interaction import InteractionStore
from idp.oauth.keys import KeyRing
from idp.oauth.materials_api import MaterialsApi
from idp.oauth.par import PushedAuthorizationEndpoint, PushedRequests
from idp.oauth.portal_api import PortalApi
from idp.oauth.portal_pairs import PortalPairs
from idp.oauth.portal_tokens import PortalTokens
from idp.oauth.portals import Portals
from idp.oauth.registration import DynamicRegistration
from idp.oauth.request_objects import RequestObjects
from idp.oauth.retention import Retention
from idp.oauth.scan import ScanLogin
from idp.oauth.sso import SingleSignOn
from idp.oauth.steps import (
    AgreementStep,
    ChooseStep,
    ConsentStep,
    LoginStep,
    SecondFactorStep,
    StepEngine,
    VerifyStep,
)
from idp.oauth.subjects import Subjects
from idp.oauth.token_exchange import TokenExchange
from idp.oauth.tokens import TokenService
from idp.observability.metrics import ScrapeGauge, ScrapeTimeCollector
from idp.store import connect
from idp.store.connection import is_embedded
from idp.store.console import ConsoleSessions
from idp.store.portal_limits import PortalLimits
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
        database = Database(self.config.DATABASE_URL, self.config.DATABASE_REPLICA_URL)
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
            materials=self.materials,
            notify=self.messages.notify,
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
        return Resealing(self.db, self.personal_data, lambda: self.materials.reseal_files())

    # -- protocol ----------------------------------------------------------------------------
    @cached
    def metadata(self) -> dict[str, Any]:
        return metadata(
            self.issuer,
            UI_LOCALES,
            self.config.TRUST_FRAMEWORK,
            require_par=self.config.REQUIRE_PAR,
        )

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
        return Retention(
            self.db,
            evidence_retention_days=self.config.EVIDENCE_RETENTION_DAYS,
            login_history_days=self.config.LOGIN_HISTORY_DAYS,
        )

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
        return claims_module.ClaimReleaser(
            self.people, self.config.TRUST_FRAMEWORK, self.subjects, self.addresses
        )

    @cached
    def id_tokens(self) -> IdTokenFactory:
        return IdTokenFactory(
            self.keys,
            self.issuer,
            self.config.ID_TOKEN_TTL,
            self.claims,
            encryption=self.response_encryption,
        )

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
            self.db,
            self.sessions,
            self.tokens,
            self.backchannel,
            self.subjects,
            self.audit,
            self.login_history,
            login_notice=partial(self.messages.notify, kind="new_login"),
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
            release_materials=lambda grant, ids: self.materials.release(grant, ids),
            factors=self.factors,
            take_pushed=self.pushed_requests.take,
            open_request_object=self.request_objects.open,
            require_par=self.config.REQUIRE_PAR,
            jarm_lifetime=self.config.JARM_LIFETIME,
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
                SecondFactorStep(self.factors, self.sso),
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
            portal_tokens=self.portal_tokens,
            dpop=self.dpop,
            encryption=self.response_encryption,
            exchange=self.token_exchange,
        )

    @cached
    def materials(self) -> Materials:
        """Materials of the user space (issue 12, item 3): sealed files under MATERIALS_DIR."""
        config = self.config
        return Materials(
            self.db,
            self.personal_data,
            Path(config.MATERIALS_DIR),
            max_bytes=config.MATERIAL_MAX_BYTES,
            local_zone=config.local_zone,
        )

    @cached
    def materials_api(self) -> MaterialsApi:
        """The portals' materials API (``/api/materials``): released items, each fetched once."""
        return MaterialsApi(self.tokens, self.materials, self.portal_limits)

    # -- the user space: addresses and own security (issue 12, items 4 and 5) ----------------
    @cached
    def addresses(self) -> Addresses:
        """Delivery addresses, sealed; the default one is the ``address`` claim."""
        return Addresses(self.db, self.personal_data)

    @cached
    def login_history(self) -> LoginHistory:
        return LoginHistory(self.db)

    @cached
    def security(self) -> AccountSecurity:
        """Login history, password age and change; other sessions end through ``sso``."""
        return AccountSecurity(
            self.db,
            self.passwords,
            self.sign_in,
            self.people,
            self.audit,
            self.login_history,
            end_other_sessions=lambda account_id, keep, reason: self.sso.end_others(
                account_id, keep, reason
            ),
            # The provider's own security notice (idp.identity.messages), essential.
            notify=lambda account_id, kind: self.messages.notify(account_id, kind),
            reminder_days=self.config.PASSWORD_REMINDER_DAYS,
        )

    @cached
    def factors(self) -> SecondFactors:
        """People's second factors (TOTP, passkeys, recovery codes): RP ID and origin from the
        issuer; enrolments and removals announced as security messages when the messages
        service exists."""
        return SecondFactors(
            self.db,
            self.personal_data,
            lambda: self.redis,
            self.audit,
            issuer=self.issuer,
            rp_name=self.config.SERVICE_NAME or "统一身份认证",
            notify=self._security_message,
        )

    def _security_message(self, account_id: str, kind: str) -> None:
        """A security notice about a second factor (an essential provider message)."""
        self.messages.notify(account_id, kind)

    # -- the user space: matters and messages (issue 12, docs/user-space.md) -----------------
    @cached
    def matters(self) -> Matters:
        return Matters(self.db, self.personal_data)

    @cached
    def messages(self) -> Messages:
        return Messages(self.db, self.personal_data, self.audit)

    @cached
    def portal_tokens(self) -> PortalTokens:
        """A portal's own tokens (client credentials, RFC 6749 4.4) for the portal API."""
        return PortalTokens(self.redis, self.portals.find)

    @cached
    def portal_limits(self) -> PortalLimits:
        """Each portal's calls a minute to its APIs (matters, messages, materials) and messages
        an hour."""
        config = self.config
        return PortalLimits(
            self.redis,
            {
                "requests": (config.PORTAL_API_REQUESTS_PER_MINUTE, 60),
                "messages": (config.PORTAL_MESSAGES_PER_HOUR, 3600),
            },
        )

    @cached
    def portal_api(self) -> PortalApi:
        config = self.config
        return PortalApi(
            self.db,
            self.portal_tokens,
            self.portal_limits,
            self.matters,
            self.messages,
            batch_max=config.PORTAL_MESSAGE_BATCH_MAX,
        )

    # -- FAPI 2.0: PAR, request objects (docs/portals.md, "FAPI 2.0") -------------------------
    @cached
    def portal_keys(self) -> PortalKeys:
        """Portals' public keys (jwks, or jwks_uri fetched and cached) for request objects."""
        return PortalKeys(public_only=not self.config.development)

    @cached
    def request_objects(self) -> RequestObjects:
        return RequestObjects(
            issuer=self.issuer, resolve_keys=self.portal_keys.resolve, redis_client=self.redis
        )

    @cached
    def pushed_requests(self) -> PushedRequests:
        return PushedRequests(self.redis, self.config.PAR_LIFETIME)

    @cached
    def par(self) -> PushedAuthorizationEndpoint:
        """RFC 9126: POST /par."""
        return PushedAuthorizationEndpoint(
            authenticate=self.endpoints.authenticate_client,
            error_response=self.endpoints.error_response,
            validate=self.flow.validate_push,
            requests=self.pushed_requests,
            check_dpop=self.endpoints.check_dpop,
        )

    # -- the person's export (PIPL art. 45, docs/user-space.md "Export") --------------------
    @cached
    def export(self) -> PersonalDataExport:
        """Every area's section of the person's data, in the order the user space shows them."""

        def account(account_id: str) -> object:
            found = self.people.by_id(account_id)
            assert found is not None
            return export_sections.account_section(found, self.people.profile(found))

        sections = {
            "account": account,
            "identity_evidence": lambda a: export_sections.evidence_section(
                self.people.evidence(a)
            ),
            "agreements": lambda a: export_sections.agreements_section(self.agreements.history(a)),
            "consents": lambda a: export_sections.consents_section(self.consents.of_account(a)),
            "disclosures": lambda a: export_sections.disclosures_section(
                self.disclosures.for_account(a, limit=100_000)
            ),
            "companies": lambda a: export_sections.companies_section(
                self.entities.roles_of(a), self.entities.grants_of(a)
            ),
            "matters": self.matters.export,
            "messages": self.messages.export,
            "materials": self.materials.export,
            "addresses": self.addresses.export,
            "security": self.security.export,
            "second_factors": self.factors.export,
            # RFC 8693 exchanges made for the person, RFC 9396 details granted (issue 18).
            "token_exchange": self.token_exchange.export,
        }
        return PersonalDataExport(sections, self.materials.export_files, self.audit, self.issuer)

    # -- DPoP (issue 18, item 2; RFC 9449) ----------------------------------------------------
    @cached
    def dpop(self) -> DPoP:
        """DPoP proofs: checked at /token, /par, /userinfo, /introspect and /revoke, their jti
        claimed once in Redis, server nonces derived from IDP_SECRET_KEY (stateless)."""
        config = self.config
        return DPoP(
            self.redis,
            secret_key=config.SECRET_KEY,
            iat_window=config.DPOP_IAT_WINDOW,
            require_nonce=config.DPOP_REQUIRE_NONCE,
        )

    # -- encrypted answers, authorization details, token exchange (issue 18, items 3, 5, 6) ----
    @cached
    def response_encryption(self) -> ResponseEncryption:
        """Encrypted ID tokens, signed or encrypted UserInfo (OIDC Core 10.2), to the keys of
        ``portal_keys``."""
        return ResponseEncryption(self.keys, self.issuer, self.portal_keys)

    @cached
    def portal_pairs(self) -> PortalPairs:
        """The pairs of portals the operator allows token exchange between."""
        return PortalPairs(self.db)

    @cached
    def token_exchange(self) -> TokenExchange:
        """RFC 8693 at /token between paired portals (docs/portals.md, "Token exchange")."""
        return TokenExchange(
            db=self.db,
            tokens=self.tokens,
            portals=self.portals,
            pairs=self.portal_pairs,
            disclosures=self.disclosures,
            ttl=self.config.TOKEN_EXCHANGE_TTL,
        )

    @cached
    def metrics_gauges(self) -> ScrapeTimeCollector:
        """The gauges read when Prometheus scrapes /metrics (docs/operations.md#metrics): one
        cheap COUNT per queue, the active signing keys' age from the key ring's files."""

        def deliveries() -> dict[str, float]:
            counts = self.backchannel.counts_by_status()
            return {status: float(counts.get(status, 0)) for status in ("pending", "abandoned")}

        def key_age() -> dict[str, float]:
            now = time.time()
            return {
                key.alg: now - (key.activated_at or key.created_at)
                for key in self.keys.list()
                if key.status == "active"
            }

        return ScrapeTimeCollector(
            [
                ScrapeGauge(
                    "idp_backchannel_queue",
                    "Back-channel logout deliveries waiting (pending) or given up (abandoned)",
                    deliveries,
                    label="status",
                ),
                ScrapeGauge(
                    "idp_disclosure_chain_queue",
                    "Disclosures recorded and not yet linked into the hash chain",
                    lambda: float(self.disclosures.queued()),
                ),
                ScrapeGauge(
                    "idp_sms_outbox_queue",
                    "SMS messages in the outbox with work left (due, retrying or leased)",
                    lambda: float(self.sms_outbox.waiting()),
                ),
                ScrapeGauge(
                    "idp_signing_key_age_seconds",
                    "Seconds since the active signing key of each algorithm was activated",
                    key_age,
                    label="alg",
                ),
            ],
            after=self.db.remove,
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
