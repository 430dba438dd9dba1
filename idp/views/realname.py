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
from idp.views.labels import ID_TYPE_LABELS, agreement_title, label, level_label
from idp.views.web import services

# (field, error code) -> message. Codes come from idp.identity (documents, password_policy,
# people) and from the SMS code store.
MESSAGES: dict[tuple[str, str], Any] = {
    ("name", "required"): lazy_gettext("Enter your name as written on your identity document."),
    ("name", "format"): lazy_gettext("The name contains characters that are not allowed."),
    ("name", "too_long"): lazy_gettext("The name is too long: at most 64 characters."),
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
METHOD_LABELS = {
    "two_elements": lazy_gettext("Check my name and ID number with the population registry"),
    "phone_three_elements": lazy_gettext("Check my phone number with my telecom operator"),
    "bank_card_four_elements": lazy_gettext("Check a bank card in my name"),
    "social_security": lazy_gettext("Check my social security account"),
    "housing_fund": lazy_gettext("Check my housing fund account"),
}
# What each way checks (docs/verification-levels.md), shown beside it with the level it gives.
METHOD_EXPLANATIONS = {
    "two_elements": lazy_gettext(
        "The population registry confirms that your name and ID number belong together. "
        "Nothing else to type."
    ),
    "phone_three_elements": lazy_gettext(
        "Your telecom operator confirms that your proven phone number is registered in your "
        "name. Nothing else to type."
    ),
    "bank_card_four_elements": lazy_gettext(
        "Your bank confirms that a card in your name goes with your ID number and phone number."
    ),
    "social_security": lazy_gettext(
        "The social security authority confirms that the account number is yours."
    ),
    "housing_fund": lazy_gettext(
        "The housing fund centre confirms that the account number is yours."
    ),
}
# The level each way reaches (idp.identity.levels.reached): the population registry gives
# L2; a second authority L3 (the registry is asked first when the account is below L2).
METHOD_LEVELS = {
    "two_elements": "L2",
    "phone_three_elements": "L3",
    "bank_card_four_elements": "L3",
    "social_security": "L3",
    "housing_fund": "L3",
}
ACCOUNT_NUMBER_PATTERN_LENGTH = (5, 32)


def message(field_name: str, code: str) -> str:
    """The message for a refused field (or the SMS code step), in the person's language."""
    text = MESSAGES.get((field_name, code))
    return str(text) if text is not None else _("Check this field.")


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

    def message_for(self, field_name: str, code: str) -> str:
        """The text of a refused field; forms with messages of their own override it."""
        return message(field_name, code)

    def fail(self, field_name: str, code: str, status: int = 400) -> None:
        self.errors[field_name] = self.message_for(field_name, code)
        self.status = status

    def refuse(self, problem: str, status: int) -> None:
        """A message about the whole form."""
        self.problem = problem
        self.status = status

    def throttled(self, seconds: int) -> None:
        """Too many failed identity verifications: the hourly limit's wait, in minutes."""
        self.refuse(
            _("Too many attempts. Try again in %(minutes)s minutes.", minutes=(seconds + 59) // 60),
            429,
        )


KEPT_FIELDS = ("name", "id_type", "id_number", "phone")


def kept_values(form: Mapping[str, str]) -> dict[str, str]:
    return {name: (form.get(name) or "")[:64] for name in KEPT_FIELDS}


# -- SMS codes ---------------------------------------------------------------------------------


def send_code(phone_raw: str, purpose: str, state: FormState) -> str | None:
    """The ``send_code`` button: an SMS code to ``phone_raw``. Returns the normalised phone."""
    phone = documents.normalize_phone(phone_raw or "")
    if phone is None:
        state.fail("phone", "required" if not (phone_raw or "").strip() else "format")
        return None
    try:
        result = services().sms.send(phone, purpose, request.remote_addr or "")
    except SmsUnavailable:
        state.refuse(_("The SMS could not be sent just now. Try again in a few minutes."), 503)
        return None
    if not result.sent:
        if result.refused == "resend_wait":
            problem = _(
                "A code was sent a moment ago. You can request another in %(seconds)s seconds.",
                seconds=result.wait_seconds,
            )
        else:
            problem = _(
                "Too many codes were requested. Try again in %(minutes)s minutes.",
                minutes=max(1, (result.wait_seconds + 59) // 60),
            )
        state.refuse(problem, 429)
        return None
    state.notice = _("A code was sent to %(phone)s.", phone=documents.mask_phone(phone))
    return phone


def typed_code() -> str:
    """The SMS code as typed in the form's ``sms_code`` field."""
    return (request.form.get("sms_code") or "").strip()


def check_code(phone: str, purpose: str, state: FormState) -> bool:
    """The form's ``sms_code`` is the code sent to ``phone`` for ``purpose`` (used once)."""
    code = typed_code()
    if not code:
        state.fail("sms_code", "required")
        return False
    outcome = services().sms.check(phone, purpose, code)
    if outcome != "ok":
        state.fail("sms_code", outcome)
        return False
    return True


# -- registration ------------------------------------------------------------------------------


@dataclass
class RegistrationOutcome:
    account: Account | None
    state: FormState


def _keep_code(state: FormState, keep: bool) -> None:
    """The typed SMS code is shown again after a refusal, unless it was wrong or is used up
    (issue 19: a person who mistyped another field should not have to ask for a new code)."""
    code = typed_code()[:16]
    if keep and code and "sms_code" not in state.errors:
        state.values["sms_code"] = code


def register(client_id: str | None = None) -> RegistrationOutcome:
    """Handle a POST of the registration form (both buttons); the rules are
    ``Registration.register_person``. ``client_id``: the portal whose login this is. What was
    typed is kept after a refusal, the agreement tick and an SMS code that was not wrong
    included; passwords never."""
    state = FormState(values=kept_values(request.form))
    if request.form.get("accept_agreement") == "yes":
        state.values["accept_agreement"] = "yes"
    action = request.form.get("action")
    if action == "send_code":
        # Cheap checks first (issue 17): no SMS for a name, an ID number or a phone that the
        # final submit would refuse anyway (a wrong check digit, say). A field not filled in
        # yet is asked for at the submit.
        today = documents.local_today(services().config.local_zone)
        checked = Application.from_form(request.form).validate_identity(today)
        problems = {name: code for name, code in checked.items() if code != "required"}
        for name, code in problems.items():
            state.fail(name, code)
        sent = not problems and send_code(request.form.get("phone", ""), "register", state)
        _keep_code(state, keep=not sent)  # a new code replaces the one typed before
        return RegistrationOutcome(None, state)
    if action != "register":
        state.refuse(_("Something is wrong with the form. Try again."), 400)
        return RegistrationOutcome(None, state)
    outcome = services().registration.register_person(
        Application.from_form(request.form),
        typed_code(),
        ip_address=request.remote_addr,
        user_agent=request.user_agent.string,
        client_id=client_id,
    )
    if outcome.retry_after:
        state.throttled(outcome.retry_after)
        _keep_code(state, keep=True)
        return RegistrationOutcome(None, state)
    for name, code in outcome.errors.items():
        state.fail(name, code, 409 if code == "taken" else 400)
    if outcome.account is None:
        _keep_code(state, keep=not outcome.code_used)
    state.recover = outcome.id_number_taken
    if outcome.existing_phone_masked:
        state.problem = _(
            "This ID number already has an account, registered with the phone number "
            "%(phone)s. Log in with it, or reset the password if you have forgotten it.",
            phone=outcome.existing_phone_masked,
        )
    if outcome.registry_unavailable:
        state.notice = _(
            "The population registry could not be reached: your identity is not verified yet. "
            "Try again later from your account."
        )
    return RegistrationOutcome(outcome.account, state)


def registration_context(state: FormState) -> dict[str, Any]:
    titles = [
        agreement_title(url.partition("#")[2], title)
        for title, url in services().agreements.links("natural_person")
    ]
    return {
        **state.context(),
        "values": state.values or {"id_type": "resident_id"},
        "id_types": [
            {"code": code, "label": label(ID_TYPE_LABELS, code)} for code in documents.ID_TYPES
        ],
        "agreements": titles,
        "recover_url": url_for("account.recover_page") if state.recover else None,
    }


# -- verification (step-up) --------------------------------------------------------------------


def verification_options(account: Account, target: str | None) -> list[dict[str, Any]]:
    """The checks that move this account towards ``target`` (or as far as it can go online),
    each with what it checks and the level it gives; the first, the recommended next step
    (nothing to type: the registry below L2, the telecom operator at L2), is ``primary``."""
    options = _verification_methods(account, target)
    for index, option in enumerate(options):
        option["level"] = METHOD_LEVELS[option["method"]]
        option["level_label"] = level_label(option["level"])
        option["explanation"] = str(METHOD_EXPLANATIONS[option["method"]])
        option["primary"] = index == 0
    return options


def _verification_methods(account: Account, target: str | None) -> list[dict[str, Any]]:
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
    """Handle a POST of the verification form (``method`` and, for some, one element field);
    the rules are ``Registration.verify_identity``."""
    state = FormState()
    method = request.form.get("method", "")
    allowed = {o["method"] for o in verification_options(account, target)}
    if method not in allowed:
        state.refuse(_("Choose one of the ways offered to verify your identity."), 400)
        return None, state
    extra, bad_field = _normalized_element(method)
    if bad_field:
        state.fail(bad_field, "format")
        return None, state
    outcome = services().registration.verify_identity(
        account, method, extra, ip_address=request.remote_addr
    )
    checked = outcome.checked
    if checked is None:
        state.throttled(outcome.retry_after)
        return None, state
    if checked.result == Result.UNAVAILABLE:
        state.refuse(
            _("The verification service is not available just now. Try again in a few minutes."),
            503,
        )
    elif checked.result == Result.NO_MATCH:
        state.refuse(
            _(
                "The authority could not confirm these details for you. Check them and try "
                "again, or choose another way."
            ),
            400,
        )
    elif checked.level_after == checked.level_before:
        state.notice = _(
            "Confirmed. Your verification level is still %(level)s.", level=checked.level_after
        )
    else:
        state.notice = _("Verified: your level is now %(level)s.", level=checked.level_after)
    return checked, state
