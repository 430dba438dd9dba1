"""The shipped registration agreements become version 1 of each kind (issue #3, item 1)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.agreements.helpers import rows, sha256

DEVELOPMENT_AUTHORITY = "示例市政务服务管理机构"


def test_db_upgrade_publishes_both_shipped_agreements_as_material_version_1(cli, provider, seeded):
    """Item 1: natural_person and legal_person, version 1, zh-CN, material, as shipped."""
    assert "published version 1 of the natural_person agreement" in seeded
    assert "published version 1 of the legal_person agreement" in seeded

    listed = cli.ok("agreements", "list", "--json")
    authoritative = [r for r in listed if not r["reference_translation"]]

    assert [(r["kind"], r["version"], r["language"]) for r in authoritative] == [
        ("natural_person", 1, "zh-CN"),
        ("legal_person", 1, "zh-CN"),
    ]
    assert all(r["material"] for r in authoritative)
    assert {r["kind"]: r["title"] for r in authoritative} == {
        "natural_person": "自然人实名注册协议",
        "legal_person": "法人实名注册协议",
    }
    # Anything else shipped is a reference translation of version 1, never a version of its own.
    assert all(
        r["version"] == 1 and r["language"] != "zh-CN" for r in listed if r not in authoritative
    )
    stored = {
        (r["kind"], r["language"]): r["text"]
        for r in rows(provider, "SELECT kind, language, text FROM agreement_versions")
    }
    for row in listed:
        assert row["sha256"] == sha256(stored[(row["kind"], row["language"])])


def test_shipped_texts_name_the_configured_authority_and_keep_no_placeholder(provider, seeded):
    """Item 1: the placeholder ``**政务服务管理机构`` is replaced by IDP_AUTHORITY_NAME."""
    stored = rows(provider, "SELECT kind, language, text FROM agreement_versions")
    texts = {r["kind"]: r["text"] for r in stored if r["language"] == "zh-CN"}

    assert all("**" not in r["text"] for r in stored)
    assert texts["natural_person"].startswith("自然人实名注册协议\n")
    assert texts["legal_person"].startswith("法人实名注册协议\n")
    for text in texts.values():
        assert DEVELOPMENT_AUTHORITY in text
        assert "**" not in text
        assert "10.【" in text  # clause 10 (supplementary rules) is part of each agreement
    # The two agreements are split apart, not one text shipped twice.
    assert "法人实名注册协议" not in texts["natural_person"]


def test_db_upgrade_again_publishes_nothing(cli, provider, seeded):
    """Item 1: seeding is idempotent; a second upgrade keeps version 1 as it is."""
    before = rows(provider, "SELECT id, kind, version, text_sha256 FROM agreement_versions")

    output = cli.ok("db", "upgrade")

    assert "published" not in output
    assert rows(provider, "SELECT id, kind, version, text_sha256 FROM agreement_versions") == before


def _idp(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "IDP_DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.sqlite3'}",
        "IDP_INSTANCE_DIR": str(tmp_path / "instance"),
        "IDP_KEYS_DIR": str(tmp_path / "keys"),
        "IDP_AUTHORITY_NAME": "杭州市政务服务管理机构",
    }
    command = Path(sys.executable).with_name("idp")
    return subprocess.run(
        [str(command), *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_db_upgrade_command_seeds_a_fresh_database_once_with_the_operator_authority(tmp_path):
    """Item 1 through the installed ``idp`` command: a fresh SQLite file gets both agreements
    with IDP_AUTHORITY_NAME filled in; running it again publishes nothing new."""
    first = _idp(tmp_path, "db", "upgrade")
    assert first.returncode == 0, first.stderr
    assert "published version 1 of the natural_person agreement" in first.stdout
    assert "published version 1 of the legal_person agreement" in first.stdout

    second = _idp(tmp_path, "db", "upgrade")
    assert second.returncode == 0, second.stderr
    assert "published" not in second.stdout

    with sqlite3.connect(tmp_path / "fresh.sqlite3") as connection:
        stored = connection.execute(
            "SELECT kind, version, language, material, text FROM agreement_versions"
            " WHERE reference_translation = 0"
        ).fetchall()
        everything = connection.execute("SELECT text FROM agreement_versions").fetchall()
    connection.close()
    assert sorted((k, v, lang, bool(m)) for k, v, lang, m, _ in stored) == [
        ("legal_person", 1, "zh-CN", True),
        ("natural_person", 1, "zh-CN", True),
    ]
    for *_, text in stored:
        assert "杭州市政务服务管理机构" in text
        assert "杭州市政务服务门户" in text
        assert DEVELOPMENT_AUTHORITY not in text
        assert "**" not in text
    assert all("**" not in text for (text,) in everything)
