"""``idp audit``: the disclosure log's hash chain (``idp.identity.disclosures``).

``idp audit chain`` links the queued records (recorded by the requests, not yet chained) into the
chain now, as the servers' chainer threads do every ``IDP_DISCLOSURE_CHAIN_INTERVAL`` seconds;
``idp audit verify`` recomputes the chained part and counts the queued one.
"""

from __future__ import annotations

import argparse

from idp.cli.base import CommandError, Subparsers, add_command, add_group
from idp.identity.disclosures import CHAIN_BATCH
from idp.services import Services


def verify(services: Services, args: argparse.Namespace) -> None:
    """Exit status 2 names the first broken entry. Queued records are counted, not verified."""
    result = services.disclosures.verify()
    if result.ok:
        print(
            f"disclosure chain intact: {result.entries} entries; "
            f"{result.queued} queued (not yet chained)"
        )
        return
    raise CommandError(f"disclosure chain broken at entry {result.first_broken}: {result.reason}")


def chain(services: Services, args: argparse.Namespace) -> None:
    """Link what is queued into the chain, a batch per transaction; exit status 2 when another
    chainer kept the chain head for the whole ``--wait``."""
    disclosures = services.disclosures
    linked = disclosures.chain_all(wait=args.wait, limit=args.batch)
    print(f"chained {linked} disclosures; {disclosures.queued()} queued")


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _seconds(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 3600:
        raise argparse.ArgumentTypeError("must be between 0 and 3600 seconds")
    return value


def register(subparsers: Subparsers) -> None:
    audit = add_group(subparsers, "audit", "audit and disclosure logs")
    add_command(audit, "verify", verify, "verify the disclosure hash chain")
    chain_command = add_command(
        audit, "chain", chain, "link the queued disclosures into the hash chain now"
    )
    chain_command.add_argument(
        "--batch",
        type=_positive_int,
        default=CHAIN_BATCH,
        help=f"records linked per transaction (default {CHAIN_BATCH})",
    )
    chain_command.add_argument(
        "--wait",
        type=_seconds,
        default=30.0,
        help="seconds to wait while another chainer holds the chain head (default 30)",
    )
