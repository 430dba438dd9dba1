"""Real-name forms shared by the portal login (interaction) and the user space (account).

Registration (``name``, ``id_type``, ``id_number``, ``phone``, ``sms_code``, ``password``,
``password_confirm``, ``accept_agreement``; button ``action`` = ``send_code`` | ``register``),
the SMS code step of every form that proves a phone, and verification of further identity
elements (step-up to L2/L3). Messages are per field, in the person's language; what the person
typed is kept except secrets; a refused form stores nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from idp.identity import documents, levels
from idp.identity.people import SECOND_AUTHORITY_ELEMENTS, Application, Checked
from idp.identity.sms import SmsUnavailable
from idp.identity.verifiers import Result
from idp.models import Account
from idp.views.web import services

# (field, error code) -> message. Codes come from idp.identity (documents, password_policy,
# people) and from the SMS code store.
MESSAGES: dict[tuple[str, str], Any] = {
    ("name", "required"): lazy_gettext("Enter your name as written on your identity document."),
    ("name", "format"): lazy_gettext("The name contains characters that are not allowed."),
    ("name", "registry_mismatch"): lazy_gettext(
        "The name and the ID number do not match the population registry. Check both."
    ),
    ("id_type", "id_type"): lazy_gettext("Choose the type of your identity document."),
    ("id_number", "required"): lazy_gettext("Enter your identity document number."),
    ("id_number", "length"): lazy_gettext("A resident ID number has 18 characters."),
    ("id_number", "format"): lazy_gettext("This is not a valid identity document number."),
    ("id_number", "check_digit"): lazy_gettext(
        "The last character (the check digit) does not fit the number: check it."
    ),
    ("id_number", "birth_date"): lazy_gettext(
        "The date of birth in the ID number is not a real date."
    ),
    ("id_number", "future_birth_date"): lazy_gettext(
        "The date of birth in the ID number is in the future."
    ),
    ("id_number", "taken"): lazy_gettext("An account already exists for this ID number."),
    ("phone", "required"): lazy_gettext("Enter your mobile phone number."),
    ("phone", "format"): lazy_gettext("Enter a mainland China mobile number of 11 digits."),
    ("phone", "taken"): lazy_gettext("This phone number already belongs to another account."),
    ("sms_code", "required"): lazy_gettext("Enter the code we sent by SMS."),
    ("sms_code", "wrong"): lazy_gettext("The SMS code is not correct."),
    ("sms_code", "expired"): lazy_gettext(
        "The SMS code has expired or was never sent. Request a new code."
    ),
    ("sms_code", "too_many"): lazy_gettext("Too many wrong codes. Request a new code."),
    ("password", "required"): lazy_gettext("Enter a password."),
    ("password", "too_short"): lazy_gettext("The password must have at least 8 characters."),
    ("password", "too_long"): lazy_gettext("The password must have at most 128 characters."),
    ("password", "common"): lazy_gettext(
        "This password is too common and easy to guess. Choose another one."
    ),
    ("password", "contains_phone"): lazy_gettext(
        "The password must not contain your phone number."
    ),
    ("password", "contains_id_number"): lazy_gettext(
        "The password must not contain your ID number."
    ),
    ("password_confirm", "mismatch"): lazy_gettext("The two passwords are not the same."),
    ("accept_agreement", "required"): lazy_gettext(
        "Tick the box to confirm that you have read and accept the agreement."
    ),
    ("bank_card", "format"): lazy_gettext("Enter a valid bank card number."),
    ("social_security", "format"): lazy_gettext("Enter your social security number."),
    ("housing_fund", "format"): lazy_gettext("Enter your housing fund account number."),
}
ID_TYPE_LABELS = {
    "resident_id": lazy_gettext("Resident identity card"),
    "passport": lazy_gettext("Passport"),
}
LEVEL_LABELS = {
    "L0": lazy_gettext("L0: not verified"),
    "L1": lazy_gettext("L1: phone proven, identity declared"),
    "L2": lazy_gettext("L2: name and ID number verified with the population registry"),
    "L3": lazy_gettext("L3: verified with the registry and a second authority"),
    "L4": lazy_gettext("L4: verified in person at a service counter"),
}
METHOD_LABELS = {
    "two_elements": lazy_gettext("Check my name and ID number with the population registry"),
    "phone_three_elements": lazy_gettext("Check my phone number with my telecom operator"),
    "bank_card_four_elements": lazy_gettext("Check a bank card in my name"),
    "social_security": lazy_gettext("Check my social security account"),
    "housing_fund": lazy_gettext("Check my housing fund account"),
}
CHECK_LABELS = {
    "sms": lazy_gettext("Phone number proven by SMS code"),
    "two_elements": lazy_gettext("Name and ID number (population registry)"),
    "phone_three_elements": lazy_gettext("Phone number (telecom operator)"),
    "bank_card_four_elements": lazy_gettext("Bank card (bank)"),
    "social_security": lazy_gettext("Social security account"),
    "housing_fund": lazy_gettext("Housing fund account"),
    "driving_licence": lazy_gettext("Driving licence"),
    "counter": lazy_gettext("In person at a service counter"),
    "identity_corrected": lazy_gettext("Name or ID number corrected by you"),
}
RESULT_LABELS = {
    "match": lazy_gettext("Confirmed"),
    "no_match": lazy_gettext("Not confirmed"),
    "unavailable": lazy_gettext("Source unavailable"),
    "declared": lazy_gettext("Declared"),
}
STATUS_LABELS = {
    "active": lazy_gettext("Active"),
    "suspended": lazy_gettext("Suspended"),
}
USER_TYPE_LABELS = {
    "natural_person": lazy_gettext("Natural person"),
    "legal_person": lazy_gettext("Legal person (organisation)"),
}
ACCOUNT_NUMBER_PATTERN_LENGTH = (5, 32)


def message(field_name: str, code: str) -> str:
    text = MESSAGES.get((field_name, code))
    return str(text) if text is not None else _("Check this field.")


def level_label(level: str) -> str:
    return str(LEVEL_LABELS.get(level, level))


@dataclass
class FormState:
    """What a real-name form page shows again: values (never secrets) and messages."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # field -> translated message
    notice: str | None = None  # e.g. "a code was sent"
    problem: str | None = None  # a message about the whole form
    status: int = 200
    recover: bool = False  # point to account recovery (the ID number already has an account)

    def context(self, notice: str | None = None) -> dict[str, Any]:
        """What every real-name form template takes: ``values``, ``errors``, ``notice``,
        ``problem``."""
        return {
            "values": self.values,
            "errors": self.errors,
            "notice": self.notice or notice,
            "problem": self.problem,
        }

    def fail(self, field_name: str, code: str, status: int = 400) -> None:
        self.errors[field_name] = message(field_name, code)
        self.status = status


KEPT_FIELDS = ("name", "id_type", "id_number", "phone")


def kept_values(form: Mapping[str, str]) -> dict[str, str]:
    return {name: (form.get(name) or "")[:64] for name in KEPT_FIELDS}


def send_code(phone_raw: str, purpose: str, state: FormState) -> str | None:
    """The ``send_code`` button: an SMS code to ``phone_raw``. Returns the normalised phone."""
    phone = documents.normalize_phone(phone_raw or "")
    if phone is None:
        state.fail("phone", "required" if not (phone_raw or "").strip() else "format")
        return None
    try:
        result = services().sms.send(phone, purpose, request.remote_addr or "")
    except SmsUnavailable:
        state.problem = _("The SMS could not be sent just now. Try again in a few minutes.")
        state.status = 503
        return None
    if not result.sent:
        if result.refused == "resend_wait":
            state.problem = _(
                "A code was sent a moment ago. You can request another in %(seconds)s seconds.",
                seconds=result.wait_seconds,
            )
        else:
            state.problem = _(
                "Too many codes were requested. Try again in %(minutes)s minutes.",
                minutes=max(1, (result.wait_seconds + 59) // 60),
            )
        state.status = 429
        return None
    state.notice = _("A code was sent to %(phone)s.", phone=documents.mask_phone(phone))
    return phone


def check_code(phone: str, purpose: str, state: FormState) -> bool:
    code = (request.form.get("sms_code") or "").strip()
    if not code:
        state.fail("sms_code", "required")
        return False
    outcome = services().sms.check(phone, purpose, code)
    if outcome != "ok":
        state.fail("sms_code", outcome)
        return False
    return True


@dataclass
class RegistrationOutcome:
    account: Account | None
    state: FormState


def register() -> RegistrationOutcome:
    """Handle a POST of the registration form (both buttons)."""
    prov = services()
    state = FormState(values=kept_values(request.form))
    action = request.form.get("action")
    if action == "send_code":
        send_code(request.form.get("phone", ""), "register", state)
        return RegistrationOutcome(None, state)
    if action != "register":
        state.problem = _("Something is wrong with the form. Try again.")
        state.status = 400
        return RegistrationOutcome(None, state)
    application = Application.from_form(request.form)
    for name, code in application.validate().items():
        state.fail(name, code)
    if state.errors:
        return RegistrationOutcome(None, state)
    address = request.remote_addr or ""
    wait = prov.verification_failures.exceeded(f"address:{address}")
    if wait:
        state.problem = _(
            "Too many attempts. Try again in %(minutes)s minutes.", minutes=(wait + 59) // 60
        )
        state.status = 429
        return RegistrationOutcome(None, state)
    # The phone is proven before anything about existing accounts is told: whether an ID
    # number is registered is not for anyone who merely knows it.
    if not check_code(application.phone, "register", state):
        return RegistrationOutcome(None, state)
    registered = prov.people.register(application)
    if registered.account is None:
        for name, code in registered.errors.items():
            state.fail(name, code, 409 if code == "taken" else 400)
        state.recover = registered.errors.get("id_number") == "taken"
        if registered.existing_phone_masked:
            state.problem = _(
                "This ID number already has an account, registered with the phone number "
                "%(phone)s. Log in with it, or reset the password if you have forgotten it.",
                phone=registered.existing_phone_masked,
            )
        if "registry_mismatch" in registered.errors.values():
            prov.verification_failures.count(f"address:{address}")
        prov.audit(
            "registration_refused",
            ip_address=address,
            details={"reasons": sorted(set(registered.errors.values()))},
        )
        return RegistrationOutcome(None, state)
    account = registered.account
    prov.agreements.accept_all(
        account.id,
        account.user_type,
        client_id=None,
        ip_address=address,
        user_agent=request.user_agent.string,
    )
    verdict = registered.verdict
    prov.audit(
        "account_registered",
        actor=account.id,
        account_id=account.id,
        ip_address=address,
        details={
            "id_type": account.id_type,
            "verification_level": account.verification_level,
            "registry": verdict.result.value if verdict else None,
        },
    )
    if verdict is not None and verdict.result == Result.UNAVAILABLE:
        state.notice = _(
            "The population registry could not be reached: your identity is not verified yet. "
            "Try again later from your account."
        )
    return RegistrationOutcome(account, state)


def registration_context(state: FormState) -> dict[str, Any]:
    titles = [title for title, _url in services().agreements.links("natural_person")]
    return {
        "values": state.values or {"id_type": "resident_id"},
        "errors": state.errors,
        "notice": state.notice,
        "problem": state.problem,
        "id_types": [
            {"code": code, "label": str(ID_TYPE_LABELS.get(code, code))}
            for code in documents.ID_TYPES
        ],
        "agreements": titles,
        "recover_url": url_for("account.recover_page") if state.recover else None,
    }


# -- verification (step-up) --------------------------------------------------------------------


def verification_options(account: Account, target: str | None) -> list[dict[str, Any]]:
    """The checks that move this account towards ``target`` (or as far as it can go online)."""
    reachable = services().people.reachable(account)
    goal = target or reachable
    options: list[dict[str, Any]] = []
    if not levels.at_least(reachable, goal):
        return options
    if not levels.at_least(account.verification_level, "L2") and levels.at_least(goal, "L2"):
        options.append({"method": "two_elements", "label": str(METHOD_LABELS["two_elements"])})
    if levels.at_least(goal, "L3") and not levels.at_least(account.verification_level, "L3"):
        options.append(
            {"method": "phone_three_elements", "label": str(METHOD_LABELS["phone_three_elements"])}
        )
        for method, element in SECOND_AUTHORITY_ELEMENTS.items():
            options.append(
                {"method": method, "label": str(METHOD_LABELS[method]), "field": element}
            )
    return options


def _normalized_element(method: str) -> tuple[dict[str, str], str | None]:
    element = SECOND_AUTHORITY_ELEMENTS.get(method)
    if element is None:
        return {}, None
    raw = (request.form.get(element) or "")[:64]
    if element == "bank_card":
        value = documents.normalize_bank_card(raw)
    else:
        compact = "".join(raw.split()).upper()
        low, high = ACCOUNT_NUMBER_PATTERN_LENGTH
        value = compact if compact.isalnum() and low <= len(compact) <= high else None
    if value is None:
        return {}, element
    return {element: value}, None


def verify(account: Account, target: str | None) -> tuple[Checked | None, FormState]:
    """Handle a POST of the verification form (``method`` and, for some, one element field)."""
    prov = services()
    state = FormState()
    method = request.form.get("method", "")
    allowed = {o["method"] for o in verification_options(account, target)}
    if method not in allowed:
        state.problem = _("Choose one of the ways offered to verify your identity.")
        state.status = 400
        return None, state
    extra, bad_field = _normalized_element(method)
    if bad_field:
        state.fail(bad_field, "format")
        return None, state
    wait = prov.verification_failures.exceeded(f"account:{account.id}")
    if wait:
        state.problem = _(
            "Too many attempts. Try again in %(minutes)s minutes.", minutes=(wait + 59) // 60
        )
        state.status = 429
        return None, state
    checked = prov.identity_checks.verify(account, method, extra, ip_address=request.remote_addr)
    if checked.result == Result.UNAVAILABLE:
        state.problem = _(
            "The verification service is not available just now. Try again in a few minutes."
        )
        state.status = 503
    elif checked.result == Result.NO_MATCH:
        prov.verification_failures.count(f"account:{account.id}")
        state.problem = _(
            "The authority could not confirm these details for you. Check them and try again, "
            "or choose another way."
        )
        state.status = 400
    elif checked.level_after == checked.level_before:
        state.notice = _(
            "Confirmed. Your verification level is still %(level)s.", level=checked.level_after
        )
    else:
        state.notice = _("Verified: your level is now %(level)s.", level=checked.level_after)
    return checked, state
