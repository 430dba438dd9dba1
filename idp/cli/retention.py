"""``idp retention apply``: every retention rule (docs/operations.md, "Retention"), for cron.

It prunes what can no longer be used (as ``idp db prune``) and reduces the network data of the
evidence of cancelled accounts (``idp.identity.evidence``): addresses cut to their networks,
and deleted with the user agents once ``IDP_EVIDENCE_RETENTION_DAYS`` have passed. Running it
again changes nothing; it prints what it did as one JSON object.
"""

from __future__ import annotations

import argparse
import json

from idp.cli.base import Subparsers, add_command, add_group
from idp.services import Services


def apply(services: Services, args: argparse.Namespace) -> None:
    applied = services.retention.apply()
    print(
        json.dumps(
            {
                "deleted_tokens": applied.pruned.tokens,
                "deleted_grants": applied.pruned.grants,
                "deleted_logout_deliveries": applied.pruned.logout_deliveries,
                "deleted_login_history": applied.pruned.login_history,
                "truncated_addresses": applied.evidence.truncated,
                "cleared_audit_events": applied.evidence.cleared_audit_events,
                "cleared_agreement_acceptances": applied.evidence.cleared_acceptances,
                "evidence_retention_days": services.config.EVIDENCE_RETENTION_DAYS,
            }
        )
    )


def register(subparsers: Subparsers) -> None:
    retention = add_group(subparsers, "retention", "how long records are kept")
    add_command(retention, "apply", apply, "apply every retention rule (daily, from cron)")
