"""``idp entities``: legal persons (companies), their roles and handler grants, people masked;
the authority's suspension and reinstatement (docs/legal-persons.md)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from idp.cli.base import ACTOR, CommandError, Subparsers, add_command, add_group, print_rows
from idp.identity.documents import normalize_uscc
from idp.models import LegalEntity
from idp.services import Services

USCC_HELP = "unified social credit code"
MAX_REASON_LENGTH = 500
# What ``idp entities list`` shows of a company without --json.
LISTED_COLUMNS = ("uscc", "status", "type", "region", "name")


def entity_json(entity: LegalEntity) -> dict[str, Any]:
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


def find_entity(services: Services, uscc: str) -> LegalEntity:
    entity = services.entities.by_uscc(normalize_uscc(uscc or "")[:18])
    if entity is None:
        raise CommandError("no company with this unified social credit code is registered")
    return entity


def listing(services: Services, args: argparse.Namespace) -> None:
    rows = [
        {
            **entity_json(company.entity),
            "administrators": company.administrators,
            "active_handler_grants": company.active_handler_grants,
        }
        for company in services.entities.registered()
    ]
    print_rows(
        rows,
        args.json,
        lambda row: "\t".join(str(row[name]) for name in LISTED_COLUMNS),
    )


def show(services: Services, args: argparse.Namespace) -> None:
    """A company, its roles and its handler grants; people masked (never in clear)."""
    entities = services.entities
    people = services.people
    entity = find_entity(services, args.uscc)
    masked: dict[str, dict[str, Any]] = {}

    def person(account_id: str) -> dict[str, Any]:
        if account_id not in masked:
            account = people.by_id(account_id)
            shown = people.profile(account).masked if account is not None else {}
            masked[account_id] = {
                "sub": account.subject if account is not None else None,
                "name": shown.get("name"),
                "phone": shown.get("phone"),
                "verification_level": account.verification_level if account else None,
            }
        return masked[account_id]

    data = {
        **entity_json(entity),
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


def set_status(services: Services, args: argparse.Namespace, status: str) -> None:
    """The authority suspends a company (every company login ends at once) or reinstates it
    (revoked tokens stay revoked)."""
    reason = (args.reason or "").strip()
    if not reason or len(reason) > MAX_REASON_LENGTH:
        raise CommandError(f"--reason must be 1 to {MAX_REASON_LENGTH} characters")
    entity = find_entity(services, args.uscc)
    wanted_from = "active" if status == "suspended" else "suspended"
    if entity.status != wanted_from:
        raise CommandError(f"the company is {entity.status}, not {wanted_from}")
    uscc = entity.uscc
    services.entities.set_entity_status(entity, status, ACTOR, reason)
    print(f"{'suspended' if status == 'suspended' else 'reinstated'} {uscc}")


def suspend(services: Services, args: argparse.Namespace) -> None:
    set_status(services, args, "suspended")


def reinstate(services: Services, args: argparse.Namespace) -> None:
    set_status(services, args, "active")


def register(subparsers: Subparsers) -> None:
    entities = add_group(subparsers, "entities", "legal persons (companies)")
    parser = add_command(entities, "list", listing, "list registered companies")
    parser.add_argument("--json", action="store_true")
    parser = add_command(entities, "show", show, "a company, its roles and grants")
    parser.add_argument("uscc", help=USCC_HELP)
    parser.add_argument("--json", action="store_true")
    parser = add_command(entities, "suspend", suspend, "suspend a company")
    parser.add_argument("uscc", help=USCC_HELP)
    parser.add_argument("--reason", required=True)
    parser = add_command(entities, "reinstate", reinstate, "lift a suspension")
    parser.add_argument("uscc", help=USCC_HELP)
    parser.add_argument("--reason", required=True)
