"""The company forms turned into values: a scope, an end of validity, the person named, the
registration fields; each refusal as a message on its field, in the person's language.

What was typed is kept when a form is shown again (never the SMS code). The acting person's
SMS code (purpose ``grant``) goes to their own phone: appointing an administrator, granting,
renewing and an edit that widens a grant need it (legal-person issue, item 3).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask import request
from flask_babel import lazy_gettext

from idp.identity import delegation
from idp.identity.delegation import Scope
from idp.identity.entities import EntityError
from idp.models import Account
from idp.models.base import utcnow
from idp.views import realname
from idp.views.account import display_timezone
from idp.views.web import services

SMS_PURPOSE = "grant"
MAX_GRANT_DAYS = 366  # a grant runs at most this long; renew it afterwards
MAX_FIELD_LENGTH = 64
MAX_MATTERS = 64
MAX_REGIONS = 32
REGION_SEPARATORS = re.compile(r"[\s,，、;；]+")
REGISTRATION_FIELDS = ("uscc", "name", "entity_type", "region")

# (field, code) -> message; codes come from idp.identity.entities, delegation and documents.
# A code without a message of its own here is looked up for the whole form, then among the
# real-name forms' (the SMS code, the agreement's tick).
MESSAGES: dict[tuple[str, str], Any] = {
    ("uscc", "length"): lazy_gettext("A unified social credit code has 18 characters."),
    ("uscc", "format"): lazy_gettext(
        "This is not a unified social credit code: digits and capital letters, without I, O, "
        "S, V and Z."
    ),
    ("uscc", "check_digit"): lazy_gettext(
        "The last character (the check character) does not fit the code: check it."
    ),
    ("uscc", "taken"): lazy_gettext(
        "This company is already registered here, with you as its legal representative."
    ),
    ("uscc", "registry_mismatch"): lazy_gettext(
        "The market regulation registry does not confirm this code, this name and you as the "
        "legal representative. Check them against the business licence."
    ),
    ("uscc", "inactive"): lazy_gettext(
        "The registry shows this company as not active (revoked or cancelled): it cannot be "
        "registered."
    ),
    ("name", "required"): lazy_gettext("Enter the company's name as on its business licence."),
    ("entity_type", "unknown"): lazy_gettext("Choose the type of organisation."),
    ("region", "format"): lazy_gettext(
        "Enter the six-digit code of the registered region, such as 330106."
    ),
    ("member", "required"): lazy_gettext("Enter the person's mobile phone number or ID number."),
    ("member", "no_account"): lazy_gettext(
        "No active account has this mobile phone number or ID number."
    ),
    ("member", "member_level"): lazy_gettext(
        "This person must first verify their name and ID number (level L2) in their account."
    ),
    ("member", "already_member"): lazy_gettext("This person already holds a role in the company."),
    ("member", "too_many"): lazy_gettext(
        "Too many people looked up who have no account. Try again in an hour."
    ),
    ("grade", "unknown"): lazy_gettext("Choose a grade."),
    ("matters", "required"): lazy_gettext("Choose at least one class of matters."),
    ("matters", "unknown"): lazy_gettext("Choose classes of matters from the catalogue."),
    ("regions", "format"): lazy_gettext(
        "Enter six-digit region codes separated by commas, or nothing for every region."
    ),
    ("valid_until", "format"): lazy_gettext("Enter a date such as 2030-01-31."),
    ("valid_until", "past"): lazy_gettext("The date must be in the future."),
    ("valid_until", "too_far"): lazy_gettext(
        "An authorisation runs at most 366 days; renew it when it ends."
    ),
    ("form", "beyond_own_scope"): lazy_gettext(
        "This is wider than your own authorisation (its grade, classes of matters or regions)."
    ),
    ("form", "too_many_administrators"): lazy_gettext(
        "The company already has as many administrators as allowed. Remove one first."
    ),
    ("form", "entity_inactive"): lazy_gettext(
        "The company's account is suspended: authorisations cannot be changed."
    ),
    ("form", "closed"): lazy_gettext(
        "This authorisation cannot be changed that way any more (it was revoked, declined or "
        "already answered)."
    ),
    ("form", "not_legal_representative"): lazy_gettext(
        "Only the company's legal representative can do this."
    ),
    ("form", "not_manager"): lazy_gettext(
        "Only the legal representative and the administrators can do this."
    ),
    ("form", "no_role"): lazy_gettext("There is no such administrator."),
    ("form", "unavailable"): lazy_gettext(
        "The market regulation registry cannot be reached just now. Nothing was stored; try "
        "again in a few minutes."
    ),
    ("form", "no_phone"): lazy_gettext(
        "Your account has no mobile phone number for the SMS code. Add one first."
    ),
}
# Refusals shown as a 403 page rather than a form message.
FORBIDDEN = {"not_legal_representative", "not_manager", "level"}


def message(field_name: str, code: str) -> str:
    """The message for a refusal; the SMS code's come from the real-name forms."""
    text = MESSAGES.get((field_name, code)) or MESSAGES.get(("form", code))
    return str(text) if text is not None else realname.message(field_name, code)


@dataclass
class CompanyState(realname.FormState):
    """A company form shown again, with this module's messages."""

    def message_for(self, field_name: str, code: str) -> str:
        return message(field_name, code)

    def take(self, error: EntityError) -> None:
        """A refusal of the rules on the form: on its field, or about the whole form."""
        if error.field == "form":
            self.refuse(message("form", error.code), error.status)
        else:
            self.fail(error.field, error.code, error.status)


@dataclass
class ScopeState(CompanyState):
    """A scope form shown again: the typed values, the ticked classes, the messages."""

    matters: list[str] = field(default_factory=list)


def registration_values() -> dict[str, str]:
    """The company registration form's fields as typed (trimmed, bounded)."""
    return {
        name: (request.form.get(name) or "").strip()[: 2 * MAX_FIELD_LENGTH]
        for name in REGISTRATION_FIELDS
    }


def scope_from_form(state: ScopeState) -> Scope:
    """``grade``, the ticked ``matters`` and the ``regions`` typed (any separator)."""
    form = request.form
    grade = (form.get("grade") or "")[:16]
    matters = list(dict.fromkeys(m[:MAX_FIELD_LENGTH] for m in form.getlist("matters")))
    regions_raw = (form.get("regions") or "")[: 8 * MAX_REGIONS]
    regions = list(dict.fromkeys(r for r in REGION_SEPARATORS.split(regions_raw) if r))
    state.values.update({"grade": grade, "regions": ", ".join(regions)})
    state.matters = matters
    if len(matters) > MAX_MATTERS:
        state.fail("matters", "unknown")
    if len(regions) > MAX_REGIONS:
        state.fail("regions", "format")
    errors = delegation.validate_scope(grade, matters, regions, services().entities.known_matters())
    for name, code in errors.items():
        if name not in state.errors:
            state.fail(name, code)
    return Scope(grade, tuple(matters), tuple(regions))


def date_shown(moment: datetime) -> str:
    """The last day (in ``IDP_TIMEZONE``) on which a grant ending at ``moment`` is valid."""
    return (moment.astimezone(display_timezone()) - timedelta(microseconds=1)).date().isoformat()


def until_from_form(state: ScopeState, unchanged: str | None = None) -> datetime | None:
    """``valid_until`` (a date, in ``IDP_TIMEZONE``): valid to the end of that day. Empty, or
    the date shown for an edit left as it was, is None (the default length, or no change)."""
    raw = (request.form.get("valid_until") or "").strip()[:32]
    state.values["valid_until"] = raw
    if not raw or raw == unchanged:
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        state.fail("valid_until", "format")
        return None
    if day > (utcnow() + timedelta(days=MAX_GRANT_DAYS)).astimezone(display_timezone()).date():
        state.fail("valid_until", "too_far")
        return None
    until = datetime.combine(day + timedelta(days=1), time(0), tzinfo=display_timezone())
    if until <= utcnow():
        state.fail("valid_until", "past")
        return None
    return until.astimezone(UTC)


def _typed_member() -> str:
    return (request.form.get("member") or "").strip()[:MAX_FIELD_LENGTH]


def member_from_form(state: ScopeState, acting: Account) -> Account | None:
    """The person named by mobile phone number or ID number (``MemberLookup``: exact matches,
    and lookups that find nobody count against the acting person's hourly attempts)."""
    typed = _typed_member()
    state.values["member"] = typed
    if not typed:
        state.fail("member", "required")
        return None
    try:
        return services().company_members.find(acting, typed)
    except EntityError as error:
        state.take(error)
        return None


def keep_typed(state: ScopeState, *, member: bool, until: bool) -> None:
    """Keep what was typed when ``send_code`` is pressed (no messages: nothing was submitted)."""
    scratch = ScopeState()
    scope_from_form(scratch)
    if until:
        until_from_form(scratch)
    if member:
        scratch.values["member"] = _typed_member()
    state.values, state.matters = scratch.values, scratch.matters


# -- the acting person's own SMS code ----------------------------------------------------------


def own_phone(account: Account) -> str | None:
    return services().people.profile(account).phone


def _own_phone_or_refuse(account: Account, state: realname.FormState) -> str | None:
    phone = own_phone(account)
    if phone is None:
        state.refuse(message("form", "no_phone"), 400)
    return phone


def code_sent(state: realname.FormState) -> bool:
    """Whether this answer is the one to a ``send_code`` press that sent the code: only then
    does the form say the code went to the person's phone."""
    return request.form.get("action") == "send_code" and not state.problem and not state.errors


def send_own_code(account: Account, state: realname.FormState) -> None:
    """The ``send_code`` button: the acting person's own phone gets the code."""
    phone = _own_phone_or_refuse(account, state)
    if phone is None:
        return
    realname.send_code(phone, SMS_PURPOSE, state)
    if "phone" in state.errors:
        state.problem = message("form", "no_phone")
        del state.errors["phone"]


def check_own_code(account: Account, state: realname.FormState) -> bool:
    phone = _own_phone_or_refuse(account, state)
    return phone is not None and realname.check_code(phone, SMS_PURPOSE, state)
