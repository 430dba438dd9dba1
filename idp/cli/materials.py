"""``idp materials``: the sealed files of the user space's materials (docs/user-space.md)."""

from __future__ import annotations

import argparse
import json

from idp.cli.base import Subparsers, add_command, add_group
from idp.identity.materials import SWEEP_MIN_AGE_SECONDS
from idp.services import Services


def sweep(services: Services, args: argparse.Namespace) -> None:
    """Remove files no material names (a crash between a commit and a file's removal, or
    between a write and a failed commit), once older than ``--min-age`` seconds."""
    removed = services.materials.sweep(min_age_seconds=args.min_age)
    print(json.dumps({"removed": removed}))


def register(subparsers: Subparsers) -> None:
    materials = add_group(subparsers, "materials", "materials of the user space")
    parser = add_command(materials, "sweep", sweep, "remove sealed files no material names")
    parser.add_argument(
        "--min-age",
        type=int,
        default=SWEEP_MIN_AGE_SECONDS,
        help=f"only files older than this, in seconds (default {SWEEP_MIN_AGE_SECONDS})",
    )
