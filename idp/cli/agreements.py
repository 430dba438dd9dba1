"""``idp agreements``: kinds, published versions and an account's acceptance history
(docs/agreements.md)."""

from __future__ import annotations

import argparse
import json
from datetime import datetime

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
from idp.identity.agreements import APPLIES_TO
from idp.services import Services


def listing(services: Services, args: argparse.Namespace) -> None:
    rows = [
        {
            "kind": published.kind.kind,
            "title": published.kind.title,
            "applies_to": published.kind.applies_to,
            "version": published.version.version,
            "language": published.version.language,
            "material": published.version.material,
            "reference_translation": published.version.reference_translation,
            "effective_at": published.version.effective_at.isoformat(),
            "sha256": published.version.text_sha256,
            "accounts": published.accounts,
        }
        for published in services.agreements.published()
    ]
    print_rows(rows, args.json, _version_line)


def _version_line(row: Row) -> str:
    nature = "material" if row["material"] else "supplementary"
    return (
        f"{row['kind']}\tv{row['version']}\t{row['language']}\t{nature}\t"
        f"{row['effective_at']}\t{row['accounts']} accounts\t{row['title']}"
    )


def add_kind(services: Services, args: argparse.Namespace) -> None:
    services.agreements.add_kind(args.kind, args.title, args.applies_to)
    services.audit("agreement_kind_added", actor=ACTOR, details={"kind": args.kind})
    print(f"added agreement kind {args.kind}")


def effective_time(value: str | None) -> datetime | None:
    """``--effective-at``: an ISO 8601 time with its zone (none: now)."""
    if not value:
        return None
    try:
        effective_at = datetime.fromisoformat(value)
    except ValueError:
        raise CommandError("--effective-at must be an ISO 8601 time") from None
    if effective_at.tzinfo is None:
        raise CommandError("--effective-at needs a time zone, e.g. 2027-01-01T00:00+08:00")
    return effective_at


def publish(services: Services, args: argparse.Namespace) -> None:
    try:
        # utf-8-sig: a byte order mark (Windows editors) is not part of the agreement text.
        with open(args.file, encoding="utf-8-sig") as fh:
            text = fh.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"cannot read {args.file}: {exc}") from None
    version = services.agreements.publish(
        kind=args.kind,
        text=text,
        language=args.language,
        material=args.material,
        published_by=ACTOR,
        version=args.version,
        effective_at=effective_time(args.effective_at),
        reference_translation=args.reference_translation,
    )
    services.audit(
        "agreement_published",
        actor=ACTOR,
        details={"kind": version.kind, "version": version.version, "language": version.language},
    )
    print(
        json.dumps(
            {
                "kind": version.kind,
                "version": version.version,
                "language": version.language,
                "nature": "material" if version.material else "supplementary",
                "sha256": version.text_sha256,
                "effective_at": version.effective_at.isoformat(),
            },
            ensure_ascii=False,
        )
    )


def acceptances(services: Services, args: argparse.Namespace) -> None:
    account = find_account(services, args.account)
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
        for row, _title in services.agreements.history(account.id)
    ]
    print_rows(rows, args.json, _acceptance_line)


def _acceptance_line(row: Row) -> str:
    return (
        f"{row['time']}\t{row['kind']}\tv{row['version']}\t{row['action']}\t"
        f"{row['client_id'] or '-'}\t{row['ip_address'] or '-'}\t{row['sha256']}"
    )


def register(subparsers: Subparsers) -> None:
    agreements = add_group(subparsers, "agreements", "registration agreements")
    parser = add_command(agreements, "list", listing, "list kinds and versions")
    parser.add_argument("--json", action="store_true")
    parser = add_command(agreements, "add-kind", add_kind, "add an agreement kind")
    parser.add_argument("--kind", required=True)
    parser.add_argument("--title", required=True)
    parser.add_argument("--applies-to", default="all", choices=APPLIES_TO)
    parser = add_command(agreements, "publish", publish, "publish a version")
    parser.add_argument("--kind", required=True)
    parser.add_argument("--file", required=True, help="UTF-8 text of the agreement")
    parser.add_argument("--language", default="zh-CN")
    parser.add_argument(
        "--material", action="store_true", help="needs fresh acceptance (default: supplementary)"
    )
    parser.add_argument("--version", type=int, help="default: the next number")
    parser.add_argument("--effective-at", help="ISO 8601 time with zone (default: now)")
    parser.add_argument(
        "--reference-translation",
        action="store_true",
        help="a translation of an existing version, for reference only",
    )
    parser = add_command(agreements, "acceptances", acceptances, "an account's acceptance history")
    parser.add_argument("--account", required=True, help="account id, username or sub")
    parser.add_argument("--json", action="store_true")
