"""The rules of a material before anything is stored: its type from the catalogue, its title,
its expiry, and what the file really is. Pure: no I/O but reading the shipped catalogue.

The type of a file is sniffed from its bytes (its magic number and a light look at its
structure), never taken from the name or the ``Content-Type`` the browser sent (OWASP File
Upload Cheat Sheet: "validate the file type, don't trust the Content-Type header"):

- PDF (ISO 32000): starts with ``%PDF-1.`` or ``%PDF-2.``, and ``%%EOF`` ends it (in its last
  kilobyte: writers may add a line break or a few bytes after it);
- PNG (ISO/IEC 15948): the 8-byte signature, then the ``IHDR`` chunk of length 13 first, and the
  ``IEND`` chunk at the end;
- JPEG (ISO/IEC 10918-1): the SOI marker and a third ``FF`` byte (a segment marker) at the
  start, the EOI marker ``FF D9`` at the end (trailing padding of NUL bytes tolerated).

Anything else (an HTML page named ``.pdf``, a script, an archive) is refused, as is a file that
starts like one of the three but is not whole.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

CATALOGUE_FILE = Path(__file__).resolve().parent.parent / "data" / "material-types.json"

PDF, PNG, JPEG = "application/pdf", "image/png", "image/jpeg"
MEDIA_TYPES = (PDF, JPEG, PNG)
EXTENSIONS = {PDF: "pdf", PNG: "png", JPEG: "jpg"}

MAX_TITLE_LENGTH = 100
MAX_TYPE_CODE_LENGTH = 32
# An expiry is a calendar day, at most this many years ahead (a passport's is ten).
MAX_YEARS_AHEAD = 50

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_IEND = b"\x00\x00\x00\x00IEND\xaeB`\x82"
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")

# Field problems, as codes; the pages say them in the person's language.
MISSING = "missing"
UNKNOWN_TYPE = "unknown_type"
TOO_LONG = "too_long"
INVALID_CHARACTERS = "invalid_characters"
INVALID_DATE = "invalid_date"
DATE_PASSED = "date_passed"
DATE_TOO_FAR = "date_too_far"
EMPTY = "empty"
TOO_LARGE = "too_large"
UNSUPPORTED = "unsupported_type"
DAMAGED = "damaged"


@dataclass(frozen=True)
class MaterialType:
    code: str
    name: str  # Chinese
    name_en: str

    def name_in(self, language: str) -> str:
        return self.name_en if language.startswith("en") else self.name


def load_catalogue(path: Path = CATALOGUE_FILE) -> dict[str, MaterialType]:
    """The material types, by code, in the order of the file."""
    entries = json.loads(path.read_text(encoding="utf-8"))
    return {
        entry["code"]: MaterialType(entry["code"], entry["name"], entry["name_en"])
        for entry in entries
    }


def sniff(data: bytes) -> tuple[str | None, str | None]:
    """(media type, None) for a whole PDF, PNG or JPEG; (None, ``unsupported_type``) for
    anything else; (None, ``damaged``) for a file that starts as one of them but is not whole."""
    if data.startswith((b"%PDF-1.", b"%PDF-2.")):
        return (PDF, None) if b"%%EOF" in data[-1024:] else (None, DAMAGED)
    if data.startswith(_PNG_SIGNATURE):
        header_ok = data[8:16] == b"\x00\x00\x00\x0dIHDR" and len(data) >= 8 + 25 + 12
        return (PNG, None) if header_ok and data.endswith(_PNG_IEND) else (None, DAMAGED)
    if data.startswith(b"\xff\xd8\xff"):
        return (JPEG, None) if data.rstrip(b"\x00").endswith(b"\xff\xd9") else (None, DAMAGED)
    return None, UNSUPPORTED


def check_file(
    data: bytes | None, *, too_large: bool, max_bytes: int
) -> tuple[str | None, str | None]:
    """(media type, None) or (None, the problem) for an uploaded file."""
    if too_large:
        return None, TOO_LARGE
    if data is None:
        return None, MISSING
    if not data:
        return None, EMPTY
    if len(data) > max_bytes:
        return None, TOO_LARGE
    return sniff(data)


def check_type(code: str, catalogue: dict[str, MaterialType]) -> str | None:
    if not code:
        return MISSING
    if len(code) > MAX_TYPE_CODE_LENGTH or code not in catalogue:
        return UNKNOWN_TYPE
    return None


def clean_title(raw: str) -> tuple[str, str | None]:
    """The title with outer spaces removed, and its problem (None when fine)."""
    title = raw.strip()
    if not title:
        return title, MISSING
    if len(title) > MAX_TITLE_LENGTH:
        return title, TOO_LONG
    if _CONTROL.search(title):
        return title, INVALID_CHARACTERS
    return title, None


def parse_expiry(raw: str, today: date) -> tuple[date | None, str | None]:
    """An optional expiry (``YYYY-MM-DD``, as ``<input type="date">`` sends it): (None, None)
    when empty; refused when not a real day, already passed, or too far ahead."""
    text = raw.strip()
    if not text:
        return None, None
    if not _DATE.fullmatch(text):
        return None, INVALID_DATE
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return None, INVALID_DATE
    if day < today:
        return None, DATE_PASSED
    if day.year > today.year + MAX_YEARS_AHEAD:
        return None, DATE_TOO_FAR
    return day, None
