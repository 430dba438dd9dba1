"""Labels shown on more than one page (the login's steps, the user space, the console), in the
person's language (Flask-Babel's lazy texts: translated when shown)."""

from __future__ import annotations

from flask_babel import lazy_gettext

# Scopes that release no claim of their own; claims are listed one by one.
SCOPE_DESCRIPTIONS = {
    "openid": lazy_gettext("Your identity (who you are)"),
    "offline_access": lazy_gettext("Keep you signed in (offline access)"),
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


def describe_claim(name: str) -> str:
    return str(CLAIM_DESCRIPTIONS.get(name, name))
