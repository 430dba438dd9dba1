"""One base for every refusal the provider explains to someone.

An :class:`IdpError` carries what an answer needs and nothing internal:

- ``code``: a stable, machine-readable name (``not_manager``, ``invalid_metadata``, ...);
- ``field``: the input it concerns, when there is one (a form field, a metadata member);
- ``public_message``: a text that is safe to show (or None: the code alone is told);
- ``status``: the HTTP status an answer with it takes.

The exception's own text (``str(error)``) may carry internal detail: it is logged, never shown.
The area errors (entities, agreements, administrators, portals, SMS, logout, configuration,
the ``idp`` command) derive from it, so the views (``idp.views.web``) and the command
(``idp.cli``) map every refusal in one place. Protocol errors stay Authlib's ``OAuth2Error``
classes (``idp.oauth.errors``), which carry their RFC code the same way.
"""

from __future__ import annotations


class IdpError(Exception):
    """A refusal with a code, an optional field and a public message."""

    code: str = "invalid_request"
    status: int = 400

    def __init__(
        self,
        code: str | None = None,
        *,
        field: str | None = None,
        public_message: str | None = None,
        status: int | None = None,
        detail: str | None = None,
    ) -> None:
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.field = field
        self.public_message = public_message
        super().__init__(detail or public_message or self.code)

    @property
    def message(self) -> str:
        """What may be shown: the public message, else the code."""
        return self.public_message or self.code
