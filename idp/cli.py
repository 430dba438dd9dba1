"""The ``idp`` command: database, server, portals (clients), accounts and keys.

Every subcommand reads the same ``IDP_*`` settings as the server (see ``idp.config``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import sys
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError

from idp.config import Config, ConfigError, load_config
from idp.models import Account, AuditEvent, Client
from idp.models.base import Database
from idp.models.client import (
    KEY_AUTH_METHODS,
    PUBLIC_AUTH_METHOD,
    SECRET_AUTH_METHODS,
    hash_client_secret,
)
from idp.oauth.claims import SCOPES_SUPPORTED
from idp.oauth.keys import SUPPORTED_ALGORITHMS, KeyRing

AUTH_METHODS = (*SECRET_AUTH_METHODS, *KEY_AUTH_METHODS, PUBLIC_AUTH_METHOD)
DEMO_CLIENT_ID = "demo-portal"
CLIENT_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
DEMO_REDIRECT_URI = "http://localhost:5001/callback"


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
    upgrade(db.engine)
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


def _validate_uri(uri: str, config: Config, what: str) -> str:
    """Absolute, no fragment; https except loopback (RFC 8252 7.3) or in development."""
    parts = urlsplit(uri)
    if not parts.scheme or not parts.netloc or parts.fragment:
        raise CommandError(f"{what} must be an absolute URI without a fragment: {uri}")
    loopback = parts.hostname in {"localhost", "127.0.0.1", "::1"}
    if parts.scheme != "https" and not (
        parts.scheme == "http" and (loopback or config.development)
    ):
        raise CommandError(f"{what} must use https (http only for loopback addresses): {uri}")
    return uri


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
    if not name.strip():
        raise CommandError("--name must not be empty")
    if client_id is not None and not CLIENT_ID_PATTERN.match(client_id):
        raise CommandError("--client-id must be 1 to 64 letters, digits, '.', '_' or '-'")
    if not redirect_uris:
        raise CommandError("at least one --redirect-uri is required")
    method = token_endpoint_auth_method or (
        PUBLIC_AUTH_METHOD if public else SECRET_AUTH_METHODS[0]
    )
    if method not in AUTH_METHODS:
        raise CommandError(f"--token-endpoint-auth-method must be one of {', '.join(AUTH_METHODS)}")
    if public and method != PUBLIC_AUTH_METHOD:
        raise CommandError("--public clients use token endpoint auth method 'none'")
    if method == "private_key_jwt" and not (jwks or jwks_uri):
        raise CommandError("private_key_jwt needs --jwks-file or --jwks-uri")
    if id_token_alg not in SUPPORTED_ALGORITHMS:
        raise CommandError(f"--id-token-alg must be one of {', '.join(SUPPORTED_ALGORITHMS)}")
    unknown = [s for s in scopes if s not in SCOPES_SUPPORTED]
    if unknown:
        raise CommandError(f"unknown scope(s): {', '.join(unknown)}")
    uris = [_validate_uri(u, config, "redirect URI") for u in redirect_uris]
    logout_uris = [
        _validate_uri(u, config, "post-logout redirect URI") for u in post_logout_redirect_uris
    ]
    if backchannel_logout_uri:
        _validate_uri(backchannel_logout_uri, config, "back-channel logout URI")
    if jwks_uri:
        _validate_uri(jwks_uri, config, "jwks_uri")
    secret = secrets.token_urlsafe(32) if method in SECRET_AUTH_METHODS else None
    client = Client(
        client_id=client_id or secrets.token_hex(16),  # never starts with "-"
        client_secret_hash=hash_client_secret(secret) if secret else None,
        name=name.strip(),
        redirect_uris=list(dict.fromkeys(uris)),
        post_logout_redirect_uris=list(dict.fromkeys(logout_uris)),
        backchannel_logout_uri=backchannel_logout_uri,
        token_endpoint_auth_method=method,
        id_token_signed_response_alg=id_token_alg,
        scopes=list(dict.fromkeys(["openid", *(scopes or ["profile", "offline_access"])])),
        jwks=jwks,
        jwks_uri=jwks_uri,
        trusted=trusted,
    )
    try:
        with db.transaction() as session:
            session.add(client)
    except IntegrityError:
        raise CommandError(f"a client with id {client.client_id} already exists") from None
    _audit(db, "client_created", client_id=client.client_id)
    return client, secret


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
    db = _database(config)
    with db.transaction() as session:
        client = session.get(Client, args.client_id)
        if client is None:
            raise CommandError(f"no client {args.client_id}")
        session.delete(client)
    _audit(db, "client_deleted", client_id=args.client_id)
    print(f"deleted client {args.client_id}")


def cmd_clients_set_trusted(config: Config, args: argparse.Namespace) -> None:
    """A trusted portal (a government portal of the same authority) skips the consent page
    for ordinary claims, never for sensitive ones."""
    db = _database(config)
    with db.transaction() as session:
        client = session.get(Client, args.client_id)
        if client is None:
            raise CommandError(f"no client {args.client_id}")
        client.trusted = args.value == "yes"
    _audit(db, "client_trust_changed", client_id=args.client_id, details={"trusted": args.value})
    print(f"client {args.client_id} trusted: {args.value}")


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
        "  demo account:  demo / demo-password-2026\n"
        "Try a login: open\n"
        f"  {config.ISSUER}/authorize?response_type=code&client_id={DEMO_CLIENT_ID}"
        f"&redirect_uri={DEMO_REDIRECT_URI}&scope=openid%20profile&state=demo"
        f"&code_challenge={challenge}&code_challenge_method=S256\n"
        f"  then exchange the code with code_verifier={verifier}",
        flush=True,
    )


# -- users ----------------------------------------------------------------------------------


def create_account(
    db: Database, config: Config, *, username: str, password: str, name: str | None = None
) -> Account:
    from idp.identity.passwords import Passwords

    username = username.strip()
    if not username or len(username) > 128:
        raise CommandError("--username must be 1 to 128 characters")
    if len(password) < 8:
        raise CommandError("--password must be at least 8 characters")
    passwords = Passwords(
        time_cost=config.ARGON2_TIME_COST,
        memory_kib=config.ARGON2_MEMORY_KIB,
        parallelism=config.ARGON2_PARALLELISM,
    )
    account = Account(username=username, password_hash=passwords.hash(password), name=name)
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
    """The protocol core without a web server, for commands that act as the provider."""
    from idp.oauth.provider import Provider
    from idp.store import connect

    db = _database(config)
    return Provider(config, db, connect(config.REDIS_URL, config.REDIS_EMBEDDED_PATH))


def cmd_users_suspend(config: Config, args: argparse.Namespace) -> None:
    """Natural-person agreement clause 7: end every session and token, tell every portal."""
    if not args.reason.strip():
        raise CommandError("--reason must not be empty")
    provider = _provider(config)
    account = _find_account(provider.db, args.account)
    if account.status == "suspended":
        raise CommandError(f"account {args.account} is already suspended")
    account_id = account.id  # deliver_due ends the database session (detaches the row)
    provider.suspend_account(account, args.reason.strip(), actor="cli")
    delivered = provider.backchannel.deliver_due()
    print(f"suspended {account_id}; back-channel logouts delivered now: {delivered}")


def cmd_users_reinstate(config: Config, args: argparse.Namespace) -> None:
    provider = _provider(config)
    account = _find_account(provider.db, args.account)
    if account.status != "suspended":
        raise CommandError(f"account {args.account} is not suspended")
    provider.reinstate_account(account, (args.reason or "").strip(), actor="cli")
    print(f"reinstated {account.id}")


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
    )
    throttle.unlock(args.username)
    db = _database(config)
    account = db.session.scalar(select(Account).where(Account.username == args.username.strip()))
    _audit(db, "account_unlocked", account_id=account.id if account else None)
    print(f"unlocked {args.username}")


# -- agreements and audit -------------------------------------------------------------------


def _find_account(db: Database, reference: str) -> Account:
    """ACCOUNT is an account id, a username or a subject identifier."""
    from sqlalchemy import or_

    account = db.session.scalar(
        select(Account).where(
            or_(
                Account.id == reference,
                Account.username == reference,
                Account.subject == reference,
            )
        )
    )
    if account is None:
        raise CommandError(f"no account {reference}")
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
    account = _find_account(db, args.account)
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
    trust = command(clients, "set-trusted", cmd_clients_set_trusted, "mark a portal trusted")
    trust.add_argument("client_id")
    trust.add_argument("value", choices=("yes", "no"))

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

    users = sub.add_parser("users", help="accounts").add_subparsers(
        dest="users_command", required=True
    )
    ucreate = command(users, "create", cmd_users_create, "create an account")
    ucreate.add_argument("--username", required=True)
    ucreate.add_argument("--password", required=True)
    ucreate.add_argument("--name")
    unlock = command(users, "unlock", cmd_users_unlock, "clear failed-login lock of a username")
    unlock.add_argument("username")
    suspend = command(users, "suspend", cmd_users_suspend, "suspend an account (clause 7)")
    suspend.add_argument("account", help="account id, username or sub")
    suspend.add_argument("--reason", required=True)
    reinstate = command(users, "reinstate", cmd_users_reinstate, "lift a suspension")
    reinstate.add_argument("account", help="account id, username or sub")
    reinstate.add_argument("--reason")

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
