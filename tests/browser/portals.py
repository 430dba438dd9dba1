"""The example portal (``python -m clients.portal``) as a real server process, and Chromium.

Each portal runs on its own free loopback port with its own state folder, in its own process
group, so ``stop`` ends the gunicorn master and its worker together.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from tests.e2e.server import ProviderServer, free_port

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps calling out to the closed network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class PortalProcess:
    def __init__(
        self,
        *,
        client_id: str,
        name: str,
        issuer: str,
        provider_url: str | None = None,
        scope: str | None = None,
        port: int | None = None,
    ) -> None:
        self.client_id = client_id
        self.scope = scope
        self.name = name
        self.issuer = issuer
        self.provider_url = provider_url
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.tmp = Path(tempfile.mkdtemp(prefix=f"portal-{client_id}-"))
        self.log_path = self.tmp / "portal.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, client_secret: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("IDP_", "PORTAL_"))}
        env.update(
            PORTAL_NAME=self.name,
            PORTAL_ISSUER=self.issuer,
            PORTAL_CLIENT_ID=self.client_id,
            PORTAL_CLIENT_SECRET=client_secret,
            PORTAL_BASE_URL=self.base_url,
            PORTAL_SECRET_KEY=f"browser-test-{self.client_id}-secret-key",
            PORTAL_STATE_DIR=str(self.tmp / "state"),
        )
        if self.provider_url:
            env["PORTAL_PROVIDER_URL"] = self.provider_url
        if self.scope:
            env["PORTAL_SCOPE"] = self.scope
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "clients.portal"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def wait_ready(self, timeout: float = 30) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"portal {self.client_id} exited:\n{self.log()}")
            try:
                if requests.get(f"{self.base_url}/healthz", timeout=2).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"portal {self.client_id} not ready after {timeout} s:\n{self.log()}")

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        try:  # the worker, if the master died first
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=5)
        shutil.rmtree(self.tmp, ignore_errors=True)


def register(
    provider: ProviderServer,
    portal: PortalProcess,
    scopes: tuple[str, ...],
    matters: tuple[str, ...] = (),
) -> str:
    """Register ``portal`` with ``idp clients create`` (its callback, logout and back-channel
    addresses at its own port); its client secret."""
    registered = provider.idp_json(
        "clients",
        "create",
        "--client-id",
        portal.client_id,
        "--name",
        portal.name,
        "--redirect-uri",
        f"{portal.base_url}/callback",
        "--post-logout-redirect-uri",
        f"{portal.base_url}/",
        "--backchannel-logout-uri",
        f"{portal.base_url}/backchannel-logout",
        *(part for scope in scopes for part in ("--scope", scope)),
        *(part for matter in matters for part in ("--matter", matter)),
        "--json",
    )
    return str(registered["client_secret"])
