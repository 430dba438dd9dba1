"""Which passwords a person may choose: NIST SP 800-63B section 5.1.1.2 (memorized secrets).

- At least ``MIN_LENGTH`` (8) characters; up to ``MAX_LENGTH`` (128), above the 64 that must be
  allowed. Length counts Unicode code points, so ``密码`` is 2 characters; any character is
  accepted, spaces included.
- No composition rules (no "one digit, one capital"), no periodic change.
- Refused when it is on the shipped list of common passwords (``idp/data/common-passwords.txt``,
  breach corpuses and common Chinese passwords), compared case-insensitively. A listed password
  with digits or punctuation added at the end is refused too: the password is also compared with
  its trailing punctuation removed (``woaini1314!``) and with its trailing digits and
  punctuation removed (``Password2024!``, ``dragon123``), as long as at least ``MIN_STEM``
  characters remain. Nothing else is derived: letters added to a listed password
  (``5201314abc``) or characters in front of one are accepted, and length does the rest.
- Refused when it contains the person's own mobile number or ID number (context-specific words,
  the same section): the full number only, case-insensitively, also when typed with spaces or
  hyphens inside the password. Parts of them (a birth date alone) are not checked.

``check_password`` returns the first rule broken, in the order above, as a code the views
translate; it never sees or returns the password in an error.
"""

from __future__ import annotations

import re
import string
import unicodedata
from functools import cache
from importlib import resources

from idp.identity.documents import normalize_id_number, normalize_phone

__all__ = [
    "COMMON_PASSWORDS_FILE",
    "MAX_LENGTH",
    "MIN_LENGTH",
    "MIN_STEM",
    "check_password",
    "common_passwords",
    "is_common",
]

MIN_LENGTH = 8
MAX_LENGTH = 128
#: Fewest characters left after removing a trailing suffix for the shortened form to be
#: compared with the list.
MIN_STEM = 4
COMMON_PASSWORDS_FILE = "data/common-passwords.txt"

_TRAILING_PUNCTUATION = string.punctuation + string.whitespace
_TRAILING_DIGITS_AND_PUNCTUATION = string.digits + _TRAILING_PUNCTUATION
_SEPARATORS = re.compile(r"[\s\-]+")


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list, lower-cased, read once per process. Lines starting with ``#`` and
    blank lines are skipped."""
    text = resources.files("idp").joinpath(COMMON_PASSWORDS_FILE).read_text("utf-8")
    entries = (line.strip() for line in text.splitlines())
    return frozenset(entry.lower() for entry in entries if entry and not entry.startswith("#"))


def is_common(password: str) -> bool:
    """Whether the password, or it without a trailing suffix of digits and punctuation, is on
    the list (see the module docstring)."""
    listed = common_passwords()
    lowered = password.lower()
    if lowered in listed:
        return True
    for stem in (
        lowered.rstrip(_TRAILING_PUNCTUATION),
        lowered.rstrip(_TRAILING_DIGITS_AND_PUNCTUATION),
    ):
        if len(stem) >= MIN_STEM and stem in listed:
            return True
    return False


def _contains(password: str, needle: str) -> bool:
    haystack = unicodedata.normalize("NFKC", password).upper()
    return needle in haystack or needle in _SEPARATORS.sub("", haystack)


def check_password(
    password: str, *, phone: str | None = None, id_number: str | None = None
) -> str | None:
    """None when the password may be used, otherwise the first rule it breaks:
    ``"too_short"``, ``"too_long"``, ``"common"``, ``"contains_phone"`` or
    ``"contains_id_number"`` (NIST SP 800-63B 5.1.1.2; details in the module docstring).

    ``phone`` and ``id_number`` are the person's own, as typed or normalised; a phone that is
    not a mainland mobile is compared as given, without spaces and hyphens.
    """
    if len(password) < MIN_LENGTH:
        return "too_short"
    if len(password) > MAX_LENGTH:
        return "too_long"
    if is_common(password):
        return "common"
    if phone:
        needle = normalize_phone(phone) or _SEPARATORS.sub("", phone).upper()
        if needle and _contains(password, needle):
            return "contains_phone"
    if id_number:
        needle = normalize_id_number("resident_id", id_number)
        if needle and _contains(password, needle):
            return "contains_id_number"
    return None
