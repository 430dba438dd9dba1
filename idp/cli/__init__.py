"""The ``idp`` command: database, server, portals (clients), accounts, keys and companies.

Every subcommand reads the same ``IDP_*`` settings as the server (see ``idp.config``) and gets
its services from one :class:`idp.services.Services` built for the run and closed after it
(the composition root: a command that never touches Redis never starts one). Each command
group registers its own subcommands from its own module; :func:`main` maps every refusal in
one place.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from sqlalchemy.exc import OperationalError

from idp.cli import (
    admins,
    agreements,
    audit,
    backchannel,
    clients,
    db,
    demo,
    entities,
    keys,
    materials,
    matters,
    retention,
    serve,
    sms,
    users,
)
from idp.cli.base import CommandError
from idp.config import ConfigError, load_config
from idp.errors import IdpError
from idp.observability import logs
from idp.services import Services

__all__ = ["CommandError", "build_parser", "main"]

# In the order ``idp --help`` lists them.
GROUPS = (
    db,
    serve,
    demo,
    clients,
    agreements,
    audit,
    sms,
    users,
    admins,
    backchannel,
    keys,
    materials,
    matters,
    entities,
    retention,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="idp", description="OpenID Connect identity provider")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for group in GROUPS:
        group.register(subparsers)
    return parser


def refusal(error: IdpError) -> str:
    """What stderr says of a refusal. The command is the operator's own tool, so it tells the
    error's whole text (``str``: the detail the web pages keep for the log), and names a
    configuration error as one."""
    if isinstance(error, ConfigError):
        return f"configuration: {error}"
    return str(error)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command: exit status 0 when it is done, 2 when it is refused (any ``IdpError``,
    told on stderr), 1 when the database cannot be reached."""
    args = build_parser().parse_args(argv)
    services: Services | None = None
    try:
        config = load_config()
        if not logs.configured():  # in a test, the application's handler is already there
            logs.configure(config.LOG_FORMAT, config.LOG_LEVEL)
        services = Services(config)
        args.run(services, args)
    except IdpError as error:
        print(f"idp: {refusal(error)}", file=sys.stderr)
        return 2
    except OperationalError as exc:
        print(f"idp: database unavailable: {exc.orig}", file=sys.stderr)
        return 1
    finally:
        if services is not None:
            services.close()
    return 0
