"""Materials of the user space: supporting documents a person stores and releases to portals.

Natural-person agreement clause 3 (store information and materials in the user space) and
4(5) (keep them current); issue 12, item 3. A :class:`Material` row holds the metadata; the
bytes are in a file of their own under ``IDP_MATERIALS_DIR``, sealed with the personal-data
key (``idp.identity.materials``), named by ``file_name``. The title is sealed too (the person
writes it: it may hold a name). A :class:`MaterialRelease` is one item the person chose on a
consent page for one grant: the portal may fetch it once with an access token of that grant.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from idp.models.base import Base, UTCDateTime, new_id, utcnow


class Material(Base):
    __tablename__ = "materials"
    __table_args__ = (Index("ix_materials_account_created", "account_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    # Cancellation deletes the account row; the rows go with it (the files are removed by
    # ``Materials.erase_in`` and after the commit, see docs/user-space.md).
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    type_code: Mapped[str] = mapped_column(String(32))  # idp/data/material-types.json
    title_sealed: Mapped[str] = mapped_column(Text)
    media_type: Mapped[str] = mapped_column(String(32))  # sniffed from the bytes
    size: Mapped[int] = mapped_column(Integer)  # bytes before sealing
    # The sealed file under IDP_MATERIALS_DIR; a renewal writes a new one (new version).
    file_name: Mapped[str] = mapped_column(String(96), unique=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    expires_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    def title_context(self) -> str:
        return f"materials.title:{self.id}"

    def file_context(self) -> str:
        """The associated data of the sealed file: this material, this version."""
        return f"materials.file:{self.id}:{self.version}"


class MaterialRelease(Base):
    """One material released to the portal of one grant (the consent page's choice): fetched
    at most once (``fetched_at``), and only while it is the version the person released."""

    __tablename__ = "material_releases"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    material_id: Mapped[str] = mapped_column(
        ForeignKey("materials.id", ondelete="CASCADE"), index=True
    )
    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    grant_id: Mapped[str] = mapped_column(ForeignKey("grants.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
