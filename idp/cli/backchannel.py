"""``idp backchannel``: back-channel logouts (OpenID Connect Back-Channel Logout 1.0)."""

from __future__ import annotations

import argparse
import json

from idp.cli.base import Subparsers, add_command, add_group
from idp.services import Services

# Deliveries attempted by one run (the server's dispatcher takes 50 a round).
DELIVER_AT_MOST = 1000


def deliver(services: Services, args: argparse.Namespace) -> None:
    """Attempt every due back-channel logout now (the server's dispatcher does this too)."""
    dispatcher = services.backchannel
    delivered = dispatcher.deliver_due(limit=DELIVER_AT_MOST)
    print(json.dumps({"delivered_now": delivered, "by_status": dispatcher.counts_by_status()}))


def register(subparsers: Subparsers) -> None:
    backchannel = add_group(subparsers, "backchannel", "back-channel logout")
    add_command(backchannel, "deliver", deliver, "deliver due logouts now")
