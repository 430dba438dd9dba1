"""Rich authorization requests (RFC 9396) for government matters: the type ``gov_matter``.

A portal asks to act on one matter (办件) for the person, or for a company the person handles
matters for, with ``authorization_details`` (a JSON array, RFC 9396 2) at ``/authorize``, at the
PAR endpoint (both run the check table, ``idp.oauth.authorize.check_authorization_details``),
and, to ask for a subset of what was granted, at the token endpoint (RFC 9396 6.1, 6.2). Each
detail of the type ``gov_matter`` has:

- ``type``: ``"gov_matter"``;
- ``matter_class`` (required): a code of the operator's catalogue of matters (``idp matters``),
  within the classes the portal is registered to serve (its ``matters`` metadata);
- ``region`` (required): the GB/T 2260 six-digit code of the region of the matter, within the
  portal's region when it has one;
- ``acting_for`` (optional): the unified social credit code (GB 32100) of the company the matter
  is for; it needs the scope ``entity`` (a company login) and must name the company chosen;
- ``actions`` (optional, RFC 9396 2.2): what is asked for on the matter, among the grades of
  graded authorisation ``view``, ``apply``, ``sign``.

Anything else (another type, an unknown member, a bad value, a class the portal does not serve)
is refused with ``invalid_authorization_details`` (RFC 9396 5).

In a company login (``acting_for``, or the scope ``entity``), the details are narrowed to the
handler's grant (or role) the person acts under (legal-person agreement, graded and classified
authorisation, ``idp.identity.delegation``): a class or region the grant does not cover is
*refused* (``invalid_authorization_details``: the person cannot grant what they do not hold);
``actions`` above the grant's grade are *narrowed* to the grades it includes (RFC 9396 7: the
token response carries the details as granted, which may be less than requested), and the
granted detail names the company in ``acting_for``. The token response and introspection carry
the granted details. No I/O here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from authlib.oauth2.rfc6749.errors import OAuth2Error

from idp.identity import delegation
from idp.identity.documents import normalize_uscc, validate_uscc
from idp.models import Client

GOV_MATTER = "gov_matter"
TYPES_SUPPORTED = (GOV_MATTER,)
MEMBERS = ("type", "matter_class", "region", "acting_for", "actions")
MAX_DETAILS = 10
MAX_LENGTH = 8192


class InvalidAuthorizationDetailsError(OAuth2Error):
    """RFC 9396 5: the ``authorization_details`` parameter is not acceptable."""

    error = "invalid_authorization_details"


def _refuse(description: str) -> InvalidAuthorizationDetailsError:
    return InvalidAuthorizationDetailsError(description=description)


def parse(raw: str | None, client: Client, scopes: Iterable[str]) -> list[dict[str, Any]] | None:
    """The validated, normalized details of ``raw`` (the parameter's JSON), or None when
    absent. Raises :class:`InvalidAuthorizationDetailsError`."""
    if raw is None or raw == "":
        return None
    if len(raw) > MAX_LENGTH:
        raise _refuse("'authorization_details' is too long.")
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        raise _refuse("'authorization_details' must be a JSON array.") from None
    if not isinstance(value, list) or not value:
        raise _refuse("'authorization_details' must be a non-empty JSON array.")
    if len(value) > MAX_DETAILS:
        raise _refuse(f"At most {MAX_DETAILS} authorization details may be asked for.")
    details: list[dict[str, Any]] = []
    for number, item in enumerate(value, 1):
        detail = _one(item, number, client, set(scopes))
        if detail not in details:
            details.append(detail)
    return details


def _one(item: Any, number: int, client: Client, scopes: set[str]) -> dict[str, Any]:
    where = f"authorization_details[{number - 1}]"
    if not isinstance(item, dict):
        raise _refuse(f"{where} must be a JSON object.")
    if item.get("type") not in TYPES_SUPPORTED:
        raise _refuse(f"{where}: unknown type (supported: {', '.join(TYPES_SUPPORTED)}).")
    unknown = sorted(str(name) for name in item if name not in MEMBERS)
    if unknown:
        raise _refuse(f"{where}: unknown member {unknown[0]!r}.")
    matter = item.get("matter_class")
    if not isinstance(matter, str) or not delegation.MATTER_CODE.match(matter):
        raise _refuse(f"{where}: 'matter_class' must be a code of the catalogue of matters.")
    served = list(client.matters or [])
    if not served or not delegation.matters_cover(served, [matter]):
        raise _refuse(f"{where}: this portal is not registered for the matter class {matter}.")
    region = item.get("region")
    if not isinstance(region, str) or not delegation.REGION_CODE.match(region):
        raise _refuse(f"{where}: 'region' must be a six-digit administrative division code.")
    if client.region and not delegation.region_covers(client.region, region):
        raise _refuse(f"{where}: the region {region} is outside the portal's region.")
    detail: dict[str, Any] = {"type": GOV_MATTER, "matter_class": matter, "region": region}
    acting_for = item.get("acting_for")
    if acting_for is not None:
        if not isinstance(acting_for, str) or validate_uscc(normalize_uscc(acting_for)):
            raise _refuse(f"{where}: 'acting_for' must be a unified social credit code.")
        if "entity" not in scopes:
            raise _refuse(f"{where}: 'acting_for' needs the scope 'entity' (a company login).")
        detail["acting_for"] = normalize_uscc(acting_for)
    actions = item.get("actions")
    if actions is not None:
        if (
            not isinstance(actions, list)
            or not actions
            or any(action not in delegation.GRADES for action in actions)
        ):
            grades = ", ".join(delegation.GRADES)
            raise _refuse(f"{where}: 'actions' must be a non-empty array of: {grades}.")
        detail["actions"] = [grade for grade in delegation.GRADES if grade in actions]
    return detail


def matter_classes(details: list[dict[str, Any]] | None) -> list[str]:
    return list(dict.fromkeys(detail["matter_class"] for detail in details or []))


def narrow(
    details: list[dict[str, Any]] | None,
    *,
    scope: delegation.Scope | None,
    uscc: str | None,
) -> list[dict[str, Any]] | None:
    """The details as they can be granted in this login: as asked when the person acts as
    themselves (``scope`` None); within the handler's grant (or role) ``scope`` when acting for
    the company ``uscc``. Raises :class:`InvalidAuthorizationDetailsError`."""
    if not details:
        return None
    granted = []
    for number, detail in enumerate(details):
        where = f"authorization_details[{number}]"
        if scope is None or uscc is None:
            if detail.get("acting_for"):
                raise _refuse(f"{where}: the person does not act for the company named.")
            granted.append(dict(detail))
            continue
        if detail.get("acting_for") not in (None, uscc):
            raise _refuse(f"{where}: the person acts for another company than 'acting_for'.")
        if not delegation.matters_cover(scope.matters, [detail["matter_class"]]):
            raise _refuse(
                f"{where}: the matter class {detail['matter_class']} is beyond what the "
                "person may handle for the company."
            )
        if not delegation.regions_cover(scope.regions, [detail["region"]]):
            raise _refuse(
                f"{where}: the region {detail['region']} is beyond what the person may "
                "handle for the company."
            )
        held = [g for g in delegation.GRADES if delegation.grade_includes(scope.grade, g)]
        actions = [a for a in detail.get("actions", held) if a in held]
        if not actions:
            raise _refuse(
                f"{where}: the actions asked for are beyond the person's grade ({scope.grade})."
            )
        granted.append({**detail, "acting_for": uscc, "actions": actions})
    return granted


def subset(
    asked: list[dict[str, Any]], granted: list[dict[str, Any]] | None
) -> list[dict[str, Any]]:
    """RFC 9396 6.1: details asked for at the token endpoint must be within those granted
    (each one within one granted detail: same class, region and company, fewer or the same
    actions). Raises :class:`InvalidAuthorizationDetailsError`."""
    for number, detail in enumerate(asked):
        if not any(_within(detail, held) for held in granted or []):
            raise _refuse(f"authorization_details[{number}] was not granted.")
    return asked


def _within(detail: dict[str, Any], held: dict[str, Any]) -> bool:
    for name in ("type", "matter_class", "region"):
        if detail.get(name) != held.get(name):
            return False
    if detail.get("acting_for") not in (None, held.get("acting_for")):
        return False
    if "actions" in held:
        return set(detail.get("actions", held["actions"])) <= set(held["actions"])
    return True


def describe(
    details: list[dict[str, Any]] | None, matter_name: Callable[[str], str | None]
) -> list[dict[str, Any]]:
    """The details in a person's terms (the consent page): the matter's name from the
    catalogue, the region, the company, the actions."""
    return [
        {
            "matter_class": detail["matter_class"],
            "matter_name": matter_name(detail["matter_class"]) or detail["matter_class"],
            "region": detail["region"],
            "acting_for": detail.get("acting_for"),
            "actions": list(detail.get("actions") or []),
        }
        for detail in details or []
    ]
