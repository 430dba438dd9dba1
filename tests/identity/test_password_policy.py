"""Password policy (real-name registration issue): ``idp.identity.password_policy``.

NIST SP 800-63B section 5.1.1.2: 8 to 128 code points, no composition rules, refused when on the
common-password list (also with digits or punctuation added at the end) or when it contains the
person's own phone or ID number. Decided here: ``5201314abc`` passes (letters after a listed
password are not stripped), ``password123`` and ``Password2024!`` do not.
"""

from __future__ import annotations

from importlib import resources

import pytest

from idp.identity.password_policy import (
    COMMON_PASSWORDS_FILE,
    MAX_LENGTH,
    MIN_LENGTH,
    check_password,
    common_passwords,
    is_common,
)

PHONE = "13812345678"
ID_NUMBER = "11010519491231002X"


def test_limits() -> None:
    assert MIN_LENGTH == 8
    assert MAX_LENGTH == 128


def test_length_is_counted_in_code_points() -> None:
    assert check_password("夏天的风吹过稻") == "too_short"  # 7 characters, 21 bytes in UTF-8
    assert check_password("夏天的风吹过稻田") is None
    assert check_password("") == "too_short"
    assert check_password("Xq7#mL2") == "too_short"
    assert check_password("Xq7#mL2p") is None


def test_long_passphrases_pass_up_to_128() -> None:
    sixty_four = "the quiet harbour keeps seven lanterns burning past midnight, ok"
    assert len(sixty_four) == 64
    assert check_password(sixty_four) is None
    hundred_twenty_eight = ("lantern-" + "harbour-" + "granite-" + "meadow--") * 4
    assert len(hundred_twenty_eight) == 128
    assert check_password(hundred_twenty_eight) is None
    assert check_password(hundred_twenty_eight + "x") == "too_long"
    assert check_password("长" * 128) is None
    assert check_password("长" * 129) == "too_long"


def test_no_composition_rules() -> None:
    for password in ["onlylowercaseletters", "ALLUPPERCASEWORDS", "48291735660172", "   spaces   "]:
        assert check_password(password) is None, password


@pytest.mark.parametrize(
    "password",
    [
        "password",
        "PASSWORD",
        "Password",
        "password123",
        "iloveyou",
        "12345678",
        "1qaz2wsx",
        "woaini1314",  # from the Chinese section
        "WoAiNi1314",
        "1314520520",
        "qq123456789",
        "147258369",
    ],
)
def test_common_passwords_are_refused(password: str) -> None:
    assert check_password(password) == "common"


@pytest.mark.parametrize(
    "password",
    [
        "Password2024!",  # listed word, then digits and punctuation
        "dragon12345678",
        "woaini1314!",  # listed password, then punctuation
        "abc123!!",
        "12345678!",
        "Sunshine!!!",
        "iloveyou 2024",
    ],
)
def test_listed_password_with_a_trailing_suffix_is_refused(password: str) -> None:
    assert check_password(password) == "common"


@pytest.mark.parametrize(
    "password",
    [
        "5201314abc",  # letters after a listed password: not stripped, not listed
        "x5201314!",  # characters in front: not stripped
        "correct horse battery staple",
        "夏天的风吹过稻田",
        "mountain-river-cloud-7",
    ],
)
def test_passwords_not_derived_from_the_list_pass(password: str) -> None:
    assert check_password(password) is None


def test_stem_shorter_than_four_is_not_compared() -> None:
    # "abc" alone would be too short a stem; "abc" + unlisted digits passes.
    assert not is_common("abc98173645")
    assert check_password("abc98173645") is None


def test_list_file() -> None:
    listed = common_passwords()
    assert 10_000 <= len(listed) <= 12_000
    assert {"123456", "password", "5201314", "woaini1314", "888888", "1314520"} <= listed
    assert all(entry == entry.lower() and entry.strip() == entry for entry in listed)
    assert not any(entry.startswith("#") for entry in listed)
    text = resources.files("idp").joinpath(COMMON_PASSWORDS_FILE).read_text("utf-8")
    lines = text.splitlines()
    assert len(lines) <= 12_000
    header = "\n".join(line for line in lines[:40] if line.startswith("#"))
    assert "zxcvbn" in header and "MIT License" in header
    assert common_passwords() is listed  # read once


def test_contains_phone() -> None:
    assert check_password("my13812345678key", phone=PHONE) == "contains_phone"
    assert check_password("x13812345678", phone="+86 138 1234 5678") == "contains_phone"
    assert check_password("key-138-1234-5678", phone=PHONE) == "contains_phone"
    assert check_password("key 138 1234 5678", phone=PHONE) == "contains_phone"
    assert check_password("１３８１２３４５６７８ok", phone=PHONE) == "contains_phone"
    assert check_password("my13812345678key") is None
    assert check_password("my13812345678key", phone="13912345678") is None
    assert check_password("my1381234567key", phone=PHONE) is None  # a part is not checked
    assert check_password("my13812345678key", phone="") is None


def test_contains_id_number() -> None:
    assert check_password(f"pw{ID_NUMBER}", id_number=ID_NUMBER) == "contains_id_number"
    assert check_password("pw11010519491231002x", id_number=ID_NUMBER) == "contains_id_number"
    assert check_password("pw11010519491231002X", id_number="110105 19491231 002x") == (
        "contains_id_number"
    )
    assert check_password("E12345678-travel", id_number="e12345678") == "contains_id_number"
    # Parts of the number, such as the birth date, are not checked.
    assert check_password("born19491231!", id_number=ID_NUMBER) is None
    assert check_password("pw11010519491231002X", id_number="22010519491231002X") is None


def test_rule_order() -> None:
    assert check_password("1381234", phone="1381234") == "too_short"
    assert check_password("password123", phone="password123") == "common"
    assert check_password(f"{PHONE}{ID_NUMBER}", phone=PHONE, id_number=ID_NUMBER) == (
        "contains_phone"
    )
