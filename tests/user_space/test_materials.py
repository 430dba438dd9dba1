"""Materials in the user space (issue 12, item 3; docs/user-space.md "Materials"): upload with
the type sniffed from the bytes, stored sealed, served to the owner only, renewed, deleted,
listed when they expire soon, erased with the account, exported, covered by key rotation."""

from __future__ import annotations

import json
import os
import shutil
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from idp.models import AuditEvent, Material
from tests.account.helpers import account_login, create_user, signed_in_page
from tests.support import csrf_token
from tests.user_space.materials_support import (
    field_error,
    jpeg,
    material_ids,
    pdf,
    png,
    stored_files,
    upload,
)


@pytest.fixture(autouse=True)
def empty_materials_folder(provider: Any) -> None:
    shutil.rmtree(provider.config.MATERIALS_DIR, ignore_errors=True)


@pytest.fixture
def person(client: Any, cli: Any) -> dict[str, str]:
    created = create_user(cli, "mei", "李美")
    assert account_login(client, created["username"], created["password"]).status_code == 303
    return created


def _rows(provider: Any) -> list[Material]:
    provider.db.remove()
    return list(provider.db.session.scalars(select(Material)))


def test_upload_stores_the_file_sealed_and_serves_it_to_the_owner(client, provider, person):
    content = pdf("secret-marker-0042")
    response = upload(client, content, title="我的身份证 2024", expires_on="2031-05-01")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/account/materials?done=added")

    html = signed_in_page(client, "/account/materials?lang=en&done=added")
    assert 'id="form-notice"' in html
    [material_id] = material_ids(html)
    assert "我的身份证 2024" in html and "2031-05-01" in html and 'data-type="id_card"' in html

    # At rest: the file and the title are sealed; the media type was sniffed.
    [row] = _rows(provider)
    assert row.media_type == "application/pdf" and row.size == len(content)
    assert "我的身份证" not in row.title_sealed
    [path] = stored_files(provider)
    assert path.name == row.file_name
    sealed = path.read_bytes()
    assert b"secret-marker-0042" not in sealed and sealed.startswith(b"v1.")
    assert oct(path.stat().st_mode & 0o777) == "0o600"

    download = client.get(f"/account/materials/{material_id}/file")
    assert download.status_code == 200
    assert download.data == content
    assert download.mimetype == "application/pdf"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    ("data", "name", "content_type", "media_type"),
    [
        (png(), "photo.png", "image/png", "image/png"),
        (jpeg(), "photo.jpg", "image/jpeg", "image/jpeg"),
        # The bytes decide, not the name or the browser's Content-Type.
        (png(), "photo.pdf", "application/pdf", "image/png"),
    ],
)
def test_images_are_accepted_by_their_bytes(
    client, provider, person, data, name, content_type, media_type
):
    assert upload(client, data, filename=name, content_type=content_type).status_code == 303
    [row] = _rows(provider)
    assert row.media_type == media_type
    download = client.get(f"/account/materials/{row.id}/file")
    assert download.mimetype == media_type and download.data == data


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"<html><script>alert(1)</script></html>", "none of them"),
        (b"MZ\x90\x00 an executable", "none of them"),
        (b"%PDF-1.7\n truncated without its end", "incomplete or damaged"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "incomplete or damaged"),
        (b"\xff\xd8\xff\xe0 no end of image", "incomplete or damaged"),
        (b"", "The file is empty."),
    ],
)
def test_disguised_damaged_and_empty_files_are_refused(client, provider, person, data, expected):
    response = upload(client, data, filename="scan.pdf", content_type="application/pdf")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    message = field_error(html, "file")
    assert message is not None and expected in message
    assert 'id="error-summary"' in html and 'data-summary-for="file"' in html
    assert _rows(provider) == [] and stored_files(provider) == []


def test_every_bad_field_is_reported_at_once_and_nothing_is_stored(client, provider, person):
    response = upload(
        client, None, type_code="passport_of_mars", title="  ", expires_on="2030-02-30"
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert field_error(html, "type_code") == "Choose a type of material from the list."
    assert field_error(html, "title") == "Enter a title for the material."
    assert "year-month-day" in (field_error(html, "expires_on") or "")
    assert field_error(html, "file") == "Choose a file to upload."
    assert _rows(provider) == [] and stored_files(provider) == []


@pytest.mark.parametrize(
    ("expires_on", "expected"),
    [
        ("tomorrow", "year-month-day"),
        ("2020-01-01", "already passed"),
        ("9999-12-31", "too far"),
        ("2031-1-1", "year-month-day"),
    ],
)
def test_bad_dates_are_refused(client, provider, person, expires_on, expected):
    response = upload(client, pdf(), expires_on=expires_on)
    assert response.status_code == 400
    assert expected in (field_error(response.get_data(as_text=True), "expires_on") or "")
    assert _rows(provider) == []


def test_messages_are_in_chinese_by_default(client, provider, person):
    response = upload(client, b"<html></html>", lang="zh-CN", type_code="")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert field_error(html, "type_code") == "请选择材料类型。"
    assert "PDF" in (field_error(html, "file") or "") and "文件" in (
        field_error(html, "file") or ""
    )


def test_a_file_over_the_limit_is_refused_on_the_field(make_app, cli, provider):
    app = make_app(MATERIAL_MAX_BYTES=65536)
    browser = app.test_client()
    created = create_user(cli, "big", "王大")
    assert account_login(browser, created["username"], created["password"]).status_code == 303
    # Just over the file limit: read, measured, refused.
    just_over = pdf("x" * 65536)
    response = upload(browser, just_over)
    assert response.status_code == 400
    assert "too large" in (field_error(response.get_data(as_text=True), "file") or "")
    # Far over: the body is refused before it is read, with the same message on the page.
    response = upload(browser, pdf("y" * 400_000))
    assert response.status_code == 413
    html = response.get_data(as_text=True)
    assert "at most 0.0625 MB" in (field_error(html, "file") or "")
    assert response.headers.get("Connection") == "close"
    assert _rows(provider) == [] and stored_files(provider) == []


def test_other_pages_keep_the_small_body_limit(client, person):
    html = signed_in_page(client, "/account/consents?lang=en")
    response = client.post(
        "/account/consents/withdraw",
        data={"csrf_token": csrf_token(html), "client_id": "x" * 200_000},
    )
    assert response.status_code == 413


def test_only_the_owner_reaches_a_material(client, app, cli, provider, person):
    assert upload(client, pdf()).status_code == 303
    [row] = _rows(provider)

    other = app.test_client()
    stranger = create_user(cli, "stranger", "赵六")
    assert account_login(other, stranger["username"], stranger["password"]).status_code == 303
    for path in (f"/account/materials/{row.id}/file", f"/account/materials/{row.id}"):
        assert other.get(path).status_code == 404
    html = signed_in_page(other, "/account/materials?lang=en")
    assert material_ids(html) == []
    refused = other.post(
        f"/account/materials/{row.id}/delete", data={"csrf_token": csrf_token(html)}
    )
    assert refused.status_code == 404

    anonymous = app.test_client()
    response = anonymous.get(f"/account/materials/{row.id}/file")
    assert response.status_code == 303 and "/account/login" in response.headers["Location"]
    assert len(_rows(provider)) == 1


def test_a_post_without_the_csrf_token_changes_nothing(client, provider, person):
    assert upload(client, pdf()).status_code == 303
    [row] = _rows(provider)
    assert client.post(f"/account/materials/{row.id}/delete").status_code == 400
    assert len(_rows(provider)) == 1


def _renew(browser: Any, material_id: str, data: bytes | None, expires_on: str) -> Any:
    import io

    html = signed_in_page(browser, f"/account/materials/{material_id}?lang=en")
    form: dict[str, Any] = {"csrf_token": csrf_token(html), "expires_on": expires_on}
    if data is not None:
        form["file"] = (io.BytesIO(data), "new.png", "image/png")
    return browser.post(
        f"/account/materials/{material_id}/renew?lang=en",
        data=form,
        content_type="multipart/form-data",
    )


def test_renewal_replaces_the_file_and_the_expiry(client, provider, person):
    assert upload(client, pdf("old"), expires_on="2030-01-01").status_code == 303
    [row] = _rows(provider)
    [old_file] = stored_files(provider)

    # A new expiry only: same file, same version.
    assert _renew(client, row.id, None, "2032-06-30").status_code == 303
    [renewed] = _rows(provider)
    assert renewed.expires_on == date(2032, 6, 30) and renewed.version == 1
    assert stored_files(provider) == [old_file]

    # A new file: a new version in a new file, the old one gone.
    assert _renew(client, row.id, png(), "").status_code == 303
    [renewed] = _rows(provider)
    assert renewed.version == 2 and renewed.media_type == "image/png"
    assert renewed.expires_on is None
    [new_file] = stored_files(provider)
    assert new_file != old_file
    assert client.get(f"/account/materials/{row.id}/file").data == png()

    # A bad renewal changes nothing.
    response = _renew(client, row.id, b"<html>", "2020-01-01")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert field_error(html, "file") and field_error(html, "expires_on")
    [unchanged] = _rows(provider)
    assert unchanged.version == 2 and stored_files(provider) == [new_file]


def test_delete_removes_the_row_and_the_file(client, provider, person):
    assert upload(client, pdf()).status_code == 303
    [row] = _rows(provider)
    html = signed_in_page(client, f"/account/materials/{row.id}?lang=en")
    response = client.post(
        f"/account/materials/{row.id}/delete", data={"csrf_token": csrf_token(html)}
    )
    assert response.status_code == 303
    assert _rows(provider) == [] and stored_files(provider) == []
    assert client.get(f"/account/materials/{row.id}/file").status_code == 404
    provider.db.remove()
    actions = list(provider.db.session.scalars(select(AuditEvent.action)))
    assert "material_added" in actions and "material_deleted" in actions


def test_materials_expiring_within_30_days_are_listed_first(client, provider, person):
    today = date.today()
    soon = (today + timedelta(days=10)).isoformat()
    later = (today + timedelta(days=90)).isoformat()
    assert upload(client, pdf(), title="快到期", expires_on=soon).status_code == 303
    assert upload(client, pdf(), title="还早", expires_on=later).status_code == 303
    assert upload(client, pdf(), title="无期限", type_code="other").status_code == 303
    html = signed_in_page(client, "/account/materials?lang=en")
    section = html.split('id="materials-expiring"', 1)[1].split("</section>", 1)[0]
    assert "快到期" in section and "还早" not in section and "无期限" not in section
    assert "Expiring within 30 days" in html


def test_cancellation_erases_the_rows_and_the_files(client, provider, person):
    assert upload(client, pdf()).status_code == 303
    assert upload(client, png(), filename="a.png").status_code == 303
    assert len(stored_files(provider)) == 2
    form = signed_in_page(client, "/account/cancel?lang=en")
    response = client.post(
        "/account/cancel?lang=en",
        data={
            "csrf_token": csrf_token(form),
            "password": person["password"],
            "confirm_cancel": "yes",
        },
    )
    assert response.status_code == 303
    assert _rows(provider) == [] and stored_files(provider) == []


def test_export_gives_the_metadata_and_names_the_files(client, provider, person):
    assert (
        upload(client, pdf("exported"), title="学历", type_code="education_certificate").status_code
        == 303
    )
    [row] = _rows(provider)
    exported = provider.materials.export(row.account_id)
    json.dumps(exported)  # JSON-ready
    [item] = exported["materials"]
    assert item["title"] == "学历" and item["type"] == "education_certificate"
    assert item["type_name"] == "学历证书" and item["media_type"] == "application/pdf"
    assert item["file"] == f"materials/{row.id}.pdf" and item["released_to"] == []
    files = dict(provider.materials.export_files(row.account_id))
    assert files == {item["file"]: pdf("exported")}


def test_data_key_rotation_reseals_titles_and_files(client, cli, provider, person):
    assert upload(client, pdf("rotated")).status_code == 303
    [path] = stored_files(provider)
    before = path.read_bytes().split(b".", 2)[1]
    result = cli.ok("keys", "rotate-data")
    after = path.read_bytes().split(b".", 2)[1]
    assert after != before and after.decode() == result["current_key"]
    assert result["resealed"] >= 2  # the title and the file (and the account's own columns)
    [row] = _rows(provider)
    assert row.title_sealed.split(".")[1] == result["current_key"]
    material_id = material_ids(signed_in_page(client, "/account/materials?lang=en"))[0]
    assert client.get(f"/account/materials/{material_id}/file").data == pdf("rotated")


def test_the_sweep_removes_files_no_row_names(client, cli, provider, person):
    assert upload(client, pdf()).status_code == 303
    [kept] = stored_files(provider)
    folder = Path(provider.config.MATERIALS_DIR)
    orphan = folder / "00000000-0000-0000-0000-000000000000.1.abcdef.sealed"
    orphan.write_bytes(b"v1.x.y")
    fresh = folder / "11111111-0000-0000-0000-000000000000.1.abcdef.sealed"
    fresh.write_bytes(b"v1.x.y")
    old = time.time() - 7200
    os.utime(orphan, (old, old))
    os.utime(kept, (old, old))
    assert cli.ok("materials", "sweep") == {"removed": 1}
    assert stored_files(provider) == sorted([kept, fresh])
    assert cli.ok("materials", "sweep", "--min-age", "0") == {"removed": 1}
    assert stored_files(provider) == [kept]


def test_an_unwritable_folder_stores_nothing_and_says_unavailable(
    make_app, cli, provider, tmp_path
):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder should be")
    app = make_app(MATERIALS_DIR=str(blocker / "materials"))
    browser = app.test_client()
    created = create_user(cli, "full", "钱满")
    assert account_login(browser, created["username"], created["password"]).status_code == 303
    response = upload(browser, pdf())
    assert response.status_code == 503
    assert _rows(provider) == []
