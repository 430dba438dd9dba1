"""``python -m clients.portal``: serve the portal under gunicorn, configured by ``PORTAL_*``.

PORTAL_BIND (default 127.0.0.1 and the port of PORTAL_BASE_URL) and PORTAL_WORKERS (default 1,
with 4 threads each) choose how; everything else is read by ``PortalSettings.from_env``.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any
from urllib.parse import urlsplit

from clients.portal.settings import PortalSettings, SettingsError


def main() -> int:
    try:
        settings = PortalSettings.from_env()
    except SettingsError as exc:
        print(f"portal: {exc}", file=sys.stderr)
        return 2
    base = urlsplit(settings.base_url)
    bind = os.environ.get("PORTAL_BIND") or f"127.0.0.1:{base.port or 80}"
    workers = int(os.environ.get("PORTAL_WORKERS") or 1)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")

    from gunicorn.app.base import BaseApplication

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", bind)
            self.cfg.set("workers", workers)
            self.cfg.set("threads", 4)
            self.cfg.set("accesslog", "-")
            # The path without the query: codes and states stay out of the log.
            self.cfg.set("access_log_format", '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(L)ss')
            # gunicorn >= 25.1 opens a control socket at one fixed path in the home folder, which
            # a second server on the same machine (the other portal, the provider) takes over.
            if "control_socket_disable" in self.cfg.settings:
                self.cfg.set("control_socket_disable", True)

        def load(self) -> Any:
            from clients.portal.app import create_portal

            return create_portal(settings)

    print(f"portal {settings.client_id} ({settings.name}) on {settings.base_url}", flush=True)
    Server().run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
