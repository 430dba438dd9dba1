"""Labels shown on more than one page (the login's steps, the user space, the console), in the
person's language (Flask-Babel's lazy texts: translated when shown)."""

from __future__ import annotations

from collections.abc import Mapping

from flask_babel import get_locale, lazy_gettext
from flask_babel import gettext as _

from idp.identity.agreement_publishing import DEFAULT_LANGUAGE, REFERENCE_LANGUAGE, title_in
from idp.identity.material_checks import load_catalogue

# Scopes that release no claim of their own; claims are listed one by one.
SCOPE_DESCRIPTIONS = {
    "openid": lazy_gettext("Your identity (who you are)"),
    "offline_access": lazy_gettext("Keep you signed in (offline access)"),
    "materials": lazy_gettext("Receive the materials you choose below, each once"),
}
CLAIM_DESCRIPTIONS = {
    "sub": lazy_gettext("Your account identifier"),
    "username": lazy_gettext("Your username"),
    "name": lazy_gettext("Your real name"),
    "preferred_username": lazy_gettext("Your username"),
    "updated_at": lazy_gettext("When your profile was last updated"),
    "id_number": lazy_gettext("Your full identity document number"),
    "bank_card": lazy_gettext("Your bank card number"),
    "user_type": lazy_gettext("Whether you are a natural or a legal person"),
    "verification_level": lazy_gettext("How well your identity is verified (level)"),
    "verified_at": lazy_gettext("When your identity was last verified"),
    "phone_number": lazy_gettext("Your mobile phone number"),
    "phone_number_verified": lazy_gettext("Whether your phone number is proven"),
    "id_number_masked": lazy_gettext("Your ID number, partly hidden"),
    "address": lazy_gettext(
        "Your default delivery address (region, street address and postal code)"
    ),
    # A company login (scope ``entity``, ``idp.oauth.claims.COMPANY_CLAIMS``).
    "entity": lazy_gettext(
        "The company you act for: name, unified social credit code, type, region and level"
    ),
    "act": lazy_gettext(
        "Who acts for the company: your account identifier and level, and your name if shared"
    ),
    "delegation": lazy_gettext(
        "Your role and authorisation: grade, classes of matters, regions and expiry"
    ),
}
# Why a company cannot be chosen in a login (``idp.identity.entities.Option.reason``).
OPTION_REASONS = {
    "not_covered": lazy_gettext(
        "Your authorisation does not cover the matters this portal handles."
    ),
    "pending": lazy_gettext("You have not confirmed this authorisation yet (see My companies)."),
    "expired": lazy_gettext("Your authorisation has expired or is not yet valid."),
    "entity_inactive": lazy_gettext("The company's account is suspended."),
    "agreement": lazy_gettext(
        "The legal representative must first accept the updated legal-person agreement."
    ),
    "level": lazy_gettext(
        "Your identity must be verified to level L2 or above to act for a company."
    ),
}
ROLE_LABELS = {
    "legal_representative": lazy_gettext("Legal representative"),
    "administrator": lazy_gettext("Administrator"),
    "handler": lazy_gettext("Handler"),
}
GRADE_LABELS = {
    "view": lazy_gettext("View"),
    "apply": lazy_gettext("Apply"),
    "sign": lazy_gettext("Sign"),
}

# A person's real-name data (the user space, the console's account page, registration).
GRANT_STATUS_LABELS = {
    "pending": lazy_gettext("Awaiting the handler's confirmation"),
    "active": lazy_gettext("Active"),
    "expired": lazy_gettext("Expired"),
    "suspended": lazy_gettext("Suspended"),
    "revoked": lazy_gettext("Revoked"),
    "declined": lazy_gettext("Declined"),
}
ID_TYPE_LABELS = {
    "resident_id": lazy_gettext("Resident identity card"),
    "passport": lazy_gettext("Passport"),
}
USER_TYPE_LABELS = {
    "natural_person": lazy_gettext("Natural person"),
    "legal_person": lazy_gettext("Legal person (organisation)"),
}
ACCOUNT_STATUS_LABELS = {
    "active": lazy_gettext("Active"),
    "suspended": lazy_gettext("Suspended"),
}
# Verification levels (docs/verification-levels.md) and the evidence behind them.
LEVEL_LABELS = {
    "L0": lazy_gettext("L0: not verified"),
    "L1": lazy_gettext("L1: phone proven, identity declared"),
    "L2": lazy_gettext("L2: name and ID number verified with the population registry"),
    "L3": lazy_gettext("L3: verified with the registry and a second authority"),
    "L4": lazy_gettext("L4: verified in person at a service counter"),
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


def label(labels: Mapping[str, object], code: str) -> str:
    """The label of ``code`` in the person's language, or the code itself when it has none."""
    return str(labels.get(code, code))


# The material types (idp/data/material-types.json), for the materials pages, the consent page
# and the disclosure log's ``material:<type>`` entries.
MATERIAL_TYPES = load_catalogue()
MATERIAL_CLAIM_PREFIX = "material:"


def material_type_name(code: str) -> str:
    kind = MATERIAL_TYPES.get(code)
    return kind.name_in(str(get_locale() or "")) if kind else code


def describe_claim(name: str) -> str:
    if name.startswith(MATERIAL_CLAIM_PREFIX):
        kind = material_type_name(name.removeprefix(MATERIAL_CLAIM_PREFIX))
        return _("Material: %(type)s", type=kind)
    return label(CLAIM_DESCRIPTIONS, name)


def level_label(level: str) -> str:
    return label(LEVEL_LABELS, level)


def agreement_title(kind: str, title: str) -> str:
    """The title of agreement ``kind`` in the page's language (``title_in``): English pages
    show a shipped agreement's reference title, not the Chinese one."""
    english = str(get_locale()) == REFERENCE_LANGUAGE
    return title_in(kind, title, REFERENCE_LANGUAGE if english else DEFAULT_LANGUAGE)
