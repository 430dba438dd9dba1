"""The registry-file verifier: every element set against the demo registry (docs/registry.md).

A person matches only with status "normal", an entity only with status "active"; a missing
optional element is no_match; the status is told only when every element matched; verdicts
never carry personal data.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from idp.identity.verifiers import CHECKS, SOURCES, RegistryFileVerifier, Result, Verdict

ZHANG_SAN = {
    "name": "张三",
    "id_number": "110105198503120178",
    "phone": "13800131001",
    "bank_card": "6222029542555030",
    "social_security": "11010597499213",
    "housing_fund": "110155776014",
    "driving_licence": "110105198503120178",
}
LI_SI = {
    "name": "李四",
    "id_number": "31010419900708023X",
    "phone": "13800131002",
    "bank_card": "6217003503446637955",  # the second of two cards
}
WANG_WU = {"name": "王五", "id_number": "330106197811250516", "phone": "13800131003"}
ZHAO_LIU = {  # deceased
    "name": "赵六",
    "id_number": "44030519400203035X",
    "phone": "13800131004",
    "bank_card": "6222026309454639",
    "social_security": "44030556419069",
    "housing_fund": "440378443682",
    "driving_licence": "44030519400203035X",
}
LIU_FANG = {"name": "刘芳", "id_number": "440305199204300429", "social_security": "44030559259538"}
SUN_LI = {"name": "孙丽", "id_number": "32010619950621038X", "housing_fund": "320117290084"}
AYGUL = {"name": "阿依古丽·买买提", "id_number": "650102199301050264"}
HANGZHOU_TECH = {
    "uscc": "91330106064307423H",
    "name": "杭州示例科技有限公司",
    "legal_representative_name": "陈晓明",
    "legal_representative_id_number": "330106198809160719",
}
SHENZHEN_REVOKED = {
    "uscc": "91440305524185755D",
    "name": "深圳示例实业有限公司",
    "legal_representative_name": "刘芳",
    "legal_representative_id_number": "440305199204300429",
}
PERSON_CHECKS = [check for check in CHECKS if check != "entity"]


def verify(verifier: RegistryFileVerifier, check: str, elements: dict[str, str]) -> Verdict:
    """Verify, and check what every verdict must hold whatever the result."""
    before = datetime.now(UTC)
    verdict = verifier.verify(check, elements)
    assert verdict.check == check
    assert verdict.source == SOURCES[check]
    assert verdict.elements == CHECKS[check]
    assert verdict.reference
    assert verdict.checked_at.utcoffset() == timedelta(0)
    assert before <= verdict.checked_at <= datetime.now(UTC)
    shown = json.dumps(verdict.detail, ensure_ascii=False)
    for value in elements.values():
        assert value not in shown
    return verdict


def with_(base: dict[str, str], **changes: str) -> dict[str, str]:
    return {**base, **changes}


# -- persons -----------------------------------------------------------------------------------


@pytest.mark.parametrize("check", PERSON_CHECKS)
def test_a_person_with_every_element_on_record_matches_every_check(demo, check: str) -> None:
    verdict = verify(demo, check, ZHANG_SAN)
    assert verdict.result is Result.MATCH
    assert verdict.detail == {}


@pytest.mark.parametrize("check", PERSON_CHECKS)
def test_a_wrong_name_or_id_number_is_no_match_for_every_check(demo, check: str) -> None:
    assert verify(demo, check, with_(ZHANG_SAN, name="张四")).result is Result.NO_MATCH
    unknown_id = "110105198503120194"  # valid check digit, not in the registry
    assert verify(demo, check, with_(ZHANG_SAN, id_number=unknown_id)).result is Result.NO_MATCH
    other_person = LI_SI["id_number"]
    assert verify(demo, check, with_(ZHANG_SAN, id_number=other_person)).result is Result.NO_MATCH


@pytest.mark.parametrize(
    ("check", "element", "wrong"),
    [
        ("phone_three_elements", "phone", "13800131002"),
        ("bank_card_four_elements", "phone", "13800131002"),
        ("bank_card_four_elements", "bank_card", "6222026309454639"),
        ("social_security", "social_security", "11010597499214"),
        ("housing_fund", "housing_fund", "110155776015"),
        ("driving_licence", "driving_licence", "31010419900708023X"),
    ],
)
def test_a_wrong_third_or_fourth_element_is_no_match(
    demo, check: str, element: str, wrong: str
) -> None:
    verdict = verify(demo, check, with_(ZHANG_SAN, **{element: wrong}))
    assert verdict.result is Result.NO_MATCH
    assert verdict.detail == {}


def test_any_of_a_persons_bank_cards_matches(demo) -> None:
    first_card = "6222084910654912107"
    assert verify(demo, "bank_card_four_elements", LI_SI).result is Result.MATCH
    elements = with_(LI_SI, bank_card=first_card)
    assert verify(demo, "bank_card_four_elements", elements).result is Result.MATCH


@pytest.mark.parametrize(
    ("person", "check", "element", "value"),
    [
        (WANG_WU, "bank_card_four_elements", "bank_card", "6222029542555030"),
        (LIU_FANG, "housing_fund", "housing_fund", "440305000000"),
        (SUN_LI, "driving_licence", "driving_licence", "32010619950621038X"),
        (AYGUL, "social_security", "social_security", "65010200000000"),
        (AYGUL, "housing_fund", "housing_fund", "650100000000"),
    ],
)
def test_an_element_not_on_record_is_no_match(
    demo, person: dict[str, str], check: str, element: str, value: str
) -> None:
    elements = {"phone": "13800131003", **person, element: value}
    assert verify(demo, "two_elements", person).result is Result.MATCH
    assert verify(demo, check, elements).result is Result.NO_MATCH


def test_a_person_on_record_without_a_phone_is_no_match_for_phone_checks(tmp_path: Path) -> None:
    registry = write(tmp_path, {"persons": [person_entry(phone=None)], "entities": []})
    verifier = RegistryFileVerifier.from_file(registry)
    elements = {"name": "韩梅梅", "id_number": "110105199001010037", "phone": "13800131009"}
    assert verify(verifier, "two_elements", elements).result is Result.MATCH
    assert verify(verifier, "phone_three_elements", elements).result is Result.NO_MATCH


@pytest.mark.parametrize("check", PERSON_CHECKS)
def test_a_deceased_person_matches_nothing_and_the_status_is_told(demo, check: str) -> None:
    verdict = verify(demo, check, ZHAO_LIU)
    assert verdict.result is Result.NO_MATCH
    assert verdict.detail == {"reason": "status"}


def test_the_status_is_not_told_when_another_element_is_wrong(demo) -> None:
    verdict = verify(demo, "two_elements", with_(ZHAO_LIU, name="赵七"))
    assert verdict.result is Result.NO_MATCH
    assert verdict.detail == {}
    verdict = verify(demo, "phone_three_elements", with_(ZHAO_LIU, phone="13800131001"))
    assert verdict.detail == {}


def test_any_status_other_than_normal_is_no_match(tmp_path: Path) -> None:
    registry = write(tmp_path, {"persons": [person_entry(status="cancelled")], "entities": []})
    verifier = RegistryFileVerifier.from_file(registry)
    elements = {"name": "韩梅梅", "id_number": "110105199001010037"}
    verdict = verify(verifier, "two_elements", elements)
    assert verdict.result is Result.NO_MATCH
    assert verdict.detail == {"reason": "status"}


# -- normalisation -----------------------------------------------------------------------------


def test_names_ignore_spaces_and_id_numbers_ignore_case(demo) -> None:
    elements = {"name": " 孙\u3000丽 ", "id_number": "32010619950621038x"}
    assert verify(demo, "two_elements", elements).result is Result.MATCH
    assert verify(demo, "two_elements", with_(AYGUL, name="阿依古丽 · 买买提")).matched
    assert not verify(demo, "two_elements", with_(AYGUL, name="阿依古丽买买提")).matched


def test_names_are_compared_in_nfc(tmp_path: Path) -> None:
    registry = write(tmp_path, {"persons": [person_entry(name="Zoé Martin")], "entities": []})
    verifier = RegistryFileVerifier.from_file(registry)
    decomposed = "Zoe\u0301 Martin"
    elements = {"name": decomposed, "id_number": "110105199001010037"}
    assert verify(verifier, "two_elements", elements).result is Result.MATCH


def test_phones_and_bank_cards_ignore_separators(demo) -> None:
    elements = with_(
        ZHANG_SAN,
        phone="+86 138-0013-1001",
        bank_card="6222 0295 4255 5030",
        id_number=" 110105 19850312 0178",
    )
    assert verify(demo, "bank_card_four_elements", elements).result is Result.MATCH
    assert verify(demo, "phone_three_elements", with_(ZHANG_SAN, phone="0086 13800131001")).matched
    assert not verify(demo, "phone_three_elements", with_(ZHANG_SAN, phone="3800131001")).matched


def test_elements_the_check_does_not_compare_are_ignored(demo) -> None:
    elements = with_(WANG_WU, bank_card="0000", housing_fund="wrong")
    assert verify(demo, "phone_three_elements", elements).result is Result.MATCH


# -- entities ----------------------------------------------------------------------------------


def test_an_active_entity_matches_and_tells_its_type_and_region(demo) -> None:
    verdict = verify(demo, "entity", HANGZHOU_TECH)
    assert verdict.result is Result.MATCH
    assert verdict.source == "market_regulation_registry"
    assert verdict.detail == {"entity_type": "limited_company", "region": "330106"}
    shop = {
        "uscc": "92110105545326959f",
        "name": "北京市朝阳区张三便利店",
        "legal_representative_name": "张三",
        "legal_representative_id_number": "110105198503120178",
    }
    verdict = verify(demo, "entity", shop)
    assert verdict.detail == {"entity_type": "individual_business", "region": "110105"}


@pytest.mark.parametrize(
    "changes",
    [
        {"uscc": "91330106064307424A"},
        {"name": "杭州示例网络有限公司"},
        {"legal_representative_name": "王五"},
        {"legal_representative_id_number": "330106197811250516"},
    ],
)
def test_an_entity_with_a_wrong_element_is_no_match(demo, changes: dict[str, str]) -> None:
    verdict = verify(demo, "entity", with_(HANGZHOU_TECH, **changes))
    assert verdict.result is Result.NO_MATCH
    assert verdict.detail == {}


def test_a_revoked_entity_is_no_match_because_inactive(demo) -> None:
    verdict = verify(demo, "entity", SHENZHEN_REVOKED)
    assert verdict.result is Result.NO_MATCH
    assert verdict.detail == {"reason": "inactive"}
    wrong = with_(SHENZHEN_REVOKED, legal_representative_name="李四")
    assert verify(demo, "entity", wrong).detail == {}


def test_entity_names_accept_either_kind_of_parentheses(tmp_path: Path) -> None:
    entity = entity_entry(name="杭州示例（集团）有限公司")
    registry = write(tmp_path, {"persons": [person_entry()], "entities": [entity]})
    verifier = RegistryFileVerifier.from_file(registry)
    elements = {
        "uscc": entity["uscc"],
        "name": "杭州示例(集团)有限公司",
        "legal_representative_name": "韩梅梅",
        "legal_representative_id_number": "110105199001010037",
    }
    assert verify(verifier, "entity", elements).result is Result.MATCH


# -- bad calls ---------------------------------------------------------------------------------


def test_an_unknown_check_is_a_value_error(demo) -> None:
    with pytest.raises(ValueError, match="unknown check 'five_elements'"):
        demo.verify("five_elements", ZHANG_SAN)


@pytest.mark.parametrize("check", list(CHECKS))
def test_a_missing_or_blank_element_is_a_value_error(demo, check: str) -> None:
    complete = {**ZHANG_SAN, **HANGZHOU_TECH}
    for element in CHECKS[check]:
        missing = {key: value for key, value in complete.items() if key != element}
        with pytest.raises(ValueError, match=f"needs the element '{element}'"):
            demo.verify(check, missing)
        with pytest.raises(ValueError, match=f"needs the element '{element}'"):
            demo.verify(check, {**complete, element: "  "})


def test_the_references_of_two_answers_differ(demo) -> None:
    first = verify(demo, "two_elements", ZHANG_SAN)
    second = verify(demo, "two_elements", ZHANG_SAN)
    assert first.reference != second.reference


# -- registry files ----------------------------------------------------------------------------


def person_entry(**changes: Any) -> dict[str, Any]:
    person = {
        "name": "韩梅梅",
        "id_number": "110105199001010037",
        "phone": "13800131009",
        "bank_cards": [],
        "status": "normal",
    }
    return {**person, **changes}


def entity_entry(**changes: Any) -> dict[str, Any]:
    entity = {
        "uscc": "913301061234567887",
        "name": "杭州示例有限公司",
        "type": "limited_company",
        "region": "330106",
        "status": "active",
        "legal_representative": {"name": "韩梅梅", "id_number": "110105199001010037"},
    }
    return {**entity, **changes}


def write(folder: Path, content: Any, name: str = "registry.json") -> Path:
    path = folder / name
    text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
    path.write_text(text, encoding="utf-8")
    return path


def test_optional_elements_may_be_absent_or_null(tmp_path: Path) -> None:
    minimal = {"name": "韩梅梅", "id_number": "110105199001010037", "status": "normal"}
    nulls = person_entry(
        id_number="110105199001010045", phone=None, bank_cards=None, housing_fund=None
    )
    registry = write(tmp_path, {"persons": [minimal, nulls], "entities": []})
    verifier = RegistryFileVerifier.from_file(registry)
    assert verify(verifier, "two_elements", minimal).result is Result.MATCH
    elements = {**minimal, "phone": "13800131009", "bank_card": "6222029542555030"}
    assert verify(verifier, "bank_card_four_elements", elements).result is Result.NO_MATCH


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "not valid JSON (Expecting property name enclosed in double quotes"),
        ([], "the top level must be an object"),
        ({"persons": []}, '"entities" must be a list'),
        ({"persons": {}, "entities": []}, '"persons" must be a list'),
        ({"persons": [], "entities": [], "people": []}, "unknown top-level field 'people'"),
        ({"persons": ["韩梅梅"], "entities": []}, "persons[0]: must be an object"),
        (
            {"persons": [person_entry(), {"name": "李雷", "status": "normal"}], "entities": []},
            "persons[1]: 'id_number' must be a non-empty string",
        ),
        (
            {"persons": [person_entry(status="")], "entities": []},
            "persons[0]: 'status' must be a non-empty string",
        ),
        (
            {"persons": [person_entry(bankcards=[])], "entities": []},
            "persons[0]: unknown field 'bankcards'",
        ),
        (
            {"persons": [person_entry(bank_cards="6222029542555030")], "entities": []},
            "persons[0]: 'bank_cards' must be a list of card numbers",
        ),
        (
            {"persons": [person_entry(phone=13800131009)], "entities": []},
            "persons[0]: 'phone' must be a non-empty string or null",
        ),
        (
            {"persons": [person_entry(), person_entry(name="李雷")], "entities": []},
            "persons[1]: the id_number of an earlier person again",
        ),
        (
            {"persons": [], "entities": [entity_entry(legal_representative=None)]},
            "entities[0].legal_representative: must be an object",
        ),
        (
            {"persons": [], "entities": [entity_entry(legal_representative={"name": "韩梅梅"})]},
            "entities[0].legal_representative: 'id_number' must be a non-empty string",
        ),
        (
            {"persons": [], "entities": [entity_entry(), entity_entry(name="另一家有限公司")]},
            "entities[1]: the uscc of an earlier entity again",
        ),
        (
            {"persons": [], "entities": [entity_entry(region=None)]},
            "entities[0]: 'region' must be a non-empty string",
        ),
    ],
)
def test_an_invalid_registry_file_is_a_value_error_naming_the_problem(
    tmp_path: Path, content: Any, problem: str
) -> None:
    path = write(tmp_path, content)
    with pytest.raises(ValueError) as raised:
        RegistryFileVerifier.from_file(path)
    message = str(raised.value)
    assert message.startswith(f"registry file {path}: ")
    assert problem in message
    for personal in ("韩梅梅", "李雷", "110105199001010037", "13800131009", "6222029542555030"):
        assert personal not in message


def test_a_missing_or_unreadable_registry_file_is_a_value_error(tmp_path: Path) -> None:
    missing = tmp_path / "absent.json"
    with pytest.raises(ValueError, match=f"registry file {missing}: cannot be read"):
        RegistryFileVerifier.from_file(missing)
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe{}")
    with pytest.raises(ValueError, match=f"registry file {binary}: is not UTF-8 text"):
        RegistryFileVerifier.from_file(binary)


def test_the_file_is_read_once(tmp_path: Path) -> None:
    path = write(tmp_path, {"persons": [person_entry()], "entities": []})
    verifier = RegistryFileVerifier.from_file(path)
    path.unlink()
    elements = {"name": "韩梅梅", "id_number": "110105199001010037"}
    assert verify(verifier, "two_elements", elements).result is Result.MATCH
