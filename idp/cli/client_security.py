"""More of ``idp clients``: ``pair|unpair|pairs`` (RFC 8693 token exchange between paired
portals), ``rotate-secret`` (a new secret, the previous one valid for the grace period) and
``set-encryption`` (encrypted ID tokens, signed or encrypted UserInfo: OIDC Core 10.2)."""

from __future__ import annotations

import argparse
import contextlib
import json
from collections.abc import Iterator
from typing import Any

from idp.cli.base import CommandError, Subparsers, add_command
from idp.oauth.clients import Actor, ClientNotFound, NoClientSecret
from idp.oauth.portal_pairs import InvalidPair
from idp.services import Services

ACTOR = Actor("cli", "cli")


@contextlib.contextmanager
def _refusals() -> Iterator[None]:
    try:
        yield
    except ClientNotFound as missing:
        raise CommandError(f"no client {missing.client_id}") from None
    except InvalidPair as refused:
        raise CommandError(refused.message) from None


def pair(services: Services, args: argparse.Namespace) -> None:
    with _refusals():
        services.portal_pairs.pair(args.client_id, args.target, actor=ACTOR, reason=args.reason)
    print(f"client {args.client_id} may exchange tokens for {args.target}")


def unpair(services: Services, args: argparse.Namespace) -> None:
    with _refusals():
        ended = services.portal_pairs.unpair(
            args.client_id, args.target, actor=ACTOR, reason=args.reason
        )
    if not ended:
        raise CommandError(f"clients {args.client_id} and {args.target} are not paired")
    print(f"client {args.client_id} may no longer exchange tokens for {args.target}")


def pairs(services: Services, args: argparse.Namespace) -> None:
    rows: list[dict[str, Any]] = [
        {
            "client_id": row.client_id,
            "target_client_id": row.target_client_id,
            "created_at": row.created_at.isoformat(),
        }
        for row in services.portal_pairs.pairs(args.client_id)
    ]
    if args.json:
        print(json.dumps(rows))
        return
    for row in rows:
        print(f"{row['client_id']}\t-> {row['target_client_id']}\t{row['created_at']}")


def rotate_secret(services: Services, args: argparse.Namespace) -> None:
    try:
        outcome = services.clients.rotate_secret(args.client_id, actor=ACTOR, reason=args.reason)
    except ClientNotFound:
        raise CommandError(f"no client {args.client_id}") from None
    except NoClientSecret:
        raise CommandError(f"client {args.client_id} authenticates without a secret") from None
    expires = outcome.client.previous_secret_expires_at
    if args.json:
        print(
            json.dumps(
                {
                    "client_id": outcome.client.client_id,
                    "client_secret": outcome.client_secret,
                    "previous_secret_expires_at": expires.isoformat() if expires else None,
                }
            )
        )
        return
    print(f"client_secret: {outcome.client_secret}   (shown once; store it now)")
    if expires:
        print(f"the previous secret works until {expires.isoformat()}")


def _alg_enc(value: str | None, alg_field: str, enc_field: str) -> dict[str, Any]:
    if value is None:
        return {}
    if value == "none":
        return {alg_field: None, enc_field: None}
    alg, _, enc = value.partition("/")
    return {alg_field: alg, enc_field: enc or None}


def set_encryption(services: Services, args: argparse.Namespace) -> None:
    """Encrypted ID tokens (``--id-token ALG[/ENC]``), signed UserInfo (``--userinfo-signing
    ALG``), encrypted UserInfo (``--userinfo ALG[/ENC]``); ``none`` clears one. The portal's key
    set must hold a key with ``"use": "enc"`` (``--jwks-file`` replaces it)."""
    data: dict[str, Any] = {
        **_alg_enc(
            args.id_token, "id_token_encrypted_response_alg", "id_token_encrypted_response_enc"
        ),
        **_alg_enc(
            args.userinfo, "userinfo_encrypted_response_alg", "userinfo_encrypted_response_enc"
        ),
    }
    if args.userinfo_signing is not None:
        signing = args.userinfo_signing
        data["userinfo_signed_response_alg"] = None if signing == "none" else signing
    if args.jwks_file:
        try:
            with open(args.jwks_file) as fh:
                data["jwks"] = json.load(fh)
        except (OSError, ValueError) as exc:
            raise CommandError(f"cannot read --jwks-file: {exc}") from None
        data["jwks_uri"] = None
    try:
        outcome = services.clients.update(args.client_id, data, actor=ACTOR, reason=args.reason)
    except ClientNotFound:
        raise CommandError(f"no client {args.client_id}") from None
    client = outcome.client
    print(
        json.dumps(
            {
                "client_id": client.client_id,
                "id_token_encrypted_response_alg": client.id_token_encrypted_response_alg,
                "id_token_encrypted_response_enc": client.id_token_encrypted_response_enc,
                "userinfo_signed_response_alg": client.userinfo_signed_response_alg,
                "userinfo_encrypted_response_alg": client.userinfo_encrypted_response_alg,
                "userinfo_encrypted_response_enc": client.userinfo_encrypted_response_enc,
            }
        )
    )


def register(clients: Subparsers) -> None:
    """Adds these commands to the ``idp clients`` group (``idp.cli.clients.register``)."""
    for name, run, summary in (
        ("pair", pair, "allow token exchange from a portal to another (RFC 8693)"),
        ("unpair", unpair, "end token exchange from a portal to another"),
    ):
        parser = add_command(clients, name, run, summary)
        parser.add_argument("client_id", help="the portal that exchanges tokens")
        parser.add_argument("target", help="the portal the exchanged tokens are for")
        parser.add_argument("--reason")
    parser = add_command(clients, "pairs", pairs, "list token exchange pairs")
    parser.add_argument("client_id", nargs="?")
    parser.add_argument("--json", action="store_true")
    parser = add_command(
        clients, "set-encryption", set_encryption, "encrypted ID tokens and UserInfo"
    )
    parser.add_argument("client_id")
    parser.add_argument("--id-token", metavar="ALG[/ENC]|none", help="e.g. RSA-OAEP-256/A256GCM")
    parser.add_argument("--userinfo", metavar="ALG[/ENC]|none", help="e.g. ECDH-ES/A256GCM")
    parser.add_argument("--userinfo-signing", metavar="ALG|none", help="e.g. RS256")
    parser.add_argument("--jwks-file", help="the portal's key set, with its encryption key")
    parser.add_argument("--reason")
    parser = add_command(clients, "rotate-secret", rotate_secret, "a new client secret")
    parser.add_argument("client_id")
    parser.add_argument("--reason")
    parser.add_argument("--json", action="store_true")
