"""Agreement texts and their versions: shipping, publishing and listing them.

- The shipped agreements (``idp/data/registration-agreements.*.txt``) are version 1 of the two
  registration agreements; the English text is a reference translation, never accepted: the
  Chinese text is authoritative.
- A version is published with a number newer than the current one; a *material* version must
  be accepted again at the next login, a *supplementary* one binds without re-signing (clause 10
  of both agreements). What an account must accept is decided in ``idp.identity.agreements``.
- The console previews a version exactly as it will be stored, then publishes it only if it is
  still the next one (:class:`StalePreview`).
"""

from __future__ import annotations

import difflib
import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from importlib import resources

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from idp.errors import IdpError
from idp.models.agreement import (
    LEGAL_PERSON,
    NATURAL_PERSON,
    AgreementAcceptance,
    AgreementKind,
    AgreementVersion,
)
from idp.models.base import utcnow

PLACEHOLDER_AUTHORITY = "**政务服务管理机构"
PLACEHOLDER_PORTAL = "**政务服务门户"
DEFAULT_LANGUAGE = "zh-CN"
SEED_TITLES = {NATURAL_PERSON: "自然人实名注册协议", LEGAL_PERSON: "法人实名注册协议"}
# The shipped kinds' titles in the reference translation (the headings of
# ``registration-agreements.en.txt``), shown on English pages (``title_in``).
REFERENCE_TITLES = {
    NATURAL_PERSON: "Real-Name Registration Agreement for Natural Persons",
    LEGAL_PERSON: "Real-Name Registration Agreement for Legal Persons",
}
APPLIES_TO = ("natural_person", "legal_person", "all")
KIND_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,63}$")
MAX_TEXT_LENGTH = 200_000
REFERENCE_LANGUAGE = "en"
# Shipped texts per language: the file and the pattern that starts each of the two agreements.
SEED_FILES = {
    DEFAULT_LANGUAGE: ("data/registration-agreements.zh.txt", r"^\s*[一二]、"),
    REFERENCE_LANGUAGE: ("data/registration-agreements.en.txt", r"^\s*(?:I|II)\.\s+"),
}


class AgreementError(IdpError, ValueError):
    """A publishing request that must be refused; the message says why (it is shown: the
    console puts it under the text, ``idp agreements`` prints it)."""

    code = "agreement_refused"

    def __init__(self, message: str) -> None:
        super().__init__(public_message=message)


class StalePreview(IdpError):
    """The previewed version is no longer the next one, or its text differs: another version
    was published meanwhile. The confirmation fails rather than overwrite (docs/agreements.md)."""

    code = "stale_preview"
    status = 409


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def title_in(kind: str, title: str, language: str) -> str:
    """The title of agreement ``kind`` (``title``, the authoritative one) on a page in
    ``language``: a shipped kind whose title the operator kept has its reference title in
    English; any other title is shown as the operator wrote it."""
    if language == REFERENCE_LANGUAGE and title == SEED_TITLES.get(kind):
        return REFERENCE_TITLES[kind]
    return title


def portal_name(authority_name: str) -> str:
    region = authority_name.removesuffix("政务服务管理机构")
    return f"{region}政务服务门户"


def seed_texts(authority_name: str, language: str = DEFAULT_LANGUAGE) -> dict[str, str]:
    """The shipped agreements (``idp/data/registration-agreements.zh.txt``), placeholders filled;
    with ``language="en"`` the English reference translation (``registration-agreements.en.txt``,
    sections headed "I." and "II.", same placeholders)."""
    filename, heading = SEED_FILES[language]
    raw = resources.files("idp").joinpath(filename).read_text("utf-8")
    raw = raw.replace(PLACEHOLDER_AUTHORITY, authority_name)
    raw = raw.replace(PLACEHOLDER_PORTAL, portal_name(authority_name))
    parts = re.split(heading, raw, flags=re.MULTILINE)
    if len(parts) != 3:
        raise RuntimeError("the shipped agreements file does not hold the two agreements")
    texts = {}
    for kind, part in zip((NATURAL_PERSON, LEGAL_PERSON), parts[1:], strict=True):
        title, _, body = part.partition("\n")
        texts[kind] = f"{title.strip()}\n{body.strip()}\n"
    return texts


def ensure_seeded(session: Session, authority_name: str) -> list[str]:
    """Publish version 1 of the two shipped agreements where no version exists yet, with the
    English reference translation of each (never accepted: the Chinese text is authoritative)."""
    created = []
    shipped = seed_texts(authority_name)
    for kind, text in shipped.items():
        if session.get(AgreementKind, kind) is None:
            session.add(AgreementKind(kind=kind, title=SEED_TITLES[kind], applies_to=kind))
            session.flush()
        exists = session.scalar(select(AgreementVersion.id).where(AgreementVersion.kind == kind))
        if exists is None:
            session.add(
                AgreementVersion(
                    kind=kind,
                    version=1,
                    language=DEFAULT_LANGUAGE,
                    text=text,
                    text_sha256=text_hash(text),
                    material=True,
                    effective_at=utcnow(),
                    published_by="seed",
                )
            )
            created.append(kind)
    session.flush()
    for kind, translation in seed_texts(authority_name, REFERENCE_LANGUAGE).items():
        _seed_reference_translation(session, kind, shipped[kind], translation)
    return created


def _seed_reference_translation(session: Session, kind: str, original: str, text: str) -> None:
    """Add the English reference translation to version 1, when version 1 is the shipped text."""
    base = session.scalar(
        select(AgreementVersion).where(
            AgreementVersion.kind == kind,
            AgreementVersion.version == 1,
            AgreementVersion.language == DEFAULT_LANGUAGE,
            AgreementVersion.reference_translation.is_(False),
        )
    )
    if base is None or base.text_sha256 != text_hash(original):
        return
    translated = session.scalar(
        select(AgreementVersion.id).where(
            AgreementVersion.kind == kind,
            AgreementVersion.version == 1,
            AgreementVersion.language == REFERENCE_LANGUAGE,
        )
    )
    if translated is None:
        session.add(
            AgreementVersion(
                kind=kind,
                version=1,
                language=REFERENCE_LANGUAGE,
                text=text,
                text_sha256=text_hash(text),
                material=base.material,
                reference_translation=True,
                effective_at=base.effective_at,
                published_by="seed",
            )
        )


def add_kind(session: Session, kind: str, title: str, applies_to: str) -> AgreementKind:
    if not KIND_PATTERN.match(kind):
        raise AgreementError("the kind must be lower-case letters, digits and underscores")
    if applies_to not in APPLIES_TO:
        raise AgreementError(f"applies-to must be one of {', '.join(APPLIES_TO)}")
    if not title.strip():
        raise AgreementError("the title must not be empty")
    if session.get(AgreementKind, kind) is not None:
        raise AgreementError(f"the kind {kind} exists already")
    record = AgreementKind(kind=kind, title=title.strip(), applies_to=applies_to)
    session.add(record)
    return record


def latest_version_number(session: Session, kind: str) -> int:
    return (
        session.scalar(
            select(func.coalesce(func.max(AgreementVersion.version), 0)).where(
                AgreementVersion.kind == kind
            )
        )
        or 0
    )


def publish(
    session: Session,
    *,
    kind: str,
    text: str,
    language: str = DEFAULT_LANGUAGE,
    material: bool,
    published_by: str,
    version: int | None = None,
    effective_at: datetime | None = None,
    reference_translation: bool = False,
) -> AgreementVersion:
    """Publish a version; refuse an unknown kind, an empty text or a version not newer than
    the current one. A translation joins an existing version number in another language."""
    if session.get(AgreementKind, kind) is None:
        raise AgreementError(f"unknown agreement kind: {kind}")
    text = text.replace("\r\n", "\n").strip()
    if not text:
        raise AgreementError("the agreement text is empty")
    if any(unicodedata.category(c) == "Cc" and c not in "\n\t" for c in text):
        raise AgreementError("the agreement text contains control characters: is it a text file?")
    if len(text) > MAX_TEXT_LENGTH:
        raise AgreementError("the agreement text is too long")
    text += "\n"
    current = latest_version_number(session, kind)
    if reference_translation:
        number = version or current
        base = session.scalar(
            select(AgreementVersion).where(
                AgreementVersion.kind == kind,
                AgreementVersion.version == number,
                AgreementVersion.reference_translation.is_(False),
            )
        )
        if base is None:
            raise AgreementError(f"no version {number} of {kind} to translate")
        material = base.material
        effective_at = base.effective_at
    else:
        number = version if version is not None else current + 1
        if number <= current:
            raise AgreementError(
                f"version {number} is not newer than the current version {current} of {kind}"
            )
    duplicate = session.scalar(
        select(AgreementVersion.id).where(
            AgreementVersion.kind == kind,
            AgreementVersion.version == number,
            AgreementVersion.language == language,
        )
    )
    if duplicate is not None:
        raise AgreementError(f"version {number} of {kind} in {language} exists already")
    record = AgreementVersion(
        kind=kind,
        version=number,
        language=language,
        text=text,
        text_sha256=text_hash(text),
        material=material,
        reference_translation=reference_translation,
        effective_at=effective_at or utcnow(),
        published_by=published_by,
    )
    session.add(record)
    return record


def changed_lines(
    versions: list[AgreementVersion], since: int | None, target: AgreementVersion
) -> list[tuple[str, str]]:
    """The lines added ("+") and removed ("-") since version ``since`` (none when ``since``
    is None or unknown): what a person is shown with a new version, and a preview."""
    if since is None:
        return []
    before = next((v for v in versions if v.version == since), None)
    if before is None:
        return []
    diff = difflib.ndiff(before.text.splitlines(), target.text.splitlines())
    return [(line[0], line[2:]) for line in diff if line[:1] in {"+", "-"}]


def catalogue(session: Session) -> list[tuple[AgreementKind, list[AgreementVersion]]]:
    """Every kind (oldest first) with all its versions (newest first, then by language)."""
    return [
        (
            kind,
            list(
                session.scalars(
                    select(AgreementVersion)
                    .where(AgreementVersion.kind == kind.kind)
                    .order_by(AgreementVersion.version.desc(), AgreementVersion.language)
                )
            ),
        )
        for kind in session.scalars(select(AgreementKind).order_by(AgreementKind.created_at))
    ]


def acceptance_counts(session: Session) -> dict[tuple[str, int, str], int]:
    """How many distinct accounts accepted, or were told about, each version:
    ``(kind, version, action) -> accounts``."""
    return {
        (kind, version, action): count
        for kind, version, action, count in session.execute(
            select(
                AgreementAcceptance.kind,
                AgreementAcceptance.version,
                AgreementAcceptance.action,
                func.count(func.distinct(AgreementAcceptance.account_id)),
            ).group_by(
                AgreementAcceptance.kind, AgreementAcceptance.version, AgreementAcceptance.action
            )
        )
    }


def authoritative_versions(session: Session, kind: str) -> list[AgreementVersion]:
    """The versions of ``kind`` in the authoritative language (no reference translations),
    oldest first, effective or not yet."""
    return list(
        session.scalars(
            select(AgreementVersion)
            .where(
                AgreementVersion.kind == kind,
                AgreementVersion.reference_translation.is_(False),
                AgreementVersion.language == DEFAULT_LANGUAGE,
            )
            .order_by(AgreementVersion.version)
        )
    )


@dataclass(frozen=True)
class Preview:
    """A version exactly as publishing would store it (nothing is kept): its number, text and
    SHA-256, and the lines changed since the current version ``current``."""

    version: int
    text: str
    sha256: str
    material: bool
    effective_at: datetime
    current: int | None
    changes: list[tuple[str, str]]


def preview(
    session: Session,
    *,
    kind: str,
    text: str,
    material: bool,
    published_by: str,
    effective_at: datetime | None = None,
) -> Preview:
    """Run :func:`publish` in ``session`` and roll it back; raises :class:`AgreementError` as
    publishing would."""
    current = authoritative_versions(session, kind)
    number = current[-1].version if current else None
    try:
        with session.no_autoflush:
            version = publish(
                session,
                kind=kind,
                text=text,
                material=material,
                published_by=published_by,
                effective_at=effective_at,
            )
            return Preview(
                version=version.version,
                text=version.text,
                sha256=version.text_sha256,
                material=version.material,
                effective_at=version.effective_at,
                current=number,
                changes=changed_lines(current, number, version),
            )
    finally:
        session.rollback()
