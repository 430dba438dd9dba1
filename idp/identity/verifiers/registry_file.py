"""The registry-file verifier: every check answered from a JSON snapshot read once at start
(docs/registry.md); development uses the fictional demo registry in
``idp/data/demo-registry.json``."""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from idp.errors import IdpError
from idp.identity.verifiers.checks import (
    CHECKS,
    ENTITY_ACTIVE,
    PERSON_NORMAL,
    SOURCES,
    Result,
    Verdict,
    normalise,
    normalise_code,
    normalise_digits,
    normalise_entity_name,
    normalise_name,
    now,
    prepare_elements,
)
from idp.observability import metrics


@dataclass(frozen=True)
class _Person:
    name: str
    phone: str | None
    bank_cards: frozenset[str]
    social_security: str | None
    housing_fund: str | None
    driving_licence: str | None
    status: str


@dataclass(frozen=True)
class _Entity:
    name: str
    type: str
    region: str
    status: str
    legal_representative_name: str
    legal_representative_id_number: str


_PERSON_FIELDS = {
    "name",
    "id_number",
    "phone",
    "bank_cards",
    "social_security",
    "housing_fund",
    "driving_licence",
    "status",
}
_PERSON_REQUIRED = ("name", "id_number", "status")
_ENTITY_FIELDS = {"uscc", "name", "type", "region", "status", "legal_representative"}


class _FileError(IdpError, ValueError):
    """What is wrong with a registry file: a position and a field name, never a value."""

    code = "registry_file"

    def __init__(self, detail: str) -> None:
        super().__init__(detail=detail)


class RegistryFileVerifier:
    """Answers every check from a registry snapshot in the JSON format of docs/registry.md.

    A person matches only with status ``normal`` and an entity only with status ``active``; a
    missing optional element (no phone, bank card, social security, housing fund or driving
    licence on record) is ``no_match``. The status is only revealed (``detail.reason``) when
    every submitted element matched.
    """

    def __init__(self, persons: Mapping[str, _Person], entities: Mapping[str, _Entity]) -> None:
        self._persons = dict(persons)
        self._entities = dict(entities)

    @classmethod
    def from_file(cls, path: str | Path) -> RegistryFileVerifier:
        """Read and check the file once. ValueError names the file and what is wrong with it
        (a position and a field name, never a value)."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ValueError(f"registry file {path}: cannot be read ({exc.strerror})") from None
        except UnicodeDecodeError:
            raise ValueError(f"registry file {path}: is not UTF-8 text") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(
                f"registry file {path}: not valid JSON ({exc.msg} at line {exc.lineno} "
                f"column {exc.colno})"
            ) from None
        try:
            persons, entities = _parse_registry(data)
        except _FileError as exc:
            raise ValueError(f"registry file {path}: {exc}") from None
        return cls(persons, entities)

    def verify(self, check: str, elements: Mapping[str, str]) -> Verdict:
        submitted = prepare_elements(check, elements)
        if check == "entity":
            result, detail = self._verify_entity(submitted)
        else:
            result, detail = self._verify_person(check, submitted)
        metrics.count_verifier_call("registry_file", check, result.value)
        return Verdict(
            check=check,
            result=result,
            source=SOURCES[check],
            elements=CHECKS[check],
            reference=secrets.token_hex(16),
            checked_at=now(),
            detail=detail,
        )

    def _verify_person(
        self, check: str, submitted: Mapping[str, str]
    ) -> tuple[Result, dict[str, Any]]:
        person = self._persons.get(submitted["id_number"])
        if person is None or person.name != submitted["name"]:
            return Result.NO_MATCH, {}
        for element in CHECKS[check][2:]:
            value = submitted[element]
            if element == "bank_card":
                if value not in person.bank_cards:
                    return Result.NO_MATCH, {}
            elif getattr(person, element) != value:
                return Result.NO_MATCH, {}
        if person.status != PERSON_NORMAL:
            return Result.NO_MATCH, {"reason": "status"}
        return Result.MATCH, {}

    def _verify_entity(self, submitted: Mapping[str, str]) -> tuple[Result, dict[str, Any]]:
        entity = self._entities.get(submitted["uscc"])
        if (
            entity is None
            or entity.name != normalise_entity_name(submitted["name"])
            or entity.legal_representative_name != submitted["legal_representative_name"]
            or entity.legal_representative_id_number != submitted["legal_representative_id_number"]
        ):
            return Result.NO_MATCH, {}
        if entity.status != ENTITY_ACTIVE:
            return Result.NO_MATCH, {"reason": "inactive"}
        return Result.MATCH, {"entity_type": entity.type, "region": entity.region}


def _parse_registry(data: Any) -> tuple[dict[str, _Person], dict[str, _Entity]]:
    if not isinstance(data, dict):
        raise _FileError('the top level must be an object {"persons": [...], "entities": [...]}')
    unknown = sorted(set(data) - {"persons", "entities"})
    if unknown:
        raise _FileError(f"unknown top-level field {unknown[0]!r}")
    for key in ("persons", "entities"):
        if not isinstance(data.get(key), list):
            raise _FileError(f'"{key}" must be a list')
    persons: dict[str, _Person] = {}
    for index, raw in enumerate(data["persons"]):
        id_number, person = _parse_person(raw, f"persons[{index}]")
        if id_number in persons:
            raise _FileError(f"persons[{index}]: the id_number of an earlier person again")
        persons[id_number] = person
    entities: dict[str, _Entity] = {}
    for index, raw in enumerate(data["entities"]):
        uscc, entity = _parse_entity(raw, f"entities[{index}]")
        if uscc in entities:
            raise _FileError(f"entities[{index}]: the uscc of an earlier entity again")
        entities[uscc] = entity
    return persons, entities


def _object(raw: Any, where: str, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise _FileError(f"{where}: must be an object")
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise _FileError(f"{where}: unknown field {unknown[0]!r}")
    return raw


def _text(raw: Mapping[str, Any], key: str, where: str, *, required: bool = True) -> str | None:
    value = raw.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        need = "a non-empty string" if required else "a non-empty string or null"
        raise _FileError(f"{where}: {key!r} must be {need}")
    return value


def _required(raw: Mapping[str, Any], key: str, where: str) -> str:
    value = _text(raw, key, where)
    assert value is not None
    return value


def _optional(raw: Mapping[str, Any], element: str, where: str) -> str | None:
    value = _text(raw, element, where, required=False)
    return None if value is None else normalise(element, value)


def _parse_person(raw: Any, where: str) -> tuple[str, _Person]:
    raw = _object(raw, where, _PERSON_FIELDS)
    for key in _PERSON_REQUIRED:
        _required(raw, key, where)
    cards = raw.get("bank_cards", [])
    if cards is None:
        cards = []
    if not isinstance(cards, list) or not all(
        isinstance(card, str) and normalise_digits(card) for card in cards
    ):
        raise _FileError(f"{where}: 'bank_cards' must be a list of card numbers")
    person = _Person(
        name=normalise_name(raw["name"]),
        phone=_optional(raw, "phone", where),
        bank_cards=frozenset(normalise_digits(card) for card in cards),
        social_security=_optional(raw, "social_security", where),
        housing_fund=_optional(raw, "housing_fund", where),
        driving_licence=_optional(raw, "driving_licence", where),
        status=raw["status"].strip(),
    )
    return normalise_code(raw["id_number"]), person


def _parse_entity(raw: Any, where: str) -> tuple[str, _Entity]:
    raw = _object(raw, where, _ENTITY_FIELDS)
    for key in ("uscc", "name", "type", "region", "status"):
        _required(raw, key, where)
    representative = _object(
        raw.get("legal_representative"), f"{where}.legal_representative", {"name", "id_number"}
    )
    for key in ("name", "id_number"):
        _required(representative, key, f"{where}.legal_representative")
    entity = _Entity(
        name=normalise_entity_name(raw["name"]),
        type=raw["type"].strip(),
        region=raw["region"].strip(),
        status=raw["status"].strip(),
        legal_representative_name=normalise_name(representative["name"]),
        legal_representative_id_number=normalise_code(representative["id_number"]),
    )
    return normalise_code(raw["uscc"]), entity
