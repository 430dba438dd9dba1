"""``idp users``: accounts an operator creates, shows, unlocks, suspends and verifies."""

from __future__ import annotations

import argparse
import json

from idp.cli.base import ACTOR, CommandError, Subparsers, add_command, add_group, find_account
from idp.identity.login import throttle_key
from idp.models import Account
from idp.services import Services

ACCOUNT_HELP = "account id, sub, username, phone or ID number"


def create_account(
    services: Services, *, username: str, password: str, name: str | None = None
) -> Account:
    username = username.strip()
    if not username or len(username) > 128:
        raise CommandError("--username must be 1 to 128 characters")
    if len(password) < 8:
        raise CommandError("--password must be at least 8 characters")
    account = services.people.create_account(username, password, name)
    if account is None:
        raise CommandError(f"an account named {username} already exists")
    services.audit("account_created", actor=ACTOR, account_id=account.id)
    return account


def create(services: Services, args: argparse.Namespace) -> None:
    account = create_account(
        services, username=args.username, password=args.password, name=args.name
    )
    print(json.dumps({"id": account.id, "sub": account.subject, "username": account.username}))


def suspend(services: Services, args: argparse.Namespace) -> None:
    """Natural-person agreement clause 7: end every session and token, tell every portal."""
    reason = args.reason.strip()
    if not reason:
        raise CommandError("--reason must not be empty")
    account = find_account(services, args.account)
    if account.status == "suspended":
        raise CommandError(f"account {args.account} is already suspended")
    account_id = account.id  # deliver_due ends the database session (detaches the row)
    services.accounts.suspend(account, reason, actor=ACTOR)
    delivered = services.backchannel.deliver_due()
    print(f"suspended {account_id}; back-channel logouts delivered now: {delivered}")


def reinstate(services: Services, args: argparse.Namespace) -> None:
    account = find_account(services, args.account)
    if account.status != "suspended":
        raise CommandError(f"account {args.account} is not suspended")
    services.accounts.reinstate(account, (args.reason or "").strip(), actor=ACTOR)
    print(f"reinstated {account.id}")


def reset_factors(services: Services, args: argparse.Namespace) -> None:
    """The service desk removes every second factor and recovery code of a person who lost
    them all (their identity checked first); audited with the reason."""
    reason = args.reason.strip()
    if not reason:
        raise CommandError("--reason must not be empty")
    account = find_account(services, args.account)
    removed = services.factors.reset(account.id, actor=ACTOR, reason=reason)
    print(f"removed {removed} second factor(s) of {account.id}")


def show(services: Services, args: argparse.Namespace) -> None:
    """An account's masked profile, level and verification evidence (never plaintext)."""
    people = services.people
    account = find_account(services, args.account)
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


def verify_in_person(services: Services, args: argparse.Namespace) -> None:
    """Level L4: the person was verified in person at a service counter."""
    reference = args.reference.strip()
    if not reference or len(reference) > 128:
        raise CommandError("--reference must be 1 to 128 characters (the counter's reference)")
    account = find_account(services, args.account)
    if account.id_type is None:
        raise CommandError("the account has no identity document to verify")
    before = services.people.record_counter_verification(
        account, reference, ACTOR, action="identity_verified_in_person"
    )
    print(f"verified {account.id} in person: {before} -> L4")


def unlock(services: Services, args: argparse.Namespace) -> None:
    """Clear the failed-login count of an account (or of an identifier no account has)."""
    identifier = args.username.strip()
    account = services.people.find_by_identifier(identifier)
    services.throttle.unlock(throttle_key(account, identifier))
    services.audit("account_unlocked", actor=ACTOR, account_id=account.id if account else None)
    print(f"unlocked {args.username}")


def register(subparsers: Subparsers) -> None:
    users = add_group(subparsers, "users", "accounts")
    parser = add_command(users, "create", create, "create an account")
    parser.add_argument("--username", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--name")
    parser = add_command(users, "unlock", unlock, "clear the failed-login lock of an account")
    parser.add_argument("username", help="username, phone number or ID number")
    parser = add_command(users, "suspend", suspend, "suspend an account (clause 7)")
    parser.add_argument("account", help="account id, username or sub")
    parser.add_argument("--reason", required=True)
    parser = add_command(users, "show", show, "masked profile, level and evidence")
    parser.add_argument("account", help=ACCOUNT_HELP)
    parser.add_argument("--json", action="store_true")
    parser = add_command(users, "verify-in-person", verify_in_person, "record an L4 counter check")
    parser.add_argument("account", help=ACCOUNT_HELP)
    parser.add_argument("--reference", required=True, help="the service counter's reference")
    parser = add_command(users, "reinstate", reinstate, "lift a suspension")
    parser.add_argument("account", help="account id, username or sub")
    parser.add_argument("--reason")
    parser = add_command(
        users, "reset-factors", reset_factors, "remove every second factor (lost device)"
    )
    parser.add_argument("account", help="account id, username or sub")
    parser.add_argument("--reason", required=True)
