"""``idp sms``: sending the durable SMS outbox now (``send-pending``), and reading the
development outbox file (``IDP_SMS_OUTBOX``). Neither needs Redis."""

from __future__ import annotations

import argparse
import json

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


def send_pending(services: Services, args: argparse.Namespace) -> None:
    """Send every due message of the durable outbox now, through the gateway of the settings;
    with ``--retry-now`` also the failed ones still waiting for their next attempt."""
    counts = services.sms_outbox.send_all(retry_now=args.retry_now)
    if args.json:
        print(json.dumps(counts.as_dict()))
        return
    print(
        f"sent {counts.sent}, failed {counts.failed}, dropped {counts.dropped}, "
        f"expired {counts.expired}; {counts.waiting} waiting"
    )


def register(subparsers: Subparsers) -> None:
    sms = add_group(subparsers, "sms", "SMS codes")
    parser = add_command(sms, "outbox", outbox, "latest messages of the development outbox")
    parser.add_argument("--phone", help="only messages to this phone")
    parser.add_argument("--limit", type=int, default=10)
    parser.add_argument("--json", action="store_true")
    parser = add_command(
        sms, "send-pending", send_pending, "send the queued SMS messages now and print counts"
    )
    parser.add_argument(
        "--retry-now",
        action="store_true",
        help="also retry failed messages now instead of at their next attempt",
    )
    parser.add_argument("--json", action="store_true")
