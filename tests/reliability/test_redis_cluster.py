"""The provider on a Redis Cluster: every flow that keeps state in Redis, keys over many nodes.

docs/operations.md ("Redis Cluster"). Three real ``redis-server --cluster-enabled yes``
masters on private loopback ports (no replicas), joined by ``redis-cli --cluster create``. An
``idp serve`` reaches them through ``IDP_REDIS_URL=redis+cluster://.../0`` (redis-py's
``RedisCluster``). A person logs in (the parked interaction, its single-use step claims, the SSO
session), the portal exchanges the code (the single-use ``consume`` script), refreshes, reads
UserInfo and logs the person out (the session, the logout); a wrong password three times locks
an account (the failed-login counters); a registration asks for an SMS code and uses it (the
address's and the phone's scripts). Every answer is the expected one, none is a 500 (a
``CROSSSLOT`` refusal would be one), and the keys written lie on more than one node.

Without ``redis-server`` and ``redis-cli`` the test is skipped locally and fails under CI, which
installs them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urljoin

import pytest
import redis
import requests

from tests.e2e.server import ProviderServer, free_port
from tests.reliability.conftest import PASSWORD, create_users
from tests.reliability.portal import Portal, Recorder, Refused
from tests.support import csrf_token, form_action

LOCK_AFTER = 3  # IDP_LOGIN_LOCK_FAILURES of the server: a lock is a deterministic throttle
NEW_PHONE = "13700137011"  # a phone of nobody, for the registration's SMS code


class RedisClusterGroup:
    """Three cluster-enabled masters, each a ``redis-server`` we started, and their slots."""

    def __init__(self, server: str, cli: str) -> None:
        self.server, self.cli = server, cli
        self.tmp = Path(tempfile.mkdtemp(prefix="idp-rel-cluster-"))
        # The bus port is set, not left at port + 10000, which may lie past 65535.
        self.ports = [(free_port(), free_port()) for _ in range(3)]
        self.processes: list[subprocess.Popen[bytes]] = []

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"127.0.0.1:{port}" for port, _ in self.ports) + "/0"

    def start(self) -> None:
        for number, (port, bus) in enumerate(self.ports):
            folder = self.tmp / f"node-{number}"
            folder.mkdir()
            self.processes.append(
                subprocess.Popen(
                    [
                        self.server,
                        "--port",
                        str(port),
                        "--cluster-port",
                        str(bus),
                        "--bind",
                        "127.0.0.1",
                        "--cluster-enabled",
                        "yes",
                        "--cluster-config-file",
                        str(folder / "nodes.conf"),
                        "--cluster-node-timeout",
                        "2000",
                        "--save",
                        "",
                        "--appendonly",
                        "no",
                        "--dir",
                        str(folder),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    stdin=subprocess.DEVNULL,
                )
            )
        for port, _ in self.ports:
            wait_for(lambda port=port: node(port).ping(), f"node {port}")
        subprocess.run(
            [
                self.cli,
                "--cluster",
                "create",
                *(f"127.0.0.1:{port}" for port, _ in self.ports),
                "--cluster-replicas",
                "0",
                "--cluster-yes",
            ],
            check=True,
            capture_output=True,
            timeout=30,
        )
        for port, _ in self.ports:
            wait_for(lambda port=port: self._ready(port), f"the cluster at node {port}", 20)

    @staticmethod
    def _ready(port: int) -> bool:
        with node(port) as client:
            info = client.execute_command("CLUSTER", "INFO").decode()
            return "cluster_state:ok" in info and "cluster_known_nodes:3" in info

    def keys_by_node(self) -> dict[int, list[str]]:
        found = {}
        for port, _ in self.ports:
            with node(port) as client:
                found[port] = sorted(k.decode() for k in client.scan_iter(match="idp:*"))
        return found

    def destroy(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=5)
        shutil.rmtree(self.tmp, ignore_errors=True)


def node(port: int) -> redis.Redis:
    return redis.Redis(port=port, socket_connect_timeout=1, socket_timeout=2)


def wait_for(check: Any, what: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except (redis.RedisError, OSError):
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not ready after {timeout} s")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def cluster() -> Iterator[RedisClusterGroup]:
    server, cli = shutil.which("redis-server"), shutil.which("redis-cli")
    if server is None or cli is None:
        reason = "needs redis-server and redis-cli (Debian packages redis-server, redis-tools)"
        if os.environ.get("CI"):
            pytest.fail(f"CI must install them: {reason}")
        pytest.skip(reason)
    group = RedisClusterGroup(server, cli)
    try:
        group.start()
        yield group
    finally:
        group.destroy()


@pytest.fixture(scope="module")
def server(cluster: RedisClusterGroup) -> Iterator[ProviderServer]:
    """One ``idp serve`` (its own SQLite database) on the cluster."""
    provider = ProviderServer(
        workers=1,
        threads=4,
        IDP_REDIS_URL=cluster.url,
        IDP_LOGIN_LOCK_FAILURES=str(LOCK_AFTER),
    )
    try:
        provider.start()
        yield provider
    finally:
        provider.stop()


def outbox_code(server: ProviderServer, phone: str, timeout: float = 10) -> str:
    """The code the server's SMS sender wrote for ``phone`` to its development outbox."""
    from idp.identity.sms import SmsCodes

    outbox = f"{server.settings['IDP_INSTANCE_DIR']}/sms-outbox.jsonl"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        entries = SmsCodes.read_outbox(outbox, phone=phone, limit=10)
        if entries:
            return str(entries[0]["code"])
        time.sleep(0.1)
    raise AssertionError(f"no SMS for {phone}")


def login_form(base: str, browser: requests.Session) -> tuple[str, str]:
    """(action URL, CSRF token) of the user space's login form."""
    page = browser.get(f"{base}/account/login", timeout=10)
    assert page.status_code == 200, page.status_code
    return urljoin(page.url, form_action(page.text, "/login")), csrf_token(page.text)


def test_every_redis_flow_works_on_a_cluster(cluster, server, figures):
    recorder = Recorder()
    portal = Portal.register(server, "Cluster portal", recorder)
    person, locked = create_users(server, "cluster", 2)
    base = f"http://127.0.0.1:{server.port}"

    # Login, code exchange, refresh, UserInfo.
    browser, http = requests.Session(), requests.Session()
    login = portal.log_in(base, browser, person, PASSWORD)
    tokens = portal.exchange(base, http, login)
    assert tokens.status_code == 200, tokens.text
    again = portal.exchange(base, http, login)  # the code is single use
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    login = portal.log_in(base, browser, person, PASSWORD)  # through the SSO session
    tokens = portal.exchange(base, http, login)
    assert tokens.status_code == 200, tokens.text
    refreshed = portal.refresh(base, http, tokens.json()["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    userinfo = portal.userinfo(base, http, refreshed.json()["access_token"])
    assert userinfo.status_code == 200 and userinfo.json()["sub"], userinfo.text

    # Logout (RP-Initiated, the ID token as the hint): the SSO session ends.
    hint = urlencode({"id_token_hint": refreshed.json()["id_token"]})
    logout = browser.get(f"{base}/logout?{hint}", timeout=10, allow_redirects=False)
    assert logout.status_code in (200, 303), logout.status_code
    with pytest.raises(Refused, match="login_required"):
        portal.log_in(base, browser, person, PASSWORD, prompt="none")

    # The failed-login throttle: LOCK_AFTER wrong passwords lock the account.
    throttled = requests.Session()
    statuses = []
    for password in ["wrong password"] * LOCK_AFTER + [PASSWORD]:
        action, csrf = login_form(base, throttled)
        answer = throttled.post(
            action,
            data={"csrf_token": csrf, "username": locked, "password": password},
            allow_redirects=False,
            timeout=10,
        )
        statuses.append(answer.status_code)
    assert statuses == [401] * LOCK_AFTER + [403], statuses

    # An SMS code: asked for on the registration form, sent, and used to register.
    from tests.realname.helpers import LI_SI, form_for

    registering = requests.Session()
    login_page = registering.get(f"{base}/account/login", timeout=10)
    links = re.findall(r'href="([^"]+/register(?:\?[^"]*)?)"', login_page.text)
    page = registering.get(urljoin(login_page.url, links[0]), timeout=10)
    assert page.status_code == 200, page.status_code
    action = urljoin(page.url, form_action(page.text, "/register"))
    sent = registering.post(
        action,
        data={"csrf_token": csrf_token(page.text), "phone": NEW_PHONE, "action": "send_code"},
        timeout=10,
    )
    assert sent.status_code == 200, sent.status_code
    resent = registering.post(
        action,
        data={"csrf_token": csrf_token(sent.text), "phone": NEW_PHONE, "action": "send_code"},
        timeout=10,
    )
    assert resent.status_code == 429, resent.status_code  # the resend wait, on the cluster
    fields = {**form_for(LI_SI, phone=NEW_PHONE), "sms_code": outbox_code(server, NEW_PHONE)}
    registered = registering.post(
        action,
        data={"csrf_token": csrf_token(resent.text), **fields, "action": "register"},
        allow_redirects=False,
        timeout=30,
    )
    assert registered.status_code == 303, registered.text[:500]

    assert recorder.violations == [], recorder.violations[:10]
    assert "CROSSSLOT" not in server.log()
    spread = cluster.keys_by_node()
    holding = [port for port, keys in spread.items() if keys]
    assert len(holding) > 1, spread
    every = {key for keys in spread.values() for key in keys}
    for prefix in ("idp:session:", "idp:code:{", "idp:fail:account:", "idp:sms:phone-hour:{"):
        assert any(key.startswith(prefix) for key in every), (prefix, sorted(every))
    figures.update({"keys per node": {port: len(keys) for port, keys in spread.items()}})


def test_cluster_url_forms_are_read_and_bad_ones_refused_at_start_up():
    """The documented form (docs/operations.md); a cluster has database 0 only."""
    from idp.config import ConfigError, load_config
    from idp.store.connection import ClusterUrlError, parse_cluster_url

    settings = parse_cluster_url("redis+cluster://:p%40ss@10.0.0.1:7000,[::1]:7001,redis-2/0")
    assert settings.nodes == [("10.0.0.1", 7000), ("::1", 7001), ("redis-2", 6379)]
    assert settings.password == "p@ss" and not settings.tls
    assert parse_cluster_url("rediss+cluster://h1,h2").tls
    for bad in ("redis+cluster://h/1", "redis+cluster://h:x/0", "redis+cluster://h/0?a=1"):
        with pytest.raises(ClusterUrlError):
            parse_cluster_url(bad)
    for good in ("redis+cluster://a:1,b:2/0", "redis+cluster://a:1,b:2", "rediss+cluster://a/"):
        assert load_config({"REDIS_URL": good}).REDIS_URL == good
    for bad in ("redis+cluster://a:1/1", "redis+cluster://a:1/0?x=1", "cluster://a:6379"):
        with pytest.raises(ConfigError, match="IDP_REDIS_URL"):
            load_config({"REDIS_URL": bad})
