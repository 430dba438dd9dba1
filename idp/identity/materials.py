"""Materials (材料): supporting documents a person stores in the user space and releases to
portals (natural-person agreement clauses 3 and 4(5); issue 12, item 3; docs/user-space.md).

Storage. The metadata is a row of ``materials``; the bytes are a file of their own under
``IDP_MATERIALS_DIR`` (mode 0700, files 0600), sealed with the personal-data keys (AES-256-GCM,
``PersonalData.seal_bytes``; PIPL article 51) with the material's id and version as associated
data, so a file copied to another material, or an old version put back, does not open. The
title is sealed in the row. Every write is atomic and the row and the file agree:

- a file is written to a temporary name, flushed to disk and renamed into place *before* the
  transaction that names it commits; when the transaction fails, the file is removed again;
- a file a committed transaction no longer names (a renewal's old version, a deleted material,
  a cancelled account's) is removed *after* the commit. A crash between the two leaves a file
  no row names: unreadable without the key, and removed by :meth:`Materials.sweep`
  (``idp materials sweep``) once older than an hour. A row never names a missing file.

Release. On the consent page of a login asking for the scope ``materials`` the person ticks the
items the portal may have (none is fine); :meth:`release` records one ``material_releases`` row
per item for the login's grant. The portal fetches each item once with an access token of that
grant (``idp.oauth.materials_api``); the fetch marks the release and queues its disclosure
record (channel ``materials``, the claim ``material:<type>``: the type, never the bytes or the
title) in one transaction.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any, cast

from sqlalchemy import CursorResult, Executable, delete, func, select, update
from sqlalchemy.orm import Session

from idp.errors import IdpError
from idp.identity import audit
from idp.identity import material_checks as checks
from idp.identity.material_checks import MaterialType
from idp.identity.personal_data import PersonalData, PersonalDataError
from idp.models import Grant, Material, MaterialRelease
from idp.models.base import Database, new_id, utcnow
from idp.models.disclosure import QueuedDisclosure

log = logging.getLogger(__name__)

# The list marks what runs out within this many days (clause 4(5): keep materials current).
EXPIRING_DAYS = 30
MAX_MATERIALS_PER_ACCOUNT = 100
# Items one consent may release (more are ignored, never an error).
MAX_RELEASED_PER_GRANT = 50
DISCLOSURE_CHANNEL = "materials"
SUFFIX = ".sealed"
TEMPORARY = ".tmp-"
# A file no row names is removed by the sweep once this old (an upload may be mid-way).
SWEEP_MIN_AGE_SECONDS = 3600


class MaterialStorageError(IdpError):
    """The folder of the materials cannot be written (full, read-only, gone): the operator's
    problem; the person is told the service is unavailable, and nothing was stored."""

    code = "materials_storage_unavailable"
    status = 503


def disclosed_claim(type_code: str) -> str:
    """What the disclosure log records for a released material: its type."""
    return f"material:{type_code}"


@dataclass(frozen=True)
class MaterialView:
    """A material as its owner sees it (title opened)."""

    id: str
    type_code: str
    title: str
    media_type: str
    size: int
    version: int
    expires_on: date | None
    created_at: datetime
    updated_at: datetime
    expired: bool
    expiring: bool  # runs out within EXPIRING_DAYS (and has not yet)

    @property
    def extension(self) -> str:
        return checks.EXTENSIONS.get(self.media_type, "bin")


@dataclass(frozen=True)
class Outcome:
    """What an upload or a renewal did: the material, or the problems by field (codes of
    ``idp.identity.material_checks``); nothing is stored when there are problems."""

    material: MaterialView | None = None
    errors: dict[str, str] | None = None


@dataclass(frozen=True)
class ReleasedItem:
    """A released item as the portal's listing shows it."""

    release_id: str
    type_code: str
    title: str
    media_type: str
    size: int
    expires_on: date | None
    released_at: datetime
    fetched_at: datetime | None
    current: bool  # still the version the person released


@dataclass(frozen=True)
class Fetched:
    """The answer to a portal's fetch: ``ok`` with the bytes, else why not (``unknown``: no
    such item for this grant, or deleted since; ``fetched``: already fetched once;
    ``changed``: the person renewed the file after releasing it)."""

    status: str
    data: bytes = b""
    media_type: str = ""
    file_name: str = ""


@dataclass(frozen=True)
class Release:
    """One release of a material, as its owner sees it."""

    client_id: str
    created_at: datetime
    fetched_at: datetime | None


class Materials:
    def __init__(
        self,
        db: Database,
        personal_data: PersonalData,
        directory: Path,
        *,
        max_bytes: int,
        local_zone: tzinfo,
        catalogue: dict[str, MaterialType] | None = None,
    ) -> None:
        self._db = db
        self._personal_data = personal_data
        self.directory = directory
        self.max_bytes = max_bytes
        self._zone = local_zone
        self.catalogue = catalogue if catalogue is not None else checks.load_catalogue()

    # -- reading -------------------------------------------------------------------------------
    def today(self) -> date:
        return datetime.now(self._zone).date()

    def _view(self, row: Material, today: date) -> MaterialView:
        expires = row.expires_on
        return MaterialView(
            id=row.id,
            type_code=row.type_code,
            title=self._personal_data.open(row.title_sealed, row.title_context()),
            media_type=row.media_type,
            size=row.size,
            version=row.version,
            expires_on=expires,
            created_at=row.created_at,
            updated_at=row.updated_at,
            expired=expires is not None and expires < today,
            expiring=expires is not None
            and today <= expires <= today + timedelta(days=EXPIRING_DAYS),
        )

    def of_account(self, account_id: str) -> list[MaterialView]:
        """The person's materials, newest first."""
        today = self.today()
        rows = self._db.session.scalars(
            select(Material)
            .where(Material.account_id == account_id)
            .order_by(Material.created_at.desc(), Material.id)
        )
        return [self._view(row, today) for row in rows]

    def find(self, account_id: str, material_id: str) -> MaterialView | None:
        row = self._own(self._db.session(), account_id, material_id)
        return None if row is None else self._view(row, self.today())

    def releases(self, account_id: str) -> dict[str, list[Release]]:
        """Per material id, the portals it was released to, newest first."""
        rows = self._db.session.scalars(
            select(MaterialRelease)
            .where(MaterialRelease.account_id == account_id)
            .order_by(MaterialRelease.created_at.desc())
        )
        found: dict[str, list[Release]] = {}
        for row in rows:
            found.setdefault(row.material_id, []).append(
                Release(row.client_id, row.created_at, row.fetched_at)
            )
        return found

    def file(self, account_id: str, material_id: str) -> tuple[MaterialView, bytes] | None:
        """The owner's material and its bytes; None when it is not theirs or its file cannot
        be read (logged: an operator's problem)."""
        row = self._own(self._db.session(), account_id, material_id)
        if row is None:
            return None
        data = self._open(row)
        if data is None:
            return None
        return self._view(row, self.today()), data

    @staticmethod
    def _own(session: Session, account_id: str, material_id: str) -> Material | None:
        if not material_id or len(material_id) > 36:
            return None
        row = session.get(Material, material_id)
        return row if row is not None and row.account_id == account_id else None

    def _open(self, row: Material) -> bytes | None:
        try:
            sealed = (self.directory / row.file_name).read_bytes()
            return self._personal_data.open_bytes(sealed, row.file_context())
        except (OSError, PersonalDataError) as error:
            log.error("material %s: its file cannot be read: %s", row.id, error)
            return None

    # -- checking ------------------------------------------------------------------------------
    def check(
        self,
        *,
        type_code: str | None,
        title: str | None,
        expires_on: str,
        data: bytes | None,
        too_large: bool,
        file_required: bool = True,
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """The cleaned values and the problems by field. ``type_code`` and ``title`` are None
        when the form does not have them (a renewal)."""
        errors: dict[str, str] = {}
        values: dict[str, Any] = {}
        if type_code is not None:
            problem = checks.check_type(type_code, self.catalogue)
            if problem:
                errors["type_code"] = problem
            values["type_code"] = type_code
        if title is not None:
            values["title"], problem = checks.clean_title(title)
            if problem:
                errors["title"] = problem
        values["expires_on"], problem = checks.parse_expiry(expires_on, self.today())
        if problem:
            errors["expires_on"] = problem
        if data is None and not too_large and not file_required:
            values["media_type"] = None
        else:
            values["media_type"], problem = checks.check_file(
                data, too_large=too_large, max_bytes=self.max_bytes
            )
            if problem:
                errors["file"] = problem
        return values, errors

    # -- changing ------------------------------------------------------------------------------
    def add(
        self,
        account_id: str,
        *,
        type_code: str,
        title: str,
        expires_on: str,
        data: bytes | None,
        too_large: bool = False,
    ) -> Outcome:
        """Store a new material: checked first (nothing is stored on any problem), the sealed
        file in place before the row commits, removed again if it does not."""
        values, errors = self.check(
            type_code=type_code,
            title=title,
            expires_on=expires_on,
            data=data,
            too_large=too_large,
        )
        if not errors and self._count(account_id) >= MAX_MATERIALS_PER_ACCOUNT:
            errors["file"] = "limit_reached"
        if errors:
            return Outcome(errors=errors)
        assert data is not None
        now = utcnow()
        row = Material(
            id=new_id(),
            account_id=account_id,
            type_code=values["type_code"],
            media_type=values["media_type"],
            size=len(data),
            version=1,
            expires_on=values["expires_on"],
            created_at=now,
            updated_at=now,
        )
        row.title_sealed = self._personal_data.seal(values["title"], row.title_context())
        row.file_name = self._file_name(row)
        view = self._view(row, self.today())
        self._write(row.file_name, self._personal_data.seal_bytes(data, row.file_context()))
        try:
            with self._db.transaction() as session:
                session.add(row)
                session.add(
                    audit.event(
                        "material_added",
                        actor=account_id,
                        account_id=account_id,
                        details={"material_id": row.id, "type": row.type_code},
                    )
                )
        except BaseException:
            self._remove(row.file_name)
            raise
        return Outcome(material=view)

    def renew(
        self,
        account_id: str,
        material_id: str,
        *,
        expires_on: str,
        data: bytes | None,
        too_large: bool = False,
    ) -> Outcome | None:
        """Clause 4(5): a new expiry and, optionally, a new file (a new version: releases
        of the old one are no longer fetched). None when the material is not the person's."""
        current = self._own(self._db.session(), account_id, material_id)
        if current is None:
            return None
        values, errors = self.check(
            type_code=None,
            title=None,
            expires_on=expires_on,
            data=data,
            too_large=too_large,
            file_required=False,
        )
        if errors:
            return Outcome(errors=errors)
        old_version, old_file = current.version, current.file_name
        changes: dict[str, Any] = {"expires_on": values["expires_on"], "updated_at": utcnow()}
        new_file: str | None = None
        if data is not None:
            probe = Material(id=current.id, version=old_version + 1)
            new_file = self._file_name(probe)
            self._write(new_file, self._personal_data.seal_bytes(data, probe.file_context()))
            changes.update(
                version=old_version + 1,
                file_name=new_file,
                media_type=values["media_type"],
                size=len(data),
            )
        try:
            with self._db.transaction() as session:
                changed = _rowcount(
                    session,
                    update(Material)
                    .where(
                        Material.id == material_id,
                        Material.account_id == account_id,
                        Material.version == old_version,
                    )
                    .values(**changes)
                    .execution_options(synchronize_session=False),
                )
                if changed:
                    session.add(
                        audit.event(
                            "material_renewed",
                            actor=account_id,
                            account_id=account_id,
                            details={
                                "material_id": material_id,
                                "new_file": new_file is not None,
                            },
                        )
                    )
        except BaseException:
            if new_file:
                self._remove(new_file)
            raise
        if not changed:  # deleted or renewed meanwhile
            if new_file:
                self._remove(new_file)
            return None
        if new_file:
            self._remove(old_file)
        self._db.session.expire_all()
        found = self.find(account_id, material_id)
        return Outcome(material=found) if found else None

    def delete(self, account_id: str, material_id: str) -> bool:
        """Delete the material, its releases not yet fetched with it; the file after the
        commit."""
        with self._db.transaction() as session:
            row = self._own(session, account_id, material_id)
            if row is None:
                return False
            file_name = row.file_name
            session.execute(
                delete(MaterialRelease).where(MaterialRelease.material_id == material_id)
            )
            session.delete(row)
            session.add(
                audit.event(
                    "material_deleted",
                    actor=account_id,
                    account_id=account_id,
                    details={"material_id": material_id},
                )
            )
        self._remove(file_name)
        return True

    def _count(self, account_id: str) -> int:
        return (
            self._db.session.scalar(
                select(func.count()).select_from(Material).where(Material.account_id == account_id)
            )
            or 0
        )

    # -- release to portals --------------------------------------------------------------------
    def release(self, grant: Grant, material_ids: Iterable[str]) -> int:
        """The consent page's choice for the login of ``grant``: one release per material of
        the grant's account (ids of anyone else's, or unknown, are ignored). Returns how many."""
        wanted = list(dict.fromkeys(str(m) for m in material_ids if m))[:MAX_RELEASED_PER_GRANT]
        if not wanted:
            return 0
        with self._db.transaction() as session:
            rows = session.scalars(
                select(Material).where(
                    Material.id.in_(wanted), Material.account_id == grant.account_id
                )
            ).all()
            for row in rows:
                session.add(
                    MaterialRelease(
                        material_id=row.id,
                        account_id=grant.account_id,
                        grant_id=grant.id,
                        client_id=grant.client_id,
                        version=row.version,
                    )
                )
            if rows:
                session.add(
                    audit.event(
                        "materials_released",
                        actor=grant.account_id,
                        account_id=grant.account_id,
                        client_id=grant.client_id,
                        details={
                            "grant_id": grant.id,
                            "types": sorted({row.type_code for row in rows}),
                            "count": len(rows),
                        },
                    )
                )
        return len(rows)

    def released(self, grant_id: str) -> list[ReleasedItem]:
        """What the portal of ``grant_id`` was given, in the order released."""
        pairs = self._db.session.execute(
            select(MaterialRelease, Material)
            .join(Material, Material.id == MaterialRelease.material_id)
            .where(MaterialRelease.grant_id == grant_id)
            .order_by(MaterialRelease.created_at, MaterialRelease.id)
        ).all()
        return [
            ReleasedItem(
                release_id=release.id,
                type_code=material.type_code,
                title=self._personal_data.open(material.title_sealed, material.title_context()),
                media_type=material.media_type,
                size=material.size,
                expires_on=material.expires_on,
                released_at=release.created_at,
                fetched_at=release.fetched_at,
                current=material.version == release.version,
            )
            for release, material in pairs
        ]

    def fetch_released(self, grant: Grant, release_id: str) -> Fetched:
        """The bytes of a released item, once: the file is read and opened first, then one
        transaction marks the release fetched (only if no one did: a second fetch, even a
        simultaneous one, is refused) and queues the disclosure record."""
        session = self._db.session()
        release = session.get(MaterialRelease, release_id) if len(release_id) <= 36 else None
        if release is None or release.grant_id != grant.id:
            return Fetched("unknown")
        if release.fetched_at is not None:
            return Fetched("fetched")
        material = session.get(Material, release.material_id)
        if material is None:
            return Fetched("unknown")
        if material.version != release.version:
            return Fetched("changed")
        data = self._open(material)
        if data is None:
            return Fetched("unknown")
        type_code, media_type = material.type_code, material.media_type
        extension = checks.EXTENSIONS.get(media_type, "bin")
        with self._db.transaction() as session:
            taken = _rowcount(
                session,
                update(MaterialRelease)
                .where(MaterialRelease.id == release_id, MaterialRelease.fetched_at.is_(None))
                .values(fetched_at=utcnow())
                .execution_options(synchronize_session=False),
            )
            if not taken:
                return Fetched("fetched")
            session.add(
                QueuedDisclosure(
                    created_at=utcnow(),
                    account_id=grant.account_id,
                    client_id=grant.client_id,
                    channel=DISCLOSURE_CHANNEL,
                    claims=[disclosed_claim(type_code)],
                )
            )
        return Fetched("ok", data, media_type, f"{type_code}-{release_id[:8]}.{extension}")

    # -- cancellation, export, key rotation ----------------------------------------------------
    def erase_in(self, session: Session, account_id: str) -> list[str]:
        """Delete the account's materials and releases inside the caller's transaction (the
        cancellation's); returns the files to remove once it has committed
        (:meth:`remove_files`)."""
        names = list(
            session.scalars(select(Material.file_name).where(Material.account_id == account_id))
        )
        session.execute(delete(MaterialRelease).where(MaterialRelease.account_id == account_id))
        session.execute(delete(Material).where(Material.account_id == account_id))
        return names

    def remove_files(self, names: Iterable[str]) -> None:
        for name in names:
            self._remove(name)

    def export(self, account_id: str) -> dict[str, Any]:
        """PIPL article 45: the materials' metadata, decrypted, JSON-ready. Each names the
        ``file`` its bytes would have in an export archive (:meth:`export_files` yields them)."""
        items = []
        releases = self.releases(account_id)
        for view in self.of_account(account_id):
            kind = self.catalogue.get(view.type_code)
            items.append(
                {
                    "id": view.id,
                    "type": view.type_code,
                    "type_name": kind.name if kind else view.type_code,
                    "title": view.title,
                    "media_type": view.media_type,
                    "size": view.size,
                    "version": view.version,
                    "expires_on": view.expires_on.isoformat() if view.expires_on else None,
                    "created_at": view.created_at.isoformat(),
                    "updated_at": view.updated_at.isoformat(),
                    "file": f"materials/{view.id}.{view.extension}",
                    "released_to": [
                        {
                            "client_id": release.client_id,
                            "released_at": release.created_at.isoformat(),
                            "fetched_at": release.fetched_at.isoformat()
                            if release.fetched_at
                            else None,
                        }
                        for release in releases.get(view.id, [])
                    ],
                }
            )
        return {"materials": items}

    def export_files(self, account_id: str) -> Iterator[tuple[str, bytes]]:
        """(archive name, bytes) of every material's file, as :meth:`export` names them."""
        for view in self.of_account(account_id):
            found = self.file(account_id, view.id)
            if found is not None:
                yield f"materials/{view.id}.{view.extension}", found[1]

    def reseal_files(self) -> int:
        """``idp keys rotate-data``: every file sealed under an older key is sealed again under
        the current one (written beside it and renamed over it: a crash leaves the old or the
        new file, both of which open). Returns how many changed."""
        resealed = 0
        rows = self._db.session.execute(
            select(Material.id, Material.version, Material.file_name)
        ).all()
        for material_id, version, file_name in rows:
            path = self.directory / file_name
            try:
                sealed = path.read_bytes()
            except FileNotFoundError:
                continue  # deleted meanwhile
            context = Material(id=material_id, version=version).file_context()
            fresh = self._personal_data.reseal_bytes(sealed, context)
            if fresh is not None:
                self._write(file_name, fresh)
                resealed += 1
        return resealed

    def sweep(self, min_age_seconds: int = SWEEP_MIN_AGE_SECONDS) -> int:
        """Remove files no row names (left by a crash between a commit and a removal, or
        between a write and a failed commit) and abandoned temporary files, once older than
        ``min_age_seconds``. Returns how many."""
        if not self.directory.is_dir():
            return 0
        named = set(self._db.session.scalars(select(Material.file_name)))
        cutoff = time.time() - min_age_seconds
        removed = 0
        for path in self.directory.iterdir():
            name = path.name
            if not (name.endswith(SUFFIX) or TEMPORARY in name) or name in named:
                continue
            with contextlib.suppress(FileNotFoundError):
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
        return removed

    # -- files ---------------------------------------------------------------------------------
    @staticmethod
    def _file_name(row: Material) -> str:
        # Random: the name tells nothing, and a new version never meets an old file.
        return f"{row.id}.{row.version}.{secrets.token_hex(8)}{SUFFIX}"

    def _write(self, name: str, data: bytes) -> None:
        """Write ``data`` as ``name`` atomically: a temporary file, flushed, renamed."""
        try:
            self._write_file(name, data)
        except OSError as error:
            raise MaterialStorageError(detail=f"cannot write {name}: {error}") from error

    def _write_file(self, name: str, data: bytes) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        temporary = self.directory / f".{name}{TEMPORARY}{secrets.token_hex(4)}"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self.directory / name)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()
            raise
        _sync_directory(self.directory)

    def _remove(self, name: str) -> None:
        try:
            (self.directory / name).unlink()
        except FileNotFoundError:
            pass
        except OSError as error:  # left for the sweep
            log.error("material file %s could not be removed: %s", name, error)


def _rowcount(session: Session, statement: Executable) -> int:
    return int(cast(CursorResult[Any], session.execute(statement)).rowcount)


def _sync_directory(directory: Path) -> None:
    """Make a rename durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
