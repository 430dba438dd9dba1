"""``idp serve``: the provider under Granian, the WSGI server of production and of ``make run``.

Granian (Rust, hyper) parses HTTP and keeps connections alive outside the interpreter, and runs
the Flask application on a pool of blocking threads per worker process. Measured side by side on
the same machine (bench/README.md), it serves the same application about three times as many
requests per core as gunicorn's gthread workers did, so it replaced them.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import tempfile

from idp.cli.base import Subparsers, add_command
from idp.observability import logs, metrics
from idp.services import Services
from idp.store.connection import start_embedded

log = logging.getLogger("idp.serve")


def serve(services: Services, args: argparse.Namespace) -> None:
    """Run under Granian; the embedded Redis is started once here and shared by the workers
    (each worker's application builds its own services from the same settings, ``idp.wsgi``)."""
    config = services.config
    services.keys.ensure()
    if not config.REDIS_URL:
        os.environ["IDP_EMBEDDED_REDIS_URL"] = start_embedded(config.REDIS_EMBEDDED_PATH)

    # Every worker counts into this folder, /metrics adds them up (docs/operations.md#metrics):
    # the operator's PROMETHEUS_MULTIPROC_DIR, emptied, or a new one removed when serving ends.
    chosen = os.environ.get(metrics.MULTIPROC_ENV)
    multiproc_dir = chosen or tempfile.mkdtemp(prefix="idp-metrics-")
    metrics.prepare_multiprocess_dir(multiproc_dir)
    if config.METRICS_PORT:
        metrics.serve_on_port(config.METRICS_PORT, args.host, [services.metrics_gauges])
        log.info("idp metrics on http://%s:%s/metrics", args.host, config.METRICS_PORT)

    if args.no_access_log:
        os.environ["IDP_ACCESS_LOG"] = "false"  # read by each worker's configuration
    log.info("idp serving %s on http://%s:%s", config.ISSUER, args.host, args.port)
    try:
        _granian(args, config.LOG_FORMAT)
    finally:
        if not chosen:
            shutil.rmtree(multiproc_dir, ignore_errors=True)


def _granian(args: argparse.Namespace, log_format: str) -> None:
    from granian import Granian
    from granian.constants import Interfaces

    Granian(
        "idp.wsgi:app",
        address=args.host,
        port=args.port,
        interface=Interfaces.WSGI,
        workers=args.workers,
        blocking_threads=args.threads,
        websockets=False,
        # The access log is the application's own (idp.views.observe: request id, route,
        # portal, in IDP_LOG_FORMAT); Granian's loggers write in the same format.
        log_access=False,
        log_dictconfig=logs.granian_dictconfig(log_format),
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
