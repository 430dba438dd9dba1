"""The public agreement pages /terms (op_tos_uri) and /policy (op_policy_uri): issue #3, item 7.

They render the current (in force) version of each agreement kind, with its version number,
effective date and nature (material or supplementary, clause 10), in the exact published text.
"""

from __future__ import annotations

import html as html_module
import re

from tests.terms.helpers import listed, shown_texts

SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def _publish(cli, tmp_path, kind: str, text: str, *extra: str) -> dict:  # type: ignore[no-untyped-def]
    source = tmp_path / f"{kind}.txt"
    source.write_text(text, encoding="utf-8")
    return cli.ok("agreements", "publish", "--kind", kind, "--file", str(source), *extra)  # type: ignore[no-any-return]


def test_terms_renders_the_current_version_of_each_agreement_exactly(client, seeded):
    """Item 7: both shipped agreements, version 1, in force since their effective date, material,
    and the text a browser shows hashes to the SHA-256 ``idp agreements list`` reports."""
    page = client.get("/terms")
    assert page.status_code == 200
    shown = shown_texts(page.get_data(as_text=True))

    assert set(shown) == {"natural_person", "legal_person"}
    for kind, title in (
        ("natural_person", "自然人实名注册协议"),
        ("legal_person", "法人实名注册协议"),
    ):
        row = listed(seeded, kind)
        assert shown[kind].version == 1
        assert shown[kind].language == "zh-CN"
        assert shown[kind].sha256 == row["sha256"]
        assert title in shown[kind].section
        assert row["effective_at"][:10] in shown[kind].section
        assert 'data-nature="material"' in shown[kind].section
        assert "**" not in shown[kind].text


def test_a_newly_published_version_replaces_the_old_one_on_terms(client, cli, seeded, tmp_path):
    """Items 6 and 7: after ``idp agreements publish`` the page shows the new version (and its
    nature: supplementary by default, material with --material); the other kind keeps its own."""
    supplementary = "自然人实名注册协议\n1.【目的意义】第二版。\n11.【补充规则】新增条款。\n"
    published = _publish(cli, tmp_path, "natural_person", supplementary)
    assert published["version"] == 2

    shown = shown_texts(client.get("/terms").get_data(as_text=True))
    assert shown["natural_person"].version == 2
    assert shown["natural_person"].text == supplementary
    assert shown["natural_person"].sha256 == published["sha256"]
    assert 'data-nature="supplementary"' in shown["natural_person"].section
    assert shown["legal_person"].version == 1

    material = _publish(
        cli, tmp_path, "legal_person", "法人实名注册协议\n第二版全文。\n", "--material"
    )
    shown = shown_texts(client.get("/terms").get_data(as_text=True))
    assert shown["legal_person"].version == 2
    assert shown["legal_person"].sha256 == material["sha256"]
    assert 'data-nature="material"' in shown["legal_person"].section


def test_a_version_not_yet_in_force_is_not_shown(client, cli, seeded, tmp_path):
    """Item 1 (effective time): a version published with a future --effective-at is not the
    current one until then; the page keeps showing version 1."""
    _publish(
        cli,
        tmp_path,
        "natural_person",
        "自然人实名注册协议\n将来生效的版本。\n",
        "--effective-at",
        "2999-01-01T00:00+08:00",
    )

    shown = shown_texts(client.get("/terms").get_data(as_text=True))
    assert shown["natural_person"].version == 1
    assert shown["natural_person"].sha256 == listed(seeded, "natural_person", version=1)["sha256"]


def test_text_is_shown_exactly_with_white_space_and_markup_escaped(client, cli, tmp_path):
    """The exact published text: blank lines, indentation and tabs are kept, and characters
    that are HTML markup are escaped, never interpreted."""
    cli.ok("agreements", "add-kind", "--kind", "service_rules", "--title", "服务规则")
    text = "服务规则\n\n  第一条 <b>加粗</b> & <script>alert(1)</script>\n\t第二条\n"
    _publish(cli, tmp_path, "service_rules", text, "--material")

    body = client.get("/terms").get_data(as_text=True)

    assert shown_texts(body)["service_rules"].text == text
    assert "<script>alert(1)</script>" not in body
    assert "<b>加粗</b>" not in body


def test_policy_quotes_clause_5_when_there_is_no_privacy_notice(client, seeded):
    """Clause 5 (user information protection) governs personal information while the operator
    has published no ``privacy_notice``: /policy quotes it and shows the agreements in force."""
    body = client.get("/policy").get_data(as_text=True)
    shown = shown_texts(body)

    assert set(shown) == {"natural_person", "legal_person"}
    for entry in shown.values():
        clause_5 = next(line for line in entry.text.splitlines() if line.startswith("5."))
        assert "【用户信息保障】" in clause_5
        quote = re.search(r"<blockquote[^>]*>(.*?)</blockquote>", entry.section, re.DOTALL)
        assert quote and html_module.unescape(quote.group(1)) == clause_5
        assert entry.sha256 == listed(seeded, entry.kind)["sha256"]


def test_policy_shows_the_privacy_notice_once_published(client, cli, seeded, tmp_path):
    """An operator-added kind ``privacy_notice`` becomes the op_policy_uri page; /terms lists
    it with the registration agreements."""
    cli.ok(
        "agreements",
        "add-kind",
        "--kind",
        "privacy_notice",
        "--title",
        "个人信息保护声明",
        "--applies-to",
        "all",
    )
    notice = "个人信息保护声明\n一、我们仅在办理政务服务所必需的范围内处理您的个人信息。\n"
    published = _publish(cli, tmp_path, "privacy_notice", notice, "--material")

    policy = shown_texts(client.get("/policy").get_data(as_text=True))
    assert set(policy) == {"privacy_notice"}
    assert policy["privacy_notice"].text == notice
    assert policy["privacy_notice"].sha256 == published["sha256"]
    assert "个人信息保护声明" in policy["privacy_notice"].section

    terms = shown_texts(client.get("/terms").get_data(as_text=True))
    assert set(terms) == {"natural_person", "legal_person", "privacy_notice"}


def test_pages_answer_when_no_agreement_is_published(client):
    """With no agreement at all both pages still answer 200 and say so (not a server error)."""
    for path in ("/terms?lang=en", "/policy?lang=en"):
        page = client.get(path)
        body = page.get_data(as_text=True)
        assert page.status_code == 200
        assert 'id="no-agreement"' in body
        assert "No agreement has been published yet." in body
        assert shown_texts(body) == {}


def test_pages_are_public_cacheable_and_carry_the_security_headers(client, seeded):
    """Public pages: cacheable for five minutes, varying by the language inputs; the same
    security headers as every page (CSP without scripts, no framing, no sniffing)."""
    for path in ("/terms", "/policy"):
        page = client.get(path)
        assert page.status_code == 200
        assert page.headers["Cache-Control"] == "public, max-age=300"
        assert "accept-language" in {v.strip().lower() for v in page.headers["Vary"].split(",")}
        for name, value in SECURITY_HEADERS.items():
            assert page.headers[name] == value
        policy = page.headers["Content-Security-Policy"]
        assert "default-src 'none'" in policy
        assert "frame-ancestors 'none'" in policy
        assert "script-src" not in policy
        assert "Set-Cookie" not in page.headers
