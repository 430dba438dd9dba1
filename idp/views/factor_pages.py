"""What the second-factor pages share (the login's ``second_factor`` step and the user space's
``/account/security/...`` pages): the one script of the provider, and the messages of a refused
code or passkey.

The pages work without JavaScript for codes; a passkey needs the Web Authentication API, so
the passkey forms are enhanced by ``templates/partials/webauthn_script.html``: the options
come in a ``<script type="application/json">`` data block, the script runs the ceremony and
posts the result in the form's hidden ``credential`` field (no ``fetch``: the form posts as any
other, with its CSRF token). The Content-Security-Policy allows that script by its nonce, on
these pages only (``g.script_allowed``, ``idp.views.web``).
"""

from __future__ import annotations

from flask import g
from flask_babel import gettext as _
from markupsafe import Markup

from idp.identity.factors import MAX_CREDENTIAL_LENGTH, MAX_NAME_LENGTH, Check

MAX_CODE_LENGTH = 64

__all__ = [
    "MAX_CODE_LENGTH",
    "MAX_CREDENTIAL_LENGTH",
    "MAX_NAME_LENGTH",
    "allow_script",
    "options_block",
    "refusal",
]


def allow_script() -> None:
    """This page runs the passkey script (its nonce in the CSP ``script-src``)."""
    g.script_allowed = True


def refusal(check: Check | None, failure: str | None = None) -> str:
    """The message for a code or passkey that was not accepted."""
    failure = failure or (check.failure if check is not None else None) or "wrong"
    if failure == "throttled":
        wait = check.wait_seconds if check is not None else 0
        return _("Too many failed attempts. Try again in %(seconds)s seconds.", seconds=wait or 60)
    if failure == "invalid":
        return _("The form has expired. Try again.")
    if failure == "passkey":
        return _("The passkey was not accepted. Try again.")
    return _("The code is not correct, or was already used.")


def options_block(options: str | None) -> Markup | None:
    """WebAuthn options JSON, safe inside a ``<script type="application/json">`` element
    (``<``, ``>`` and ``&`` escaped as JSON unicode escapes)."""
    if options is None:
        return None
    text = options.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)  # noqa: S704 - escaped above, JSON only
