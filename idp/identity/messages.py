"""Messages (消息): what portals, the authority and the provider push to a person
(natural-person agreement clause 4(4); issue 12, item 2; docs/user-space.md).

- Portals send with their own token (``idp.oauth.portal_api``: scope ``messages:send``, only to
  people who logged in to them); the authority from the console and the admin API; the
  provider itself through :meth:`Messages.notify` (a new login, a changed password).
- Clause 4(4) is a consent: the person may turn off a portal's (or the authority's)
  non-essential messages, and turn them on again; each choice is recorded
  (``message_preferences``) and audited (``message_consent_withdrawn`` / ``_given``), as other
  consents are. Essential notices (agreement changes, suspension, security events) always
  arrive. A portal's message is never essential; one that the person turned off is not
  stored at all (the portal is told ``declined``).
- A batch is one transaction: every message is stored, or (a refusal) none.
- Titles, bodies and notice parameters are sealed (``PersonalData``). The unread count is one
  indexed ``COUNT`` (``ix_messages_account_read``), shown on every account page.
- Everything goes with the account (cancellation: ``ON DELETE CASCADE``); :meth:`export` is the
  person's copy (PIPL article 45).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, func, select, update

from idp.errors import IdpError
from idp.identity.audit import Audit
from idp.identity.audit import event as audit_event
from idp.identity.matters import MAX_LINK_LENGTH, MatterError, text
from idp.identity.personal_data import PersonalData
from idp.models import Message, MessagePreference
from idp.models.base import Database, new_id, utcnow
from idp.models.message import AUTHORITY

log = logging.getLogger(__name__)

MAX_TITLE_LENGTH = 120
MAX_BODY_LENGTH = 4000
PAGE_SIZE = 50
# The provider's own notices: always essential (security events, agreements, suspension).
NOTICE_KINDS = frozenset(
    {
        "new_login",
        "password_changed",
        "agreement_changed",
        "account_suspended",
        # Second factors (idp.identity.factors): each change is a security event.
        "second_factor_enrolled",
        "second_factor_removed",
        "recovery_codes_regenerated",
        "second_factors_reset",
    }
)


@dataclass(frozen=True)
class Draft:
    """One message to store: to whom, what, and where it links."""

    account_id: str
    title: str
    body: str
    link: str | None = None
    matter_id: str | None = None


class MessageError(IdpError):
    """A message refused for its content: ``field`` says which member."""


def authority_draft(account_id: str, title: Any, body: Any, link: Any) -> Draft:
    """The authority's message checked: a title and a body (no control characters but
    newlines in the body), an optional https link."""
    try:
        title_text = text(title, "title", MAX_TITLE_LENGTH)
        body_text = text(body, "note", MAX_BODY_LENGTH)
    except MatterError as exc:
        field = "body" if exc.field == "note" else exc.field
        raise MessageError(exc.code, field=field, public_message=exc.message) from None
    if link is not None and (
        not isinstance(link, str)
        or len(link) > MAX_LINK_LENGTH
        or not link.isprintable()
        or urlsplit(link).scheme != "https"
        or not urlsplit(link).hostname
    ):
        raise MessageError("invalid", field="link", public_message="must be an https URL")
    assert title_text is not None and body_text is not None
    return Draft(account_id, title_text, body_text, link=link)


@dataclass(frozen=True)
class InboxItem:
    """A message opened for its reader."""

    id: str
    sender: str
    client_id: str | None
    kind: str
    essential: bool
    title: str | None
    body: str | None
    params: dict[str, Any]
    link: str | None
    matter_id: str | None
    created_at: datetime
    read_at: datetime | None

    @property
    def unread(self) -> bool:
        return self.read_at is None


class Messages:
    def __init__(self, db: Database, personal_data: PersonalData, audit: Audit) -> None:
        self._db = db
        self._pd = personal_data
        self._audit = audit

    # -- sending -----------------------------------------------------------------------------
    def send_from_portal(self, client_id: str, drafts: Sequence[Draft]) -> list[str | None]:
        """Store the portal's messages in one transaction; each answer is the message id, or
        None when its person turned this portal's non-essential messages off (not stored)."""
        declined = self._declined(client_id, {d.account_id for d in drafts})
        ids: list[str | None] = []
        with self._db.transaction() as session:
            for draft in drafts:
                if draft.account_id in declined:
                    ids.append(None)
                    continue
                message = self._row(draft, sender="portal", client_id=client_id, essential=False)
                session.add(message)
                ids.append(message.id)
        return ids

    def send_from_authority(
        self,
        draft: Draft,
        *,
        essential: bool,
        actor: str,
        via: str,
        ip_address: str | None = None,
        reason: str | None = None,
    ) -> str | None:
        """The authority's message (console or admin API), audited with who sent it; a
        non-essential one respects the person's choice (None: declined, not stored)."""
        if not essential and draft.account_id in self._declined(AUTHORITY, {draft.account_id}):
            return None
        with self._db.transaction() as session:
            message = self._row(draft, sender="authority", client_id=None, essential=essential)
            session.add(message)
            session.add(
                audit_event(
                    "message_sent",
                    actor=actor,
                    account_id=draft.account_id,
                    ip_address=ip_address,
                    details={
                        "message_id": message.id,
                        "essential": essential,
                        "via": via,
                        **({"reason": reason} if reason else {}),
                    },
                )
            )
        return message.id

    def notify(self, account_id: str, kind: str, **params: Any) -> str:
        """The provider's own notice (``new_login``, ``password_changed``, ...): essential, so
        it always arrives; worded when shown, in the reader's language. One INSERT."""
        if kind not in NOTICE_KINDS:
            raise ValueError(f"unknown notice kind {kind!r}")
        params.setdefault("time", utcnow().isoformat(timespec="seconds"))
        message = Message(
            id=new_id(),
            account_id=account_id,
            sender="provider",
            kind=kind,
            essential=True,
            created_at=utcnow(),
        )
        message.params_sealed = self._pd.seal(
            json.dumps(params, separators=(",", ":"), default=str),
            message.context("params_sealed"),
        )
        with self._db.transaction() as session:
            session.add(message)
        return message.id

    def _row(self, draft: Draft, *, sender: str, client_id: str | None, essential: bool) -> Message:
        message = Message(
            id=new_id(),
            account_id=draft.account_id,
            sender=sender,
            client_id=client_id,
            kind="message",
            essential=essential,
            link=draft.link,
            matter_id=draft.matter_id,
            created_at=utcnow(),
        )
        message.title_sealed = self._pd.seal(draft.title, message.context("title_sealed"))
        message.body_sealed = self._pd.seal(draft.body, message.context("body_sealed"))
        return message

    def _declined(self, client_id: str, account_ids: set[str]) -> set[str]:
        if not account_ids:
            return set()
        return set(
            self._db.session.scalars(
                select(MessagePreference.account_id).where(
                    MessagePreference.client_id == client_id,
                    MessagePreference.account_id.in_(account_ids),
                    MessagePreference.non_essential.is_(False),
                )
            )
        )

    # -- the inbox ---------------------------------------------------------------------------
    def unread_count(self, account_id: str) -> int:
        """One indexed COUNT (``ix_messages_account_read``)."""
        return int(
            self._db.session.scalar(
                select(func.count())
                .select_from(Message)
                .where(Message.account_id == account_id, Message.read_at.is_(None))
            )
            or 0
        )

    def inbox(
        self, account_id: str, *, unread_only: bool = False, offset: int = 0, limit: int = PAGE_SIZE
    ) -> list[InboxItem]:
        query = select(Message).where(Message.account_id == account_id)
        if unread_only:
            query = query.where(Message.read_at.is_(None))
        query = query.order_by(Message.created_at.desc(), Message.id).offset(offset).limit(limit)
        return [self._open(row) for row in self._db.session.scalars(query)]

    def count(self, account_id: str) -> int:
        return int(
            self._db.session.scalar(
                select(func.count()).select_from(Message).where(Message.account_id == account_id)
            )
            or 0
        )

    def find(self, account_id: str, message_id: str) -> InboxItem | None:
        row = self._db.session.get(Message, message_id) if len(message_id) <= 36 else None
        if row is None or row.account_id != account_id:
            return None
        return self._open(row)

    def mark(self, account_id: str, message_id: str, *, read: bool) -> bool:
        """Read or unread again; only the person's own message."""
        with self._db.transaction() as session:
            result = session.execute(
                update(Message)
                .where(Message.id == message_id, Message.account_id == account_id)
                .values(read_at=utcnow() if read else None)
            )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def mark_all_read(self, account_id: str) -> int:
        with self._db.transaction() as session:
            result = session.execute(
                update(Message)
                .where(Message.account_id == account_id, Message.read_at.is_(None))
                .values(read_at=utcnow())
            )
        return int(result.rowcount)  # type: ignore[attr-defined]

    def delete(self, account_id: str, message_id: str) -> bool:
        with self._db.transaction() as session:
            result = session.execute(
                delete(Message).where(Message.id == message_id, Message.account_id == account_id)
            )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    # -- clause 4(4): the person's choice ----------------------------------------------------
    def preferences(self, account_id: str) -> dict[str, bool]:
        """Sender (a client_id, or ``""`` for the authority) -> non-essential messages on."""
        rows = self._db.session.execute(
            select(MessagePreference.client_id, MessagePreference.non_essential).where(
                MessagePreference.account_id == account_id
            )
        )
        return {client_id: allowed for client_id, allowed in rows}

    def choose(
        self, account_id: str, client_id: str, *, allowed: bool, ip_address: str | None = None
    ) -> bool:
        """Turn a sender's non-essential messages off (the clause 4(4) consent withdrawn) or
        on again (given); recorded and audited in one transaction. False: nothing changed."""
        with self._db.transaction() as session:
            row = session.get(MessagePreference, (account_id, client_id))
            current = True if row is None else row.non_essential
            if current == allowed:
                return False
            if row is None:
                row = MessagePreference(account_id=account_id, client_id=client_id)
                session.add(row)
            row.non_essential = allowed
            row.updated_at = utcnow()
            session.add(
                audit_event(
                    "message_consent_given" if allowed else "message_consent_withdrawn",
                    actor=account_id,
                    account_id=account_id,
                    client_id=client_id or None,
                    ip_address=ip_address,
                    details={"sender": "portal" if client_id else "authority"},
                )
            )
        return True

    # -- the person's copy -------------------------------------------------------------------
    def export(self, account_id: str) -> dict[str, Any]:
        """PIPL article 45: every message, decrypted, and the choices, JSON-ready."""
        rows = self._db.session.scalars(
            select(Message)
            .where(Message.account_id == account_id)
            .order_by(Message.created_at.desc())
        )
        return {
            "messages": [
                {
                    "sender": item.sender,
                    "portal": item.client_id,
                    "kind": item.kind,
                    "essential": item.essential,
                    "title": item.title,
                    "body": item.body,
                    "params": item.params,
                    "link": item.link,
                    "matter_id": item.matter_id,
                    "created_at": item.created_at.isoformat(),
                    "read_at": item.read_at.isoformat() if item.read_at else None,
                }
                for item in map(self._open, rows)
            ],
            "message_preferences": [
                {"sender": client_id or "authority", "non_essential_messages": allowed}
                for client_id, allowed in sorted(self.preferences(account_id).items())
            ],
        }

    def _open(self, row: Message) -> InboxItem:
        params_text = self._pd.open_optional(row.params_sealed, row.context("params_sealed"))
        return InboxItem(
            id=row.id,
            sender=row.sender,
            client_id=row.client_id,
            kind=row.kind,
            essential=row.essential,
            title=self._pd.open_optional(row.title_sealed, row.context("title_sealed")),
            body=self._pd.open_optional(row.body_sealed, row.context("body_sealed")),
            params=json.loads(params_text) if params_text else {},
            link=row.link,
            matter_id=row.matter_id,
            created_at=row.created_at,
            read_at=row.read_at,
        )
