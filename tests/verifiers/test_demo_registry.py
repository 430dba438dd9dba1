"""The shipped demo registry (idp/data/demo-registry.json, docs/registry.md): it loads, every
check character in it is right, it shows every case, and the documented people are the ones in it.
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

import pytest

from idp.config import DEMO_REGISTRY, PROJECT_ROOT
from idp.identity.verifiers import RegistryFileVerifier, Result
from tests.verifiers.helpers import (
    luhn_valid,
    organisation_code_check,
    resident_id_check,
    uscc_check,
)

REGISTRY: dict[str, Any] = json.loads(DEMO_REGISTRY.read_text(encoding="utf-8"))
PERSONS: list[dict[str, Any]] = REGISTRY["persons"]
ENTITIES: list[dict[str, Any]] = REGISTRY["entities"]
REGISTRY_DOC = PROJECT_ROOT / "docs" / "registry.md"


@pytest.mark.parametrize("person", PERSONS, ids=lambda person: person["name"])
def test_resident_id_numbers_are_valid(person: dict[str, Any]) -> None:
    number = person["id_number"]
    assert re.fullmatch(r"\d{17}[\dX]", number)
    assert number[17] == resident_id_check(number[:17])
    assert number[:2] in {"11", "31", "32", "33", "44", "65"}  # real provinces
    born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    assert date(1900, 1, 1) < born < date(2010, 1, 1)
    if person["driving_licence"] is not None:
        assert person["driving_licence"] == number


@pytest.mark.parametrize("person", PERSONS, ids=lambda person: person["name"])
def test_phones_and_bank_cards_are_valid(person: dict[str, Any]) -> None:
    assert re.fullmatch(r"1380013\d{4}", person["phone"])
    for card in person["bank_cards"]:
        assert len(card) in {16, 19}
        assert card.startswith(("6222", "6217"))
        assert luhn_valid(card)


@pytest.mark.parametrize("entity", ENTITIES, ids=lambda entity: entity["name"])
def test_unified_social_credit_codes_are_valid(entity: dict[str, Any]) -> None:
    uscc = entity["uscc"]
    assert re.fullmatch(r"[0-9A-HJ-NP-RTUWXY]{18}", uscc)
    assert uscc[17] == uscc_check(uscc[:17])
    assert uscc[16] == organisation_code_check(uscc[8:16])
    assert uscc[2:8] == entity["region"]


@pytest.mark.parametrize("entity", ENTITIES, ids=lambda entity: entity["name"])
def test_legal_representatives_are_people_of_the_registry(entity: dict[str, Any]) -> None:
    representative = entity["legal_representative"]
    people = {person["id_number"]: person["name"] for person in PERSONS}
    assert people[representative["id_number"]] == representative["name"]


def test_the_demo_registry_shows_every_case() -> None:
    statuses = [person["status"] for person in PERSONS]
    assert "deceased" in statuses and statuses.count("normal") >= 6
    assert any(not person["bank_cards"] for person in PERSONS)
    assert any(len(person["bank_cards"]) > 1 for person in PERSONS)
    for element in ("social_security", "housing_fund", "driving_licence"):
        assert any(person[element] is None for person in PERSONS)
    assert {entity["status"] for entity in ENTITIES} == {"active", "revoked"}


@pytest.mark.parametrize("person", PERSONS, ids=lambda person: person["name"])
def test_every_demo_person_passes_the_two_element_check_unless_deceased(
    person: dict[str, Any],
) -> None:
    verifier = RegistryFileVerifier.from_file(DEMO_REGISTRY)
    verdict = verifier.verify("two_elements", person)
    expected = Result.MATCH if person["status"] == "normal" else Result.NO_MATCH
    assert verdict.result is expected


def test_the_documented_people_and_companies_are_the_registrys() -> None:
    """docs/registry.md lists them so that developers can register with them."""
    text = REGISTRY_DOC.read_text(encoding="utf-8")
    rows = [line.split("|")[1:-1] for line in text.splitlines() if line.startswith("| ")]
    cells = [[cell.replace("`", "").strip() for cell in row] for row in rows]
    documented_people = {row[1]: row[0] for row in cells if re.fullmatch(r"\d{17}[\dX]", row[1])}
    assert documented_people == {person["id_number"]: person["name"] for person in PERSONS}
    for person in PERSONS:
        row = next(row for row in cells if row[:2] == [person["name"], person["id_number"]])
        assert row[2] == person["phone"]
        assert row[3] == (" / ".join(person["bank_cards"]) or "none")
    documented_entities = {row[0]: row[1] for row in cells if re.fullmatch(r"[0-9A-Z]{18}", row[0])}
    assert documented_entities == {entity["uscc"]: entity["name"] for entity in ENTITIES}
