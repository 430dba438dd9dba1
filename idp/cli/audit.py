"""``idp audit``: the disclosure log's hash chain (``idp.identity.disclosures``)."""

from __future__ import annotations

import argparse

from idp.cli.base import CommandError, Subparsers, add_command, add_group
from idp.services import Services


def verify(services: Services, args: argparse.Namespace) -> None:
    """Exit status 2 names the first broken entry."""
    result = services.disclosures.verify()
    if result.ok:
        print(f"disclosure chain intact: {result.entries} entries")
        return
    raise CommandError(f"disclosure chain broken at entry {result.first_broken}: {result.reason}")


def register(subparsers: Subparsers) -> None:
    audit = add_group(subparsers, "audit", "audit and disclosure logs")
    add_command(audit, "verify", verify, "verify the disclosure hash chain")
