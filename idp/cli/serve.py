"""``idp serve``: the provider under Granian, the WSGI server of production and of ``make run``.

Granian (Rust, hyper) parses HTTP and keeps connections alive outside the interpreter, and runs
the Flask application on a pool of blocking threads per worker process. Measured side by side on
the same machine (bench/README.md), it serves the same application about three times as many
requests per core as gunicorn's gthread workers did, so it replaced them.
"""

from __future__ import annotations

import argparse
import os

from idp.cli.base import Subparsers, add_command
from idp.services import Services
from idp.store.connection import start_embedded

# Granian's access log atoms; ``path`` is the path without the query, so hints, codes and states
# stay out of logs.
ACCESS_LOG_FORMAT = '%(addr)s "%(method)s %(path)s" %(status)d %(dt_ms).1fms'


def serve(services: Services, args: argparse.Namespace) -> None:
    """Run under Granian; the embedded Redis is started once here and shared by the workers
    (each worker's application builds its own services from the same settings, ``idp.wsgi``)."""
    from granian import Granian
    from granian.constants import Interfaces

    config = services.config
    services.keys.ensure()
    if not config.REDIS_URL:
        os.environ["IDP_EMBEDDED_REDIS_URL"] = start_embedded(config.REDIS_EMBEDDED_PATH)

    print(f"idp serving {config.ISSUER} on http://{args.host}:{args.port}", flush=True)
    Granian(
        "idp.wsgi:app",
        address=args.host,
        port=args.port,
        interface=Interfaces.WSGI,
        workers=args.workers,
        blocking_threads=args.threads,
        websockets=False,
        log_access=not args.no_access_log,
        log_access_format=ACCESS_LOG_FORMAT,
        # A worker that dies is replaced, as gunicorn's arbiter did.
        respawn_failed_workers=True,
    ).serve()


def register(subparsers: Subparsers) -> None:
    parser = add_command(subparsers, "serve", serve, "run the provider under Granian (WSGI)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    parser.add_argument(
        "--threads", type=int, default=4, help="threads per worker running the application"
    )
    parser.add_argument(
        "--no-access-log", action="store_true", help="do not log one line per request"
    )
