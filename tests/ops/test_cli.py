"""The `idp` command: portals (clients), accounts and the database.

Redirect URI rules: RFC 6749 3.1.2 (absolute, no fragment), RFC 9700 2.1 / 4.1 (https), RFC 8252
7.3 (http only for loopback), plus http in development. Errors are user errors: a message on
stderr and exit status 2 (STYLE.md). Most commands run in-process (the `cli` fixture); the
database upgrade runs as a real process against a fresh SQLite file.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from idp.config import DEMO_REGISTRY
from tests.login.helpers import open_login_page, scalar
from tests.support import RelyingParty

IDP = Path(sys.executable).with_name("idp")


def _create(cli, *extra: str):  # type: ignore[no-untyped-def]
    return cli.run("clients", "create", "--name", "Portal", "--json", *extra)


def test_confidential_client_gets_a_secret_once(cli, provider):
    """RFC 6749 2.3.1: a confidential client gets a secret; only its hash is stored."""
    data = cli.ok(
        "clients",
        "create",
        "--name",
        "Tax Portal",
        "--redirect-uri",
        "https://tax.example.gov.cn/cb",
        "--json",
    )

    assert data["client_id"] and len(data["client_secret"]) >= 43
    assert data["token_endpoint_auth_method"] == "client_secret_basic"
    shown = cli.ok("clients", "show", data["client_id"])
    assert "client_secret" not in shown
    stored = scalar(
        provider,
        "SELECT client_secret_hash FROM clients WHERE client_id = :id",
        id=data["client_id"],
    )
    assert stored and data["client_secret"] not in stored


def test_public_client_gets_no_secret(cli):
    """RFC 6749 2.1: a public client cannot keep a secret, so none is issued."""
    data = cli.ok(
        "clients",
        "create",
        "--name",
        "App",
        "--public",
        "--redirect-uri",
        "https://app.example.gov.cn/cb",
        "--json",
    )

    assert data["client_id"]
    assert "client_secret" not in data
    assert data["token_endpoint_auth_method"] == "none"


def test_redirect_uri_can_be_repeated(cli):
    """OIDC Core 3.1.2.1: a portal may register several redirect URIs (matched exactly)."""
    data = cli.ok(
        "clients",
        "create",
        "--name",
        "Portal",
        "--json",
        "--redirect-uri",
        "https://a.example.gov.cn/cb",
        "--redirect-uri",
        "https://b.example.gov.cn/cb",
    )

    assert data["redirect_uris"] == ["https://a.example.gov.cn/cb", "https://b.example.gov.cn/cb"]


def test_redirect_uri_with_a_fragment_is_refused(cli):
    """RFC 6749 3.1.2: the redirection endpoint URI must not include a fragment."""
    code, out, err = _create(cli, "--redirect-uri", "https://portal.example.gov.cn/cb#frag")

    assert code == 2
    assert out == ""
    assert "fragment" in err
    assert cli.ok("clients", "list", "--json") == []


@pytest.mark.parametrize(
    "uri", ["not-a-uri", "/relative/callback", "https:///no-host"], ids=["word", "relative", "host"]
)
def test_redirect_uri_must_be_absolute(cli, uri):
    """RFC 6749 3.1.2: the redirection endpoint URI must be an absolute URI."""
    code, _out, err = _create(cli, "--redirect-uri", uri)

    assert code == 2
    assert "absolute" in err


@pytest.fixture
def production_cli(cli, monkeypatch):  # type: ignore[no-untyped-def]
    """The `idp` command with production settings (https issuer; the suite's long secret)."""
    monkeypatch.setenv("IDP_ENV", "production")
    monkeypatch.setenv("IDP_ISSUER", "https://login.example.gov.cn")
    monkeypatch.setenv("IDP_AUTHORITY_NAME", "杭州市政务服务管理机构")
    monkeypatch.setenv("IDP_REGISTRY_FILE", str(DEMO_REGISTRY))
    monkeypatch.setenv("IDP_SMS_SENDER", "http")
    monkeypatch.setenv("IDP_SMS_HTTP_URL", "https://sms.example.gov.cn/send")
    return cli


def test_http_redirect_uri_is_refused_in_production(production_cli):
    """RFC 9700 2.1 / 4.1: redirect URIs use https; exit 2 with a message."""
    code, out, err = _create(production_cli, "--redirect-uri", "http://portal.example.gov.cn/cb")

    assert code == 2
    assert out == ""
    assert "https" in err


@pytest.mark.parametrize(
    "uri", ["http://127.0.0.1:8765/cb", "http://localhost:8765/cb", "http://[::1]:8765/cb"]
)
def test_http_loopback_redirect_uri_is_allowed_in_production(production_cli, uri):
    """RFC 8252 7.3: http is allowed for loopback redirect URIs (native apps)."""
    data = production_cli.ok(
        "clients", "create", "--name", "Native", "--public", "--redirect-uri", uri, "--json"
    )

    assert data["redirect_uris"] == [uri]


def test_http_redirect_uri_is_allowed_in_development(cli):
    """Development mode (IDP_ENV=development, as the suite runs) accepts http redirect URIs."""
    assert os.environ["IDP_ENV"] == "development"
    for index, uri in enumerate(("http://127.0.0.1:5001/callback", "http://portal.test/callback")):
        name = f"Dev {index}"
        data = cli.ok("clients", "create", "--name", name, "--redirect-uri", uri, "--json")
        assert data["redirect_uris"] == [uri]


def test_clients_list_show_and_delete(cli):
    """`idp clients list --json`, `show` and `delete` agree with what `create` registered."""
    first = cli.ok(
        "clients",
        "create",
        "--name",
        "First",
        "--redirect-uri",
        "https://first.example.gov.cn/cb",
        "--json",
    )
    second = cli.ok(
        "clients",
        "create",
        "--name",
        "Second",
        "--public",
        "--redirect-uri",
        "https://second.example.gov.cn/cb",
        "--json",
    )

    listed = cli.ok("clients", "list", "--json")
    assert [c["client_id"] for c in listed] == [first["client_id"], second["client_id"]]
    assert all("client_secret" not in c for c in listed)
    shown = cli.ok("clients", "show", second["client_id"])
    assert shown["client_name"] == "Second"
    assert shown["redirect_uris"] == ["https://second.example.gov.cn/cb"]

    deleted = cli.ok("clients", "delete", first["client_id"])

    assert first["client_id"] in deleted
    assert [c["client_id"] for c in cli.ok("clients", "list", "--json")] == [second["client_id"]]
    code, _out, err = cli.run("clients", "show", first["client_id"])
    assert code == 2 and first["client_id"] in err
    assert cli.run("clients", "delete", first["client_id"])[0] == 2


def test_deleted_client_can_no_longer_authorize(cli, client, user):
    """RFC 6749 4.1.2.1: an unknown client gets an error page, never a redirect."""
    data = cli.ok(
        "clients",
        "create",
        "--name",
        "Leaving",
        "--public",
        "--redirect-uri",
        "https://leaving.example.gov.cn/cb",
        "--json",
    )
    rp = RelyingParty(client, data["client_id"], None, "https://leaving.example.gov.cn/cb")
    attempt = rp.login(user["username"], user["password"])
    assert "code" in attempt.result
    tokens = rp.exchange(attempt).get_json()

    cli.ok("clients", "delete", data["client_id"])

    refused = rp.authorize()
    assert refused.response.status_code == 400
    assert refused.response.mimetype == "text/html"
    assert "Location" not in refused.response.headers
    assert "invalid_client" in refused.response.get_data(as_text=True)
    # What it was issued dies with it.
    assert rp.userinfo(tokens["access_token"]).status_code == 401


def test_deleted_client_cannot_finish_an_interaction_in_progress(cli, client, user):
    """RFC 6749 4.1.2.1: a portal deleted while the person logs in gets no code."""
    data = cli.ok(
        "clients",
        "create",
        "--name",
        "Leaving",
        "--public",
        "--redirect-uri",
        "https://leaving.example.gov.cn/cb",
        "--json",
    )
    rp = RelyingParty(client, data["client_id"], None, "https://leaving.example.gov.cn/cb")
    attempt = open_login_page(rp)

    cli.ok("clients", "delete", data["client_id"])
    rp.submit_login(attempt, user["username"], user["password"])

    assert "code" not in attempt.result


def test_duplicate_username_is_refused(cli, user):
    """`idp users create` with a taken username: exit 2 and a message; the first account stays."""
    code, out, err = cli.run(
        "users", "create", "--username", user["username"], "--password", "another password"
    )

    assert code == 2
    assert out == ""
    assert user["username"] in err and "exists" in err


def test_db_upgrade_is_idempotent(tmp_path):
    """`idp db upgrade` twice on a fresh database: both succeed, the schema is complete once."""
    database = tmp_path / "fresh.sqlite3"
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDP_")}
    env.update(
        IDP_ENV="development",
        IDP_DATABASE_URL=f"sqlite:///{database}",
        IDP_KEYS_DIR=str(tmp_path / "keys"),
        IDP_INSTANCE_DIR=str(tmp_path / "instance"),
    )

    runs = [
        subprocess.run(
            [str(IDP), "db", "upgrade"], env=env, capture_output=True, text=True, timeout=120
        )
        for _ in range(2)
    ]

    for run in runs:
        assert run.returncode == 0, run.stderr
        assert "head" in run.stdout
    with sqlite3.connect(database) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
        versions = connection.execute("SELECT count(*) FROM alembic_version").fetchone()[0]
    assert {"accounts", "clients", "grants", "tokens", "consents", "audit_events"} <= tables
    assert versions == 1
    # An active and a next key for each of RS256, ES256 and PS256 (issue 18).
    assert len(list((tmp_path / "keys").glob("*.json"))) == 6
