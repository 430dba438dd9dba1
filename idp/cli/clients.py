"""``idp clients``: portals, through the rules shared with the console, the admin API and
dynamic registration (``idp.oauth.clients``, docs/portals.md)."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterator, Sequence
from typing import Any

from idp.cli import client_security
from idp.cli.base import ACTOR, CommandError, Subparsers, add_command, add_group, print_rows
from idp.models import Client
from idp.models.client import PUBLIC_AUTH_METHOD, SECRET_AUTH_METHODS
from idp.oauth.clients import AUTH_METHODS, REMOTE_CODES, Actor, ClientNotFound, InvalidMetadata
from idp.oauth.fapi import PROFILES
from idp.oauth.keys import SUPPORTED_ALGORITHMS
from idp.oauth.request_objects import REQUEST_OBJECT_ALGORITHMS
from idp.services import Services

REGISTRY_ACTOR = Actor(ACTOR, ACTOR)
# Checks the command reports as warnings rather than refusals (see ``create_client``).
# Only what depends on the network is a warning for the operator's tool; a reused name is not
# (portal names are unique in the database: ``client_names``).
CLI_ADVISORY = frozenset(REMOTE_CODES)


def client_json(client: Client, secret: str | None = None) -> dict[str, Any]:
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
        "require_mfa": bool(client.require_mfa),
        # FAPI 2.0 (docs/portals.md, "FAPI 2.0").
        "profile": client.profile,
        "require_pushed_authorization_requests": bool(client.require_pushed_authorization_requests),
        "require_signed_request_object": bool(client.require_signed_request_object),
        "request_object_signing_alg": client.request_object_signing_alg,
        "authorization_signed_response_alg": client.authorization_signed_response_alg,
        "dpop_bound_access_tokens": bool(client.dpop_bound_access_tokens),
        "created_at": client.created_at.isoformat(),
    }
    if secret:
        data["client_secret"] = secret
    return data


@contextlib.contextmanager
def existing(client_id: str) -> Iterator[None]:
    """The portal the command names must exist: ``no client ID`` otherwise."""
    try:
        yield
    except ClientNotFound:
        raise CommandError(f"no client {client_id}") from None


def create_client(
    services: Services,
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
    matters: Sequence[str] = (),
    protection: dict[str, Any] | None = None,
) -> tuple[Client, str | None]:
    """Register a portal through the shared rules. The command is the operator's own tool: a
    jwks_uri or sector_identifier_uri that does not answer yet is registered with a warning on
    stderr instead of refused (``CLI_ADVISORY``); any other broken rule, a name another portal
    already uses included, is refused with every field's problem (``InvalidMetadata``)."""
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
        "matters": list(matters) or None,
        # FAPI 2.0: the profile, PAR, request objects, JARM (``protection_options``).
        **(protection or {}),
    }
    outcome = services.clients.create(
        data, actor=REGISTRY_ACTOR, client_id=client_id, advisory=CLI_ADVISORY
    )
    for warning in outcome.warnings:
        print(f"idp: warning: {warning.label}: {warning.message}", file=sys.stderr)
    return outcome.client, outcome.client_secret


def create(services: Services, args: argparse.Namespace) -> None:
    jwks = None
    if args.jwks_file:
        try:
            with open(args.jwks_file) as fh:
                jwks = json.load(fh)
        except (OSError, ValueError) as exc:
            raise CommandError(f"cannot read --jwks-file: {exc}") from None
    client, secret = create_client(
        services,
        name=args.name,
        redirect_uris=args.redirect_uri or [],
        public=args.public,
        post_logout_redirect_uris=args.post_logout_redirect_uri or [],
        backchannel_logout_uri=args.backchannel_logout_uri,
        token_endpoint_auth_method=args.token_endpoint_auth_method,
        scopes=args.scope or [],
        # The fapi2 profile signs with PS256 or ES256 (FAPI 2.0 Security Profile 5.4.1).
        id_token_alg=args.id_token_alg or ("PS256" if args.profile == "fapi2" else "RS256"),
        jwks=jwks,
        jwks_uri=args.jwks_uri,
        client_id=args.client_id,
        trusted=args.trusted,
        matters=args.matter or [],
        protection=protection_options(args),
    )
    if args.json:
        print(json.dumps(client_json(client, secret), ensure_ascii=False))
        return
    print(f"client_id:     {client.client_id}")
    if secret:
        print(f"client_secret: {secret}   (shown once; store it now)")
    print(f"auth method:   {client.token_endpoint_auth_method}")
    print(f"redirect URIs: {' '.join(client.redirect_uris)}")


def _read_jwks(path: str) -> Any:
    try:
        with open(path) as fh:
            return json.load(fh)
    except (OSError, ValueError) as exc:
        raise CommandError(f"cannot read --jwks-file: {exc}") from None


def protection_options(args: argparse.Namespace) -> dict[str, Any]:
    """The FAPI 2.0 metadata given on the command line (``none`` clears a value)."""
    data: dict[str, Any] = {}
    for option, name in (
        ("profile", "profile"),
        ("request_object_alg", "request_object_signing_alg"),
        ("authorization_signed_response_alg", "authorization_signed_response_alg"),
    ):
        value = getattr(args, option, None)
        if value is not None:
            data[name] = None if value == "none" else value
    for option, name in (
        ("require_par", "require_pushed_authorization_requests"),
        ("require_signed_request_object", "require_signed_request_object"),
        ("dpop_bound", "dpop_bound_access_tokens"),
    ):
        value = getattr(args, option, None)
        if value is not None:
            data[name] = value == "yes"
    return data


def update(services: Services, args: argparse.Namespace) -> None:
    """Change a portal's authentication, signing and FAPI 2.0 metadata through the shared
    rules (every problem refused at once; moving to private_key_jwt removes the secrets)."""
    data = protection_options(args)
    if args.token_endpoint_auth_method:
        data["token_endpoint_auth_method"] = args.token_endpoint_auth_method
    if args.id_token_alg:
        data["id_token_signed_response_alg"] = args.id_token_alg
    if args.jwks_file:
        data["jwks"] = _read_jwks(args.jwks_file)
        data["jwks_uri"] = None
    with existing(args.client_id):
        outcome = services.clients.update(
            args.client_id, data, actor=REGISTRY_ACTOR, advisory=CLI_ADVISORY
        )
    for warning in outcome.warnings:
        print(f"idp: warning: {warning.label}: {warning.message}", file=sys.stderr)
    print(json.dumps(client_json(outcome.client, outcome.client_secret), ensure_ascii=False))


def _protection_arguments(parser: argparse.ArgumentParser, *, creating: bool) -> None:
    none = () if creating else ("none",)
    parser.add_argument("--profile", choices=(*PROFILES, *none), help="fapi2: FAPI 2.0")
    parser.add_argument(
        "--require-par", choices=("yes", "no"), help="pushed authorization requests only"
    )
    parser.add_argument(
        "--require-signed-request-object",
        choices=("yes", "no"),
        help="signed request objects only (RFC 9101)",
    )
    parser.add_argument("--request-object-alg", choices=(*REQUEST_OBJECT_ALGORITHMS, *none))
    parser.add_argument(
        "--dpop-bound",
        choices=("yes", "no"),
        help="DPoP-bound tokens only: a DPoP proof with every token request (RFC 9449 5.2)",
    )
    parser.add_argument(
        "--authorization-signed-response-alg",
        choices=(*SUPPORTED_ALGORITHMS, *none),
        help="JARM",
    )


def listing(services: Services, args: argparse.Namespace) -> None:
    rows = [client_json(client) for client in services.clients.clients()]
    print_rows(
        rows,
        args.json,
        lambda row: (
            f"{row['client_id']}\t{row['status']}\t{row['token_endpoint_auth_method']}\t"
            f"{row['client_name']}"
        ),
    )


def show(services: Services, args: argparse.Namespace) -> None:
    with existing(args.client_id):
        client = services.clients.get(args.client_id)
    print(json.dumps(client_json(client), ensure_ascii=False, indent=2))


def delete(services: Services, args: argparse.Namespace) -> None:
    with existing(args.client_id):
        services.clients.delete(args.client_id, actor=REGISTRY_ACTOR)
    print(f"deleted client {args.client_id}")


def set_trusted(services: Services, args: argparse.Namespace) -> None:
    """A trusted portal (a government portal of the same authority) skips the consent page
    for ordinary claims, never for sensitive ones."""
    with existing(args.client_id):
        services.clients.update(
            args.client_id,
            {"trusted": args.value == "yes"},
            actor=REGISTRY_ACTOR,
            advisory=CLI_ADVISORY,
        )
    print(f"client {args.client_id} trusted: {args.value}")


def set_mfa(services: Services, args: argparse.Namespace) -> None:
    """Every login to the portal includes a second factor (``require_mfa``; people without
    one are told to enrol)."""
    with existing(args.client_id):
        services.clients.update(
            args.client_id,
            {"require_mfa": args.value == "yes"},
            actor=REGISTRY_ACTOR,
            advisory=CLI_ADVISORY,
        )
    print(f"client {args.client_id} require_mfa: {args.value}")


def initial_access_token(services: Services, args: argparse.Namespace) -> None:
    """RFC 7591 3: a token with which a portal registers itself at /register-client; shown
    once, stored as a hash; ``--uses`` registrations within ``--days`` days."""
    try:
        row, token = services.clients.issue_initial_access_token(
            uses=args.uses, days=args.days, actor=REGISTRY_ACTOR
        )
    except InvalidMetadata as exc:
        # The fields are the command's options here.
        raise CommandError(
            "; ".join(f"--{error.field}: {error.message}" for error in exc.errors)
        ) from None
    data = {
        "id": row.id,
        "token": token,
        "uses": row.uses_allowed,
        "expires_at": row.expires_at.isoformat(),
        "registration_endpoint": f"{services.issuer}/register-client",
    }
    if args.json:
        print(json.dumps(data))
        return
    print(f"initial access token: {token}   (shown once; give it to the portal's operator)")
    print(f"uses:                 {row.uses_allowed}")
    print(f"expires at:           {data['expires_at']}")
    print(f"register at:          {data['registration_endpoint']}")


def set_level(services: Services, args: argparse.Namespace) -> None:
    """The lowest verification level a login to this portal must reach (step-up)."""
    level = None if args.level == "none" else args.level
    with existing(args.client_id):
        services.clients.set_minimum_level(args.client_id, level)
    services.audit(
        "client_level_changed", actor=ACTOR, client_id=args.client_id, details={"minimum": level}
    )
    print(f"client {args.client_id} minimum verification level: {args.level}")


def allow_claim(services: Services, args: argparse.Namespace) -> None:
    """Allow (or stop allowing) a portal to ask for a sensitive claim such as the full
    ``id_number``; the person still decides each time with a separate tick."""
    sensitive = services.sensitive_claims
    if args.claim not in sensitive:
        names = ", ".join(sorted(sensitive))
        raise CommandError(f"{args.claim} is not a sensitive claim ({names})")
    with existing(args.client_id):
        services.clients.allow_sensitive_claim(args.client_id, args.claim, args.value == "yes")
    services.audit(
        "client_sensitive_claims_changed",
        actor=ACTOR,
        client_id=args.client_id,
        details={"claim": args.claim, "allowed": args.value},
    )
    print(f"client {args.client_id} may ask for {args.claim}: {args.value}")


def register(subparsers: Subparsers) -> None:
    clients = add_group(subparsers, "clients", "portals")
    # pair, unpair, pairs (RFC 8693), rotate-secret, set-encryption (OIDC Core 10.2).
    client_security.register(clients)
    parser = add_command(clients, "create", create, "register a portal")
    parser.add_argument("--name", required=True)
    parser.add_argument("--redirect-uri", action="append")
    parser.add_argument("--public", action="store_true")
    parser.add_argument("--post-logout-redirect-uri", action="append")
    parser.add_argument("--backchannel-logout-uri")
    parser.add_argument("--token-endpoint-auth-method", choices=AUTH_METHODS)
    parser.add_argument("--scope", action="append", help="allowed scope; repeat")
    parser.add_argument(
        "--id-token-alg", choices=SUPPORTED_ALGORITHMS, help="default RS256 (fapi2: PS256)"
    )
    parser.add_argument("--jwks-file", help="JSON key set for private_key_jwt")
    parser.add_argument("--jwks-uri")
    _protection_arguments(parser, creating=True)
    parser.add_argument("--client-id", help="choose the client id (default: random)")
    parser.add_argument("--trusted", action="store_true", help="same-authority portal")
    parser.add_argument(
        "--matter", action="append", help="class of matters served (idp matters list); repeat"
    )
    parser.add_argument("--json", action="store_true")
    parser = add_command(clients, "update", update, "change a portal's auth and FAPI 2.0 metadata")
    parser.add_argument("client_id")
    parser.add_argument("--token-endpoint-auth-method", choices=AUTH_METHODS)
    parser.add_argument("--id-token-alg", choices=SUPPORTED_ALGORITHMS)
    parser.add_argument("--jwks-file", help="JSON key set for private_key_jwt")
    _protection_arguments(parser, creating=False)
    parser = add_command(clients, "list", listing, "list portals")
    parser.add_argument("--json", action="store_true")
    parser = add_command(clients, "show", show, "show one portal")
    parser.add_argument("client_id")
    parser = add_command(clients, "delete", delete, "delete a portal")
    parser.add_argument("client_id")
    parser = add_command(clients, "set-level", set_level, "minimum verification level")
    parser.add_argument("client_id")
    parser.add_argument("level", choices=("L1", "L2", "L3", "L4", "none"))
    parser = add_command(clients, "allow-claim", allow_claim, "allow a sensitive claim")
    parser.add_argument("client_id")
    parser.add_argument("claim", help="e.g. id_number")
    parser.add_argument("value", choices=("yes", "no"))
    parser = add_command(clients, "set-trusted", set_trusted, "mark a portal trusted")
    parser.add_argument("client_id")
    parser.add_argument("value", choices=("yes", "no"))
    parser = add_command(clients, "set-mfa", set_mfa, "require a second factor at login")
    parser.add_argument("client_id")
    parser.add_argument("value", choices=("yes", "no"))
    parser = add_command(
        clients,
        "initial-access-token",
        initial_access_token,
        "issue a token for dynamic registration (RFC 7591)",
    )
    parser.add_argument("--uses", type=int, default=1, help="registrations allowed (default 1)")
    parser.add_argument("--days", type=int, default=7, help="days until it expires (default 7)")
    parser.add_argument("--json", action="store_true")
