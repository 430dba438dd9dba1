"""Identity document rules (real-name registration issue): ``idp.identity.documents``.

Check characters are recomputed here from the published algorithms, with the weights written out
as printed in the standards, and the standards' own worked examples are used:
GB 11643-1999 appendix A (11010519491231002X, 440524188001010014) and the GB 32100-2015 worked
example (body 91350100M000100Y4, weighted sum 1640, check character 3).
"""

from __future__ import annotations

from datetime import date

import pytest

from idp.identity.documents import (
    ID_TYPES,
    USCC_ALPHABET,
    birth_date,
    generate_resident_id,
    generate_uscc,
    luhn_valid,
    mask_card,
    mask_id_number,
    mask_name,
    mask_phone,
    normalize_bank_card,
    normalize_id_number,
    normalize_phone,
    normalize_uscc,
    resident_id_check_character,
    uscc_check_character,
    validate_id_number,
    validate_uscc,
)

TODAY = date(2025, 6, 1)

# GB 11643-1999 table 1 and 2, as printed.
GB11643_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
GB11643_CHECK = {0: "1", 1: "0", 2: "X", 3: "9", 4: "8", 5: "7", 6: "6", 7: "5", 8: "4"}
GB11643_CHECK |= {9: "3", 10: "2"}

# GB 32100-2015 tables 1 and 2, as printed.
GB32100_VALUES = {c: v for v, c in enumerate("0123456789ABCDEFGHJKLMNPQRTUWXY")}
GB32100_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def expected_id_check(first17: str) -> str:
    return GB11643_CHECK[
        sum(int(d) * w for d, w in zip(first17, GB11643_WEIGHTS, strict=True)) % 11
    ]


def expected_uscc_check(first17: str) -> str:
    total = sum(GB32100_VALUES[c] * w for c, w in zip(first17, GB32100_WEIGHTS, strict=True))
    return "0123456789ABCDEFGHJKLMNPQRTUWXY"[(31 - total % 31) % 31]


def with_check(first17: str) -> str:
    return first17 + expected_id_check(first17)


# --- resident ID numbers ------------------------------------------------------------------------


def test_id_types_in_display_order() -> None:
    assert list(ID_TYPES) == ["resident_id", "passport"]
    assert ID_TYPES["resident_id"].code == "resident_id"
    assert ID_TYPES["resident_id"].online_level == "L3"
    assert ID_TYPES["passport"].online_level == "L1"


def test_standard_examples_have_the_published_check_characters() -> None:
    assert expected_id_check("11010519491231002") == "X"
    assert expected_id_check("44052418800101001") == "4"
    assert resident_id_check_character("11010519491231002") == "X"
    assert resident_id_check_character("44052418800101001") == "4"
    assert validate_id_number("resident_id", "11010519491231002X", TODAY) is None


@pytest.mark.parametrize(
    "first17",
    ["11010519491231002", "31011519900307123", "44030120000229001", "65010219000101000"]
    + ["81000019851111002", "82000019700101003", "83000019881212004", "54010220250601999"],
)
def test_check_character_matches_the_standard(first17: str) -> None:
    assert resident_id_check_character(first17) == expected_id_check(first17)
    assert validate_id_number("resident_id", with_check(first17), TODAY) is None


def test_every_check_character_value_occurs_and_validates() -> None:
    seen = {}
    for sequence in range(200):
        number = generate_resident_id("110105", date(1990, 1, 1), sequence)
        assert number[17] == expected_id_check(number[:17])
        assert validate_id_number("resident_id", number, TODAY) is None
        seen[number[17]] = number
    assert set(seen) == set("0123456789X")


def test_wrong_check_character_is_refused() -> None:
    good = "11010519491231002X"
    for wrong in "0123456789":
        assert validate_id_number("resident_id", good[:17] + wrong, TODAY) == "check_digit"
    # A single mistyped digit in the body is caught by MOD 11-2.
    assert validate_id_number("resident_id", "11010619491231002X", TODAY) == "check_digit"


@pytest.mark.parametrize(
    "value", ["", "11010519491231002", "11010519491231002X0", "110105491231002"]
)
def test_length(value: str) -> None:
    assert validate_id_number("resident_id", value, TODAY) == "length"


@pytest.mark.parametrize(
    "value",
    [
        "11010519491231002x",  # not normalised: lower-case x
        "1101051949123100X2",  # X not last
        "11010519491231 02X",
        "A1010519491231002X",
        "１１010519491231002X",  # full-width digits, not normalised
    ],
)
def test_format(value: str) -> None:
    assert validate_id_number("resident_id", value, TODAY) == "format"


@pytest.mark.parametrize(
    "province",
    ["00", "10", "16", "20", "24", "30", "38", "47", "55", "60", "66", "70", "72", "80", "84"]
    # 9x: the 2023 foreign permanent resident ID card, another document.
    + ["90", "91", "99"],
)
def test_unknown_province_code_is_a_format_error(province: str) -> None:
    number = with_check(province + "010519491231002")
    assert validate_id_number("resident_id", number, TODAY) == "format"


@pytest.mark.parametrize(
    "province",
    ["11", "15", "21", "23", "31", "37", "41", "46", "50", "54", "61", "65", "71"]
    + ["81", "82", "83"],
)
def test_known_province_codes(province: str) -> None:
    number = with_check(province + "0102" + "19900101001")
    assert validate_id_number("resident_id", number, TODAY) is None


def test_leap_days() -> None:
    assert validate_id_number("resident_id", with_check("11010520000229001"), TODAY) is None
    assert validate_id_number("resident_id", with_check("11010519000229001"), TODAY) == "birth_date"
    assert validate_id_number("resident_id", with_check("11010519990229001"), TODAY) == "birth_date"
    assert validate_id_number("resident_id", with_check("11010519960229001"), TODAY) is None
    assert birth_date(with_check("11010520000229001")) == date(2000, 2, 29)


@pytest.mark.parametrize(
    "coded", ["19901301", "19900001", "19900100", "19900431", "00000101", "18991231", "18800101"]
)
def test_birth_date_that_is_no_date_or_before_1900(coded: str) -> None:
    number = with_check("110105" + coded + "001")
    assert validate_id_number("resident_id", number, TODAY) == "birth_date"


def test_published_example_born_1880_is_refused_for_its_birth_date() -> None:
    # GB 11643-1999 appendix A: the number is well formed, but nobody born in 1880 registers.
    assert validate_id_number("resident_id", "440524188001010014", TODAY) == "birth_date"


def test_earliest_birth_date() -> None:
    assert validate_id_number("resident_id", with_check("11010519000101001"), TODAY) is None


def test_future_birth_date() -> None:
    assert validate_id_number("resident_id", with_check("11010520250601001"), TODAY) is None
    assert (
        validate_id_number("resident_id", with_check("11010520250602001"), TODAY)
        == "future_birth_date"
    )
    assert validate_id_number("resident_id", with_check("11010520991231001")) == "future_birth_date"


def test_default_today_accepts_a_past_birth_date() -> None:
    assert validate_id_number("resident_id", "11010519491231002X") is None


def test_birth_date_reads_positions_7_to_14() -> None:
    assert birth_date("11010519491231002X") == date(1949, 12, 31)
    with pytest.raises(ValueError):
        birth_date("11010519491331002X")
    with pytest.raises(ValueError):
        birth_date("110105194912")


def test_check_character_refuses_a_bad_body() -> None:
    for bad in ["1101051949123100", "1101051949123100X", "110105194912310021", "١١٠١٠٥١٩٤٩١٢٣١٠٠٢"]:
        with pytest.raises(ValueError):
            resident_id_check_character(bad)


def test_normalize_id_number() -> None:
    assert normalize_id_number("resident_id", " 110105 1949 1231 002x ") == "11010519491231002X"
    assert normalize_id_number("resident_id", "１１０１０５１９４９１２３１００２Ｘ") == (
        "11010519491231002X"
    )
    assert normalize_id_number("resident_id", "11010519491231002Ⅹ") == "11010519491231002X"
    assert normalize_id_number("passport", "\te1234 5678\u3000") == "E12345678"


def test_normalised_input_validates() -> None:
    raw = " 110105 19491231 002x"
    assert validate_id_number("resident_id", raw, TODAY) == "length"
    assert validate_id_number("resident_id", normalize_id_number("resident_id", raw), TODAY) is None


def test_passport() -> None:
    assert validate_id_number("passport", "E12345678", TODAY) is None
    assert validate_id_number("passport", "A1234", TODAY) is None
    assert validate_id_number("passport", "A" * 17, TODAY) is None
    for bad in ["", "A123", "A" * 18, "E1234567-8", "e12345678", "E 12345678", "Ε12345678"]:
        assert validate_id_number("passport", bad, TODAY) == "format", bad


def test_unknown_id_type() -> None:
    assert validate_id_number("driving_licence", "11010519491231002X", TODAY) == "id_type"
    assert validate_id_number("", "E12345678", TODAY) == "id_type"


def test_generate_resident_id() -> None:
    number = generate_resident_id("310115", date(1990, 3, 7), 123)
    assert number == with_check("31011519900307123")
    assert birth_date(number) == date(1990, 3, 7)
    assert generate_resident_id("110105", date(1949, 12, 31), 2) == "11010519491231002X"
    for region, sequence in [("11010", 1), ("1101051", 1), ("990101", 1), ("110105", 1000)]:
        with pytest.raises(ValueError):
            generate_resident_id(region, date(1990, 1, 1), sequence)
    with pytest.raises(ValueError):
        generate_resident_id("110105", date(1990, 1, 1), -1)


# --- phones -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "13812345678",
        " 138 1234 5678 ",
        "138-1234-5678",
        "+8613812345678",
        "+86 138 1234 5678",
        "0086 13812345678",
        "008613812345678",
        "86 13812345678",
        "8613812345678",
        "１３８１２３４５６７８",
    ],
)
def test_normalize_phone(raw: str) -> None:
    assert normalize_phone(raw) == "13812345678"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "12812345678",  # second digit 2
        "10812345678",
        "1381234567",  # 10 digits
        "138123456789",  # 12 digits
        "+1 13812345678",
        "+85213812345678",
        "86138123456",  # 86 and 9 digits: not a mobile
        "010-12345678",  # a landline
        "1381234567a",
        "138.1234.5678",
    ],
)
def test_normalize_phone_refuses(raw: str) -> None:
    assert normalize_phone(raw) is None


def test_every_mobile_second_digit() -> None:
    for second in "3456789":
        assert normalize_phone(f"1{second}012345678") == f"1{second}012345678"


# --- masks --------------------------------------------------------------------------------------


def test_mask_id_number() -> None:
    assert mask_id_number("11010519491231002X") == "110105********002X"
    assert mask_id_number("E12345678") == "E1*****78"
    assert mask_id_number("A1234") == "A1*34"
    assert mask_id_number("ABCD") == "****"
    assert mask_id_number("") == ""


def test_mask_phone() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("+86 138 1234 5678") == "138****5678"
    assert mask_phone("010-12345678") == "**********78"
    assert mask_phone("12") == "**"


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("张三", "*三"),
        ("欧阳娜娜", "***娜"),
        ("王小明", "**明"),
        ("李", "*"),
        (" 张三 ", "*三"),
        ("John Smith", "J*** *****"),
        ("Anne-Marie O'Neil", "A***-***** *'****"),
        ("", ""),
    ],
)
def test_mask_name(name: str, masked: str) -> None:
    assert mask_name(name) == masked


def test_mask_card() -> None:
    assert mask_card("6222021234567891234") == "**** 1234"
    assert mask_card("6222 0212 3456 7891 234") == "**** 1234"
    assert mask_card("1234") == "****"


def test_masks_never_show_the_whole_value() -> None:
    number = "11010519491231002X"
    assert number not in mask_id_number(number)
    assert "12345678" not in mask_phone("13812345678")
    assert "张三" not in mask_name("张三")
    assert "62220212" not in mask_card("6222021234567891234")


# --- bank cards ---------------------------------------------------------------------------------


def test_luhn() -> None:
    # ISO/IEC 7812-1 annex B example and well-known test card numbers.
    assert luhn_valid("79927398713")
    assert luhn_valid("4111111111111111")
    assert luhn_valid("6011111111111117")
    assert not luhn_valid("79927398710")
    assert not luhn_valid("4111111111111112")
    for bad in ["", "4111 1111 1111 1111", "41111111111111a1", "٤١١١"]:
        assert not luhn_valid(bad)
    for wrong in "012456789":  # only 3 completes 7992739871
        assert not luhn_valid("7992739871" + wrong)


def test_normalize_bank_card() -> None:
    assert normalize_bank_card(" 4111 1111 1111 1111 ") == "4111111111111111"
    assert normalize_bank_card("4111-1111-1111-1111") == "4111111111111111"
    assert normalize_bank_card("4111111111111112") is None  # Luhn
    assert normalize_bank_card("79927398713") is None  # 11 digits
    assert normalize_bank_card("4" * 20) is None
    assert normalize_bank_card("") is None
    card19 = "622202123456789012"
    card19 += str((10 - _luhn_sum(card19 + "0") % 10) % 10)
    assert normalize_bank_card(card19) == card19


def _luhn_sum(number: str) -> int:
    digits = [int(d) for d in reversed(number)]
    return sum(d if i % 2 == 0 else (d * 2 - 9 if d > 4 else d * 2) for i, d in enumerate(digits))


# --- unified social credit code -----------------------------------------------------------------


def test_uscc_worked_example_of_the_standard() -> None:
    body = "91350100M000100Y4"
    assert sum(GB32100_VALUES[c] * w for c, w in zip(body, GB32100_WEIGHTS, strict=True)) == 1640
    assert uscc_check_character(body) == "3"
    assert validate_uscc("91350100M000100Y43") is None
    # The standard's example of a wrong code ends in Z, which is not even a code character.
    assert validate_uscc("91350100M000100Y4Z") == "format"
    assert validate_uscc("91350100M000100Y4Y") == "check_digit"


def test_uscc_alphabet_leaves_out_ambiguous_letters() -> None:
    assert len(USCC_ALPHABET) == 31
    assert not set("IOSVZ") & set(USCC_ALPHABET)


@pytest.mark.parametrize(
    "body",
    ["91110000100000000", "12100000400000000", "52310115MJ0000000", "91440300MA5ABCDEF"]
    + ["Y1110108MC1234567", "31110000358356512"],
)
def test_uscc_check_character_matches_the_standard(body: str) -> None:
    assert uscc_check_character(body) == expected_uscc_check(body)
    assert generate_uscc(body) == body + expected_uscc_check(body)
    assert validate_uscc(generate_uscc(body)) is None


def test_uscc_check_value_31_becomes_0() -> None:
    # Find a body whose weighted sum is a multiple of 31 by adjusting position 17 (weight 28).
    for last in USCC_ALPHABET:
        body = "9135010000000000" + last
        if sum(GB32100_VALUES[c] * w for c, w in zip(body, GB32100_WEIGHTS, strict=True)) % 31 == 0:
            assert uscc_check_character(body) == "0"
            break
    else:
        pytest.fail("no body with a sum divisible by 31")


def test_uscc_errors() -> None:
    assert validate_uscc("") == "length"
    assert validate_uscc("91350100M000100Y4") == "length"
    assert validate_uscc("91350100M000100Y433") == "length"
    assert validate_uscc("91350100M000100I43") == "format"  # I is not in the alphabet
    assert validate_uscc("91350100m000100y43") == "format"  # not normalised
    assert validate_uscc("9135A100M000100Y43") == "format"  # division code not digits
    assert validate_uscc("91350100M000100Y42") == "check_digit"


def test_uscc_normalise() -> None:
    assert normalize_uscc(" 91350100m000100y43\n") == "91350100M000100Y43"
    assert normalize_uscc("９１３５０１００Ｍ０００１００Ｙ４３") == "91350100M000100Y43"


def test_uscc_check_character_refuses_a_bad_body() -> None:
    for bad in ["", "91350100M000100Y", "91350100M000100Y43", "91350100M000100O4"]:
        with pytest.raises(ValueError):
            uscc_check_character(bad)
