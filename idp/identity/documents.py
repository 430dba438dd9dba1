"""Identity document rules for real-name registration: ID numbers, phones, bank cards, USCC.

Pure functions, no I/O. What they enforce:

- Resident identity card number (居民身份证, GB 11643-1999 "Citizen identification number"):
  six-digit address code whose first two digits are a province-level code of GB/T 2260 (plus
  81, 82, 83, which the Ministry of Public Security gives Hong Kong, Macao and Taiwan residents
  on their residence permits), eight-digit birth date (GB/T 7408, ``YYYYMMDD``), three-digit
  sequence code, and a check character by ISO 7064:1983 MOD 11-2 (``X`` stands for 10).
  Numbers starting with 9 (the 2023 foreign permanent resident ID card) are another document.
- Passport: 5 to 17 of ``[A-Z0-9]`` (ICAO Doc 9303's machine-readable zone holds 9; the wider
  range admits other states' numbers); no online authoritative source, so counter checks only.
- Mainland mobile numbers (the national numbering plan: ``1[3-9]`` and nine more digits).
- Bank card numbers: 12 to 19 digits with the Luhn check (ISO/IEC 7812-1 annex B).
- Unified social credit code (统一社会信用代码, GB 32100-2015): 18 characters from a 31-character
  alphabet, the last a MOD 31 check character.
- Masks used on every page and in every admin output (personal data never appears in full).

Inputs are normalised with Unicode NFKC first, so full-width digits and letters typed with a
Chinese input method (``１１０１``, ``Ｘ``) and the Roman numeral ``Ⅹ`` read as ASCII.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from zoneinfo import ZoneInfo

__all__ = [
    "ID_TYPES",
    "RESIDENT_ID_PROVINCE_CODES",
    "USCC_ALPHABET",
    "IdType",
    "birth_date",
    "generate_resident_id",
    "generate_uscc",
    "luhn_valid",
    "mask_card",
    "mask_id_number",
    "mask_name",
    "mask_phone",
    "normalize_bank_card",
    "normalize_id_number",
    "normalize_phone",
    "normalize_uscc",
    "resident_id_check_character",
    "uscc_check_character",
    "validate_id_number",
    "validate_uscc",
]


@dataclass(frozen=True)
class IdType:
    """A kind of identity document and the highest level it can be verified to online."""

    code: str
    online_level: str


#: Document kinds in display order. A resident ID can be checked online against the
#: authoritative source (L3); a passport only at a counter (L1 online).
ID_TYPES: dict[str, IdType] = {
    "resident_id": IdType(code="resident_id", online_level="L3"),
    "passport": IdType(code="passport", online_level="L1"),
}

#: First two digits of the address code (GB/T 2260 province-level divisions; 71 Taiwan, 81 Hong
#: Kong and 82 Macao as listed there; 83 for Taiwan residents' residence permits).
RESIDENT_ID_PROVINCE_CODES: frozenset[str] = frozenset(
    {"11", "12", "13", "14", "15", "21", "22", "23"}
    | {"31", "32", "33", "34", "35", "36", "37"}
    | {"41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54"}
    | {"61", "62", "63", "64", "65", "71", "81", "82", "83"}
)

# GB 11643-1999 section 7 (ISO 7064 MOD 11-2): weight of position i is 2^(18-i) mod 11.
_RESIDENT_ID_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
_RESIDENT_ID_CHECK = "10X98765432"  # indexed by (sum of weighted digits) mod 11
_RESIDENT_ID_SHAPE = re.compile(r"[0-9]{17}[0-9X]")
_EARLIEST_BIRTH = date(1900, 1, 1)

_PASSPORT_SHAPE = re.compile(r"[A-Z0-9]{5,17}")
_MOBILE_SHAPE = re.compile(r"1[3-9][0-9]{9}")
_DIGITS = re.compile(r"[0-9]+")
_SEPARATORS = re.compile(r"[\s\-]+")

#: GB 32100-2015 table 1: the code characters and, by position, their values 0-30.
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUES = {character: value for value, character in enumerate(USCC_ALPHABET)}
# GB 32100-2015 section 4.3: weight of position i is 3^(i-1) mod 31.
_USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
_USCC_DIVISION = re.compile(r"[0-9]{6}")

# Birth dates are judged on the calendar date of the authority (``IDP_TIMEZONE``, from the
# zone database), whatever the server's zone; this is the default when none is given.
DEFAULT_ZONE = ZoneInfo("Asia/Shanghai")


def _nfkc(raw: str) -> str:
    return unicodedata.normalize("NFKC", raw)


def local_today(zone: tzinfo = DEFAULT_ZONE) -> date:
    """Today's calendar date in ``zone`` (the authority's local time)."""
    return datetime.now(UTC).astimezone(zone).date()


# --- identity document numbers ------------------------------------------------------------------


def normalize_id_number(id_type: str, raw: str) -> str:
    """The number as stored and compared: NFKC, surrounding and inner whitespace removed,
    upper-case (a resident ID's check character ``x`` becomes ``X``, GB 11643-1999 section 6.2).
    The same for every document kind; ``id_type`` is accepted for symmetry with validation."""
    del id_type
    return re.sub(r"\s+", "", _nfkc(raw)).upper()


def resident_id_check_character(first17: str) -> str:
    """GB 11643-1999 section 7 (ISO 7064:1983 MOD 11-2) check character for 17 digits.

    Raises ValueError when ``first17`` is not exactly 17 ASCII digits.
    """
    if not re.fullmatch(r"[0-9]{17}", first17):
        raise ValueError("a resident ID body is 17 digits")
    total = sum(
        int(digit) * weight for digit, weight in zip(first17, _RESIDENT_ID_WEIGHTS, strict=True)
    )
    return _RESIDENT_ID_CHECK[total % 11]


def birth_date(id_number: str) -> date:
    """The birth date coded in positions 7-14 of an 18-character resident ID number
    (GB 11643-1999 section 5.2). Raises ValueError when there is no such date."""
    if not _RESIDENT_ID_SHAPE.fullmatch(id_number):
        raise ValueError("not an 18-character resident ID number")
    coded = id_number[6:14]
    return date(int(coded[0:4]), int(coded[4:6]), int(coded[6:8]))


def _validate_resident_id(value: str, today: date) -> str | None:
    if len(value) != 18:
        return "length"
    if not _RESIDENT_ID_SHAPE.fullmatch(value) or value[:2] not in RESIDENT_ID_PROVINCE_CODES:
        return "format"
    try:
        born = birth_date(value)
    except ValueError:
        return "birth_date"
    if born < _EARLIEST_BIRTH:
        return "birth_date"
    if born > today:
        return "future_birth_date"
    if resident_id_check_character(value[:17]) != value[17]:
        return "check_digit"
    return None


def validate_id_number(id_type: str, value: str, today: date | None = None) -> str | None:
    """Check a normalised number (see ``normalize_id_number``) for its document kind.

    Returns None when it is acceptable, otherwise an error code:
    ``"id_type"`` (unknown document kind); for a resident ID (GB 11643-1999), in this order,
    ``"length"`` (not 18 characters), ``"format"`` (not 17 digits and a digit or ``X``, or an
    unknown province code), ``"birth_date"`` (no such date, or before 1900),
    ``"future_birth_date"`` (after ``today``, by default today in Asia/Shanghai) and
    ``"check_digit"`` (MOD 11-2 mismatch); for a passport, ``"format"`` (not 5-17 of ``[A-Z0-9]``).
    """
    if id_type == "resident_id":
        return _validate_resident_id(value, today or local_today())
    if id_type == "passport":
        return None if _PASSPORT_SHAPE.fullmatch(value) else "format"
    return "id_type"


def generate_resident_id(region: str, born: date, sequence: int) -> str:
    """A valid resident ID number (for demo data and tests): six-digit ``region`` (address
    code), ``born``, ``sequence`` 0-999 (odd for men, even for women, GB 11643-1999 5.3) and
    the check character. Raises ValueError for a bad region or sequence."""
    if not re.fullmatch(r"[0-9]{6}", region) or region[:2] not in RESIDENT_ID_PROVINCE_CODES:
        raise ValueError("region must be a six-digit address code with a known province")
    if not 0 <= sequence <= 999:
        raise ValueError("sequence must be between 0 and 999")
    first17 = f"{region}{born:%Y%m%d}{sequence:03d}"
    if len(first17) != 17:
        raise ValueError("birth year must have four digits")
    return first17 + resident_id_check_character(first17)


# --- phone numbers ------------------------------------------------------------------------------


def normalize_phone(raw: str) -> str | None:
    """The 11 digits of a mainland mobile number, or None.

    Spaces and hyphens are ignored, and a ``+86``, ``0086`` or ``86`` country code is removed.
    """
    compact = _SEPARATORS.sub("", _nfkc(raw))
    for prefix in ("+86", "0086", "86"):
        if compact.startswith(prefix) and len(compact) == len(prefix) + 11:
            compact = compact[len(prefix) :]
            break
    return compact if _MOBILE_SHAPE.fullmatch(compact) else None


# --- bank cards ---------------------------------------------------------------------------------


def luhn_valid(number: str) -> bool:
    """The Luhn check (ISO/IEC 7812-1 annex B) over a string of ASCII digits only."""
    if not _DIGITS.fullmatch(number):
        return False
    total = 0
    for position, digit in enumerate(reversed(number)):
        value = int(digit)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def normalize_bank_card(raw: str) -> str | None:
    """The card number as 12-19 digits passing the Luhn check (spaces and hyphens ignored),
    or None."""
    compact = _SEPARATORS.sub("", _nfkc(raw))
    if not re.fullmatch(r"[0-9]{12,19}", compact) or not luhn_valid(compact):
        return None
    return compact


# --- unified social credit code -----------------------------------------------------------------


def normalize_uscc(raw: str) -> str:
    """The code as stored and compared: NFKC, whitespace removed, upper-case."""
    return re.sub(r"\s+", "", _nfkc(raw)).upper()


def uscc_check_character(first17: str) -> str:
    """GB 32100-2015 section 4.3 check character: ``31 - (sum of C_i * W_i) mod 31`` with
    ``W_i = 3^(i-1) mod 31``, where 31 gives ``0``. Raises ValueError when ``first17`` is not
    17 characters of ``USCC_ALPHABET``."""
    if len(first17) != 17 or any(character not in _USCC_VALUES for character in first17):
        raise ValueError("a USCC body is 17 characters of USCC_ALPHABET")
    total = sum(_USCC_VALUES[c] * weight for c, weight in zip(first17, _USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def validate_uscc(value: str) -> str | None:
    """Check a normalised unified social credit code (GB 32100-2015).

    Returns None, or ``"length"`` (not 18 characters), ``"format"`` (a character outside
    ``USCC_ALPHABET``, or positions 3-8, the registering authority's administrative division
    code, not six digits) or ``"check_digit"`` (section 4.3 mismatch).
    """
    if len(value) != 18:
        return "length"
    if any(character not in _USCC_VALUES for character in value):
        return "format"
    if not _USCC_DIVISION.fullmatch(value[2:8]):
        return "format"
    if uscc_check_character(value[:17]) != value[17]:
        return "check_digit"
    return None


def generate_uscc(first17: str) -> str:
    """A valid code from its first 17 characters (for demo data and tests)."""
    return first17 + uscc_check_character(first17)


# --- masks --------------------------------------------------------------------------------------


def _keep_ends(value: str, head: int, tail: int) -> str:
    if len(value) <= head + tail:
        return "*" * len(value)
    return value[:head] + "*" * (len(value) - head - tail) + value[len(value) - tail :]


def mask_id_number(value: str) -> str:
    """An ID number for display: an 18-character number keeps its first 6 and last 4
    characters (``110105********002X``); other lengths keep the first 2 and last 2; a value
    of 4 characters or fewer is all stars."""
    compact = re.sub(r"\s+", "", value)
    if len(compact) == 18:
        return _keep_ends(compact, 6, 4)
    return _keep_ends(compact, 2, 2)


def mask_phone(value: str) -> str:
    """A phone number for display: a mainland mobile keeps its first 3 and last 4 digits
    (``138****5678``); anything else keeps its last 2 characters."""
    mobile = normalize_phone(value)
    if mobile is not None:
        return _keep_ends(mobile, 3, 4)
    return _keep_ends(re.sub(r"\s+", "", value), 0, 2)


def _is_cjk(character: str) -> bool:
    return unicodedata.name(character, "").startswith("CJK ")


def mask_name(value: str) -> str:
    """A name for display. A Chinese name shows only its last character (``*三``, ``***娜``;
    a one-character name is ``*``); a name in Latin letters shows its first letter, every
    other letter becomes a star, and spaces, hyphens and dots stay (``J*** *****``)."""
    name = value.strip()
    if not name:
        return ""
    if any(_is_cjk(character) for character in name):
        return "*" if len(name) == 1 else "*" * (len(name) - 1) + name[-1]
    first = next((i for i, character in enumerate(name) if character.isalpha()), None)
    return "".join(
        character if i == first or not character.isalnum() else "*"
        for i, character in enumerate(name)
    )


def mask_card(number: str) -> str:
    """A bank card number for display: ``**** `` and its last 4 digits (``**** 1234``); a value
    with fewer than 8 digits is ``****``."""
    digits = "".join(_DIGITS.findall(_nfkc(number)))
    return "**** " + digits[-4:] if len(digits) >= 8 else "****"
