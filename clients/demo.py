"""Single sign-on and single logout to try by hand: the provider and two portals (``make demo``).

    python clients/demo.py run        register the portals, start all three, stop them on Ctrl-C
    python clients/demo.py register   register the portals only; print their credentials as JSON
    python clients/demo.py serve      ``make run``: the provider and the portals that
                                      ``idp demo setup`` registered (instance/run-portals.json)

``run`` works on the development state of ``make run`` (instance/, keys/, IDP_ENV=development):
``idp db upgrade``, ``idp demo-client`` (the demo account demo / demo-password-2026), then each
portal is deleted and registered afresh (a client secret is shown only when it is created) and
its credentials are kept in instance/demo-portals.json. The provider serves on
http://localhost:5000, 杭州市政务服务网 on http://localhost:5001 and 宁波市政务服务网 on
http://localhost:5002, all bound to 127.0.0.1.

This file imports nothing from the project, so that it also runs where only the ``idp`` command
is installed (the ``register-portals`` service of docker-compose.yml).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = ROOT / "instance"
CREDENTIALS_FILE = INSTANCE / "demo-portals.json"
PROVIDER_PORT = 5000
DEMO_USER = ("demo", "demo-password-2026")


@dataclass(frozen=True)
class Portal:
    client_id: str
    name: str
    port: int


PORTALS = (
    Portal("portal-hangzhou", "杭州市政务服务网", 5001),
    Portal("portal-ningbo", "宁波市政务服务网", 5002),
)


class DemoError(RuntimeError):
    """Printed without a traceback."""


def idp_command() -> str:
    """The ``idp`` beside this Python (the project's .venv), else the one on PATH."""
    beside = Path(sys.executable).parent / "idp"
    if beside.exists():
        return str(beside)
    found = shutil.which("idp")
    if not found:
        raise DemoError("the idp command is not installed (run `make install`)")
    return found


def run_idp(*args: str, env: dict[str, str] | None = None, check: bool = True) -> str:
    done = subprocess.run(
        [idp_command(), *args], env=env, capture_output=True, text=True, timeout=120
    )
    if check and done.returncode != 0:
        raise DemoError(f"idp {' '.join(args)} failed:\n{done.stderr.strip()}")
    return done.stdout


# -- register -------------------------------------------------------------------------------------


def register(
    host: str = "localhost",
    backchannel_bases: dict[str, str] | None = None,
    env: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Delete and register each portal afresh (``idp clients delete`` + ``create``).

    The browser reaches a portal at http://HOST:PORT; the provider reaches its back-channel logout
    endpoint at the base given for it in ``backchannel_bases`` (another host name in containers).
    """
    backchannel_bases = backchannel_bases or {}
    registered = []
    for portal in PORTALS:
        base = f"http://{host}:{portal.port}"
        backchannel = backchannel_bases.get(portal.client_id, base)
        run_idp("clients", "delete", portal.client_id, env=env, check=False)  # absent: fine
        created = json.loads(
            run_idp(
                "clients",
                "create",
                "--client-id",
                portal.client_id,
                "--name",
                portal.name,
                "--redirect-uri",
                f"{base}/callback",
                "--post-logout-redirect-uri",
                f"{base}/",
                "--backchannel-logout-uri",
                f"{backchannel}/backchannel-logout",
                "--scope",
                "profile",
                "--json",
                env=env,
            )
        )
        registered.append(
            {
                "client_id": created["client_id"],
                "client_secret": created["client_secret"],
                "name": portal.name,
                "base_url": base,
                "port": portal.port,
            }
        )
    return registered


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read (it holds client secrets)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(path, 0o600)


def cmd_register(args: argparse.Namespace) -> int:
    bases = {}
    for item in args.backchannel_base or []:
        client_id, sep, url = item.partition("=")
        if not sep or not url:
            raise DemoError(f"--backchannel-base takes CLIENT_ID=URL, not {item!r}")
        bases[client_id] = url.rstrip("/")
    portals = register(args.host, bases)
    if args.secrets_dir:
        # For PORTAL_CLIENT_SECRET_FILE and PORTAL_SECRET_KEY_FILE (docker-compose.yml).
        for portal in portals:
            folder = Path(args.secrets_dir)
            write_private(folder / f"{portal['client_id']}.secret", portal["client_secret"])
            write_private(folder / f"{portal['client_id']}.session-key", secrets.token_urlsafe(32))
    print(json.dumps(portals, ensure_ascii=False, indent=2))
    return 0


# -- run ------------------------------------------------------------------------------------------


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


class Processes:
    """The three servers; stopped together, each with SIGTERM, then SIGKILL if it lingers."""

    def __init__(self) -> None:
        self.running: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, name: str, command: list[str], env: dict[str, str]) -> None:
        self.running.append((name, subprocess.Popen(command, env=env, cwd=ROOT)))

    def exited(self) -> str | None:
        for name, process in self.running:
            if process.poll() is not None:
                return f"{name} exited with status {process.returncode}"
        return None

    def stop(self) -> None:
        for _name, process in self.running:
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + 15
        for _name, process in self.running:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


def cmd_run(args: argparse.Namespace) -> int:
    issuer = f"http://localhost:{PROVIDER_PORT}"
    busy = [p for p in (PROVIDER_PORT, *(p.port for p in PORTALS)) if not port_is_free(p)]
    if busy:
        raise DemoError(
            f"port(s) {', '.join(map(str, busy))} already in use (is `make run` or another demo "
            "running?)"
        )
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("IDP_", "PORTAL_"))}
    idp_env = {**base_env, "IDP_ENV": "development", "IDP_ISSUER": issuer}

    print("migrating the development database and creating the demo account ...", flush=True)
    run_idp("db", "upgrade", env=idp_env)
    run_idp("demo-client", env=idp_env)  # the demo account (and `make run`'s public demo client)
    portals = register("localhost", env=idp_env)
    write_private(CREDENTIALS_FILE, json.dumps(portals, ensure_ascii=False, indent=2) + "\n")
    print(f"registered {', '.join(p['client_id'] for p in portals)} ({CREDENTIALS_FILE})")

    return serve(
        issuer,
        PROVIDER_PORT,
        "127.0.0.1",
        portals,
        idp_env,
        base_env,
        "Single sign-on demo is running:\n"
        f"  provider          {issuer}\n"
        + "".join(f"  {p['name']}  {p['base_url']}\n" for p in portals)
        + "\n"
        f"1. Open {portals[0]['base_url']} and log in as {DEMO_USER[0]} / {DEMO_USER[1]}.\n"
        f"2. Open {portals[1]['base_url']} and press 登录 Log in: no password is asked.\n"
        f"3. Log out at {portals[0]['base_url']}, reload {portals[1]['base_url']}: logged out\n"
        "   there too (back-channel logout).\n"
        "\n"
        "Press Ctrl-C to stop all three.",
    )


def serve(
    issuer: str,
    provider_port: int,
    provider_host: str,
    portals: list[dict[str, Any]],
    idp_env: dict[str, str],
    base_env: dict[str, str],
    ready_text: str,
) -> int:
    """Start the provider and every portal, print ``ready_text`` once all answer, and stop them
    all on Ctrl-C (or when one of them exits by itself)."""
    processes = Processes()
    stopping = False

    def on_signal(signum: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True

    def check_running() -> None:
        """A server that exited on its own ends the demo; one that Ctrl-C ended does not."""
        problem = processes.exited()
        if problem:
            time.sleep(0.5)  # the same Ctrl-C reaches this process too, maybe a bit later
            if not stopping:
                raise DemoError(problem)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        processes.start(
            "idp",
            [idp_command(), "serve", "--host", provider_host, "--port", str(provider_port)],
            idp_env,
        )
        for portal in portals:
            processes.start(
                portal["client_id"],
                [sys.executable, "-m", "clients.portal"],
                {
                    **base_env,
                    "PORTAL_NAME": portal["name"],
                    "PORTAL_ISSUER": issuer,
                    "PORTAL_CLIENT_ID": portal["client_id"],
                    "PORTAL_CLIENT_SECRET": portal["client_secret"],
                    "PORTAL_BASE_URL": portal["base_url"],
                    "PORTAL_SCOPE": portal.get("scope", ""),
                    "PORTAL_SECRET_KEY": secrets.token_urlsafe(32),
                    "PORTAL_STATE_DIR": str(INSTANCE / "portals"),
                },
            )
        checks = [f"http://127.0.0.1:{provider_port}/readyz"]
        checks += [f"http://127.0.0.1:{p['port']}/healthz" for p in portals]
        deadline = time.monotonic() + 60
        while not stopping and not all(answers(url) for url in checks):
            check_running()
            if time.monotonic() > deadline:
                raise DemoError("the servers did not answer within 60 s")
            time.sleep(0.3)
        if not stopping:
            print("\n" + ready_text, flush=True)
        while not stopping:
            check_running()
            time.sleep(0.5)
        print("\nstopping ...", flush=True)
        return 0
    finally:
        processes.stop()


def cmd_serve(args: argparse.Namespace) -> int:
    """``make run``: the environment (IDP_ENV, IDP_ISSUER) comes from the Makefile."""
    path = Path(args.portals_file)
    try:
        kept = json.loads(path.read_text(encoding="utf-8"))
        portals, text = list(kept["portals"]), str(kept["instructions"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DemoError(f"cannot read {path} ({exc}); run `idp demo setup` first") from None
    busy = [p for p in (args.port, *(int(p["port"]) for p in portals)) if not port_is_free(p)]
    if busy:
        raise DemoError(
            f"port(s) {', '.join(map(str, busy))} already in use (is `make run` or `make demo` "
            "running?)"
        )
    issuer = os.environ.get("IDP_ISSUER") or f"http://localhost:{args.port}"
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("IDP_", "PORTAL_"))}
    idp_env = {**os.environ, "IDP_ISSUER": issuer}
    idp_env = {k: v for k, v in idp_env.items() if not k.startswith("PORTAL_")}
    return serve(
        issuer,
        args.port,
        args.host,
        portals,
        idp_env,
        base_env,
        text + "\n\nEverything is running; press Ctrl-C to stop the provider and the portals.",
    )


# -- command line ---------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="clients/demo.py", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="register the portals and start the provider and both portals")
    reg = sub.add_parser("register", help="register the portals; print their credentials")
    reg.add_argument("--host", default="localhost", help="where the browser reaches the portals")
    reg.add_argument(
        "--backchannel-base",
        action="append",
        metavar="CLIENT_ID=URL",
        help="where the provider reaches a portal (default: the browser's URL); repeat",
    )
    reg.add_argument(
        "--secrets-dir",
        help="also write CLIENT_ID.secret and CLIENT_ID.session-key files (mode 0600) here",
    )
    srv = sub.add_parser("serve", help="the provider and the portals of `idp demo setup`")
    srv.add_argument("--host", default="127.0.0.1", help="the provider's address")
    srv.add_argument("--port", type=int, default=PROVIDER_PORT, help="the provider's port")
    srv.add_argument("--portals-file", default=str(INSTANCE / "run-portals.json"))
    args = parser.parse_args(argv)
    try:
        if args.command == "register":
            return cmd_register(args)
        if args.command == "serve":
            return cmd_serve(args)
        return cmd_run(args)
    except DemoError as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
