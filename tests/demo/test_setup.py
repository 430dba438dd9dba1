"""``idp demo setup``: what ``make run`` prepares before it serves (issue 19, item 1)."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest

from tests.support import CliRunner


def test_demo_setup_creates_the_catalogue_people_company_and_portals_twice(
    cli: CliRunner, provider: Any, tmp_path: Path
) -> None:
    cli.ok("db", "upgrade")
    portals_file = tmp_path / "run-portals.json"
    first = cli.ok("demo", "setup", "--portals-file", str(portals_file))
    kept = json.loads(portals_file.read_text("utf-8"))
    second = cli.ok("demo", "setup", "--portals-file", str(portals_file))

    assert first == second  # the same portals, the same secrets, the same instructions
    assert kept == json.loads(portals_file.read_text("utf-8"))
    assert stat.S_IMODE(portals_file.stat().st_mode) == 0o600
    for text in ("http://localhost:5001", "http://localhost:5003", "孙丽", "陈晓明", "王五"):
        assert text in first
    assert "demo / demo-password-2026" in first
    assert kept["instructions"] == first.strip()

    by_id = {entry["client_id"]: entry for entry in kept["portals"]}
    assert by_id["run-portal-people"]["scope"] == "openid profile phone"
    assert by_id["run-portal-companies"]["scope"] == "openid profile entity"
    for client_id, entry in by_id.items():
        client = provider.clients.get(client_id)
        assert client.check_client_secret(entry["client_secret"])
        assert f"{entry['base_url']}/callback" in client.redirect_uris

    codes = {entry.code for entry in provider.entities.matters()}
    assert {"tax", "tax.declaration", "social_insurance"} <= codes

    people = provider.people
    levels = {
        phone: people.find_by_identifier(phone).verification_level
        for phone in ("13800131007", "13800131005", "13800131003")
    }
    assert levels == {"13800131007": "L2", "13800131005": "L3", "13800131003": "L2"}
    assert people.find_by_identifier("demo") is not None

    company = provider.entities.by_uscc("91330106064307423H")
    representative = people.find_by_identifier("13800131005")
    handler = people.find_by_identifier("13800131003")
    assert provider.entities.role(company.id, representative.id).role == "legal_representative"
    grants = provider.entities.grants(company.id)
    assert [(g.account_id, g.status, list(g.matters)) for g in grants] == [
        (handler.id, "active", ["tax"])
    ]


def test_a_lost_portals_file_gives_the_portals_new_secrets(
    cli: CliRunner, provider: Any, tmp_path: Path
) -> None:
    cli.ok("db", "upgrade")
    portals_file = tmp_path / "run-portals.json"
    cli.ok("demo", "setup", "--portals-file", str(portals_file))
    portals_file.unlink()
    cli.ok("demo", "setup", "--portals-file", str(portals_file))
    for entry in json.loads(portals_file.read_text("utf-8"))["portals"]:
        assert provider.clients.get(entry["client_id"]).check_client_secret(entry["client_secret"])


def test_demo_setup_is_refused_outside_development(
    cli: CliRunner, monkeypatch: Any, tmp_path: Path
) -> None:
    from idp.config import DEMO_REGISTRY

    monkeypatch.setenv("IDP_ENV", "production")
    monkeypatch.setenv("IDP_ISSUER", "https://login.example.gov.cn")
    monkeypatch.setenv("IDP_SECRET_KEY", "s" * 40)
    monkeypatch.setenv("IDP_AUTHORITY_NAME", "示例市政务服务管理机构")
    monkeypatch.setenv("IDP_REGISTRY_FILE", str(DEMO_REGISTRY))
    monkeypatch.setenv("IDP_SMS_SENDER", "outbox")
    code, out, err = cli.run("demo", "setup", "--portals-file", str(tmp_path / "p.json"))
    assert (code, out) == (2, "")
    assert "development only" in err
    assert not (tmp_path / "p.json").exists()


def test_the_portals_follow_other_ports(cli: CliRunner, provider: Any, tmp_path: Path) -> None:
    cli.ok("db", "upgrade")
    portals_file = tmp_path / "run-portals.json"
    cli.ok("demo", "setup", "--portals-file", str(portals_file))
    secrets = {
        entry["client_id"]: entry["client_secret"]
        for entry in json.loads(portals_file.read_text("utf-8"))["portals"]
    }
    printed = cli.ok(
        "demo",
        "setup",
        "--portals-file",
        str(portals_file),
        "--portal-host",
        "127.0.0.1",
        "--ports",
        "6101,6103",
    )
    assert "http://127.0.0.1:6101" in printed and "http://127.0.0.1:6103" in printed
    by_id = {e["client_id"]: e for e in json.loads(portals_file.read_text("utf-8"))["portals"]}
    for client_id, port in (("run-portal-people", 6101), ("run-portal-companies", 6103)):
        client = provider.clients.get(client_id)
        base = f"http://127.0.0.1:{port}"
        assert by_id[client_id]["port"] == port and by_id[client_id]["base_url"] == base
        assert client.redirect_uris == [f"{base}/callback"]
        assert client.post_logout_redirect_uris == [f"{base}/"]
        assert client.backchannel_logout_uri == f"{base}/backchannel-logout"
        assert by_id[client_id]["client_secret"] == secrets[client_id]  # same secret


def test_bad_ports_are_refused(cli: CliRunner) -> None:
    for ports in ("5001", "5001,x", "5001,70000"):
        with pytest.raises(SystemExit) as refused:  # argparse: the message and status 2
            cli.run("demo", "setup", "--ports", ports)
        assert refused.value.code == 2, ports
