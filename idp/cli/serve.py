"""``idp serve``: the provider under gunicorn (development; ``make run``)."""

from __future__ import annotations

import argparse
import os

from idp.cli.base import Subparsers, add_command
from idp.services import Services
from idp.store.connection import start_embedded

# %(U)s is the path without the query: hints, codes and states stay out of logs.
ACCESS_LOG_FORMAT = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(L)ss'


def serve(services: Services, args: argparse.Namespace) -> None:
    """Run under gunicorn; the embedded Redis is started once here and shared by the workers
    (each worker's application builds its own services from the same settings)."""
    from gunicorn.app.base import BaseApplication

    config = services.config
    services.keys.ensure()
    if not config.REDIS_URL:
        os.environ["IDP_EMBEDDED_REDIS_URL"] = start_embedded(config.REDIS_EMBEDDED_PATH)

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"{args.host}:{args.port}")
            self.cfg.set("workers", args.workers)
            self.cfg.set("threads", args.threads)
            self.cfg.set("accesslog", "-")
            self.cfg.set("access_log_format", ACCESS_LOG_FORMAT)
            self.cfg.set("forwarded_allow_ips", "127.0.0.1")
            # gunicorn >= 25.1 opens a control socket at one fixed path in the home folder, which a
            # second provider on the same machine silently takes over (and removes on exit).
            if "control_socket_disable" in self.cfg.settings:
                self.cfg.set("control_socket_disable", True)

        def load(self) -> object:
            from idp import create_app

            return create_app(config)

    print(f"idp serving {config.ISSUER} on http://{args.host}:{args.port}", flush=True)
    Server().run()


def register(subparsers: Subparsers) -> None:
    parser = add_command(subparsers, "serve", serve, "run the provider under gunicorn")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
