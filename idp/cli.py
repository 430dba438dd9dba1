"""The ``idp`` command: database, server, portals (clients), accounts and keys.

Every subcommand reads the same ``IDP_*`` settings as the server (see ``idp.config``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError

from idp.config import Config, ConfigError, load_config
from idp.models import Account, AuditEvent, Client
from idp.models.base import Database, new_id
from idp.models.client import (
    PUBLIC_AUTH_METHOD,
    SECRET_AUTH_METHODS,
)
from idp.oauth.client_registry import AUTH_METHODS, REMOTE_CODES
from idp.oauth.keys import SUPPORTED_ALGORITHMS, KeyRing

DEMO_CLIENT_ID = "demo-portal"
DEMO_REDIRECT_URI = "http://localhost:5001/callback"
# Checks the command reports as warnings rather than refusals (see ``create_client``).
CLI_ADVISORY = frozenset({"duplicate", *REMOTE_CODES})


class CommandError(Exception):
    """A user error: printed without a traceback, exit status 2."""


_opened: list[Database] = []


def _database(config: Config) -> Database:
    """A database handle for this command; closed when the command ends (see ``main``)."""
    db = Database(config.DATABASE_URL)
    _opened.append(db)
    return db


def _keyring(config: Config) -> KeyRing:
    return KeyRing(
        config.keys_path,
        retired_grace=config.key_retired_grace,
        reload_interval=config.KEYS_RELOAD_INTERVAL,
    )


def _audit(db: Database, action: str, **fields: Any) -> None:
    with db.transaction() as session:
        session.add(AuditEvent(action=action, actor="cli", **fields))


# -- db -------------------------------------------------------------------------------------


def cmd_db_upgrade(config: Config, args: argparse.Namespace) -> None:
    from idp.identity import agreements, disclosures
    from idp.models.migrate import upgrade

    db = _database(config)
    upgrade(db.engine, personal_data=_personal_data(config))
    with db.transaction() as session:
        seeded = agreements.ensure_seeded(session, config.AUTHORITY_NAME)
        disclosures.ensure_head(session)
    for kind in seeded:
        print(f"published version 1 of the {kind} agreement")
    _keyring(config).ensure()
    print(f"database at revision head: {db.engine.url.render_as_string(hide_password=True)}")


def cmd_db_prune(config: Config, args: argparse.Namespace) -> None:
    """Delete what can no longer be used: expired grants (their tokens go with them), grants
    whose code was never redeemed, and token rows whose access and refresh tokens expired."""
    from datetime import timedelta

    from sqlalchemy import and_, delete, exists, or_

    from idp.models import Grant, LogoutDelivery, Token
    from idp.models.base import utcnow

    db = _database(config)
    now = utcnow()
    stale = now - timedelta(days=1)
    with db.transaction() as session:
        tokens = session.execute(
            delete(Token).where(
                Token.access_expires_at < now,
                or_(Token.refresh_expires_at.is_(None), Token.refresh_expires_at < now),
            )
        ).rowcount
        grants = session.execute(
            delete(Grant).where(
                or_(
                    Grant.expires_at < now,
                    Grant.revoked_at < stale,
                    and_(Grant.created_at < stale, ~exists().where(Token.grant_id == Grant.id)),
                )
            )
        ).rowcount
        deliveries = session.execute(
            delete(LogoutDelivery).where(
                LogoutDelivery.status.in_(("delivered", "abandoned")),
                LogoutDelivery.created_at < now - timedelta(days=30),
            )
        ).rowcount
    print(
        json.dumps(
            {
                "deleted_tokens": tokens,
                "deleted_grants": grants,
                "deleted_logout_deliveries": deliveries,
            }
        )
    )


# -- serve ----------------------------------------------------------------------------------


def cmd_serve(config: Config, args: argparse.Namespace) -> None:
    """Run under gunicorn; the embedded Redis is started once here and shared by the workers."""
    from idp.store.connection import start_embedded

    _keyring(config).ensure()
    if not config.REDIS_URL:
        os.environ["IDP_EMBEDDED_REDIS_URL"] = start_embedded(config.REDIS_EMBEDDED_PATH)
    from gunicorn.app.base import BaseApplication

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"{args.host}:{args.port}")
            self.cfg.set("workers", args.workers)
            self.cfg.set("threads", args.threads)
            self.cfg.set("accesslog", "-")
            # %(U)s is the path without the query: hints, codes and states stay out of logs.
            self.cfg.set("access_log_format", '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(L)ss')
            self.cfg.set("forwarded_allow_ips", "127.0.0.1")
            # gunicorn >= 25.1 opens a control socket at one fixed path in the home folder, which a
            # second provider on the same machine silently takes over (and removes on exit).
            if "control_socket_disable" in self.cfg.settings:
                self.cfg.set("control_socket_disable", True)

        def load(self) -> Any:
            from idp import create_app

            return create_app(config)

    print(f"idp serving {config.ISSUER} on http://{args.host}:{args.port}", flush=True)
    Server().run()


# -- clients --------------------------------------------------------------------------------


def _client_json(client: Client, secret: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "client_id": client.client_id,
        "client_name": client.name,
        "redirect_uris": client.redirect_uris,
        "post_logout_redirect_uris": client.post_logout_redirect_uris,
        "backchannel_logout_uri": client.backchannel_logout_uri,
        "token_endpoint_auth_method": client.token_endpoint_auth_method,
        "id_token_signed_response_alg": client.id_token_signed_response_alg,
        "scope": " ".join(client.scopes),
        "jwks_uri": client.jwks_uri,
        "status": client.status,
        "trusted": client.trusted,
        "created_at": client.created_at.isoformat(),
    }
    if secret:
        data["client_secret"] = secret
    return data


def _registry(config: Config, db: Database) -> Any:
    """The portal rules shared with the console, the admin API and RFC 7591 (docs/portals.md)."""
    from idp.oauth.claims import BUILTIN_SENSITIVE_CLAIMS
    from idp.oauth.client_registry import ClientRegistry, RegistryPolicy

    sensitive = BUILTIN_SENSITIVE_CLAIMS | config.sensitive_claims
    return ClientRegistry(db, RegistryPolicy.from_config(config, sensitive))


def _cli_actor() -> Any:
    from idp.oauth.client_registry import Actor

    return Actor("cli", "cli")


def _metadata_error(errors: Sequence[Any]) -> CommandError:
    return CommandError("; ".join(f"{error.label}: {error.message}" for error in errors))


def create_client(
    db: Database,
    config: Config,
    *,
    name: str,
    redirect_uris: Sequence[str],
    public: bool = False,
    post_logout_redirect_uris: Sequence[str] = (),
    backchannel_logout_uri: str | None = None,
    token_endpoint_auth_method: str | None = None,
    scopes: Sequence[str] = (),
    id_token_alg: str = "RS256",
    jwks: dict[str, Any] | None = None,
    jwks_uri: str | None = None,
    client_id: str | None = None,
    trusted: bool = False,
) -> tuple[Client, str | None]:
    """Register a portal through the shared rules (``idp.oauth.client_registry``). The command
    is the operator's own tool: a name another portal already uses, or a jwks_uri that does not
    answer yet, is registered with a warning on stderr instead of refused (``CLI_ADVISORY``)."""
    from idp.oauth.client_registry import InvalidMetadata

    if public and token_endpoint_auth_method not in (None, PUBLIC_AUTH_METHOD):
        raise CommandError("--public clients use token endpoint auth method 'none'")
    method = token_endpoint_auth_method or (
        PUBLIC_AUTH_METHOD if public else SECRET_AUTH_METHODS[0]
    )
    data = {
        "name": name,
        "redirect_uris": list(redirect_uris),
        "post_logout_redirect_uris": list(post_logout_redirect_uris),
        "backchannel_logout_uri": backchannel_logout_uri,
        "token_endpoint_auth_method": method,
        "id_token_signed_response_alg": id_token_alg,
        "scopes": list(scopes) or None,
        "jwks": jwks,
        "jwks_uri": jwks_uri,
        "trusted": trusted,
    }
    try:
        outcome = _registry(config, db).create(
            data, actor=_cli_actor(), client_id=client_id, advisory=CLI_ADVISORY
        )
    except InvalidMetadata as exc:
        raise _metadata_error(exc.errors) from None
    for warning in outcome.warnings:
        print(f"idp: warning: {warning.label}: {warning.message}", file=sys.stderr)
    return outcome.client, outcome.client_secret


def cmd_clients_create(config: Config, args: argparse.Namespace) -> None:
    jwks = None
    if args.jwks_file:
        try:
            with open(args.jwks_file) as fh:
                jwks = json.load(fh)
        except (OSError, ValueError) as exc:
            raise CommandError(f"cannot read --jwks-file: {exc}") from None
    client, secret = create_client(
        _database(config),
        config,
        name=args.name,
        redirect_uris=args.redirect_uri or [],
        public=args.public,
        post_logout_redirect_uris=args.post_logout_redirect_uri or [],
        backchannel_logout_uri=args.backchannel_logout_uri,
        token_endpoint_auth_method=args.token_endpoint_auth_method,
        scopes=args.scope or [],
        id_token_alg=args.id_token_alg,
        jwks=jwks,
        jwks_uri=args.jwks_uri,
        client_id=args.client_id,
        trusted=args.trusted,
    )
    if args.json:
        print(json.dumps(_client_json(client, secret), ensure_ascii=False))
        return
    print(f"client_id:     {client.client_id}")
    if secret:
        print(f"client_secret: {secret}   (shown once; store it now)")
    print(f"auth method:   {client.token_endpoint_auth_method}")
    print(f"redirect URIs: {' '.join(client.redirect_uris)}")


def cmd_clients_list(config: Config, args: argparse.Namespace) -> None:
    db = _database(config)
    clients = db.session.scalars(select(Client).order_by(Client.created_at)).all()
    if args.json:
        print(json.dumps([_client_json(c) for c in clients], ensure_ascii=False))
        return
    for client in clients:
        print(
            f"{client.client_id}\t{client.status}\t{client.token_endpoint_auth_method}\t{client.name}"
        )


def _get_client(db: Database, client_id: str) -> Client:
    client = db.session.get(Client, client_id)
    if client is None:
        raise CommandError(f"no client {client_id}")
    return client


def cmd_clients_show(config: Config, args: argparse.Namespace) -> None:
    client = _get_client(_database(config), args.client_id)
    print(json.dumps(_client_json(client), ensure_ascii=False, indent=2))


def cmd_clients_delete(config: Config, args: argparse.Namespace) -> None:
    from idp.oauth.client_registry import ClientNotFound

    try:
        _registry(config, _database(config)).delete(args.client_id, actor=_cli_actor())
    except ClientNotFound:
        raise CommandError(f"no client {args.client_id}") from None
    print(f"deleted client {args.client_id}")


def cmd_clients_set_trusted(config: Config, args: argparse.Namespace) -> None:
    """A trusted portal (a government portal of the same authority) skips the consent page
    for ordinary claims, never for sensitive ones."""
    from idp.oauth.client_registry import ClientNotFound, InvalidMetadata

    registry = _registry(config, _database(config))
    try:
        registry.update(
            args.client_id,
            {"trusted": args.value == "yes"},
            actor=_cli_actor(),
            advisory=CLI_ADVISORY,
        )
    except ClientNotFound:
        raise CommandError(f"no client {args.client_id}") from None
    except InvalidMetadata as exc:
        raise _metadata_error(exc.errors) from None
    print(f"client {args.client_id} trusted: {args.value}")


def cmd_clients_initial_access_token(config: Config, args: argparse.Namespace) -> None:
    """RFC 7591 3: a token with which a portal registers itself at /register-client; shown
    once, stored as a hash; ``--uses`` registrations within ``--days`` days."""
    from idp.oauth.client_registry import InvalidMetadata

    try:
        row, token = _registry(config, _database(config)).issue_initial_access_token(
            uses=args.uses, days=args.days, actor=_cli_actor()
        )
    except InvalidMetadata as exc:
        raise CommandError(
            "; ".join(f"--{error.field}: {error.message}" for error in exc.errors)
        ) from None
    data = {
        "id": row.id,
        "token": token,
        "uses": row.uses_allowed,
        "expires_at": row.expires_at.isoformat(),
        "registration_endpoint": f"{config.ISSUER}/register-client",
    }
    if args.json:
        print(json.dumps(data))
        return
    print(f"initial access token: {token}   (shown once; give it to the portal's operator)")
    print(f"uses:                 {row.uses_allowed}")
    print(f"expires at:           {data['expires_at']}")
    print(f"register at:          {data['registration_endpoint']}")


def cmd_clients_set_level(config: Config, args: argparse.Namespace) -> None:
    """The lowest verification level a login to this portal must reach (step-up)."""
    level = None if args.level == "none" else args.level
    db = _database(config)
    with db.transaction() as session:
        client = session.get(Client, args.client_id)
        if client is None:
            raise CommandError(f"no client {args.client_id}")
        client.minimum_verification_level = level
    _audit(db, "client_level_changed", client_id=args.client_id, details={"minimum": level})
    print(f"client {args.client_id} minimum verification level: {args.level}")


def cmd_clients_allow_claim(config: Config, args: argparse.Namespace) -> None:
    """Allow (or stop allowing) a portal to ask for a sensitive claim such as the full
    ``id_number``; the person still decides each time with a separate tick."""
    from idp.oauth.claims import BUILTIN_SENSITIVE_CLAIMS

    sensitive = BUILTIN_SENSITIVE_CLAIMS | config.sensitive_claims
    if args.claim not in sensitive:
        names = ", ".join(sorted(sensitive))
        raise CommandError(f"{args.claim} is not a sensitive claim ({names})")
    db = _database(config)
    with db.transaction() as session:
        client = session.get(Client, args.client_id)
        if client is None:
            raise CommandError(f"no client {args.client_id}")
        allowed = set(client.allowed_sensitive_claims or [])
        allowed = allowed | {args.claim} if args.value == "yes" else allowed - {args.claim}
        client.allowed_sensitive_claims = sorted(allowed)
    _audit(
        db,
        "client_sensitive_claims_changed",
        client_id=args.client_id,
        details={"claim": args.claim, "allowed": args.value},
    )
    print(f"client {args.client_id} may ask for {args.claim}: {args.value}")


def cmd_demo_client(config: Config, args: argparse.Namespace) -> None:
    """Register the demo portal and a demo account once, and say how to try a login."""
    db = _database(config)
    client = db.session.get(Client, DEMO_CLIENT_ID)
    if client is None:
        client, _secret = create_client(
            db,
            config,
            name="示例门户 Demo portal",
            redirect_uris=[DEMO_REDIRECT_URI, "http://127.0.0.1:5001/callback"],
            public=True,
            post_logout_redirect_uris=["http://localhost:5001/"],
            client_id=DEMO_CLIENT_ID,
            scopes=["profile", "phone", "realname", "offline_access"],
        )
    if db.session.scalar(select(Account).where(Account.username == "demo")) is None:
        create_account(db, config, username="demo", password="demo-password-2026", name="张三")
    verifier = "demo-verifier-" + "x" * 40
    from authlib.oauth2.rfc7636 import create_s256_code_challenge

    challenge = create_s256_code_challenge(verifier)
    print(
        "Demo portal registered (public client, PKCE).\n"
        f"  client_id:     {DEMO_CLIENT_ID}\n"
        f"  redirect_uri:  {DEMO_REDIRECT_URI}\n"
        "  demo account:  demo / demo-password-2026 (operator-made, level L0)\n"
        "  or register with your real name on the login page as a fictional person of the demo\n"
        "  registry (docs/registry.md), e.g. 李四 31010419900708023X 13800131002;\n"
        "  SMS codes land in the outbox: idp sms outbox\n"
        "Try a login: open\n"
        f"  {config.ISSUER}/authorize?response_type=code&client_id={DEMO_CLIENT_ID}"
        f"&redirect_uri={DEMO_REDIRECT_URI}&scope=openid%20profile%20phone&state=demo"
        f"&code_challenge={challenge}&code_challenge_method=S256\n"
        f"  then exchange the code with code_verifier={verifier}",
        flush=True,
    )


# -- users ----------------------------------------------------------------------------------


def create_account(
    db: Database, config: Config, *, username: str, password: str, name: str | None = None
) -> Account:
    username = username.strip()
    if not username or len(username) > 128:
        raise CommandError("--username must be 1 to 128 characters")
    if len(password) < 8:
        raise CommandError("--password must be at least 8 characters")
    passwords = _passwords(config)
    account = Account(id=new_id(), username=username, password_hash=passwords.hash(password))
    if name:
        account.name_sealed = _personal_data(config).seal(
            name.strip(), account.context("name_sealed")
        )
    try:
        with db.transaction() as session:
            session.add(account)
    except IntegrityError:
        raise CommandError(f"an account named {username} already exists") from None
    _audit(db, "account_created", account_id=account.id)
    return account


def cmd_users_create(config: Config, args: argparse.Namespace) -> None:
    account = create_account(
        _database(config), config, username=args.username, password=args.password, name=args.name
    )
    print(json.dumps({"id": account.id, "sub": account.subject, "username": account.username}))


def _provider(config: Config) -> Any:
    """The services without a web server, for commands that act as the provider."""
    from idp.services import Services

    services = Services(config)
    _opened.append(services.db)
    return services


def cmd_users_suspend(config: Config, args: argparse.Namespace) -> None:
    """Natural-person agreement clause 7: end every session and token, tell every portal."""
    if not args.reason.strip():
        raise CommandError("--reason must not be empty")
    provider = _provider(config)
    account = _find_account(provider.db, args.account, config)
    if account.status == "suspended":
        raise CommandError(f"account {args.account} is already suspended")
    account_id = account.id  # deliver_due ends the database session (detaches the row)
    provider.accounts.suspend(account, args.reason.strip(), actor="cli")
    delivered = provider.backchannel.deliver_due()
    print(f"suspended {account_id}; back-channel logouts delivered now: {delivered}")


def cmd_users_reinstate(config: Config, args: argparse.Namespace) -> None:
    provider = _provider(config)
    account = _find_account(provider.db, args.account, config)
    if account.status != "suspended":
        raise CommandError(f"account {args.account} is not suspended")
    provider.accounts.reinstate(account, (args.reason or "").strip(), actor="cli")
    print(f"reinstated {account.id}")


def cmd_users_show(config: Config, args: argparse.Namespace) -> None:
    """An account's masked profile, level and verification evidence (never plaintext)."""
    db = _database(config)
    people = _people(config, db)
    account = _find_account(db, args.account, config)
    masked = people.profile(account).masked
    data = {
        "id": account.id,
        "sub": account.subject,
        "username": account.username,
        "user_type": account.user_type,
        "status": account.status,
        "name": masked["name"],
        "id_type": account.id_type,
        "id_number": masked["id_number"],
        "phone": masked["phone"],
        "verification_level": account.verification_level,
        "verified_at": account.verified_at.isoformat() if account.verified_at else None,
        "evidence": [
            {
                "time": row.created_at.isoformat(),
                "check": row.check,
                "source": row.source,
                "result": row.result,
                "level_after": row.level_after,
                "reference": row.reference,
            }
            for row in people.evidence(account.id)
        ],
    }
    print(json.dumps(data, ensure_ascii=False, indent=None if args.json else 2))


def cmd_users_verify_in_person(config: Config, args: argparse.Namespace) -> None:
    """Level L4: the person was verified in person at a service counter."""
    reference = args.reference.strip()
    if not reference or len(reference) > 128:
        raise CommandError("--reference must be 1 to 128 characters (the counter's reference)")
    db = _database(config)
    people = _people(config, db)
    account = _find_account(db, args.account, config)
    if account.id_type is None:
        raise CommandError("the account has no identity document to verify")
    before = people.record_counter_verification(account, reference, actor="cli")
    _audit(
        db,
        "identity_verified_in_person",
        account_id=account.id,
        details={"reference": reference, "level_before": before, "level_after": "L4"},
    )
    print(f"verified {account.id} in person: {before} -> L4")


def cmd_backchannel_deliver(config: Config, args: argparse.Namespace) -> None:
    """Attempt every due back-channel logout now (the server's dispatcher does this too)."""
    from sqlalchemy import func

    from idp.models import LogoutDelivery

    provider = _provider(config)
    delivered = provider.backchannel.deliver_due(limit=1000)
    counts = dict(
        provider.db.session.execute(
            select(LogoutDelivery.status, func.count()).group_by(LogoutDelivery.status)
        ).all()
    )
    print(json.dumps({"delivered_now": delivered, "by_status": counts}))


def cmd_users_unlock(config: Config, args: argparse.Namespace) -> None:
    from idp.store import connect
    from idp.store.ratelimit import LoginThrottle

    throttle = LoginThrottle(
        connect(config.REDIS_URL, config.REDIS_EMBEDDED_PATH),
        free=config.LOGIN_FREE_FAILURES,
        max_wait=config.LOGIN_MAX_WAIT,
        lock=config.LOGIN_LOCK_FAILURES,
        per_address_hour=config.LOGIN_ADDRESS_FAILURES_PER_HOUR,
        secret=config.SECRET_KEY.encode(),
    )
    from idp.identity.login import throttle_key

    db = _database(config)
    identifier = args.username.strip()
    account = _people(config, db).find_by_identifier(identifier)
    throttle.unlock(throttle_key(account, identifier))
    _audit(db, "account_unlocked", account_id=account.id if account else None)
    print(f"unlocked {args.username}")


# -- agreements and audit -------------------------------------------------------------------


def _personal_data(config: Config) -> Any:
    from idp.identity.personal_data import PersonalData

    return PersonalData.from_settings(config.DATA_KEY, config.DATA_INDEX_KEY, config.keys_path)


def _people(config: Config, db: Database) -> Any:
    from idp.identity.people import People
    from idp.identity.verifiers import build_verifier

    return People(db, _personal_data(config), _passwords(config), build_verifier(config))


def _passwords(config: Config) -> Any:
    from idp.identity.passwords import Passwords

    return Passwords(
        time_cost=config.ARGON2_TIME_COST,
        memory_kib=config.ARGON2_MEMORY_KIB,
        parallelism=config.ARGON2_PARALLELISM,
    )


def _find_account(db: Database, reference: str, config: Config | None = None) -> Account:
    """ACCOUNT is an account id, a subject identifier, a username, a phone number or an identity
    document number (the last two through their blind indexes: exact matches only)."""
    from sqlalchemy import or_

    account = db.session.scalar(
        select(Account).where(or_(Account.id == reference, Account.subject == reference))
    )
    if account is None:
        account = _people(config or load_config(), db).find_by_identifier(reference)
    if account is None:
        raise CommandError("no such account")
    return account


def cmd_agreements_list(config: Config, args: argparse.Namespace) -> None:
    from sqlalchemy import func

    from idp.models import AgreementAcceptance, AgreementKind, AgreementVersion

    db = _database(config)
    rows = []
    for kind in db.session.scalars(select(AgreementKind).order_by(AgreementKind.created_at)):
        versions = db.session.scalars(
            select(AgreementVersion)
            .where(AgreementVersion.kind == kind.kind)
            .order_by(AgreementVersion.version, AgreementVersion.language)
        )
        for version in versions:
            accepted = db.session.scalar(
                select(func.count(func.distinct(AgreementAcceptance.account_id))).where(
                    AgreementAcceptance.kind == kind.kind,
                    AgreementAcceptance.version == version.version,
                )
            )
            rows.append(
                {
                    "kind": kind.kind,
                    "title": kind.title,
                    "applies_to": kind.applies_to,
                    "version": version.version,
                    "language": version.language,
                    "material": version.material,
                    "reference_translation": version.reference_translation,
                    "effective_at": version.effective_at.isoformat(),
                    "sha256": version.text_sha256,
                    "accounts": accepted,
                }
            )
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
        return
    for row in rows:
        nature = "material" if row["material"] else "supplementary"
        print(
            f"{row['kind']}\tv{row['version']}\t{row['language']}\t{nature}\t"
            f"{row['effective_at']}\t{row['accounts']} accounts\t{row['title']}"
        )


def cmd_agreements_add_kind(config: Config, args: argparse.Namespace) -> None:
    from idp.identity.agreements import AgreementError, add_kind

    db = _database(config)
    try:
        with db.transaction() as session:
            add_kind(session, args.kind, args.title, args.applies_to)
    except AgreementError as exc:
        raise CommandError(str(exc)) from None
    _audit(db, "agreement_kind_added", details={"kind": args.kind})
    print(f"added agreement kind {args.kind}")


def cmd_agreements_publish(config: Config, args: argparse.Namespace) -> None:
    from datetime import datetime

    from idp.identity.agreements import AgreementError, publish

    try:
        # utf-8-sig: a byte order mark (Windows editors) is not part of the agreement text.
        with open(args.file, encoding="utf-8-sig") as fh:
            text = fh.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"cannot read {args.file}: {exc}") from None
    effective_at = None
    if args.effective_at:
        try:
            effective_at = datetime.fromisoformat(args.effective_at)
        except ValueError:
            raise CommandError("--effective-at must be an ISO 8601 time") from None
        if effective_at.tzinfo is None:
            raise CommandError("--effective-at needs a time zone, e.g. 2027-01-01T00:00+08:00")
    db = _database(config)
    try:
        with db.transaction() as session:
            version = publish(
                session,
                kind=args.kind,
                text=text,
                language=args.language,
                material=args.material,
                published_by="cli",
                version=args.version,
                effective_at=effective_at,
                reference_translation=args.reference_translation,
            )
    except AgreementError as exc:
        raise CommandError(str(exc)) from None
    _audit(
        db,
        "agreement_published",
        details={"kind": version.kind, "version": version.version, "language": version.language},
    )
    nature = "material" if version.material else "supplementary"
    print(
        json.dumps(
            {
                "kind": version.kind,
                "version": version.version,
                "language": version.language,
                "nature": nature,
                "sha256": version.text_sha256,
                "effective_at": version.effective_at.isoformat(),
            },
            ensure_ascii=False,
        )
    )


def cmd_agreements_acceptances(config: Config, args: argparse.Namespace) -> None:
    from idp.identity.agreements import history

    db = _database(config)
    account = _find_account(db, args.account, config)
    rows = [
        {
            "kind": row.kind,
            "version": row.version,
            "action": row.action,
            "language": row.language,
            "sha256": row.text_sha256,
            "time": row.accepted_at.isoformat(),
            "ip_address": row.ip_address,
            "user_agent": row.user_agent,
            "client_id": row.client_id,
        }
        for row in history(db.session, account.id)
    ]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
        return
    for row in rows:
        print(
            f"{row['time']}\t{row['kind']}\tv{row['version']}\t{row['action']}\t"
            f"{row['client_id'] or '-'}\t{row['ip_address'] or '-'}\t{row['sha256']}"
        )


def cmd_audit_verify(config: Config, args: argparse.Namespace) -> None:
    from idp.identity.disclosures import verify

    result = verify(_database(config).session)
    if result.ok:
        print(f"disclosure chain intact: {result.entries} entries")
        return
    raise CommandError(f"disclosure chain broken at entry {result.first_broken}: {result.reason}")


def cmd_sms_outbox(config: Config, args: argparse.Namespace) -> None:
    """The latest messages of the development SMS outbox (IDP_SMS_OUTBOX), newest first."""
    from idp.identity.sms import SmsCodes

    if args.limit < 1:
        raise CommandError("--limit must be at least 1")
    try:
        entries = SmsCodes.read_outbox(config.SMS_OUTBOX, phone=args.phone, limit=args.limit)
    except OSError as exc:
        raise CommandError(f"cannot read {config.SMS_OUTBOX}: {exc.strerror}") from None
    if args.json:
        print(json.dumps(entries, ensure_ascii=False))
        return
    for entry in entries:
        columns = (entry.get(name) for name in ("time", "phone", "purpose", "code"))
        print("\t".join(str(value) for value in columns))


# -- admins ---------------------------------------------------------------------------------


def _admins(config: Config) -> Any:
    from idp.identity.admins import Administrators

    return Administrators(_database(config), _personal_data(config))


def cmd_admins_grant(config: Config, args: argparse.Namespace) -> None:
    """Make an account an administrator (docs/administration.md); it enrols TOTP at its first
    console login. Granting again changes the role and keeps the second factor."""
    from idp.identity.admins import AdminError

    admins = _admins(config)
    account = _find_account(admins.db, args.account, config)
    reason = (args.reason or "").strip()
    try:
        admin, previous = admins.grant(account, args.role, granted_by="cli")
    except AdminError as exc:
        raise CommandError(str(exc)) from None
    _audit(
        admins.db,
        "admin_granted",
        account_id=account.id,
        details={"role": args.role, "previous_role": previous, "reason": reason},
    )
    print(
        json.dumps(
            {
                "account_id": account.id,
                "role": admin.role,
                "previous_role": previous,
                "enrolled": admin.enrolled,
            }
        )
    )


def cmd_admins_revoke(config: Config, args: argparse.Namespace) -> None:
    """Take the role away: its second factor and API tokens go with it; console sessions stop."""
    admins = _admins(config)
    account = _find_account(admins.db, args.account, config)
    if not admins.revoke(account.id):
        raise CommandError("the account is not an administrator")
    _audit(
        admins.db,
        "admin_revoked",
        account_id=account.id,
        details={"reason": (args.reason or "").strip()},
    )
    print(json.dumps({"account_id": account.id, "revoked": True}))


def cmd_admins_list(config: Config, args: argparse.Namespace) -> None:
    from idp.models.base import utcnow

    admins = _admins(config)
    now = utcnow()
    rows = [
        {
            "account_id": admin.account_id,
            "username": admin.account.username,
            "role": admin.role,
            "status": admin.account.status,
            "enrolled": admin.enrolled,
            "recovery_codes_left": len(admin.recovery_code_hashes or []),
            "api_tokens": sum(
                1
                for token in admins.api_tokens(admin.account_id)
                if token.revoked_at is None and token.expires_at > now
            ),
            "granted_by": admin.granted_by,
            "created_at": admin.created_at.isoformat(),
        }
        for admin in admins.all()
    ]
    if args.json:
        print(json.dumps(rows))
        return
    for row in rows:
        enrolled = "enrolled" if row["enrolled"] else "not enrolled"
        print(
            f"{row['account_id']}\t{row['role']}\t{row['status']}\t{enrolled}\t"
            f"{row['recovery_codes_left']} recovery codes\t{row['api_tokens']} API tokens\t"
            f"{row['username'] or '-'}"
        )


def cmd_admins_api_token(config: Config, args: argparse.Namespace) -> None:
    """A bearer token for the admin API, printed once (only its SHA-256 is stored)."""
    from idp.identity.admins import AdminError

    admins = _admins(config)
    account = _find_account(admins.db, args.account, config)
    admin = admins.find(account.id)
    if admin is None:
        raise CommandError("the account is not an administrator (idp admins grant)")
    try:
        row, token = admins.issue_api_token(admin, args.name, args.days)
    except AdminError as exc:
        raise CommandError(str(exc)) from None
    _audit(
        admins.db,
        "admin_api_token_issued",
        account_id=account.id,
        details={"token_id": row.id, "name": row.name, "expires_at": row.expires_at.isoformat()},
    )
    print(
        json.dumps(
            {
                "id": row.id,
                "account_id": account.id,
                "role": admin.role,
                "name": row.name,
                "expires_at": row.expires_at.isoformat(),
                "token": token,
            },
            ensure_ascii=False,
        )
    )
    print("the token is shown once: store it now", file=sys.stderr)


def cmd_admins_revoke_api_token(config: Config, args: argparse.Namespace) -> None:
    admins = _admins(config)
    row = admins.revoke_api_token(args.token_id) if len(args.token_id) <= 36 else None
    if row is None:
        raise CommandError(f"no API token {args.token_id}")
    _audit(
        admins.db,
        "admin_api_token_revoked",
        account_id=row.account_id,
        details={"token_id": row.id},
    )
    print(json.dumps({"id": row.id, "revoked_at": row.revoked_at.isoformat()}))


# -- keys -----------------------------------------------------------------------------------


def _key_rows(ring: KeyRing) -> list[dict[str, Any]]:
    return [
        {
            "kid": k.kid,
            "alg": k.alg,
            "status": k.status,
            "created_at": k.created_at,
            "activated_at": k.activated_at,
            "retired_at": k.retired_at,
        }
        for k in ring.list()
    ]


def cmd_keys_list(config: Config, args: argparse.Namespace) -> None:
    ring = _keyring(config)
    ring.ensure()
    rows = _key_rows(ring)
    if args.json:
        print(json.dumps(rows))
        return
    for row in rows:
        print(f"{row['kid']}\t{row['alg']}\t{row['status']}")


def cmd_keys_rotate(config: Config, args: argparse.Namespace) -> None:
    ring = _keyring(config)
    ring.ensure()
    ring.rotate(args.alg)
    _audit(_database(config), "keys_rotated", details={"alg": args.alg or "all"})
    rows = _key_rows(ring)
    if args.json:
        print(json.dumps(rows))
        return
    for row in rows:
        print(f"{row['kid']}\t{row['alg']}\t{row['status']}")


def cmd_keys_rotate_data(config: Config, args: argparse.Namespace) -> None:
    """Encrypt every sealed value under the current data key: after adding a new key to the
    key ring file (done here), or after putting a new key first in IDP_DATA_KEY."""
    from idp.identity.personal_data import add_key_to_file
    from idp.models.account import SEALED_COLUMNS
    from idp.models.admin import Administrator

    if not config.DATA_KEY:
        add_key_to_file(config.keys_path)
    personal_data = _personal_data(config)
    db = _database(config)
    resealed = 0
    with db.transaction() as session:
        for account in session.scalars(select(Account)):
            for column in SEALED_COLUMNS:
                sealed = getattr(account, column)
                if sealed is None:
                    continue
                fresh = personal_data.reseal(sealed, account.context(column))
                if fresh is not None:
                    setattr(account, column, fresh)
                    resealed += 1
        # The console's second factor is sealed too.
        for admin in session.scalars(select(Administrator)):
            if admin.totp_secret_sealed is None:
                continue
            fresh = personal_data.reseal(admin.totp_secret_sealed, admin.totp_context)
            if fresh is not None:
                admin.totp_secret_sealed = fresh
                resealed += 1
    _audit(db, "data_key_rotated", details={"key_id": personal_data.current, "values": resealed})
    print(json.dumps({"current_key": personal_data.current, "resealed": resealed}))


# -- legal persons: the matters catalogue and companies (docs/legal-persons.md) -------------

MATTER_FIELDS = ("code", "name", "name_en", "active")


def _entities(config: Config, db: Database) -> Any:
    from idp.identity.entities import Entities

    people = _people(config, db)
    return Entities(
        db,
        people,
        people.verifier,
        max_administrators=config.ENTITY_MAX_ADMINISTRATORS,
        grant_days=config.HANDLER_GRANT_DAYS,
    )


def _matter_rows(path: str) -> list[dict[str, Any]]:
    """A JSON list of objects, or CSV with a header row (``code,name,name_en``; ``active``
    optional). Unknown fields are refused, so a misspelt column cannot silently mean nothing."""
    import csv
    import io

    try:
        with open(path, encoding="utf-8-sig") as fh:
            text = fh.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"cannot read {path}: {exc}") from None
    if path.lower().endswith(".json") or text.lstrip().startswith("["):
        try:
            rows = json.loads(text)
        except ValueError as exc:
            raise CommandError(f"{path}: not valid JSON: {exc}") from None
        if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
            raise CommandError(f"{path}: expected a JSON list of objects")
    else:
        reader = csv.DictReader(io.StringIO(text))
        header = [name.strip() for name in reader.fieldnames or []]
        if "code" not in header or "name" not in header:
            raise CommandError(f"{path}: the CSV header must be code,name,name_en")
        reader.fieldnames = header
        rows = []
        for row in reader:
            if None in row:
                raise CommandError(f"{path}: line {reader.line_num} has too many fields")
            rows.append(row)
    for index, row in enumerate(rows, 1):
        unknown = sorted(set(row) - set(MATTER_FIELDS))
        if unknown:
            raise CommandError(f"entry {index}: unknown field {unknown[0]!r}")
        active = row.get("active", True)
        if isinstance(active, str):
            if active.strip().lower() not in {"", "true", "yes", "1", "false", "no", "0"}:
                raise CommandError(f"entry {index}: 'active' must be true or false")
            row["active"] = active.strip().lower() not in {"false", "no", "0"}
        elif not isinstance(active, bool):
            raise CommandError(f"entry {index}: 'active' must be true or false")
        for name in ("code", "name", "name_en"):
            if row.get(name) is not None and not isinstance(row[name], str):
                raise CommandError(f"entry {index}: {name!r} must be a string")
    if not rows:
        raise CommandError(f"{path}: no entries")
    return rows


def cmd_matters_import(config: Config, args: argparse.Namespace) -> None:
    """Add or update classes of matters (all or nothing)."""
    from idp.identity.entities import EntityError

    db = _database(config)
    rows = _matter_rows(args.file)
    try:
        added, updated = _entities(config, db).import_matters(rows)
    except EntityError as exc:
        raise CommandError(str(exc.code)) from None
    _audit(db, "matters_imported", details={"added": added, "updated": updated})
    print(f"imported {len(rows)} classes of matters: {added} added, {updated} updated")


def cmd_matters_list(config: Config, args: argparse.Namespace) -> None:
    entries = _entities(config, _database(config)).matters(include_inactive=True)
    rows = [
        {
            "code": entry.code,
            "name": entry.name,
            "name_en": entry.name_en,
            "parent": entry.parent,
            "active": entry.active,
        }
        for entry in entries
    ]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
        return
    for row in rows:
        state = "" if row["active"] else "\t(inactive)"
        print(f"{row['code']}\t{row['name']}\t{row['name_en'] or ''}{state}")


def _entity_json(entity: Any) -> dict[str, Any]:
    return {
        "id": entity.id,
        "sub": entity.subject,
        "uscc": entity.uscc,
        "name": entity.name,
        "type": entity.entity_type,
        "region": entity.region,
        "status": entity.status,
        "verification_level": entity.verification_level,
        "registry_reference": entity.registry_reference,
        "verified_at": entity.verified_at.isoformat(),
        "created_at": entity.created_at.isoformat(),
    }


def _find_entity(entities: Any, uscc: str) -> Any:
    from idp.identity.documents import normalize_uscc

    entity = entities.by_uscc(normalize_uscc(uscc or "")[:18])
    if entity is None:
        raise CommandError("no company with this unified social credit code is registered")
    return entity


def cmd_entities_list(config: Config, args: argparse.Namespace) -> None:
    from sqlalchemy import func

    from idp.models import EntityRole, HandlerGrant, LegalEntity

    db = _database(config)
    administrators = dict(
        db.session.execute(
            select(EntityRole.entity_id, func.count())
            .where(EntityRole.role == "administrator")
            .group_by(EntityRole.entity_id)
        ).all()
    )
    active_grants = dict(
        db.session.execute(
            select(HandlerGrant.entity_id, func.count())
            .where(HandlerGrant.status == "active")
            .group_by(HandlerGrant.entity_id)
        ).all()
    )
    rows = [
        {
            **_entity_json(entity),
            "administrators": administrators.get(entity.id, 0),
            "active_handler_grants": active_grants.get(entity.id, 0),
        }
        for entity in db.session.scalars(select(LegalEntity).order_by(LegalEntity.created_at))
    ]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
        return
    for row in rows:
        print(f"{row['uscc']}\t{row['status']}\t{row['type']}\t{row['region']}\t{row['name']}")


def cmd_entities_show(config: Config, args: argparse.Namespace) -> None:
    """A company, its roles and its handler grants; people masked (never in clear)."""
    db = _database(config)
    entities = _entities(config, db)
    entity = _find_entity(entities, args.uscc)
    masked: dict[str, dict[str, Any]] = {}

    def person(account_id: str) -> dict[str, Any]:
        if account_id not in masked:
            account = db.session.get(Account, account_id)
            shown = entities.people.profile(account).masked if account is not None else {}
            masked[account_id] = {
                "sub": account.subject if account is not None else None,
                "name": shown.get("name"),
                "phone": shown.get("phone"),
                "verification_level": account.verification_level if account else None,
            }
        return masked[account_id]

    data = {
        **_entity_json(entity),
        "roles": [
            {
                "id": role.id,
                "role": role.role,
                "person": person(role.account_id),
                "grade": role.grade,
                "matters": list(role.matters),
                "regions": list(role.regions),
                "since": role.created_at.isoformat(),
            }
            for role in entities.roles(entity.id)
        ],
        "handler_grants": [
            {
                "id": grant.id,
                "handler": person(grant.account_id),
                "grade": grant.grade,
                "matters": list(grant.matters),
                "regions": list(grant.regions),
                "status": grant.status,
                "valid_from": grant.valid_from.isoformat(),
                "valid_until": grant.valid_until.isoformat(),
                "confirmed_at": grant.confirmed_at.isoformat() if grant.confirmed_at else None,
            }
            for grant in entities.grants(entity.id)
        ],
    }
    print(json.dumps(data, ensure_ascii=False, indent=None if args.json else 2))


def _set_entity_status(config: Config, args: argparse.Namespace, status: str) -> None:
    """The authority suspends a company (every company login ends at once) or reinstates it
    (revoked tokens stay revoked)."""
    reason = (args.reason or "").strip()
    if not reason or len(reason) > 500:
        raise CommandError("--reason must be 1 to 500 characters")
    db = _database(config)
    entities = _entities(config, db)
    entity = _find_entity(entities, args.uscc)
    wanted_from = "active" if status == "suspended" else "suspended"
    if entity.status != wanted_from:
        raise CommandError(f"the company is {entity.status}, not {wanted_from}")
    uscc = entity.uscc
    entities.set_entity_status(entity, status, "cli", reason)
    print(f"{'suspended' if status == 'suspended' else 'reinstated'} {uscc}")


def cmd_entities_suspend(config: Config, args: argparse.Namespace) -> None:
    _set_entity_status(config, args, "suspended")


def cmd_entities_reinstate(config: Config, args: argparse.Namespace) -> None:
    _set_entity_status(config, args, "active")


# -- parser ---------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="idp", description="OpenID Connect identity provider")
    sub = parser.add_subparsers(dest="command", required=True)

    def command(
        parent: Any, name: str, func: Callable[[Config, argparse.Namespace], None], help_: str
    ) -> argparse.ArgumentParser:
        p = parent.add_parser(name, help=help_)
        p.set_defaults(func=func)
        return p

    db = sub.add_parser("db", help="database").add_subparsers(dest="db_command", required=True)
    command(db, "upgrade", cmd_db_upgrade, "apply migrations and create signing keys")
    command(db, "prune", cmd_db_prune, "delete expired grants and tokens")

    serve = command(sub, "serve", cmd_serve, "run the provider under gunicorn")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=5000)
    serve.add_argument("--workers", type=int, default=2)
    serve.add_argument("--threads", type=int, default=4)

    command(sub, "demo-client", cmd_demo_client, "register the demo portal and account")

    clients = sub.add_parser("clients", help="portals").add_subparsers(
        dest="clients_command", required=True
    )
    create = command(clients, "create", cmd_clients_create, "register a portal")
    create.add_argument("--name", required=True)
    create.add_argument("--redirect-uri", action="append")
    create.add_argument("--public", action="store_true")
    create.add_argument("--post-logout-redirect-uri", action="append")
    create.add_argument("--backchannel-logout-uri")
    create.add_argument("--token-endpoint-auth-method", choices=AUTH_METHODS)
    create.add_argument("--scope", action="append", help="allowed scope; repeat")
    create.add_argument("--id-token-alg", default="RS256", choices=SUPPORTED_ALGORITHMS)
    create.add_argument("--jwks-file", help="JSON key set for private_key_jwt")
    create.add_argument("--jwks-uri")
    create.add_argument("--client-id", help="choose the client id (default: random)")
    create.add_argument("--trusted", action="store_true", help="same-authority portal")
    create.add_argument("--json", action="store_true")
    listing = command(clients, "list", cmd_clients_list, "list portals")
    listing.add_argument("--json", action="store_true")
    show = command(clients, "show", cmd_clients_show, "show one portal")
    show.add_argument("client_id")
    delete = command(clients, "delete", cmd_clients_delete, "delete a portal")
    delete.add_argument("client_id")
    level = command(clients, "set-level", cmd_clients_set_level, "minimum verification level")
    level.add_argument("client_id")
    level.add_argument("level", choices=("L1", "L2", "L3", "L4", "none"))
    allow = command(clients, "allow-claim", cmd_clients_allow_claim, "allow a sensitive claim")
    allow.add_argument("client_id")
    allow.add_argument("claim", help="e.g. id_number")
    allow.add_argument("value", choices=("yes", "no"))
    trust = command(clients, "set-trusted", cmd_clients_set_trusted, "mark a portal trusted")
    trust.add_argument("client_id")
    trust.add_argument("value", choices=("yes", "no"))
    initial = command(
        clients,
        "initial-access-token",
        cmd_clients_initial_access_token,
        "issue a token for dynamic registration (RFC 7591)",
    )
    initial.add_argument("--uses", type=int, default=1, help="registrations allowed (default 1)")
    initial.add_argument("--days", type=int, default=7, help="days until it expires (default 7)")
    initial.add_argument("--json", action="store_true")

    agreements = sub.add_parser("agreements", help="registration agreements").add_subparsers(
        dest="agreements_command", required=True
    )
    alist = command(agreements, "list", cmd_agreements_list, "list kinds and versions")
    alist.add_argument("--json", action="store_true")
    kind = command(agreements, "add-kind", cmd_agreements_add_kind, "add an agreement kind")
    kind.add_argument("--kind", required=True)
    kind.add_argument("--title", required=True)
    kind.add_argument(
        "--applies-to", default="all", choices=("natural_person", "legal_person", "all")
    )
    publish = command(agreements, "publish", cmd_agreements_publish, "publish a version")
    publish.add_argument("--kind", required=True)
    publish.add_argument("--file", required=True, help="UTF-8 text of the agreement")
    publish.add_argument("--language", default="zh-CN")
    publish.add_argument(
        "--material", action="store_true", help="needs fresh acceptance (default: supplementary)"
    )
    publish.add_argument("--version", type=int, help="default: the next number")
    publish.add_argument("--effective-at", help="ISO 8601 time with zone (default: now)")
    publish.add_argument(
        "--reference-translation",
        action="store_true",
        help="a translation of an existing version, for reference only",
    )
    acceptances = command(
        agreements, "acceptances", cmd_agreements_acceptances, "an account's acceptance history"
    )
    acceptances.add_argument("--account", required=True, help="account id, username or sub")
    acceptances.add_argument("--json", action="store_true")

    audit = sub.add_parser("audit", help="audit and disclosure logs").add_subparsers(
        dest="audit_command", required=True
    )
    command(audit, "verify", cmd_audit_verify, "verify the disclosure hash chain")

    sms = sub.add_parser("sms", help="SMS codes").add_subparsers(dest="sms_command", required=True)
    outbox = command(sms, "outbox", cmd_sms_outbox, "latest messages of the development outbox")
    outbox.add_argument("--phone", help="only messages to this phone")
    outbox.add_argument("--limit", type=int, default=10)
    outbox.add_argument("--json", action="store_true")

    users = sub.add_parser("users", help="accounts").add_subparsers(
        dest="users_command", required=True
    )
    ucreate = command(users, "create", cmd_users_create, "create an account")
    ucreate.add_argument("--username", required=True)
    ucreate.add_argument("--password", required=True)
    ucreate.add_argument("--name")
    unlock = command(users, "unlock", cmd_users_unlock, "clear the failed-login lock of an account")
    unlock.add_argument("username", help="username, phone number or ID number")
    suspend = command(users, "suspend", cmd_users_suspend, "suspend an account (clause 7)")
    suspend.add_argument("account", help="account id, username or sub")
    suspend.add_argument("--reason", required=True)
    ushow = command(users, "show", cmd_users_show, "masked profile, level and evidence")
    ushow.add_argument("account", help="account id, sub, username, phone or ID number")
    ushow.add_argument("--json", action="store_true")
    in_person = command(
        users, "verify-in-person", cmd_users_verify_in_person, "record an L4 counter check"
    )
    in_person.add_argument("account", help="account id, sub, username, phone or ID number")
    in_person.add_argument("--reference", required=True, help="the service counter's reference")
    reinstate = command(users, "reinstate", cmd_users_reinstate, "lift a suspension")
    reinstate.add_argument("account", help="account id, username or sub")
    reinstate.add_argument("--reason")

    from idp.identity.admins import ROLES as ADMIN_ROLES

    admins = sub.add_parser("admins", help="administrators").add_subparsers(
        dest="admins_command", required=True
    )
    grant = command(admins, "grant", cmd_admins_grant, "make an account an administrator")
    grant.add_argument("account", help="account id, sub, username, phone or ID number")
    grant.add_argument("--role", required=True, choices=ADMIN_ROLES)
    grant.add_argument("--reason")
    arevoke = command(admins, "revoke", cmd_admins_revoke, "take the administrator role away")
    arevoke.add_argument("account", help="account id, sub, username, phone or ID number")
    arevoke.add_argument("--reason")
    adlist = command(admins, "list", cmd_admins_list, "list administrators")
    adlist.add_argument("--json", action="store_true")
    token = command(admins, "api-token", cmd_admins_api_token, "issue an admin API token")
    token.add_argument("account", help="account id, sub, username, phone or ID number")
    token.add_argument("--name", default="admin API")
    token.add_argument("--days", type=int, default=90, help="lifetime (1 to 365, default 90)")
    untoken = command(
        admins, "revoke-api-token", cmd_admins_revoke_api_token, "revoke an admin API token"
    )
    untoken.add_argument("token_id")

    backchannel = sub.add_parser("backchannel", help="back-channel logout").add_subparsers(
        dest="backchannel_command", required=True
    )
    command(backchannel, "deliver", cmd_backchannel_deliver, "deliver due logouts now")

    keys = sub.add_parser("keys", help="signing keys").add_subparsers(
        dest="keys_command", required=True
    )
    klist = command(keys, "list", cmd_keys_list, "list signing keys")
    klist.add_argument("--json", action="store_true")
    rotate = command(keys, "rotate", cmd_keys_rotate, "next -> active -> retired; new next key")
    rotate.add_argument("--alg", choices=SUPPORTED_ALGORITHMS)
    rotate.add_argument("--json", action="store_true")
    command(keys, "rotate-data", cmd_keys_rotate_data, "new data key; re-encrypt personal data")

    matters = sub.add_parser("matters", help="catalogue of government service matters")
    matters_sub = matters.add_subparsers(dest="matters_command", required=True)
    mimport = command(matters_sub, "import", cmd_matters_import, "add or update classes")
    mimport.add_argument("file", help="JSON list or CSV with header code,name,name_en")
    mlist = command(matters_sub, "list", cmd_matters_list, "list the catalogue")
    mlist.add_argument("--json", action="store_true")

    entities = sub.add_parser("entities", help="legal persons (companies)").add_subparsers(
        dest="entities_command", required=True
    )
    elist = command(entities, "list", cmd_entities_list, "list registered companies")
    elist.add_argument("--json", action="store_true")
    eshow = command(entities, "show", cmd_entities_show, "a company, its roles and grants")
    eshow.add_argument("uscc", help="unified social credit code")
    eshow.add_argument("--json", action="store_true")
    esuspend = command(entities, "suspend", cmd_entities_suspend, "suspend a company")
    esuspend.add_argument("uscc", help="unified social credit code")
    esuspend.add_argument("--reason", required=True)
    ereinstate = command(entities, "reinstate", cmd_entities_reinstate, "lift a suspension")
    ereinstate.add_argument("uscc", help="unified social credit code")
    ereinstate.add_argument("--reason", required=True)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        config = load_config()
        args.func(config, args)
    except ConfigError as exc:
        print(f"idp: configuration: {exc}", file=sys.stderr)
        return 2
    except CommandError as exc:
        print(f"idp: {exc}", file=sys.stderr)
        return 2
    except OperationalError as exc:
        print(f"idp: database unavailable: {exc.orig}", file=sys.stderr)
        return 1
    finally:
        while _opened:
            _opened.pop().dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
