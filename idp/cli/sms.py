"""``idp sms``: the development SMS outbox (``IDP_SMS_OUTBOX``). Reading it needs no Redis."""

from __future__ import annotations

import argparse

from idp.cli.base import CommandError, Subparsers, add_command, add_group, print_rows
from idp.identity.sms import SmsCodes
from idp.services import Services

OUTBOX_COLUMNS = ("time", "phone", "purpose", "code")


def outbox(services: Services, args: argparse.Namespace) -> None:
    """The latest messages of the outbox, newest first."""
    if args.limit < 1:
        raise CommandError("--limit must be at least 1")
    path = services.config.SMS_OUTBOX
    try:
        entries = SmsCodes.read_outbox(path, phone=args.phone, limit=args.limit)
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc.strerror}") from None
    print_rows(
        entries,
        args.json,
        lambda entry: "\t".join(str(entry.get(name)) for name in OUTBOX_COLUMNS),
    )


def register(subparsers: Subparsers) -> None:
    sms = add_group(subparsers, "sms", "SMS codes")
    parser = add_command(sms, "outbox", outbox, "latest messages of the development outbox")
    parser.add_argument("--phone", help="only messages to this phone")
    parser.add_argument("--limit", type=int, default=10)
    parser.add_argument("--json", action="store_true")
