"""The English reference translation of the shipped agreements (issue #3, item 1: "An English
rendering may be added, marked as a reference translation"). The Chinese text stays the one
that is accepted and the one whose hash is kept as evidence."""

from __future__ import annotations

from tests.terms.helpers import (
    agreement_page_text,
    listed,
    login_through_agreement,
    shown_texts,
)

LABEL = "Reference translation — the Chinese text is authoritative"
AUTHORITY = "示例市政务服务管理机构"  # the development default of IDP_AUTHORITY_NAME


def test_db_upgrade_ships_chinese_and_english_rows_of_version_1(seeded):
    """``idp db upgrade`` publishes version 1 of each kind in zh-CN (authoritative) and en
    (reference translation, same nature and effective time); ``agreements list`` shows both."""
    for kind in ("natural_person", "legal_person"):
        chinese = listed(seeded, kind, "zh-CN", version=1)
        english = listed(seeded, kind, "en", version=1)
        assert chinese["reference_translation"] is False
        assert english["reference_translation"] is True
        assert english["material"] == chinese["material"] is True
        assert english["effective_at"] == chinese["effective_at"]
        assert english["sha256"] != chinese["sha256"]
    assert sorted((r["kind"], r["version"], r["language"]) for r in seeded) == [
        ("legal_person", 1, "en"),
        ("legal_person", 1, "zh-CN"),
        ("natural_person", 1, "en"),
        ("natural_person", 1, "zh-CN"),
    ]


def test_db_upgrade_again_adds_no_second_translation(cli, seeded):
    """Seeding is idempotent for the translation too."""
    cli.ok("db", "upgrade")
    assert sorted(
        (r["kind"], r["language"], r["sha256"]) for r in cli.ok("agreements", "list", "--json")
    ) == sorted((r["kind"], r["language"], r["sha256"]) for r in seeded)


def test_lang_en_shows_the_labelled_reference_translation(client, seeded):
    """?lang=en shows the English text of the current version, labelled as a reference
    translation; the default page shows the Chinese text without the label."""
    body = client.get("/terms?lang=en").get_data(as_text=True)
    shown = shown_texts(body)

    assert shown["natural_person"].text.startswith(
        "Real-Name Registration Agreement for Natural Persons\n1. [Purpose]"
    )
    assert shown["legal_person"].text.startswith(
        "Real-Name Registration Agreement for Legal Persons\n1. [Purpose]"
    )
    for kind, entry in shown.items():
        assert entry.language == "en"
        assert entry.version == 1
        assert entry.sha256 == listed(seeded, kind, "en")["sha256"]
        assert LABEL in entry.section
        # The configured authority replaces the placeholder in the translation too.
        assert AUTHORITY in entry.text
        assert "**" not in entry.text
        assert "10. [Other Provisions]" in entry.text

    chinese = client.get("/terms?lang=zh-CN").get_data(as_text=True)
    assert LABEL not in chinese
    assert {e.language for e in shown_texts(chinese).values()} == {"zh-CN"}


def test_lang_en_without_a_translation_shows_the_chinese_text_with_a_note(
    client, cli, seeded, tmp_path
):
    """A version with no English translation is shown in Chinese on the English page, with a
    note saying so, and without the reference-translation label."""
    source = tmp_path / "v2.txt"
    source.write_text("自然人实名注册协议\n第二版，尚无译文。\n", encoding="utf-8")
    published = cli.ok("agreements", "publish", "--kind", "natural_person", "--file", str(source))

    shown = shown_texts(client.get("/terms?lang=en").get_data(as_text=True))

    natural = shown["natural_person"]
    assert (natural.version, natural.language) == (2, "zh-CN")
    assert natural.sha256 == published["sha256"]
    assert "No translation of this version has been published" in natural.section
    assert LABEL not in natural.section
    assert LABEL in shown["legal_person"].section


def test_a_published_translation_of_the_new_version_is_shown(client, cli, seeded, tmp_path):
    """``idp agreements publish --reference-translation --language en`` adds the English text of
    the current version; the English page shows it, labelled."""
    chinese = tmp_path / "v2.zh.txt"
    chinese.write_text("自然人实名注册协议\n第二版。\n", encoding="utf-8")
    english = tmp_path / "v2.en.txt"
    english.write_text("Real-Name Registration Agreement for Natural Persons\nVersion two.\n")
    cli.ok("agreements", "publish", "--kind", "natural_person", "--file", str(chinese))
    translated = cli.ok(
        "agreements",
        "publish",
        "--kind",
        "natural_person",
        "--file",
        str(english),
        "--language",
        "en",
        "--reference-translation",
    )
    assert translated["version"] == 2

    natural = shown_texts(client.get("/terms?lang=en").get_data(as_text=True))["natural_person"]
    assert (natural.version, natural.language) == (2, "en")
    assert natural.text == "Real-Name Registration Agreement for Natural Persons\nVersion two.\n"
    assert LABEL in natural.section


def test_login_in_english_still_accepts_the_chinese_text(cli, client, public_rp, user, seeded):
    """Item 3 (evidence) with a reference translation present: the login's agreement step shows
    and records the authoritative Chinese text even in an English login, and the translation
    of the accepted version never asks for acceptance again."""
    attempt, agreement_pages = login_through_agreement(
        public_rp, user["username"], user["password"], ui_locales="en"
    )
    assert "code" in attempt.result
    assert len(agreement_pages) == 1
    assert '<html lang="en">' in agreement_pages[0]
    chinese = listed(seeded, "natural_person", "zh-CN")
    shown = agreement_page_text(agreement_pages[0])
    assert shown.startswith("自然人实名注册协议\n")
    assert "Real-Name Registration Agreement" not in shown

    evidence = cli.ok("agreements", "acceptances", "--account", user["username"], "--json")
    assert [(e["kind"], e["version"], e["language"], e["action"]) for e in evidence] == [
        ("natural_person", 1, "zh-CN", "accepted")
    ]
    assert evidence[0]["sha256"] == chinese["sha256"]

    again, pages_again = login_through_agreement(
        public_rp, user["username"], user["password"], ui_locales="en"
    )
    assert "code" in again.result
    assert pages_again == []
