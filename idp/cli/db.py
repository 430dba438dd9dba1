"""``idp db``: the schema, with what the provider needs from its first day, and pruning."""

from __future__ import annotations

import argparse
import json

from idp.cli.base import Subparsers, add_command, add_group
from idp.services import Services


def upgrade(services: Services, args: argparse.Namespace) -> None:
    """Migrations, the shipped agreements (first run only) and missing signing keys."""
    installation = services.installation
    for kind in installation.upgrade():
        print(f"published version 1 of the {kind} agreement")
    services.keys.ensure()
    print(f"database at revision head: {installation.location()}")


def prune(services: Services, args: argparse.Namespace) -> None:
    """Delete what can no longer be used (``idp.oauth.retention``)."""
    pruned = services.retention.prune()
    print(
        json.dumps(
            {
                "deleted_tokens": pruned.tokens,
                "deleted_grants": pruned.grants,
                "deleted_logout_deliveries": pruned.logout_deliveries,
                "deleted_login_history": pruned.login_history,
            }
        )
    )


def register(subparsers: Subparsers) -> None:
    db = add_group(subparsers, "db", "database")
    add_command(db, "upgrade", upgrade, "apply migrations and create signing keys")
    add_command(db, "prune", prune, "delete expired grants and tokens")
