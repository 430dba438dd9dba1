"""Identity verifiers: ask an authoritative source whether identity elements belong together.

Issue "real-name registration", item 4; natural-person agreement clause 4(2) (real-name
registration proved by the person's phone, social security, bank card, housing fund account, ID
number or driving licence). Each *check* is an element set answered by one source (``CHECKS``,
``SOURCES``). Two backends implement :class:`Verifier`:

- :class:`RegistryFileVerifier` answers from a JSON snapshot read once at start (docs/registry.md);
  development uses the fictional demo registry shipped in ``idp/data/demo-registry.json``;
- :class:`HttpVerifier` POSTs each check to an authoritative gateway, with retries and a circuit
  breaker per check, and answers ``unavailable`` (never ``match``) whenever the answer is not a
  clear one.

Elements are normalised the same way on both sides before comparison (``normalise``). A verdict
never carries submitted or registry personal data, and nothing here logs elements.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import threading
import time
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import requests

if TYPE_CHECKING:
    from idp.config import Config

log = logging.getLogger(__name__)


class Result(StrEnum):
    MATCH = "match"
    NO_MATCH = "no_match"
    UNAVAILABLE = "unavailable"


# Element set ("check") -> the elements it compares.
CHECKS: dict[str, tuple[str, ...]] = {
    "two_elements": ("name", "id_number"),
    "phone_three_elements": ("name", "id_number", "phone"),
    "bank_card_four_elements": ("name", "id_number", "phone", "bank_card"),
    "social_security": ("name", "id_number", "social_security"),
    "housing_fund": ("name", "id_number", "housing_fund"),
    "driving_licence": ("name", "id_number", "driving_licence"),
    "entity": ("uscc", "name", "legal_representative_name", "legal_representative_id_number"),
}

# Check -> the authoritative source that answers it.
SOURCES: dict[str, str] = {
    "two_elements": "population_registry",
    "phone_three_elements": "telecom_operator",
    "bank_card_four_elements": "bank",
    "social_security": "social_security_agency",
    "housing_fund": "housing_fund_centre",
    "driving_licence": "traffic_police",
    "entity": "market_regulation_registry",
}

PERSON_NORMAL = "normal"
ENTITY_ACTIVE = "active"
# Keys of a gateway's ``detail`` that are passed on (string values only); anything else is dropped
# so that a gateway echoing personal data cannot leak it further.
DETAIL_KEYS = frozenset({"reason", "entity_type", "region"})


@dataclass(frozen=True)
class Verdict:
    check: str
    result: Result
    source: str
    elements: tuple[str, ...]  # the element names compared, never their values
    reference: str | None  # the source's transaction reference (registry file: a random id)
    checked_at: datetime  # UTC
    # Never submitted or registry personal data. "entity" match: {"entity_type", "region"};
    # a matching but inactive entity: {"reason": "inactive"}; a matching person whose status is
    # not "normal": {"reason": "status"}; unavailable: {"reason": <what went wrong>}.
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def matched(self) -> bool:
        return self.result is Result.MATCH


class Verifier(Protocol):
    def verify(self, check: str, elements: Mapping[str, str]) -> Verdict:
        """Verify ``elements`` (element name -> value) with the source of ``check``.

        Raises ValueError for an unknown check or a missing (or blank) element; elements the
        check does not compare are ignored and never sent anywhere.
        """
        ...


# -- normalisation -----------------------------------------------------------------------------

_WHITESPACE = re.compile(r"\s+")
# Registered entity names use full-width parentheses; people type either kind.
_PARENTHESES = str.maketrans({"(": "（", ")": "）"})


def normalise_name(value: str) -> str:
    """NFC, then every whitespace character removed (``张 三`` is ``张三``)."""
    return _WHITESPACE.sub("", unicodedata.normalize("NFC", value))


def normalise_code(value: str) -> str:
    """Identifiers (ID numbers, USCC, account numbers): whitespace removed, upper-cased."""
    return _WHITESPACE.sub("", value).upper()


def normalise_digits(value: str) -> str:
    return "".join(c for c in value if c.isascii() and c.isdigit())


def normalise_phone(value: str) -> str:
    """Mainland mobile numbers as 11 digits: separators and a ``+86`` / ``0086`` prefix removed."""
    digits = normalise_digits(value)
    for prefix in ("0086", "86"):
        if len(digits) == 11 + len(prefix) and digits.startswith(prefix):
            return digits[len(prefix) :]
    return digits


_NORMALISERS = {
    "name": normalise_name,
    "legal_representative_name": normalise_name,
    "phone": normalise_phone,
    "bank_card": normalise_digits,
}


def normalise(element: str, value: str) -> str:
    return _NORMALISERS.get(element, normalise_code)(value)


def _normalise_entity_name(value: str) -> str:
    return normalise_name(value).translate(_PARENTHESES)


def _prepare(check: str, elements: Mapping[str, str]) -> dict[str, str]:
    """The check's elements, normalised; ValueError for an unknown check or a missing element."""
    if check not in CHECKS:
        raise ValueError(f"unknown check {check!r}; known checks: {', '.join(CHECKS)}")
    prepared: dict[str, str] = {}
    for element in CHECKS[check]:
        value = elements.get(element)
        normalised = normalise(element, value) if isinstance(value, str) else ""
        if not normalised:
            raise ValueError(f"check {check!r} needs the element {element!r}")
        prepared[element] = normalised
    return prepared


def _now() -> datetime:
    return datetime.now(UTC)


# -- registry file -----------------------------------------------------------------------------


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


class _FileError(ValueError):
    pass


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
        submitted = _prepare(check, elements)
        if check == "entity":
            result, detail = self._verify_entity(submitted)
        else:
            result, detail = self._verify_person(check, submitted)
        return Verdict(
            check=check,
            result=result,
            source=SOURCES[check],
            elements=CHECKS[check],
            reference=secrets.token_hex(16),
            checked_at=_now(),
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
            or entity.name != _normalise_entity_name(submitted["name"])
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
        name=_normalise_entity_name(raw["name"]),
        type=raw["type"].strip(),
        region=raw["region"].strip(),
        status=raw["status"].strip(),
        legal_representative_name=normalise_name(representative["name"]),
        legal_representative_id_number=normalise_code(representative["id_number"]),
    )
    return normalise_code(raw["uscc"]), entity


# -- HTTP gateway ------------------------------------------------------------------------------


CLOSED, TRIAL = "closed", "trial"


class _Breaker:
    """A circuit breaker for one check (closed -> open -> half-open), safe across threads.

    After ``threshold`` consecutive unavailable answers it opens: calls are refused without
    reaching the source for ``cooldown`` seconds. Then one trial call is let through (half-open);
    its success closes the breaker, its failure opens it for another cooldown.
    """

    def __init__(self, check: str, threshold: int, cooldown: float) -> None:
        self.check = check
        self.threshold = threshold
        self.cooldown = cooldown
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_running = False

    def admit(self) -> str | None:
        """``CLOSED`` or ``TRIAL`` when a call may go to the source, None while open."""
        with self._lock:
            if self._opened_at is None:
                return CLOSED
            if self._trial_running or time.monotonic() - self._opened_at < self.cooldown:
                return None
            self._trial_running = True
            return TRIAL

    def record(self, permit: str, available: bool) -> None:
        with self._lock:
            trial = permit == TRIAL
            if trial:
                self._trial_running = False
            if available:
                if self._opened_at is not None:
                    log.info("identity verifier %s: circuit closed", self.check)
                self._failures = 0
                self._opened_at = None
                return
            self._failures += 1
            if trial or (self._opened_at is None and self._failures >= self.threshold):
                self._opened_at = time.monotonic()
                log.warning(
                    "identity verifier %s: circuit open for %s s after %d unavailable answer(s)",
                    self.check,
                    self.cooldown,
                    self._failures,
                )


class _Unavailable(Exception):
    def __init__(self, reason: str, *, retry: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry = retry


class HttpVerifier:
    """POSTs ``{"check", "elements"}`` to an authoritative gateway (docs/registry.md).

    ``url`` may contain ``{check}``, replaced by the check name (one endpoint per element set).
    Connection failures and 5xx answers are retried up to ``retries`` times (waits of 0.2 s,
    0.4 s, ...); a read timeout is not retried, because the source may already have answered (and
    billed) the call. Anything but a well-formed ``match`` / ``no_match`` answer is
    ``unavailable``, and feeds the check's circuit breaker.
    """

    BACKOFF_SECONDS = 0.2

    def __init__(
        self,
        url: str,
        *,
        token: str = "",
        timeout: float = 5,
        retries: int = 2,
        breaker_failures: int = 5,
        breaker_cooldown: float = 30,
    ) -> None:
        if not url.startswith(("https://", "http://")):
            raise ValueError("the verifier gateway URL must be an http(s) URL")
        self.url = url
        self.token = token
        self.timeout = timeout
        self.retries = max(0, retries)
        self._breakers = {
            check: _Breaker(check, max(1, breaker_failures), breaker_cooldown) for check in CHECKS
        }

    def verify(self, check: str, elements: Mapping[str, str]) -> Verdict:
        submitted = _prepare(check, elements)
        breaker = self._breakers[check]
        permit = breaker.admit()
        if permit is None:
            return self._verdict(check, Result.UNAVAILABLE, None, {"reason": "circuit_open"})
        try:
            result, reference, detail = self._call(check, submitted)
        except _Unavailable as exc:
            breaker.record(permit, available=False)
            return self._verdict(check, Result.UNAVAILABLE, None, {"reason": exc.reason})
        breaker.record(permit, available=True)
        return self._verdict(check, result, reference, detail)

    def _verdict(
        self, check: str, result: Result, reference: str | None, detail: dict[str, Any]
    ) -> Verdict:
        return Verdict(
            check=check,
            result=result,
            source=SOURCES[check],
            elements=CHECKS[check],
            reference=reference,
            checked_at=_now(),
            detail=detail,
        )

    def _call(
        self, check: str, submitted: dict[str, str]
    ) -> tuple[Result, str | None, dict[str, Any]]:
        attempts = self.retries + 1
        for attempt in range(1, attempts + 1):
            try:
                return self._attempt(check, submitted)
            except _Unavailable as exc:
                log.warning(
                    "identity verifier %s: unavailable (%s), attempt %d of %d",
                    check,
                    exc.reason,
                    attempt,
                    attempts,
                )
                if not exc.retry or attempt == attempts:
                    raise
            time.sleep(self.BACKOFF_SECONDS * attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def _attempt(
        self, check: str, submitted: dict[str, str]
    ) -> tuple[Result, str | None, dict[str, Any]]:
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            response = requests.post(
                self.url.replace("{check}", check),
                json={"check": check, "elements": submitted},
                headers=headers,
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.ConnectionError as exc:
            # ConnectTimeout is both a ConnectionError and a Timeout: nothing reached the source.
            raise _Unavailable(f"network: {type(exc).__name__}", retry=True) from None
        except requests.Timeout:
            raise _Unavailable("timeout", retry=False) from None
        except requests.RequestException as exc:
            raise _Unavailable(f"request: {type(exc).__name__}", retry=False) from None
        if response.status_code >= 500:
            raise _Unavailable(f"status {response.status_code}", retry=True)
        if not 200 <= response.status_code < 300:
            raise _Unavailable(f"status {response.status_code}", retry=False)
        return _parse_answer(response)


def _parse_answer(response: requests.Response) -> tuple[Result, str | None, dict[str, Any]]:
    """``{"result": "match" | "no_match", "reference": str, "detail": {...}}``, or unavailable."""
    try:
        answer = response.json()
    except ValueError:
        raise _Unavailable("answer is not JSON", retry=False) from None
    if not isinstance(answer, dict):
        raise _Unavailable("answer is not a JSON object", retry=False)
    result = answer.get("result")
    if result not in (Result.MATCH.value, Result.NO_MATCH.value):
        raise _Unavailable("answer has no match / no_match result", retry=False)
    reference = answer.get("reference")
    if reference is not None and not isinstance(reference, str):
        raise _Unavailable("answer has a reference that is not a string", retry=False)
    detail = answer.get("detail", {})
    if detail is None:
        detail = {}
    if not isinstance(detail, dict):
        raise _Unavailable("answer has a detail that is not an object", retry=False)
    kept = {
        key: value for key, value in detail.items() if key in DETAIL_KEYS and isinstance(value, str)
    }
    return Result(result), reference or None, kept


# -- configuration -----------------------------------------------------------------------------


def build_verifier(config: Config) -> Verifier:
    """The verifier that ``IDP_VERIFIER`` names (docs/configuration.md); ValueError if the
    registry file is invalid."""
    if config.VERIFIER == "registry_file":
        return RegistryFileVerifier.from_file(config.REGISTRY_FILE)
    if config.VERIFIER == "http":
        return HttpVerifier(
            config.VERIFIER_HTTP_URL,
            token=config.VERIFIER_HTTP_TOKEN,
            timeout=config.VERIFIER_TIMEOUT,
            retries=config.VERIFIER_RETRIES,
            breaker_failures=config.VERIFIER_BREAKER_FAILURES,
            breaker_cooldown=config.VERIFIER_BREAKER_COOLDOWN,
        )
    raise ValueError(f"unknown verifier {config.VERIFIER!r}; use 'registry_file' or 'http'")
