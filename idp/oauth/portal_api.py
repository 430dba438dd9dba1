"""The portal API: portals report matters and send messages with their own token
(issue 12, items 1 and 2; docs/user-space.md, "The portal API").

Who may do what, checked here in this order for every call:

1. the token (RFC 6750 2.1, ``Authorization: Bearer``): a live client-credentials token of the
   portal (``idp.oauth.portal_tokens``), else 401 ``invalid_token``; the scope the call needs
   (``matters:write`` or ``messages:send``), else 403 ``insufficient_scope`` (RFC 6750 3.1);
2. the portal's rate limits (``idp.store.portal_limits``): calls a minute, messages an hour
   (a batch counts each message, and is refused whole when it does not fit): 429;
3. the subject: the ``sub`` this portal sees (public or pairwise, ``idp.oauth.subjects``) of a
   person or company who logged in to this portal at least once (``portal_subjects``, written
   at each login's grant; for a public portal, a login recorded before that table existed
   counts too: a grant or a consent), else 404 ``unknown_subject``;
4. the matter's class: in the catalogue and served by the portal (``idp.identity.matters``);
   a matter is found only among the portal's own (another portal's is not this one's: 404).

Every refusal is a :class:`PortalApiError` with a stable ``code``, the ``field`` it concerns and
the HTTP status; nothing is stored by a refused call (one transaction per call).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists, or_, select

from idp.errors import IdpError
from idp.identity.matters import (
    MAX_NOTE_LENGTH,
    MAX_TITLE_LENGTH,
    MatterError,
    Matters,
    MatterView,
    portal_link,
    reference,
    text,
    timestamp,
)
from idp.identity.messages import MAX_BODY_LENGTH, Draft, Messages
from idp.identity.messages import MAX_TITLE_LENGTH as MAX_MESSAGE_TITLE_LENGTH
from idp.models import Account, Client, Consent, Grant, LegalEntity, PortalSubject
from idp.models.base import Database
from idp.models.matter import remember_subject
from idp.oauth.portal_tokens import PortalToken, PortalTokens
from idp.store.portal_limits import PortalLimits

MATTERS_SCOPE = "matters:write"
MESSAGES_SCOPE = "messages:send"
MAX_SUB_LENGTH = 64


class PortalApiError(IdpError):
    """A refused call. ``bearer`` is the RFC 6750 error for ``WWW-Authenticate`` (401/403 of
    the token), ``retry_after`` the seconds to wait (429), ``errors`` every field problem as
    ``(pointer, code, message)``."""

    def __init__(
        self,
        code: str,
        status: int,
        message: str,
        *,
        field: str | None = None,
        bearer: str | None = None,
        scope: str | None = None,
        retry_after: int | None = None,
        errors: Sequence[tuple[str, str, str]] = (),
    ) -> None:
        super().__init__(code, field=field, public_message=message, status=status)
        self.bearer = bearer
        self.scope = scope
        self.retry_after = retry_after
        self.errors = list(errors)


@dataclass(frozen=True)
class Subject:
    """Whom a call is about: a person (``account_id``) or a company (``entity_id``)."""

    account_id: str | None
    entity_id: str | None


def _field_error(exc: MatterError, prefix: str = "") -> PortalApiError:
    name = exc.field or ""
    pointer = f"{prefix}/{name}" if name else prefix
    return PortalApiError(
        exc.code,
        exc.status,
        f"{pointer.lstrip('/') or 'body'}: {exc.message}",
        field=name or None,
        errors=[(pointer, exc.code, exc.message)] if name else [],
    )


class PortalApi:
    def __init__(
        self,
        db: Database,
        tokens: PortalTokens,
        limits: PortalLimits,
        matters: Matters,
        messages: Messages,
        *,
        batch_max: int,
    ) -> None:
        self._db = db
        self._tokens = tokens
        self._limits = limits
        self._matters = matters
        self._messages = messages
        self.batch_max = batch_max

    # -- 1 and 2: the token and the limits ---------------------------------------------------
    def authenticate(self, authorization: str | None, scope: str) -> Client:
        scheme, _sep, value = (authorization or "").partition(" ")
        value = value.strip()
        if scheme.lower() != "bearer" or not value:
            raise PortalApiError(
                "invalid_request",
                401,
                "A portal access token is required (Authorization: Bearer), from the token "
                "endpoint with grant_type=client_credentials.",
                scope=scope,
            )
        token: PortalToken | None = self._tokens.find(value)
        if token is None:
            raise PortalApiError(
                "invalid_token",
                401,
                "The access token is unknown, expired, or its portal may no longer use it.",
                bearer="invalid_token",
                scope=scope,
            )
        if scope not in token.scopes:
            raise PortalApiError(
                "insufficient_scope",
                403,
                f"This call needs a token with the scope {scope}.",
                bearer="insufficient_scope",
                scope=scope,
            )
        wait = self._limits.take(token.client.client_id, "requests")
        if wait:
            raise PortalApiError(
                "rate_limited",
                429,
                "Too many calls from this portal: try again later.",
                retry_after=wait,
            )
        return token.client

    # -- 3: the subject ----------------------------------------------------------------------
    def subject(self, client: Client, sub: Any, *, pointer: str = "/sub") -> Subject:
        if not isinstance(sub, str) or not 1 <= len(sub) <= MAX_SUB_LENGTH:
            raise PortalApiError(
                "invalid",
                400,
                f"{pointer.lstrip('/')}: must be the sub this portal received at a login",
                field="sub",
                errors=[(pointer, "invalid", "must be the sub this portal received at a login")],
            )
        row = self._db.session.get(PortalSubject, (client.client_id, sub))
        if row is None and client.subject_type != "pairwise":
            row = self._public_login(client, sub)
        if row is None:
            message = "no person or company with this sub has logged in to this portal"
            raise PortalApiError(
                "unknown_subject",
                404,
                f"{pointer.lstrip('/')}: {message}",
                field="sub",
                errors=[(pointer, "unknown_subject", message)],
            )
        return Subject(row.account_id, row.entity_id)

    def _public_login(self, client: Client, sub: str) -> PortalSubject | None:
        """A public portal's login recorded before ``portal_subjects`` existed: the account
        (or company) whose own subject this is, with a grant or a consent for the portal."""
        session = self._db.session
        account_id = session.scalar(
            select(Account.id).where(
                Account.subject == sub,
                or_(
                    exists().where(
                        Grant.account_id == Account.id, Grant.client_id == client.client_id
                    ),
                    exists().where(
                        Consent.account_id == Account.id, Consent.client_id == client.client_id
                    ),
                ),
            )
        )
        entity_id = None
        if account_id is None:
            entity_id = session.scalar(
                select(LegalEntity.id).where(
                    LegalEntity.subject == sub,
                    exists().where(
                        Grant.entity_id == LegalEntity.id, Grant.client_id == client.client_id
                    ),
                )
            )
            if entity_id is None:
                return None
        row = PortalSubject(
            client_id=client.client_id, subject=sub, account_id=account_id, entity_id=entity_id
        )
        with self._db.transaction() as transaction:
            remember_subject(transaction, row)
        return row

    # -- matters -----------------------------------------------------------------------------
    def report_matter(self, client: Client, body: dict[str, Any]) -> tuple[MatterView, bool]:
        unknown = sorted(set(body) - {"sub", "id", "matter_class", "title", "submitted_at", "link"})
        if unknown:
            raise self._unknown_fields(unknown)
        try:
            portal_reference = reference(body.get("id"))
            title = text(body.get("title"), "title", MAX_TITLE_LENGTH)
            submitted_at = timestamp(body.get("submitted_at"), "submitted_at")
            link = portal_link(body.get("link"), client)
            who = self.subject(client, body.get("sub"))
            matter_class = self._matters.check_class(client, body.get("matter_class"))
            assert title is not None
            return self._matters.report(
                client,
                portal_reference=portal_reference,
                account_id=who.account_id,
                entity_id=who.entity_id,
                matter_class=matter_class,
                title=title,
                submitted_at=submitted_at,
                link=link,
            )
        except MatterError as exc:
            raise _field_error(exc) from None

    def matter(self, client: Client, portal_reference: str) -> MatterView:
        matter = self._matters.portal_matter(client.client_id, portal_reference)
        if matter is None:
            raise self._no_matter()
        return self._matters.view(matter)

    def add_step(
        self, client: Client, portal_reference: str, body: dict[str, Any]
    ) -> tuple[MatterView, bool]:
        unknown = sorted(set(body) - {"status", "time", "note", "link"})
        if unknown:
            raise self._unknown_fields(unknown)
        try:
            occurred_at = timestamp(body.get("time"), "time")
            note = text(body.get("note"), "note", MAX_NOTE_LENGTH, required=False)
            link = portal_link(body.get("link"), client)
            status = body.get("status")
            return self._matters.add_step(
                client,
                portal_reference,
                status=status if isinstance(status, str) else "",
                occurred_at=occurred_at,
                note=note,
                link=link,
            )
        except MatterError as exc:
            if exc.code == "matter_not_found":
                raise self._no_matter() from None
            raise _field_error(exc) from None

    @staticmethod
    def _no_matter() -> PortalApiError:
        return PortalApiError(
            "matter_not_found",
            404,
            "This portal reported no matter with this id (a matter is only its own portal's).",
        )

    # -- messages ----------------------------------------------------------------------------
    def send_messages(self, client: Client, body: dict[str, Any]) -> tuple[list[str | None], bool]:
        """One message (``sub``, ``title``, ...) or a batch (``messages``: a list of them), in
        one transaction; ``True`` when it was a batch."""
        batch = "messages" in body
        if batch:
            if set(body) != {"messages"}:
                raise self._unknown_fields(sorted(set(body) - {"messages"}))
            items = body["messages"]
            if not isinstance(items, list) or not items:
                raise PortalApiError(
                    "invalid",
                    400,
                    "messages: must be a non-empty list of messages",
                    field="messages",
                    errors=[("/messages", "invalid", "must be a non-empty list of messages")],
                )
            if len(items) > self.batch_max:
                raise PortalApiError(
                    "too_many_messages",
                    413,
                    f"A request may carry at most {self.batch_max} messages; this one carries "
                    f"{len(items)}. Nothing was stored.",
                    field="messages",
                )
        else:
            items = [body]
        drafts = [
            self._draft(client, item, f"/messages/{index}" if batch else "")
            for index, item in enumerate(items)
        ]
        wait = self._limits.take(client.client_id, "messages", len(items))
        if wait:
            raise PortalApiError(
                "rate_limited",
                429,
                f"This portal may not send {len(items)} more messages now: try again later. "
                "Nothing was stored.",
                retry_after=wait,
            )
        return self._messages.send_from_portal(client.client_id, drafts), batch

    def _draft(self, client: Client, item: Any, prefix: str) -> Draft:
        if not isinstance(item, dict):
            raise PortalApiError(
                "invalid",
                400,
                f"{prefix.lstrip('/') or 'body'}: must be a JSON object",
                errors=[(prefix, "invalid", "must be a JSON object")],
            )
        unknown = sorted(set(item) - {"sub", "title", "body", "link", "matter"})
        if unknown:
            raise self._unknown_fields(unknown, prefix)
        try:
            title = text(item.get("title"), "title", MAX_MESSAGE_TITLE_LENGTH)
            body_text = text(item.get("body"), "body", MAX_BODY_LENGTH)
            link = portal_link(item.get("link"), client)
        except MatterError as exc:
            raise _field_error(exc, prefix) from None
        who = self.subject(client, item.get("sub"), pointer=f"{prefix}/sub")
        if who.account_id is None:
            message = "messages go to a person: this sub is a company's"
            raise PortalApiError(
                "not_a_person",
                400,
                f"{prefix.lstrip('/')}/sub: {message}".lstrip("/"),
                field="sub",
                errors=[(f"{prefix}/sub", "not_a_person", message)],
            )
        matter_id = None
        if item.get("matter") is not None:
            try:
                matter_ref = reference(item.get("matter"), "matter")
            except MatterError as exc:
                raise _field_error(exc, prefix) from None
            matter = self._matters.portal_matter(client.client_id, matter_ref)
            if matter is None or matter.account_id != who.account_id:
                message = "this portal reported no matter with this id for this person"
                raise PortalApiError(
                    "matter_not_found",
                    404,
                    f"{prefix.lstrip('/')}/matter: {message}".lstrip("/"),
                    field="matter",
                    errors=[(f"{prefix}/matter", "matter_not_found", message)],
                )
            matter_id = matter.id
        assert title is not None and body_text is not None
        return Draft(who.account_id, title, body_text, link=link, matter_id=matter_id)

    @staticmethod
    def _unknown_fields(names: list[str], prefix: str = "") -> PortalApiError:
        return PortalApiError(
            "unknown_field",
            400,
            "Unknown member(s): " + ", ".join(n[:40] for n in names),
            errors=[
                (f"{prefix}/{name[:40]}", "unknown_field", "is not a member here") for name in names
            ],
        )
