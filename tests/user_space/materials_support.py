"""Helpers for the materials tests: sample files, the upload form, where the files are kept."""

from __future__ import annotations

import io
import re
import struct
import zlib
from pathlib import Path
from typing import Any

from tests.account.helpers import signed_in_page
from tests.support import csrf_token


def pdf(text: str = "hello") -> bytes:
    return (
        b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\n% " + text.encode() + b"\n"
        b"trailer\n<< /Root 1 0 R >>\n%%EOF\n"
    )


def png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def jpeg() -> bytes:
    return (
        b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
        + b"\x00" * 32
        + b"\xff\xd9"
    )


def upload(
    browser: Any,
    data: bytes | None,
    *,
    filename: str = "scan.pdf",
    content_type: str = "application/pdf",
    type_code: str = "id_card",
    title: str = "身份证 正反面",
    expires_on: str = "",
    lang: str = "en",
    path: str = "/account/materials",
) -> Any:
    html = signed_in_page(browser, f"/account/materials?lang={lang}")
    form: dict[str, Any] = {
        "csrf_token": csrf_token(html),
        "type_code": type_code,
        "title": title,
        "expires_on": expires_on,
    }
    if data is not None:
        form["file"] = (io.BytesIO(data), filename, content_type)
    return browser.post(f"{path}?lang={lang}", data=form, content_type="multipart/form-data")


def material_ids(html: str) -> list[str]:
    return re.findall(r'<tr data-material="([^"]+)"', html)


def field_error(html: str, field: str) -> str | None:
    found = re.search(
        rf'<p class="field-error" id="{field}-error" data-error-for="{field}">([^<]*)</p>', html
    )
    return found.group(1) if found else None


def stored_files(provider: Any) -> list[Path]:
    directory = Path(provider.config.MATERIALS_DIR)
    if not directory.is_dir():
        return []
    return sorted(path for path in directory.iterdir() if path.is_file())
