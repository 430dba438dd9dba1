"""Bringing a database to the current schema, with what the provider needs from its first day.

``idp db upgrade`` runs this: the Alembic migrations (``idp.models.migrate``; they may seal
values, so they get the data keys), version 1 of the two shipped registration agreements where
no version exists yet (``idp.identity.agreements.ensure_seeded``: registration is valid only on
acceptance of the current agreement, so one must exist), and the head of the disclosure hash
chain (``idp.identity.disclosures.ensure_head``). Running it again changes nothing.
"""

from __future__ import annotations

from idp.identity import agreements, disclosures
from idp.identity.personal_data import PersonalData
from idp.models.base import Database
from idp.models.migrate import upgrade


class Installation:
    def __init__(self, db: Database, personal_data: PersonalData, authority_name: str) -> None:
        self._db = db
        self._personal_data = personal_data
        self._authority_name = authority_name

    def upgrade(self) -> list[str]:
        """Migrate to the head revision, then seed what is missing (one transaction); returns
        the agreement kinds whose version 1 was published now."""
        upgrade(self._db.engine, personal_data=self._personal_data)
        with self._db.transaction() as session:
            seeded = agreements.ensure_seeded(session, self._authority_name)
            disclosures.ensure_head(session)
        return seeded

    def location(self) -> str:
        """The database URL as it may be printed (without its password)."""
        return self._db.engine.url.render_as_string(hide_password=True)
