"""``idp matters``: the catalogue of classes of government service matters
(docs/legal-persons.md). The file is read and checked here; the catalogue's own rules (codes,
parents, all or nothing) are ``Entities.import_matters``."""

from __future__ import annotations

import argparse
import csv
import io
import json
from typing import Any

from idp.cli.base import ACTOR, CommandError, Subparsers, add_command, add_group, print_rows
from idp.services import Services

MATTER_FIELDS = ("code", "name", "name_en", "active")
TRUE_WORDS = {"", "true", "yes", "1"}
FALSE_WORDS = {"false", "no", "0"}


def read_rows(path: str) -> list[dict[str, Any]]:
    """A JSON list of objects, or CSV with a header row (``code,name,name_en``; ``active``
    optional). Unknown fields are refused, so a misspelt column cannot silently mean nothing."""
    try:
        with open(path, encoding="utf-8-sig") as fh:
            text = fh.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"cannot read {path}: {exc}") from None
    if path.lower().endswith(".json") or text.lstrip().startswith("["):
        rows = _json_rows(path, text)
    else:
        rows = _csv_rows(path, text)
    for index, row in enumerate(rows, 1):
        _check_row(index, row)
    if not rows:
        raise CommandError(f"{path}: no entries")
    return rows


def _json_rows(path: str, text: str) -> list[dict[str, Any]]:
    try:
        rows = json.loads(text)
    except ValueError as exc:
        raise CommandError(f"{path}: not valid JSON: {exc}") from None
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise CommandError(f"{path}: expected a JSON list of objects")
    return rows


def _csv_rows(path: str, text: str) -> list[dict[str, Any]]:
    reader = csv.DictReader(io.StringIO(text))
    header = [name.strip() for name in reader.fieldnames or []]
    if "code" not in header or "name" not in header:
        raise CommandError(f"{path}: the CSV header must be code,name,name_en")
    reader.fieldnames = header
    rows: list[dict[str, Any]] = []
    for row in reader:
        if None in row:
            raise CommandError(f"{path}: line {reader.line_num} has too many fields")
        rows.append(dict(row))
    return rows


def _check_row(index: int, row: dict[str, Any]) -> None:
    """Known fields only; ``active`` a boolean (or a word for one, from CSV); text fields text."""
    unknown = sorted(set(row) - set(MATTER_FIELDS))
    if unknown:
        raise CommandError(f"entry {index}: unknown field {unknown[0]!r}")
    active = row.get("active", True)
    if isinstance(active, str):
        if active.strip().lower() not in TRUE_WORDS | FALSE_WORDS:
            raise CommandError(f"entry {index}: 'active' must be true or false")
        row["active"] = active.strip().lower() not in FALSE_WORDS
    elif not isinstance(active, bool):
        raise CommandError(f"entry {index}: 'active' must be true or false")
    for name in ("code", "name", "name_en"):
        if row.get(name) is not None and not isinstance(row[name], str):
            raise CommandError(f"entry {index}: {name!r} must be a string")


def import_file(services: Services, args: argparse.Namespace) -> None:
    """Add or update classes of matters (all or nothing)."""
    rows = read_rows(args.file)
    added, updated = services.entities.import_matters(rows)
    services.audit("matters_imported", actor=ACTOR, details={"added": added, "updated": updated})
    print(f"imported {len(rows)} classes of matters: {added} added, {updated} updated")


def listing(services: Services, args: argparse.Namespace) -> None:
    rows = [
        {
            "code": entry.code,
            "name": entry.name,
            "name_en": entry.name_en,
            "parent": entry.parent,
            "active": entry.active,
        }
        for entry in services.entities.matters(include_inactive=True)
    ]
    print_rows(
        rows,
        args.json,
        lambda row: (
            f"{row['code']}\t{row['name']}\t{row['name_en'] or ''}"
            + ("" if row["active"] else "\t(inactive)")
        ),
    )


def register(subparsers: Subparsers) -> None:
    matters = add_group(subparsers, "matters", "catalogue of government service matters")
    parser = add_command(matters, "import", import_file, "add or update classes")
    parser.add_argument("file", help="JSON list or CSV with header code,name,name_en")
    parser = add_command(matters, "list", listing, "list the catalogue")
    parser.add_argument("--json", action="store_true")
