"""``idp admins``: console administrators and admin API tokens (docs/administration.md).

These commands use the administrator records only, never Redis: the second factor is enrolled
and checked at the console, never here.
"""

from __future__ import annotations

import argparse
import json
import sys

from idp.cli.base import (
    ACTOR,
    CommandError,
    Row,
    Subparsers,
    add_command,
    add_group,
    find_account,
    print_rows,
)
from idp.identity.admins import ROLES
from idp.models.base import utcnow
from idp.services import Services

ACCOUNT_HELP = "account id, sub, username, phone or ID number"
# An API token id is a UUID; anything longer names no token.
MAX_TOKEN_ID_LENGTH = 36


def grant(services: Services, args: argparse.Namespace) -> None:
    """Make an account an administrator; it enrols TOTP at its first console login. Granting
    again changes the role and keeps the second factor."""
    account = find_account(services, args.account)
    reason = (args.reason or "").strip()
    admin, previous = services.admins.grant(account, args.role, granted_by=ACTOR)
    services.audit(
        "admin_granted",
        actor=ACTOR,
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


def revoke(services: Services, args: argparse.Namespace) -> None:
    """Take the role away: its second factor and API tokens go with it; console sessions stop."""
    account = find_account(services, args.account)
    if not services.admins.revoke(account.id):
        raise CommandError("the account is not an administrator")
    services.audit(
        "admin_revoked",
        actor=ACTOR,
        account_id=account.id,
        details={"reason": (args.reason or "").strip()},
    )
    print(json.dumps({"account_id": account.id, "revoked": True}))


def listing(services: Services, args: argparse.Namespace) -> None:
    admins = services.admins
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
    print_rows(rows, args.json, _admin_line, ascii_json=True)


def _admin_line(row: Row) -> str:
    enrolled = "enrolled" if row["enrolled"] else "not enrolled"
    return (
        f"{row['account_id']}\t{row['role']}\t{row['status']}\t{enrolled}\t"
        f"{row['recovery_codes_left']} recovery codes\t{row['api_tokens']} API tokens\t"
        f"{row['username'] or '-'}"
    )


def api_token(services: Services, args: argparse.Namespace) -> None:
    """A bearer token for the admin API, printed once (only its SHA-256 is stored)."""
    admins = services.admins
    account = find_account(services, args.account)
    admin = admins.find(account.id)
    if admin is None:
        raise CommandError("the account is not an administrator (idp admins grant)")
    row, token = admins.issue_api_token(admin, args.name, args.days)
    services.audit(
        "admin_api_token_issued",
        actor=ACTOR,
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


def revoke_api_token(services: Services, args: argparse.Namespace) -> None:
    token_id = args.token_id
    row = None
    if len(token_id) <= MAX_TOKEN_ID_LENGTH:
        row = services.admins.revoke_api_token(token_id)
    if row is None:
        raise CommandError(f"no API token {token_id}")
    assert row.revoked_at is not None  # set now, or when it was revoked before
    services.audit(
        "admin_api_token_revoked",
        actor=ACTOR,
        account_id=row.account_id,
        details={"token_id": row.id},
    )
    print(json.dumps({"id": row.id, "revoked_at": row.revoked_at.isoformat()}))


def register(subparsers: Subparsers) -> None:
    admins = add_group(subparsers, "admins", "administrators")
    parser = add_command(admins, "grant", grant, "make an account an administrator")
    parser.add_argument("account", help=ACCOUNT_HELP)
    parser.add_argument("--role", required=True, choices=ROLES)
    parser.add_argument("--reason")
    parser = add_command(admins, "revoke", revoke, "take the administrator role away")
    parser.add_argument("account", help=ACCOUNT_HELP)
    parser.add_argument("--reason")
    parser = add_command(admins, "list", listing, "list administrators")
    parser.add_argument("--json", action="store_true")
    parser = add_command(admins, "api-token", api_token, "issue an admin API token")
    parser.add_argument("account", help=ACCOUNT_HELP)
    parser.add_argument("--name", default="admin API")
    parser.add_argument("--days", type=int, default=90, help="lifetime (1 to 365, default 90)")
    parser = add_command(admins, "revoke-api-token", revoke_api_token, "revoke an admin API token")
    parser.add_argument("token_id")
