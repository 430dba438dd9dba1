"""Matters (办件): the progress portals report of what a person or a company applied for
(natural-person agreement clause 3; issue 12, item 1; docs/user-space.md).

The rules, apart from who may report (``idp.oauth.portal_api`` checks the portal's token, the
subject and its login, and the rate limits):

- a matter is the portal's: ``(portal, portal_reference)`` names it, and reporting it again
  with the same subject and class is idempotent (the existing one is answered, unchanged);
  the same reference for another subject or class is a conflict;
- its class must be an active class of the catalogue (``matter_classes``, ``idp matters``)
  that the portal serves (``Client.matters``, hierarchical: ``tax`` covers ``tax.declaration``);
- a step (received, accepted, supplement requested, decided, closed) is appended with the time
  the portal gives; the same status at the same time is the same step (a retry adds nothing);
  nothing follows ``closed``; the matter's status is its latest step's;
- titles and notes are sealed (``PersonalData``); links are https, on a host of the portal's
  redirect URIs (the person is sent back to the portal, never elsewhere);
- each change is one transaction. The person's matters go with their account (cancellation:
  ``ON DELETE CASCADE``; the portal keeps its own record). :meth:`Matters.export` is the
  person's copy (PIPL article 45).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from idp.errors import IdpError
from idp.identity.delegation import matters_cover
from idp.identity.personal_data import PersonalData
from idp.models import Client, Matter, MatterClass, MatterStep
from idp.models.base import Database, new_id, utcnow
from idp.models.matter import MATTER_STATUSES

MAX_REFERENCE_LENGTH = 128
MAX_TITLE_LENGTH = 200
MAX_NOTE_LENGTH = 1000
MAX_LINK_LENGTH = 2000
CLOSED = "closed"
PAGE_SIZE = 50


class MatterError(IdpError):
    """A refused report: ``code`` and ``field`` say what, ``status`` how to answer."""


@dataclass(frozen=True)
class Step:
    status: str
    occurred_at: datetime
    note: str | None
    link: str | None


@dataclass(frozen=True)
class MatterView:
    """A matter opened for its owner (title and notes decrypted)."""

    id: str
    client_id: str
    portal_reference: str
    matter_class: str
    title: str
    status: str
    link: str | None
    submitted_at: datetime
    updated_at: datetime
    steps: list[Step] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.portal_reference,
            "matter_class": self.matter_class,
            "title": self.title,
            "status": self.status,
            "link": self.link,
            "submitted_at": self.submitted_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "steps": [
                {
                    "status": step.status,
                    "time": step.occurred_at.isoformat(),
                    "note": step.note,
                    "link": step.link,
                }
                for step in self.steps
            ],
        }


def text(value: Any, name: str, maximum: int, *, required: bool = True) -> str | None:
    """A trimmed text without control characters (newlines allowed in notes only)."""
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise MatterError("invalid", field=name, public_message="must be a non-empty string")
    value = value.replace("\r\n", "\n").strip()
    if len(value) > maximum:
        raise MatterError(
            "invalid", field=name, public_message=f"must be at most {maximum} characters"
        )
    allowed = "\n" if name == "note" else ""
    if any(not ch.isprintable() and ch not in allowed for ch in value):
        raise MatterError("invalid", field=name, public_message="must not hold control characters")
    return value


def reference(value: Any, name: str = "id") -> str:
    """The portal's own id of a matter: printable ASCII, no spaces."""
    if (
        not isinstance(value, str)
        or not 1 <= len(value) <= MAX_REFERENCE_LENGTH
        or not all("!" <= ch <= "~" for ch in value)
    ):
        raise MatterError(
            "invalid",
            field=name,
            public_message=f"must be 1 to {MAX_REFERENCE_LENGTH} printable ASCII characters",
        )
    return value


def timestamp(value: Any, name: str) -> datetime:
    """An RFC 3339 date-time with its offset, not in the future (a minute of clock skew)."""
    if not isinstance(value, str) or len(value) > 40:
        raise MatterError("invalid", field=name, public_message="must be an RFC 3339 date-time")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise MatterError(
            "invalid", field=name, public_message="must be an RFC 3339 date-time with an offset"
        )
    if parsed.year < 2000 or (parsed - utcnow()).total_seconds() > 60:
        raise MatterError("invalid", field=name, public_message="must not be in the future")
    return parsed


LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


def portal_link(value: Any, client: Client, name: str = "link") -> str | None:
    """An https link back to the portal: a host of its redirect URIs. A portal registered with
    an http loopback redirect URI (development: RFC 8252 7.3) may link to that host over http."""
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_LINK_LENGTH or not value.isprintable():
        raise MatterError("invalid", field=name, public_message="must be an https URL")
    parts = urlsplit(value)
    hosts = {urlsplit(uri).hostname for uri in client.redirect_uris}
    loopback = {
        urlsplit(uri).hostname
        for uri in client.redirect_uris
        if urlsplit(uri).scheme == "http" and urlsplit(uri).hostname in LOOPBACK_HOSTS
    }
    secure = parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in loopback)
    if not secure or not parts.hostname or parts.username or parts.password:
        raise MatterError("invalid", field=name, public_message="must be an https URL")
    if parts.hostname not in hosts:
        raise MatterError(
            "invalid",
            field=name,
            public_message="must lead to the portal (a host of its redirect URIs)",
        )
    return value


class Matters:
    def __init__(self, db: Database, personal_data: PersonalData) -> None:
        self._db = db
        self._pd = personal_data

    # -- what portals report -----------------------------------------------------------------
    def check_class(self, client: Client, matter_class: Any) -> str:
        if not isinstance(matter_class, str) or not matter_class or len(matter_class) > 64:
            raise MatterError("invalid", field="matter_class", public_message="must be a code")
        entry = self._db.session.get(MatterClass, matter_class)
        if entry is None or not entry.active:
            raise MatterError(
                "unknown_matter_class",
                field="matter_class",
                public_message="is not an active class of the catalogue of matters",
            )
        if not matters_cover(client.matters, [matter_class]):
            raise MatterError(
                "matter_class_not_served",
                field="matter_class",
                public_message="is not a class of matters this portal is registered for",
                status=403,
            )
        return matter_class

    def report(
        self,
        client: Client,
        *,
        portal_reference: str,
        account_id: str | None,
        entity_id: str | None,
        matter_class: str,
        title: str,
        submitted_at: datetime,
        link: str | None,
    ) -> tuple[MatterView, bool]:
        """A new matter, or the one the portal already reported under this id (``False``)."""
        existing = self._by_reference(client.client_id, portal_reference)
        if existing is None:
            try:
                with self._db.transaction() as session:
                    matter = Matter(
                        id=new_id(),
                        client_id=client.client_id,
                        portal_reference=portal_reference,
                        account_id=account_id,
                        entity_id=entity_id,
                        matter_class=matter_class,
                        link=link,
                        status="received",
                        submitted_at=submitted_at,
                        updated_at=utcnow(),
                    )
                    matter.title_sealed = self._pd.seal(title, matter.context("title_sealed"))
                    session.add(matter)
                return self._view(matter), True
            except IntegrityError:
                # The same report twice at once: the other one stored it.
                existing = self._by_reference(client.client_id, portal_reference)
                if existing is None:
                    raise
        if (
            existing.account_id != account_id
            or existing.entity_id != entity_id
            or existing.matter_class != matter_class
        ):
            raise MatterError(
                "matter_conflict",
                field="id",
                public_message="this portal already reported a matter with this id for "
                "another subject or class",
                status=409,
            )
        return self._view(existing), False

    def add_step(
        self,
        client: Client,
        portal_reference: str,
        *,
        status: str,
        occurred_at: datetime,
        note: str | None,
        link: str | None,
    ) -> tuple[MatterView, bool]:
        """Append a step to one of this portal's matters; ``False`` when it was there already."""
        if status not in MATTER_STATUSES:
            raise MatterError(
                "invalid",
                field="status",
                public_message=f"must be one of: {', '.join(MATTER_STATUSES)}",
            )
        matter = self._by_reference(client.client_id, portal_reference)
        if matter is None:
            raise MatterError(
                "matter_not_found",
                public_message="this portal reported no matter with this id",
                status=404,
            )
        for step in matter.steps:
            if step.status == status and step.occurred_at == occurred_at:
                return self._view(matter), False
        if matter.status == CLOSED:
            raise MatterError(
                "matter_closed",
                field="status",
                public_message="the matter is closed: nothing follows its closing step",
                status=409,
            )
        try:
            with self._db.transaction() as session:
                row = session.get(Matter, matter.id)
                assert row is not None
                step = MatterStep(
                    id=new_id(), matter_id=row.id, status=status, occurred_at=occurred_at, link=link
                )
                if note is not None:
                    step.note_sealed = self._pd.seal(note, step.context("note_sealed"))
                session.add(step)
                latest = max((s.occurred_at for s in row.steps if s is not step), default=None)
                if latest is None or occurred_at >= latest:
                    row.status = status
                    if link is not None:
                        row.link = link
                row.updated_at = utcnow()
        except IntegrityError:
            pass  # the same step twice at once: the other one stored it
        self._db.session.expire_all()
        refreshed = self._by_reference(client.client_id, portal_reference)
        assert refreshed is not None
        return self._view(refreshed), True

    def portal_matter(self, client_id: str, portal_reference: str) -> Matter | None:
        return self._by_reference(client_id, portal_reference)

    def _by_reference(self, client_id: str, portal_reference: str) -> Matter | None:
        return self._db.session.scalar(
            select(Matter).where(
                Matter.client_id == client_id, Matter.portal_reference == portal_reference
            )
        )

    # -- what the person (or the company) sees -----------------------------------------------
    def of_account(
        self,
        account_id: str,
        *,
        client_id: str | None = None,
        status: str | None = None,
        offset: int = 0,
        limit: int = PAGE_SIZE,
    ) -> list[MatterView]:
        """The person's matters across portals, newest first (by submission)."""
        query = select(Matter).where(Matter.account_id == account_id)
        return self._listing(query, client_id, status, offset, limit)

    def of_entity(
        self, entity_id: str, *, offset: int = 0, limit: int = PAGE_SIZE
    ) -> list[MatterView]:
        query = select(Matter).where(Matter.entity_id == entity_id)
        return self._listing(query, None, None, offset, limit)

    def portals_of(self, account_id: str) -> list[str]:
        """The portals that reported matters of the person (the filter's choices)."""
        return list(
            self._db.session.scalars(
                select(Matter.client_id).where(Matter.account_id == account_id).distinct()
            )
        )

    def count_of(self, account_id: str) -> int:
        return int(
            self._db.session.scalar(
                select(func.count()).select_from(Matter).where(Matter.account_id == account_id)
            )
            or 0
        )

    def _listing(
        self, query: Any, client_id: str | None, status: str | None, offset: int, limit: int
    ) -> list[MatterView]:
        if client_id:
            query = query.where(Matter.client_id == client_id)
        if status:
            query = query.where(Matter.status == status)
        query = query.order_by(Matter.submitted_at.desc(), Matter.id).offset(offset).limit(limit)
        return [self._view(matter) for matter in self._db.session.scalars(query)]

    def find_of_account(self, account_id: str, matter_id: str) -> MatterView | None:
        matter = self._db.session.get(Matter, matter_id)
        if matter is None or matter.account_id != account_id:
            return None
        return self._view(matter)

    def export(self, account_id: str) -> dict[str, Any]:
        """PIPL article 45: the person's matters, decrypted, JSON-ready."""
        rows = self._db.session.scalars(
            select(Matter)
            .where(Matter.account_id == account_id)
            .order_by(Matter.submitted_at.desc())
        )
        return {
            "matters": [
                {"portal": matter.client_id, **self._view(matter).as_dict()} for matter in rows
            ]
        }

    def view(self, matter: Matter) -> MatterView:
        """A matter opened (for its portal, its person or its company)."""
        return self._view(matter)

    def _view(self, matter: Matter) -> MatterView:
        return MatterView(
            id=matter.id,
            client_id=matter.client_id,
            portal_reference=matter.portal_reference,
            matter_class=matter.matter_class,
            title=self._pd.open(matter.title_sealed, matter.context("title_sealed")),
            status=matter.status,
            link=matter.link,
            submitted_at=matter.submitted_at,
            updated_at=matter.updated_at,
            steps=[
                Step(
                    status=step.status,
                    occurred_at=step.occurred_at,
                    note=self._pd.open_optional(step.note_sealed, step.context("note_sealed")),
                    link=step.link,
                )
                for step in matter.steps
            ],
        )
