"""What every command group of ``idp`` shares: its refusal, how a command is registered, and
how an operator names an account.

A command is a function ``(services, args) -> None``: it reads its arguments, asks the services
(``idp.services.Services``, one per run, built and closed by ``idp.cli.main``) and prints. It
never builds a service nor runs SQL itself; a refusal is raised, never printed (``main`` tells
every ``IdpError`` in one place).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from typing import Any, TypeAlias

from idp.errors import IdpError
from idp.models import Account
from idp.services import Services

# Who the audit trail names for what the command does.
ACTOR = "cli"

Command: TypeAlias = Callable[[Services, argparse.Namespace], None]
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
Row: TypeAlias = dict[str, Any]


class CommandError(IdpError):
    """A refusal of the command itself (an argument, a thing not found): its text is told on
    stderr, exit status 2."""

    code = "command_refused"

    def __init__(self, message: str) -> None:
        super().__init__(public_message=message)


def add_group(subparsers: Subparsers, name: str, help_: str) -> Subparsers:
    """``idp NAME ...``: a group whose subcommand is required."""
    group = subparsers.add_parser(name, help=help_)
    return group.add_subparsers(dest=f"{name}_command", required=True)


def add_command(
    subparsers: Subparsers, name: str, run: Command, help_: str
) -> argparse.ArgumentParser:
    """A command that ``main`` runs with the services and the parsed arguments."""
    parser = subparsers.add_parser(name, help=help_)
    parser.set_defaults(run=run)
    return parser


def print_rows(
    rows: Sequence[Row], as_json: bool, line: Callable[[Row], str], *, ascii_json: bool = False
) -> None:
    """A listing: one JSON array with ``--json`` (non-ASCII kept as is unless ``ascii_json``),
    else one tab-separated line per row."""
    if as_json:
        print(json.dumps(rows, ensure_ascii=ascii_json))
        return
    for row in rows:
        print(line(row))


def find_account(services: Services, reference: str) -> Account:
    """ACCOUNT is an account id, a subject identifier, a username, a phone number or an identity
    document number (the last two through their blind indexes: exact matches only)."""
    account = services.people.find(reference)
    if account is None:
        raise CommandError("no such account")
    return account
