"""Publishing agreements with ``idp agreements`` (issue #3 items 1 and 6, "Bad input").

Publishing an empty or unreadable text, an unknown kind, or a version not newer than the current
one is refused with a clear message (exit status 2) and stores nothing. Kinds the operator adds
(such as a privacy notice) are required at login like the shipped ones.
"""

from __future__ import annotations

import pytest

from tests.agreements.helpers import (
    acceptances,
    publish,
    rows,
    sha256,
    shown_agreement_text,
    walk,
    write_text,
)

NOTICE = "个人信息保护告知书\n本机构依照《个人信息保护法》处理您的个人信息。\n"


def _stored(provider):  # type: ignore[no-untyped-def]
    return (
        rows(provider, "SELECT kind FROM agreement_kinds ORDER BY kind"),
        rows(provider, "SELECT id, kind, version, language FROM agreement_versions ORDER BY id"),
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "the agreement text is empty"),
        (" \n\r\n\t\n", "the agreement text is empty"),
        ("个人信息保护告知书".encode("gbk"), "cannot read"),
        (b"\xff\xfe\x00\x00 not text", "cannot read"),
        ("条" * 200_001, "the agreement text is too long"),
    ],
    ids=["empty", "whitespace", "gbk", "binary", "too-long"],
)
def test_publishing_an_empty_or_unreadable_text_is_refused(
    cli, provider, tmp_path, seeded, content, message
):
    """An empty text, or a file that is not UTF-8, is refused and nothing is stored."""
    before = _stored(provider)
    path = write_text(tmp_path, "text.txt", content)

    code, out, err = cli.run("agreements", "publish", "--kind", "natural_person", "--file", path)

    assert code == 2
    assert message in err
    assert out == ""
    assert _stored(provider) == before


def test_publishing_a_text_with_control_characters_is_refused(cli, provider, tmp_path, seeded):
    """A binary file that happens to decode as UTF-8 (NUL and other control characters) is not
    an agreement text; PostgreSQL could not even store it."""
    before = _stored(provider)
    path = write_text(tmp_path, "binary.txt", b"\x00\x01\x02PK\x03\x04 agreement\x00")

    code, out, err = cli.run("agreements", "publish", "--kind", "natural_person", "--file", path)

    assert code == 2
    assert "control characters" in err
    assert out == ""
    assert _stored(provider) == before


def test_a_byte_order_mark_is_not_part_of_the_text(cli, provider, tmp_path, seeded):
    """Files saved by Windows editors start with a UTF-8 byte order mark; it is not part of the
    agreement shown and hashed."""
    content = "自然人实名注册协议\n第二版。\n"
    path = write_text(tmp_path, "bom.txt", "\ufeff".encode() + content.encode())

    published = cli.ok("agreements", "publish", "--kind", "natural_person", "--file", path)

    stored = rows(provider, "SELECT text FROM agreement_versions WHERE version = 2")
    assert [r["text"] for r in stored] == [content]
    assert published["sha256"] == sha256(content)


def test_publishing_a_missing_file_is_refused(cli, provider, tmp_path, seeded):
    before = _stored(provider)
    missing = str(tmp_path / "no-such-agreement.txt")

    code, _out, err = cli.run(
        "agreements", "publish", "--kind", "natural_person", "--file", missing
    )

    assert code == 2
    assert "cannot read" in err and "no-such-agreement.txt" in err
    assert _stored(provider) == before


def test_publishing_to_an_unknown_kind_is_refused(cli, provider, tmp_path, seeded):
    before = _stored(provider)
    path = write_text(tmp_path, "notice.txt", NOTICE)

    code, _out, err = cli.run("agreements", "publish", "--kind", "privacy_notice", "--file", path)

    assert code == 2
    assert "unknown agreement kind: privacy_notice" in err
    assert _stored(provider) == before


@pytest.mark.parametrize("number", ["1", "0", "-3"])
def test_publishing_a_version_not_newer_than_the_current_one_is_refused(
    cli, provider, tmp_path, seeded, number
):
    before = _stored(provider)
    path = write_text(tmp_path, "v.txt", "自然人实名注册协议\n新的文本。\n")

    code, _out, err = cli.run(
        "agreements", "publish", "--kind", "natural_person", "--file", path, "--version", number
    )

    assert code == 2
    assert f"version {number} is not newer than the current version 1 of natural_person" in err
    assert _stored(provider) == before


def test_publishing_with_an_effective_time_without_zone_is_refused(cli, provider, tmp_path, seeded):
    before = _stored(provider)
    path = write_text(tmp_path, "v.txt", "自然人实名注册协议\n新的文本。\n")

    for value in ("2030-01-01T00:00:00", "next monday"):
        code, _out, err = cli.run(
            "agreements",
            "publish",
            "--kind",
            "natural_person",
            "--file",
            path,
            "--effective-at",
            value,
        )
        assert code == 2
        assert "--effective-at" in err
    assert _stored(provider) == before


@pytest.mark.parametrize(
    "kind", ["Privacy_Notice", "privacy-notice", "privacy notice", "1notice", "x", "p" * 65, ""]
)
def test_add_kind_with_a_bad_name_is_refused(cli, provider, kind):
    before = _stored(provider)

    code, _out, err = cli.run("agreements", "add-kind", "--kind", kind, "--title", "告知书")

    assert code == 2
    assert "lower-case letters, digits and underscores" in err
    assert _stored(provider) == before


def test_add_kind_twice_or_without_title_is_refused(cli, provider):
    cli.ok("agreements", "add-kind", "--kind", "privacy_notice", "--title", "个人信息保护告知书")
    before = _stored(provider)

    duplicate = cli.run("agreements", "add-kind", "--kind", "privacy_notice", "--title", "又一个")
    untitled = cli.run("agreements", "add-kind", "--kind", "other_notice", "--title", "  ")

    assert duplicate[0] == 2 and "exists already" in duplicate[2]
    assert untitled[0] == 2 and "title must not be empty" in untitled[2]
    assert _stored(provider) == before


def test_operator_added_kind_is_required_at_login(public_rp, user, provider, cli, tmp_path, seeded):
    """A kind for all accounts with a material version is asked for after the registration
    agreement, in the same login; one for legal persons only is not asked of a natural person."""
    cli.ok(
        "agreements",
        "add-kind",
        "--kind",
        "privacy_notice",
        "--title",
        "个人信息保护告知书",
        "--applies-to",
        "all",
    )
    cli.ok(
        "agreements",
        "add-kind",
        "--kind",
        "company_notice",
        "--title",
        "法人告知书",
        "--applies-to",
        "legal_person",
    )
    published = publish(cli, tmp_path, "privacy_notice", NOTICE, "--material")
    publish(cli, tmp_path, "company_notice", "法人告知书\n仅适用于法人。\n", "--material")
    assert (published["kind"], published["version"], published["nature"]) == (
        "privacy_notice",
        1,
        "material",
    )
    listed = cli.ok("agreements", "list", "--json")
    assert {("privacy_notice", "all"), ("company_notice", "legal_person")} <= {
        (r["kind"], r["applies_to"]) for r in listed
    }

    result = walk(public_rp, user["username"], user["password"])

    assert result.kinds == ["login", "agreement", "agreement", "consent"]
    assert "code" in result.attempt.result
    assert shown_agreement_text(result.page("agreement", 1)) == NOTICE
    assert [(r["kind"], r["version"], r["action"]) for r in acceptances(provider)] == [
        ("natural_person", 1, "accepted"),
        ("privacy_notice", 1, "accepted"),
    ]

    again = walk(public_rp, user["username"], user["password"], prompt="login")
    assert again.kinds == ["login"]
    assert "code" in again.attempt.result
