"""``idp keys``: the signing key ring (next, active, retired) and the personal-data key."""

from __future__ import annotations

import argparse
import json

from idp.cli.base import ACTOR, Row, Subparsers, add_command, add_group, print_rows
from idp.identity.personal_data import add_key_to_file
from idp.oauth.keys import SUPPORTED_ALGORITHMS, KeyRing
from idp.services import Services


def print_keys(ring: KeyRing, as_json: bool) -> None:
    rows: list[Row] = [
        {
            "kid": key.kid,
            "alg": key.alg,
            "status": key.status,
            "created_at": key.created_at,
            "activated_at": key.activated_at,
            "retired_at": key.retired_at,
        }
        for key in ring.list()
    ]
    print_rows(
        rows, as_json, lambda row: f"{row['kid']}\t{row['alg']}\t{row['status']}", ascii_json=True
    )


def listing(services: Services, args: argparse.Namespace) -> None:
    services.keys.ensure()
    print_keys(services.keys, args.json)


def rotate(services: Services, args: argparse.Namespace) -> None:
    """next -> active -> retired, and a new next key (RFC 7517: the JWKS keeps the retired
    keys for their grace period, so tokens signed before still verify)."""
    ring = services.keys
    ring.ensure()
    ring.rotate(args.alg)
    services.audit("keys_rotated", actor=ACTOR, details={"alg": args.alg or "all"})
    print_keys(ring, args.json)


def rotate_data(services: Services, args: argparse.Namespace) -> None:
    """Encrypt every sealed value under the current data key: after adding a new key to the
    key ring file (done here), or after putting a new key first in IDP_DATA_KEY."""
    config = services.config
    if not config.DATA_KEY:
        add_key_to_file(config.keys_path)  # before the personal data service reads the ring
    resealing = services.resealing
    resealed = resealing.reseal_everything()
    current = resealing.current_key
    services.audit("data_key_rotated", actor=ACTOR, details={"key_id": current, "values": resealed})
    print(json.dumps({"current_key": current, "resealed": resealed}))


def register(subparsers: Subparsers) -> None:
    keys = add_group(subparsers, "keys", "signing keys")
    parser = add_command(keys, "list", listing, "list signing keys")
    parser.add_argument("--json", action="store_true")
    parser = add_command(keys, "rotate", rotate, "next -> active -> retired; new next key")
    parser.add_argument("--alg", choices=SUPPORTED_ALGORITHMS)
    parser.add_argument("--json", action="store_true")
    add_command(keys, "rotate-data", rotate_data, "new data key; re-encrypt personal data")
